"""Merge soak shard directories (from ``--workers`` or from several machines) into one.

Histograms are added, never averaged; counters are summed; failure groups are combined with
their examples bounded; ``sessions.jsonl`` and ``failures.jsonl`` are concatenated (each shard's
section keeps its own ``run`` header, and a line cut short by a ``kill -9`` is left out so it
cannot glue itself to the next shard's first line). Shards line up in time by their start
(``started_at``), to the nearest time bucket; clocks of different machines agree only as far as
their time synchronisation does, which whole-minute buckets absorb.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.stats import RunStats
from realtime_harness.soak.report import write_report
from realtime_harness.soak.results import (
    FAILURES_FILE,
    SESSIONS_FILE,
    SoakResults,
    load_results,
    write_summary,
)

__all__ = ["merge_dirs"]


def _copy_lines(sources: Sequence[Path], target: Path) -> int:
    """Append every complete JSON line of ``sources`` to ``target``; return how many."""
    written = 0
    with target.open("wb") as out:
        for source in sources:
            if not source.exists():
                continue
            with source.open("rb") as lines:
                for raw in lines:
                    if not raw.strip():
                        continue
                    try:
                        orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        continue  # a truncated last line, or a corrupt one: never copied
                    out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                    written += 1
    return written


def merge_dirs(
    sources: Sequence[Path | str],
    out_dir: Path | str,
    *,
    overwrite: bool = False,
    notes: Sequence[str] = (),
) -> SoakResults:
    """Merge the soak directories ``sources`` into ``out_dir``; write its summary and report
    (with ``notes``, what the caller knows of the run beyond its shards, among their notes).

    Each source may be finished (``summary.json``) or partial (only ``sessions.jsonl``).
    Raises UsageError for a missing source, an output that is one of the sources or already
    holds results (unless ``overwrite``), a source given twice (the same directory, or a copy of
    the same results), or shards with different time-bucket widths.
    """
    paths = [Path(s) for s in sources]
    if not paths:
        raise UsageError("merge: give at least one soak directory to merge")
    out = Path(out_dir)
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"merge: {path} is not a directory")
        if path.resolve() == out.resolve():
            raise UsageError(f"merge: the output {out} is also one of the inputs")
    if (out / SESSIONS_FILE).exists() and not overwrite:
        raise UsageError(f"merge: {out} already holds soak results; choose another directory")
    loaded = [load_results(path) for path in paths]
    # Merging adds counts and histograms: a source given twice would count its sessions twice.
    seen: dict[object, Path] = {}
    for path, result in zip(paths, loaded, strict=True):
        identity = _identity(path, result)
        if identity in seen:
            raise UsageError(
                f"merge: {seen[identity]} and {path} hold the same results (a run started "
                f"{result.run.get('started_at_utc') or 'at an unknown time'}); give each "
                "directory once"
            )
        seen[identity] = path
    widths = {r.stats.bucket_s for r in loaded}
    if len(widths) > 1:
        raise UsageError(
            "merge: the shards use different time buckets "
            f"({', '.join(f'{w:g} s' for w in sorted(widths))}); merge runs of one configuration"
        )
    stats = RunStats.merged(r.stats for r in loaded)
    merged_notes: list[str] = []
    shards: list[str] = []
    for path, result in zip(paths, loaded, strict=True):
        named = [s for s in result.run.get("shards") or [] if isinstance(s, str)]
        shards.extend(named or [path.name])
        merged_notes.extend(f"{path.name}: {note}" for note in result.notes)
    first = loaded[0]
    if any(r.config != first.config for r in loaded[1:]):
        merged_notes.append("the shards' configurations differ; the first one is shown")
    merged_notes.extend(notes)
    stopped = sorted({str(r.run["stopped_by"]) for r in loaded if r.run.get("stopped_by")})
    out.mkdir(parents=True, exist_ok=True)
    _copy_lines([p / SESSIONS_FILE for p in paths], out / SESSIONS_FILE)
    _copy_lines([p / FAILURES_FILE for p in paths], out / FAILURES_FILE)
    started = stats.started_at
    merged = SoakResults(
        stats=stats,
        config=first.config,
        run={
            "started_at": started,
            "started_at_utc": _first_utc(loaded, started),
            "elapsed_s": stats.elapsed_s,
            "stopped_by": ", ".join(stopped) or None,
            "shards": shards,
        },
        fail_if=first.fail_if,
        source="summary",
        notes=merged_notes,
    )
    write_summary(out, merged)
    write_report(out, merged)
    return merged


def _first_utc(loaded: Sequence[SoakResults], started: float | None) -> str | None:
    for result in loaded:
        if result.run.get("started_at") == started and isinstance(
            result.run.get("started_at_utc"), str
        ):
            return str(result.run["started_at_utc"])
    return None


def _identity(path: Path, result: SoakResults) -> object:
    """What tells two sources' results apart: the run's start and its shards as written in its
    header (a copy of a directory has the same), else the directory itself."""
    started = result.run.get("started_at")
    shards = result.run.get("shards")
    if isinstance(started, int | float) and isinstance(shards, list):
        return (float(started), tuple(str(s) for s in shards), result.run.get("shard"))
    return path.resolve()
