"""``realtime-harness validate FILE…``: check recorded server events against the protocol rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from realtime_harness.cli._app import SCHEMA_VERSION, app, exit_with
from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import INCOMPLETE, Outcome, verdict_of
from realtime_harness.validate import FileCheck, InputState, check_file, display_name

if TYPE_CHECKING:
    from realtime_harness.protocol.runs import RunReport

__all__ = ["validate"]

#: With several files the worst outcome wins, which is also the highest exit code.
_PRECEDENCE = [
    Outcome.CONNECTION,
    Outcome.VIOLATION,
    Outcome.USAGE,
    Outcome.SERVER_FAILURE,
    Outcome.CLEAN,
]


class _Totals:
    """What several files held, for the one summary line after them."""

    # a plain class: a dataclass's generated methods cost every `validate` start about 1.5 ms
    __slots__ = ("events", "failures", "incomplete", "violations")

    def __init__(self) -> None:
        self.events = 0
        self.failures = 0
        self.violations = 0
        self.incomplete = False

    def add(self, check: FileCheck) -> None:
        report = check.report
        self.incomplete = self.incomplete or check.verdict == INCOMPLETE
        self.events += report.events
        self.failures += len(report.failures)
        self.violations += len(report.violations) + report.violations_dropped

    def line(self, files: int, outcome: Outcome) -> str:
        return (
            f"{files} files: events={self.events} failures={self.failures} "
            f"violations={self.violations} "
            f"outcome={verdict_of(outcome, incomplete=self.incomplete)} exit={outcome.exit_code}"
        )


def _print_human(check: FileCheck) -> None:
    if check.problem:
        print(f"error: {check.name}: {check.problem}", file=sys.stderr)
        return
    if check.runs is not None:
        _print_runs(check.name, check.runs)
        return
    report = check.report
    dialect = report.dialect.value if report.dialect else "unknown"
    print(
        f"{check.name}: {check.verdict} dialect={dialect} session_id={report.session_id} "
        f"events={report.events} violations={len(report.violations)} "
        f"failures={len(report.failures)}"
    )
    if check.state is InputState.TRUNCATED:
        print("  truncated: the last line is cut short (was the recording interrupted?)")
    for violation in report.violations:
        print(f"  {violation.summary()}")
    if report.violations_dropped:
        print(f"  … and {report.violations_dropped} more violations not listed")
    for failure in report.failures:
        print(f"  {failure.summary()}")
    for note in report.incomplete:
        print(f"  incomplete: {note}")


def _print_runs(name: str, runs: RunReport) -> None:
    """An Assistants run stream: the verdict, each violation, each failed run with its ids,
    ``last_error`` and the likely causes."""
    from realtime_harness.protocol.runs import REPLACEMENT  # only run streams need the run module

    print(
        f"{name}: {runs.verdict} kind=assistants-run-stream events={runs.events} "
        f"runs={runs.runs} violations={len(runs.violations)} failures={len(runs.failures)}"
    )
    for violation in runs.violations:
        print(f"  {violation.summary()}")
    if runs.violations_dropped:
        print(f"  … and {runs.violations_dropped} more violations not listed")
    for failure in runs.failures:
        print(f"  {failure.summary()}")
        if failure.last_error is not None:
            error = failure.last_error
            print(f"    last_error: code={error.code} message={error.message!r}")
        for line in failure.explain():
            print(f"    {line}")
    for note in runs.incomplete:
        print(f"  incomplete: {note}")
    if runs.failures:
        print(f"  note: {REPLACEMENT}")


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL files: one server event per line, or realtime-harness recordings, or "
            "recorded Assistants run streams (SSE or JSONL); - reads standard input."
        ),
    ],
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object per file instead of text "
            "(schema: 'realtime-harness schema validate').",
        ),
    ] = False,
    dialect: Annotated[
        Dialect | None,
        typer.Option(help="Dialect of the stream; detected from the events when omitted."),
    ] = None,
) -> None:
    """Check the ordering of every event against the protocol rules, and list failures with ids.

    Exit 0 clean, or incomplete (a stream cut before a response or run finished: reported as
    incomplete, never clean), 1 the server reported a failure, 2 usage error (a file missing,
    empty or not JSON Lines), 3 protocol violation (including bad and truncated lines). Every
    file is checked; with several, the worst outcome sets the exit code and one summary line
    ends the text output (files, events, failures, violations). FILES may be - for standard
    input (for example: zcat trace.jsonl.gz | realtime-harness validate -).
    """
    outcomes: list[Outcome] = []
    totals = _Totals()
    for path in files:
        try:
            check = check_file(path, dialect)
        except UsageError as exc:
            outcomes.append(Outcome.USAGE)
            if json_output:
                payload = {
                    "schema_version": SCHEMA_VERSION,
                    "file": display_name(path),
                    "outcome": Outcome.USAGE.value,
                }
                sys.stdout.write(orjson.dumps({**payload, "error": str(exc)}).decode() + "\n")
            else:
                print(f"error: {exc}", file=sys.stderr)
            continue
        outcomes.append(check.outcome)
        totals.add(check)
        if json_output:
            document = {"schema_version": SCHEMA_VERSION, **check.to_json_dict()}
            sys.stdout.write(orjson.dumps(document).decode() + "\n")
        else:
            _print_human(check)
    outcome = next(o for o in _PRECEDENCE if o in outcomes) if outcomes else Outcome.CLEAN
    if not json_output and len(files) > 1:
        print(totals.line(len(files), outcome))
    exit_with(outcome)
