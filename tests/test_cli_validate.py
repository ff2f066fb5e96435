"""``realtime-harness validate``: files in, a line per finding or JSON out, documented exits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.recording import elide_audio, frame, header
from realtime_harness.testing import TraceBuilder
from realtime_harness.validate import validate_file

runner = CliRunner()


def write_jsonl(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def clean_events(dialect: Dialect = Dialect.GA) -> list[dict[str, object]]:
    build = TraceBuilder(dialect)
    return [*build.session_created(), *build.committed(vad=True), *build.response("audio")]


@pytest.mark.parametrize("dialect", list(Dialect))
def test_clean_file_exits_zero(tmp_path: Path, dialect: Dialect) -> None:
    """A clean stream prints one summary line and exits 0."""
    path = write_jsonl(tmp_path / "ok.jsonl", clean_events(dialect))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"clean dialect={dialect.value} session_id=sess_Test0001" in result.output


def test_failure_exits_one_and_names_every_id(tmp_path: Path) -> None:
    """A failed response.done exits 1 and its line names the session, response and event ids."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.failed_response()]
    path = write_jsonl(tmp_path / "failed.jsonl", events)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    done = events[-1]
    line = next(x for x in result.output.splitlines() if "response_failed" in x)
    for needle in ("sess_Test0001", done["response"]["id"], done["event_id"], "server_error"):  # type: ignore[index]
        assert needle in line


def test_bad_lines_are_violations_with_line_numbers(tmp_path: Path) -> None:
    """Non-JSON lines, lines without type and a truncated last line are violations (exit 3)."""
    body = orjson.dumps(clean_events()[0]) + b"\nnot json\n[1, 2]\n\n" + b'{"type": "sess'
    path = tmp_path / "bad.jsonl"
    path.write_bytes(body)
    result = runner.invoke(app, ["validate", "--json", str(path)])
    assert result.exit_code == 3
    report = orjson.loads(result.output)
    assert [(v["rule"], v["line"]) for v in report["violations"]] == [
        ("bad-line", 2),
        ("bad-line", 3),
        ("bad-line", 5),
    ]
    assert "truncated last line" in report["violations"][-1]["message"]


def test_json_output_has_the_documented_keys(tmp_path: Path) -> None:
    """--json prints outcome, dialect, session_id, events, failures and violations per file."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.failed_response()]
    path = write_jsonl(tmp_path / "f.jsonl", events)
    result = runner.invoke(app, ["validate", "--json", str(path)])
    report = orjson.loads(result.output)
    assert {"outcome", "dialect", "session_id", "events", "failures", "violations"} <= set(report)
    assert report["outcome"] == "server_failure"
    assert {"session_id", "response_id", "event_id", "error"} <= set(report["failures"][0])


def test_several_files_exit_with_the_strongest_outcome(tmp_path: Path) -> None:
    """With several files, a violation anywhere wins over a failure elsewhere."""
    build = TraceBuilder()
    failed = write_jsonl(tmp_path / "a.jsonl", [*build.session_created(), *build.failed_response()])
    broken = write_jsonl(tmp_path / "b.jsonl", clean_events()[1:])
    result = runner.invoke(app, ["validate", str(failed), str(broken)])
    assert result.exit_code == 3
    assert "a.jsonl: server_failure" in result.output
    assert "b.jsonl: violation" in result.output


def test_missing_file_is_one_line_usage_error(tmp_path: Path) -> None:
    """A missing file is one error line naming it and the fix, exit 2, no traceback."""
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output
    assert "Traceback" not in result.output


def test_recordings_validate_both_directions(tmp_path: Path) -> None:
    """A project recording (header + frames, audio elided) validates server and client frames."""
    build = TraceBuilder()
    lines = [header(started_at="2026-11-25T00:00:00Z", url="ws://127.0.0.1:1", dialect="ga")]
    lines.append(frame(0.01, "server", build.session_created()[0]))
    append = {"type": "input_audio_buffer.append", "audio": "AAAA" * 1600}
    lines.append(frame(0.02, "client", elide_audio(append)))
    lines.append(frame(0.03, "client", {"type": "input_audio_buffer.commit"}))
    lines += [frame(0.04, "server", e) for e in build.committed()]
    lines.append(frame(0.05, "client", {"type": "response.create"}))
    lines += [frame(0.06, "server", elide_audio(e)) for e in build.response("audio")]
    path = write_jsonl(tmp_path / "rec.jsonl", lines)
    report = validate_file(path)
    assert report.violations == []
    assert report.dialect is Dialect.GA
    # the client frames were checked too: a tiny commit is caught
    lines.insert(2, frame(0.015, "client", {"type": "input_audio_buffer.commit"}))
    report = validate_file(write_jsonl(tmp_path / "rec2.jsonl", lines))
    assert [(v.rule, v.side, v.t) for v in report.violations] == [
        ("client-commit-too-small", "client", 0.015)
    ]


def test_module_entry_point_runs() -> None:
    """``python -m realtime_harness --help`` works."""
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "validate" in done.stdout


class TestNeverCleanWhenSomethingDidNotFinish:
    """A stream cut mid-response broke no rule, but it is not clean: the status word and the
    --json ``verdict`` say ``incomplete``; the exit code stays 0 (docs/validate.md)."""

    @staticmethod
    def cut_events() -> list[dict[str, object]]:
        events = clean_events()
        done = next(i for i, e in enumerate(events) if e["type"] == "response.done")
        return events[:done]

    def test_the_status_word_is_incomplete_and_the_exit_code_0(self, tmp_path: Path) -> None:
        """`cut.jsonl: incomplete …`, then the response that has no response.done."""
        path = write_jsonl(tmp_path / "cut.jsonl", self.cut_events())
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 0, result.output
        first, *rest = result.output.splitlines()
        assert first.startswith(f"{path}: incomplete dialect=ga ")
        assert "clean" not in result.output
        assert any(line.strip().startswith("incomplete: response ") for line in rest)
        assert "has no response.done" in result.output

    def test_json_verdict_is_incomplete_and_outcome_stays_the_exit_class(
        self, tmp_path: Path
    ) -> None:
        """--json: ``verdict`` incomplete; ``outcome`` keeps naming exit 0's class."""
        path = write_jsonl(tmp_path / "cut.jsonl", self.cut_events())
        result = runner.invoke(app, ["validate", "--json", str(path)])
        assert result.exit_code == 0
        doc = orjson.loads(result.output)
        assert doc["verdict"] == "incomplete"
        assert doc["outcome"] == "clean"
        assert doc["incomplete"]

    def test_a_whole_stream_is_clean_in_both_keys(self, tmp_path: Path) -> None:
        """Nothing left open: verdict and outcome are both clean."""
        path = write_jsonl(tmp_path / "ok.jsonl", clean_events())
        doc = orjson.loads(runner.invoke(app, ["validate", "--json", str(path)]).output)
        assert (doc["verdict"], doc["outcome"], doc["incomplete"]) == ("clean", "clean", [])

    def test_a_failure_outranks_incomplete(self, tmp_path: Path) -> None:
        """A failed response and a cut one: server_failure, exit 1, the cut still listed."""
        build = TraceBuilder()
        failed = [*build.session_created(), *build.failed_response()]
        cut = [e for e in build.response("text") if e["type"] != "response.done"]
        path = write_jsonl(tmp_path / "both.jsonl", [*failed, *cut])
        result = runner.invoke(app, ["validate", "--json", str(path)])
        assert result.exit_code == 1, result.output
        doc = orjson.loads(result.output)
        assert (doc["verdict"], doc["outcome"]) == ("server_failure", "server_failure")
        assert doc["incomplete"]


def test_the_summary_of_several_files_says_incomplete_when_one_did_not_finish(
    tmp_path: Path,
) -> None:
    """Two files, one cut mid-response: the closing summary line is not `clean` either."""
    whole = write_jsonl(tmp_path / "a.jsonl", clean_events())
    cut = write_jsonl(
        tmp_path / "b.jsonl", [e for e in clean_events() if e["type"] != "response.done"]
    )
    result = runner.invoke(app, ["validate", str(whole), str(cut)])
    assert result.exit_code == 0, result.output
    last = result.output.splitlines()[-1]
    assert last.startswith("2 files: ")
    assert last.endswith("outcome=incomplete exit=0")
