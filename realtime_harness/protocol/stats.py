"""Soak statistics: per-phase latency histograms, outcome counters and failure groups (pure).

A soak run turns each finished session into a :class:`SessionRecord` (ids, outcome, failures,
timings in ms, its start as an offset from the run start) and adds it to a :class:`RunStats`.
The harness's own health (how late our paced sends went out, how late the event loop woke up)
arrives as :class:`HarnessSample` windows built with :class:`HarnessWindow`.

Latencies go into HDR histograms (``hdrhistogram``, imported as ``hdrh``): recording costs the
same whatever the value, percentiles are exact to three significant digits, and histograms
made in different processes or on different machines are *added*, never averaged, through
the library's compressed encoding. Memory stays flat over hours:

* one full-precision histogram per phase for the whole run;
* one time bucket per ``bucket_s`` seconds (a minute by default) with session and failure
  counters and a two-significant-digit histogram per phase for the plots over time. Only the
  few most recently touched buckets are kept as live histograms; older ones are held in the
  library's compressed encoding (a few hundred bytes each) and thawed if a late session
  reports into them;
* failure groups keyed by (kind, error type, code), at most :data:`MAX_GROUPS` of them, each
  with at most ``max_examples`` example ids.

Nothing here reads a clock or a file: elapsed times come in with the records, and
:meth:`RunStats.to_dict` / :meth:`RunStats.from_dict` give a JSON-able form for ``summary.json``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

__all__ = [
    "FORMAT",
    "HARNESS_LIMIT_MS",
    "HARNESS_PHASES",
    "MAX_GROUPS",
    "PERCENTILES",
    "PHASES",
    "RESPONSE_PHASES",
    "RESPONSE_TIMING_KEYS",
    "SESSION_PHASES",
    "BucketPoint",
    "FailureExample",
    "FailureGroup",
    "FailureRecord",
    "HarnessSample",
    "HarnessVerdict",
    "HarnessWindow",
    "Histogram",
    "PhaseSummary",
    "ResponseRecord",
    "RunStats",
    "SessionRecord",
]

#: Version tag of the serialised form.
FORMAT = "realtime-harness.stats/1"

#: Per-session phases, ms from the start of the attempt (connect, upgrade, ``session.created``).
SESSION_PHASES: tuple[str, ...] = ("connect", "handshake", "session_created")
#: Per-response phases, ms from the response request: first audio delta (time to first audio),
#: first transcript delta and ``response.done``.
RESPONSE_PHASES: tuple[str, ...] = ("ttfa", "first_transcript", "response_done")
#: The harness's own health: lateness of paced sends, event-loop lag.
HARNESS_PHASES: tuple[str, ...] = ("send_lateness", "loop_lag")
#: Every phase, in display order.
PHASES: tuple[str, ...] = SESSION_PHASES + RESPONSE_PHASES + HARNESS_PHASES

#: Keys of a response's ``timings_ms`` in a probe session result → the phase they feed.
RESPONSE_TIMING_KEYS: Mapping[str, str] = {
    "first_audio": "ttfa",
    "first_transcript": "first_transcript",
    "done": "response_done",
}

#: Percentiles shown in summaries and accepted by thresholds.
PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0)

#: Above this p99 (ms) of send lateness or loop lag, the harness was its own bottleneck: the
#: server latencies it measured include our delay and are not to be trusted.
HARNESS_LIMIT_MS = 10.0

#: Failure groups kept; later new (kind, type, code) keys are counted in one overflow group.
MAX_GROUPS = 100
_OVERFLOW_KEY = ("other", "(too many groups)", "")

# Values are recorded in microseconds: sub-millisecond resolution for send lateness, up to an
# hour for the slowest phase. Values above the range are clamped (and counted), never dropped.
_UNIT_PER_MS = 1000
_LOWEST = 1
_HIGHEST = 3_600_000_000
_DIGITS = 3
_BUCKET_DIGITS = 2
_LIVE_BUCKETS = 8


# --- histograms ---
def _units(ms: object) -> int | None:
    """``ms`` as the histograms' integer units, clamped to their range; None if it is not a
    finite number ≥ 0 (a bool is no number here)."""
    if ms.__class__ is not float and (isinstance(ms, bool) or not isinstance(ms, int | float)):
        return None
    if not math.isfinite(ms) or ms < 0:
        return None
    return min(round(ms * _UNIT_PER_MS), _HIGHEST)


class Histogram:
    """A latency histogram in ms over an HDR histogram (values kept in microseconds)."""

    __slots__ = ("_h",)

    def __init__(self, digits: int = _DIGITS, *, _h: Any = None) -> None:
        self._h: Any = _h if _h is not None else HdrHistogram(_LOWEST, _HIGHEST, digits)

    def record(self, ms: float, count: int = 1) -> bool:
        """Add ``count`` samples of ``ms``; False (nothing recorded) if it is not a finite ≥ 0."""
        value = _units(ms)
        if value is None:
            return False
        self._add(value, count)
        return True

    def _add(self, value: int, count: int = 1) -> None:
        """Add ``count`` samples of ``value`` units (in range: from :func:`_units`)."""
        # hdrh's record_value, inlined: its index maths is four method calls per value, the
        # bulk of a soak runner's per-session cost. Same slot, same totals.
        h = self._h
        half = h.sub_bucket_half_count_magnitude
        bucket = (value | h.sub_bucket_mask).bit_length() - h.unit_magnitude - half - 1
        h.counts[
            ((bucket + 1) << half)
            + (value >> (bucket + h.unit_magnitude))
            - h.sub_bucket_half_count
        ] += count
        h.total_count += count
        if value < h.min_value:
            h.min_value = value
        if value > h.max_value:
            h.max_value = value

    @property
    def count(self) -> int:
        """How many samples were recorded."""
        return int(self._h.get_total_count())

    def _nonzero(self) -> list[tuple[int, int]]:
        """(index, count) of every non-empty slot, in value order.

        The library's iterators walk every slot in Python (a second for a three-digit
        histogram); its counts are a ctypes array, which numpy scans without copying.
        """
        counts = np.ctypeslib.as_array(self._h.counts)[: self._h.counts_len]
        indices = np.flatnonzero(counts)
        return list(zip(indices.tolist(), counts[indices].tolist(), strict=True))

    def percentiles(self, percentiles: Sequence[float] = PERCENTILES) -> dict[float, float]:
        """Value in ms at each percentile (one pass over the counts); empty → no keys.

        The values are those of the library's ``get_value_at_percentile``: the highest value
        equivalent to the slot where the cumulative count reaches the percentile.
        """
        total = self.count
        if not total:
            return {}
        h = self._h
        wanted = sorted({float(p) for p in percentiles if 0.0 <= p <= 100.0})
        out: dict[float, float] = {}
        cumulative = 0
        slots = iter(self._nonzero())
        index = 0
        for p in wanted:
            target = h.get_target_count_at_percentile(p)
            while cumulative < target:
                index, n = next(slots)
                cumulative += n
            value = h.get_value_from_index(index)
            equivalent = (
                h.get_highest_equivalent_value(value) if p else h.get_lowest_equivalent_value(value)
            )
            out[p] = equivalent / _UNIT_PER_MS
        return out

    def percentile(self, percentile: float) -> float | None:
        """Value in ms at one percentile, or None when empty."""
        return self.percentiles((percentile,)).get(float(percentile))

    @property
    def max(self) -> float | None:
        """Largest value recorded (ms, to the histogram's precision), or None when empty."""
        return self._h.get_max_value() / _UNIT_PER_MS if self.count else None

    @property
    def mean(self) -> float | None:
        """Mean in ms, or None when empty."""
        total = self.count
        if not total:
            return None
        h = self._h
        weighted = 0
        for index, n in self._nonzero():
            value = h.get_value_from_index(index)
            low, high = h.get_lowest_equivalent_value(value), h.get_highest_equivalent_value(value)
            # The middle of the slot's range, as the library's own mean takes it.
            weighted += n * (low + ((high - low + 1) >> 1))
        return weighted / total / _UNIT_PER_MS

    def add(self, other: Histogram) -> None:
        """Add ``other``'s counts to this one (the way shards are merged)."""
        if other.count:
            self._h.add(other._h)

    def encode(self) -> str:
        """The library's compressed, base64 encoding ("histoblob")."""
        blob = self._h.encode()
        return blob.decode("ascii") if isinstance(blob, bytes) else str(blob)

    @classmethod
    def decode(cls, blob: str, digits: int = _DIGITS) -> Histogram:
        """A histogram (with ``digits`` precision) holding the counts of ``blob``.

        Raises ValueError when ``blob`` is not a histoblob.
        """
        if not isinstance(blob, str):
            raise ValueError("a histogram must be an encoded string")
        try:
            decoded = HdrHistogram.decode(blob.encode("ascii"))
            if (
                decoded.lowest_trackable_value == _LOWEST
                and decoded.highest_trackable_value == _HIGHEST
                and decoded.significant_figures == digits
            ):
                return cls(digits, _h=decoded)
            # Made with other settings (another version, another tool): re-recorded into ours.
            out = cls(digits)
            out._h.add(decoded)
        except Exception as exc:  # the library raises TypeError, zlib.error, its own classes
            raise ValueError(f"not an encoded histogram: {exc}") from exc
        return out

    def summary(self) -> PhaseSummary:
        """Count, percentiles, max and mean."""
        values = self.percentiles()
        return PhaseSummary(
            count=self.count,
            p50=values.get(50.0),
            p90=values.get(90.0),
            p95=values.get(95.0),
            p99=values.get(99.0),
            max=self.max,
            mean=self.mean,
        )


@dataclass(frozen=True, slots=True)
class PhaseSummary:
    """The figures of one phase's histogram, in ms (None when there were no samples)."""

    count: int
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, values rounded to µs."""
        return {
            "count": self.count,
            **{
                name: None if value is None else round(value, 3)
                for name, value in (
                    ("p50", self.p50),
                    ("p90", self.p90),
                    ("p95", self.p95),
                    ("p99", self.p99),
                    ("max", self.max),
                    ("mean", self.mean),
                )
            },
        }


# --- records ---
@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One failure of a session, reduced to what grouping and examples need.

    ``t_s`` is seconds since the session started (a failure's ``t``); ``error_type`` and
    ``code`` come from the error object when there is one.
    """

    kind: str
    error_type: str | None = None
    code: str | None = None
    session_id: str | None = None
    response_id: str | None = None
    event_id: str | None = None
    item_id: str | None = None
    t_s: float | None = None
    close_code: int | None = None
    benign: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """The group key: (kind, error type, code), missing parts as empty strings."""
        return (self.kind, self.error_type or "", self.code or "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (None fields left out)."""
        return _drop_none(
            {
                "kind": self.kind,
                "type": self.error_type,
                "code": self.code,
                "session_id": self.session_id,
                "response_id": self.response_id,
                "event_id": self.event_id,
                "item_id": self.item_id,
                "t_s": self.t_s,
                "close_code": self.close_code,
                "benign": self.benign or None,
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FailureRecord:
        """Parse the :meth:`to_dict` form, tolerating any JSON type in any field."""
        return cls(
            kind=_str(data.get("kind")) or "unknown",
            error_type=_str(data.get("type")),
            code=_str(data.get("code")),
            session_id=_str(data.get("session_id")),
            response_id=_str(data.get("response_id")),
            event_id=_str(data.get("event_id")),
            item_id=_str(data.get("item_id")),
            t_s=_num(data.get("t_s")),
            close_code=_int(data.get("close_code")),
            benign=data.get("benign") is True,
        )


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One response of a session: its id, status, when it was asked for and its timings.

    ``at_s`` is seconds since the session started; ``timings_ms`` maps a response phase
    (:data:`RESPONSE_PHASES`) to ms since the request.
    """

    response_id: str | None = None
    status: str | None = None
    at_s: float | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (None fields left out)."""
        return _drop_none(
            {
                "response_id": self.response_id,
                "status": self.status,
                "at_s": self.at_s,
                "timings_ms": dict(self.timings_ms),
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResponseRecord:
        """Parse the :meth:`to_dict` form, tolerating any JSON type in any field."""
        return cls(
            response_id=_str(data.get("response_id")),
            status=_str(data.get("status")),
            at_s=_num(data.get("at_s")),
            timings_ms=_timings(data.get("timings_ms")),
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What one finished session contributes to the statistics.

    ``start_s`` is when it started, in seconds since the run started; ``duration_s`` how long it
    lasted. ``outcome`` is an :class:`~realtime_harness.protocol.outcome.Outcome` value
    (``"clean"``, ``"server_failure"``…); any other outcome counts as failed. ``recycled`` marks
    a session the runner ended on purpose before the server's maximum session length: that is
    not a failure. ``timings_ms`` maps a session phase (:data:`SESSION_PHASES`) to ms.
    """

    start_s: float
    outcome: str
    duration_s: float | None = None
    session_id: str | None = None
    client_request_id: str | None = None
    recycled: bool = False
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    responses: tuple[ResponseRecord, ...] = ()
    failures: tuple[FailureRecord, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether the session counts as failed (any outcome but clean)."""
        return self.outcome != "clean"

    @property
    def end_s(self) -> float:
        """When it ended, in seconds since the run started."""
        return self.start_s + (self.duration_s or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, one line of ``sessions.jsonl`` (without its ``record`` tag)."""
        return _drop_none(
            {
                "start_s": round(self.start_s, 6),
                "duration_s": None if self.duration_s is None else round(self.duration_s, 6),
                "outcome": self.outcome,
                "session_id": self.session_id,
                "client_request_id": self.client_request_id,
                "recycled": self.recycled or None,
                "timings_ms": dict(self.timings_ms),
                "responses": [r.to_dict() for r in self.responses],
                "failures": [f.to_dict() for f in self.failures],
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionRecord:
        """Parse the :meth:`to_dict` form, tolerating any JSON type in any field.

        A missing start counts as the run start; a missing outcome as ``"unknown"`` (failed).
        """
        responses = data.get("responses")
        failures = data.get("failures")
        return cls(
            start_s=max(_num(data.get("start_s")) or 0.0, 0.0),
            outcome=_str(data.get("outcome")) or "unknown",
            duration_s=_num(data.get("duration_s")),
            session_id=_str(data.get("session_id")),
            client_request_id=_str(data.get("client_request_id")),
            recycled=data.get("recycled") is True,
            timings_ms=_timings(data.get("timings_ms")),
            responses=tuple(
                ResponseRecord.from_dict(r)
                for r in (responses if isinstance(responses, list) else ())
                if isinstance(r, Mapping)
            ),
            failures=tuple(
                FailureRecord.from_dict(f)
                for f in (failures if isinstance(failures, list) else ())
                if isinstance(f, Mapping)
            ),
        )


@dataclass(frozen=True, slots=True)
class HarnessSample:
    """A window of harness-health samples: encoded histograms of send lateness and loop lag.

    ``at_s`` is the end of the window in seconds since the run started.
    """

    at_s: float
    histograms: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, one line of ``sessions.jsonl`` (without its ``record`` tag)."""
        return {"at_s": round(self.at_s, 6), "histograms": dict(self.histograms)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HarnessSample:
        """Parse the :meth:`to_dict` form; non-string histograms are left out."""
        hists = data.get("histograms")
        return cls(
            at_s=max(_num(data.get("at_s")) or 0.0, 0.0),
            histograms={
                str(k): v
                for k, v in (hists.items() if isinstance(hists, Mapping) else ())
                if isinstance(v, str)
            },
        )


class HarnessWindow:
    """Collects send lateness and loop lag between two flushes (the runner flushes each minute).

    Send lateness is sampled on every paced append (ten a second per session), so recording
    must be cheap: a sample is one dict increment keyed by whole microseconds, and the counts
    go into histograms only at :meth:`flush`, which hands back the window as a
    :class:`HarnessSample` (to write and to add to the stats) and starts a new one.
    """

    def __init__(self) -> None:
        self._counts: dict[str, dict[int, int]] = {phase: {} for phase in HARNESS_PHASES}
        self.invalid = 0

    def _add(self, phase: str, ms: float) -> None:
        try:
            micros = round(ms * _UNIT_PER_MS)
        except (TypeError, ValueError, OverflowError):  # NaN, inf, not a number
            self.invalid += 1
            return
        if micros < 0 or isinstance(ms, bool):
            self.invalid += 1
            return
        counts = self._counts[phase]
        counts[micros] = counts.get(micros, 0) + 1

    def send_lateness(self, ms: float) -> None:
        """How late one paced send went out compared with its schedule."""
        self._add("send_lateness", ms)

    def loop_lag(self, ms: float) -> None:
        """How late one event-loop tick woke up compared with its schedule."""
        self._add("loop_lag", ms)

    @property
    def empty(self) -> bool:
        """Whether nothing was recorded since the last flush."""
        return not any(self._counts.values())

    def flush(self, at_s: float) -> HarnessSample:
        """The window so far, ending at ``at_s`` seconds since the run started; then reset."""
        histograms: dict[str, str] = {}
        for phase, counts in self._counts.items():
            if counts:
                hist = Histogram()
                for micros, n in counts.items():
                    hist.record(micros / _UNIT_PER_MS, n)
                histograms[phase] = hist.encode()
        self._counts = {phase: {} for phase in HARNESS_PHASES}
        return HarnessSample(at_s=at_s, histograms=histograms)


# --- failure groups ---
@dataclass(frozen=True, slots=True)
class FailureExample:
    """The ids of one failure of a group, and when it happened (s since the run started)."""

    at_s: float
    session_id: str | None = None
    response_id: str | None = None
    event_id: str | None = None
    item_id: str | None = None
    close_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (None fields left out)."""
        return _drop_none(
            {
                "at_s": round(self.at_s, 3),
                "session_id": self.session_id,
                "response_id": self.response_id,
                "event_id": self.event_id,
                "item_id": self.item_id,
                "close_code": self.close_code,
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FailureExample:
        """Parse the :meth:`to_dict` form, tolerating any JSON type in any field."""
        return cls(
            at_s=_num(data.get("at_s")) or 0.0,
            session_id=_str(data.get("session_id")),
            response_id=_str(data.get("response_id")),
            event_id=_str(data.get("event_id")),
            item_id=_str(data.get("item_id")),
            close_code=_int(data.get("close_code")),
        )


@dataclass(slots=True)
class FailureGroup:
    """Failures sharing (kind, error type, code): how many, and the first few examples."""

    kind: str
    error_type: str
    code: str
    benign: bool = False
    count: int = 0
    examples: list[FailureExample] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, error type, code)."""
        return (self.kind, self.error_type, self.code)

    @property
    def label(self) -> str:
        """``kind`` with ``type/code`` when known, e.g. ``response_failed server_error``."""
        detail = "/".join(part for part in (self.error_type, self.code) if part)
        return f"{self.kind} {detail}".strip()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": self.kind,
            "type": self.error_type,
            "code": self.code,
            "benign": self.benign,
            "count": self.count,
            "examples": [e.to_dict() for e in self.examples],
        }


# --- time buckets ---
@dataclass(slots=True)
class _Bucket:
    sessions: int = 0
    failed: int = 0
    failures: dict[tuple[str, str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BucketPoint:
    """One point of the run over time: a span of ``span_s`` seconds starting ``start_s``.

    ``sessions``/``failed`` count sessions that *ended* in the span; ``failures`` counts failure
    records by group key; ``phases`` holds each phase's figures over the span.
    """

    start_s: float
    span_s: float
    sessions: int
    failed: int
    failures: Mapping[tuple[str, str, str], int]
    phases: Mapping[str, PhaseSummary]

    @property
    def failure_rate(self) -> float | None:
        """Failed over ended sessions in the span, or None when none ended."""
        return self.failed / self.sessions if self.sessions else None


class _BucketHistograms:
    """Per-bucket histograms; the few most recently touched live, the rest encoded."""

    def __init__(self, live: int = _LIVE_BUCKETS) -> None:
        self._limit = live
        self._live: OrderedDict[int, dict[str, Histogram]] = OrderedDict()
        self._frozen: dict[int, dict[str, str]] = {}

    def get(self, index: int) -> dict[str, Histogram]:
        hists = self._live.get(index)
        if hists is not None:
            self._live.move_to_end(index)
            return hists
        blobs = self._frozen.pop(index, {})
        hists = {p: Histogram.decode(b, _BUCKET_DIGITS) for p, b in blobs.items()}
        self._live[index] = hists
        while len(self._live) > self._limit:
            old, old_hists = self._live.popitem(last=False)
            self._frozen[old] = {p: h.encode() for p, h in old_hists.items() if h.count}
        return hists

    def add_encoded(self, index: int, phase: str, blob: str) -> None:
        hists = self.get(index)
        incoming = Histogram.decode(blob, _BUCKET_DIGITS)
        if phase in hists:
            hists[phase].add(incoming)
        else:
            hists[phase] = incoming

    def indices(self) -> set[int]:
        return set(self._live) | set(self._frozen)

    def peek(self, index: int) -> dict[str, Histogram]:
        """The bucket's histograms without changing which buckets are live (for reading)."""
        if index in self._live:
            return self._live[index]
        return {
            p: Histogram.decode(b, _BUCKET_DIGITS) for p, b in self._frozen.get(index, {}).items()
        }

    def encoded(self, index: int) -> dict[str, str]:
        if index in self._live:
            return {p: h.encode() for p, h in self._live[index].items() if h.count}
        return dict(self._frozen.get(index, {}))


# --- the collector ---
@dataclass(frozen=True, slots=True)
class HarnessVerdict:
    """Whether the harness was its own bottleneck (its latency figures are then not trusted)."""

    bottleneck: bool
    send_lateness_p99_ms: float | None
    loop_lag_p99_ms: float | None
    limit_ms: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "bottleneck": self.bottleneck,
            "send_lateness_p99_ms": self.send_lateness_p99_ms,
            "loop_lag_p99_ms": self.loop_lag_p99_ms,
            "limit_ms": self.limit_ms,
            "reason": self.reason,
        }


class RunStats:
    """Everything a soak run (or a shard of one) measured, mergeable with other shards.

    ``bucket_s`` is the width of the time buckets; ``started_at`` (seconds since the epoch,
    optional) lines shards up in time when they are merged.
    """

    def __init__(
        self,
        *,
        bucket_s: float = 60.0,
        started_at: float | None = None,
        max_examples: int = 5,
    ) -> None:
        if not bucket_s > 0:
            raise ValueError("bucket_s must be positive")
        self.bucket_s = float(bucket_s)
        self.started_at = started_at
        self.max_examples = max_examples
        self.sessions = 0
        self.failed = 0
        self.recycled = 0
        self.outcomes: dict[str, int] = {}
        self.invalid_values = 0
        self.histograms: dict[str, Histogram] = {}
        self.groups: dict[tuple[str, str, str], FailureGroup] = {}
        self.elapsed_s = 0.0
        self._buckets: dict[int, _Bucket] = {}
        self._bucket_hists = _BucketHistograms()

    # -- recording --
    def _bucket_index(self, at_s: float) -> int:
        return max(int(at_s // self.bucket_s), 0)

    def _bucket(self, index: int) -> _Bucket:
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = _Bucket()
        return bucket

    def _hist(self, phase: str) -> Histogram:
        hist = self.histograms.get(phase)
        if hist is None:
            hist = self.histograms[phase] = Histogram()
        return hist

    def _record_all(self, timings: Mapping[str, float], at_s: float) -> None:
        """Record every phase of ``timings`` (all at ``at_s``) in the run's and the bucket's
        histograms: the bucket is looked up once, each value converted once."""
        if not timings:
            return
        bucket = self._bucket_hists.get(self._bucket_index(at_s))
        histograms = self.histograms
        for phase, ms in timings.items():
            value = _units(ms)
            if value is None:
                self.invalid_values += 1
                continue
            hist = histograms.get(phase)
            if hist is None:
                hist = histograms[phase] = Histogram()
            hist._add(value)
            local = bucket.get(phase)
            if local is None:
                local = bucket[phase] = Histogram(_BUCKET_DIGITS)
            local._add(value)

    def add_session(self, record: SessionRecord) -> None:
        """Count one finished session: outcome, latencies, failures, each in its time bucket."""
        self.sessions += 1
        self.outcomes[record.outcome] = self.outcomes.get(record.outcome, 0) + 1
        self.recycled += record.recycled
        end = self._bucket(self._bucket_index(record.end_s))
        end.sessions += 1
        if record.failed:
            self.failed += 1
            end.failed += 1
        self.elapsed_s = max(self.elapsed_s, record.end_s)
        self._record_all(record.timings_ms, record.start_s)
        for response in record.responses:
            self._record_all(response.timings_ms, record.start_s + (response.at_s or 0.0))
        for failure in record.failures:
            self._add_failure(record, failure)

    def _add_failure(self, record: SessionRecord, failure: FailureRecord) -> None:
        at = record.start_s + max(failure.t_s or 0.0, 0.0)
        key = failure.key
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= MAX_GROUPS:
                key = _OVERFLOW_KEY
                group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = FailureGroup(*key, benign=failure.benign)
        group.count += 1
        if len(group.examples) < self.max_examples:
            group.examples.append(
                FailureExample(
                    at_s=at,
                    session_id=failure.session_id or record.session_id,
                    response_id=failure.response_id,
                    event_id=failure.event_id,
                    item_id=failure.item_id,
                    close_code=failure.close_code,
                )
            )
        bucket = self._bucket(self._bucket_index(at))
        bucket.failures[key] = bucket.failures.get(key, 0) + 1

    def add_harness(self, sample: HarnessSample) -> None:
        """Add one window of harness-health histograms (bucketed by the window's end)."""
        index = self._bucket_index(max(sample.at_s - 1e-9, 0.0))
        for phase, blob in sample.histograms.items():
            try:
                incoming = Histogram.decode(blob)
            except ValueError:
                self.invalid_values += 1
                continue
            self._hist(phase).add(incoming)
            self._bucket_hists.add_encoded(index, phase, blob)
        self.elapsed_s = max(self.elapsed_s, sample.at_s)

    # -- reading --
    @property
    def failure_rate(self) -> float:
        """Failed sessions over finished sessions (0 when none finished)."""
        return self.failed / self.sessions if self.sessions else 0.0

    @property
    def failure_count(self) -> int:
        """How many failure records were seen (benign ones included)."""
        return sum(g.count for g in self.groups.values())

    def phase(self, phase: str) -> PhaseSummary:
        """The figures of one phase (count 0 when it has no samples)."""
        hist = self.histograms.get(phase)
        return hist.summary() if hist is not None else PhaseSummary(count=0)

    def phase_names(self) -> list[str]:
        """Phases with samples: the known ones in display order, then any others sorted."""
        known = [p for p in PHASES if p in self.histograms and self.histograms[p].count]
        extra = sorted(p for p in self.histograms if p not in PHASES and self.histograms[p].count)
        return known + extra

    def sorted_groups(self) -> list[FailureGroup]:
        """Failure groups, largest first (benign ones last)."""
        return sorted(self.groups.values(), key=lambda g: (g.benign, -g.count, g.key))

    def harness_verdict(self, limit_ms: float = HARNESS_LIMIT_MS) -> HarnessVerdict:
        """Whether send lateness or loop lag p99 went over ``limit_ms``."""
        lateness = self.phase("send_lateness").p99
        lag = self.phase("loop_lag").p99
        over = [
            f"{name} p99 {value:.1f} ms > {limit_ms:g} ms"
            for name, value in (("send lateness", lateness), ("loop lag", lag))
            if value is not None and value > limit_ms
        ]
        if over:
            reason = "; ".join(over) + ": the harness was the bottleneck, latencies not trusted"
        elif lateness is None and lag is None:
            reason = "no harness samples recorded"
        else:
            reason = f"harness kept up (p99 within {limit_ms:g} ms)"
        return HarnessVerdict(
            bottleneck=bool(over),
            send_lateness_p99_ms=lateness,
            loop_lag_p99_ms=lag,
            limit_ms=limit_ms,
            reason=reason,
        )

    def timeline(self, max_points: int = 360) -> list[BucketPoint]:
        """The run over time, one point per bucket (adjacent buckets joined past ``max_points``).

        Empty buckets between the first and last are included, so plots show the gaps.
        """
        indices = set(self._buckets) | self._bucket_hists.indices()
        if not indices:
            return []
        last = max(indices)
        step = max(1, math.ceil((last + 1) / max(max_points, 1)))
        points: list[BucketPoint] = []
        for first in range(0, last + 1, step):
            sessions = failed = 0
            failures: dict[tuple[str, str, str], int] = {}
            hists: dict[str, Histogram] = {}
            for index in range(first, min(first + step, last + 1)):
                bucket = self._buckets.get(index)
                if bucket is not None:
                    sessions += bucket.sessions
                    failed += bucket.failed
                    for key, n in bucket.failures.items():
                        failures[key] = failures.get(key, 0) + n
                for phase, hist in self._bucket_hists.peek(index).items():
                    if step == 1:
                        hists[phase] = hist  # read only: no copy needed
                        continue
                    if phase not in hists:
                        hists[phase] = Histogram(_BUCKET_DIGITS)
                    hists[phase].add(hist)
            points.append(
                BucketPoint(
                    start_s=first * self.bucket_s,
                    span_s=step * self.bucket_s,
                    sessions=sessions,
                    failed=failed,
                    failures=failures,
                    phases={p: h.summary() for p, h in hists.items() if h.count},
                )
            )
        return points

    # -- merging --
    def merge(self, other: RunStats) -> None:
        """Add ``other`` (another shard) into this one: histograms added, counters summed.

        When both know their ``started_at``, the later shard's buckets move by whole buckets
        so that they line up in time; the merged run starts at the earlier ``started_at``.
        Raises ValueError when the bucket widths differ.
        """
        if other.bucket_s != self.bucket_s:
            raise ValueError(
                f"cannot merge stats with {other.bucket_s:g} s buckets into {self.bucket_s:g} s"
            )
        shift_self = shift_other = 0
        if self.started_at is not None and other.started_at is not None:
            delta = round((other.started_at - self.started_at) / self.bucket_s)
            if delta >= 0:
                shift_other = delta
            else:
                shift_self = -delta
                self.started_at = other.started_at
        elif self.started_at is None:
            self.started_at = other.started_at
        if shift_self:
            self._shift(shift_self)
        self.sessions += other.sessions
        self.failed += other.failed
        self.recycled += other.recycled
        self.invalid_values += other.invalid_values
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s + shift_other * self.bucket_s)
        for outcome, n in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
        for phase, hist in other.histograms.items():
            self._hist(phase).add(hist)
        for key, group in other.groups.items():
            self._merge_group(key, group, shift_other * self.bucket_s)
        for index, bucket in other._buckets.items():
            mine = self._bucket(index + shift_other)
            mine.sessions += bucket.sessions
            mine.failed += bucket.failed
            for key, n in bucket.failures.items():
                if key not in self.groups:
                    key = _OVERFLOW_KEY
                mine.failures[key] = mine.failures.get(key, 0) + n
        for index in sorted(other._bucket_hists.indices()):
            for phase, blob in other._bucket_hists.encoded(index).items():
                self._bucket_hists.add_encoded(index + shift_other, phase, blob)

    def _merge_group(self, key: tuple[str, str, str], group: FailureGroup, shift: float) -> None:
        mine = self.groups.get(key)
        if mine is None:
            if len(self.groups) >= MAX_GROUPS and key != _OVERFLOW_KEY:
                key = _OVERFLOW_KEY
                mine = self.groups.get(key)
            if mine is None:
                mine = self.groups[key] = FailureGroup(*key, benign=group.benign)
        mine.count += group.count
        room = self.max_examples - len(mine.examples)
        for example in group.examples[: max(room, 0)]:
            mine.examples.append(
                FailureExample(
                    at_s=example.at_s + shift,
                    session_id=example.session_id,
                    response_id=example.response_id,
                    event_id=example.event_id,
                    item_id=example.item_id,
                    close_code=example.close_code,
                )
            )

    def _shift(self, buckets: int) -> None:
        """Move every time bucket later by ``buckets`` (the run now starts earlier)."""
        shift_s = buckets * self.bucket_s
        self._buckets = {i + buckets: b for i, b in self._buckets.items()}
        old = self._bucket_hists
        self._bucket_hists = _BucketHistograms()
        for index in sorted(old.indices()):
            for phase, blob in old.encoded(index).items():
                self._bucket_hists.add_encoded(index + buckets, phase, blob)
        for group in self.groups.values():
            group.examples = [
                FailureExample(
                    at_s=e.at_s + shift_s,
                    session_id=e.session_id,
                    response_id=e.response_id,
                    event_id=e.event_id,
                    item_id=e.item_id,
                    close_code=e.close_code,
                )
                for e in group.examples
            ]
        self.elapsed_s += shift_s

    @classmethod
    def merged(cls, shards: Iterable[RunStats]) -> RunStats:
        """A new :class:`RunStats` holding the sum of ``shards`` (empty when there are none)."""
        shards = list(shards)
        out = cls(
            bucket_s=shards[0].bucket_s if shards else 60.0,
            max_examples=max((s.max_examples for s in shards), default=5),
        )
        for shard in sorted(shards, key=lambda s: (s.started_at is None, s.started_at or 0.0)):
            out.merge(shard)
        return out

    # -- serialising --
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (histograms in the library's compressed encoding)."""
        group_index = {key: i for i, key in enumerate(self.groups)}
        buckets = []
        for index in sorted(set(self._buckets) | self._bucket_hists.indices()):
            bucket = self._buckets.get(index, _Bucket())
            buckets.append(
                {
                    "i": index,
                    "sessions": bucket.sessions,
                    "failed": bucket.failed,
                    "failures": [[group_index[k], n] for k, n in bucket.failures.items()],
                    "histograms": self._bucket_hists.encoded(index),
                }
            )
        return {
            "format": FORMAT,
            "bucket_s": self.bucket_s,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 6),
            "max_examples": self.max_examples,
            "sessions": self.sessions,
            "failed": self.failed,
            "recycled": self.recycled,
            "outcomes": dict(self.outcomes),
            "invalid_values": self.invalid_values,
            "histograms": {p: h.encode() for p, h in self.histograms.items()},
            "groups": [g.to_dict() for g in self.groups.values()],
            "buckets": buckets,
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunStats:
        """Rebuild from :meth:`to_dict`'s form. Raises ValueError when it is not that form."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document")
        bucket_s = _num(data.get("bucket_s"))
        out = cls(
            bucket_s=bucket_s if bucket_s and bucket_s > 0 else 60.0,
            started_at=_num(data.get("started_at")),
            max_examples=_int(data.get("max_examples")) or 5,
        )
        out.sessions = _count(data.get("sessions"))
        out.failed = _count(data.get("failed"))
        out.recycled = _count(data.get("recycled"))
        out.invalid_values = _count(data.get("invalid_values"))
        out.elapsed_s = max(_num(data.get("elapsed_s")) or 0.0, 0.0)
        outcomes = data.get("outcomes")
        if isinstance(outcomes, Mapping):
            out.outcomes = {str(k): _count(v) for k, v in outcomes.items()}
        hists = data.get("histograms")
        for phase, blob in hists.items() if isinstance(hists, Mapping) else ():
            out.histograms[str(phase)] = Histogram.decode(blob)
        keys: list[tuple[str, str, str]] = []
        for raw in _list(data.get("groups")):
            if not isinstance(raw, Mapping):
                continue
            group = FailureGroup(
                kind=_str(raw.get("kind")) or "unknown",
                error_type=_str(raw.get("type")) or "",
                code=_str(raw.get("code")) or "",
                benign=raw.get("benign") is True,
                count=_count(raw.get("count")),
                examples=[
                    FailureExample.from_dict(e)
                    for e in _list(raw.get("examples"))
                    if isinstance(e, Mapping)
                ][: out.max_examples],
            )
            keys.append(group.key)
            out.groups[group.key] = group
        for raw in _list(data.get("buckets")):
            if not isinstance(raw, Mapping):
                continue
            index = _int(raw.get("i"))
            if index is None or index < 0:
                continue
            bucket = out._bucket(index)
            bucket.sessions += _count(raw.get("sessions"))
            bucket.failed += _count(raw.get("failed"))
            for pair in _list(raw.get("failures")):
                if isinstance(pair, list) and len(pair) == 2:
                    gi, n = _int(pair[0]), _count(pair[1])
                    if gi is not None and 0 <= gi < len(keys):
                        bucket.failures[keys[gi]] = bucket.failures.get(keys[gi], 0) + n
            bucket_hists = raw.get("histograms")
            for phase, blob in bucket_hists.items() if isinstance(bucket_hists, Mapping) else ():
                out._bucket_hists.add_encoded(index, str(phase), blob)
        return out

    def iter_examples(self) -> Iterator[tuple[FailureGroup, FailureExample]]:
        """Every kept example with its group, groups in :meth:`sorted_groups` order."""
        for group in self.sorted_groups():
            for example in group.examples:
                yield group, example


# --- lenient field readers (a file may hold any JSON type in any field) ---
def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _count(value: object) -> int:
    number = _int(value)
    return number if number is not None and number > 0 else 0


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _timings(value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, float] = {}
    for key, raw in value.items():
        number = _num(raw)
        if number is not None:
            out[str(key)] = number
    return out


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
