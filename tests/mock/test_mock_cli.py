"""``realtime-harness mock-server``: URL first, one line per session, clean stop, usage errors."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from mock_testkit import Client, open_client
from typer.testing import CliRunner

from realtime_harness.cli import app


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the CLI server and read the URL from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_harness", "mock-server", "--speed", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def one_session(url: str) -> str:
    async with open_client(url) as ws:
        created = await Client(ws).recv()
    return str(created["session"]["id"])  # type: ignore[index]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_prints_the_url_first_logs_sessions_and_stops_cleanly(signum: int) -> None:
    """The URL is line one, each session gets a log line, and SIGINT/SIGTERM exit 0."""
    proc, url = start("--seed", "3")
    try:
        assert url.startswith("ws://127.0.0.1:")
        session_id = asyncio.run(one_session(url))
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"session {session_id} dialect=ga path=/v1/realtime")
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_cli_stop_after_ends_the_server() -> None:
    """--stop-after S stops the server by itself with exit 0."""
    proc, url = start("--stop-after", "0.3")
    try:
        assert url.startswith("ws://")
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "explode"], "bad fault spec 'explode': unknown kind"),
        (["--fault", "drop:rate=9"], "rate must be between 0 and 1"),
        (["--replay", "/nonexistent/trace.jsonl"], "replay file /nonexistent/trace.jsonl"),
    ],
)
def test_cli_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    """A bad --fault SPEC or a missing --replay file is one error line and exit code 2."""
    result = CliRunner().invoke(app, ["mock-server", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_help_documents_the_fault_spec() -> None:
    """--help explains the SPEC format with an example."""
    result = CliRunner().invoke(app, ["mock-server", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "server_error:rate=0.1,after_deltas=3" in result.output
    assert "--require-key" in result.output
