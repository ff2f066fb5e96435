"""``--engine ray``: the soak's shards as Ray async actors on an existing cluster (or a local
Ray instance), merged the same way as local workers.

Needs ``ray`` (the ``ray`` extra). Each actor runs one shard (:func:`run_soak` in the actor's
event loop, from the same shard document as a local worker) into a directory of its node's own,
and hands back its ``sessions.jsonl``, ``failures.jsonl`` and ``summary.json`` when done; the
driver writes them under ``--out``/``shards`` and merges them
(:func:`~realtime_harness.soak.merge.merge_dirs`).
While the shards run, the driver asks each actor for its live figures once a second. The
shard document carries the target's credential through Ray's object store: run it on a cluster
you trust with the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from realtime_harness.exceptions import UsageError
from realtime_harness.soak.merge import merge_dirs
from realtime_harness.soak.results import (
    FAILURES_FILE,
    SESSIONS_FILE,
    SHARDS_DIR,
    SUMMARY_FILE,
    check_out_dir,
)
from realtime_harness.soak.runner import LiveFigures, SoakOptions, SoakOutcome, SoakRunner, run_soak
from realtime_harness.soak.worker import (
    combine_figures,
    figures_message,
    load_shard_spec,
    shard_spec,
    split_shape,
)

__all__ = ["ShardActor", "run_ray"]


class ShardActor:
    """One shard, run by a Ray async actor (``ray.remote(ShardActor)``)."""

    def __init__(self) -> None:
        self._runner: SoakRunner | None = None
        self._figures: LiveFigures | None = None

    async def run(self, spec: dict[str, Any]) -> dict[str, bytes]:
        """Run the shard into a directory of this node's; return its result files."""
        with tempfile.TemporaryDirectory(prefix="realtime-harness-shard-") as tmp:
            out = Path(tmp) / "shard"
            options = load_shard_spec({**spec, "out_dir": str(out)})

            def keep(figures: LiveFigures) -> None:
                self._figures = figures

            await run_soak(options, on_update=keep, on_runner=self._keep_runner)
            return {
                name: (out / name).read_bytes()
                for name in (SESSIONS_FILE, FAILURES_FILE, SUMMARY_FILE)
                if (out / name).exists()
            }

    def _keep_runner(self, runner: SoakRunner) -> None:
        self._runner = runner

    async def progress(self) -> dict[str, Any] | None:
        """The shard's latest live figures (as a worker's progress line), or None yet."""
        if self._runner is None or self._figures is None:
            return None
        import orjson

        message: dict[str, Any] = orjson.loads(figures_message(self._runner, self._figures))
        return message

    async def stop(self) -> None:
        """Drain (first call) or stop at once (second), as Ctrl-C does."""
        if self._runner is not None:
            self._runner.stop()


async def run_ray(
    options: SoakOptions,
    workers: int,
    *,
    address: str | None = None,
    on_update: Callable[[LiveFigures], None] | None = None,
    update_s: float = 1.0,
    init_kwargs: Mapping[str, Any] | None = None,
) -> SoakOutcome:
    """Run ``options`` as ``workers`` Ray actors (``address`` None: a local Ray instance);
    merge their results into ``options.out_dir``."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--engine ray needs ray: pip install 'realtime-harness[ray]'") from exc
    out = options.out_dir
    # The merged results go to ``out`` only at the end: refuse it now, not after the run.
    check_out_dir(out, overwrite=options.overwrite)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, **dict(init_kwargs or {}))
    remote: Any = ray.remote(num_cpus=1)(ShardActor)
    shapes = split_shape(options.shape, workers)
    budget = options.max_sessions
    rng = options.probe.rng
    actors: list[Any] = [remote.remote() for _ in range(workers)]
    runs = []
    for k, actor in enumerate(actors):
        quota = None if budget is None else budget // workers + (k < budget % workers)
        spec = shard_spec(
            options,
            shape=shapes[k],
            max_sessions=quota,
            shard=f"{options.shard or 'ray'}-{k + 1}",
            out_dir=out / SHARDS_DIR / f"{k + 1}",
            seed=rng.randrange(2**32),
        )
        runs.append(actor.run.remote(spec))

    def stop_all() -> None:
        for actor in actors:
            actor.stop.remote()

    loop = asyncio.get_running_loop()
    installed = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, stop_all)
        installed = True

    async def show() -> None:
        while on_update is not None:
            await asyncio.sleep(update_s)
            got = await asyncio.gather(*(a.progress.remote() for a in actors))
            on_update(combine_figures([m for m in got if m]))

    shower = asyncio.ensure_future(show())
    try:
        results = await asyncio.gather(*runs)
    finally:
        shower.cancel()
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
    dirs = []
    for k, files in enumerate(results):
        shard_dir = out / SHARDS_DIR / f"{k + 1}"
        shard_dir.mkdir(parents=True, exist_ok=True)
        for name, blob in files.items():
            (shard_dir / name).write_bytes(blob)
        dirs.append(shard_dir)
    for actor in actors:
        ray.kill(actor)
    if started_here:
        ray.shutdown()
    merged = merge_dirs(dirs, out, overwrite=options.overwrite)
    return SoakOutcome(merged, str(merged.run.get("stopped_by") or "duration"), out)
