"""Test assertions on a session's or a probe's result that fail with every id in full.

``result.assert_clean()`` and ``result.assert_failed(kind=...)`` raise :class:`AssertionError`
with a short first line (outcome, session id and the first failure's response and event ids: the
line pytest's short summary shows) followed by one full line per failure and violation. A plain
``assert result.outcome.value == "clean", result.failures`` shows a list ``repr`` that pytest cuts
at a few hundred characters, which loses the response and event ids a support ticket needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from realtime_harness.protocol.outcome import Outcome

if TYPE_CHECKING:
    from realtime_harness.protocol.failures import Failure, FailureKind
    from realtime_harness.protocol.validator import Violation

__all__ = ["ResultAssertions", "result_report"]


class _Result(Protocol):
    outcome: Outcome
    session_id: str | None
    failures: list[Failure]
    violations: list[Violation]


def result_report(result: _Result, headline: str) -> str:
    """``headline`` with the outcome and ids on one line, then one line per failure/violation."""
    real = [f for f in result.failures if not f.benign]
    first = real[0] if real else (result.failures[0] if result.failures else None)
    ids = [f"outcome={result.outcome.value}", f"session_id={result.session_id}"]
    if first is not None:
        ids += [f"response_id={first.response_id}", f"event_id={first.event_id}"]
    lines = [f"{headline}: {' '.join(ids)}"]
    lines += [f"  {failure.summary()}" for failure in result.failures]
    lines += [f"  {violation.summary()}" for violation in result.violations]
    return "\n".join(lines)


class ResultAssertions:
    """``assert_clean`` / ``assert_failed`` for results that carry outcome, ids and failures."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by the result models that inherit this
        outcome: Outcome
        session_id: str | None
        failures: list[Failure]
        violations: list[Violation]

    def assert_clean(self) -> None:
        """Fail (``AssertionError``) unless the outcome is clean, naming every failure in full."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        if self.outcome is not Outcome.CLEAN:
            raise AssertionError(result_report(self, "not clean"))

    def assert_failed(self, kind: FailureKind | None = None, *, code: str | None = None) -> Failure:
        """The first non-benign failure of ``kind`` (any kind when None) whose error code is
        ``code`` (any when None); fail with every id in full when there is none."""
        __tracebackhide__ = True
        for failure in self.failures:
            if failure.benign or (kind is not None and failure.kind != kind):
                continue
            if code is None or (failure.error is not None and failure.error.code == code):
                return failure
        wanted = "no failure" + (f" of kind {kind}" if kind else "")
        wanted += f" with code {code}" if code else ""
        raise AssertionError(result_report(self, wanted))
