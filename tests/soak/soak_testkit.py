"""Helpers for the soak tests: deterministic session records and results directories."""

from __future__ import annotations

from pathlib import Path

from realtime_harness.protocol.stats import (
    FailureRecord,
    HarnessWindow,
    ResponseRecord,
    RunStats,
    SessionRecord,
)
from realtime_harness.soak.results import ResultsWriter

STARTED_AT = 1_790_000_000.0
KEY = "sk-proj-soaktestkey1234567890"


def session(
    i: int,
    *,
    start_s: float | None = None,
    failed: bool = False,
    code: str | None = None,
    ttfa: float | None = None,
) -> SessionRecord:
    """Session ``i``: starts every 10 s, lasts 30 s, one response; a server_error when failed."""
    start = i * 10.0 if start_s is None else start_s
    failures = (
        (
            FailureRecord(
                kind="response_failed",
                error_type="server_error",
                code=code,
                session_id=f"sess_{i}",
                response_id=f"resp_{i}",
                event_id=f"event_{i}",
                t_s=5.0,
            ),
        )
        if failed
        else ()
    )
    return SessionRecord(
        start_s=start,
        duration_s=30.0,
        outcome="server_failure" if failed else "clean",
        session_id=f"sess_{i}",
        client_request_id=f"req_{i}",
        timings_ms={"connect": 10.0 + i % 5, "handshake": 40.0, "session_created": 90.0},
        responses=(
            ResponseRecord(
                response_id=f"resp_{i}",
                status="failed" if failed else "completed",
                at_s=4.0,
                timings_ms={
                    "ttfa": 300.0 + i if ttfa is None else ttfa,
                    "first_transcript": 250.0 + i,
                    "response_done": 1200.0 + i,
                },
            ),
        ),
        failures=failures,
    )


def sessions(n: int, *, fail_every: int = 10) -> list[SessionRecord]:
    """``n`` sessions; every ``fail_every``-th fails with a server_error."""
    return [session(i, failed=i % fail_every == 0) for i in range(n)]


def write_run(
    out: Path,
    records: list[SessionRecord],
    *,
    started_at: float = STARTED_AT,
    finish: bool = True,
    shard: str | None = None,
    fail_if: tuple[str, ...] = ("failure_rate>0.5",),
    harness_windows: int = 2,
) -> RunStats:
    """Write ``records`` (and a few harness windows) as a run into ``out``; return its stats."""
    stats = RunStats(started_at=started_at)
    config = {"url": f"wss://example.test/v1/realtime?api-key={KEY}", "api_key": KEY, "sessions": 5}
    writer = ResultsWriter(out, started_at=started_at, config=config, fail_if=fail_if, shard=shard)
    with writer:
        for record in records:
            stats.add_session(record)
            writer.write_session(record)
        window = HarnessWindow()
        for w in range(harness_windows):
            for k in range(20):
                window.send_lateness(0.5 + k / 10)
            window.loop_lag(1.0 + w)
            sample = window.flush((w + 1) * 60.0)
            stats.add_harness(sample)
            writer.write_harness(sample)
        for record in records:
            for failure in record.failures:
                writer.write_failure(
                    {**failure.to_dict(), "handshake": {"headers": {"api-key": KEY}}}
                )
        if finish:
            writer.finish(stats, stopped_by="duration")
    return stats
