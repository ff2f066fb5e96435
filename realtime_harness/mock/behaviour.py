"""The mock server's session behaviour: client events and time in, server actions out.

Sans-I/O (no asyncio, sockets or clocks): :class:`SessionBehaviour` is fed parsed client events
with the current time (``receive``) and asked for the actions that are due (``poll``) and when the
next one will be (``next_deadline``), the timer pattern of sans-I/O protocol libraries. The I/O
layer (:mod:`realtime_harness.mock.server`) only performs the actions: send an event, send a raw
frame, close, drop the TCP connection, stall, record an injected fault.

Everything the behaviour emits is scheduled on absolute times computed when a response starts, so
pacing does not drift, and a cancel or a fault knows exactly what the client has already been sent
(everything polled) and closes exactly what is open (protocol §3.2, §3.6).

The shapes follow the protocol reference: session objects §2.4, the response grammar §3.2 in each
dialect's names, items §2.5, response objects and usage §4.1-§4.3, error codes §4.5.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import heapq
import itertools
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from realtime_harness.mock import session_state as S
from realtime_harness.mock.faults import FaultKind, FaultPhase, FaultPlan, FaultRecord, FaultSpec
from realtime_harness.mock.vad import EnergyVad
from realtime_harness.mock.voices import (
    PLACEHOLDER_TRANSCRIPT,
    Voice,
    default_voices,
    match_transcript,
)
from realtime_harness.protocol.audio import (
    AudioFormat,
    alaw_decode,
    alaw_encode,
    b64_decoded_length,
    ulaw_decode,
    ulaw_encode,
)
from realtime_harness.protocol.dialects import Dialect, to_dialect
from realtime_harness.protocol.ids import new_id
from realtime_harness.protocol.rules import LIVE_CLIENT_EVENT_TYPES

__all__ = [
    "CLIENT_EVENT_TYPES",
    "Action",
    "BehaviourConfig",
    "Close",
    "Drop",
    "Latency",
    "RecordFault",
    "SendEvent",
    "SendRaw",
    "SessionBehaviour",
    "Stall",
]

#: Client event types the server accepts (the live GA list, protocol §2.1).
CLIENT_EVENT_TYPES = LIVE_CLIENT_EVENT_TYPES

#: Bytes per millisecond of input audio by format (§5).
_BYTES_PER_MS = {"pcm16": 48, "g711_ulaw": 8, "g711_alaw": 8}
_MIN_COMMIT_MS = 100.0
_SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! You can retry your "
    "request, or contact us through our help center at help.openai.com if the error persists. "
    "(Please include the session ID {session_id} in your message.)"
)
_RATE_LIMIT_MESSAGE = (
    "Rate limit reached for {model} in organization org-mock on tokens per min (TPM): "
    "Limit 40000, Used 40000, Requested 3188. Please try again in 4.782s."
)


# --- actions ------------------------------------------------------------------------------------


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


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """The latency model, in seconds; every random part comes from the session's seeded rng.

    Args:
        response_s: ``response.create`` (or a VAD commit) to ``response.created``.
        first_delta_s: ``response.created`` to the first delta.
        speed: output pacing: 1.0 streams audio in real time (100 ms of audio per 100 ms),
            2.0 twice as fast, 0 sends the whole response at once (tests).
        jitter_s: each delta is late by a uniform random 0…jitter_s (order is kept).
        reply_s: any other reply (``session.updated``, ``committed``…).
        chunk_ms: audio per ``*.audio.delta``.
        text_interval_ms: spacing of text deltas at speed 1.
        rate_limits_after_s: GA sends ``rate_limits.updated`` this long after ``response.done``.
    """

    response_s: float = 0.05
    first_delta_s: float = 0.25
    speed: float = 1.0
    jitter_s: float = 0.0
    reply_s: float = 0.0
    chunk_ms: int = 100
    text_interval_ms: int = 50
    rate_limits_after_s: float = 0.043

    @classmethod
    def fast(cls, hold_s: float = 0.0) -> Latency:
        """For tests: each response is sent at once, ``hold_s`` after ``response.created``.

        With the default 0 a response is over before the client can act on it. A small
        ``hold_s`` (0.05) keeps it *active* for a moment, as a real one always is, so that a second
        ``response.create``, a ``response.cancel`` or VAD barge-in sent right after still races it.
        """
        return cls(response_s=0.0, first_delta_s=hold_s, speed=0.0, rate_limits_after_s=0.0)


@dataclass(frozen=True, slots=True)
class BehaviourConfig:
    """How a mock session behaves.

    Args:
        dialect: event names and session shape.
        model: the model named in the session (the URL's model wins when the server has one).
        latency: the latency model.
        max_session_s: ``session_expired`` and close after this long (real: 3600).
        voices: what responses say (None = the bundled samples).
        reply_voice: always answer with this voice's name (None = seeded random choice).
    """

    dialect: Dialect = Dialect.GA
    model: str = "gpt-realtime"
    latency: Latency = field(default_factory=Latency)
    max_session_s: float = 3600.0
    voices: tuple[Voice, ...] | None = None
    reply_voice: str | None = None


# --- response bookkeeping -----------------------------------------------------------------------

_Kind = Literal["audio", "text", "function"]


@dataclass(slots=True)
class _Progress:
    """What of a response the client has been sent: open structures and text so far."""

    opened: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    text: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    audio_ms: int = 0
    deltas: int = 0

    def apply(self, effect: tuple[str, Any] | None) -> None:
        if effect is None:
            return
        name, value = effect
        if name == "open":
            self.opened.add(value)
        elif name == "close":
            self.closed.add(value)
        elif name == "text":
            self.text.append(value)
            self.deltas += 1
        elif name == "args":
            self.arguments.append(value)
            self.deltas += 1
        elif name == "audio":
            self.audio_ms += value
            self.deltas += 1

    def is_open(self, name: str) -> bool:
        return name in self.opened and name not in self.closed


@dataclass(slots=True)
class _Run:
    """One response being generated."""

    id: str
    kind: _Kind
    in_conversation: bool
    modalities: list[str]
    voice_name: str
    output_format: str
    metadata: Any
    max_output_tokens: Any
    item_id: str
    previous_item_id: str | None
    text: str = ""
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    progress: _Progress = field(default_factory=_Progress)
    done: bool = False


@dataclass(slots=True)
class _Stream:
    """A response's deltas as parallel lists of plain values: a 25 s answer is four lists, not
    hundreds of objects the garbage collector would walk on every full pass."""

    times: list[float] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)
    audio_ms: list[int] = field(default_factory=list)  # 0 for text deltas
    index: int = 0

    def add(self, at: float, etype: str, payload: str, ms: int) -> None:
        self.times.append(at)
        self.types.append(etype)
        self.payloads.append(payload)
        self.audio_ms.append(ms)

    def effect(self, i: int) -> tuple[str, Any]:
        ms = self.audio_ms[i]
        return ("audio", ms) if ms else ("text", self.payloads[i])


@dataclass(slots=True)
class _Entry:
    """One scheduled thing. Hot-path deltas are lazy (``lazy_type``/``lazy_delta``): their event
    dict is built only when due, so a long response holds one small object per delta instead of
    five (the garbage collector's full passes scale with live objects, perf-limits §1b)."""

    at: float
    action: Action | None
    run: _Run | None = None
    effect: tuple[str, Any] | None = None
    lazy_type: str | None = None
    lazy_delta: str | None = None
    copy_of: _Entry | None = None
    record: tuple[str, _Run | None, _Entry | None, str, str | None] | None = None
    seq: int = 0
    sent: SendEvent | None = None
    stream: _Stream | None = None


@functools.cache
def _audio_chunks(voice: Voice, fmt: str, chunk_ms: int) -> tuple[tuple[str, int], ...]:
    """A voice's audio as base64 deltas in ``fmt`` with each delta's duration (cached per voice)."""
    pcm = voice.pcm
    if fmt != "pcm16":
        # 24 kHz → 8 kHz by keeping every third sample: crude, but the mock's G.711 output only
        # has to be valid G.711 of the right length, not studio quality.
        samples = memoryview(pcm).cast("h")[::3].tobytes()
        pcm = ulaw_encode(samples) if fmt == "g711_ulaw" else alaw_encode(samples)
        per_ms = 8
    else:
        per_ms = 48
    size = per_ms * chunk_ms
    return tuple(
        (base64.b64encode(pcm[i : i + size]).decode("ascii"), len(pcm[i : i + size]) // per_ms)
        for i in range(0, len(pcm), size)
    )


def _split_words(text: str, pieces: int | None = None) -> list[str]:
    """Split text into deltas that concatenate exactly to it (words with their leading space)."""
    words: list[str] = []
    current = ""
    for char in text:
        if char.isspace() and current.strip():
            words.append(current)
            current = ""
        current += char
    if current:
        words.append(current)
    if pieces is None or pieces >= len(words) or pieces <= 0:
        return words
    size = math.ceil(len(words) / pieces)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SPACE = 62**13
# odd and not a multiple of 31, so coprime with 62**13: n -> n * k mod 62**13 is a bijection
_SCRAMBLE = 0x5DEECE66D * 2 + 1


class _EventIds:
    """Event ids of the real form (``event_`` + 21 alphanumerics), unique within a session.

    An 8-character random stem per session plus a scrambled counter: about ten times cheaper than
    21 ``random.choices`` per event, which matters at thousands of events per second, and never
    repeats (the scramble is a bijection on 13-digit base-62 numbers).
    """

    def __init__(self, rng: random.Random) -> None:
        self._stem = "event_" + "".join(rng.choices(_ALPHABET, k=8))
        self._n = rng.randrange(_SPACE)

    def __call__(self) -> str:
        self._n += 1
        value = (self._n * _SCRAMBLE) % _SPACE
        digits = []
        for _ in range(13):
            value, digit = divmod(value, 62)
            digits.append(_ALPHABET[digit])
        return self._stem + "".join(reversed(digits))


# --- the session --------------------------------------------------------------------------------


class SessionBehaviour:
    """One mock session: feed it client events and the time, poll it for actions.

    Args:
        config: dialect, model, latency, voices.
        rng: the session's seeded randomness (ids, jitter, fault coins, voice choice).
        now: the caller's monotonic clock at connection time (seconds).
        wall_now: Unix time at connection time (for ``expires_at``).
        faults: the server's fault plan (shared between sessions).
        model: the model from the connection URL, if any.
    """

    def __init__(
        self,
        config: BehaviourConfig,
        *,
        rng: random.Random,
        now: float,
        wall_now: float,
        faults: FaultPlan | None = None,
        model: str | None = None,
    ) -> None:
        self.config = config
        self.dialect = config.dialect
        self.rng = rng
        self.latency = config.latency
        self.faults = faults or FaultPlan()
        self.voices: tuple[Voice, ...] = config.voices or default_voices()
        self._event_id = _EventIds(rng)
        self.session_id = new_id("sess", rng)
        self.conversation_id = new_id("conv", rng)
        self.model = model or config.model
        self.session: dict[str, Any] = S.default_session(
            self.dialect,
            session_id=self.session_id,
            model=self.model,
            expires_at=int(wall_now + config.max_session_s),
        )
        self.closed = False
        self.stalled = False
        self.last_event_id: str | None = None
        self.items: dict[str, dict[str, Any]] = {}
        self.item_audio_ms: dict[str, int] = {}
        self.last_item_id: str | None = None
        self.call_ids: set[str] = set()
        self.active: _Run | None = None
        self._runs: list[_Run] = []
        # (due time, push order, entry): tuples compare in C, an entry's __lt__ would not
        self._heap: list[tuple[float, int, _Entry]] = []
        self._seq = itertools.count()
        self._outbox: list[Action] = []
        self._chunks: list[str] = []
        self._buffer_ms = 0.0
        self._vad: EnergyVad | None = None
        self._vad_item: str | None = None
        self._audio_pos_ms = 0.0
        self._idle_token = 0
        self._tokens_remaining = 40_000
        self._configure_vad()
        start = [
            _Entry(now, self._send("session.created", session=self._session_view())),
        ]
        self._push(self._with_faults(start, FaultPhase.SESSION, now))
        self._expire_entries(now + config.max_session_s, fault=None)

    # --- public surface -------------------------------------------------------------------------

    def receive(self, event: Mapping[str, Any] | None, now: float, *, raw: str = "") -> None:
        """Handle one client frame (``event`` None when it was not a JSON object)."""
        self._advance(now)
        if self.closed or self.stalled:
            return
        if event is None:
            self._error(now, "invalid_event", f"Invalid JSON in client event: {raw[:60]!r}.")
            return
        etype = event.get("type")
        client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        if not isinstance(etype, str):
            self._error(now, "invalid_event", "The 'type' field is missing.", None, client_id)
            return
        handler = _HANDLERS.get(etype)
        if handler is None:
            supported = ", ".join(f"'{t}'" for t in CLIENT_EVENT_TYPES)
            self._error(
                now,
                "invalid_value",
                f"Invalid value: '{etype}'. Supported values are: {supported}.",
                "type",
                client_id,
            )
            return
        handler(self, event, now, client_id)

    def poll(self, now: float) -> list[Action]:
        """The actions due at ``now``, in order; they count as sent once returned."""
        self._advance(now)
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> float | None:
        """When the next action falls due (None: nothing scheduled)."""
        if self._outbox:
            return -math.inf
        if self.closed or self.stalled or not self._heap:
            return None
        return self._heap[0][0]

    # --- scheduling -----------------------------------------------------------------------------

    def _push(self, entries: Sequence[_Entry]) -> None:
        for entry in entries:
            entry.seq = next(self._seq)
            heapq.heappush(self._heap, (entry.at, entry.seq, entry))

    def _advance(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now and not (self.closed or self.stalled):
            entry = heapq.heappop(self._heap)[2]
            if entry.stream is not None and entry.run is not None:
                self._stream_step(entry, entry.stream, entry.run)
                continue
            if entry.run is not None:
                entry.run.progress.apply(entry.effect)
            if entry.effect is not None and entry.effect[0] == "done" and entry.run is not None:
                entry.run.done = True
                if self.active is entry.run:
                    self.active = None
                # finished responses are never looked up again; an hour-long session keeps none
                self._runs = [r for r in self._runs if not r.done]
                self._arm_idle_timeout(entry.at, entry.run)
            if entry.effect is not None and entry.effect[0] == "idle":
                self._idle_timeout(entry.at, entry.effect[1])
                continue
            if entry.record is not None:
                self._outbox.append(self._fault_record(entry))
                continue
            action = entry.action
            if entry.lazy_type is not None and entry.run is not None:
                event = {
                    "type": entry.lazy_type,
                    "event_id": self._event_id(),
                    "response_id": entry.run.id,
                    "item_id": entry.run.item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": entry.lazy_delta,
                }
                action = SendEvent(event, 0.0)
            elif entry.copy_of is not None and entry.copy_of.sent is not None:
                action = entry.copy_of.sent
            if action is None:
                continue
            # stamp the due time on the action: the I/O layer measures its lateness against it
            if isinstance(action, SendEvent):
                action = SendEvent(action.event, entry.at)
                entry.sent = action
                self.last_event_id = action.event["event_id"]
            else:
                action = replace(action, at=entry.at)
                if isinstance(action, Close | Drop):
                    self.closed = True
                elif isinstance(action, Stall):
                    self.stalled = True
            self._outbox.append(action)
        if self.closed or self.stalled:
            self._heap.clear()

    def _arm_idle_timeout(self, done_at: float, run: _Run) -> None:
        """GA ``idle_timeout_ms``: count from when the answer's audio has finished playing."""
        vad = S.turn_detection(self.dialect, self.session) or {}
        idle = vad.get("idle_timeout_ms")
        if self.dialect is not Dialect.GA or vad.get("type") != "server_vad" or not idle:
            return
        at = done_at + run.progress.audio_ms / 1000.0 + float(idle) / 1000.0
        token = self._idle_token
        self._push([_Entry(at, None, effect=("idle", (token, self._audio_pos_ms)))])

    def _idle_timeout(self, now: float, armed: tuple[int, float]) -> None:
        """No speech since the answer ended: timeout_triggered, commit the silence, answer."""
        token, start_ms = armed
        if token != self._idle_token or self.active is not None or self._vad is None:
            return
        item_id = new_id("item", self.rng)
        self._push(
            [
                _Entry(
                    now,
                    self._send(
                        "input_audio_buffer.timeout_triggered",
                        audio_start_ms=int(start_ms),
                        audio_end_ms=int(self._audio_pos_ms),
                        item_id=item_id,
                    ),
                )
            ]
        )
        self._vad.reset()
        self._vad_item = None
        self._commit(now, item_id)
        self._start_response(None, now, None)

    def _stream_step(self, entry: _Entry, stream: _Stream, run: _Run) -> None:
        """Emit a stream's next delta and put the stream back for the one after."""
        i = stream.index
        run.progress.apply(stream.effect(i))
        event_id = self._event_id()
        event: dict[str, Any] = {
            "type": stream.types[i],
            "event_id": event_id,
            "response_id": run.id,
            "item_id": run.item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": stream.payloads[i],
        }
        self.last_event_id = event_id
        self._outbox.append(SendEvent(event, stream.times[i]))
        stream.index = i + 1
        if stream.index < len(stream.times):
            # same seq: the stream keeps its place before entries scheduled after it
            entry.at = stream.times[stream.index]
            heapq.heappush(self._heap, (entry.at, entry.seq, entry))

    def _event(self, ga_type: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": to_dialect(ga_type, self.dialect),
            "event_id": self._event_id(),
            **fields,
        }

    def _send(self, ga_type: str, **fields: Any) -> SendEvent:
        return SendEvent(self._event(ga_type, **fields), 0.0)

    def _error(
        self,
        now: float,
        code: str | None,
        message: str,
        param: str | None = None,
        client_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> str:
        event = self._event(
            "error",
            error={
                "type": error_type,
                "code": code,
                "message": message,
                "param": param,
                "event_id": client_id,
            },
        )
        self._push([_Entry(now + self.latency.reply_s, SendEvent(event, 0.0))])
        return str(event["event_id"])

    def _session_view(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.session))  # type: ignore[no-any-return]

    # --- faults ---------------------------------------------------------------------------------

    def _with_faults(
        self, entries: list[_Entry], phase: FaultPhase, now: float, run: _Run | None = None
    ) -> list[_Entry]:
        if not self.faults:
            return entries
        for fault in self.faults.take(phase, self.rng):
            entries = _explode(entries)
            if fault.kind is FaultKind.EXPIRE:
                self._expire_entries(now + (fault.delay if fault.delay is not None else 1.0), fault)
                continue
            entries = self._apply_fault(entries, fault, run)
        return entries

    def _fault_point(self, entries: list[_Entry], fault: FaultSpec, run: _Run | None) -> int:
        if run is None:
            return len(entries)
        seen = 0
        last_delta = None
        for index, entry in enumerate(entries):
            if entry.effect is not None and entry.effect[0] in ("text", "args", "audio"):
                seen += 1
                last_delta = index
                if seen >= fault.after_deltas:
                    return index + 1
        if last_delta is not None:
            return last_delta + 1
        # no deltas at all: fire right after response.created
        return 1

    def _record(
        self,
        kind: str,
        at: float,
        *,
        run: _Run | None,
        detail: str,
        ref: _Entry | None = None,
        event_id: str | None = None,
    ) -> _Entry:
        """A ledger entry, resolved when due: ``event_id``, else ``ref``'s event id, else the id
        of the last event sent (what a client saw last before a drop, close or stall)."""
        return _Entry(at, None, record=(kind, run, ref, detail, event_id))

    def _fault_record(self, entry: _Entry) -> RecordFault:
        assert entry.record is not None
        kind, run, ref, detail, event_id = entry.record
        if event_id is None:
            event_id = self.last_event_id
            if ref is not None and ref.sent is not None:
                event_id = ref.sent.event["event_id"]
        return RecordFault(
            FaultRecord(
                kind=kind,
                session_id=self.session_id,
                response_id=run.id if run else None,
                event_id=event_id,
                item_id=run.item_id if run else None,
                detail=detail,
            ),
            entry.at,
        )

    def _apply_fault(
        self, entries: list[_Entry], fault: FaultSpec, run: _Run | None
    ) -> list[_Entry]:
        point = self._fault_point(entries, fault, run)
        before = entries[:point]
        after = entries[point:]
        at = before[-1].at if before else (after[0].at if after else 0.0)
        kind = fault.kind
        spec = fault.spec
        if kind in (FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT) and run is not None:
            progress = _progress_of(before)
            if kind is FaultKind.SERVER_ERROR:
                error = {
                    "type": "server_error",
                    "code": None,
                    "message": _SERVER_ERROR_MESSAGE.format(session_id=self.session_id),
                }
            else:
                error = {
                    "type": "tokens",
                    "code": "rate_limit_exceeded",
                    "message": _RATE_LIMIT_MESSAGE.format(model=self.model),
                }
            closing = self._closing(run, progress, at, "failed", {"type": "failed", "error": error})
            done = next(
                e
                for e in closing
                if isinstance(e.action, SendEvent) and e.action.event["type"] == "response.done"
            )
            trailing = [e for e in after if e.effect is not None and e.effect[0] == "rate_limits"]
            return [
                *before,
                *closing,
                self._record(kind.value, at, run=run, ref=done, detail=spec),
                *trailing,
            ]
        if kind is FaultKind.ERROR_EVENT:
            event = self._event(
                "error",
                error={
                    "type": "server_error",
                    "code": None,
                    "message": _SERVER_ERROR_MESSAGE.format(session_id=self.session_id),
                    "param": None,
                    "event_id": None,
                },
            )
            error_entry = _Entry(at, SendEvent(event, 0.0))
            return [
                *before,
                error_entry,
                self._record(kind.value, at, run=run, ref=error_entry, detail=spec),
                *after,
            ]
        if kind in (FaultKind.DROP, FaultKind.CLOSE, FaultKind.STALL):
            action: Action
            if kind is FaultKind.DROP:
                action = Drop(0.0)
            elif kind is FaultKind.CLOSE:
                action = Close(
                    fault.code, "server_error" if fault.code == 1011 else "mock fault", 0.0
                )
            else:
                action = Stall(0.0)
            # the ledger entry goes first: once the action runs nothing else is performed
            return [
                *before,
                self._record(kind.value, at, run=run, detail=spec),
                _Entry(at, action),
            ]
        if kind is FaultKind.MALFORMED:
            event_id = self._event_id()
            text = (
                '{"type":"response.output_audio.delta","event_id":"' + event_id + '","delta":"AAA'
            )
            return [
                *before,
                _Entry(at, SendRaw(text, 0.0)),
                self._record(kind.value, at, run=run, event_id=event_id, detail=spec),
                *after,
            ]
        if kind is FaultKind.DUPLICATE:
            # the event at the fault point (or the last one before it) goes out twice
            target_index = point if point < len(entries) else point - 1
            while target_index >= 0 and not (
                isinstance(entries[target_index].action, SendEvent)
                or entries[target_index].lazy_type is not None
            ):
                target_index -= 1
            if target_index < 0:
                return entries
            target = entries[target_index]
            copy_entry = _Entry(target.at, None, copy_of=target)
            record = self._record(kind.value, target.at, run=run, ref=target, detail=spec)
            return [*entries[: target_index + 1], copy_entry, record, *entries[target_index + 1 :]]
        if kind is FaultKind.REORDER and run is not None:
            stream_done = next(
                (
                    i
                    for i, e in enumerate(after)
                    if e.effect is not None and e.effect == ("close", "stream")
                ),
                None,
            )
            if stream_done is None or stream_done == 0:
                return entries
            moved = after.pop(stream_done)
            moved.at = at
            record = self._record(kind.value, at, run=run, ref=moved, detail=spec)
            return [*before, moved, record, *after]
        return entries

    def _expire_entries(self, at: float, fault: FaultSpec | None) -> None:
        minutes = max(1, round(self.config.max_session_s / 60))
        event = self._event(
            "error",
            error={
                "type": "invalid_request_error",
                "code": "session_expired",
                "message": f"Your session hit the maximum duration of {minutes} minutes.",
                "param": None,
                "event_id": None,
            },
        )
        entries = [_Entry(at, SendEvent(event, 0.0))]
        if fault is not None:
            entries.append(
                self._record(fault.kind.value, at, run=None, ref=entries[0], detail=fault.spec)
            )
        entries.append(_Entry(at, Close(1001, "invalid_request_error.session_expired", 0.0)))
        self._push(entries)

    # --- session.update -------------------------------------------------------------------------

    def _on_session_update(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        try:
            updated = S.apply_update(self.dialect, self.session, event.get("session"))
        except S.SessionError as exc:
            self._error(now, exc.code, exc.message, exc.param, client_id)
            return
        old_vad = S.turn_detection(self.dialect, self.session)
        self.session = updated
        if S.turn_detection(self.dialect, self.session) != old_vad:
            self._configure_vad()
        at = now + self.latency.reply_s
        entries = [_Entry(at, self._send("session.updated", session=self._session_view()))]
        self._push(self._with_faults(entries, FaultPhase.UPDATE, at))

    def _configure_vad(self) -> None:
        vad = S.turn_detection(self.dialect, self.session)
        if vad is None:
            self._vad = None
            self._vad_item = None
            return
        silence = vad.get("silence_duration_ms")
        if vad.get("type") == "semantic_vad":
            silence = 500  # semantic VAD waits longer for a turn to end ("auto" eagerness)
        self._vad = EnergyVad(
            threshold=float(vad.get("threshold", 0.5)),
            prefix_padding_ms=int(vad.get("prefix_padding_ms", 300)),
            silence_duration_ms=int(silence if silence is not None else 200),
            rate=24_000 if S.input_format(self.dialect, self.session) == "pcm16" else 8_000,
        )
        self._vad_item = None

    # --- input audio ----------------------------------------------------------------------------

    def _on_append(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        audio = event.get("audio")
        data = b64_decoded_length(audio) if isinstance(audio, str) else None
        if data is None:
            self._error(
                now,
                "invalid_value",
                "Invalid 'audio'. Expected base64-encoded audio bytes.",
                "audio",
                client_id,
            )
            return
        assert isinstance(audio, str)
        fmt = S.input_format(self.dialect, self.session)
        # Keep the base64 text and decode only when the audio is needed (VAD now, transcript at
        # commit): decoding 100 ms costs ~11 µs, the largest per-append cost of a session.
        self._chunks.append(audio)
        ms = data / _BYTES_PER_MS.get(fmt, 48)
        self._buffer_ms += ms
        self._audio_pos_ms += ms
        if self._vad is None:
            return
        try:
            data_bytes = binascii.a2b_base64(audio, strict_mode=True)
        except (binascii.Error, ValueError):
            return
        pcm = data_bytes
        if fmt == "g711_ulaw":
            pcm = ulaw_decode(data_bytes)
        elif fmt == "g711_alaw":
            pcm = alaw_decode(data_bytes)
        elif len(data_bytes) % 2:
            pcm = data_bytes[:-1]
        vad = S.turn_detection(self.dialect, self.session) or {}
        for change in self._vad.feed(pcm):
            if change.kind == "start":
                self._vad_item = new_id("item", self.rng)
                self._idle_token += 1
                self._push(
                    [
                        _Entry(
                            now,
                            self._send(
                                "input_audio_buffer.speech_started",
                                audio_start_ms=change.ms,
                                item_id=self._vad_item,
                            ),
                        )
                    ]
                )
                if (
                    self.active is not None
                    and vad.get("interrupt_response", True)
                    and not self.active.done
                ):
                    self._cancel(self.active, now, "turn_detected")
            elif self._vad_item is not None:
                item_id = self._vad_item
                self._vad_item = None
                self._push(
                    [
                        _Entry(
                            now,
                            self._send(
                                "input_audio_buffer.speech_stopped",
                                audio_end_ms=change.ms,
                                item_id=item_id,
                            ),
                        )
                    ]
                )
                self._commit(now, item_id)
                if vad.get("create_response", True) and self.active is None:
                    self._start_response(None, now, None)

    def _on_commit(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        if self._buffer_ms < _MIN_COMMIT_MS:
            self._error(
                now,
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms "
                f"of audio, but buffer only has {self._buffer_ms:.2f}ms of audio.",
                None,
                client_id,
            )
            return
        item_id = self._vad_item or new_id("item", self.rng)
        self._vad_item = None
        if self._vad is not None:
            self._vad.reset()
        self._commit(now, item_id)

    def _commit(self, now: float, item_id: str) -> None:
        self._idle_token += 1
        at = now + self.latency.reply_s
        chunks = self._chunks
        ms = int(self._buffer_ms)
        self._chunks = []
        self._buffer_ms = 0.0
        item = self._item(
            {
                "id": item_id,
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
        )
        previous = self.last_item_id
        self.items[item_id] = item
        self.item_audio_ms[item_id] = ms
        self.last_item_id = item_id
        entries = [
            _Entry(
                at,
                self._send(
                    "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
                ),
            ),
            *self._item_events(item, previous, at),
        ]
        entries = self._with_faults(entries, FaultPhase.COMMIT, at)
        if S.transcription_enabled(self.dialect, self.session):
            fmt = S.input_format(self.dialect, self.session)
            transcript = PLACEHOLDER_TRANSCRIPT
            if fmt == "pcm16":
                with contextlib.suppress(binascii.Error, ValueError):
                    pcm = b"".join(binascii.a2b_base64(chunk) for chunk in chunks)
                    transcript = match_transcript(pcm, self.voices)
            item["content"][0]["transcript"] = transcript
            for piece in _split_words(transcript, 4):
                entries.append(
                    _Entry(
                        at,
                        self._send(
                            "conversation.item.input_audio_transcription.delta",
                            item_id=item_id,
                            content_index=0,
                            delta=piece,
                        ),
                    )
                )
            completed: dict[str, Any] = {
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
            }
            # seconds = buffered audio rounded up, as observed (protocol §4.3)
            completed["usage"] = {"type": "duration", "seconds": math.ceil(ms / 1000)}
            entries.append(
                _Entry(
                    at,
                    self._send(
                        "conversation.item.input_audio_transcription.completed", **completed
                    ),
                )
            )
        self._push(entries)

    def _on_clear(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        self._chunks = []
        self._buffer_ms = 0.0
        if self._vad is not None:
            self._vad.reset()
        self._vad_item = None
        self._push([_Entry(now + self.latency.reply_s, self._send("input_audio_buffer.cleared"))])

    # --- conversation items ---------------------------------------------------------------------

    def _item(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.dialect is Dialect.BETA:
            return {"id": item["id"], "object": "realtime.item", **item}
        return item

    def _item_events(
        self, item: Mapping[str, Any], previous: str | None, at: float
    ) -> list[_Entry]:
        snapshot = json.loads(json.dumps(item))
        entries = [
            _Entry(
                at, self._send("conversation.item.added", previous_item_id=previous, item=snapshot)
            )
        ]
        if self.dialect is Dialect.GA:
            entries.append(
                _Entry(
                    at,
                    self._send("conversation.item.done", previous_item_id=previous, item=snapshot),
                )
            )
        return entries

    def _on_item_create(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        raw = event.get("item")
        if not isinstance(raw, Mapping):
            self._error(
                now,
                "missing_required_parameter",
                "Missing required parameter: 'item'.",
                "item",
                client_id,
            )
            return
        item_type = raw.get("type")
        if item_type not in ("message", "function_call", "function_call_output"):
            self._error(
                now,
                "invalid_value",
                f"Invalid value: '{item_type}'. Supported values are: 'message', 'function_call', "
                "and 'function_call_output'.",
                "item.type",
                client_id,
            )
            return
        if item_type == "function_call_output" and raw.get("call_id") not in self.call_ids:
            self._error(
                now,
                "invalid_value",
                f"Invalid value: '{raw.get('call_id')}'. No function call with this call_id was "
                "found in the conversation.",
                "item.call_id",
                client_id,
            )
            return
        if item_type == "message" and raw.get("role") not in ("user", "system", "assistant"):
            self._error(
                now,
                "invalid_value",
                f"Invalid value: '{raw.get('role')}'. Supported values are: 'user', 'system', "
                "and 'assistant'.",
                "item.role",
                client_id,
            )
            return
        item_id = raw.get("id") if isinstance(raw.get("id"), str) else new_id("item", self.rng)
        body = {k: v for k, v in raw.items() if k not in ("id", "object", "status")}
        item = self._item({"id": item_id, "type": item_type, "status": "completed", **body})
        if item_type == "function_call":
            self.call_ids.add(str(raw.get("call_id")))
        previous = raw.get("previous_item_id", event.get("previous_item_id"))
        previous = previous if isinstance(previous, str) else self.last_item_id
        if previous == "root":
            previous = None
        self.items[str(item_id)] = item
        self.last_item_id = str(item_id)
        self._push(self._item_events(item, previous, now + self.latency.reply_s))

    def _on_item_retrieve(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        item = self.items.get(str(event.get("item_id")))
        if item is None:
            self._item_missing(event, now, client_id)
            return
        self._push([_Entry(now, self._send("conversation.item.retrieved", item=item))])

    def _on_item_delete(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        item_id = str(event.get("item_id"))
        if self.items.pop(item_id, None) is None:
            self._item_missing(event, now, client_id)
            return
        self._push([_Entry(now, self._send("conversation.item.deleted", item_id=item_id))])

    def _on_item_truncate(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        item_id = str(event.get("item_id"))
        if item_id not in self.items:
            self._item_missing(event, now, client_id)
            return
        end = event.get("audio_end_ms")
        have = self.item_audio_ms.get(item_id, 0)
        if not isinstance(end, int) or end < 0 or end > have:
            self._error(
                now,
                "invalid_value",
                f"Audio content of {have}ms is already shorter than {end}ms",
                "audio_end_ms",
                client_id,
            )
            return
        self.item_audio_ms[item_id] = end
        self._push(
            [
                _Entry(
                    now,
                    self._send(
                        "conversation.item.truncated",
                        item_id=item_id,
                        content_index=int(event.get("content_index") or 0),
                        audio_end_ms=end,
                    ),
                )
            ]
        )

    def _item_missing(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        self._error(
            now,
            "invalid_value",
            f"Invalid value: '{event.get('item_id')}'. Item does not exist in the conversation.",
            "item_id",
            client_id,
        )

    # --- responses ------------------------------------------------------------------------------

    def _on_response_create(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        params = event.get("response")
        if params is not None and not isinstance(params, Mapping):
            self._error(
                now,
                "invalid_type",
                "Invalid type for 'response': expected an object.",
                "response",
                client_id,
            )
            return
        params = params or {}
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            self._error(
                now,
                "invalid_value",
                f"Invalid value: '{conversation}'. Supported values are: 'auto' and 'none'.",
                "response.conversation",
                client_id,
            )
            return
        if conversation == "auto" and self.active is not None and not self.active.done:
            self._error(
                now,
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress: "
                f"{self.active.id}. Wait until the response is finished before creating a new one.",
                None,
                client_id,
            )
            return
        self._start_response(params, now, client_id)

    def _start_response(
        self, params: Mapping[str, Any] | None, now: float, client_id: str | None
    ) -> None:
        params = params or {}
        in_conversation = params.get("conversation", "auto") != "none"
        mod_key = "output_modalities" if self.dialect is Dialect.GA else "modalities"
        modalities = params.get(mod_key, self.session.get(mod_key, ["audio"]))
        tools = params.get("tools", self.session.get("tools")) or []
        tool_choice = params.get("tool_choice", self.session.get("tool_choice", "auto"))
        last = self.items.get(self.last_item_id or "")
        answered_call = last is not None and last.get("type") == "function_call_output"
        kind: _Kind
        if tools and tool_choice != "none" and not answered_call:
            kind = "function"
        elif S.output_is_audio(self.dialect, modalities):
            kind = "audio"
        else:
            kind = "text"
        voice = self._pick_voice()
        run = _Run(
            id=new_id("resp", self.rng),
            kind=kind,
            in_conversation=in_conversation,
            modalities=list(modalities) if isinstance(modalities, list) else ["audio"],
            voice_name=voice.name,
            output_format=S.output_format(self.dialect, self.session),
            metadata=params.get("metadata"),
            max_output_tokens=params.get(
                "max_output_tokens",
                self.session.get(
                    "max_output_tokens"
                    if self.dialect is Dialect.GA
                    else "max_response_output_tokens",
                    "inf",
                ),
            ),
            item_id=new_id("item", self.rng),
            previous_item_id=self.last_item_id if in_conversation else None,
            text=voice.text,
        )
        if kind == "function":
            tool = next((t for t in tools if isinstance(t, Mapping) and t.get("name")), {})
            run.name = str(tool.get("name", "tool"))
            run.call_id = new_id("call", self.rng, 16)
            run.arguments = json.dumps(_arguments_for(tool), separators=(",", ":"))
            self.call_ids.add(run.call_id)
        if in_conversation:
            self.active = run
            self._idle_token += 1
        self._runs.append(run)
        entries = self._schedule(run, voice, now + self.latency.response_s)
        self._push(self._with_faults(entries, FaultPhase.RESPONSE, now, run))

    def _pick_voice(self) -> Voice:
        if self.config.reply_voice is not None:
            for voice in self.voices:
                if voice.name == self.config.reply_voice:
                    return voice
        return self.voices[self.rng.randrange(len(self.voices))]

    def _response_object(
        self, run: _Run, status: str, details: Any, output: list[Any], usage: Any
    ) -> dict[str, Any]:
        fmt = run.output_format
        voice = self._voice_setting()
        if self.dialect is Dialect.GA:
            ga_fmt = AudioFormat(fmt).ga()
            return {
                "object": "realtime.response",
                "id": run.id,
                "status": status,
                "status_details": details,
                "output": output,
                "conversation_id": self.conversation_id if run.in_conversation else None,
                "output_modalities": run.modalities,
                "max_output_tokens": run.max_output_tokens,
                "audio": {"output": {"format": ga_fmt, "voice": voice}},
                "usage": usage,
                "metadata": run.metadata,
            }
        return {
            "object": "realtime.response",
            "id": run.id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": self.conversation_id if run.in_conversation else None,
            "modalities": run.modalities,
            "voice": voice,
            "output_audio_format": fmt,
            "temperature": self.session.get("temperature", 0.8),
            "max_output_tokens": run.max_output_tokens,
            "usage": usage,
            "metadata": run.metadata,
        }

    def _voice_setting(self) -> Any:
        if self.dialect is Dialect.GA:
            return self.session.get("audio", {}).get("output", {}).get("voice", "alloy")
        return self.session.get("voice", "alloy")

    def _assistant_item(self, run: _Run, status: str, progress: _Progress | None) -> dict[str, Any]:
        if run.kind == "function":
            arguments = "".join(progress.arguments) if progress is not None else run.arguments
            return self._item(
                {
                    "id": run.item_id,
                    "type": "function_call",
                    "status": status,
                    "call_id": run.call_id,
                    "name": run.name,
                    "arguments": arguments if status != "in_progress" else "",
                }
            )
        content: list[dict[str, Any]] = []
        if status != "in_progress":
            text = "".join(progress.text) if progress is not None else run.text
            ga = self.dialect is Dialect.GA
            if run.kind == "audio":
                content = [{"type": "output_audio" if ga else "audio", "transcript": text}]
            else:
                content = [{"type": "output_text" if ga else "text", "text": text}]
        return self._item(
            {
                "id": run.item_id,
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": content,
            }
        )

    def _usage(self, run: _Run, progress: _Progress | None) -> dict[str, Any]:
        ga = self.dialect is Dialect.GA
        audio_in = sum(self.item_audio_ms.values()) // 100
        text_in = 20 + 4 * len(self.items)
        words = len(_split_words("".join(progress.text) if progress else run.text))
        audio_out = math.ceil((progress.audio_ms if progress else 0) / 50)
        if run.kind == "function":
            words = len(run.arguments) // 4
        cached = {"text_tokens": 0, "audio_tokens": 0}
        input_details: dict[str, Any] = {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "cached_tokens": 0,
            "cached_tokens_details": cached,
        }
        if ga:
            input_details["image_tokens"] = 0
            cached["image_tokens"] = 0
        return {
            "total_tokens": text_in + audio_in + words + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": words + audio_out,
            "input_token_details": input_details,
            "output_token_details": {"text_tokens": words, "audio_tokens": audio_out},
        }

    def _rate_limits(self, used: int) -> dict[str, Any]:
        self._tokens_remaining = max(0, self._tokens_remaining - used)
        limits = [
            {
                "name": "tokens",
                "limit": 40_000,
                "remaining": self._tokens_remaining,
                "reset_seconds": 2.265,
            }
        ]
        if self.dialect is Dialect.BETA:
            limits.insert(
                0,
                {"name": "requests", "limit": 20_000, "remaining": 19_999, "reset_seconds": 0.003},
            )
        return self._event("rate_limits.updated", rate_limits=limits)

    def _ids(self, run: _Run, *, part: bool = True) -> dict[str, Any]:
        ids: dict[str, Any] = {"response_id": run.id, "item_id": run.item_id, "output_index": 0}
        if part:
            ids["content_index"] = 0
        return ids

    def _schedule(self, run: _Run, voice: Voice, start: float) -> list[_Entry]:
        """The whole response on absolute times from ``start`` (§3.2 grammar)."""
        lat = self.latency
        entries: list[_Entry] = [self._created_entry(run, start)]
        if self.dialect is Dialect.BETA:
            # beta sends rate_limits.updated right after response.created (§3.4)
            entries.append(_Entry(start, SendEvent(self._rate_limits(0), 0.0), run))
        at = start + lat.first_delta_s
        entries.append(
            _Entry(
                at,
                self._send(
                    "response.output_item.added",
                    response_id=run.id,
                    output_index=0,
                    item=self._assistant_item(run, "in_progress", None),
                ),
                run,
                ("open", "item"),
            )
        )
        if run.in_conversation:
            entries.append(
                _Entry(
                    at,
                    self._send(
                        "conversation.item.added",
                        previous_item_id=run.previous_item_id,
                        item=self._assistant_item(run, "in_progress", None),
                    ),
                    run,
                )
            )
        times: list[float] = []
        deltas: list[_Entry] = []
        if run.kind == "function":
            pieces = _chunk_text(run.arguments, 4)
            for index, piece in enumerate(pieces):
                times.append(self._delta_time(at, index * lat.text_interval_ms, times))
                deltas.append(
                    _Entry(
                        times[-1],
                        self._send(
                            "response.function_call_arguments.delta",
                            **self._ids(run, part=False),
                            call_id=run.call_id,
                            delta=piece,
                        ),
                        run,
                        ("args", piece),
                    )
                )
            end = times[-1] if times else at
            entries += deltas
            entries.append(
                _Entry(
                    end,
                    self._send(
                        "response.function_call_arguments.done",
                        **self._ids(run, part=False),
                        call_id=run.call_id,
                        name=run.name,
                        arguments=run.arguments,
                    ),
                    run,
                    ("close", "stream"),
                )
            )
        else:
            audio = run.kind == "audio"
            part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
            entries.append(
                _Entry(
                    at,
                    self._send("response.content_part.added", **self._ids(run), part=part),
                    run,
                    ("open", "part"),
                )
            )
            entries.append(_Entry(at, None, run, ("open", "stream")))
            words = _split_words(run.text)
            transcript_type = to_dialect("response.audio_transcript.delta", self.dialect)
            audio_type = to_dialect("response.audio.delta", self.dialect)
            text_type = to_dialect("response.text.delta", self.dialect)
            stream = _Stream()
            stream_at = len(entries)
            if audio:
                chunks = _audio_chunks(voice, run.output_format, lat.chunk_ms)
                n = max(1, len(chunks))
                word_at = [min(n - 1, (j * n) // max(1, len(words))) for j in range(len(words))]
                offset_ms = 0
                word_index = 0
                for index, (b64, ms) in enumerate(chunks):
                    t = self._delta_time(at, offset_ms, times)
                    times.append(t)
                    while word_index < len(words) and word_at[word_index] <= index:
                        stream.add(t, transcript_type, words[word_index], 0)
                        word_index += 1
                    stream.add(t, audio_type, b64, ms)
                    offset_ms += ms
                end = times[-1] if times else at
                for word in words[word_index:]:
                    stream.add(end, transcript_type, word, 0)
            else:
                for index, word in enumerate(words):
                    times.append(self._delta_time(at, index * lat.text_interval_ms, times))
                    stream.add(times[-1], text_type, word, 0)
                end = times[-1] if times else at
            if stream.times:
                entries.insert(stream_at, _Entry(stream.times[0], None, run, stream=stream))
            entries += self._close_stream(run, _progress_of(entries), end)
        entries += self._close_item_and_done(run, _progress_of(entries), end, "completed", None)
        return entries

    def _delta_time(self, base: float, offset_ms: float, times: list[float]) -> float:
        lat = self.latency
        t = base if lat.speed <= 0 else base + offset_ms / 1000.0 / lat.speed
        if lat.jitter_s > 0:
            t += self.rng.uniform(0.0, lat.jitter_s)
        # jitter may delay a delta but never reorder the stream
        return max(t, times[-1]) if times else t

    def _close_stream(self, run: _Run, progress: _Progress, at: float) -> list[_Entry]:
        """Closing events for an open content stream and part (audio/text only)."""
        entries: list[_Entry] = []
        text = "".join(progress.text)
        if run.kind == "function":
            if progress.is_open("item") and "stream" not in progress.closed:
                entries.append(
                    _Entry(
                        at,
                        self._send(
                            "response.function_call_arguments.done",
                            **self._ids(run, part=False),
                            call_id=run.call_id,
                            name=run.name,
                            arguments="".join(progress.arguments),
                        ),
                        run,
                        ("close", "stream"),
                    )
                )
            return entries
        if progress.is_open("stream"):
            if run.kind == "audio":
                entries.append(
                    _Entry(
                        at,
                        self._send("response.audio.done", **self._ids(run)),
                        run,
                        ("close", "stream"),
                    )
                )
                entries.append(
                    _Entry(
                        at,
                        self._send(
                            "response.audio_transcript.done", **self._ids(run), transcript=text
                        ),
                        run,
                    )
                )
            else:
                entries.append(
                    _Entry(
                        at,
                        self._send("response.text.done", **self._ids(run), text=text),
                        run,
                        ("close", "stream"),
                    )
                )
        if progress.is_open("part"):
            part = (
                {"type": "audio", "transcript": text}
                if run.kind == "audio"
                else {"type": "text", "text": text}
            )
            entries.append(
                _Entry(
                    at,
                    self._send("response.content_part.done", **self._ids(run), part=part),
                    run,
                    ("close", "part"),
                )
            )
        return entries

    def _close_item_and_done(
        self, run: _Run, progress: _Progress, at: float, status: str, details: Any
    ) -> list[_Entry]:
        entries: list[_Entry] = []
        output: list[Any] = []
        item_status = "completed" if status == "completed" else "incomplete"
        if progress.is_open("item"):
            item = self._assistant_item(run, item_status, progress)
            if run.in_conversation and self.dialect is Dialect.GA:
                entries.append(
                    _Entry(
                        at,
                        self._send(
                            "conversation.item.done",
                            previous_item_id=run.previous_item_id,
                            item=item,
                        ),
                        run,
                    )
                )
            entries.append(
                _Entry(
                    at,
                    self._send(
                        "response.output_item.done", response_id=run.id, output_index=0, item=item
                    ),
                    run,
                    ("close", "item"),
                )
            )
            output.append(item)
            if run.in_conversation:
                # the item joins the conversation when it is finished (previous_item_id chain)
                self.items[run.item_id] = item
                self.item_audio_ms[run.item_id] = progress.audio_ms
                self.last_item_id = run.item_id
        usage = self._usage(run, progress)
        entries.append(
            _Entry(
                at,
                self._send(
                    "response.done",
                    response=self._response_object(run, status, details, output, usage),
                ),
                run,
                ("done", None),
            )
        )
        if self.dialect is Dialect.GA:
            # GA sends rate_limits.updated ~43 ms after response.done (§3.4)
            entries.append(
                _Entry(
                    at + self.latency.rate_limits_after_s,
                    SendEvent(self._rate_limits(usage["total_tokens"]), 0.0),
                    run,
                    ("rate_limits", None),
                )
            )
        return entries

    def _closing(
        self, run: _Run, progress: _Progress, at: float, status: str, details: Any
    ) -> list[_Entry]:
        """Everything that closes a response from ``progress`` on: stream, part, item, done."""
        closing = self._close_stream(run, progress, at)
        after = _Progress(
            set(progress.opened),
            set(progress.closed),
            list(progress.text),
            list(progress.arguments),
            progress.audio_ms,
            progress.deltas,
        )
        for entry in closing:
            after.apply(entry.effect)
        return closing + self._close_item_and_done(run, after, at, status, details)

    def _created_entry(self, run: _Run, at: float) -> _Entry:
        """``response.created``; its effect lets a cancel know whether the client saw it."""
        created = self._send(
            "response.created",
            response=self._response_object(run, "in_progress", None, [], None),
        )
        return _Entry(at, created, run, ("open", "response"))

    def _cancel(self, run: _Run, now: float, reason: str) -> None:
        # drop what the client has not been sent, then close what it has seen open (§3.6)
        self._heap = [item for item in self._heap if item[2].run is not run]
        heapq.heapify(self._heap)
        details = {"type": "cancelled", "reason": reason}
        closing = self._closing(run, run.progress, now, "cancelled", details)
        if "response" not in run.progress.opened:
            # cancelled before response.created went out: the real service still sends
            # created, then done with output [] (SK trace, §3.2), never a done alone
            closing.insert(0, self._created_entry(run, now))
        self._push(closing)
        run.done = True
        if self.active is run:
            self.active = None
        self._runs = [r for r in self._runs if not r.done]

    def _on_response_cancel(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        wanted = event.get("response_id")
        run = self.active
        if isinstance(wanted, str) and wanted:
            run = next((r for r in self._runs if r.id == wanted and not r.done), None)
        if run is None or run.done:
            self._error(
                now,
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                None,
                client_id,
            )
            return
        self._cancel(run, now, "client_cancelled")

    def _on_session_close(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        self._push([_Entry(now, Close(1000, "", 0.0))])


def _progress_of(entries: Sequence[_Entry]) -> _Progress:
    """What the client will have seen once ``entries`` are all sent."""
    progress = _Progress()
    for entry in entries:
        if entry.stream is not None:
            for i in range(entry.stream.index, len(entry.stream.times)):
                progress.apply(entry.stream.effect(i))
        else:
            progress.apply(entry.effect)
    return progress


def _explode(entries: list[_Entry]) -> list[_Entry]:
    """Streams as one lazy entry per delta, so that a fault can cut, copy or move any of them."""
    if not any(entry.stream is not None for entry in entries):
        return entries
    out: list[_Entry] = []
    for entry in entries:
        stream = entry.stream
        if stream is None:
            out.append(entry)
            continue
        for i in range(stream.index, len(stream.times)):
            out.append(
                _Entry(
                    stream.times[i],
                    None,
                    entry.run,
                    stream.effect(i),
                    stream.types[i],
                    stream.payloads[i],
                )
            )
    return out


def _chunk_text(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = max(1, math.ceil(len(text) / pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _arguments_for(tool: Mapping[str, Any]) -> dict[str, Any]:
    """Plausible arguments for a function tool: each required property gets a typed value."""
    params = tool.get("parameters")
    if not isinstance(params, Mapping):
        return {}
    props = params.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = params.get("required")
    names = required if isinstance(required, list) and required else list(props)[:1]
    samples = {
        "string": "Paris",
        "number": 1.5,
        "integer": 1,
        "boolean": True,
        "array": [],
        "object": {},
    }
    out: dict[str, Any] = {}
    for name in names:
        found = props.get(name)
        spec: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        enum = spec.get("enum")
        if isinstance(enum, list) and enum:
            out[str(name)] = enum[0]
        else:
            out[str(name)] = samples.get(str(spec.get("type", "string")), "Paris")
    return out


_Handler = Any
_HANDLERS: dict[str, _Handler] = {
    "session.update": SessionBehaviour._on_session_update,
    "session.close": SessionBehaviour._on_session_close,
    "input_audio_buffer.append": SessionBehaviour._on_append,
    "session.input_audio_buffer.append": SessionBehaviour._on_append,
    "input_audio_buffer.commit": SessionBehaviour._on_commit,
    "input_audio_buffer.clear": SessionBehaviour._on_clear,
    "conversation.item.create": SessionBehaviour._on_item_create,
    "conversation.item.retrieve": SessionBehaviour._on_item_retrieve,
    "conversation.item.delete": SessionBehaviour._on_item_delete,
    "conversation.item.truncate": SessionBehaviour._on_item_truncate,
    "response.create": SessionBehaviour._on_response_create,
    "response.cancel": SessionBehaviour._on_response_cancel,
}
