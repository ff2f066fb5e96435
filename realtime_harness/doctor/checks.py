"""The verdicts of ``doctor``: one :class:`Check` per question asked, gathered in a :class:`Report`.

A check answers one question about a deployment (is the URL one of the four forms, did the
handshake succeed, is the deployment a realtime model…) with a status, one line of evidence and
one line of fix, plus the ids and response headers it saw, which are what a support ticket needs.
Checks run in order; a check that an earlier one makes meaningless is *skipped* and names that
earlier check, so a reader never wonders why a row says nothing.

The exit code of a report follows the project's documented codes: 0 when nothing fails, 1 when a
check fails, 4 when nothing could be reached (a network check failed: DNS, TCP or TLS, so no
server ever answered).

Everything shown passes through :mod:`realtime_harness.redact`: a check never prints a key.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterable, Mapping
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from realtime_harness.redact import redact_headers, redact_text

__all__ = [
    "SCHEMA_VERSION",
    "Check",
    "Report",
    "Stage",
    "Status",
    "print_report",
    "render_plain",
    "render_rich",
]

#: Version of the ``--json`` shape; bump it when a key changes meaning or goes away.
SCHEMA_VERSION: Literal[1] = 1


class Status(enum.StrEnum):
    """The verdict of one check."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


class Stage(enum.StrEnum):
    """Where in the diagnosis a check belongs, in the order ``doctor`` runs them.

    ``network`` is the stage whose failure means no server answered at all (exit code 4).
    """

    CONFIG = "config"
    NETWORK = "network"
    HANDSHAKE = "handshake"
    SESSION = "session"
    REQUEST = "request"
    TRANSIENT = "transient"
    CLOCK = "clock"


class Check(BaseModel):
    """One check's verdict: its name, status, one line of evidence, one line of fix, ids seen.

    ``seen`` holds the ids and response headers the check saw (``apim-request-id``,
    ``x-request-id``, ``x-ms-region``, ``sess_…``); credential headers are masked on the way in.
    ``skipped_because`` names the earlier check that made this one meaningless; ``cause`` the
    named cause (:class:`~realtime_harness.doctor.advice.Cause` value) the check found, if any.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    stage: Stage
    status: Status
    evidence: str = ""
    fix: str = ""
    seen: dict[str, str] = Field(default_factory=dict)
    skipped_because: str | None = None
    cause: str | None = None

    @field_validator("evidence", "fix")
    @classmethod
    def _one_redacted_line(cls, value: str) -> str:
        # One line each (the table has one row per check), and never a secret.
        return redact_text(" ".join(value.split()))

    @field_validator("seen", mode="before")
    @classmethod
    def _redacted_seen(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return redact_headers({str(k): str(v) for k, v in value.items()})
        return value

    @model_validator(mode="after")
    def _skip_has_reason(self) -> Check:
        if (self.status is Status.SKIPPED) != (self.skipped_because is not None):
            raise ValueError("a skipped check names the earlier check that skips it, and only then")
        return self

    @classmethod
    def passed(cls, name: str, stage: Stage, evidence: str, **seen: str) -> Check:
        """A passing check (no fix needed)."""
        return cls(name=name, stage=stage, status=Status.PASS, evidence=evidence, seen=seen)

    @classmethod
    def skipped(cls, name: str, stage: Stage, because: Check | str, why: str = "") -> Check:
        """A check made meaningless by ``because`` (the earlier check, or its name); ``why``
        adds a few words when the earlier check's status alone does not say it."""
        earlier = because if isinstance(because, str) else because.name
        status = "" if isinstance(because, str) else f" {because.status.value}"
        return cls(
            name=name,
            stage=stage,
            status=Status.SKIPPED,
            evidence=f"skipped: {earlier}{status}" + (f" ({why})" if why else ""),
            skipped_because=earlier,
        )


class Report(BaseModel):
    """Every check of one ``doctor`` run, in the order they ran, and the exit code they imply.

    ``target`` is a redacted description of what was diagnosed (never a key).
    """

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    target: str = ""
    checks: list[Check] = Field(default_factory=list)

    @field_validator("target")
    @classmethod
    def _redacted_target(cls, value: str) -> str:
        return redact_text(value)

    @model_validator(mode="after")
    def _skips_name_earlier_checks(self) -> Report:
        names: set[str] = set()
        for check in self.checks:
            if check.skipped_because is not None and check.skipped_because not in names:
                raise ValueError(
                    f"check {check.name} is skipped because of {check.skipped_because}, "
                    "which is not an earlier check"
                )
            names.add(check.name)
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        """0 when nothing fails, 4 when a network check failed (nothing reached), else 1."""
        failed = [c for c in self.checks if c.status is Status.FAIL]
        if not failed:
            return 0
        if any(c.stage is Stage.NETWORK for c in failed):
            return 4
        return 1

    def check(self, name: str) -> Check | None:
        """The check called ``name``, if it ran."""
        return next((c for c in self.checks if c.name == name), None)

    def failed(self) -> list[Check]:
        """The failing checks, in order."""
        return [c for c in self.checks if c.status is Status.FAIL]

    def causes(self) -> list[str]:
        """The causes the failing and warning checks name, each once, in order."""
        found: list[str] = []
        for check in self.checks:
            failing = check.status in (Status.FAIL, Status.WARN)
            if failing and check.cause and check.cause not in found:
                found.append(check.cause)
        return found

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (``schema_version``, ``target``, ``checks``, ``exit_code``)."""
        return self.model_dump(mode="json")

    def with_checks(self, checks: Iterable[Check]) -> Report:
        """A report with ``checks`` appended (reports are immutable)."""
        return Report(target=self.target, checks=[*self.checks, *checks])


_MARKS = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIPPED: "SKIP"}
_STYLES = {
    Status.PASS: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.SKIPPED: "dim",
}


def _seen_text(check: Check) -> str:
    return " ".join(f"{k}={v}" for k, v in check.seen.items())


def render_plain(report: Report) -> str:
    """The report as plain lines (for logs, pipes and files): one block per check, then a total.

    Each check is ``STATUS name: evidence``, then ``  fix: …`` and ``  seen: …`` when present.
    """
    lines = [f"doctor {report.target}".rstrip()]
    for check in report.checks:
        lines.append(f"{_MARKS[check.status]:<4} {check.name}: {check.evidence}".rstrip())
        if check.fix and check.status is not Status.PASS:
            lines.append(f"     fix: {check.fix}")
        if check.seen:
            lines.append(f"     seen: {_seen_text(check)}")
    lines.append(_total(report))
    return "\n".join(lines) + "\n"


def _total(report: Report) -> str:
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in Status}
    parts = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    return f"{parts or 'no checks'}; exit {report.exit_code}"


def render_rich(report: Report, *, width: int = 120, color: bool = True) -> str:
    """The report as a ``rich`` table (one row per check: status, check, evidence, fix, seen)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"doctor {report.target}".rstrip(), show_lines=False, expand=False)
    for column in ("status", "check", "evidence", "fix", "seen"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        fix = check.fix if check.status is not Status.PASS else ""
        table.add_row(
            f"[{_STYLES[check.status]}]{_MARKS[check.status]}[/]",
            check.name,
            check.evidence,
            fix,
            _seen_text(check),
        )
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    console.print(table)
    console.print(_total(report))
    return buffer.getvalue()


def print_report(report: Report, file: IO[str], *, width: int | None = None) -> None:
    """Write the report to ``file``: a ``rich`` table on a terminal, plain lines otherwise."""
    isatty = getattr(file, "isatty", None)
    if callable(isatty) and isatty():
        import shutil

        file.write(render_rich(report, width=width or shutil.get_terminal_size().columns))
    else:
        file.write(render_plain(report))
