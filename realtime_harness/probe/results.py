"""The probe's result: every attempt of every step, and the session that decided the outcome;
and the versioned ``--json`` document made from it (:class:`ProbeDocument`, whose JSON Schema
``realtime-harness schema probe`` prints and docs/json.md describes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from realtime_harness.protocol.assertions import ResultAssertions
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.session import ProbeHandshake, ResponseResult, SessionResult
from realtime_harness.protocol.validator import Violation

__all__ = [
    "SCHEMA_VERSION",
    "AttemptRecord",
    "ProbeDocument",
    "ProbeResult",
    "ResponseDocument",
    "ResponseTimings",
    "SessionDocument",
    "SessionTimings",
    "probe_result",
]

#: Version of every command's ``--json`` shape. Adding a key keeps it; removing or renaming a
#: key, or changing what a key means, raises it (docs/json.md lists the changes).
SCHEMA_VERSION = 1

_MS = "milliseconds"
_ALIAS = "deprecated alias of {}, kept until schema_version 2"
#: A response's own timing names (as the session computes them) -> the one name in ``--json``.
RESPONSE_TIMING_NAMES = {
    "created": "create_to_created",
    "first_audio": "create_to_first_audio",
    "first_transcript": "create_to_first_transcript",
    "first_text": "create_to_first_text",
    "done": "create_to_done",
}


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
        """The keys every ``--json`` document has had, as the Python models hold them.

        ``--json`` prints :meth:`json_document`, which adds ``schema_version`` and the keys
        documented in docs/json.md to these.
        """
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

    def json_document(self) -> dict[str, Any]:
        """The ``--json`` document: :class:`ProbeDocument` as JSON-ready data."""
        return ProbeDocument.from_result(self).model_dump(mode="json")


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


# --- the versioned --json document ------------------------------------------------------------
class ResponseTimings(BaseModel):
    """A response's durations in ms, from its ``response.create`` (from ``response.created``
    under server VAD). A key is absent when its event never came."""

    model_config = ConfigDict(extra="allow")

    create_to_created: float | None = Field(None, description=f"to response.created, {_MS}")
    create_to_first_audio: float | None = Field(
        None, description=f"to the first audio delta, {_MS}"
    )
    create_to_first_transcript: float | None = Field(
        None, description=f"to the first transcript delta, {_MS}"
    )
    create_to_first_text: float | None = Field(None, description=f"to the first text delta, {_MS}")
    create_to_done: float | None = Field(None, description=f"to response.done, {_MS}")
    output_audio: float | None = Field(None, description=f"length of the answer's audio, {_MS}")
    max_audio_gap: float | None = Field(
        None, description=f"largest gap between two audio deltas, {_MS}"
    )
    created: float | None = Field(None, deprecated=_ALIAS.format("create_to_created"))
    first_audio: float | None = Field(None, deprecated=_ALIAS.format("create_to_first_audio"))
    first_transcript: float | None = Field(
        None, deprecated=_ALIAS.format("create_to_first_transcript")
    )
    first_text: float | None = Field(None, deprecated=_ALIAS.format("create_to_first_text"))
    done: float | None = Field(None, deprecated=_ALIAS.format("create_to_done"))
    real_time_factor: float | None = Field(
        None, deprecated="moved to the response's real_time_factor; kept until schema_version 2"
    )

    @classmethod
    def from_raw(cls, raw: dict[str, float]) -> ResponseTimings:
        """The canonical names, and the old ones as aliases, from a response's timings."""
        data: dict[str, float] = {}
        for key, value in raw.items():
            data[RESPONSE_TIMING_NAMES.get(key, key)] = value
        data.update(raw)  # the deprecated aliases (and real_time_factor) for one more version
        return cls.model_validate(data)

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A timing that was not measured is absent, not null (as before the document had a
        # schema): consumers test ``"key" in timings_ms``.
        return {k: v for k, v in handler(self).items() if v is not None}


class SessionTimings(BaseModel):
    """A session's durations in ms; the ``create_to_*`` keys, ``output_audio`` and
    ``max_audio_gap`` are those of its first response. A key is absent when not measured."""

    model_config = ConfigDict(extra="allow")

    connect: float | None = Field(None, description=f"DNS and TCP connect, {_MS}")
    handshake: float | None = Field(None, description=f"TLS and the WebSocket upgrade, {_MS}")
    session_created: float | None = Field(None, description=f"open to session.created, {_MS}")
    session_updated: float | None = Field(
        None, description=f"session.update to session.updated, {_MS}"
    )
    audio_stream: float | None = Field(None, description=f"streaming the first turn's audio, {_MS}")
    commit_to_committed: float | None = Field(
        None, description=f"input_audio_buffer.commit to committed, {_MS}"
    )
    create_to_created: float | None = Field(None, description=f"first response, {_MS}")
    create_to_first_audio: float | None = Field(None, description=f"first response, {_MS}")
    create_to_first_transcript: float | None = Field(None, description=f"first response, {_MS}")
    create_to_first_text: float | None = Field(None, description=f"first response, {_MS}")
    create_to_done: float | None = Field(None, description=f"first response, {_MS}")
    output_audio: float | None = Field(None, description=f"first response's audio, {_MS}")
    max_audio_gap: float | None = Field(None, description=f"first response, {_MS}")
    total: float | None = Field(None, description=f"the whole session, {_MS}")
    real_time_factor: float | None = Field(
        None, deprecated="moved to the document's real_time_factor; kept until schema_version 2"
    )

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A timing that was not measured is absent, not null (as before the document had a
        # schema): consumers test ``"key" in timings_ms``.
        return {k: v for k, v in handler(self).items() if v is not None}


class ResponseDocument(BaseModel):
    """One response in ``--json``."""

    response_id: str | None
    status: str | None
    status_details: Any = None
    timings_ms: ResponseTimings
    barge_in: bool = False
    real_time_factor: float | None = Field(
        None,
        description="time from response.create to response.done over the answer's audio "
        "length (below 1: generated faster than it plays); null without audio",
    )

    @classmethod
    def from_result(cls, response: ResponseResult) -> ResponseDocument:
        """The document of one response."""
        data: dict[str, Any] = {
            "response_id": response.response_id,
            "status": response.status,
            "status_details": response.status_details,
            "timings_ms": ResponseTimings.from_raw(response.timings_ms),
            "barge_in": response.barge_in,
        }
        data["real_time_factor"] = response.timings_ms.get("real_time_factor")
        return cls.model_validate(data)


class SessionDocument(BaseModel):
    """One session (an attempt of a step) in ``--json``'s ``sessions``: under ``--escalate``
    and ``--retries`` every step's responses are kept here, not only the last session's."""

    step: str | None
    attempt: int
    session_id: str | None
    outcome: Outcome
    started_at: str
    responses: list[ResponseDocument]
    failures: list[Failure]
    violations: list[Violation]
    timings_ms: SessionTimings
    handshake: ProbeHandshake
    close_code: int | None = None
    close_reason: str | None = None

    @classmethod
    def from_result(cls, session: SessionResult) -> SessionDocument:
        """The document of one session."""
        return cls.model_validate(
            {
                "step": session.step,
                "attempt": session.attempt,
                "session_id": session.session_id,
                "outcome": session.outcome,
                "started_at": session.started_at,
                "responses": [ResponseDocument.from_result(r) for r in session.responses],
                "failures": session.failures,
                "violations": session.violations,
                "timings_ms": SessionTimings.model_validate(session.timings_ms),
                "handshake": session.handshake,
                "close_code": session.close_code,
                "close_reason": session.close_reason,
            }
        )


class ProbeDocument(BaseModel):
    """``realtime-harness probe --json``: one object. The top-level keys describe the session
    that decided the outcome (the last one run); ``sessions`` lists every session in order."""

    schema_version: Literal[1] = Field(description="version of this shape (docs/json.md)")
    outcome: Outcome
    dialect: Dialect
    session_id: str | None
    attempts: list[AttemptRecord]
    responses: list[ResponseDocument]
    failures: list[Failure]
    violations: list[Violation]
    timings_ms: SessionTimings
    handshake: ProbeHandshake
    real_time_factor: float | None = Field(
        None, description="the first response's real-time factor; null without audio"
    )
    sessions: list[SessionDocument] = Field(default_factory=list)

    @classmethod
    def from_result(cls, result: ProbeResult) -> ProbeDocument:
        """The document of a probe's result."""
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "outcome": result.outcome,
            "dialect": result.dialect,
            "session_id": result.session_id,
            "attempts": result.attempts,
            "responses": [ResponseDocument.from_result(r) for r in result.responses],
            "failures": result.failures,
            "violations": result.violations,
            "timings_ms": SessionTimings.model_validate(result.timings_ms),
            "handshake": result.handshake,
        }
        data["real_time_factor"] = result.timings_ms.get("real_time_factor")
        data["sessions"] = [SessionDocument.from_result(s) for s in result.sessions]
        return cls.model_validate(data)
