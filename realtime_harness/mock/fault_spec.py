"""Fault specs for the mock server: parsing, the plan that decides when to inject, ledger records.

What each kind does to a session lives in :mod:`realtime_harness.mock.faults`, one transform per
kind.

Sans-I/O: no asyncio, sockets or clocks. Time comes in as an argument and randomness from the
seeded :class:`random.Random` of the session that asks, so a run is reproducible from its seed.

A fault spec is one readable string, ``KIND[:key=value[,key=value…]]``, for example
``server_error:rate=0.1,after_deltas=3`` or ``drop:count=1,after_deltas=5``. Keys:

``rate``
    probability (0–1) that an opportunity is taken (default 1).
``count``
    inject at most this many times in the server's lifetime (default unlimited).
``skip``
    let this many opportunities pass before the fault may fire (default 0).
``after_deltas``
    for faults in the ``response`` phase: fire after this many ``*.delta`` events (default 2).
``phase``
    where the fault fires: ``response`` (mid-response, default), ``session`` (right after
    ``session.created``), ``update`` (after ``session.updated``) or ``commit`` (after
    ``input_audio_buffer.committed``). Handshake faults always fire at the handshake.
``delay``
    seconds, for ``slow_handshake`` (default 2) and ``expire`` (seconds after session start,
    default 1).
``retry_after``
    seconds, the ``retry-after`` header of ``handshake_429`` (default 1).
``code``
    close code for ``close`` (default 1011).

Kinds (failure modes the real services show):

=================  =================================================================================
``server_error``   ``response.done`` with ``status: failed``, ``error.type: server_error`` and the
                   real message naming the session id (response phase only)
``rate_limit``     ``response.done`` failed with ``rate_limit_exceeded`` (``error.type: tokens``)
``error_event``    an ``error`` event of type ``server_error``; the session goes on
``drop``           abrupt TCP drop, no close frame (the client sees 1006)
``close``          a close frame with ``code`` (1011 by default)
``stall``          stop sending anything, keep the socket open
``malformed``      one frame that is not valid JSON
``duplicate``      the next event is sent twice with the same ``event_id``
``reorder``        the stream's ``*.done`` event jumps ahead of the remaining deltas
``expire``         ``session_expired`` error and close after ``delay`` seconds
``slow_handshake`` the HTTP upgrade answers after ``delay`` seconds
``handshake_429``  HTTP 429 with ``retry-after`` instead of the upgrade
``handshake_503``  HTTP 503 instead of the upgrade
=================  =================================================================================
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from realtime_harness.exceptions import UsageError

__all__ = [
    "FAULT_SPEC_HELP",
    "FaultKind",
    "FaultPhase",
    "FaultPlan",
    "FaultRecord",
    "FaultSpec",
    "parse_fault_spec",
]


class FaultKind(enum.StrEnum):
    """What a fault does (see the module docstring for each)."""

    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    ERROR_EVENT = "error_event"
    DROP = "drop"
    CLOSE = "close"
    STALL = "stall"
    MALFORMED = "malformed"
    DUPLICATE = "duplicate"
    REORDER = "reorder"
    EXPIRE = "expire"
    SLOW_HANDSHAKE = "slow_handshake"
    HANDSHAKE_429 = "handshake_429"
    HANDSHAKE_503 = "handshake_503"


class FaultPhase(enum.StrEnum):
    """Where in a session a fault may fire."""

    HANDSHAKE = "handshake"
    SESSION = "session"
    UPDATE = "update"
    COMMIT = "commit"
    RESPONSE = "response"


_HANDSHAKE_KINDS = frozenset(
    {FaultKind.SLOW_HANDSHAKE, FaultKind.HANDSHAKE_429, FaultKind.HANDSHAKE_503}
)
# A failed response.done or a reordered stream only makes sense inside a response.
_RESPONSE_ONLY = frozenset({FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.REORDER})
# Close codes an endpoint may put in a close frame (RFC 6455 section 7.4.1 and the IANA registry):
# 1004-1006 and 1015 are reserved, 1016-2999 unassigned; 3000-4999 are for libraries and apps.
_SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})
_KEYS = frozenset(
    {"rate", "count", "skip", "after_deltas", "phase", "delay", "retry_after", "code"}
)

FAULT_SPEC_HELP = (
    "KIND[:key=value,...]; kinds: "
    + ", ".join(k.value for k in FaultKind)
    + "; keys: rate, count, skip, after_deltas, phase (session|update|commit|response), delay, "
    "retry_after, code. Example: server_error:rate=0.1,after_deltas=3"
)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One parsed fault: what, where, how often. Build with :func:`parse_fault_spec`."""

    kind: FaultKind
    phase: FaultPhase = FaultPhase.RESPONSE
    rate: float = 1.0
    count: int | None = None
    skip: int = 0
    after_deltas: int = 2
    delay: float | None = None
    retry_after: float = 1.0
    code: int = 1011

    @property
    def spec(self) -> str:
        """The spec string that parses back to this fault (for logs and the ledger)."""
        parts = [f"phase={self.phase.value}"]
        if self.rate != 1.0:
            parts.append(f"rate={self.rate:g}")
        if self.count is not None:
            parts.append(f"count={self.count}")
        if self.skip:
            parts.append(f"skip={self.skip}")
        if self.phase is FaultPhase.RESPONSE:
            parts.append(f"after_deltas={self.after_deltas}")
        if self.delay is not None:
            parts.append(f"delay={self.delay:g}")
        if self.kind is FaultKind.HANDSHAKE_429:
            parts.append(f"retry_after={self.retry_after:g}")
        if self.kind is FaultKind.CLOSE:
            parts.append(f"code={self.code}")
        return f"{self.kind.value}:" + ",".join(parts)


def _bad(spec: str, problem: str) -> UsageError:
    return UsageError(f"bad fault spec {spec!r}: {problem} (format: {FAULT_SPEC_HELP})")


def _number(spec: str, key: str, value: str, *, integer: bool = False) -> float:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise _bad(spec, f"{key} must be {kind}, got {value!r}") from None
    if number < 0 or number != number:  # NaN is not a useful rate or delay
        raise _bad(spec, f"{key} must not be negative, got {value!r}")
    return number


def parse_fault_spec(spec: str) -> FaultSpec:
    """Parse ``KIND[:key=value,...]`` into a :class:`FaultSpec`.

    Raises:
        UsageError: naming what was wrong and the expected format.
    """
    text = spec.strip()
    kind_text, _, rest = text.partition(":")
    try:
        kind = FaultKind(kind_text.strip().lower())
    except ValueError:
        raise _bad(spec, f"unknown kind {kind_text.strip()!r}") from None
    values: dict[str, str] = {}
    for raw in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = raw.partition("=")
        key = key.strip().lower()
        if not eq or not value.strip():
            raise _bad(spec, f"{raw!r} is not key=value")
        if key not in _KEYS:
            raise _bad(spec, f"unknown key {key!r}")
        if key in values:
            raise _bad(spec, f"{key!r} given twice")
        values[key] = value.strip()
    fields: dict[str, Any] = {"kind": kind}
    if kind in _HANDSHAKE_KINDS:
        fields["phase"] = FaultPhase.HANDSHAKE
        if values.get("phase", "handshake") != "handshake":
            raise _bad(spec, f"{kind.value} happens at the handshake; drop phase=")
    elif "phase" in values:
        try:
            phase = FaultPhase(values["phase"].lower())
        except ValueError:
            raise _bad(spec, f"unknown phase {values['phase']!r}") from None
        if phase is FaultPhase.HANDSHAKE:
            raise _bad(spec, f"{kind.value} cannot happen at the handshake")
        if kind in _RESPONSE_ONLY and phase is not FaultPhase.RESPONSE:
            raise _bad(spec, f"{kind.value} only happens in phase=response")
        fields["phase"] = phase
    if kind is FaultKind.EXPIRE:
        fields["phase"] = FaultPhase.SESSION
    if "rate" in values:
        rate = _number(spec, "rate", values["rate"])
        if rate > 1:
            raise _bad(spec, f"rate must be between 0 and 1, got {values['rate']!r}")
        fields["rate"] = rate
    for key in ("count", "skip", "after_deltas"):
        if key in values:
            fields[key] = int(_number(spec, key, values[key], integer=True))
    for key in ("delay", "retry_after"):
        if key in values:
            fields[key] = _number(spec, key, values[key])
    if "code" in values:
        code = int(_number(spec, "code", values["code"], integer=True))
        if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
            raise _bad(
                spec,
                f"code must be a sendable close code (1000-1003, 1007-1014, 3000-4999), got {code}",
            )
        fields["code"] = code
    return FaultSpec(**fields)


class FaultRecord(BaseModel):
    """One injected fault, as written to the ledger. ``t`` is Unix time when it took effect."""

    model_config = ConfigDict(frozen=True)

    kind: str
    session_id: str | None = None
    response_id: str | None = None
    event_id: str | None = None
    item_id: str | None = None
    t: float = 0.0
    detail: str | None = None


class FaultPlan:
    """The faults a server injects and the shared counters that bound them.

    One plan serves every session of a server: ``count`` and ``skip`` are global, the coin for
    ``rate`` is thrown with the asking session's seeded rng. Only the server's event-loop thread
    calls :meth:`take`; other threads replace the whole plan (``MockServer.set_faults``) rather
    than change one, so no lock is needed.
    """

    def __init__(self, faults: Iterable[FaultSpec | str] = ()) -> None:
        self.faults: tuple[FaultSpec, ...] = tuple(
            f if isinstance(f, FaultSpec) else parse_fault_spec(f) for f in faults
        )
        self._seen = [0] * len(self.faults)
        self._fired = [0] * len(self.faults)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def take(
        self, phase: FaultPhase, rng: random.Random, kinds: Sequence[FaultKind] | None = None
    ) -> list[FaultSpec]:
        """The faults that fire at this opportunity (in spec order), updating the counters."""
        fired: list[FaultSpec] = []
        for index, fault in enumerate(self.faults):
            if fault.phase is not phase or (kinds is not None and fault.kind not in kinds):
                continue
            self._seen[index] += 1
            if self._seen[index] <= fault.skip:
                continue
            if fault.count is not None and self._fired[index] >= fault.count:
                continue
            if fault.rate < 1.0 and rng.random() >= fault.rate:
                continue
            self._fired[index] += 1
            fired.append(fault)
        return fired

    def fired(self) -> dict[str, int]:
        """How many times each fault fired, keyed by its spec string."""
        return {f.spec: n for f, n in zip(self.faults, self._fired, strict=True)}
