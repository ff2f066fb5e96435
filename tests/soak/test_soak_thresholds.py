"""``--fail-if`` thresholds: parsing, evaluation against the stats, and the errors users see."""

from __future__ import annotations

import pytest
from soak_testkit import sessions

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.stats import RunStats
from realtime_harness.soak.thresholds import (
    Threshold,
    evaluate,
    metric_names,
    parse_threshold,
    parse_thresholds,
)


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("failure_rate>0.01", "failure_rate", ">", 0.01),
        ("failure_rate >= 1%", "failure_rate", ">=", 0.01),
        ("ttfa_p95>1500ms", "ttfa_p95", ">", 1500.0),
        ("ttfa_p95>1.5s", "ttfa_p95", ">", 1500.0),
        ("response_done_max>20000", "response_done_max", ">", 20000.0),
        ("sessions<100", "sessions", "<", 100.0),
        ("failures>=3", "failures", ">=", 3.0),
        ("send_lateness_p99>10ms", "send_lateness_p99", ">", 10.0),
        ("TTFA_P50<=800MS", "ttfa_p50", "<=", 800.0),
    ],
)
def test_expressions_parse_with_their_units(text: str, metric: str, op: str, value: float) -> None:
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.op) == (metric, op)
    assert threshold.value == pytest.approx(value)
    assert threshold.expression == text.strip()


def test_an_unknown_metric_is_one_line_listing_the_valid_names() -> None:
    with pytest.raises(UsageError) as info:
        parse_threshold("ttfb_p95>1s")
    message = str(info.value)
    assert "unknown metric 'ttfb_p95'" in message
    assert "failure_rate, failures, sessions" in message
    assert "ttfa" in message
    assert "p50|p90|p95|p99|max" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("failure_rate", "expected <metric><op><value>"),
        ("failure_rate=0.1", "expected <metric><op><value>"),
        ("failure_rate>lots", "'lots' is not a number"),
        ("failure_rate>5ms", "fraction (0.01) or a percentage"),
        ("sessions>5%", "a count, without unit"),
        ("ttfa_p95>5%", "a latency in ms or s"),
    ],
)
def test_malformed_expressions_say_what_was_expected(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_threshold(text)
    assert fragment in str(info.value)


def test_every_phase_has_percentile_and_max_metrics() -> None:
    names = metric_names()
    assert {"ttfa_p99", "connect_max", "loop_lag_p50", "first_transcript_p90"} <= set(names)


def _stats() -> RunStats:
    stats = RunStats()
    for record in sessions(100, fail_every=20):  # 5 failed, ttfa 300..399 ms
        stats.add_session(record)
    return stats


def test_thresholds_report_which_crossed_with_the_measured_value() -> None:
    results = evaluate(
        parse_thresholds(
            [
                "failure_rate>0.01",
                "failure_rate>10%",
                "ttfa_p95>350ms",
                "ttfa_max>1s",
                "sessions<50",
            ]
        ),
        _stats(),
    )
    assert [r.crossed for r in results] == [True, False, True, False, False]
    assert results[0].actual == pytest.approx(0.05)
    assert results[2].actual == pytest.approx(395, rel=1e-2)
    assert results[0].summary == "failure_rate>0.01: 0.05 (crossed)"


def test_a_boundary_value_crosses_only_an_inclusive_operator() -> None:
    stats = _stats()
    assert [
        r.crossed for r in evaluate(parse_thresholds(["failures>5", "failures>=5"]), stats)
    ] == [
        False,
        True,
    ]


def test_a_latency_threshold_with_no_samples_counts_as_crossed() -> None:
    (result,) = evaluate(parse_thresholds(["first_transcript_p95>10s"]), RunStats())
    assert result.actual is None
    assert result.crossed
    assert "no samples" in result.summary


def test_a_failure_rate_with_no_finished_session_counts_as_crossed() -> None:
    (result,) = evaluate([Threshold("failure_rate>0.5", "failure_rate", ">", 0.5)], RunStats())
    assert result.crossed


def test_results_have_a_json_form() -> None:
    (result,) = evaluate(parse_thresholds(["sessions<10"]), _stats())
    assert result.to_dict() == {
        "expression": "sessions<10",
        "metric": "sessions",
        "op": "<",
        "value": 10.0,
        "actual": 100.0,
        "crossed": False,
    }
