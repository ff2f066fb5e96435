"""The output directory: appended and flushed records, summaries, secrets, and killed runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from soak_testkit import KEY, STARTED_AT, session, sessions, write_run

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.stats import RunStats
from realtime_harness.soak.results import (
    FAILURES_FILE,
    SESSIONS_FILE,
    SUMMARY_FILE,
    SUMMARY_MD_FILE,
    ResultsWriter,
    load_results,
    read_jsonl,
    redact_config,
)


def test_each_record_is_on_disk_as_soon_as_it_is_written(tmp_path: Path) -> None:
    with ResultsWriter(tmp_path, started_at=STARTED_AT, config={"sessions": 2}) as writer:
        writer.write_session(session(1))
        lines = read_jsonl(tmp_path / SESSIONS_FILE).records
        assert [line["record"] for line in lines] == ["run", "session"]
        assert lines[0]["started_at"] == STARTED_AT
        assert lines[0]["started_at_utc"].endswith("Z")
        assert lines[1]["session_id"] == "sess_1"
        writer.write_failure({"kind": "close", "session_id": "sess_1"})
        assert read_jsonl(tmp_path / FAILURES_FILE).records == [
            {"kind": "close", "session_id": "sess_1"}
        ]


def test_a_directory_with_results_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(3))
    with pytest.raises(UsageError, match="already holds soak results"):
        ResultsWriter(tmp_path, started_at=STARTED_AT)
    with ResultsWriter(tmp_path, started_at=STARTED_AT, overwrite=True):
        pass
    assert not (tmp_path / SUMMARY_FILE).exists()
    assert len(read_jsonl(tmp_path / SESSIONS_FILE).records) == 1


def test_an_unwritable_output_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write there"):
        ResultsWriter(blocker / "out", started_at=STARTED_AT)


def test_secrets_are_never_written_to_any_file(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(20, fail_every=3))
    for path in tmp_path.iterdir():
        text = path.read_text(encoding="utf-8")
        assert KEY not in text, path.name
        assert "soaktestkey" not in text, path.name


def test_the_configuration_is_redacted_by_key_and_by_url() -> None:
    config = {
        "url": "wss://h.example/openai/realtime?api-key=abc123secret&deployment=d",
        "api_key": "plain-looking-value",
        "headers": {"Authorization": "Bearer abcdefghijkl", "X-Trace": "t"},
        "samples": ["weather", "sk-abcdefghijklmnopqrst"],
        "ratio": float("nan"),
        "sessions": 5,
        "empty_token": "",
    }
    redacted = redact_config(config)
    assert redacted["url"] == "wss://h.example/openai/realtime?api-key=***&deployment=d"
    assert redacted["api_key"] == "***"
    assert redacted["headers"] == {"Authorization": "***", "X-Trace": "t"}
    assert redacted["samples"] == ["weather", "sk-***"]
    assert redacted["ratio"] is None
    assert redacted["sessions"] == 5
    assert redacted["empty_token"] == ""


def test_finish_writes_a_summary_that_reads_back_to_the_same_stats(tmp_path: Path) -> None:
    stats = write_run(tmp_path, sessions(50))
    summary = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert summary["totals"] == {
        "sessions": 50,
        "failed": 5,
        "failure_rate": 0.1,
        "failures": 5,
        "recycled": 0,
        "outcomes": {"clean": 45, "server_failure": 5},
    }
    assert summary["latency_ms"]["ttfa"]["count"] == 50
    assert summary["failure_groups"][0]["examples"][0]["session_id"] == "sess_0"
    assert summary["harness"]["bottleneck"] is False
    assert summary["run"]["stopped_by"] == "duration"
    assert summary["failed_thresholds"] == []
    loaded = load_results(tmp_path)
    assert loaded.source == "summary"
    assert not loaded.partial
    assert loaded.stats.to_dict() == stats.to_dict()
    assert loaded.fail_if == ["failure_rate>0.5"]


def test_the_markdown_summary_is_a_short_table_for_a_ticket(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(30), fail_if=("ttfa_p95>10ms",))
    text = (tmp_path / SUMMARY_MD_FILE).read_text()
    assert "| sessions | 30 (failed 3, 10.00 %) |" in text
    assert "| time to first audio p50 / p95 / p99 (ms) |" in text
    assert "| fail-if `ttfa_p95>10ms` |" in text
    assert "**crossed**" in text
    assert "| response_failed server_error | 3 | `sess_0`, `sess_10`, `sess_20` |" in text
    assert len(text.splitlines()) < 30


def test_a_killed_run_is_rebuilt_from_sessions_jsonl_alone(tmp_path: Path) -> None:
    stats = write_run(tmp_path, sessions(40), finish=False)
    with (tmp_path / SESSIONS_FILE).open("ab") as out:
        out.write(b'{"record": "session", "start_s": 1, "outcome": "cle')  # kill -9 mid-write
    loaded = load_results(tmp_path)
    assert loaded.source == "sessions"
    assert loaded.partial
    assert loaded.stats.sessions == 40
    assert loaded.stats.phase("ttfa") == stats.phase("ttfa")
    assert loaded.stats.phase("send_lateness") == stats.phase("send_lateness")
    assert loaded.stats.groups.keys() == stats.groups.keys()
    assert loaded.fail_if == ["failure_rate>0.5"]
    assert loaded.config["api_key"] == "***"
    assert any("cut short" in note for note in loaded.notes)
    assert any("no summary.json" in note for note in loaded.notes)


def test_unreadable_lines_in_the_middle_are_skipped_and_counted(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(5), finish=False)
    with (tmp_path / SESSIONS_FILE).open("ab") as out:
        out.write(b'not json\n[1, 2]\n{"record": "mystery"}\n')
        out.write(b'{"record": "session", "start_s": 3, "outcome": "clean"}\n')
    loaded = load_results(tmp_path)
    assert loaded.stats.sessions == 6
    assert any("3 unreadable lines skipped" in note for note in loaded.notes)


def test_an_unusable_summary_falls_back_to_the_sessions(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(7))
    (tmp_path / SUMMARY_FILE).write_text('{"stats": {"format": "something else"}}')
    loaded = load_results(tmp_path)
    assert loaded.source == "sessions"
    assert loaded.stats.sessions == 7
    assert any("summary.json unusable" in note for note in loaded.notes)


def test_records_before_any_header_are_still_counted(tmp_path: Path) -> None:
    (tmp_path / SESSIONS_FILE).write_text(
        '{"record": "session", "start_s": 0, "outcome": "clean"}\n'
    )
    assert load_results(tmp_path).stats.sessions == 1


def test_a_directory_without_results_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a soak directory"):
        load_results(tmp_path)


def test_an_unusable_summary_without_sessions_says_so(tmp_path: Path) -> None:
    (tmp_path / SUMMARY_FILE).write_text("{")
    with pytest.raises(UsageError, match=r"summary.json unusable .* and no sessions.jsonl"):
        load_results(tmp_path)


def test_reading_a_missing_jsonl_gives_nothing(tmp_path: Path) -> None:
    read = read_jsonl(tmp_path / "absent.jsonl")
    assert (read.records, read.skipped, read.truncated) == ([], 0, False)


def test_bad_threshold_expressions_in_a_file_become_notes(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(3), fail_if=("nonsense>1",), finish=False)
    loaded = load_results(tmp_path)
    assert loaded.thresholds() == []
    assert loaded.thresholds() == []
    assert sum("unknown metric" in note for note in loaded.notes) == 1


def test_an_empty_run_summarises_without_dividing_by_zero(tmp_path: Path) -> None:
    with ResultsWriter(tmp_path, started_at=STARTED_AT) as writer:
        writer.finish(RunStats(started_at=STARTED_AT))
    summary = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert summary["totals"]["failure_rate"] == 0
    assert summary["latency_ms"] == {}
