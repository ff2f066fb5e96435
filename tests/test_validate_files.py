"""``validate`` of whole files: what the input is (empty, truncated, not JSON Lines, a BOM,
stdin, one huge line) is decided before any protocol rule, and every file is checked."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.recording import frame, header
from realtime_harness.testing import TraceBuilder
from realtime_harness.validate import (
    MAX_LINE_BYTES,
    InputState,
    check_file,
    check_stream,
    validate_file,
)

runner = CliRunner()


def clean_lines(dialect: Dialect = Dialect.GA) -> bytes:
    build = TraceBuilder(dialect)
    events = [*build.session_created(), *build.committed(vad=True), *build.response("audio")]
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def write(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_pretty_printed_json_is_a_usage_error_with_a_hint(tmp_path: Path) -> None:
    """A pretty-printed JSON array of events is not JSONL: one error line with a jq hint, exit 2."""
    events = [orjson.loads(line) for line in clean_lines().splitlines()]
    path = write(tmp_path, "pretty.json", orjson.dumps(events, option=orjson.OPT_INDENT_2))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "not JSON Lines" in result.output
    assert "jq -c" in result.output
    assert "bad-line" not in result.output


def test_a_one_line_json_array_is_not_jsonl_either(tmp_path: Path) -> None:
    """``[{…}, {…}]`` on one line gets the same hint (exit 2)."""
    events = [orjson.loads(line) for line in clean_lines().splitlines()]
    path = write(tmp_path, "array.json", orjson.dumps(events) + b"\n")
    check = check_file(path)
    assert check.state is InputState.NOT_JSONL
    assert check.outcome is Outcome.USAGE
    assert "jq -c '.[]'" in check.problem


def test_json_lines_that_are_not_utf8_are_named_so(tmp_path: Path) -> None:
    """A line of JSON with bytes that are not UTF-8 is not "one JSON document to convert with
    jq": the problem named is the encoding (exit 2)."""
    path = write(tmp_path, "latin1.jsonl", b'{"type": "session.created", "x": "caf\xe9"}\n')
    check = check_file(path)
    assert check.state is InputState.NOT_JSONL
    assert "not UTF-8" in check.problem
    assert "jq" not in check.problem


def test_lines_of_json_objects_that_are_not_events_get_the_events_hint(tmp_path: Path) -> None:
    """One JSON object per line, none an event: JSON Lines already, so no conversion hint."""
    check = check_file(write(tmp_path, "objs.jsonl", b'{"a": 1}\n{"b": 2}\n'))
    assert check.state is InputState.NOT_JSONL
    assert "no line is an event" in check.problem


def test_a_pretty_printed_object_gets_the_conversion_hint(tmp_path: Path) -> None:
    """``jq .`` prints an object with ``{`` alone on its first line."""
    check = check_file(write(tmp_path, "one.json", b'{\n  "type": "session.created"\n}\n'))
    assert "jq -c . FILE" in check.problem


def test_binary_input_is_a_usage_error(tmp_path: Path) -> None:
    """Bytes that are not text at all: not JSONL, exit 2, no traceback."""
    path = write(tmp_path, "noise.bin", bytes(range(256)) * 40)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "no line is an event" in result.output


def test_a_bad_line_among_events_is_still_a_violation(tmp_path: Path) -> None:
    """Real JSONL with one broken line is judged, not refused: bad-line, exit 3."""
    body = clean_lines().replace(b"\n", b"\nnot json\n", 1)
    result = runner.invoke(app, ["validate", str(write(tmp_path, "one-bad.jsonl", body))])
    assert result.exit_code == 3
    assert "bad-line" in result.output


@pytest.mark.parametrize("body", [b"", b"\n\n  \n"])
def test_an_empty_file_is_reported_as_empty_not_clean(tmp_path: Path, body: bytes) -> None:
    """0 bytes (or blank lines only): "empty", exit 2; the library report keeps its note."""
    path = write(tmp_path, "empty.jsonl", body)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "empty" in result.output
    assert "clean" not in result.output
    assert validate_file(path).incomplete == ["no server events"]


def test_a_recording_header_alone_is_empty(tmp_path: Path) -> None:
    """A recording with no frames has nothing to validate (exit 2)."""
    line = orjson.dumps(header(started_at="2026-11-25T00:00:00Z", url="ws://x", dialect="ga"))
    result = runner.invoke(app, ["validate", "--json", str(write(tmp_path, "h.jsonl", line))])
    assert result.exit_code == 2
    doc = orjson.loads(result.output)
    assert doc["input"] == "empty"
    assert doc["outcome"] == "usage_error"


def test_a_recording_cut_mid_line_is_truncated_not_clean(tmp_path: Path) -> None:
    """kill -9 mid-write leaves half a line: "truncated", a bad-line violation, exit 3."""
    build = TraceBuilder()
    lines = [header(started_at="2026-11-25T00:00:00Z", url="ws://x", dialect="ga")]
    lines += [frame(0.1 * i, "server", e) for i, e in enumerate(build.session_created())]
    lines += [frame(0.5, "server", e) for e in build.response("text")]
    body = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    cut = body[: body.rindex(b"\n", 0, len(body) - 1) + 40]
    path = write(tmp_path, "cut.jsonl", cut)
    result = runner.invoke(app, ["validate", "--json", str(path)])
    assert result.exit_code == 3
    doc = orjson.loads(result.output)
    assert doc["input"] == "truncated"
    assert doc["violations"][-1]["rule"] == "bad-line"
    human = runner.invoke(app, ["validate", str(path)])
    assert "truncated" in human.output
    assert "clean" not in human.output


def test_a_single_truncated_line_is_truncated(tmp_path: Path) -> None:
    """A file that is only the first half of an event is truncated, not "not JSONL"."""
    path = write(tmp_path, "half.jsonl", clean_lines()[:30])
    assert check_file(path).state is InputState.TRUNCATED


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """Files saved by editors that write a byte order mark validate like the same file without."""
    path = write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf" + clean_lines())
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "clean" in result.output


def test_a_missing_file_does_not_stop_the_others(tmp_path: Path) -> None:
    """Every file is checked; the missing one is one line; the worst exit code wins."""
    good = write(tmp_path, "good.jsonl", clean_lines())
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.jsonl"), str(good)])
    assert result.exit_code == 2
    assert "good.jsonl: clean" in result.output
    assert sum("nope.jsonl" in line for line in result.output.splitlines()) == 1
    broken = write(tmp_path, "broken.jsonl", clean_lines()[:-5] + b"\n")
    result = runner.invoke(app, ["validate", "--json", str(tmp_path / "nope"), str(broken)])
    assert result.exit_code == 3
    docs = [orjson.loads(line) for line in result.output.splitlines()]
    assert [d["outcome"] for d in docs] == ["usage_error", "violation"]


def test_a_directory_is_one_line_usage_error(tmp_path: Path) -> None:
    """A directory instead of a file: exit 2, one line."""
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_dash_reads_standard_input(tmp_path: Path) -> None:
    """``validate -`` reads stdin (as a real subprocess)."""
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "validate", "-"],
        input=clean_lines(Dialect.BETA),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"<stdin>: clean dialect=beta")


class _EndlessLine(io.RawIOBase):
    """A stream holding one line of ``size`` bytes, produced on demand (never held whole)."""

    def __init__(self, size: int, tail: bytes) -> None:
        self.left = size
        self.tail = io.BytesIO(tail)
        self.largest = 0

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> bytes:
        if self.left == 0:
            return self.tail.readline(size)
        n = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= n
        self.largest = max(self.largest, n)
        return b"x" * n if self.left else b"x" * (n - 1) + b"\n"


def test_an_over_long_line_is_a_bad_line_read_in_bounded_pieces() -> None:
    """A line beyond the maximum is a bad-line violation; no read asks for more than the limit."""
    stream = _EndlessLine(50_000_000, clean_lines())
    check = check_stream(stream, "huge", max_line=1_000_000)  # type: ignore[arg-type]
    assert stream.largest <= 1_000_001
    assert [(v.rule, v.line) for v in check.report.violations] == [("bad-line", 1)]
    assert "longer than the maximum of 1000000 bytes" in check.report.violations[0].message
    assert check.outcome is Outcome.VIOLATION
    assert check.state is InputState.OK
    assert check.report.events > 0


def test_a_file_that_is_one_huge_line_is_a_violation(tmp_path: Path) -> None:
    """One over-long line alone is judged (exit 3), not refused as "not JSONL"."""
    stream = _EndlessLine(3_000_000, b"")
    check = check_stream(stream, "huge", max_line=1_000_000)  # type: ignore[arg-type]
    assert check.outcome is Outcome.VIOLATION


def test_the_documented_maximum_line_length() -> None:
    """The documented maximum is far above a real frame (a 15 MiB append is ~20 MB of JSON)."""
    assert MAX_LINE_BYTES == 32 * 1024 * 1024


def test_file_names_that_are_not_utf8_are_printed_escaped(tmp_path: Path) -> None:
    """A file name with bytes that are not UTF-8 is shown escaped, in text and JSON."""
    name = Path(str(tmp_path / "bad") + "\udcff.jsonl")
    name.write_bytes(clean_lines())
    result = runner.invoke(app, ["validate", "--json", str(name)])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["file"].endswith("bad\\udcff.jsonl")


def test_an_event_the_validator_cannot_check_is_a_bad_line_not_a_traceback(tmp_path: Path) -> None:
    """Found by fuzzing: a delta whose ``content_index`` is a list made the validator raise.
    Whatever the validator does with a hostile field, the file gets a verdict (exit 3)."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.response("audio")]
    delta = next(e for e in events if str(e["type"]).endswith("audio.delta"))
    delta["content_index"] = []
    body = b"".join(orjson.dumps(e) + b"\n" for e in events)
    result = runner.invoke(app, ["validate", str(write(tmp_path, "hostile.jsonl", body))])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("direction", [[], {}, ["server"], 1, True, "sideways"])
def test_a_frame_whose_dir_is_no_side_is_a_bad_line_not_a_traceback(
    tmp_path: Path, direction: object
) -> None:
    """A recording frame's ``dir`` of any JSON type other than "server"/"client" (a list made
    the reader raise once) is a bad-line violation on that line; the other lines are checked."""
    odd = orjson.dumps({"dir": direction, "t": 0.5, "event": {"type": "session.created"}})
    body = clean_lines() + odd + b"\n"
    check = check_file(write(tmp_path, "odd-dir.jsonl", body))
    assert check.state is InputState.OK
    assert [(v.rule, v.line) for v in check.report.violations] == [("bad-line", body.count(b"\n"))]
