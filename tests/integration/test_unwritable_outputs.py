"""Outputs that cannot be written: refused before anything starts where that can be known, and
one ERROR line (never a traceback, never a silently short file) when a write fails mid-run."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from test_probe_cli import run_cli
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.mock.faults import FaultRecord
from realtime_harness.mock.ledger import Ledger

FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")


@needs_dev_full
def test_a_recording_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """--record on a full disk: the session still runs, one ERROR line names the file, the
    verdict stays visible, and the exit code says an asked-for output is missing."""
    done = run_cli("--record", str(FULL), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot write --record /dev/full" in done.stderr
    doc = orjson.loads(done.stdout)
    assert doc["outcome"] == "clean"
    assert doc["session_id"].startswith("sess_")


def test_a_recording_under_a_file_is_refused_before_connecting(tmp_path: Path) -> None:
    """A --record path whose directory is a file: exit 2 before any session starts."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    done = run_cli("--record", str(blocker / "rec.jsonl"), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "cannot write --record" in done.stderr
    assert "sess_" not in done.stdout


def test_save_audio_naming_a_file_says_it_takes_a_directory(tmp_path: Path) -> None:
    """--save-audio takes a directory: naming an existing file is one line saying so, exit 2,
    before any session starts, and the file is left as it was."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    done = run_cli("--save-audio", str(blocker), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"cannot write --save-audio {blocker}: it is a file" in done.stderr
    assert "takes a directory" in done.stderr
    assert "sess_" not in done.stdout
    assert blocker.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("kind", ["directory", "under-a-file"])
def test_mock_server_refuses_an_unwritable_ledger_at_start(tmp_path: Path, kind: str) -> None:
    """mock-server --ledger pointing at a directory or under a file: one line, exit 2."""
    if kind == "directory":
        target = tmp_path
    else:
        (tmp_path / "file").write_text("x", encoding="utf-8")
        target = tmp_path / "file" / "ledger.jsonl"
    result = CliRunner().invoke(app, ["mock-server", "--ledger", str(target)])
    assert result.exit_code == 2
    assert "cannot write --ledger" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_ledger_whose_file_breaks_mid_run_keeps_counting_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A ledger file that stops being writable: one ERROR line, the records stay in memory."""
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    record = FaultRecord(kind="server_error", session_id="sess_1", t=0.0)
    ledger.add(record)
    path.unlink()
    path.mkdir()  # opening it for append now fails
    ledger.add(record)
    ledger.add(record)
    assert len(ledger) == 3
    assert ledger.write_error is not None
    assert "cannot append to the ledger" in caplog.text
    assert caplog.text.count("cannot append") == 1
    assert not os.listdir(path)
