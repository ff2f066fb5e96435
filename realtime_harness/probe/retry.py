"""Attempts and escalation: which failures are transient, ``stamina`` retries with exponential
backoff and jitter (``retry-after`` honoured on 429/503), and the escalation ladder."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import stamina

from realtime_harness.probe.options import RetryPolicy
from realtime_harness.protocol.codes import (
    RECOVERABLE_CLOSE_CODES,
    RETRY_STATUSES,
    CodeClass,
    classify_error,
)
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.session import SessionResult
from realtime_harness.protocol.validator import Violation
from realtime_harness.redact import redact_text

__all__ = [
    "ESCALATION_LADDER",
    "RECOVERABLE_CLOSE_CODES",
    "classify_retry",
    "retry_after",
    "run_step",
]

log = logging.getLogger("realtime_harness.probe")


#: ``--escalate``: text-only turn, then short audio, then long audio.
ESCALATION_LADDER: tuple[tuple[str, str | None, str | None], ...] = (
    ("text", None, "Say hello in three words."),
    ("short audio", "greeting", None),
    ("long audio", "long", None),
)


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after``: seconds or an HTTP date)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _transient(failure: Failure, status: int | None) -> bool:
    if failure.kind == "handshake":
        return status in RETRY_STATUSES
    if failure.kind == "close":
        return failure.close_code in RECOVERABLE_CLOSE_CODES
    if failure.kind in ("error_event", "response_failed"):
        error = failure.error
        return error is not None and classify_error(error.type, error.code) is CodeClass.TRANSIENT
    return False


def classify_retry(result: SessionResult) -> SessionResult:
    """Set ``retryable`` (every failure transient, no violation) and ``retry_after``."""
    real = [f for f in result.failures if not f.benign]
    violations: list[Violation] = result.violations
    if violations or not real:
        return result
    if all(_transient(f, result.handshake.status) for f in real):
        result.retryable = True
        result.retry_after = retry_after(result.handshake.headers)
    return result


class _Transient(Exception):
    """Raised inside the stamina retry block to ask for another attempt."""

    def __init__(self, result: SessionResult) -> None:
        super().__init__(result.headline())
        self.result = result


async def run_step(
    attempt_once: Callable[[int], Awaitable[SessionResult]],
    policy: RetryPolicy,
    step: str | None,
    sessions: list[SessionResult],
) -> SessionResult:
    """Run attempts of one step until one is not transient or the retries are used up."""
    max_wait = policy.max_retry_after

    def backoff(exc: Exception) -> bool | float:
        if not isinstance(exc, _Transient):
            return False
        after = exc.result.retry_after
        return True if after is None else min(after, max_wait)

    last: SessionResult | None = None
    try:
        async for attempt in stamina.retry_context(
            on=backoff,
            attempts=policy.retries + 1,
            timeout=None,
            wait_initial=policy.retry_wait_initial,
            wait_max=policy.retry_wait_max,
            wait_jitter=policy.retry_jitter,
        ):
            with attempt:
                last = await attempt_once(attempt.num)
                sessions.append(last)
                if last.retryable and attempt.num <= policy.retries:
                    log.warning(
                        "attempt %d%s failed transiently (%s); retrying",
                        attempt.num,
                        f" of step {step!r}" if step else "",
                        redact_text(last.headline()),
                    )
                    raise _Transient(last)
    except _Transient as exc:  # stamina gave up (its own attempt cap, e.g. in test mode)
        last = exc.result
    assert last is not None
    return last
