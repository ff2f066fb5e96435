"""``realtime-harness validate FILE…``: check recorded server events against the protocol rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from realtime_harness.cli._app import app, exit_with, one_line_errors
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.validator import Report
from realtime_harness.validate import validate_file

__all__ = ["validate"]

_PRECEDENCE = [Outcome.VIOLATION, Outcome.CONNECTION, Outcome.SERVER_FAILURE, Outcome.CLEAN]


def _print_human(path: Path, report: Report) -> None:
    dialect = report.dialect.value if report.dialect else "unknown"
    print(
        f"{path}: {report.outcome.value} dialect={dialect} session_id={report.session_id} "
        f"events={report.events} violations={len(report.violations)} "
        f"failures={len(report.failures)}"
    )
    for violation in report.violations:
        print(f"  {violation.summary()}")
    if report.violations_dropped:
        print(f"  … and {report.violations_dropped} more violations not listed")
    for failure in report.failures:
        print(f"  {failure.summary()}")
    for note in report.incomplete:
        print(f"  incomplete: {note}")


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL files: one server event per line, or realtime-harness recordings."
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file instead of text.")
    ] = False,
    dialect: Annotated[
        Dialect | None,
        typer.Option(help="Dialect of the stream; detected from the events when omitted."),
    ] = None,
) -> None:
    """Check the ordering of every event against the protocol rules, and list failures with ids.

    Exit 0 clean, 1 the server reported a failure, 2 usage error, 3 protocol violation.
    """
    outcomes: list[Outcome] = []
    with one_line_errors():
        for path in files:
            report = validate_file(path, dialect)
            outcomes.append(report.outcome)
            if json_output:
                payload = {"file": str(path), **report.to_json_dict()}
                sys.stdout.write(orjson.dumps(payload).decode() + "\n")
            else:
                _print_human(path, report)
    exit_with(next(o for o in _PRECEDENCE if o in outcomes) if outcomes else Outcome.CLEAN)
