"""The soak runner's pure parts: a session result as a stats record, shapes split over workers,
the shard document, live figures combined from shards, and the live view's plain lines."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from realtime_harness.probe.options import ProbeOptions
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import ErrorInfo, Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.session import ProbeHandshake, ResponseResult, SessionResult
from realtime_harness.protocol.stats import Histogram, RunStats
from realtime_harness.soak.live import figures_line, live_view
from realtime_harness.soak.runner import LiveFigures, SoakOptions, session_record
from realtime_harness.soak.shape import LoadShape, build_shape
from realtime_harness.soak.worker import combine_figures, load_shard_spec, shard_spec, split_shape
from realtime_harness.target import AuthMode, Target, Variant


def result(*failures: Failure, outcome: Outcome = Outcome.CLEAN) -> SessionResult:
    return SessionResult(
        outcome=outcome,
        dialect=Dialect.GA,
        url="ws://127.0.0.1:1/v1/realtime",
        started_at="2026-11-30T00:00:00.000Z",
        session_id="sess_1",
        timings_ms={"connect": 1.5, "handshake": 3.0, "session_created": 9.0, "total": 900.0},
        responses=[
            ResponseResult(
                response_id="resp_1",
                status="completed",
                timings_ms={"created": 40.0, "first_audio": 300.0, "done": 800.0},
            )
        ],
        failures=list(failures),
        handshake=ProbeHandshake(status=101, client_request_id="req-1"),
    )


def test_a_session_result_becomes_a_record_with_its_phases_ids_and_failures() -> None:
    """Session phases and response phases under the stats' names; failures with every id."""
    failure = Failure(
        kind="response_failed",
        session_id="sess_1",
        response_id="resp_1",
        event_id="event_9",
        error=ErrorInfo(type="server_error", code="x"),
        t=0.5,
    )
    record = session_record(
        result(failure, outcome=Outcome.SERVER_FAILURE), start_s=12.0, duration_s=1.0
    )
    assert record.timings_ms == {"connect": 1.5, "handshake": 3.0, "session_created": 9.0}
    assert record.responses[0].timings_ms == {"ttfa": 300.0, "response_done": 800.0}
    assert (record.session_id, record.client_request_id, record.outcome) == (
        "sess_1",
        "req-1",
        "server_failure",
    )
    [failed] = record.failures
    assert failed.key == ("response_failed", "server_error", "x")
    assert (failed.response_id, failed.event_id, failed.t_s) == ("resp_1", "event_9", 0.5)
    stats = RunStats()
    stats.add_session(record)
    assert stats.failed == 1
    assert stats.phase("ttfa").count == 1


def test_a_recycled_session_is_clean_without_the_failures_the_cut_caused() -> None:
    """Cut by the runner: its unfinished turn and wait are not failures; real ones stay."""
    cut = Failure(kind="turns_incomplete", session_id="sess_1")
    record = session_record(
        result(cut, outcome=Outcome.SERVER_FAILURE), start_s=0.0, duration_s=1.0, recycled=True
    )
    assert (record.outcome, record.recycled, record.failures) == ("clean", True, ())
    real = Failure(kind="close", session_id="sess_1", close_code=1011)
    kept = session_record(
        result(cut, real, outcome=Outcome.CONNECTION), start_s=0.0, duration_s=1.0, recycled=True
    )
    assert kept.outcome == "connection_failure"
    assert [f.kind for f in kept.failures] == ["close"]


def test_users_are_split_over_workers_as_whole_numbers_that_add_up() -> None:
    """5 users on 2 workers: 3 and 2, at every point of a ramp's end; a rate halves."""
    shape = build_shape(ramp="0->5 over 10s, hold 1m")
    parts = split_shape(shape, 2)
    assert [p.tick(30.0) for p in parts] == [3.0, 2.0]
    assert sum(p.tick(10.0) or 0 for p in parts) == shape.tick(10.0)
    rate = split_shape(build_shape(rate="120/min"), 4)
    assert [p.tick(0.0) for p in rate] == [0.5] * 4


def test_a_shard_document_round_trips_its_target_and_shape(tmp_path: Path) -> None:
    """The worker rebuilds the same options (the credential travels in the document, which
    goes over a pipe, never argv or a file)."""
    target = Target(
        url="wss://res.example/openai/realtime?deployment=d",
        dialect=Dialect.GA,
        variant=Variant.AZURE,
        auth=AuthMode.API_KEY,
        headers={"api-key": "secret-0123456789"},
    )
    shape = LoadShape.constant("concurrency", 3, 60.0)
    options = SoakOptions(
        probe=ProbeOptions(target=target, turns=2, speed=1.0, mock_faults=("drop",)),
        shape=shape,
        out_dir=tmp_path,
        audio=("greeting", "weather"),
        fail_if=("failure_rate>0.01",),
    )
    spec = shard_spec(
        options, shape=shape, max_sessions=7, shard="h-1", out_dir=tmp_path / "1", seed=3
    )
    back = load_shard_spec(spec)
    assert back.probe.target is not None
    assert dict(back.probe.target.headers) == {"api-key": "secret-0123456789"}
    assert back.probe.target.url == target.url
    assert (back.probe.turns, back.probe.mock_faults, back.audio) == (
        2,
        ("drop",),
        ("greeting", "weather"),
    )
    assert (back.shape, back.max_sessions, back.shard, back.fail_if) == (
        shape,
        7,
        "h-1",
        ("failure_rate>0.01",),
    )
    assert back.probe.rng.random() == random.Random(3).random()


def test_live_figures_of_shards_add_counts_and_merge_histograms() -> None:
    """Counts are summed; time to first audio comes from the merged histogram, not averaged."""
    fast, slow = Histogram(), Histogram()
    for _ in range(99):
        fast.record(100.0)
    slow.record(5000.0)
    messages = [
        {
            "figures": {
                "active": 2,
                "completed": 99,
                "failed": 1,
                "elapsed_s": 5.0,
                "failures_by_group": {"close": 1},
                "loop_lag_p99_ms": 2.0,
            },
            "ttfa": fast.encode(),
        },
        {
            "figures": {
                "active": 1,
                "completed": 1,
                "failed": 1,
                "elapsed_s": 6.0,
                "failures_by_group": {"close": 2},
                "loop_lag_p99_ms": 12.0,
            },
            "ttfa": slow.encode(),
        },
    ]
    combined = combine_figures(messages)
    assert (combined.active, combined.completed, combined.failed) == (3, 100, 2)
    assert combined.failures_by_group == {"close": 3}
    assert combined.elapsed_s == 6.0
    assert combined.loop_lag_p99_ms == 12.0
    # 99 of 100 samples at 100 ms (HDR: three significant digits); an average of the shards'
    # p99 would say 2,550 ms.
    assert combined.ttfa_ms["p50"] == pytest.approx(100.0, rel=1e-3)
    assert combined.ttfa_ms["p99"] == pytest.approx(100.0, rel=1e-3)
    assert combine_figures([]).completed == 0


def test_the_plain_view_writes_one_line_of_figures_when_not_a_terminal() -> None:
    """Elapsed, active, completed, failed by group, failure rate, TTFA percentiles, lag."""
    out = io.StringIO()
    figures = LiveFigures(
        elapsed_s=65.0,
        remaining_s=55.0,
        active=4,
        completed=10,
        failed=1,
        failures_by_group={"response_failed server_error": 1},
        ttfa_ms={"p50": 300.0, "p95": 900.0, "p99": 1200.0},
        send_lateness_p99_ms=1.4,
        loop_lag_p99_ms=2.0,
    )
    with live_view(out, every_s=0.0) as show:
        show(figures)
    line = out.getvalue()
    assert line == figures_line(figures) + "\n"
    for part in (
        "elapsed 0:01:05",
        "remaining 0:00:55",
        "active 4",
        "completed 10",
        "failed 1 (10.00 %)",
        "300/900/1,200 ms",
        "response_failed server_error 1",
    ):
        assert part in line


def test_an_endless_shape_survives_the_shard_documents_json(tmp_path: Path) -> None:
    """No --duration: the stage is endless, and JSON has no infinity (orjson writes null);
    the worker reads the document back as the same endless shape."""
    shape = LoadShape.constant("concurrency", 4)
    options = SoakOptions(probe=ProbeOptions(target=None), shape=shape, out_dir=tmp_path)
    spec = shard_spec(
        options, shape=shape, max_sessions=8, shard="h-1", out_dir=tmp_path / "1", seed=3
    )
    back = load_shard_spec(orjson.loads(orjson.dumps(spec)))
    assert back.shape == shape
    assert back.shape.total_s == float("inf")


def test_a_worker_that_meets_a_usage_error_says_it_in_one_line(tmp_path: Path) -> None:
    """What only a worker can find (the parent checks the inputs first) is one ``error:`` line
    and exit 2, not a traceback in every worker's output."""
    shape = LoadShape.constant("concurrency", 1, 5.0)
    options = SoakOptions(
        probe=ProbeOptions(target=None, speed=0.0),
        shape=shape,
        out_dir=tmp_path,
        audio=("/no/such/file.wav",),
    )
    spec = shard_spec(
        options, shape=shape, max_sessions=1, shard="h-1", out_dir=tmp_path / "1", seed=3
    )
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness.soak.worker"],
        input=orjson.dumps(spec) + b"\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: audio file /no/such/file.wav not found")
