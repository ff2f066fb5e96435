"""The --json contract: schema_version everywhere, a JSON Schema per command (printed by
``schema`` and stored in docs/schemas/), one name per timing with documented aliases,
real_time_factor beside the timings, and every step's responses under --escalate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.cli.schema import (
    SCHEMA_VERSION,
    SchemaCommand,
    json_schema,
    render_schema,
)
from realtime_harness.probe import ProbeOptions, run_probe_sync
from realtime_harness.probe.results import SCHEMA_VERSION as PROBE_SCHEMA_VERSION
from realtime_harness.probe.results import ProbeDocument
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.testing import TraceBuilder

DOCS = Path(__file__).resolve().parents[1] / "docs"
runner = CliRunner()


def validator(command: SchemaCommand) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema(command)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def probe_doc() -> dict[str, Any]:
    """probe --json of a clean audio session against the embedded mock (as the CLI prints it)."""
    result = run_probe_sync(ProbeOptions(audio="greeting"))
    return orjson.loads(orjson.dumps(result.json_document()))


def test_every_command_has_one_schema_version() -> None:
    assert SCHEMA_VERSION == PROBE_SCHEMA_VERSION == 1


@pytest.mark.parametrize("command", list(SchemaCommand))
def test_the_stored_schema_equals_what_the_command_prints(command: SchemaCommand) -> None:
    printed = runner.invoke(app, ["schema", command.value])
    assert printed.exit_code == 0
    stored = DOCS / "schemas" / f"{command.value}.schema.json"
    assert stored.read_text(encoding="utf-8") == printed.output == render_schema(command), (
        f"docs/schemas is stale: realtime-harness schema {command.value} > {stored}"
    )


def test_an_unknown_command_is_a_usage_error() -> None:
    assert runner.invoke(app, ["schema", "nope"]).exit_code == 2


def test_probe_json_validates_against_its_schema(probe_doc: dict[str, Any]) -> None:
    validator(SchemaCommand.PROBE).validate(probe_doc)
    assert probe_doc["schema_version"] == 1
    ProbeDocument.model_validate(probe_doc)


def test_each_timing_has_one_name_and_the_old_names_are_equal_aliases(
    probe_doc: dict[str, Any],
) -> None:
    (response,) = probe_doc["responses"]
    timings = response["timings_ms"]
    for old, new in (
        ("created", "create_to_created"),
        ("first_audio", "create_to_first_audio"),
        ("done", "create_to_done"),
    ):
        assert timings[old] == timings[new]
        assert probe_doc["timings_ms"][new] == timings[new]  # the same name at both levels


def test_real_time_factor_sits_beside_the_timings(probe_doc: dict[str, Any]) -> None:
    (response,) = probe_doc["responses"]
    assert response["real_time_factor"] > 0
    assert probe_doc["real_time_factor"] == response["real_time_factor"]
    schema = json_schema(SchemaCommand.PROBE)
    timing_props = schema["$defs"]["ResponseTimings"]["properties"]
    assert timing_props["real_time_factor"]["deprecated"] is True
    assert timing_props["created"]["deprecated"] is True
    assert "deprecated" not in timing_props["create_to_created"]


def test_an_unmeasured_timing_is_absent_not_null(probe_doc: dict[str, Any]) -> None:
    (response,) = probe_doc["responses"]
    assert "create_to_first_text" not in response["timings_ms"]  # an audio answer has no text
    assert None not in probe_doc["timings_ms"].values()


def test_the_failure_keys_stay_null_when_absent() -> None:
    result = run_probe_sync(ProbeOptions(text="hi", mock_faults=("server_error",)))
    doc = orjson.loads(orjson.dumps(result.json_document()))
    validator(SchemaCommand.PROBE).validate(doc)
    (failure,) = doc["failures"]
    assert "line" in failure  # the shape to_json_dict always had: absent values are null
    assert failure["line"] is None
    assert doc["failures"] == result.to_json_dict()["failures"]


def test_escalate_json_keeps_every_steps_responses() -> None:
    result = run_probe_sync(ProbeOptions(escalate=True))
    doc = orjson.loads(orjson.dumps(result.json_document()))
    validator(SchemaCommand.PROBE).validate(doc)
    steps = [s["step"] for s in doc["sessions"]]
    assert len(steps) == 3
    assert len(set(steps)) == 3
    assert all(len(s["responses"]) == 1 for s in doc["sessions"])
    assert doc["responses"] == doc["sessions"][-1]["responses"]


def test_probe_cli_json_carries_the_version(tmp_path: Path) -> None:
    result = runner.invoke(app, ["probe", "--json", "--text", "Hi"], env={"NO_COLOR": "1"})
    doc = orjson.loads(result.stdout)
    assert doc["schema_version"] == 1
    assert doc["sessions"][0]["session_id"] == doc["session_id"]


def test_validate_json_lines_validate_against_their_schema(tmp_path: Path) -> None:
    build = TraceBuilder(Dialect.GA)
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in build.session_created()))
    missing = tmp_path / "missing.jsonl"
    result = runner.invoke(app, ["validate", "--json", str(good), str(missing)])
    docs = [orjson.loads(line) for line in result.stdout.splitlines()]
    check = validator(SchemaCommand.VALIDATE)
    for doc in docs:
        check.validate(doc)
        assert doc["schema_version"] == 1
    assert docs[0]["violations_dropped"] == 0
    assert set(docs[1]) == {"schema_version", "file", "outcome", "error"}


def test_samples_json_validates_against_its_schema() -> None:
    result = runner.invoke(app, ["samples", "--json"])
    check = validator(SchemaCommand.SAMPLES)
    for line in result.stdout.splitlines():
        check.validate(orjson.loads(line))


def test_validate_of_several_files_ends_with_one_summary_line(tmp_path: Path) -> None:
    build = TraceBuilder(Dialect.GA)
    events = [*build.session_created(), *build.failed_response()]
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
        paths.append(str(path))
    result = runner.invoke(app, ["validate", *paths])
    last = result.stdout.strip().splitlines()[-1]
    per_file = len(events)
    assert last == (
        f"2 files: events={2 * per_file} failures=2 violations=0 outcome=server_failure exit=1"
    )
    single = runner.invoke(app, ["validate", paths[0]])
    assert "files:" not in single.stdout


def test_doctor_json_of_the_embedded_mock_validates_against_its_schema() -> None:
    """doctor --json (every check against the embedded mock) matches docs/schemas/doctor."""
    from realtime_harness.doctor.live import DoctorOptions, run_doctor_sync

    report = run_doctor_sync(DoctorOptions())
    doc = orjson.loads(orjson.dumps(report.to_json_dict()))
    assert doc["schema_version"] == 1
    validator(SchemaCommand.DOCTOR).validate(doc)
