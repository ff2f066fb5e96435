"""``realtime-harness schema COMMAND``: the JSON Schema of a command's ``--json`` output.

Each schema is generated from the pydantic model the command's JSON is made from, so the schema
cannot drift from the output; ``docs/schemas/<command>.schema.json`` holds the same text (a test
compares them) and ``docs/json.md`` explains the keys and the versioning rule.
"""

from __future__ import annotations

import enum
import importlib
import json
import sys
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel, Field

from realtime_harness.cli._app import SCHEMA_VERSION, app
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.validator import Violation

__all__ = [
    "DOCUMENTS",
    "SCHEMA_VERSION",
    "SampleDocument",
    "SchemaCommand",
    "ValidateDocument",
    "json_schema",
    "schema",
]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


class ValidateDocument(BaseModel):
    """``realtime-harness validate --json``: one object per file, one per line.

    A file that cannot be read at all (missing, not readable) has only ``schema_version``,
    ``file``, ``outcome`` (``usage_error``) and ``error``.
    """

    schema_version: Literal[1] = Field(description="version of this shape (docs/json.md)")
    file: str = Field(description="the path as given; <stdin> for -")
    outcome: Outcome
    verdict: (
        Literal[
            "clean",
            "incomplete",
            "server_failure",
            "usage_error",
            "violation",
            "connection_failure",
        ]
        | None
    ) = Field(
        None,
        description="the status word: outcome's value, except incomplete (never clean) when a "
        "response or run did not finish; exit 0 all the same (docs/validate.md)",
    )
    dialect: Dialect | None = Field(None, description="as given or detected; null if unknown")
    session_id: str | None = None
    events: int | None = Field(None, description="server events checked")
    failures: list[Failure] = Field(default_factory=list)
    violations: list[Violation] = Field(
        default_factory=list, description="the first violations found (see violations_dropped)"
    )
    incomplete: list[str] = Field(
        default_factory=list, description="responses or items still open when the file ended"
    )
    violations_dropped: int = Field(
        0,
        description="violations found beyond those listed: a broken stream can break one rule "
        "on every line, so the list is bounded and this counts the rest",
    )
    input: Literal["ok", "empty", "truncated", "not-jsonl"] | None = Field(
        None, description="what the file held before any rule was applied (docs/validate.md)"
    )
    error: str | None = Field(None, description="why the file could not be checked")


class SampleDocument(BaseModel):
    """``realtime-harness samples --json``: one object per bundled sample, one per line."""

    schema_version: Literal[1]
    name: str
    file: str
    duration_s: float
    rate: int
    channels: int
    container: str
    subtype: str
    text: str
    description: str


class SchemaCommand(enum.StrEnum):
    """The commands with a machine-readable output."""

    PROBE = "probe"
    VALIDATE = "validate"
    SAMPLES = "samples"
    MOCK_SERVER = "mock-server"
    DOCTOR = "doctor"


#: Command -> the model its JSON is made from (``module:attribute``, imported when asked).
DOCUMENTS: dict[SchemaCommand, str] = {
    SchemaCommand.PROBE: "realtime_harness.probe.results:ProbeDocument",
    SchemaCommand.VALIDATE: "realtime_harness.cli.schema:ValidateDocument",
    SchemaCommand.SAMPLES: "realtime_harness.cli.schema:SampleDocument",
    # mock-server prints text; its machine-readable output is the --ledger file, one per line.
    SchemaCommand.MOCK_SERVER: "realtime_harness.mock.fault_spec:FaultRecord",
    SchemaCommand.DOCTOR: "realtime_harness.doctor.checks:Report",
}


def json_schema(command: SchemaCommand) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``command``'s JSON output."""
    module, _, name = DOCUMENTS[command].partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), name)
    document = model.model_json_schema()
    return {"$schema": _DRAFT, "$id": f"realtime-harness/{command.value}.schema.json", **document}


def render_schema(command: SchemaCommand) -> str:
    """The schema as the command prints it and docs/schemas/ stores it."""
    return json.dumps(json_schema(command), indent=2, ensure_ascii=False) + "\n"


@app.command()
def schema(
    command: Annotated[
        SchemaCommand,
        typer.Argument(
            help="probe, validate, samples, doctor or mock-server (its --ledger records).",
            metavar="COMMAND",
        ),
    ],
) -> None:
    """Print the JSON Schema of a command's --json output (docs/schemas/ holds the same files).

    probe, validate, samples and doctor print JSON with --json (each carries schema_version);
    mock-server's JSON is its --ledger file. docs/json.md describes every key.
    """
    sys.stdout.write(render_schema(command))
