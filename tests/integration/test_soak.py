"""A soak against the mock loses nothing: every fault the mock injected is in ``failures.jsonl``
with its session and response ids and classified as the kind injected, and nothing else is; a
soak killed with SIGKILL still reports every session it finished."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from realtime_harness.mock import MockServer
from realtime_harness.mock.config import Latency
from realtime_harness.probe.mock import mock_target
from realtime_harness.probe.options import ProbeOptions
from realtime_harness.soak.results import load_results
from realtime_harness.soak.runner import SoakOptions, run_soak
from realtime_harness.soak.shape import build_shape
from realtime_harness.soak.worker import run_workers
from realtime_harness.target import ENV_VARS

#: Each kind at a known rate; different ``after_deltas`` so two faults never race for one frame.
FAULTS = (
    "server_error:rate=0.15,after_deltas=2",
    "rate_limit:rate=0.1,after_deltas=3",
    "error_event:rate=0.1,after_deltas=1",
    "drop:rate=0.08,after_deltas=4",
    "close:rate=0.08,after_deltas=5",
    "stall:rate=0.08,after_deltas=6",
    "expire:rate=0.15,delay=0.02",
)
#: The mock streams a response in a few tens of milliseconds: sessions last a fraction of a second.
LATENCY = Latency(response_s=0.005, first_delta_s=0.005, speed=20.0, rate_limits_after_s=0.0)


def injected_kind(failure: Mapping[str, Any]) -> str:
    """The fault kind a client-side failure record shows (the mapping a reader of
    ``failures.jsonl`` uses)."""
    kind = failure.get("kind")
    error = failure.get("error") or {}
    if kind == "response_failed":
        return "rate_limit" if error.get("code") == "rate_limit_exceeded" else "server_error"
    if kind == "error_event":
        return "expire" if error.get("code") == "session_expired" else "error_event"
    if kind == "close":
        return "drop" if failure.get("close_code") == 1006 else "close"
    if kind == "timeout":
        return "stall"
    return f"unexpected:{kind}"


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def match(ledger: list[Any], failures: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """Pair each injected fault with one failure record of its kind and session (and of its
    response when the fault names one; else of its event id); return what stayed unpaired."""
    left = list(failures)
    missed = []
    for fault in ledger:
        for failure in left:
            if (
                injected_kind(failure) == fault.kind
                and failure.get("session_id") == fault.session_id
                and (
                    failure.get("response_id") == fault.response_id
                    if fault.response_id is not None
                    else failure.get("event_id") == fault.event_id
                )
            ):
                left.remove(failure)
                break
        else:
            missed.append(fault)
    return missed, left


async def soak_against_ledger(
    tmp_path: Path, workers: int, engine: str = "local", library: str = "websockets"
) -> tuple[list[Any], Path]:
    out = tmp_path / "soak"
    async with MockServer(faults=FAULTS, latency=LATENCY, seed=11) as server:
        options = SoakOptions(
            probe=ProbeOptions(
                target=mock_target(server),
                speed=0.0,
                timeout=0.4,
                rng=random.Random(5),
                ws_library=library,
            ),
            shape=build_shape(sessions=6, duration="2s"),
            out_dir=out,
            think_s=0.0,
            harness_window_s=0.5,
        )
        if engine == "ray":
            from realtime_harness.soak.ray_engine import run_ray

            local = {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False}
            await run_ray(options, workers, init_kwargs=local)
        elif workers == 1:
            await run_soak(options)
        else:
            await run_workers(options, workers)
        ledger = server.ledger
    return ledger, out


_PICOWS = pytest.mark.skipif(
    importlib.util.find_spec("picows") is None, reason="picows (the speed extra) is not installed"
)


@pytest.mark.parametrize(
    ("workers", "engine", "library"),
    [
        (1, "local", "websockets"),
        pytest.param(1, "local", "picows", marks=_PICOWS),
        (2, "local", "websockets"),
        pytest.param(2, "local", "picows", marks=_PICOWS),
        pytest.param(
            2,
            "ray",
            "websockets",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("ray") is None, reason="ray is not installed"
            ),
        ),
    ],
)
@pytest.mark.asyncio
async def test_failures_jsonl_holds_exactly_the_faults_in_the_mocks_ledger(
    tmp_path: Path, workers: int, engine: str, library: str
) -> None:
    """Matched by kind, session id and response id: none missed, none invented (in one
    process, in two worker processes, and in two Ray actors on a local Ray instance), over
    either WebSocket library."""
    ledger, out = await soak_against_ledger(tmp_path, workers, engine, library)
    records = read_lines(out / "failures.jsonl")
    causes = [f for f in records if "consequence_of" not in f]
    consequences = [f for f in records if "consequence_of" in f]
    assert {r.kind for r in ledger} >= {"server_error", "rate_limit", "error_event", "expire"}
    missed, invented = match(ledger, causes)
    assert missed == []
    assert invented == []
    # A close announced by a fatal error is written too, and names the error it ends.
    cause_ids = {(f["session_id"], f["event_id"]) for f in causes}
    for close in consequences:
        assert close["kind"] == "close"
        assert (close["session_id"], close["consequence_of"]["event_id"]) in cause_ids
    results = load_results(out)
    assert results.stats.sessions >= 20
    assert results.stats.failure_count == len(records)
    for failure in records:  # the probe's failure record: every id, the handshake, the close
        assert failure["handshake"]["status"] == 101
        assert "connection_close" in failure
    if workers > 1:
        prefix = "ray" if engine == "ray" else "shard"
        assert sorted(results.run["shards"]) == [f"{prefix}-1", f"{prefix}-2"]


@pytest.mark.asyncio
async def test_sessions_are_recycled_before_the_servers_maximum_length(tmp_path: Path) -> None:
    """A session older than the recycle age is ended by the runner: counted, not failed."""
    async with MockServer(latency=LATENCY, max_session_s=5.0) as server:
        options = SoakOptions(
            probe=ProbeOptions(target=mock_target(server), speed=1.0, timeout=2.0, turns=3),
            shape=build_shape(sessions=2, duration="0.5s"),
            out_dir=tmp_path / "soak",
            recycle_s=0.3,
        )
        outcome = await run_soak(options)
    stats = outcome.results.stats
    assert stats.sessions == stats.recycled >= 2
    assert stats.failed == 0
    assert (tmp_path / "soak" / "failures.jsonl").read_text() == ""


@pytest.mark.asyncio
async def test_max_sessions_stops_starting_sessions_and_drains(tmp_path: Path) -> None:
    """--max-sessions N: exactly N sessions run, the run says why it stopped."""
    async with MockServer(latency=Latency.fast()) as server:
        options = SoakOptions(
            probe=ProbeOptions(target=mock_target(server), speed=0.0),
            shape=build_shape(sessions=3, duration="30s"),
            out_dir=tmp_path / "soak",
            max_sessions=7,
            think_s=0.0,
        )
        outcome = await run_soak(options)
    assert outcome.stopped_by == "max_sessions"
    assert outcome.results.stats.sessions == 7


@pytest.mark.asyncio
async def test_first_stop_drains_and_second_stops_at_once(tmp_path: Path) -> None:
    """The first stop lets running sessions finish; a second cancels them; both write results."""
    runners: list[Any] = []
    async with MockServer(latency=LATENCY) as server:
        options = SoakOptions(
            probe=ProbeOptions(target=mock_target(server), speed=1.0, timeout=2.0),
            shape=build_shape(sessions=3, duration="60s"),
            out_dir=tmp_path / "soak",
            think_s=0.0,
        )
        task = asyncio.ensure_future(run_soak(options, on_runner=runners.append))
        await asyncio.sleep(0.3)
        runners[0].stop()
        assert runners[0].draining
        await asyncio.sleep(0.05)
        runners[0].stop()
        outcome = await asyncio.wait_for(task, 10)
    assert outcome.stopped_by == "interrupted twice"
    assert (tmp_path / "soak" / "summary.json").exists()


def _soak_cmd(out: Path, *extra: str) -> list[str]:
    """The soak command against the embedded mock, as fast as it goes, results in ``out``."""
    return [
        sys.executable,
        "-m",
        "realtime_harness",
        "soak",
        "--sessions",
        "4",
        "--speed",
        "0",
        "--mock-speed",
        "0",
        "--think",
        "0.05s",
        "--out",
        str(out),
        *extra,
    ]


def test_report_renders_every_session_a_killed_soak_finished(tmp_path: Path) -> None:
    """SIGKILL mid-run: ``report DIR`` still renders; it counts every session line written."""
    out = tmp_path / "soak"
    cmd = _soak_cmd(
        out, "--duration", "60s", "--mock-fault", "server_error:rate=0.3", "--workers", "1"
    )
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path
    )
    sessions = out / "sessions.jsonl"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if sessions.exists() and sessions.read_text().count('"record":"session"') >= 10:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the soak wrote no sessions")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert not (out / "summary.json").exists()
    written = [
        json.loads(line)
        for line in sessions.read_text().splitlines()
        if line.endswith("}") and '"record":"session"' in line
    ]
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "report", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    html = (out / "report.html").read_text()
    results = load_results(out)
    assert results.stats.sessions == len(written) >= 10
    failed_ids = {r["session_id"] for r in written if r["outcome"] != "clean"}
    for group in results.stats.groups.values():
        for example in group.examples:
            assert example.session_id in failed_ids
            assert str(example.session_id) in html


def test_workers_of_a_killed_soak_drain_and_report_merges_their_shards(tmp_path: Path) -> None:
    """SIGKILL of the parent: each worker sees its pipe close, drains and writes its summary;
    ``report DIR`` merges the shards it finds."""
    out = tmp_path / "soak"
    cmd = _soak_cmd(out, "--duration", "60s", "--workers", "2")
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path
    )
    shards = [out / "shards" / "1", out / "shards" / "2"]
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if all((d / "sessions.jsonl").exists() for d in shards) and all(
                (d / "sessions.jsonl").read_text().count('"record":"session"') >= 5 for d in shards
            ):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the workers wrote no sessions")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 30
    while not all((d / "summary.json").exists() for d in shards):
        assert time.monotonic() < deadline, "a worker went on after its parent died"
        time.sleep(0.05)
    written = sum((d / "sessions.jsonl").read_text().count('"record":"session"') for d in shards)
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "report", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert load_results(out).stats.sessions == written
    assert (out / "report.html").exists()


@pytest.mark.asyncio
@pytest.mark.parametrize("ws_library", ["websockets", "auto"])
async def test_finished_soak_sessions_are_freed_without_the_garbage_collector(
    tmp_path: Path, ws_library: str
) -> None:
    """Every session of a soak, finished or recycled, is freed by reference counting: none
    waits for a full garbage collection with everything it holds (memory stays flat, and no
    full pass grows with the run)."""
    from realtime_harness.protocol.session import ClientSession

    async with MockServer(latency=Latency.fast(), max_session_s=5.0) as server:
        options = SoakOptions(
            probe=ProbeOptions(
                target=mock_target(server), speed=0.0, turns=2, ws_library=ws_library
            ),
            shape=build_shape(sessions=2, duration="30s"),
            out_dir=tmp_path / "soak",
            max_sessions=6,
            think_s=0.0,
        )
        gc.collect()
        gc.disable()
        try:
            outcome = await run_soak(options)
            left = sum(1 for o in gc.get_objects() if type(o) is ClientSession)
        finally:
            gc.enable()
    assert outcome.results.stats.sessions == 6
    assert left == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_workers_end_cleanly_without_a_fatal_error_at_shutdown(tmp_path: Path) -> None:
    """Each worker watches its pipe from the parent in a thread; at the end the workers exit 0
    without the interpreter aborting on that thread (no 'Fatal Python error', no note)."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    done = subprocess.run(
        _soak_cmd(tmp_path / "soak", "--max-sessions", "8", "--workers", "2"),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Fatal Python error" not in done.stderr
    summary = json.loads((tmp_path / "soak" / "summary.json").read_text())
    assert summary["notes"] == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers in /proc")
def test_a_worker_that_dies_is_named_in_the_summary_and_the_report(tmp_path: Path) -> None:
    """SIGKILL of one worker: the run drains the other and its summary, Markdown and report say
    that a worker exited abnormally (sessions it had in flight are lost)."""
    out = tmp_path / "soak"
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    proc = subprocess.Popen(
        _soak_cmd(out, "--duration", "60s", "--workers", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        shard = out / "shards" / "1" / "sessions.jsonl"
        while not (shard.exists() and '"record":"session"' in shard.read_text()):
            assert time.monotonic() < deadline, "the workers wrote no sessions"
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # drain the other worker and merge
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    summary = json.loads((out / "summary.json").read_text())
    [note] = [n for n in summary["notes"] if "exited abnormally" in n]
    assert note.startswith("1 of 2 workers exited abnormally")
    assert "exited abnormally" in (out / "summary.md").read_text()
    assert "exited abnormally" in (out / "report.html").read_text()
