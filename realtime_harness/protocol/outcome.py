"""Outcomes and the exit codes shared by every command that runs or checks a session."""

from __future__ import annotations

import enum

__all__ = ["INCOMPLETE", "Outcome", "verdict_of"]

#: The verdict of a check that broke no rule and saw no failure but did not see everything
#: finish (a response with no ``response.done``, a run with no terminal event, a stream with no
#: ``done``). Its exit code is still 0: docs/validate.md explains why.
INCOMPLETE = "incomplete"


class Outcome(enum.Enum):
    """What a run or a check concluded, ordered by the exit code it maps to.

    A protocol violation takes precedence over a server-reported failure: a stream that breaks
    the grammar cannot be trusted to report its own failures.
    """

    CLEAN = "clean"
    SERVER_FAILURE = "server_failure"
    USAGE = "usage_error"
    VIOLATION = "violation"
    CONNECTION = "connection_failure"

    @property
    def exit_code(self) -> int:
        """The documented process exit code (0, 1, 2, 3, 4)."""
        return _EXIT_CODES[self]

    @property
    def meaning(self) -> str:
        """What the exit code tells a script or a CI job, in one line (docs/cli.md lists them)."""
        return _MEANINGS[self]

    @classmethod
    def combine(cls, *, violations: bool, failures: bool, connection: bool = False) -> Outcome:
        """The outcome of a run from what it found; violation > connection > server failure."""
        if violations:
            return cls.VIOLATION
        if connection:
            return cls.CONNECTION
        if failures:
            return cls.SERVER_FAILURE
        return cls.CLEAN


_EXIT_CODES = {
    Outcome.CLEAN: 0,
    Outcome.SERVER_FAILURE: 1,
    Outcome.USAGE: 2,
    Outcome.VIOLATION: 3,
    Outcome.CONNECTION: 4,
}

_MEANINGS = {
    Outcome.CLEAN: "clean: every step happened and nothing failed or broke the protocol",
    Outcome.SERVER_FAILURE: (
        "the server reported a failure (a failed or incomplete response, an error event)"
    ),
    Outcome.USAGE: "usage error (bad option, file, URL, sample, fault spec, missing key)",
    Outcome.VIOLATION: "protocol violation (takes precedence over 1 and 4)",
    Outcome.CONNECTION: "connection, handshake or timeout failure (takes precedence over 1)",
}


def verdict_of(outcome: Outcome, *, incomplete: bool) -> str:
    """The status word a check prints: the outcome's value, except that a clean outcome of a
    stream where something did not finish is ``incomplete`` (never ``clean``)."""
    if outcome is Outcome.CLEAN and incomplete:
        return INCOMPLETE
    return outcome.value
