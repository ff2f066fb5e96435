"""What a running soak shows: a live ``rich`` view on a terminal, plain periodic lines otherwise.

Both read :class:`~realtime_harness.soak.runner.LiveFigures`: elapsed and remaining time, active
sessions, completed, failed by group, the failure rate, time to first audio p50/p95/p99 and the
harness's own lag (send lateness and event-loop lag p99).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO

from realtime_harness.soak.runner import LiveFigures

__all__ = ["PLAIN_EVERY_S", "figures_line", "live_view"]

#: How often the plain view writes a line.
PLAIN_EVERY_S = 10.0


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "∞"
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def figures_line(f: LiveFigures) -> str:
    """The figures on one line (the plain view, and the rich view's title)."""
    ttfa = f.ttfa_ms
    groups = ", ".join(
        f"{k} {v}" for k, v in sorted(f.failures_by_group.items(), key=lambda kv: -kv[1])
    )
    return (
        f"elapsed {_span(f.elapsed_s)} remaining {_span(f.remaining_s)}"
        f" active {f.active} completed {f.completed} failed {f.failed}"
        f" ({f.failure_rate * 100:.2f} %)"
        f" ttfa p50/p95/p99 {_ms(ttfa.get('p50'))}/{_ms(ttfa.get('p95'))}/{_ms(ttfa.get('p99'))} ms"
        f" harness lag p99 send {_ms(f.send_lateness_p99_ms)} loop {_ms(f.loop_lag_p99_ms)} ms"
        + (" draining" if f.draining else "")
        + (f" | {groups}" if groups else "")
    )


def _table(f: LiveFigures) -> object:
    from rich.table import Table

    table = Table(title="realtime-harness soak" + (" (draining)" if f.draining else ""))
    table.add_column("figure")
    table.add_column("value", justify="right")
    ttfa = f.ttfa_ms
    for name, value in (
        ("elapsed / remaining", f"{_span(f.elapsed_s)} / {_span(f.remaining_s)}"),
        ("active sessions", str(f.active)),
        ("completed", str(f.completed)),
        ("failed", f"{f.failed} ({f.failure_rate * 100:.2f} %)"),
        (
            "time to first audio p50 / p95 / p99",
            f"{_ms(ttfa.get('p50'))} / {_ms(ttfa.get('p95'))} / {_ms(ttfa.get('p99'))} ms",
        ),
        (
            "harness lag p99 (send / loop)",
            f"{_ms(f.send_lateness_p99_ms)} / {_ms(f.loop_lag_p99_ms)} ms",
        ),
    ):
        table.add_row(name, value)
    for label, count in sorted(f.failures_by_group.items(), key=lambda kv: -kv[1])[:10]:
        table.add_row(f"  failed: {label}", str(count))
    return table


@contextlib.contextmanager
def live_view(
    out: IO[str] | None = None, *, every_s: float = PLAIN_EVERY_S
) -> Iterator[Callable[[LiveFigures], None]]:
    """A callback for the runner's ``on_update``: a rich live table when ``out`` (stdout by
    default) is a terminal, else one plain line every ``every_s`` seconds."""
    stream = out or sys.stdout
    if stream.isatty():
        from rich.console import Console
        from rich.live import Live

        with Live(console=Console(file=stream), refresh_per_second=2, transient=False) as live:

            def show(figures: LiveFigures) -> None:
                live.update(_table(figures))  # type: ignore[arg-type]

            yield show
        return
    last = [0.0]

    def plain(figures: LiveFigures) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            stream.write(figures_line(figures) + "\n")
            stream.flush()

    yield plain
