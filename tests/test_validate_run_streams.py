"""``validate`` on recorded Assistants run streams: routed by the first line, SSE or JSONL, the
failed run's ids, ``last_error`` and likely causes printed, the same exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.exceptions import UsageError
from realtime_harness.validate import InputState, check_file, validate_file

runner = CliRunner()
THREAD, RUN, ASSISTANT = "thread_abc123", "run_abc123", "asst_abc123"


def run(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": RUN,
        "object": "thread.run",
        "thread_id": THREAD,
        "assistant_id": ASSISTANT,
        "status": status,
        "model": "gpt-4o",
        "last_error": None,
        "usage": None,
        **extra,
    }


def message(status: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "object": "thread.message",
        "thread_id": THREAD,
        "run_id": RUN,
        "assistant_id": ASSISTANT,
        "role": "assistant",
        "status": status,
    }


DELTA = {"id": "msg_1", "object": "thread.message.delta", "delta": {"content": []}}
FAILED = [
    ("thread.run.created", run("queued")),
    ("thread.run.queued", run("queued")),
    ("thread.run.in_progress", run("in_progress")),
    (
        "thread.run.failed",
        run(
            "failed",
            last_error={"code": "server_error", "message": "Sorry, something went wrong."},
            usage={"prompt_tokens": 0},
        ),
    ),
    ("done", "[DONE]"),
]
CLEAN = [
    ("thread.run.created", run("queued")),
    ("thread.run.queued", run("queued")),
    ("thread.run.in_progress", run("in_progress")),
    ("thread.message.created", message("in_progress")),
    ("thread.message.in_progress", message("in_progress")),
    ("thread.message.delta", DELTA),
    ("thread.message.completed", message("completed")),
    ("thread.run.completed", run("completed", usage={"prompt_tokens": 42})),
    ("done", "[DONE]"),
]


def write_sse(path: Path, events: list[tuple[str, Any]]) -> Path:
    lines = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        lines += [f"event: {name}", f"data: {payload}", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_jsonl(path: Path, events: list[tuple[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps({"event": n, "data": d}) + b"\n" for n, d in events))
    return path


@pytest.mark.parametrize("writer", [write_sse, write_jsonl], ids=["sse", "jsonl"])
def test_a_clean_run_stream_exits_0(tmp_path: Path, writer: Any) -> None:
    """A documented run that writes one message: clean, exit 0, counted as one run."""
    path = writer(tmp_path / "run.log", CLEAN)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "clean kind=assistants-run-stream" in result.output
    assert "runs=1" in result.output


@pytest.mark.parametrize("writer", [write_sse, write_jsonl], ids=["sse", "jsonl"])
def test_a_failed_run_prints_its_ids_last_error_and_likely_causes(
    tmp_path: Path, writer: Any
) -> None:
    """The seed's incident: every id, last_error, the empty thread as the likely cause, exit 1."""
    path = writer(tmp_path / "run.log", FAILED)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    for needle in (THREAD, RUN, ASSISTANT, "last_error: code=server_error", "empty-thread"):
        assert needle in result.output
    assert "retired on 2026-08-26" in result.output


def test_a_delta_after_completed_is_flagged_at_its_line(tmp_path: Path) -> None:
    """A message delta after the message completed: a violation on that line, exit 3."""
    events = [*CLEAN[:7], ("thread.message.delta", DELTA), *CLEAN[7:]]
    path = write_jsonl(tmp_path / "run.jsonl", events)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 3, result.output
    assert "line 8 type=thread.message.delta" in result.output


def test_json_output_is_the_run_report(tmp_path: Path) -> None:
    """--json: the run report's keys with ``kind``, plus the file, input state and outcome."""
    path = write_sse(tmp_path / "run.sse", FAILED)
    result = runner.invoke(app, ["validate", "--json", str(path)])
    doc = orjson.loads(result.output)
    assert doc["kind"] == "assistants_run_stream"
    assert doc["file"].endswith("run.sse")
    assert doc["outcome"] == "server_failure"
    assert doc["input"] == "ok"
    assert doc["failures"][0]["run_id"] == RUN


def test_a_realtime_file_is_not_taken_for_a_run_stream(tmp_path: Path) -> None:
    """Realtime JSONL still goes to the Realtime validator; validate_file refuses a run stream."""
    realtime = tmp_path / "rt.jsonl"
    realtime.write_text('{"type": "session.created", "event_id": "e1", "session": {}}\n')
    assert check_file(realtime).runs is None
    stream = write_sse(tmp_path / "run.sse", CLEAN)
    check = check_file(stream)
    assert check.runs is not None
    assert check.state is InputState.OK
    with pytest.raises(UsageError, match="run stream"):
        validate_file(stream)


@pytest.mark.parametrize("writer", [write_sse, write_jsonl], ids=["sse", "jsonl"])
@pytest.mark.parametrize(
    ("events", "note"),
    [
        (CLEAN[:7], "ended the stream in_progress (no terminal event)"),
        (CLEAN[:-1], "no done event"),
    ],
    ids=["no-terminal-event-no-done", "no-done"],
)
def test_a_run_stream_that_did_not_finish_is_incomplete_never_clean(
    tmp_path: Path, writer: Any, events: list[tuple[str, Any]], note: str
) -> None:
    """A run with no terminal event, or a stream with no ``done``: the status word and the
    --json verdict are ``incomplete``, the exit code 0, and what did not finish is listed."""
    path = writer(tmp_path / "run.log", events)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: incomplete kind=assistants-run-stream" in result.output
    assert "clean" not in result.output
    assert note in result.output
    doc = orjson.loads(runner.invoke(app, ["validate", "--json", str(path)]).output)
    assert (doc["verdict"], doc["outcome"]) == ("incomplete", "clean")


def test_a_finished_run_stream_has_the_verdict_clean(tmp_path: Path) -> None:
    """A documented run ending with ``done``: verdict clean in --json."""
    path = write_sse(tmp_path / "run.sse", CLEAN)
    doc = orjson.loads(runner.invoke(app, ["validate", "--json", str(path)]).output)
    assert (doc["verdict"], doc["outcome"], doc["incomplete"]) == ("clean", "clean", [])


@pytest.mark.parametrize("writer", [write_sse, write_jsonl], ids=["sse", "jsonl"])
@pytest.mark.parametrize("lead", [b"", b"\xef\xbb\xbf", b"\n\n", b"\r\n  \r\n", b" \t\r\r\n"])
def test_a_run_stream_is_told_by_its_first_non_blank_line(
    tmp_path: Path, writer: Any, lead: bytes
) -> None:
    """Blank lines (any line ending) and a BOM before the first event do not hide a run stream;
    a Realtime event after the same blank lines is still Realtime."""
    stream = writer(tmp_path / "run.log", CLEAN)
    stream.write_bytes(lead + stream.read_bytes())
    assert check_file(stream).runs is not None
    realtime = tmp_path / "rt.jsonl"
    realtime.write_bytes(lead + b'{"type": "session.created", "event_id": "e1", "session": {}}\n')
    assert check_file(realtime).runs is None
