"""``report.html``: one self-contained page to attach to a ticket, rendered from written results.

The page needs nothing but itself: styles are inline, the plots are SVG drawn here in Python,
there is no script, and a Content-Security-Policy of ``default-src 'none'`` tells the browser
to fetch nothing at all. It is rendered only from what a run wrote (``summary.json``, or
``sessions.jsonl`` when the run was killed before writing it), so ``report DIR`` rebuilds it for
finished, merged and partial runs alike.

Sections: the verdict (sessions, failure rate, thresholds, whether the harness kept up), latency
percentiles over time per phase, failures over time by group, sessions over time, latency
distributions, the latency table, the failure groups with example ids, and the configuration
(secrets redacted).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from realtime_harness.protocol.stats import PHASES, BucketPoint, Histogram, RunStats
from realtime_harness.redact import redact_text
from realtime_harness.soak.results import (
    REPORT_FILE,
    SoakResults,
    load_results,
    phase_label,
    redact_config,
)
from realtime_harness.soak.shape import format_duration

__all__ = ["render_report", "write_report"]

_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
)
_PERCENTILE_COLORS = {"p50": "#2ca02c", "p95": "#ff7f0e", "p99": "#d62728"}
# Percentiles along the distribution plot's x axis (log scale of 1 / (1 - p), as HdrHistogram's
# own percentile plots draw them).
_DIST_PERCENTILES = (0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99)
_MAX_GROUPS_PLOTTED = 6

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1100px;padding:0 16px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:14px 0 4px}
.meta{color:#555}.banner{padding:8px 12px;border-radius:4px;margin:10px 0}
.warn{background:#fff4e5;border:1px solid #f0b35a}.bad{background:#fdecea;border:1px solid #e57373}
.ok{background:#edf7ed;border:1px solid #81c784}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f5f5f5}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f7f7f7;padding:10px;overflow:auto;border:1px solid #eee}
.grid{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #eee;padding:4px}
svg text{font:11px system-ui,sans-serif;fill:#333}.legend span{margin-right:14px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
"""


def _e(text: object) -> str:
    return html.escape(redact_text(str(text)), quote=True)


def _fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# --- axes ---
def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _linear_ticks(low: float, high: float, target: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    step = _nice_step(high - low, target)
    # From the last tick at or below ``low`` to the first at or above ``high``, so every
    # value falls inside the plot.
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, max(last, first + 1) + 1)]


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = []
    exponent = math.floor(math.log10(low))
    while 10**exponent <= high * 1.0001:
        for factor in (1, 2, 5):
            value = factor * 10**exponent
            if low / 1.0001 <= value <= high * 1.0001:
                ticks.append(float(value))
        exponent += 1
    return ticks


@dataclass(frozen=True, slots=True)
class _Series:
    name: str
    color: str
    points: Sequence[tuple[float, float | None]]


@dataclass(slots=True)
class _Frame:
    """A plot area: maps data to pixels and draws the axes."""

    width: int
    height: int
    x_low: float
    x_high: float
    y_low: float
    y_high: float
    log_y: bool = False
    left: int = 56
    right: int = 24
    top: int = 10
    bottom: int = 34

    def x(self, value: float) -> float:
        span = (self.x_high - self.x_low) or 1.0
        return self.left + (value - self.x_low) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        if self.log_y:
            low, high = math.log10(self.y_low), math.log10(self.y_high)
            pos = (math.log10(max(value, self.y_low)) - low) / ((high - low) or 1.0)
        else:
            pos = (value - self.y_low) / ((self.y_high - self.y_low) or 1.0)
        return self.height - self.bottom - pos * (self.height - self.top - self.bottom)

    def axes(
        self,
        x_ticks: Sequence[tuple[float, str]],
        y_ticks: Sequence[tuple[float, str]],
        x_label: str,
        y_label: str,
    ) -> list[str]:
        out = []
        base = self.height - self.bottom
        for value, label in y_ticks:
            y = self.y(value)
            out.append(
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="#eee"/>'
                f'<text x="{self.left - 4}" y="{y + 4:.1f}" text-anchor="end">{_e(label)}</text>'
            )
        for value, label in x_ticks:
            x = self.x(value)
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}" stroke="#999"/>'
                f'<text x="{x:.1f}" y="{base + 15}" text-anchor="middle">{_e(label)}</text>'
            )
        out.append(
            f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{base}" y2="{base}" '
            f'stroke="#999"/><line x1="{self.left}" x2="{self.left}" y1="{self.top}" '
            f'y2="{base}" stroke="#999"/>'
            f'<text x="{(self.left + self.width - self.right) / 2:.1f}" y="{self.height - 4}" '
            f'text-anchor="middle">{_e(x_label)}</text>'
            f'<text x="12" y="{(self.top + base) / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {(self.top + base) / 2:.1f})">{_e(y_label)}</text>'
        )
        return out


def _svg(title: str, width: int, height: int, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">'
        f"<title>{_e(title)}</title>{''.join(body)}</svg>"
    )


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i class="sw" style="background:{color}"></i>{_e(name)}</span>'
            for name, color in items
        )
        + "</div>"
    )


def _minutes_ticks(x_high_min: float) -> list[tuple[float, str]]:
    ticks = _linear_ticks(0.0, max(x_high_min, 1.0), 8)
    return [(t, f"{t:g}") for t in ticks if t <= x_high_min + 1e-9]


def _line_chart(
    title: str,
    series: Sequence[_Series],
    *,
    x_high: float,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    x_low: float = 0.0,
    width: int = 520,
    height: int = 210,
    y_fmt: Callable[[float], str] = _fmt_ms,
) -> str:
    values = [y for s in series for _, y in s.points if y is not None]
    if not values:
        return f'<div class="chart"><h3>{_e(title)}</h3><p class="meta">no samples</p></div>'
    if log_y:
        low = max(min(values), 1e-3)
        y_low = 10 ** math.floor(math.log10(low))
        y_high = 10 ** math.ceil(math.log10(max(max(values), y_low * 10)))
        y_ticks = _log_ticks(y_low, y_high)
    else:
        y_ticks = _linear_ticks(0.0, max(values) or 1.0)
        y_low, y_high = 0.0, y_ticks[-1]
    frame = _Frame(width, height, x_low, x_high, y_low, y_high, log_y=log_y)
    body = frame.axes(
        x_ticks or _minutes_ticks(x_high), [(v, f"{v:,g}") for v in y_ticks], x_label, y_label
    )
    for line in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in line.points:
            if y is None:
                runs.append([])
            else:
                runs[-1].append((frame.x(x), frame.y(y)))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                body.append(
                    f'<polyline fill="none" stroke="{line.color}" stroke-width="1.6" '
                    f'points="{path}"/>'
                )
        if len(line.points) <= 120:
            for x, y in line.points:
                if y is not None:
                    body.append(
                        f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="2" '
                        f'fill="{line.color}"><title>{_e(line.name)}: {_e(y_fmt(y))}'
                        f"</title></circle>"
                    )
    return (
        f'<div class="chart"><h3>{_e(title)}</h3>{_svg(title, width, height, body)}'
        f"{_legend([(s.name, s.color) for s in series])}</div>"
    )


def _bar_chart(
    title: str,
    points: Sequence[BucketPoint],
    stacks: Sequence[tuple[str, str, Sequence[int]]],
    *,
    width: int = 1060,
    height: int = 220,
) -> str:
    if not points or not any(any(v) for _, _, v in stacks):
        return f'<div class="chart"><h3>{_e(title)}</h3><p class="meta">none</p></div>'
    totals = [sum(v[i] for _, _, v in stacks) for i in range(len(points))]
    ticks = _linear_ticks(0.0, max(totals) or 1.0)
    x_high = (points[-1].start_s + points[-1].span_s) / 60
    frame = _Frame(width, height, 0.0, x_high, 0.0, ticks[-1])
    body = frame.axes(
        _minutes_ticks(x_high), [(t, f"{t:g}") for t in ticks], "minutes since start", "failures"
    )
    for i, point in enumerate(points):
        x0 = frame.x(point.start_s / 60)
        x1 = frame.x((point.start_s + point.span_s) / 60)
        bar_w = max(x1 - x0 - 1, 1)
        level = 0
        for name, color, values in stacks:
            if not values[i]:
                continue
            y_top, y_bottom = frame.y(level + values[i]), frame.y(level)
            body.append(
                f'<rect x="{x0:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{max(y_bottom - y_top, 0.5):.1f}" fill="{color}">'
                f"<title>{_e(name)}: {values[i]} at {point.start_s / 60:g} min</title></rect>"
            )
            level += values[i]
    return (
        f'<div class="chart"><h3>{_e(title)}</h3>{_svg(title, width, height, body)}'
        f"{_legend([(n, c) for n, c, _ in stacks])}</div>"
    )


# --- sections ---
def _latency_over_time(stats: RunStats, points: Sequence[BucketPoint]) -> str:
    if not points:
        return '<p class="meta">no sessions recorded</p>'
    x_high = (points[-1].start_s + points[-1].span_s) / 60
    charts = []
    for phase in stats.phase_names():
        series = [
            _Series(
                name,
                color,
                [
                    (
                        (p.start_s + p.span_s / 2) / 60,
                        getattr(p.phases[phase], name) if phase in p.phases else None,
                    )
                    for p in points
                ],
            )
            for name, color in _PERCENTILE_COLORS.items()
        ]
        charts.append(
            _line_chart(
                phase_label(phase),
                series,
                x_high=x_high,
                x_label="minutes since start",
                y_label="ms",
            )
        )
    return f'<div class="grid">{"".join(charts)}</div>'


def _failures_over_time(stats: RunStats, points: Sequence[BucketPoint]) -> str:
    groups = [g for g in stats.sorted_groups() if g.count]
    shown = groups[:_MAX_GROUPS_PLOTTED]
    stacks: list[tuple[str, str, Sequence[int]]] = [
        (
            g.label + (" (benign)" if g.benign else ""),
            _PALETTE[i],
            [p.failures.get(g.key, 0) for p in points],
        )
        for i, g in enumerate(shown)
    ]
    rest = {g.key for g in groups[_MAX_GROUPS_PLOTTED:]}
    if rest:
        stacks.append(
            (
                f"{len(rest)} other groups",
                _PALETTE[-1],
                [sum(n for k, n in p.failures.items() if k in rest) for p in points],
            )
        )
    return _bar_chart("failures per time bucket, by group", points, stacks)


def _sessions_over_time(points: Sequence[BucketPoint]) -> str:
    if not points:
        return ""
    x_high = (points[-1].start_s + points[-1].span_s) / 60
    per_min = [60 / p.span_s for p in points]
    series = [
        _Series(
            "finished / min",
            _PALETTE[0],
            [
                ((p.start_s + p.span_s / 2) / 60, p.sessions * k)
                for p, k in zip(points, per_min, strict=True)
            ],
        ),
        _Series(
            "failed / min",
            _PALETTE[1],
            [
                ((p.start_s + p.span_s / 2) / 60, p.failed * k)
                for p, k in zip(points, per_min, strict=True)
            ],
        ),
    ]
    return _line_chart(
        "sessions finished per minute",
        series,
        x_high=x_high,
        x_label="minutes since start",
        y_label="sessions / min",
        width=1060,
        y_fmt=lambda v: f"{v:g}",
    )


def _distribution_x(percentile: float) -> float:
    return math.log10(1 / (1 - min(percentile, 99.99) / 100))


def _distributions(stats: RunStats) -> str:
    series = []
    for i, phase in enumerate(p for p in stats.phase_names()):
        hist: Histogram = stats.histograms[phase]
        values = hist.percentiles(_DIST_PERCENTILES)
        series.append(
            _Series(
                phase_label(phase),
                _PALETTE[i % len(_PALETTE)],
                [(_distribution_x(p), values.get(p)) for p in _DIST_PERCENTILES],
            )
        )
    ticks = [(_distribution_x(p), f"{p:g}") for p in (0.0, 50.0, 90.0, 99.0, 99.9, 99.99)]
    return _line_chart(
        "latency by percentile (log scale)",
        series,
        x_high=_distribution_x(99.99),
        x_ticks=ticks,
        x_label="percentile",
        y_label="ms",
        log_y=True,
        width=1060,
        height=280,
    )


def _latency_table(stats: RunStats) -> str:
    rows = []
    for phase in stats.phase_names():
        s = stats.phase(phase)
        cells = "".join(
            f'<td class="n">{_fmt_ms(v)}</td>' for v in (s.p50, s.p90, s.p95, s.p99, s.max, s.mean)
        )
        rows.append(
            f"<tr><td>{_e(phase_label(phase))} <code>{_e(phase)}</code></td>"
            f'<td class="n">{s.count:,}</td>{cells}</tr>'
        )
    if not rows:
        return '<p class="meta">no latency samples</p>'
    return (
        "<table><tr><th>phase</th><th>samples</th><th>p50 ms</th><th>p90 ms</th><th>p95 ms</th>"
        f"<th>p99 ms</th><th>max ms</th><th>mean ms</th></tr>{''.join(rows)}</table>"
    )


def _groups_table(stats: RunStats) -> str:
    groups = stats.sorted_groups()
    if not groups:
        return '<p class="meta">no failures</p>'
    rows = []
    for group in groups:
        examples = "".join(
            "<tr>"
            + "".join(
                f"<td><code>{_e(v)}</code></td>" if v is not None else "<td>–</td>"
                for v in (e.session_id, e.response_id, e.event_id, e.item_id, e.close_code)
            )
            + f'<td class="n">{e.at_s / 60:.2f}</td></tr>'
            for e in group.examples
        )
        rows.append(
            f"<tr><td>{_e(group.kind)}</td><td>{_e(group.error_type or '–')}</td>"
            f"<td>{_e(group.code or '–')}</td><td>{'yes' if group.benign else ''}</td>"
            f'<td class="n">{group.count:,}</td><td><table><tr><th>session</th><th>response</th>'
            f"<th>event</th><th>item</th><th>close</th><th>min</th></tr>{examples}</table></td></tr>"
        )
    return (
        "<table><tr><th>kind</th><th>error type</th><th>code</th><th>benign</th><th>count</th>"
        f"<th>example ids</th></tr>{''.join(rows)}</table>"
    )


def _verdict(results: SoakResults) -> str:
    stats = results.stats
    thresholds = results.thresholds()
    crossed = [t for t in thresholds if t.crossed]
    harness = stats.harness_verdict()
    parts = []
    if results.partial:
        parts.append(
            '<div class="banner warn">Partial results: rebuilt from sessions.jsonl '
            "(the run did not finish writing its summary).</div>"
        )
    for note in results.notes:
        parts.append(f'<div class="banner warn">{_e(note)}</div>')
    if harness.bottleneck:
        parts.append(f'<div class="banner bad">{_e(harness.reason)}</div>')
    else:
        parts.append(f'<div class="banner ok">{_e(harness.reason)}</div>')
    outcomes = ", ".join(
        f"{_e(k)} {v:,}" for k, v in sorted(stats.outcomes.items(), key=lambda kv: -kv[1])
    )
    parts.append(
        "<table>"
        f'<tr><th>sessions finished</th><td class="n">{stats.sessions:,}</td></tr>'
        f'<tr><th>failed sessions</th><td class="n">{stats.failed:,} '
        f"({stats.failure_rate * 100:.2f} %)</td></tr>"
        f'<tr><th>failure records</th><td class="n">{stats.failure_count:,}</td></tr>'
        f'<tr><th>recycled (not failures)</th><td class="n">{stats.recycled:,}</td></tr>'
        f"<tr><th>outcomes</th><td>{outcomes or '–'}</td></tr>"
        "</table>"
    )
    if thresholds:
        rows = "".join(
            f"<tr><td><code>{_e(t.threshold.expression)}</code></td>"
            f'<td class="n">{"no samples" if t.actual is None else f"{t.actual:g}"}</td>'
            f"<td>{'<b>crossed</b>' if t.crossed else 'ok'}</td></tr>"
            for t in thresholds
        )
        state = "bad" if crossed else "ok"
        headline = (
            f"{len(crossed)} of {len(thresholds)} thresholds crossed: the run fails"
            if crossed
            else "no threshold crossed"
        )
        parts.append(
            f'<div class="banner {state}">{_e(headline)}</div>'
            f"<table><tr><th>fail if</th><th>value</th><th>verdict</th></tr>{rows}</table>"
        )
    return "".join(parts)


def render_report(results: SoakResults) -> str:
    """The whole page for ``results``, as one string."""
    stats = results.stats
    points = stats.timeline()
    run = results.run
    elapsed = run.get("elapsed_s")
    elapsed_text = format_duration(elapsed) if isinstance(elapsed, int | float) else "?"
    shards = [s for s in run.get("shards") or [] if isinstance(s, str)]
    config_text = json.dumps(redact_config(results.config), indent=2, sort_keys=True)
    title = f"realtime-harness soak — {run.get('started_at_utc') or 'unknown start'}"
    missing = [p for p in PHASES[:6] if p not in stats.histograms]
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">elapsed {_e(elapsed_text)}; stopped by {_e(run.get("stopped_by") or "?")}'
        f"; time buckets of {stats.bucket_s:g} s"
        + (f"; merged from {len(shards)} shards: {_e(', '.join(shards))}" if shards else "")
        + "</p>",
        "<h2>Verdict</h2>",
        _verdict(results),
        "<h2>Latency percentiles over time</h2>",
        _latency_over_time(stats, points),
        "<h2>Failures over time</h2>",
        _failures_over_time(stats, points),
        "<h2>Sessions over time</h2>",
        _sessions_over_time(points),
        "<h2>Latency distributions</h2>",
        _distributions(stats),
        _latency_table(stats),
        (f'<p class="meta">no samples for: {_e(", ".join(missing))}</p>' if missing else ""),
        "<h2>Failure groups</h2>",
        _groups_table(stats),
        "<h2>Configuration</h2>",
        f"<pre>{_e(config_text)}</pre>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # Fetch nothing, ever: the page must open offline and leak nothing when attached.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_report(out_dir: Path | str, results: SoakResults | None = None) -> Path:
    """Render ``report.html`` into ``out_dir`` from its written results; return its path."""
    directory = Path(out_dir)
    loaded = results if results is not None else load_results(directory)
    path = directory / REPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(loaded), encoding="utf-8")
    tmp.replace(path)
    return path
