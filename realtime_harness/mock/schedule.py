"""The mock session's schedule: typed entries on absolute times, and the actions they become.

Sans-I/O. Everything a mock session emits is scheduled when it is decided (a response is laid out
whole when it starts; some entries make their events only when due), so pacing does not drift,
and a cancel or a fault knows exactly what the client has already been sent (everything polled)
and closes exactly what is open.

An entry is one of a few small frozen variants (:data:`Entry`); what an event means for the
response it belongs to is a typed :data:`Effect` applied to that response's
:class:`ResponseProgress` when the event falls due. The I/O layer only sees :data:`Action` values.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

from realtime_harness.mock.fault_spec import FaultRecord
from realtime_harness.protocol.grammar import Part

__all__ = [
    "Action",
    "ArgumentsSent",
    "AudioSent",
    "Close",
    "Closed",
    "DeltaStream",
    "Drop",
    "Effect",
    "Emit",
    "Entry",
    "Later",
    "Note",
    "Opened",
    "Perform",
    "RecordFault",
    "ResponseProgress",
    "Scheduler",
    "SendEvent",
    "SendRaw",
    "Stall",
    "Stream",
    "TextSent",
    "Timer",
    "Trailing",
    "progress_after",
]


# --- actions: what the I/O layer performs ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Send this server event (serialise it; ``at`` is when it was due)."""

    event: dict[str, Any]
    at: float


@dataclass(frozen=True, slots=True)
class SendRaw:
    """Send this text frame as is (a malformed frame)."""

    text: str
    at: float


@dataclass(frozen=True, slots=True)
class Close:
    """Close the WebSocket with this code and reason, then end the connection."""

    code: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Drop:
    """Abort the TCP connection with no close frame (the client sees 1006)."""

    at: float


@dataclass(frozen=True, slots=True)
class Stall:
    """Stop sending anything from now on and keep the socket open."""

    at: float


@dataclass(frozen=True, slots=True)
class RecordFault:
    """Write this injected fault to the ledger (the I/O layer stamps the wall-clock time)."""

    record: FaultRecord
    at: float


Action = SendEvent | SendRaw | Close | Drop | Stall | RecordFault
#: The actions that end or freeze the connection, or send a frame that is not an event.
Control = SendRaw | Close | Drop | Stall


# --- effects: what an event tells the client about its response -----------------------------------


@dataclass(frozen=True, slots=True)
class Opened:
    """These parts of the response are now open."""

    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Closed:
    """This part is now closed (``Part.RESPONSE``: the response is done)."""

    part: Part


@dataclass(frozen=True, slots=True)
class TextSent:
    """A text or transcript delta."""

    text: str


@dataclass(frozen=True, slots=True)
class ArgumentsSent:
    """A function-call arguments delta."""

    text: str


@dataclass(frozen=True, slots=True)
class AudioSent:
    """An audio delta of ``ms`` milliseconds."""

    ms: int


@dataclass(frozen=True, slots=True)
class Trailing:
    """A position-free event that follows the response (``rate_limits.updated``)."""


Effect = Opened | Closed | TextSent | ArgumentsSent | AudioSent | Trailing
_DELTAS = (TextSent, ArgumentsSent, AudioSent)


@dataclass(slots=True, eq=False)
class ResponseProgress:
    """What of one response the client has been sent: open parts, text, arguments, audio."""

    response_id: str = ""
    item_id: str = ""
    seen: set[Part] = field(default_factory=set)
    open: set[Part] = field(default_factory=set)
    text: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    audio_ms: int = 0
    deltas: int = 0

    def apply(self, effect: Effect | None) -> None:
        """Account for one event that reached the client."""
        if effect is None:
            return
        if isinstance(effect, AudioSent):
            self.audio_ms += effect.ms
            self.deltas += 1
        elif isinstance(effect, TextSent):
            self.text.append(effect.text)
            self.deltas += 1
        elif isinstance(effect, ArgumentsSent):
            self.arguments.append(effect.text)
            self.deltas += 1
        elif isinstance(effect, Opened):
            self.seen.update(effect.parts)
            self.open.update(effect.parts)
        elif isinstance(effect, Closed):
            self.open.discard(effect.part)

    def copy(self) -> ResponseProgress:
        """An independent copy (to look ahead without changing this one)."""
        return ResponseProgress(
            self.response_id,
            self.item_id,
            set(self.seen),
            set(self.open),
            list(self.text),
            list(self.arguments),
            self.audio_ms,
            self.deltas,
        )


# --- entries: what is scheduled -------------------------------------------------------------------


@dataclass(slots=True)
class DeltaStream:
    """A response's deltas as parallel sequences of plain values: a 25 s answer is four lists,
    not hundreds of objects the garbage collector would walk on every full pass. A stream made
    from a voice's cached layout shares its tuples (what is said) and has only its own times.

    ``whole``: what the whole stream tells the client (audio ms, deltas, text deltas), when it
    is known ahead (the cached layout's), so that looking ahead need not add it up.
    """

    ids: dict[str, Any]
    times: list[float] = field(default_factory=list)
    types: Sequence[str] = field(default_factory=list)
    payloads: Sequence[str] = field(default_factory=list)
    audio_ms: Sequence[int] = field(default_factory=list)  # 0 for text deltas
    index: int = 0
    whole: tuple[int, int, tuple[str, ...]] | None = None

    def add(self, at: float, etype: str, payload: str, ms: int) -> None:
        """Append one delta due at ``at`` (to a stream built delta by delta: lists)."""
        self.times.append(at)
        cast("list[str]", self.types).append(etype)
        cast("list[str]", self.payloads).append(payload)
        cast("list[int]", self.audio_ms).append(ms)

    def effect(self, i: int) -> Effect:
        """What delta ``i`` tells the client."""
        ms = self.audio_ms[i]
        return AudioSent(ms) if ms else TextSent(self.payloads[i])


@dataclass(frozen=True, slots=True)
class Emit:
    """Send this event; ``effect`` is what it means for the response ``progress`` tracks."""

    at: float
    event: dict[str, Any]
    progress: ResponseProgress | None = None
    effect: Effect | None = None


@dataclass(frozen=True, slots=True)
class Stream:
    """A run of deltas, emitted one by one at their own times (the hot path: no entry each)."""

    at: float
    stream: DeltaStream
    progress: ResponseProgress


@dataclass(frozen=True, slots=True)
class Perform:
    """A control action: a raw frame, a close, a drop or a stall."""

    at: float
    action: Control


@dataclass(frozen=True, slots=True)
class Note:
    """A ledger record, resolved when due. ``event_id`` None means the last event sent (what a
    client saw last before a drop, close or stall)."""

    at: float
    kind: str
    detail: str
    response_id: str | None = None
    item_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Timer:
    """Call the session back at ``at`` (the GA idle timeout), with what it armed."""

    at: float
    token: int
    start_ms: float


@dataclass(frozen=True, slots=True)
class Later:
    """Entries made when due rather than laid out ahead: ``make(progress)`` returns them, due at
    ``at`` or after, given what the client has seen of the response (``progress``).

    A response's closing events wait as one of these while its deltas stream. Laid out ahead,
    their dicts and lists would live for the whole response, and every young-generation pass of
    the garbage collector walks what is alive and new, in every session at once
    (docs/benchmarks.md). The entries made due at ``at`` go out in this entry's place, before
    anything scheduled after it for the same time.
    """

    at: float
    make: Callable[[ResponseProgress], list[Entry]]
    progress: ResponseProgress


Entry = Emit | Stream | Perform | Note | Timer | Later


def progress_after(
    entries: Iterable[Entry], progress: ResponseProgress | None = None
) -> ResponseProgress:
    """What the client will have seen of a response once ``entries`` are all sent."""
    seen = progress.copy() if progress is not None else ResponseProgress()
    for entry in entries:
        if isinstance(entry, Stream):
            # apply(effect(i)) for each delta left, summed: audio adds its ms, text its words
            stream = entry.stream
            start = stream.index
            if start == 0 and stream.whole is not None:
                ms, deltas, text = stream.whole
                seen.audio_ms += ms
                seen.deltas += deltas
                seen.text += text
                continue
            audio_ms = stream.audio_ms[start:]
            seen.audio_ms += sum(audio_ms)
            seen.deltas += len(audio_ms)
            seen.text += [
                p for p, ms in zip(stream.payloads[start:], audio_ms, strict=True) if not ms
            ]
        elif isinstance(entry, Emit):
            seen.apply(entry.effect)
    return seen


def explode(entries: Sequence[Entry], event_id: Callable[[], str]) -> list[Entry]:
    """Streams as one entry per delta and :class:`Later` entries made now, so that a fault can
    cut, copy or move any event."""
    if not any(isinstance(entry, Stream | Later) for entry in entries):
        return list(entries)
    out: list[Entry] = []
    for entry in entries:
        if isinstance(entry, Later):
            # what the client will have seen once everything before it is sent
            out += entry.make(progress_after(out))
            continue
        if not isinstance(entry, Stream):
            out.append(entry)
            continue
        stream = entry.stream
        for i in range(stream.index, len(stream.times)):
            event = {
                "type": stream.types[i],
                "event_id": event_id(),
                **stream.ids,
                "delta": stream.payloads[i],
            }
            out.append(Emit(stream.times[i], event, entry.progress, stream.effect(i)))
    return out


def is_delta(entry: Entry) -> bool:
    """Whether the entry is a delta of a response (what ``after_deltas`` counts)."""
    return isinstance(entry, Emit) and isinstance(entry.effect, _DELTAS)


# --- the scheduler --------------------------------------------------------------------------------


class Hooks(Protocol):
    """What the scheduler calls back into the session for."""

    def response_done(self, progress: ResponseProgress, at: float) -> None:
        """``response.done`` of this response has just been sent."""

    def timer(self, timer: Timer) -> None:
        """A timer fell due."""


class Scheduler:
    """Entries on a heap by due time; polling turns the due ones into actions, in order.

    Args:
        event_id: makes the event ids of streamed deltas (stamped when each is due).
        session_id: for ledger records.
    """

    def __init__(self, event_id: Callable[[], str], session_id: str) -> None:
        self._event_id = event_id
        self._session_id = session_id
        # (due time, push order, entry): tuples compare in C, an entry's __lt__ would not
        self._heap: list[tuple[float, int, Entry]] = []
        self._seq = itertools.count()
        self._outbox: list[Action] = []
        self.closed = False
        self.stalled = False
        self.last_event_id: str | None = None

    @property
    def pending(self) -> int:
        """Entries scheduled and actions not yet polled (a client that does not read lets
        them pile up)."""
        return len(self._heap) + len(self._outbox)

    @property
    def halted(self) -> bool:
        """Closed, dropped or stalled: nothing more is sent."""
        return self.closed or self.stalled

    def push(self, entries: Iterable[Entry]) -> None:
        """Schedule entries; equal times keep push order."""
        heap = self._heap
        for entry in entries:
            heapq.heappush(heap, (entry.at, next(self._seq), entry))

    def discard(self, progress: ResponseProgress) -> None:
        """Forget the unsent events of one response (it was cancelled)."""
        self._heap = [item for item in self._heap if _progress_of(item[2]) is not progress]
        heapq.heapify(self._heap)

    def next_deadline(self) -> float | None:
        """When the next action falls due (None: nothing scheduled)."""
        if self._outbox:
            return -math.inf
        if self.halted or not self._heap:
            return None
        return self._heap[0][0]

    def poll(self, now: float, hooks: Hooks) -> list[Action]:
        """The actions due at ``now``, in order; they count as sent once returned."""
        self.advance(now, hooks)
        out, self._outbox = self._outbox, []
        return out

    def advance(self, now: float, hooks: Hooks) -> None:
        """Move every entry due at ``now`` to the outbox (callbacks run as they fall due)."""
        heap = self._heap
        while heap and heap[0][0] <= now and not (self.closed or self.stalled):
            _, seq, entry = heapq.heappop(heap)
            if entry.__class__ is Stream:  # the hot path: once per delta
                self._stream_step(entry, seq)
            else:
                self._take(entry, seq, hooks)
        if self.closed or self.stalled:
            heap.clear()

    def _take(self, entry: Entry, seq: int, hooks: Hooks) -> None:
        """One entry fell due."""
        if isinstance(entry, Stream):
            self._stream_step(entry, seq)
        elif isinstance(entry, Emit):
            # stamp the due time on the action: the I/O layer measures its lateness against it
            self._outbox.append(SendEvent(entry.event, entry.at))
            self.last_event_id = entry.event["event_id"]
            if entry.progress is not None:
                entry.progress.apply(entry.effect)
                if isinstance(entry.effect, Closed) and entry.effect.part is Part.RESPONSE:
                    hooks.response_done(entry.progress, entry.at)
        elif isinstance(entry, Later):
            for made in entry.make(entry.progress):
                if made.at <= entry.at and not self.halted:
                    # in the place of the entry that made it (same time, same order)
                    self._take(made, seq, hooks)
                else:
                    heapq.heappush(self._heap, (made.at, next(self._seq), made))
        elif isinstance(entry, Note):
            self._outbox.append(self._record(entry))
        elif isinstance(entry, Perform):
            action = replace(entry.action, at=entry.at)
            if isinstance(action, Close | Drop):
                self.closed = True
            elif isinstance(action, Stall):
                self.stalled = True
            self._outbox.append(action)
        else:
            hooks.timer(entry)

    def _stream_step(self, entry: Stream, seq: int) -> None:
        """Emit a stream's next delta and put the stream back for the one after."""
        stream = entry.stream
        i = stream.index
        payload = stream.payloads[i]
        # ResponseProgress.apply(stream.effect(i)) inlined: this is the hot path, once per delta
        progress = entry.progress
        ms = stream.audio_ms[i]
        if ms:
            progress.audio_ms += ms
        else:
            progress.text.append(payload)
        progress.deltas += 1
        event_id = self._event_id()
        event: dict[str, Any] = {
            "type": stream.types[i],
            "event_id": event_id,
            **stream.ids,
            "delta": payload,
        }
        self.last_event_id = event_id
        self._outbox.append(SendEvent(event, stream.times[i]))
        stream.index = i + 1
        if stream.index < len(stream.times):
            # same seq: the stream keeps its place before entries scheduled after it
            heapq.heappush(self._heap, (stream.times[stream.index], seq, entry))

    def _record(self, note: Note) -> RecordFault:
        event_id = note.event_id if note.event_id is not None else self.last_event_id
        return RecordFault(
            FaultRecord(
                kind=note.kind,
                session_id=self._session_id,
                response_id=note.response_id,
                event_id=event_id,
                item_id=note.item_id,
                detail=note.detail,
            ),
            note.at,
        )


def _progress_of(entry: Entry) -> ResponseProgress | None:
    if isinstance(entry, Emit | Stream | Later):
        return entry.progress
    return None
