"""``realtime-harness probe`` as a user runs it (a subprocess): the embedded default, exit codes,
one-line errors without tracebacks, and a sentinel key that never appears in anything written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from realtime_harness.mock import Latency, MockServer
from realtime_harness.target import ENV_VARS

SENTINEL = "sk-SENTINEL-cli-7f3a9c1e5b2d"


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with no target configured unless ``env`` adds one."""
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "realtime_harness", "probe", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_no_target_probes_the_embedded_mock(tmp_path: Path) -> None:
    """With nothing configured, probe starts the mock, says so in one line, and exits 0."""
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "embedded mock" in done.stderr
    assert "Traceback" not in done.stderr
    assert "verdict: clean" in done.stdout
    assert "sess_" in done.stdout


def test_json_output_has_the_documented_keys(tmp_path: Path) -> None:
    """--json prints one JSON document with exactly the documented keys (beta dialect too):
    those of every version, then what schema_version 1 added (docs/json.md)."""
    done = run_cli("--json", "--dialect", "beta", "--text", "Hello?", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = orjson.loads(done.stdout)
    assert list(doc) == [
        "schema_version",
        "outcome",
        "dialect",
        "session_id",
        "attempts",
        "responses",
        "failures",
        "violations",
        "timings_ms",
        "handshake",
        "real_time_factor",
        "sessions",
    ]
    assert doc["schema_version"] == 1
    assert doc["dialect"] == "beta"
    assert doc["responses"][0]["status"] == "completed"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--url", "ftp://example.com/x"], 2, "ws:// or wss://"),
        (["--audio", "no-such-sample"], 2, "no-such-sample"),
        (["--audio", "missing-file.wav"], 2, "missing-file.wav"),
        (
            ["--endpoint", "https://r.openai.azure.com", "--deployment", "d"],
            2,
            "AZURE_OPENAI_API_KEY",
        ),
        (["--mock-fault", "bogus"], 2, "bogus"),
        (["--mock-fault", "duplicate"], 3, "event-id-unique"),
        (["--mock-fault", "stall", "--timeout", "0.5"], 4, "timeout"),
        (["--mock-fault", "server_error"], 1, "server_error"),
    ],
    ids=[
        "bad-url",
        "unknown-sample",
        "missing-file",
        "no-key",
        "bad-fault",
        "violation",
        "stall",
        "server-error",
    ],
)
def test_exit_codes_and_one_line_errors(
    tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    """Each mistake or failure exits with its documented code, names the problem, no traceback."""
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert needle in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if code == 2:
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1


def test_refused_connection_is_exit_4_in_one_line(tmp_path: Path) -> None:
    """Nothing listening on the URL: exit 4 and a line saying the connection was refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli("--url", f"ws://127.0.0.1:{port}/v1/realtime", cwd=tmp_path)
    assert done.returncode == 4
    assert "refused" in done.stderr
    assert "Traceback" not in done.stderr


def test_sentinel_key_never_appears_in_anything_written(tmp_path: Path) -> None:
    """A session with a sentinel key (header and query string), debug logs, a failure, a
    recording, a failures log and saved audio: the key is nowhere in what was written."""
    mock = MockServer(latency=Latency.fast(), faults=["server_error:count=1"])
    with mock.run_in_thread() as server:
        port = server.url.rsplit(":", 1)[1]
        header_run = run_cli(
            "--url",
            f"ws://127.0.0.1:{port}/openai/v1/realtime?model=gpt-realtime",
            "-vv",
            "--record",
            str(tmp_path / "rec.jsonl"),
            "--failures-log",
            str(tmp_path / "failures.jsonl"),
            "--save-audio",
            str(tmp_path / "audio"),
            "--retries",
            "1",
            "--speed",
            "0",
            cwd=tmp_path,
            env={"AZURE_OPENAI_API_KEY": SENTINEL},
        )
        query_run = run_cli(
            "--url",
            f"ws://127.0.0.1:{port}/openai/v1/realtime?model=gpt-realtime&api-key={SENTINEL}",
            "--json",
            "--speed",
            "0",
            cwd=tmp_path,
        )
    assert header_run.returncode == 0, header_run.stderr
    assert "transient: passed on attempt 2 of 2" in header_run.stdout
    assert query_run.returncode == 0, query_run.stderr
    written = [header_run.stdout, header_run.stderr, query_run.stdout, query_run.stderr]
    written += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert (tmp_path / "failures.jsonl").read_text().strip()
    for text in written:
        assert SENTINEL not in text


def test_recording_from_the_cli_validates_clean(tmp_path: Path) -> None:
    """probe --record FILE, then validate FILE: exit 0."""
    path = tmp_path / "rec.jsonl"
    done = run_cli("--record", str(path), cwd=tmp_path)
    assert done.returncode == 0
    checked = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ctrl_c_prints_what_was_seen_and_exits_130(tmp_path: Path) -> None:
    """SIGINT mid-session: the session id and last events on stderr, exit 130, no traceback."""
    import signal
    import time

    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_harness", "probe", "--audio", "long", "--speed", "1"],
        cwd=tmp_path,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)  # the mock starts and the 25 s sample is streaming at real time
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "interrupted: session sess_" in err
    assert "audio sent" in err
    assert "last events:" in err
    assert "session.created" in err
    assert "error: interrupted" not in err
    assert "Traceback" not in err


def test_a_failure_prints_once_as_its_block(tmp_path: Path) -> None:
    """One block with the ids (no None, no Python dict); the log line only with -v."""
    done = run_cli("--text", "Hi", "--mock-fault", "server_error", cwd=tmp_path)
    assert done.returncode == 1
    both = done.stdout + done.stderr
    assert both.count("✗ response_failed") == 1
    assert "status_details=" not in both
    assert "=None" not in both
    assert "ERROR realtime_harness" not in done.stderr
    verbose = run_cli("--text", "Hi", "--mock-fault", "server_error", "-v", cwd=tmp_path)
    assert verbose.stderr.count("ERROR realtime_harness.probe: probe failure response_failed") == 1
