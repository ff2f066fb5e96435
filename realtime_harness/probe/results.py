"""The probe's result: every attempt of every step, and the session that decided the outcome."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from realtime_harness.protocol.assertions import ResultAssertions
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.session import ProbeHandshake, ResponseResult, SessionResult
from realtime_harness.protocol.validator import Violation

__all__ = ["AttemptRecord", "ProbeResult", "probe_result"]


class AttemptRecord(BaseModel):
    """One attempt of one step: which session, what came of it, and whether it was transient."""

    n: int
    step: str | None = None
    session_id: str | None = None
    outcome: Outcome
    client_request_id: str | None = None
    started_at: str
    retryable: bool = False
    summary: str = "clean"


class ProbeResult(ResultAssertions, BaseModel):
    """The result of ``probe``: the ``--json`` document, plus the sessions behind it.

    The top-level fields describe the last session run (the one that decided the outcome);
    ``attempts`` lists every session in order. ``sessions`` is excluded from the JSON form.
    In tests, ``result.assert_clean()`` and ``result.assert_failed(kind=...)`` fail with every id.
    """

    outcome: Outcome
    dialect: Dialect
    session_id: str | None
    attempts: list[AttemptRecord]
    responses: list[ResponseResult]
    failures: list[Failure]
    violations: list[Violation]
    timings_ms: dict[str, float]
    handshake: ProbeHandshake
    sessions: list[SessionResult] = Field(default_factory=list, exclude=True)

    @property
    def exit_code(self) -> int:
        """The documented exit code of the outcome."""
        return self.outcome.exit_code

    def verdict(self) -> str:
        """'clean', 'transient: passed on attempt k of n' or 'persistent: …' (per step)."""
        step = self.attempts[-1].step if self.attempts else None
        tries = [a for a in self.attempts if a.step == step]
        where = f"step {step!r}: " if step else ""
        if self.outcome is Outcome.CLEAN:
            if len(tries) > 1:
                return f"{where}transient: passed on attempt {len(tries)} of {len(tries)}"
            return "all steps clean" if step else "clean"
        prefix = f"first failing {where}" if step else ""
        if len(tries) > 1:
            return f"{prefix}persistent: failed all {len(tries)} attempts"
        return f"{prefix}failed".strip()

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (keys as documented)."""
        data = self.model_dump(mode="json")
        return {
            key: data[key]
            for key in (
                "outcome",
                "dialect",
                "session_id",
                "attempts",
                "responses",
                "failures",
                "violations",
                "timings_ms",
                "handshake",
            )
        }


def probe_result(sessions: list[SessionResult], final: SessionResult) -> ProbeResult:
    """The probe's result from its sessions, the last deciding the outcome."""
    attempts = [
        AttemptRecord(
            n=s.attempt,
            step=s.step,
            session_id=s.session_id,
            outcome=s.outcome,
            client_request_id=s.handshake.client_request_id,
            started_at=s.started_at,
            retryable=s.retryable,
            summary=s.headline(),
        )
        for s in sessions
    ]
    return ProbeResult(
        outcome=final.outcome,
        dialect=final.dialect,
        session_id=final.session_id,
        attempts=attempts,
        responses=final.responses,
        failures=final.failures,
        violations=final.violations,
        timings_ms=final.timings_ms,
        handshake=final.handshake,
        sessions=sessions,
    )
