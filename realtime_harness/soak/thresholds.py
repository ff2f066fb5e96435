"""Pass/fail thresholds in the style of k6: ``--fail-if "failure_rate>0.01"``.

An expression is ``<metric><op><value>`` with ``op`` one of ``>``, ``>=``, ``<``, ``<=``. The run
fails (exit code 1) when an expression holds. Metrics:

* ``failure_rate``: failed over finished sessions, a fraction (``0.01``) or a percentage (``1%``);
* ``failures``: failed sessions; ``sessions``: finished sessions;
* ``<phase>_<stat>`` with a phase of :data:`~realtime_harness.protocol.stats.PHASES` and a stat of
  ``p50``, ``p90``, ``p95``, ``p99``, ``max``: a latency in ms (``1500``, ``1500ms``, ``1.5s``).
  ``time to first audio`` is ``ttfa``, so ``ttfa_p95>1500ms``.

A latency threshold on a phase with no samples counts as crossed: what was asked to be checked
could not be, and a run must never look clean for it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.stats import PHASES, RunStats

__all__ = [
    "COUNT_METRICS",
    "LATENCY_STATS",
    "Threshold",
    "ThresholdResult",
    "evaluate",
    "metric_names",
    "parse_threshold",
    "parse_thresholds",
]

COUNT_METRICS: tuple[str, ...] = ("failure_rate", "failures", "sessions")
LATENCY_STATS: tuple[str, ...] = ("p50", "p90", "p95", "p99", "max")

_OPS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_EXPR_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=|>|<)\s*(\S+)\s*$")
_VALUE_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|%)?$")


def metric_names() -> list[str]:
    """Every valid metric name."""
    return [*COUNT_METRICS, *(f"{p}_{s}" for p in PHASES for s in LATENCY_STATS)]


def _valid_names_hint() -> str:
    return (
        f"valid metrics: {', '.join(COUNT_METRICS)}, or <phase>_<{'|'.join(LATENCY_STATS)}> "
        f"with phase one of {', '.join(PHASES)}"
    )


@dataclass(frozen=True, slots=True)
class Threshold:
    """One parsed ``--fail-if`` expression (latency values in ms, rates as fractions)."""

    expression: str
    metric: str
    op: str
    value: float

    def crossed_by(self, actual: float) -> bool:
        """Whether ``actual`` makes the expression hold (the run then fails)."""
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """A threshold against the run: the measured value (None: no samples) and the verdict."""

    threshold: Threshold
    actual: float | None
    crossed: bool

    @property
    def summary(self) -> str:
        """``ttfa_p95>1500ms: 1710.2 (crossed)`` and the like."""
        shown = "no samples" if self.actual is None else f"{self.actual:g}"
        verdict = "crossed" if self.crossed else "ok"
        return f"{self.threshold.expression}: {shown} ({verdict})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for ``summary.json``."""
        return {
            "expression": self.threshold.expression,
            "metric": self.threshold.metric,
            "op": self.threshold.op,
            "value": self.threshold.value,
            "actual": self.actual,
            "crossed": self.crossed,
        }


def parse_threshold(text: str) -> Threshold:
    """Parse one expression; UsageError with the expected form or the valid metric names."""
    expression = text.strip()
    match = _EXPR_RE.match(expression.lower())
    if match is None:
        raise UsageError(
            f"--fail-if {expression!r}: expected <metric><op><value> with op one of "
            f">, >=, <, <=, e.g. 'failure_rate>0.01' or 'ttfa_p95>1500ms'"
        )
    metric, op, raw = match.groups()
    if metric not in metric_names():
        raise UsageError(
            f"--fail-if {expression!r}: unknown metric {metric!r}; {_valid_names_hint()}"
        )
    value_match = _VALUE_RE.match(raw)
    if value_match is None:
        raise UsageError(f"--fail-if {expression!r}: {raw!r} is not a number (e.g. 0.01, 1500ms)")
    number, unit = float(value_match.group(1)), value_match.group(2)
    if metric == "failure_rate":
        if unit not in (None, "%"):
            raise UsageError(
                f"--fail-if {expression!r}: failure_rate is a fraction (0.01) or a percentage (1%)"
            )
        value = number / 100 if unit == "%" else number
    elif metric in COUNT_METRICS:
        if unit is not None:
            raise UsageError(f"--fail-if {expression!r}: {metric} is a count, without unit")
        value = number
    else:
        if unit == "%":
            raise UsageError(
                f"--fail-if {expression!r}: {metric} is a latency in ms or s (1500ms, 1.5s)"
            )
        value = number * 1000 if unit == "s" else number
    return Threshold(expression=expression, metric=metric, op=op, value=value)


def parse_thresholds(texts: Iterable[str]) -> list[Threshold]:
    """Parse every ``--fail-if`` given (the first bad one raises)."""
    return [parse_threshold(text) for text in texts]


def _actual(metric: str, stats: RunStats) -> float | None:
    if metric == "failure_rate":
        return stats.failure_rate if stats.sessions else None
    if metric == "failures":
        return float(stats.failed)
    if metric == "sessions":
        return float(stats.sessions)
    phase, _, stat = metric.rpartition("_")
    summary = stats.phase(phase)
    value: float | None = getattr(summary, stat)
    return value


def evaluate(thresholds: Sequence[Threshold], stats: RunStats) -> list[ThresholdResult]:
    """Each threshold against ``stats``; a metric with no samples counts as crossed.

    A failure rate with no finished session has no value either, so it is crossed too.
    """
    results = []
    for threshold in thresholds:
        actual = _actual(threshold.metric, stats)
        crossed = True if actual is None else threshold.crossed_by(actual)
        results.append(ThresholdResult(threshold=threshold, actual=actual, crossed=crossed))
    return results
