"""The load shape of a soak: a pure function of elapsed time, built from k6-style stages.

A shape is either a number of concurrent sessions (closed loop: each simulated user runs a
session, thinks, and starts the next) or a rate of new sessions (open loop). ``--ramp`` reads
like k6's stages::

    0->500 over 5m, hold 1h          ramp from 0 to 500 users in 5 minutes, then hold for an hour
    0→60/min over 10m, hold 2h       the same for a rate of new sessions
    100 for 10m, 200 for 10m         steps
    ->50 over 1m                     ramp from the previous level

Durations read like ``90s``, ``10m``, ``2h``, ``1h30m`` (also ``500ms``); rates like
``60/min``, ``2/s``, ``3600/h``. :meth:`LoadShape.tick` is the function the runner calls; it
returns None once the shape is over.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from realtime_harness.exceptions import UsageError

__all__ = [
    "LoadShape",
    "ShapeKind",
    "Stage",
    "build_shape",
    "format_duration",
    "parse_duration",
    "parse_ramp",
    "parse_rate",
]

ShapeKind = Literal["concurrency", "rate"]

_DURATION_FORM = "a duration like 90s, 10m, 2h or 1h30m"
_RATE_FORM = "a rate like 60/min, 2/s or 3600/h"
_RAMP_FORM = "stages like '0->500 over 5m, hold 1h' (also 'N for 10m', '->N over 1m')"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*/\s*([a-z]+)$")
_RATE_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
}
_LEVEL_RE = re.compile(r"^\d+(?:\.\d+)?$")


def parse_duration(text: str, *, what: str = "duration") -> float:
    """Seconds in ``text`` (``90s``, ``10m``, ``2h``, ``1h30m``, ``1.5h``, ``500ms``).

    Raises UsageError naming ``what`` and the expected form; a bare number is refused because
    ``10`` could mean seconds or minutes.
    """
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise UsageError(f"{what}: empty; expected {_DURATION_FORM}")
    total = 0.0
    pos = 0
    seen: set[str] = set()
    for match in _DURATION_PART.finditer(cleaned):
        unit = match.group(2)
        if match.start() != pos or unit in seen:
            break
        seen.add(unit)
        total += float(match.group(1)) * _DURATION_UNITS[unit]
        pos = match.end()
    if pos != len(cleaned) or not seen:
        raise UsageError(f"{what}: {text.strip()!r} is not {_DURATION_FORM}")
    return total


def format_duration(seconds: float) -> str:
    """``seconds`` the way :func:`parse_duration` reads it: ``1h30m``, ``90s``, ``2.5s``."""
    if not math.isfinite(seconds):
        return "∞"
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return "".join(parts) or "0s"


def parse_rate(text: str, *, what: str = "rate") -> float:
    """New sessions per second in ``text`` (``60/min``, ``2/s``, ``3600/h``)."""
    match = _RATE_RE.match(text.strip().lower())
    if match is None or match.group(2) not in _RATE_UNITS:
        raise UsageError(f"{what}: {text.strip()!r} is not {_RATE_FORM}")
    return float(match.group(1)) / _RATE_UNITS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Stage:
    """A linear change from ``start`` to ``end`` over ``duration_s`` seconds (equal: a hold)."""

    duration_s: float
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class LoadShape:
    """Stages of concurrency (users) or rate (new sessions per second), one after the other.

    A shape with no stages (or whose last stage is endless) runs until the runner stops it.
    """

    kind: ShapeKind
    stages: tuple[Stage, ...]

    @classmethod
    def constant(cls, kind: ShapeKind, level: float, duration_s: float = math.inf) -> LoadShape:
        """``level`` for ``duration_s`` seconds (forever by default)."""
        return cls(kind, (Stage(duration_s, level, level),))

    @property
    def total_s(self) -> float:
        """When the shape ends, in seconds (``inf`` when it does not)."""
        return sum(stage.duration_s for stage in self.stages)

    @property
    def peak(self) -> float:
        """The highest level of any stage."""
        return max((max(s.start, s.end) for s in self.stages), default=0.0)

    def level(self, elapsed_s: float) -> float | None:
        """The exact (unrounded) level at ``elapsed_s``; None once the shape is over."""
        t = max(elapsed_s, 0.0)
        for stage in self.stages:
            if t < stage.duration_s:
                if stage.start == stage.end or math.isinf(stage.duration_s):
                    return stage.start
                return stage.start + (stage.end - stage.start) * t / stage.duration_s
            t -= stage.duration_s
        return None

    def tick(self, elapsed_s: float) -> float | None:
        """The target at ``elapsed_s`` seconds into the run, or None when the run should stop.

        Closed loop: the number of concurrent sessions (a whole number, rounded down while
        ramping so that a ramp never overshoots). Open loop: new sessions per second.
        """
        value = self.level(elapsed_s)
        if value is None or self.kind == "rate":
            return value
        # A little slack so that 0.1 * 30 users (2.9999…) still counts as 3.
        return float(math.floor(value + 1e-9))

    def with_duration(self, duration_s: float) -> LoadShape:
        """The shape cut at ``duration_s``, or held at its last level until then."""
        stages: list[Stage] = []
        left = duration_s
        for stage in self.stages:
            if left <= 0:
                break
            if stage.duration_s <= left:
                stages.append(stage)
                left -= stage.duration_s
                continue
            frac = left / stage.duration_s
            end = stage.start + (stage.end - stage.start) * frac
            stages.append(Stage(left, stage.start, end))
            left = 0
        if left > 0:
            last = stages[-1].end if stages else 0.0
            stages.append(Stage(left, last, last))
        return LoadShape(self.kind, tuple(stages))

    def describe(self) -> str:
        """The stages as ``--ramp`` would read them."""
        return ", ".join(self._describe(stage) for stage in self.stages)

    def _level_text(self, value: float) -> str:
        if self.kind == "rate":
            per_min = value * 60
            return f"{per_min:g}/min"
        return f"{value:g}"

    def _describe(self, stage: Stage) -> str:
        span = format_duration(stage.duration_s)
        if stage.start == stage.end:
            return f"{self._level_text(stage.start)} for {span}"
        return f"{self._level_text(stage.start)}->{self._level_text(stage.end)} over {span}"


def _level(text: str, part: str) -> tuple[float, ShapeKind | None]:
    """A level and the kind it implies (None for a bare 0, which fits both)."""
    text = text.strip()
    if "/" in text:
        return parse_rate(text, what=f"--ramp stage {part!r}"), "rate"
    if _LEVEL_RE.match(text):
        value = float(text)
        if value != int(value):
            raise UsageError(
                f"--ramp stage {part!r}: {text!r} users is not a whole number; "
                f"expected {_RAMP_FORM}"
            )
        return value, (None if value == 0 else "concurrency")
    raise UsageError(
        f"--ramp stage {part!r}: {text!r} is neither a number of sessions nor {_RATE_FORM}"
    )


_RAMP_RE = re.compile(r"^(?P<start>[^\s>-][^>]*?)?\s*(?:->|→)\s*(?P<end>\S+)\s+over\s+(?P<d>.+)$")
_HOLD_RE = re.compile(r"^hold\s+(?P<d>.+)$")
_FOR_RE = re.compile(r"^(?P<level>\S+)\s+for\s+(?P<d>.+)$")


def parse_ramp(text: str) -> LoadShape:
    """The shape in a ``--ramp`` string; UsageError naming the bad stage and the form."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise UsageError(f"--ramp: {text.strip()!r} has an empty stage; expected {_RAMP_FORM}")
    kinds: set[ShapeKind] = set()
    stages: list[Stage] = []
    current: float | None = None
    for part in parts:
        lowered = part.lower()
        if match := _RAMP_RE.match(lowered):
            duration = parse_duration(match.group("d"), what=f"--ramp stage {part!r}")
            end, kind_end = _level(match.group("end"), part)
            if match.group("start") is not None:
                start, kind_start = _level(match.group("start"), part)
                kinds.update(k for k in (kind_start,) if k)
            elif current is not None:
                start = current
            else:
                start = 0.0
            kinds.update(k for k in (kind_end,) if k)
            stages.append(Stage(duration, start, end))
            current = end
        elif match := _HOLD_RE.match(lowered):
            if current is None:
                raise UsageError(
                    f"--ramp stage {part!r}: nothing to hold yet; start with a level, "
                    f"e.g. '0->500 over 5m, hold 1h'"
                )
            duration = parse_duration(match.group("d"), what=f"--ramp stage {part!r}")
            stages.append(Stage(duration, current, current))
        elif match := _FOR_RE.match(lowered):
            level, level_kind = _level(match.group("level"), part)
            kinds.update(k for k in (level_kind,) if k)
            duration = parse_duration(match.group("d"), what=f"--ramp stage {part!r}")
            stages.append(Stage(duration, level, level))
            current = level
        else:
            raise UsageError(f"--ramp stage {part!r}: expected {_RAMP_FORM}")
    if len(kinds) > 1:
        raise UsageError(
            f"--ramp: {text.strip()!r} mixes numbers of sessions and rates; use one kind"
        )
    kind: ShapeKind = kinds.pop() if kinds else "concurrency"
    return LoadShape(kind, tuple(stages))


def build_shape(
    *,
    ramp: str | None = None,
    sessions: int | None = None,
    rate: str | None = None,
    duration: str | None = None,
) -> LoadShape:
    """The shape from the soak options: ``--ramp``, or ``--sessions N`` or ``--rate R``.

    ``--duration`` cuts a ramp or holds its last level until then; without it a constant shape
    runs until stopped and a ramp ends with its last stage.
    """
    given = [name for name, v in (("--sessions", sessions), ("--rate", rate)) if v is not None]
    if len(given) > 1:
        raise UsageError("--sessions and --rate exclude each other: closed or open loop, pick one")
    if ramp is not None and given:
        raise UsageError(f"--ramp sets the levels itself; drop {given[0]}")
    total = parse_duration(duration, what="--duration") if duration is not None else None
    if total is not None and total <= 0:
        raise UsageError("--duration: must be longer than 0s")
    if ramp is not None:
        shape = parse_ramp(ramp)
    elif rate is not None:
        shape = LoadShape.constant("rate", parse_rate(rate, what="--rate"))
    else:
        users = 1 if sessions is None else sessions
        if users < 1:
            raise UsageError(f"--sessions: {users} is not a positive number of sessions")
        shape = LoadShape.constant("concurrency", users)
    return shape.with_duration(total) if total is not None else shape
