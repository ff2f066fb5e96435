"""Soak testing: many paced sessions for hours, their statistics, results and report.

The parts follow locust's split (without gevent): sessions emit records, a collector
(:class:`~realtime_harness.protocol.stats.RunStats`) aggregates them into mergeable histograms and
failure groups, the load shape is a pure ``tick(elapsed)`` function
(:class:`~realtime_harness.soak.shape.LoadShape`), and the report is rendered only from the
written results (:mod:`realtime_harness.soak.report`).

* :mod:`~realtime_harness.soak.shape`: ``--ramp``, ``--duration``, ``--rate`` parsing, the shape;
* :mod:`~realtime_harness.soak.thresholds`: ``--fail-if`` expressions;
* :mod:`~realtime_harness.soak.results`: the output directory, written and read back;
* :mod:`~realtime_harness.soak.report`: ``report.html``;
* :mod:`~realtime_harness.soak.merge`: shard directories merged into one.
"""

from __future__ import annotations

from realtime_harness.soak.merge import merge_dirs
from realtime_harness.soak.report import render_report, write_report
from realtime_harness.soak.results import ResultsWriter, SoakResults, load_results
from realtime_harness.soak.shape import (
    LoadShape,
    build_shape,
    parse_duration,
    parse_ramp,
    parse_rate,
)
from realtime_harness.soak.thresholds import Threshold, ThresholdResult, evaluate, parse_thresholds

__all__ = [
    "LoadShape",
    "ResultsWriter",
    "SoakResults",
    "Threshold",
    "ThresholdResult",
    "build_shape",
    "evaluate",
    "load_results",
    "merge_dirs",
    "parse_duration",
    "parse_ramp",
    "parse_rate",
    "parse_thresholds",
    "render_report",
    "write_report",
]
