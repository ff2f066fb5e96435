"""The load shape: durations, rates, k6-style ramps, and tick(elapsed) as a pure function."""

from __future__ import annotations

import math

import pytest

from realtime_harness.exceptions import UsageError
from realtime_harness.soak.shape import (
    LoadShape,
    Stage,
    build_shape,
    format_duration,
    parse_duration,
    parse_ramp,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        (" 2H ", 7200.0),
    ],
)
def test_durations_read_like_90s_10m_2h_1h30m(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "", "5x", "1m1m", "m5", "1h-30m", "ten minutes", "1h30"])
def test_a_bad_duration_is_a_one_line_usage_error_naming_the_form(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_duration(text, what="--duration")
    message = str(info.value)
    assert message.startswith("--duration: ")
    assert "90s, 10m, 2h or 1h30m" in message
    assert "\n" not in message


@pytest.mark.parametrize("seconds", [90.0, 600.0, 5400.0, 2.5, 0.0, 3661.0])
def test_formatted_durations_read_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("60/min", 1.0), ("2/s", 2.0), ("3600/h", 1.0), ("30 / minute", 0.5), ("1.5/sec", 1.5)],
)
def test_rates_read_like_60_per_min_or_2_per_s(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["60", "60/day", "/min", "-1/s", "fast"])
def test_a_bad_rate_names_the_expected_form(text: str) -> None:
    with pytest.raises(UsageError, match=r"60/min, 2/s or 3600/h"):
        parse_rate(text, what="--rate")


def test_a_ramp_then_hold_follows_k6_stages() -> None:
    shape = parse_ramp("0->500 over 5m, hold 1h")
    assert shape.kind == "concurrency"
    assert shape.stages == (Stage(300.0, 0.0, 500.0), Stage(3600.0, 500.0, 500.0))
    assert shape.tick(0.0) == 0
    assert shape.tick(150.0) == 250
    assert shape.tick(300.0) == 500
    assert shape.tick(3899.0) == 500
    assert shape.tick(3900.0) is None
    assert shape.total_s == 3900.0
    assert shape.peak == 500.0


def test_the_arrow_may_be_typographic() -> None:
    assert parse_ramp("0→500 over 5m, hold 1h") == parse_ramp("0->500 over 5m, hold 1h")


def test_concurrency_is_a_whole_number_rounded_down_while_ramping() -> None:
    shape = parse_ramp("0->10 over 100s")
    assert [shape.tick(t) for t in (0.0, 9.9, 10.0, 29.0, 30.0, 99.0)] == [0, 0, 1, 2, 3, 9]


def test_a_rate_ramp_ticks_new_sessions_per_second() -> None:
    shape = parse_ramp("0->120/min over 10m, hold 1h")
    assert shape.kind == "rate"
    assert shape.tick(300.0) == pytest.approx(1.0)
    assert shape.tick(1000.0) == pytest.approx(2.0)


def test_steps_and_ramps_from_the_previous_level() -> None:
    shape = parse_ramp("100 for 10m, ->200 over 1m, hold 5m, 50 for 1m")
    assert shape.tick(0.0) == 100
    assert shape.tick(630.0) == 150
    assert shape.tick(700.0) == 200
    assert shape.tick(16 * 60.0 + 1) == 50
    assert shape.tick(17 * 60.0) is None


def test_negative_elapsed_time_is_the_start() -> None:
    assert parse_ramp("5 for 1m").tick(-3.0) == 5


def test_a_described_shape_parses_back_to_itself() -> None:
    for text in ("0->500 over 5m, hold 1h", "0->60/min over 10m, 60/min for 2h", "3 for 90s"):
        shape = parse_ramp(text)
        assert parse_ramp(shape.describe()) == shape


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("hold 1h", "nothing to hold yet"),
        ("0->500 in 5m", "'0->500 in 5m': expected stages like"),
        ("0->500 over 5", "'0->500 over 5': '5' is not a duration"),
        ("0->2.5 over 1m", "not a whole number"),
        ("0->500 over 5m,", "empty stage"),
        ("0->10/min over 1m, 20 for 1m", "mixes numbers of sessions and rates"),
        ("0->lots over 1m", "neither a number of sessions nor a rate"),
        ("", "empty stage"),
    ],
)
def test_a_bad_ramp_names_the_bad_stage_and_the_form(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_ramp(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_a_duration_cuts_a_ramp_or_holds_its_last_level() -> None:
    ramp = parse_ramp("0->100 over 10m")
    cut = ramp.with_duration(300.0)
    assert cut.stages == (Stage(300.0, 0.0, 50.0),)
    held = ramp.with_duration(3600.0)
    assert held.tick(3000.0) == 100
    assert held.tick(3600.0) is None


def test_a_constant_shape_without_a_duration_never_ends() -> None:
    shape = LoadShape.constant("concurrency", 7)
    assert shape.tick(1e9) == 7
    assert math.isinf(shape.total_s)


@pytest.mark.parametrize(
    ("options", "kind", "level", "total"),
    [
        ({"sessions": 20, "duration": "1h"}, "concurrency", 20, 3600.0),
        ({"rate": "30/min", "duration": "10m"}, "rate", 0.5, 600.0),
        ({"ramp": "0->10 over 1m", "duration": "5m"}, "concurrency", 10, 300.0),
        ({}, "concurrency", 1, math.inf),
    ],
)
def test_the_shape_comes_from_sessions_rate_or_ramp_with_a_duration(
    options: dict[str, object], kind: str, level: float, total: float
) -> None:
    shape = build_shape(**options)  # type: ignore[arg-type]
    assert shape.kind == kind
    assert shape.tick(min(total, 1e6) - 1) == pytest.approx(level)
    assert shape.total_s == total


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"sessions": 5, "rate": "1/s"}, "exclude each other"),
        ({"ramp": "0->5 over 1m", "sessions": 5}, "drop --sessions"),
        ({"sessions": 0}, "not a positive number"),
        ({"duration": "0s"}, "longer than 0s"),
        ({"duration": "forever"}, "--duration: 'forever'"),
    ],
)
def test_contradictory_or_bad_options_are_usage_errors(
    options: dict[str, object], fragment: str
) -> None:
    with pytest.raises(UsageError, match=fragment):
        build_shape(**options)  # type: ignore[arg-type]
