"""A soak's output directory: what is written while it runs, and how it is read back.

::

    DIR/
      sessions.jsonl   a "run" header line, then one "session" line per finished session (ids,
                       outcome, timings, its responses and failures) and a "harness" line per
                       window of send-lateness / loop-lag histograms; appended and flushed as
                       they happen
      failures.jsonl   one line per failure, with every id (the probe's failure record)
      summary.json     totals, percentiles, failure groups, thresholds, and the serialised stats
      summary.md       a short Markdown table to paste into a ticket
      report.html      rendered from the above (see :mod:`realtime_harness.soak.report`)

A ``kill -9`` loses at most the sessions in flight: every line is flushed when written, and
every reader skips a truncated last line. Without ``summary.json`` (a killed run) the stats are
rebuilt from ``sessions.jsonl`` alone. Merged directories hold several "run" headers in their
``sessions.jsonl``, one per shard; each section is rebuilt on its own, then merged.

Secrets are never written: each line passes through :func:`realtime_harness.redact.redact_text`
and the run configuration through :func:`redact_config`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.stats import (
    HarnessSample,
    RunStats,
    SessionRecord,
)
from realtime_harness.redact import (
    MASK,
    SECRET_HEADERS,
    SECRET_QUERY_KEYS,
    redact_text,
    redact_url,
)
from realtime_harness.soak.thresholds import ThresholdResult, evaluate, parse_thresholds

__all__ = [
    "FAILURES_FILE",
    "REPORT_FILE",
    "RESULTS_FORMAT",
    "SESSIONS_FILE",
    "SHARDS_DIR",
    "SUMMARY_FILE",
    "SUMMARY_MD_FILE",
    "JsonlRead",
    "ResultsWriter",
    "SoakResults",
    "build_summary",
    "check_out_dir",
    "iter_jsonl",
    "load_results",
    "phase_label",
    "read_jsonl",
    "rebuild_stats",
    "redact_config",
    "render_markdown",
    "write_summary",
]

SESSIONS_FILE = "sessions.jsonl"
#: Where a run of several workers keeps each shard's own results, inside its ``--out``.
SHARDS_DIR = "shards"
FAILURES_FILE = "failures.jsonl"
SUMMARY_FILE = "summary.json"
SUMMARY_MD_FILE = "summary.md"
REPORT_FILE = "report.html"

#: Version tag of ``summary.json`` and of the ``sessions.jsonl`` header line.
RESULTS_FORMAT = "realtime-harness.soak/1"

_SECRET_WORDS = ("key", "token", "secret", "password", "authorization", "credential")


# --- redaction ---
def _secret_key(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in SECRET_QUERY_KEYS
        or lowered in SECRET_HEADERS
        or any(word in lowered for word in _SECRET_WORDS)
    )


def redact_config(value: Any) -> Any:
    """A JSON-able copy of ``value`` with secrets masked.

    Values under secret-looking keys (``api_key``, ``token``, ``Authorization``…) become
    ``***``; URLs lose their credentials; every other string goes through the text redactor.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if _secret_key(name) and isinstance(item, str) and item:
                out[name] = MASK
            else:
                out[name] = redact_config(item)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_config(item) for item in value]
    if isinstance(value, str):
        return redact_url(value) if "://" in value else redact_text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return redact_text(str(value))


def _line(record: Mapping[str, Any]) -> bytes:
    text = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return (redact_text(text) + "\n").encode()


def _utc(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


# --- writing ---
def check_out_dir(out_dir: Path, *, overwrite: bool = False) -> None:
    """Make the results directory ``out_dir``, refusing one that already holds results or the
    shards of an earlier run (unless ``overwrite``), or cannot be made: raises
    :class:`~realtime_harness.exceptions.UsageError`. Called before a run starts, so that a run
    of hours never ends with nowhere to write."""
    if (out_dir / SESSIONS_FILE).exists() and not overwrite:
        raise UsageError(
            f"--out {out_dir}: already holds soak results ({SESSIONS_FILE}); "
            "choose another directory or remove it"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: is a file, not a directory; name a directory")
    shards = out_dir / SHARDS_DIR
    if not overwrite and any(shards.glob(f"*/{SESSIONS_FILE}")):
        raise UsageError(
            f"--out {out_dir}: holds the shards of an earlier run ({shards}) that were never "
            f"merged; `realtime-harness report {out_dir}` merges them and writes its report, "
            "or choose another directory"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot write there ({exc})") from exc
    if not os.access(out_dir, os.W_OK):
        raise UsageError(f"--out {out_dir}: cannot write there (no write permission)")


class ResultsWriter:
    """Appends a run's records to its output directory, flushing each one.

    ``started_at`` is the run's start in seconds since the epoch (session start offsets count
    from it); ``config`` is the run's configuration (redacted before it is written);
    ``fail_if`` the threshold expressions. The directory must not already hold results unless
    ``overwrite`` is set. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        out_dir: Path | str,
        *,
        started_at: float,
        config: Mapping[str, Any] | None = None,
        fail_if: Sequence[str] = (),
        bucket_s: float = 60.0,
        shard: str | None = None,
        overwrite: bool = False,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.started_at = started_at
        self.config = redact_config(dict(config or {}))
        self.fail_if = list(fail_if)
        self.bucket_s = bucket_s
        self.shard = shard
        check_out_dir(self.out_dir, overwrite=overwrite)
        sessions = self.out_dir / SESSIONS_FILE
        try:
            self._sessions: IO[bytes] = sessions.open("wb")
            self._failures: IO[bytes] = (self.out_dir / FAILURES_FILE).open("wb")
        except OSError as exc:
            raise UsageError(f"--out {self.out_dir}: cannot write there ({exc})") from exc
        for stale in (SUMMARY_FILE, SUMMARY_MD_FILE):
            (self.out_dir / stale).unlink(missing_ok=True)
        self._write(self._sessions, self.header())

    def header(self) -> dict[str, Any]:
        """The first line of ``sessions.jsonl``: what the run was and when it started."""
        return {
            "record": "run",
            "format": RESULTS_FORMAT,
            "started_at": self.started_at,
            "started_at_utc": _utc(self.started_at),
            "bucket_s": self.bucket_s,
            "shard": self.shard,
            "fail_if": self.fail_if,
            "config": self.config,
        }

    @staticmethod
    def _write(out: IO[bytes], record: Mapping[str, Any]) -> None:
        out.write(_line(record))
        out.flush()

    def write_session(self, record: SessionRecord) -> None:
        """Append one finished session."""
        self._write(self._sessions, {"record": "session", **record.to_dict()})

    def write_harness(self, sample: HarnessSample) -> None:
        """Append one window of harness-health histograms."""
        self._write(self._sessions, {"record": "harness", **sample.to_dict()})

    def write_failure(self, record: Mapping[str, Any]) -> None:
        """Append one failure record (any JSON-able mapping; secrets are masked)."""
        self._write(self._failures, record)

    def finish(
        self,
        stats: RunStats,
        *,
        elapsed_s: float | None = None,
        stopped_by: str | None = None,
    ) -> SoakResults:
        """Write ``summary.json`` and ``summary.md`` from ``stats``; return what was written."""
        self.close()
        run = {
            "started_at": self.started_at,
            "started_at_utc": _utc(self.started_at),
            "elapsed_s": stats.elapsed_s if elapsed_s is None else elapsed_s,
            "stopped_by": stopped_by,
            "shards": [self.shard] if self.shard else [],
        }
        results = SoakResults(
            stats=stats, config=self.config, run=run, fail_if=self.fail_if, source="summary"
        )
        write_summary(self.out_dir, results)
        return results

    def close(self) -> None:
        """Close both files (idempotent)."""
        for out in (self._sessions, self._failures):
            if not out.closed:
                out.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- reading ---
@dataclass(slots=True)
class JsonlRead:
    """What :func:`read_jsonl` found: the objects, and how many lines it had to skip."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    truncated: bool = False


def iter_jsonl(path: Path, stats: JsonlRead | None = None) -> Iterator[dict[str, Any]]:
    """The JSON objects of ``path``, one per line, skipping lines that are not objects.

    A last line without its newline that does not parse is a write cut short (``kill -9``):
    it is skipped and marked as ``truncated`` in ``stats``; other bad lines count as skipped.
    """
    tally = stats if stats is not None else JsonlRead()
    with path.open("rb") as source:
        for raw in source:
            complete = raw.endswith(b"\n")
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                if complete:
                    tally.skipped += 1
                else:
                    tally.truncated = True
                continue
            if isinstance(obj, dict):
                yield obj
            else:
                tally.skipped += 1


def read_jsonl(path: Path) -> JsonlRead:
    """Every object of ``path`` (see :func:`iter_jsonl`); a missing file reads as empty."""
    out = JsonlRead()
    if path.exists():
        out.records.extend(iter_jsonl(path, out))
    return out


@dataclass(slots=True)
class _Rebuilt:
    stats: RunStats
    headers: list[dict[str, Any]]
    skipped: int
    truncated: bool


def rebuild_stats(path: Path) -> _Rebuilt:
    """The stats of a ``sessions.jsonl``, built from its lines alone (one section per header).

    Reads line by line, so memory does not grow with the file.
    """
    tally = JsonlRead()
    sections: list[RunStats] = []
    headers: list[dict[str, Any]] = []
    current: RunStats | None = None
    if path.exists():
        for obj in iter_jsonl(path, tally):
            kind = obj.get("record")
            if kind == "run":
                headers.append(obj)
                current = RunStats(
                    bucket_s=_positive(obj.get("bucket_s")) or 60.0,
                    started_at=_positive(obj.get("started_at")),
                )
                sections.append(current)
                continue
            if current is None:  # records before any header: a header line was lost
                current = RunStats()
                sections.append(current)
            if kind == "session":
                current.add_session(SessionRecord.from_dict(obj))
            elif kind == "harness":
                current.add_harness(HarnessSample.from_dict(obj))
            else:
                tally.skipped += 1
    try:
        stats = RunStats.merged(sections) if sections else RunStats()
    except ValueError:  # shards with different bucket widths: keep them in the first's width
        stats = sections[0]
        for other in sections[1:]:
            other.bucket_s = stats.bucket_s
            stats.merge(other)
    return _Rebuilt(stats, headers, tally.skipped, tally.truncated)


def _positive(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


@dataclass(slots=True)
class SoakResults:
    """A run's results as read back: the stats, its configuration and thresholds.

    ``source`` says where the stats came from (``summary`` or ``sessions`` when rebuilt from
    ``sessions.jsonl``); ``notes`` lists anything the reader had to work around.
    """

    stats: RunStats
    config: dict[str, Any]
    run: dict[str, Any]
    fail_if: list[str]
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        """Whether the run did not finish writing (no usable ``summary.json``)."""
        return self.source != "summary"

    def thresholds(self) -> list[ThresholdResult]:
        """The ``--fail-if`` expressions evaluated against the stats (bad ones left out)."""
        parsed = []
        for text in self.fail_if:
            try:
                parsed.extend(parse_thresholds([text]))
            except UsageError as exc:
                if str(exc) not in self.notes:
                    self.notes.append(str(exc))
        return evaluate(parsed, self.stats)

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` document."""
        return build_summary(self)


def load_results(out_dir: Path | str) -> SoakResults:
    """Read a soak directory back: ``summary.json`` when usable, else ``sessions.jsonl``.

    Raises UsageError when the directory holds neither.
    """
    directory = Path(out_dir)
    summary_path = directory / SUMMARY_FILE
    sessions_path = directory / SESSIONS_FILE
    notes: list[str] = []
    if summary_path.exists():
        try:
            data = json.loads(summary_path.read_text(encoding="utf-8"))
            stats = RunStats.from_dict(data.get("stats") if isinstance(data, dict) else None)
        except (OSError, ValueError) as exc:
            notes.append(f"{SUMMARY_FILE} unusable ({exc}); rebuilt from {SESSIONS_FILE}")
        else:
            config = data.get("config")
            run = data.get("run")
            fail_if = data.get("fail_if")
            return SoakResults(
                stats=stats,
                config=config if isinstance(config, dict) else {},
                run=run if isinstance(run, dict) else {},
                fail_if=[f for f in fail_if if isinstance(f, str)]
                if isinstance(fail_if, list)
                else [],
                source="summary",
                notes=notes,
            )
    if not sessions_path.exists():
        if notes:
            raise UsageError(f"{directory}: {notes[0].split(';')[0]} and no {SESSIONS_FILE}")
        raise UsageError(f"{directory}: no {SUMMARY_FILE} or {SESSIONS_FILE}: not a soak directory")
    rebuilt = rebuild_stats(sessions_path)
    if not summary_path.exists():
        notes.append(f"no {SUMMARY_FILE} (run stopped early?): rebuilt from {SESSIONS_FILE}")
    if rebuilt.truncated:
        notes.append(f"{SESSIONS_FILE}: last line cut short and skipped")
    if rebuilt.skipped:
        notes.append(f"{SESSIONS_FILE}: {rebuilt.skipped} unreadable lines skipped")
    first = rebuilt.headers[0] if rebuilt.headers else {}
    config = first.get("config")
    fail_if = first.get("fail_if")
    started = rebuilt.stats.started_at
    run = {
        "started_at": started,
        "started_at_utc": _utc(started),
        "elapsed_s": rebuilt.stats.elapsed_s,
        "stopped_by": None,
        "shards": [h.get("shard") for h in rebuilt.headers if isinstance(h.get("shard"), str)],
    }
    return SoakResults(
        stats=rebuilt.stats,
        config=config if isinstance(config, dict) else {},
        run=run,
        fail_if=[f for f in fail_if if isinstance(f, str)] if isinstance(fail_if, list) else [],
        source="sessions",
        notes=notes,
    )


# --- summaries ---
def build_summary(results: SoakResults) -> dict[str, Any]:
    """The ``summary.json`` document of ``results``."""
    stats = results.stats
    thresholds = results.thresholds()
    return {
        "format": RESULTS_FORMAT,
        "run": results.run,
        "config": results.config,
        "totals": {
            "sessions": stats.sessions,
            "failed": stats.failed,
            "failure_rate": round(stats.failure_rate, 6),
            "failures": stats.failure_count,
            "recycled": stats.recycled,
            "outcomes": dict(stats.outcomes),
        },
        "latency_ms": {p: stats.phase(p).to_dict() for p in stats.phase_names()},
        "failure_groups": [g.to_dict() for g in stats.sorted_groups()],
        "harness": stats.harness_verdict().to_dict(),
        "fail_if": results.fail_if,
        "thresholds": [t.to_dict() for t in thresholds],
        "failed_thresholds": [t.threshold.expression for t in thresholds if t.crossed],
        "source": results.source,
        "notes": results.notes,
        "stats": stats.to_dict(),
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_summary(out_dir: Path | str, results: SoakResults) -> dict[str, Any]:
    """Write ``summary.json`` and ``summary.md`` (each replaced whole); return the summary."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    summary = build_summary(results)
    _atomic_write(directory / SUMMARY_FILE, redact_text(json.dumps(summary, indent=1)) + "\n")
    _atomic_write(directory / SUMMARY_MD_FILE, render_markdown(summary))
    return summary


_PHASE_LABELS = {
    "connect": "connect",
    "handshake": "handshake",
    "session_created": "session.created",
    "ttfa": "time to first audio",
    "first_transcript": "first transcript delta",
    "response_done": "response.done",
    "send_lateness": "send lateness (harness)",
    "loop_lag": "event-loop lag (harness)",
}


def phase_label(phase: str) -> str:
    """A reader's name for a phase."""
    return _PHASE_LABELS.get(phase, phase)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _ms(value: object) -> str:
    return (
        f"{value:,.0f}"
        if isinstance(value, int | float) and value >= 10
        else (f"{value:.2f}" if isinstance(value, int | float) else "–")
    )


def render_markdown(summary: Mapping[str, Any]) -> str:
    """A short Markdown summary (one table of figures, one of failure groups) for a ticket."""
    run = summary.get("run") or {}
    totals = summary.get("totals") or {}
    elapsed = run.get("elapsed_s")
    lines = [
        f"### realtime-harness soak, started {run.get('started_at_utc') or '?'}"
        + (f", {elapsed / 60:.1f} min" if isinstance(elapsed, int | float) else ""),
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    rate = totals.get("failure_rate") or 0.0
    lines.append(
        f"| sessions | {totals.get('sessions', 0)} "
        f"(failed {totals.get('failed', 0)}, {rate * 100:.2f} %) |"
    )
    outcomes = totals.get("outcomes") or {}
    if outcomes:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
        lines.append(f"| outcomes | {_cell(shown)} |")
    for phase, figures in (summary.get("latency_ms") or {}).items():
        lines.append(
            f"| {_cell(phase_label(phase))} p50 / p95 / p99 (ms) | "
            f"{_ms(figures.get('p50'))} / {_ms(figures.get('p95'))} / {_ms(figures.get('p99'))} "
            f"(n={figures.get('count', 0)}) |"
        )
    harness = summary.get("harness") or {}
    lines.append(f"| harness | {_cell(harness.get('reason', '?'))} |")
    for result in summary.get("thresholds") or []:
        actual = result.get("actual")
        shown = "no samples" if actual is None else f"{actual:g}"
        verdict = "**crossed**" if result.get("crossed") else "ok"
        lines.append(f"| fail-if `{_cell(result.get('expression'))}` | {shown} {verdict} |")
    groups = summary.get("failure_groups") or []
    if groups:
        lines += ["", "| failure | count | example session ids |", "| --- | --- | --- |"]
        for group in groups[:10]:
            label = " ".join(
                str(p) for p in (group.get("kind"), group.get("type"), group.get("code")) if p
            )
            if group.get("benign"):
                label += " (benign)"
            ids = ", ".join(
                f"`{e['session_id']}`" for e in group.get("examples", []) if e.get("session_id")
            )
            lines.append(f"| {_cell(label)} | {group.get('count', 0)} | {_cell(ids) or '–'} |")
        if len(groups) > 10:
            lines.append(f"| … {len(groups) - 10} more groups | | |")
    for note in summary.get("notes") or []:
        lines.append(f"\n_{_cell(note)}_")
    return redact_text("\n".join(lines)) + "\n"
