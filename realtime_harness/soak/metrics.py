"""``--metrics-port``: the live figures of a running soak as Prometheus metrics.

Needs ``prometheus-client`` (the ``metrics`` extra). The exporter serves its own registry (not
the process-wide default) on ``host:port``; each scrape reads the last
:class:`~realtime_harness.soak.runner.LiveFigures` handed to :meth:`MetricsExporter.update`
(a copy, so the event loop never shares a mutable object with the server's thread).

Metrics (prefix ``realtime_harness_soak_``): ``elapsed_seconds``, ``remaining_seconds``,
``active_sessions``, ``sessions_started``, ``sessions_completed``, ``sessions_failed`` (counters),
``failures{group}`` (counter per failure group), ``failure_ratio``, ``ttfa_milliseconds{quantile}``
(time to first audio p50/p95/p99 over the run), ``harness_send_lateness_p99_milliseconds``,
``harness_loop_lag_p99_milliseconds`` and ``draining``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from realtime_harness.exceptions import UsageError
from realtime_harness.soak.runner import LiveFigures

__all__ = ["PREFIX", "MetricsExporter"]

PREFIX = "realtime_harness_soak_"


class MetricsExporter:
    """Serves the latest figures on ``http://host:port/metrics`` until :meth:`close`."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        try:
            from prometheus_client import CollectorRegistry, start_http_server
        except ImportError as exc:  # the optional extra is missing
            raise UsageError(
                "--metrics-port needs prometheus-client: pip install 'realtime-harness[metrics]'"
            ) from exc
        self._figures = LiveFigures()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise UsageError(f"--metrics-port {port}: cannot listen on {host} ({exc})") from exc
        self.port = int(self._server.server_address[1])
        self.host = host

    def update(self, figures: LiveFigures) -> None:
        """Take a copy of the figures for the next scrape."""
        snapshot = copy.copy(figures)
        snapshot.failures_by_group = dict(figures.failures_by_group)
        snapshot.ttfa_ms = dict(figures.ttfa_ms)
        self._figures = snapshot

    def collect(self) -> Iterator[Any]:
        """The metrics of the latest figures (called by the registry on each scrape)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        f = self._figures
        gauges = (
            ("elapsed_seconds", "Seconds since the soak started.", f.elapsed_s),
            ("remaining_seconds", "Seconds left (NaN: runs until stopped).", f.remaining_s),
            ("active_sessions", "Sessions running now.", f.active),
            ("failure_ratio", "Failed over completed sessions.", f.failure_rate),
            (
                "harness_send_lateness_p99_milliseconds",
                "p99 of how late paced sends went out (harness health).",
                f.send_lateness_p99_ms,
            ),
            (
                "harness_loop_lag_p99_milliseconds",
                "p99 of the event loop's lag (harness health).",
                f.loop_lag_p99_ms,
            ),
            ("draining", "1 once no new sessions are started.", int(f.draining)),
        )
        for name, doc, value in gauges:
            yield GaugeMetricFamily(
                PREFIX + name, doc, value=float("nan") if value is None else float(value)
            )
        for name, doc, value in (
            ("sessions_started", "Sessions started.", f.started),
            ("sessions_completed", "Sessions finished (any outcome).", f.completed),
            ("sessions_failed", "Sessions finished with any outcome but clean.", f.failed),
        ):
            yield CounterMetricFamily(PREFIX + name, doc, value=value)
        groups = CounterMetricFamily(
            PREFIX + "failures", "Failures by group (kind, error type, code).", labels=["group"]
        )
        for label, count in sorted(f.failures_by_group.items()):
            groups.add_metric([label], count)
        yield groups
        ttfa = GaugeMetricFamily(
            PREFIX + "ttfa_milliseconds",
            "Time to first audio over the run, by quantile.",
            labels=["quantile"],
        )
        for key, quantile in (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99")):
            value = f.ttfa_ms.get(key)
            ttfa.add_metric([quantile], float("nan") if value is None else value)
        yield ttfa

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
