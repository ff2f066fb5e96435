"""What each fault does to a mock session: one transform of the schedule per kind, in one table.

Sans-I/O. When the :class:`~realtime_harness.mock.fault_spec.FaultPlan` fires a fault at an
opportunity (session start, ``session.updated``, a commit, a response), the session passes the
entries it was about to schedule through ``TRANSFORMS[fault.kind]``, which cuts, adds, copies or
moves entries and adds the ledger record (:class:`~realtime_harness.mock.schedule.Note`). Every
way a fault can change what a client sees is therefore in this file (h11 keeps its state
machine's transitions in one table the same way). The handshake kinds (``slow_handshake``,
``handshake_429``, ``handshake_503``) act before any session exists and are the server's.

Parsing fault specs and the plan that decides when they fire are in
:mod:`realtime_harness.mock.fault_spec`; their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from realtime_harness.mock.fault_spec import (
    FAULT_SPEC_HELP,
    FaultKind,
    FaultPhase,
    FaultPlan,
    FaultRecord,
    FaultSpec,
    parse_fault_spec,
)
from realtime_harness.mock.responses import ResponseRun
from realtime_harness.mock.schedule import (
    Close,
    Closed,
    Drop,
    Emit,
    Entry,
    Note,
    Perform,
    SendRaw,
    Stall,
    Trailing,
    is_delta,
)
from realtime_harness.mock.wire import Wire
from realtime_harness.protocol import catalog as C
from realtime_harness.protocol.grammar import Part

__all__ = [
    "FAULT_SPEC_HELP",
    "TRANSFORMS",
    "FaultContext",
    "FaultKind",
    "FaultPhase",
    "FaultPlan",
    "FaultRecord",
    "FaultSpec",
    "expiry",
    "parse_fault_spec",
]

SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! You can retry your "
    "request, or contact us through our help center at help.openai.com if the error persists. "
    "(Please include the session ID {session_id} in your message.)"
)
_RATE_LIMIT_MESSAGE = (
    "Rate limit reached for {model} in organization org-mock on tokens per min (TPM): "
    "Limit 40000, Used 40000, Requested 3188. Please try again in 4.782s."
)


class FaultContext(Protocol):
    """What a transform needs from the session."""

    wire: Wire
    session_id: str
    model: str
    max_session_s: float

    def closing(
        self, run: ResponseRun, entries: list[Entry], at: float, status: str, details: Any
    ) -> list[Entry]:
        """The events that close ``run`` once ``entries`` have been sent."""


#: A fault's effect: the entries of one opportunity in, the entries to schedule out.
Transform = Callable[[list[Entry], FaultSpec, "ResponseRun | None", FaultContext], list[Entry]]


def _point(entries: list[Entry], fault: FaultSpec, run: ResponseRun | None) -> int:
    """Where a fault strikes: after ``after_deltas`` deltas of a response (or its last delta,
    or right after ``response.created`` when it has none); at the end of any other opportunity."""
    if run is None:
        return len(entries)
    seen = 0
    last_delta = None
    for index, entry in enumerate(entries):
        if is_delta(entry):
            seen += 1
            last_delta = index
            if seen >= fault.after_deltas:
                return index + 1
    if last_delta is not None:
        return last_delta + 1
    return 1


def _split(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None
) -> tuple[list[Entry], list[Entry], float]:
    """The entries before and after the fault point (:func:`_point`), and the time there: that
    of the last entry before it, else of the first after it."""
    point = _point(entries, fault, run)
    before, after = entries[:point], entries[point:]
    return before, after, before[-1].at if before else (after[0].at if after else 0.0)


def _note(
    fault: FaultSpec, at: float, run: ResponseRun | None, event_id: str | None = None
) -> Note:
    return Note(
        at,
        fault.kind.value,
        fault.spec,
        run.id if run is not None else None,
        run.shape.item_id if run is not None else None,
        event_id,
    )


def _fail_response(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """``response.done`` failed (server error or rate limit) after the deltas sent so far."""
    if run is None:
        return entries
    before, after, at = _split(entries, fault, run)
    if fault.kind is FaultKind.SERVER_ERROR:
        error = {
            "type": "server_error",
            "code": None,
            "message": SERVER_ERROR_MESSAGE.format(session_id=ctx.session_id),
        }
    else:
        error = {
            "type": "tokens",
            "code": "rate_limit_exceeded",
            "message": _RATE_LIMIT_MESSAGE.format(model=ctx.model),
        }
    closing = ctx.closing(run, before, at, "failed", {"type": "failed", "error": error})
    done = next(
        e
        for e in closing
        if isinstance(e, Emit) and isinstance(e.effect, Closed) and e.effect.part is Part.RESPONSE
    )
    trailing = [e for e in after if isinstance(e, Emit) and isinstance(e.effect, Trailing)]
    return [*before, *closing, _note(fault, at, run, done.event["event_id"]), *trailing]


def _error_event(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """An ``error`` event of type ``server_error``; the session goes on."""
    before, after, at = _split(entries, fault, run)
    event = ctx.wire.error(
        None, SERVER_ERROR_MESSAGE.format(session_id=ctx.session_id), error_type="server_error"
    )
    return [*before, Emit(at, event), _note(fault, at, run, event["event_id"]), *after]


def _end_connection(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """Drop, close or stall: nothing after the fault point is sent."""
    before, _, at = _split(entries, fault, run)
    action: Close | Drop | Stall
    if fault.kind is FaultKind.DROP:
        action = Drop(0.0)
    elif fault.kind is FaultKind.CLOSE:
        action = Close(fault.code, "server_error" if fault.code == 1011 else "mock fault", 0.0)
    else:
        action = Stall(0.0)
    # the ledger entry goes first: once the action runs nothing else is performed
    return [*before, _note(fault, at, run), Perform(at, action)]


def _malformed(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """One frame that is not valid JSON (a truncated audio delta)."""
    before, after, at = _split(entries, fault, run)
    event_id = ctx.wire.event_id()
    text = f'{{"type":"{C.RESPONSE_OUTPUT_AUDIO_DELTA}","event_id":"{event_id}","delta":"AAA'
    return [*before, Perform(at, SendRaw(text, 0.0)), _note(fault, at, run, event_id), *after]


def _duplicate(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """The event at the fault point (or the last one before it) goes out twice, same id."""
    point = _point(entries, fault, run)
    index = point if point < len(entries) else point - 1
    while index >= 0 and not isinstance(entries[index], Emit):
        index -= 1
    if index < 0:
        return entries
    target = entries[index]
    assert isinstance(target, Emit)
    # the copy changes no progress: the client has already been told what it means
    copy = Emit(target.at, target.event)
    note = _note(fault, target.at, run, target.event["event_id"])
    return [*entries[: index + 1], copy, note, *entries[index + 1 :]]


def _reorder(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """The stream's ``*.done`` event jumps ahead of the remaining deltas."""
    if run is None:
        return entries
    before, after, at = _split(entries, fault, run)
    stream_done = next(
        (i for i, e in enumerate(after) if isinstance(e, Emit) and e.effect == Closed(Part.STREAM)),
        None,
    )
    if not stream_done:  # none, or already next
        return entries
    moved = after.pop(stream_done)
    assert isinstance(moved, Emit)
    moved = replace(moved, at=at)
    return [*before, moved, _note(fault, at, run, moved.event["event_id"]), *after]


def _expire(
    entries: list[Entry], fault: FaultSpec, run: ResponseRun | None, ctx: FaultContext
) -> list[Entry]:
    """``session_expired`` and close, ``delay`` seconds after the opportunity (session start)."""
    start = entries[0].at if entries else 0.0
    delay = fault.delay if fault.delay is not None else 1.0
    return [*entries, *expiry(ctx, start + delay, fault)]


def expiry(ctx: FaultContext, at: float, fault: FaultSpec | None) -> list[Entry]:
    """The end of a session at its maximum duration: the error, then close 1001."""
    minutes = max(1, round(ctx.max_session_s / 60))
    event = ctx.wire.error(
        "session_expired", f"Your session hit the maximum duration of {minutes} minutes."
    )
    entries: list[Entry] = [Emit(at, event)]
    if fault is not None:
        entries.append(_note(fault, at, None, event["event_id"]))
    entries.append(Perform(at, Close(1001, "invalid_request_error.session_expired", 0.0)))
    return entries


#: Every fault kind that acts on a session, and what it does to the schedule.
TRANSFORMS: dict[FaultKind, Transform] = {
    FaultKind.SERVER_ERROR: _fail_response,
    FaultKind.RATE_LIMIT: _fail_response,
    FaultKind.ERROR_EVENT: _error_event,
    FaultKind.DROP: _end_connection,
    FaultKind.CLOSE: _end_connection,
    FaultKind.STALL: _end_connection,
    FaultKind.MALFORMED: _malformed,
    FaultKind.DUPLICATE: _duplicate,
    FaultKind.REORDER: _reorder,
    FaultKind.EXPIRE: _expire,
}
