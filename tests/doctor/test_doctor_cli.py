"""``realtime-harness doctor`` on the command line: the table, ``--json``, ``--failures-log``,
``--repeat`` and the exit codes (0 nothing fails, 1 a check fails, 2 usage, 4 unreachable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from realtime_harness.target import ENV_VARS


def run_doctor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``doctor`` with no target configured unless the arguments name one."""
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    return subprocess.run(
        [sys.executable, "-m", "realtime_harness", "doctor", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_no_target_diagnoses_the_embedded_mock(tmp_path: Path) -> None:
    """Nothing configured: the embedded mock, every check passes or is skipped, exit 0."""
    done = run_doctor(cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "embedded mock" in done.stderr
    assert "FAIL" not in done.stdout
    assert "PASS text-turn" in done.stdout
    assert "exit 0" in done.stdout


def test_a_persistent_server_error_is_named_with_every_attempt(tmp_path: Path) -> None:
    """--repeat 3 against server_error at rate 1: persistent, three attempts' ids, exit 1;
    --json has the documented keys and --failures-log one record per failed session."""
    log = tmp_path / "failures.jsonl"
    done = run_doctor(
        "--mock-fault",
        "server_error:rate=1",
        "--repeat",
        "3",
        "--json",
        "--failures-log",
        str(log),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    doc = orjson.loads(done.stdout)
    assert list(doc) == ["schema_version", "target", "checks", "exit_code"]
    assert doc["exit_code"] == 1
    rows = {c["name"]: c for c in doc["checks"]}
    assert rows["text-turn"]["status"] == "fail"
    assert rows["text-turn"]["cause"] == "server-error-persistent"
    assert "(service)" in rows["text-turn"]["evidence"]
    assert sorted(rows["transient"]["seen"]) == ["attempt-1", "attempt-2", "attempt-3"]
    assert rows["short-audio"]["status"] == "skipped"
    records = [orjson.loads(line) for line in log.read_text().splitlines()]
    assert len(records) >= 3


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """A bad --repeat, a fault for a real target, an unreadable --audio: one line, exit 2."""
    for args in (
        ("--repeat", "0"),
        ("--url", "wss://res.openai.azure.com/openai/v1/realtime?model=m", "--mock-fault", "drop"),
        ("--audio", str(tmp_path / "missing.wav")),
    ):
        done = run_doctor(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr


def test_an_assistants_url_exits_1_without_traffic(tmp_path: Path) -> None:
    """An Assistants route: retired on 2026-08-26, the replacement named, nothing sent."""
    done = run_doctor(
        "--url",
        "wss://res.openai.azure.com/openai/threads/runs?api-version=2024-06-01-preview",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "retired on 2026-08-26" in done.stdout
    assert "SKIP handshake" in done.stdout
