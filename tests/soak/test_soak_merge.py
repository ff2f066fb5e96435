"""Merging shard directories: histograms added, counters summed, JSONL concatenated safely."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from soak_testkit import STARTED_AT, session, sessions, write_run

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.stats import RunStats
from realtime_harness.soak.merge import merge_dirs
from realtime_harness.soak.results import (
    FAILURES_FILE,
    REPORT_FILE,
    SESSIONS_FILE,
    SUMMARY_FILE,
    SUMMARY_MD_FILE,
    ResultsWriter,
    load_results,
    read_jsonl,
)


def _shards(tmp_path: Path) -> tuple[Path, Path, list[int]]:
    """Two shards of one run: sessions 0..59 and 60..99, started 2 minutes apart."""
    a, b = tmp_path / "shard-0", tmp_path / "shard-1"
    write_run(a, [session(i) for i in range(60)], shard="0")
    write_run(
        b,
        [session(i, failed=True) for i in range(60, 100)],
        shard="1",
        started_at=STARTED_AT + 120.0,
    )
    return a, b, list(range(100))


def test_merged_stats_are_the_sum_of_the_shards(tmp_path: Path) -> None:
    a, b, _ = _shards(tmp_path)
    merged = merge_dirs([a, b], tmp_path / "all")
    one = RunStats(started_at=STARTED_AT)
    for i in range(60):
        one.add_session(session(i))
    for i in range(60, 100):
        # The second shard started 120 s later: its sessions sit 120 s later in the run.
        one.add_session(session(i, failed=True, start_s=i * 10.0 + 120.0))
    assert merged.stats.sessions == 100
    assert merged.stats.failed == 40
    assert merged.stats.phase("ttfa") == one.phase("ttfa")
    assert [p.sessions for p in merged.stats.timeline()] == [p.sessions for p in one.timeline()]
    assert merged.run["shards"] == ["0", "1"]
    assert merged.run["started_at"] == STARTED_AT


def test_the_merged_directory_has_every_file_and_lines_of_every_shard(tmp_path: Path) -> None:
    a, b, _ = _shards(tmp_path)
    out = tmp_path / "all"
    merge_dirs([a, b], out)
    for name in (SESSIONS_FILE, FAILURES_FILE, SUMMARY_FILE, SUMMARY_MD_FILE, REPORT_FILE):
        assert (out / name).exists(), name
    lines = read_jsonl(out / SESSIONS_FILE).records
    assert [line["record"] for line in lines].count("run") == 2
    assert sorted(line["session_id"] for line in lines if line["record"] == "session") == sorted(
        f"sess_{i}" for i in range(100)
    )
    failures = read_jsonl(out / FAILURES_FILE).records
    assert sorted(f["session_id"] for f in failures) == sorted(f"sess_{i}" for i in range(60, 100))
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["totals"]["sessions"] == 100
    assert summary["failed_thresholds"] == []


def test_a_merged_directory_rebuilt_from_its_sessions_alone_gives_the_same_totals(
    tmp_path: Path,
) -> None:
    a, b, _ = _shards(tmp_path)
    out = tmp_path / "all"
    merged = merge_dirs([a, b], out)
    (out / SUMMARY_FILE).unlink()
    rebuilt = load_results(out)
    assert rebuilt.source == "sessions"
    assert rebuilt.stats.sessions == merged.stats.sessions
    assert rebuilt.stats.phase("ttfa") == merged.stats.phase("ttfa")
    assert rebuilt.stats.phase("send_lateness") == merged.stats.phase("send_lateness")
    assert rebuilt.run["shards"] == ["0", "1"]


def test_a_killed_shard_merges_without_its_cut_line(tmp_path: Path) -> None:
    a, b, _ = _shards(tmp_path)
    killed = tmp_path / "killed"
    write_run(killed, sessions(5), finish=False, shard="2")
    with (killed / SESSIONS_FILE).open("ab") as out:
        out.write(b'{"record": "session", "start')
    merged = merge_dirs([killed, a, b], tmp_path / "all")
    assert merged.stats.sessions == 105
    read = read_jsonl(tmp_path / "all" / SESSIONS_FILE)
    assert (read.skipped, read.truncated) == (0, False)
    assert any("killed" in note and "cut short" in note for note in merged.notes)


def test_merges_of_merges_add_up(tmp_path: Path) -> None:
    a, b, _ = _shards(tmp_path)
    c = tmp_path / "shard-2"
    write_run(c, sessions(10), shard="2")
    first = merge_dirs([a, b], tmp_path / "ab")
    both = merge_dirs([tmp_path / "ab", c], tmp_path / "abc")
    assert both.stats.sessions == first.stats.sessions + 10
    assert both.run["shards"] == ["0", "1", "2"]


@pytest.mark.parametrize("case", ["none", "missing", "self", "exists", "twice", "copy"])
def test_bad_merges_are_usage_errors(tmp_path: Path, case: str) -> None:
    a, b, _ = _shards(tmp_path)
    if case in ("twice", "copy"):
        # merging adds counts: a source given twice would count its sessions twice
        other = a
        if case == "copy":
            other = tmp_path / "copy-of-shard-0"
            shutil.copytree(a, other)
        sources, out, fragment = [a, b, other], tmp_path / "o", "hold the same results"
    elif case == "none":
        sources, out, fragment = [], tmp_path / "o", "at least one"
    elif case == "missing":
        sources, out, fragment = [a, tmp_path / "nope"], tmp_path / "o", "is not a directory"
    elif case == "self":
        sources, out, fragment = [a, b], a, "also one of the inputs"
    else:
        sources, out, fragment = [a], b, "already holds soak results"
    with pytest.raises(UsageError, match=fragment):
        merge_dirs(sources, out)


def test_shards_with_different_time_buckets_do_not_merge(tmp_path: Path) -> None:
    a, _, _ = _shards(tmp_path)
    odd = tmp_path / "odd"
    with ResultsWriter(odd, started_at=STARTED_AT, bucket_s=10.0) as writer:
        writer.finish(RunStats(started_at=STARTED_AT, bucket_s=10.0))
    with pytest.raises(UsageError, match="different time buckets"):
        merge_dirs([a, odd], tmp_path / "o")


def test_differing_configurations_are_noted(tmp_path: Path) -> None:
    a, _, _ = _shards(tmp_path)
    other = tmp_path / "other"
    with ResultsWriter(other, started_at=STARTED_AT, config={"sessions": 99}) as writer:
        writer.finish(RunStats(started_at=STARTED_AT))
    merged = merge_dirs([a, other], tmp_path / "o")
    assert "the shards' configurations differ; the first one is shown" in merged.notes
