"""Shards: a soak split over several worker processes, each a :class:`SoakRunner` in its own
event loop writing its own results directory, merged at the end
(:func:`~realtime_harness.soak.merge.merge_dirs`).

A shard is described by a JSON document (:func:`shard_spec`) that the parent writes to the
worker's standard input, never to a file or the command line, because the target's headers hold
the credential. ``python -m realtime_harness.soak.worker`` reads it and runs the shard. Workers
start in their own session, so a terminal's Ctrl-C reaches the parent only; the parent forwards
each SIGINT, so the first drains every shard and the second stops them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson

from realtime_harness.exceptions import UsageError
from realtime_harness.probe.options import ProbeOptions
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.stats import Histogram
from realtime_harness.soak.merge import merge_dirs
from realtime_harness.soak.results import SESSIONS_FILE, SHARDS_DIR, SoakResults, check_out_dir
from realtime_harness.soak.runner import (
    LiveFigures,
    SoakOptions,
    SoakOutcome,
    SoakRunner,
    check_inputs,
    run_in_loop,
    run_soak,
)
from realtime_harness.soak.shape import LoadShape, Stage
from realtime_harness.target import AuthMode, Target, Variant

__all__ = [
    "SHARDS_DIR",
    "combine_figures",
    "figures_message",
    "load_shard_spec",
    "run_workers",
    "shard_spec",
    "split_shape",
]

# The plain (JSON-able) probe options a shard carries; the rest are callables or the target.
_PLAIN = (
    "audio",
    "text",
    "turns",
    "turn_detection",
    "voice",
    "instructions",
    "timeout",
    "drain",
    "speed",
    "compression",
    "max_size",
    "ws_library",
    "mock_faults",
    "mock_speed",
    "max_response_time",
    "max_session_time",
)


def split_shape(shape: LoadShape, workers: int) -> list[LoadShape]:
    """``shape`` shared among ``workers``: users split as evenly as whole numbers allow (the
    shares add up to the peak), a rate divided evenly."""
    if shape.kind == "rate":
        shares = [1.0 / workers] * workers
    else:
        peak = int(shape.peak)
        counts = [peak // workers + (k < peak % workers) for k in range(workers)]
        shares = [c / peak if peak else 0.0 for c in counts]
    return [
        LoadShape(
            shape.kind,
            tuple(Stage(s.duration_s, s.start * share, s.end * share) for s in shape.stages),
        )
        for share in shares
    ]


def _target_dict(target: Target | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {
        "url": target.url,
        "dialect": target.dialect.value,
        "variant": target.variant.value,
        "auth": target.auth.value,
        "headers": dict(target.headers.items()),
        "request_id_header": target.request_id_header,
        "embedded": target.embedded,
    }


def shard_spec(
    options: SoakOptions,
    *,
    shape: LoadShape,
    max_sessions: int | None,
    shard: str,
    out_dir: Path,
    seed: int,
) -> dict[str, Any]:
    """The JSON document a worker runs (holds the credential: send it over a pipe only)."""
    probe = options.probe
    return {
        "probe": {name: getattr(probe, name) for name in _PLAIN},
        "mock_dialect": probe.mock_dialect.value,
        "target": _target_dict(probe.target),
        "shape": {
            "kind": shape.kind,
            # JSON has no infinity (orjson writes it as null): an endless stage (no --duration)
            # is null, read back as infinity.
            "stages": [
                [None if math.isinf(s.duration_s) else s.duration_s, s.start, s.end]
                for s in shape.stages
            ],
        },
        "out_dir": str(out_dir),
        "audio": list(options.audio),
        "think_s": options.think_s,
        "max_sessions": max_sessions,
        "recycle_s": options.recycle_s,
        "fail_if": list(options.fail_if),
        "shard": shard,
        "config": dict(options.config),
        "harness_window_s": options.harness_window_s,
        "bucket_s": options.bucket_s,
        "connects_per_s": options.connects_per_s,
        "seed": seed,
    }


def load_shard_spec(spec: dict[str, Any]) -> SoakOptions:
    """The :class:`SoakOptions` of a shard document."""
    plain = dict(spec["probe"])
    plain["mock_faults"] = tuple(plain.get("mock_faults") or ())
    raw_target = spec.get("target")
    target = (
        Target(
            url=raw_target["url"],
            dialect=Dialect(raw_target["dialect"]),
            variant=Variant(raw_target["variant"]),
            auth=AuthMode(raw_target["auth"]),
            headers=raw_target["headers"],
            request_id_header=raw_target["request_id_header"],
            embedded=raw_target["embedded"],
        )
        if raw_target
        else None
    )
    known = {f.name for f in fields(ProbeOptions)}
    probe = ProbeOptions(
        target=target,
        mock_dialect=Dialect(spec["mock_dialect"]),
        rng=random.Random(spec["seed"]),
        **{k: v for k, v in plain.items() if k in known},
    )
    shape = LoadShape(
        spec["shape"]["kind"],
        tuple(
            Stage(math.inf if d is None else float(d), float(a), float(b))
            for d, a, b in spec["shape"]["stages"]
        ),
    )
    return SoakOptions(
        probe=probe,
        shape=shape,
        out_dir=Path(spec["out_dir"]),
        audio=tuple(spec["audio"]),
        think_s=spec["think_s"],
        max_sessions=spec["max_sessions"],
        recycle_s=spec["recycle_s"],
        fail_if=tuple(spec["fail_if"]),
        shard=spec["shard"],
        config=spec["config"],
        harness_window_s=spec["harness_window_s"],
        bucket_s=spec["bucket_s"],
        connects_per_s=spec["connects_per_s"],
    )


def figures_message(runner: SoakRunner, figures: LiveFigures) -> bytes:
    """One progress line a worker writes to its standard output: its figures and its time to
    first audio histogram (encoded, so the parent merges histograms, never percentiles)."""
    hist = runner.stats.histograms.get("ttfa")
    body = {
        "figures": {
            name: getattr(figures, name)
            for name in (
                "elapsed_s",
                "remaining_s",
                "active",
                "started",
                "completed",
                "failed",
                "failures_by_group",
                "draining",
                "send_lateness_p99_ms",
                "loop_lag_p99_ms",
            )
        },
        "ttfa": hist.encode() if hist is not None and hist.count else None,
    }
    return orjson.dumps(body) + b"\n"


def combine_figures(messages: Sequence[Mapping[str, Any]]) -> LiveFigures:
    """The whole run's figures from each shard's latest progress line: counts added, time to
    first audio from the merged histograms, the harness's p99s the worst shard's."""
    out = LiveFigures()
    merged = Histogram()
    remaining: list[float] = []
    for message in messages:
        f = message.get("figures") or {}
        out.elapsed_s = max(out.elapsed_s, float(f.get("elapsed_s") or 0.0))
        if isinstance(f.get("remaining_s"), int | float):
            remaining.append(float(f["remaining_s"]))
        for name in ("active", "started", "completed", "failed"):
            setattr(out, name, getattr(out, name) + int(f.get(name) or 0))
        for label, count in (f.get("failures_by_group") or {}).items():
            out.failures_by_group[label] = out.failures_by_group.get(label, 0) + int(count)
        out.draining = out.draining or bool(f.get("draining"))
        for name in ("send_lateness_p99_ms", "loop_lag_p99_ms"):
            value = f.get(name)
            if isinstance(value, int | float):
                current = getattr(out, name)
                setattr(out, name, value if current is None else max(current, value))
        blob = message.get("ttfa")
        if isinstance(blob, str):
            with contextlib.suppress(ValueError):
                merged.add(Histogram.decode(blob))
    out.remaining_s = max(remaining) if remaining else None
    if merged.count:
        out.ttfa_ms = {p: merged.percentile(q) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))}
    return out


async def _progress(
    proc: asyncio.subprocess.Process, index: int, latest: dict[int, Mapping[str, Any]]
) -> None:
    assert proc.stdout is not None
    async for line in proc.stdout:
        with contextlib.suppress(orjson.JSONDecodeError):
            message = orjson.loads(line)
            if isinstance(message, dict):
                latest[index] = message


async def run_workers(
    options: SoakOptions,
    workers: int,
    *,
    on_update: Callable[[LiveFigures], None] | None = None,
    update_s: float = 1.0,
) -> SoakOutcome:
    """Run ``options`` as ``workers`` local worker processes; merge their directories into
    ``options.out_dir`` (which gets the summary and report of the whole run). ``on_update``
    gets the combined live figures about every ``update_s``."""
    check_inputs(options)
    out = options.out_dir
    # The merged results go to ``out`` only at the end: refuse it now, not after the run.
    check_out_dir(out, overwrite=options.overwrite)
    shapes = split_shape(options.shape, workers)
    budget = options.max_sessions
    rng = options.probe.rng
    procs: list[asyncio.subprocess.Process] = []
    dirs: list[Path] = []
    for k in range(workers):
        shard_dir = out / SHARDS_DIR / f"{k + 1}"
        dirs.append(shard_dir)
        quota = None if budget is None else budget // workers + (k < budget % workers)
        spec = shard_spec(
            options,
            shape=shapes[k],
            max_sessions=quota,
            shard=f"{options.shard or 'shard'}-{k + 1}",
            out_dir=shard_dir,
            seed=rng.randrange(2**32),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "realtime_harness.soak.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(orjson.dumps(spec) + b"\n")
        await proc.stdin.drain()
        # The pipe stays open: a worker whose parent died (even by SIGKILL) sees it close and
        # drains.
        procs.append(proc)

    def forward() -> None:
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)

    loop = asyncio.get_running_loop()
    installed = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, forward)
        installed = True
    latest: dict[int, Mapping[str, Any]] = {}
    readers = [asyncio.ensure_future(_progress(p, k, latest)) for k, p in enumerate(procs)]

    async def show() -> None:
        while on_update is not None:
            await asyncio.sleep(update_s)
            on_update(combine_figures(list(latest.values())))

    shower = asyncio.ensure_future(show())
    try:
        codes = await asyncio.gather(*(p.wait() for p in procs))
        await asyncio.gather(*readers, return_exceptions=True)
        if on_update is not None:
            on_update(combine_figures(list(latest.values())))
    finally:
        shower.cancel()
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        forward()
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
    present = [d for d in dirs if (d / SESSIONS_FILE).exists()]
    bad = [c for c in codes if c not in (0, 1)]
    # In the summary and the report, not only in the returned results: a worker that died may
    # have taken sessions in flight with it.
    notes = [f"{len(bad)} of {workers} workers exited abnormally (exit codes {bad})"] if bad else []
    if not present:
        raise UsageError(
            f"no worker wrote a session (exit codes {codes}); run with --workers 1 to see why"
        )
    merged: SoakResults = merge_dirs(present, out, overwrite=options.overwrite, notes=notes)
    stopped = merged.run.get("stopped_by")
    return SoakOutcome(merged, str(stopped or "duration"), out)


def main() -> int:
    """Run the shard whose JSON document arrives on standard input; write one progress line
    (:func:`figures_message`) a second to standard output."""
    spec = orjson.loads(sys.stdin.buffer.readline())
    options = load_shard_spec(spec)
    runners: list[SoakRunner] = []
    out = sys.stdout.buffer

    def on_runner(runner: SoakRunner) -> None:
        runners.append(runner)
        loop = asyncio.get_running_loop()

        def watch_parent() -> None:
            # Raw reads of the descriptor until the parent closes the pipe or dies; not
            # sys.stdin's buffered reader: a daemon thread blocked in it holds its lock, and
            # the interpreter's shutdown then aborts the worker ("could not acquire lock for
            # <stdin> at interpreter shutdown", exit 134).
            fd = sys.stdin.fileno()
            while os.read(fd, 65536):
                pass
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(runner.stop)

        threading.Thread(target=watch_parent, daemon=True).start()

    def report(figures: LiveFigures) -> None:
        if runners and not out.closed:
            try:
                out.write(figures_message(runners[0], figures))
                out.flush()
            except OSError:  # the parent is gone: nobody reads progress any more
                with contextlib.suppress(OSError):
                    out.close()

    try:
        with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
            run_in_loop(
                run_soak(options, on_update=report, handle_signals=True, on_runner=on_runner)
            )
    except UsageError as exc:
        # One line, as the command gives it (the parent checks most inputs before starting
        # workers; what only a worker can find, such as an unreadable audio file, lands here).
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
