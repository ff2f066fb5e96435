"""The soak statistics collector: histograms, counters, failure groups, buckets, merge, JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from realtime_harness.protocol.stats import (
    MAX_GROUPS,
    FailureRecord,
    HarnessSample,
    HarnessWindow,
    Histogram,
    ResponseRecord,
    RunStats,
    SessionRecord,
)


def record(
    i: int,
    *,
    start_s: float = 0.0,
    outcome: str = "clean",
    failures: tuple[FailureRecord, ...] = (),
    ttfa: float = 300.0,
    at_s: float = 1.0,
    recycled: bool = False,
) -> SessionRecord:
    return SessionRecord(
        start_s=start_s,
        duration_s=20.0,
        outcome=outcome,
        session_id=f"sess_{i}",
        recycled=recycled,
        timings_ms={"connect": 12.0, "handshake": 30.0},
        responses=(ResponseRecord(f"resp_{i}", "completed", at_s, {"ttfa": ttfa}),),
        failures=failures,
    )


def server_error(i: int, *, code: str | None = None, t_s: float = 2.0) -> FailureRecord:
    return FailureRecord(
        kind="response_failed",
        error_type="server_error",
        code=code,
        response_id=f"resp_{i}",
        event_id=f"event_{i}",
        t_s=t_s,
    )


# --- histograms ---
def test_percentiles_are_exact_to_three_significant_digits() -> None:
    hist = Histogram()
    for ms in range(1, 1001):
        hist.record(float(ms))
    summary = hist.summary()
    assert summary.count == 1000
    assert summary.p50 == pytest.approx(500, rel=1e-3)
    assert summary.p99 == pytest.approx(990, rel=1e-3)
    assert summary.max == pytest.approx(1000, rel=1e-3)
    assert summary.mean == pytest.approx(500.5, rel=1e-3)


@pytest.mark.parametrize("digits", [2, 3])
def test_percentiles_and_mean_are_the_librarys_own(digits: int) -> None:
    hist = Histogram(digits)
    for i in range(2000):
        hist.record(0.5 + (i * 7919 % 5000) ** 1.3 / 10)
    wanted = [0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 100.0]
    library = hist._h.get_percentile_to_value_dict(wanted)
    assert hist.percentiles(wanted) == {p: v / 1000 for p, v in library.items()}
    assert hist.mean == pytest.approx(hist._h.get_mean_value() / 1000)


def test_sub_millisecond_values_keep_their_resolution() -> None:
    hist = Histogram()
    hist.record(0.25)
    assert hist.percentile(50) == pytest.approx(0.25, abs=0.001)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, True, "12", None])
def test_values_that_are_not_finite_non_negative_numbers_are_refused(bad: Any) -> None:
    hist = Histogram()
    assert hist.record(bad) is False
    assert hist.count == 0


def test_values_beyond_an_hour_are_clamped_not_dropped() -> None:
    hist = Histogram()
    assert hist.record(10 * 3_600_000.0)
    assert hist.count == 1
    assert hist.max == pytest.approx(3_600_000.0, rel=1e-3)


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert Histogram().summary().p95 is None
    assert Histogram().percentile(99) is None


def test_a_histogram_survives_its_encoding() -> None:
    hist = Histogram()
    for ms in (1.5, 20.0, 300.0, 4000.0):
        hist.record(ms)
    again = Histogram.decode(hist.encode())
    assert again.summary() == hist.summary()


def test_a_string_that_is_not_a_histoblob_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an encoded histogram"):
        Histogram.decode("not base64 at all!")


# --- sessions and counters ---
def test_sessions_are_counted_by_outcome_and_failure_rate_is_failed_over_finished() -> None:
    stats = RunStats()
    for i in range(8):
        stats.add_session(record(i))
    stats.add_session(record(8, outcome="server_failure", failures=(server_error(8),)))
    stats.add_session(record(9, outcome="connection_failure"))
    assert stats.sessions == 10
    assert stats.failed == 2
    assert stats.failure_rate == pytest.approx(0.2)
    assert stats.outcomes == {"clean": 8, "server_failure": 1, "connection_failure": 1}


def test_a_recycled_session_is_counted_but_is_not_a_failure() -> None:
    stats = RunStats()
    stats.add_session(record(1, recycled=True))
    assert (stats.sessions, stats.failed, stats.recycled) == (1, 0, 1)


def test_an_unknown_outcome_counts_as_failed() -> None:
    stats = RunStats()
    stats.add_session(record(1, outcome="unknown"))
    assert stats.failed == 1


def test_session_and_response_timings_feed_their_phases() -> None:
    stats = RunStats()
    stats.add_session(record(1, ttfa=420.0))
    assert stats.phase("connect").count == 1
    assert stats.phase("ttfa").p50 == pytest.approx(420.0, rel=1e-3)
    assert stats.phase("response_done").count == 0
    assert stats.phase_names() == ["connect", "handshake", "ttfa"]


def test_invalid_timings_are_counted_not_recorded() -> None:
    stats = RunStats()
    stats.add_session(
        SessionRecord(start_s=0.0, outcome="clean", timings_ms={"connect": -5.0, "handshake": 1.0})
    )
    assert stats.invalid_values == 1
    assert stats.phase("connect").count == 0


# --- failure groups ---
def test_failures_are_grouped_by_kind_type_and_code_with_example_ids() -> None:
    stats = RunStats()
    stats.add_session(record(1, outcome="server_failure", failures=(server_error(1),)))
    stats.add_session(record(2, outcome="server_failure", failures=(server_error(2),)))
    stats.add_session(
        record(3, outcome="server_failure", failures=(server_error(3, code="rate_limit"),))
    )
    groups = stats.sorted_groups()
    assert [(g.key, g.count) for g in groups] == [
        (("response_failed", "server_error", ""), 2),
        (("response_failed", "server_error", "rate_limit"), 1),
    ]
    first = groups[0].examples[0]
    # The failure had no session id of its own: the session's is filled in.
    assert (first.session_id, first.response_id, first.event_id) == ("sess_1", "resp_1", "event_1")


def test_examples_per_group_are_bounded_but_the_count_is_not() -> None:
    stats = RunStats(max_examples=3)
    for i in range(50):
        stats.add_session(record(i, outcome="server_failure", failures=(server_error(i),)))
    (group,) = stats.groups.values()
    assert group.count == 50
    assert [e.session_id for e in group.examples] == ["sess_0", "sess_1", "sess_2"]


def test_beyond_the_group_limit_new_keys_share_one_overflow_group() -> None:
    stats = RunStats()
    for i in range(MAX_GROUPS + 20):
        stats.add_session(
            record(i, outcome="server_failure", failures=(server_error(i, code=f"c{i}"),))
        )
    assert len(stats.groups) == MAX_GROUPS + 1
    assert stats.failure_count == MAX_GROUPS + 20
    overflow = stats.groups[("other", "(too many groups)", "")]
    assert overflow.count == 20


def test_benign_groups_sort_after_real_ones() -> None:
    stats = RunStats()
    benign = FailureRecord(kind="error_event", code="response_cancel_not_active", benign=True)
    stats.add_session(record(1, failures=(benign, benign, benign)))
    stats.add_session(record(2, outcome="server_failure", failures=(server_error(2),)))
    assert [g.benign for g in stats.sorted_groups()] == [False, True]


# --- time buckets ---
def test_failures_are_bucketed_per_minute_by_when_they_happened() -> None:
    stats = RunStats()
    stats.add_session(
        record(1, start_s=50.0, outcome="server_failure", failures=(server_error(1, t_s=15.0),))
    )
    points = stats.timeline()
    key = ("response_failed", "server_error", "")
    # Started at 50 s, failed 15 s in: minute 1, and the session ended (70 s) in minute 1 too.
    assert [p.failures.get(key, 0) for p in points] == [0, 1]
    assert [p.sessions for p in points] == [0, 1]
    assert points[1].failure_rate == 1.0
    assert points[0].failure_rate is None


def test_latencies_are_bucketed_by_when_the_response_was_asked_for() -> None:
    stats = RunStats()
    stats.add_session(record(1, start_s=10.0, at_s=130.0, ttfa=500.0))
    points = stats.timeline()
    assert [("ttfa" in p.phases) for p in points] == [False, False, True]
    assert points[2].phases["ttfa"].p50 == pytest.approx(500.0, rel=1e-2)


def test_the_timeline_joins_adjacent_buckets_past_max_points() -> None:
    stats = RunStats()
    for minute in range(100):
        stats.add_session(record(minute, start_s=minute * 60.0 + 1.0))
    points = stats.timeline(max_points=10)
    assert len(points) == 10  # 100 one-minute buckets, ten to a point
    assert points[0].span_s == 600.0
    assert sum(p.sessions for p in points) == 100


def test_memory_stays_flat_only_a_few_buckets_keep_live_histograms() -> None:
    stats = RunStats()
    for minute in range(300):
        stats.add_session(record(minute, start_s=minute * 60.0))
    assert len(stats._bucket_hists._live) <= 8
    # A late session reporting into an old bucket is still counted there.
    stats.add_session(record(999, start_s=5 * 60.0 + 1.0, ttfa=9000.0))
    point = stats.timeline(max_points=1000)[5]
    assert point.phases["ttfa"].count == 2
    assert point.phases["ttfa"].max == pytest.approx(9000.0, rel=1e-2)


# --- harness health ---
def test_a_harness_window_hands_back_its_samples_and_starts_afresh() -> None:
    window = HarnessWindow()
    assert window.empty
    for ms in (1.0, 2.0, 3.0):
        window.send_lateness(ms)
    window.loop_lag(4.0)
    sample = window.flush(60.0)
    assert window.empty
    stats = RunStats()
    stats.add_harness(sample)
    assert stats.phase("send_lateness").count == 3
    assert stats.phase("loop_lag").max == pytest.approx(4.0, rel=1e-3)
    assert stats.elapsed_s == 60.0


def test_a_harness_window_refuses_values_that_are_not_durations() -> None:
    window = HarnessWindow()
    for bad in (math.nan, math.inf, -0.5, True, "late"):
        window.send_lateness(bad)  # type: ignore[arg-type]
    assert window.invalid == 5
    assert window.empty


def test_a_harness_window_keeps_microsecond_resolution() -> None:
    window = HarnessWindow()
    for _ in range(3):
        window.send_lateness(0.123)
    stats = RunStats()
    stats.add_harness(window.flush(1.0))
    assert stats.phase("send_lateness").p50 == pytest.approx(0.123, abs=0.0005)
    assert stats.phase("send_lateness").count == 3


@pytest.mark.parametrize(
    ("lateness", "lag", "bottleneck"),
    [(1.0, 2.0, False), (25.0, 2.0, True), (1.0, 40.0, True)],
)
def test_the_harness_is_the_bottleneck_when_a_p99_goes_over_10_ms(
    lateness: float, lag: float, bottleneck: bool
) -> None:
    window = HarnessWindow()
    for _ in range(100):
        window.send_lateness(lateness)
        window.loop_lag(lag)
    stats = RunStats()
    stats.add_harness(window.flush(10.0))
    verdict = stats.harness_verdict()
    assert verdict.bottleneck is bottleneck
    assert ("not trusted" in verdict.reason) is bottleneck


def test_without_harness_samples_the_verdict_says_so() -> None:
    verdict = RunStats().harness_verdict()
    assert not verdict.bottleneck
    assert verdict.reason == "no harness samples recorded"


def test_a_harness_sample_with_a_corrupt_histogram_is_counted_invalid() -> None:
    stats = RunStats()
    stats.add_harness(HarnessSample(at_s=1.0, histograms={"send_lateness": "garbage"}))
    assert stats.invalid_values == 1


# --- merging ---
def _filled(start: int, n: int, *, started_at: float | None = None) -> RunStats:
    stats = RunStats(started_at=started_at)
    for i in range(start, start + n):
        failed = i % 4 == 0
        stats.add_session(
            record(
                i,
                start_s=float(i),
                outcome="server_failure" if failed else "clean",
                failures=(server_error(i),) if failed else (),
                ttfa=100.0 + i,
            )
        )
    return stats


def test_merged_histograms_equal_recording_everything_in_one() -> None:
    whole = _filled(0, 200)
    merged = RunStats.merged([_filled(0, 120), _filled(120, 80)])
    assert merged.phase("ttfa") == whole.phase("ttfa")
    assert (merged.sessions, merged.failed, merged.outcomes) == (
        whole.sessions,
        whole.failed,
        whole.outcomes,
    )
    assert merged.groups[("response_failed", "server_error", "")].count == 50
    assert [p.sessions for p in merged.timeline()] == [p.sessions for p in whole.timeline()]


def test_merged_groups_keep_a_bounded_number_of_examples() -> None:
    merged = RunStats.merged([_filled(0, 100), _filled(100, 100)])
    (group,) = merged.groups.values()
    assert group.count == 50
    assert len(group.examples) == 5


def test_shards_line_up_in_time_by_their_start() -> None:
    early = _filled(0, 1, started_at=1000.0)
    late = _filled(0, 1, started_at=1000.0 + 180.0)
    merged = RunStats.merged([late, early])
    assert merged.started_at == 1000.0
    assert [p.sessions for p in merged.timeline()] == [1, 0, 0, 1]
    late_example = merged.groups[("response_failed", "server_error", "")].examples[1]
    assert late_example.at_s == pytest.approx(182.0)


def test_shards_with_different_bucket_widths_do_not_merge() -> None:
    with pytest.raises(ValueError, match="10 s buckets"):
        RunStats().merge(RunStats(bucket_s=10.0))


def test_merging_nothing_gives_empty_stats() -> None:
    assert RunStats.merged([]).sessions == 0


# --- serialisation ---
def test_the_stats_survive_json() -> None:
    stats = _filled(0, 150, started_at=1234.5)
    window = HarnessWindow()
    window.send_lateness(2.0)
    stats.add_harness(window.flush(30.0))
    text = json.dumps(stats.to_dict())
    again = RunStats.from_dict(json.loads(text))
    assert again.to_dict() == stats.to_dict()
    assert again.phase("ttfa") == stats.phase("ttfa")
    assert again.timeline() == stats.timeline()


@pytest.mark.parametrize("bad", [None, [], {"format": "other"}, "text"])
def test_a_document_that_is_not_stats_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="not a"):
        RunStats.from_dict(bad)


def test_junk_fields_in_a_stats_document_are_ignored() -> None:
    data = _filled(0, 10).to_dict()
    data["sessions"] = "ten"
    data["outcomes"] = {"clean": "x", "server_failure": 3}
    data["groups"].append("junk")
    data["buckets"].append({"i": "x"})
    data["buckets"].append({"i": 2, "failures": [[99, 1], "x"], "histograms": []})
    again = RunStats.from_dict(data)
    assert again.sessions == 0
    assert again.outcomes == {"clean": 0, "server_failure": 3}


def test_session_records_survive_their_dict_form() -> None:
    original = record(7, start_s=12.5, outcome="server_failure", failures=(server_error(7),))
    assert SessionRecord.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_a_session_record_with_junk_in_every_field_still_parses() -> None:
    parsed = SessionRecord.from_dict(
        {
            "start_s": "soon",
            "outcome": 3,
            "duration_s": math.nan,
            "session_id": ["x"],
            "timings_ms": {"connect": "fast", "handshake": 4},
            "responses": [None, {"timings_ms": []}],
            "failures": "many",
        }
    )
    assert parsed.start_s == 0.0
    assert parsed.outcome == "unknown"
    assert parsed.duration_s is None
    assert dict(parsed.timings_ms) == {"handshake": 4.0}
    assert len(parsed.responses) == 1
    assert parsed.failures == ()


@pytest.mark.parametrize("digits", [2, 3])
def test_a_histogram_fills_the_same_slots_as_hdrh_record_value(digits: int) -> None:
    """The inlined recording puts every value in hdrh's own slot, with the same totals."""
    import random

    from hdrh.histogram import HdrHistogram

    from realtime_harness.protocol import stats

    rng = random.Random(7)
    ours = stats.Histogram(digits)
    reference = HdrHistogram(stats._LOWEST, stats._HIGHEST, digits)
    for i in range(20_000):
        ms = rng.choice([0.0, 1e-9, rng.random(), rng.random() * 1e3, rng.random() * 1e6, 1e9])
        count = 1 + i % 3
        assert ours.record(ms, count)
        reference.record_value(min(round(ms * stats._UNIT_PER_MS), stats._HIGHEST), count)
    assert list(ours._h.counts) == list(reference.counts)
    assert (ours._h.total_count, ours._h.min_value, ours._h.max_value) == (
        reference.total_count,
        reference.min_value,
        reference.max_value,
    )
