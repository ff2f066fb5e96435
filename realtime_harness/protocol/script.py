"""The scripted probe session as a pure state machine (no I/O, no clock: time is an argument).

One connection (the session lifecycle and audio-input flow of the Realtime API, see
``docs/architecture.md``)::

    wait session.created → send session.update → wait session.updated (or the error naming it)
    → for each turn:
        audio, manual:  stream appends on the schedule t0 + k·chunk → commit → wait committed
                        → response.create → wait response.created … response.done
        audio, VAD:     stream appends → wait for the response the server starts on its own
        text:           conversation.item.create + response.create → wait … response.done
    → drain briefly (a trailing rate_limits.updated) → done (the driver closes with 1000)

The driver calls :meth:`SessionScript.start`, then repeatedly :meth:`~SessionScript.poll` (what
is due now: audio chunks, timeouts), :meth:`~SessionScript.receive` for every server event and
:meth:`~SessionScript.closed` if the socket closes, sending whatever they return and sleeping
until :meth:`~SessionScript.next_wakeup`. Each wait has its own deadline in
:class:`PhaseTimeouts`; inside a response the deadline is an *idle* timeout that every event of
the response renews, so a long answer is fine and a stalled one is caught.

The appends follow an absolute schedule (chunk k is due at ``t0 + k·chunk/speed``), so the stream
never drifts however long it runs; ``speed`` 0 sends as fast as the transport takes them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from realtime_harness.protocol import catalog
from realtime_harness.protocol.audio import (
    BYTES_PER_MS,
    AudioFormat,
    b64_decoded_length,
    b64_length_unchecked,
)
from realtime_harness.protocol.dialects import Dialect, to_dialect
from realtime_harness.protocol.failures import BENIGN_ERROR_CODES

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_RESPONSE_MAX_S",
    "DEFAULT_SESSION_MAX_S",
    "AudioTurn",
    "Phase",
    "PhaseTimeouts",
    "ResponseTrack",
    "ScriptPlan",
    "SessionScript",
    "TextTurn",
    "TimeoutInfo",
    "Turn",
]

DEFAULT_INSTRUCTIONS = "You are a test assistant. Answer in one short sentence."
#: Wall-clock cap of one response (seconds): real answers take seconds, a few minutes at most.
DEFAULT_RESPONSE_MAX_S = 300.0
#: Wall-clock cap of one session (seconds): one hour, the longest a service keeps a session.
DEFAULT_SESSION_MAX_S = 3600.0

Event = dict[str, Any]


class Phase(enum.StrEnum):
    """Where the session is; the value names what it waits for."""

    CONNECTING = "connecting"
    WAIT_SESSION_CREATED = catalog.SESSION_CREATED
    WAIT_SESSION_UPDATED = catalog.SESSION_UPDATED
    STREAMING = "streaming audio"
    WAIT_COMMITTED = catalog.INPUT_AUDIO_BUFFER_COMMITTED
    WAIT_RESPONSE_CREATED = catalog.RESPONSE_CREATED
    WAIT_RESPONSE_DONE = catalog.RESPONSE_DONE
    DRAIN = "drain"
    DONE = "done"


@dataclass(frozen=True)
class PhaseTimeouts:
    """Seconds each wait may take. ``response_idle`` is the longest silence inside a response.

    Two wall-clock caps bound what idle timeouts cannot (a server that sends a delta every
    second forever): ``response_max`` from a response's request (or creation) to its
    ``response.done``, and ``session_max`` for the whole session from the open socket. Their
    defaults are far above any real response or probe session.
    """

    session_created: float = 10.0
    session_updated: float = 10.0
    committed: float = 10.0
    response_created: float = 10.0
    response_idle: float = 10.0
    drain: float = 0.25
    response_max: float = DEFAULT_RESPONSE_MAX_S
    session_max: float = DEFAULT_SESSION_MAX_S

    @classmethod
    def uniform(
        cls,
        seconds: float,
        *,
        drain: float = 0.25,
        response_max: float = DEFAULT_RESPONSE_MAX_S,
        session_max: float = DEFAULT_SESSION_MAX_S,
    ) -> PhaseTimeouts:
        """Every wait bounded by ``seconds`` (the CLI's ``--timeout``), plus the wall-clock caps."""
        return cls(seconds, seconds, seconds, seconds, seconds, drain, response_max, session_max)

    def for_phase(self, phase: Phase) -> float | None:
        """The bound of a waiting phase; None for phases that wait for nothing."""
        name = _PHASE_BOUNDS.get(phase)
        return None if name is None else getattr(self, name)


#: Which :class:`PhaseTimeouts` field bounds each waiting phase (looked up per server event).
_PHASE_BOUNDS: dict[Phase, str] = {
    Phase.WAIT_SESSION_CREATED: "session_created",
    Phase.WAIT_SESSION_UPDATED: "session_updated",
    Phase.WAIT_COMMITTED: "committed",
    Phase.WAIT_RESPONSE_CREATED: "response_created",
    Phase.WAIT_RESPONSE_DONE: "response_idle",
    Phase.DRAIN: "drain",
}


@dataclass(frozen=True)
class AudioTurn:
    """A spoken turn: base64 chunks of 24 kHz PCM16, each ``chunk_ms`` long (the last may be
    shorter)."""

    chunks: tuple[str, ...]
    chunk_ms: int = 100
    label: str = "audio"

    @property
    def duration_ms(self) -> float:
        """Milliseconds of audio in the turn."""
        return sum((b64_decoded_length(c) or 0) for c in self.chunks) / BYTES_PER_MS


@dataclass(frozen=True)
class TextTurn:
    """A typed turn: one user text message, the minimal sanity check."""

    text: str
    label: str = "text"


Turn = AudioTurn | TextTurn


@dataclass(frozen=True)
class ScriptPlan:
    """Everything the session will do, decided before connecting."""

    dialect: Dialect
    turns: tuple[Turn, ...]
    turn_detection: str | None = None
    voice: str = "alloy"
    instructions: str | None = DEFAULT_INSTRUCTIONS
    speed: float = 1.0
    timeouts: PhaseTimeouts = field(default_factory=PhaseTimeouts)

    @property
    def text_only(self) -> bool:
        """Whether every turn is typed, so the session asks for text output only."""
        return all(isinstance(t, TextTurn) for t in self.turns)


@dataclass(frozen=True)
class TimeoutInfo:
    """A wait that exceeded its deadline: the phase's own (``idle``), or a wall-clock cap
    (``response``, ``session``)."""

    phase: Phase
    seconds: float
    response_id: str | None = None
    limit: str = "idle"

    def message(self) -> str:
        """One line saying what did not arrive in time."""
        if self.limit == "session":
            return (
                f"session wall-clock limit of {self.seconds:g} s reached while waiting for "
                f"{self.phase.value}"
                + (f" (response {self.response_id})" if self.response_id else "")
            )
        if self.limit == "response":
            return (
                f"response {self.response_id} exceeded the response wall-clock limit of "
                f"{self.seconds:g} s without response.done"
            )
        if self.phase is Phase.WAIT_RESPONSE_DONE:
            return (
                f"response {self.response_id} stalled: no event for {self.seconds:g} s before "
                "response.done"
            )
        return f"no {self.phase.value} within {self.seconds:g} s"


@dataclass
class ResponseTrack:
    """What one response did, with times in seconds on the driver's clock."""

    turn: int
    response_id: str | None = None
    status: str | None = None
    status_details: Any = None
    t_requested: float | None = None
    t_created: float | None = None
    t_first_audio: float | None = None
    t_first_transcript: float | None = None
    t_first_text: float | None = None
    t_done: float | None = None
    t_last_audio: float | None = None
    max_audio_gap: float = 0.0
    audio_bytes: int = 0
    transcript: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    barge_in: bool = False

    @property
    def completed(self) -> bool:
        """Whether the response reached ``response.done`` with status ``completed``."""
        return self.status == "completed"

    @property
    def output_audio_ms(self) -> float:
        """Milliseconds of assistant audio (PCM16 24 kHz), counted without decoding."""
        return self.audio_bytes / BYTES_PER_MS

    def timings_ms(self) -> dict[str, float]:
        """Durations in ms from the request (or from ``response.created`` under server VAD)."""
        origin = self.t_requested if self.t_requested is not None else self.t_created
        out: dict[str, float] = {}
        if origin is None:
            return out
        for name, value in (
            ("created", self.t_created),
            ("first_audio", self.t_first_audio),
            ("first_transcript", self.t_first_transcript),
            ("first_text", self.t_first_text),
            ("done", self.t_done),
        ):
            if value is not None:
                out[name] = round((value - origin) * 1000, 3)
        if self.audio_bytes:
            out["output_audio"] = round(self.output_audio_ms, 3)
            out["max_audio_gap"] = round(self.max_audio_gap * 1000, 3)
            if self.t_done is not None and self.output_audio_ms:
                # Wall time to produce the answer over the answer's length: < 1 means the
                # server generated audio faster than it plays.
                out["real_time_factor"] = round(
                    (self.t_done - origin) * 1000 / self.output_audio_ms, 4
                )
        return out


_DELTA_KINDS = {
    catalog.RESPONSE_OUTPUT_AUDIO_DELTA: "audio",
    catalog.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA: "transcript",
    catalog.RESPONSE_OUTPUT_TEXT_DELTA: "text",
}


class SessionScript:
    """The probe session's state machine (see the module docstring)."""

    def __init__(
        self,
        plan: ScriptPlan,
        *,
        new_event_id: Callable[[], str],
        pace_phase: float | None = None,
    ) -> None:
        if not plan.turns:
            raise ValueError("a session plan needs at least one turn")
        self.plan = plan
        self._new_id = new_event_id
        #: Where in the chunk interval this session's audio chunks fall, as a fraction of it
        #: in [0, 1) on the driver's clock; None: the stream starts at once. See
        #: :meth:`_next_turn`.
        self.pace_phase = pace_phase
        self.phase = Phase.CONNECTING
        self.deadline: float | None = None
        self.session_id: str | None = None
        self.expires_at: int | None = None
        self.model: str | None = None
        self.marks: dict[str, float] = {}
        self.responses: list[ResponseTrack] = []
        self.turn = -1
        self.timed_out: TimeoutInfo | None = None
        self.rejection: Mapping[str, Any] | None = None
        self.rejected_event_type: str | None = None
        self.unexpected_close: tuple[int | None, str, Phase] | None = None
        self.stopped_early = False
        self._ours: dict[str, str] = {}
        self._chunk = 0
        self._stream_t0 = 0.0
        self._current: ResponseTrack | None = None
        self._by_id: dict[str, ResponseTrack] = {}
        self._session_end: float | None = None
        self._response_end: float | None = None
        self._chunks: tuple[str, ...] = ()
        self._interval = 0.0

    # --- state -------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """Whether the session is over (cleanly or not); the driver then closes with 1000."""
        return self.phase is Phase.DONE

    @property
    def ok(self) -> bool:
        """Whether every turn ran to ``response.done`` without a timeout, rejection or close."""
        return (
            self.finished
            and self.timed_out is None
            and self.rejection is None
            and self.unexpected_close is None
            and not self.stopped_early
        )

    def progress(self) -> tuple[int, int]:
        """Audio chunks sent and total in the current turn ((0, 0) outside audio turns)."""
        turn = self._turn()
        if isinstance(turn, AudioTurn):
            return self._chunk, len(turn.chunks)
        return 0, 0

    def current_response_id(self) -> str | None:
        """The id of the response in progress, if any."""
        return self._current.response_id if self._current else None

    def _turn(self) -> Turn | None:
        return self.plan.turns[self.turn] if 0 <= self.turn < len(self.plan.turns) else None

    def _enter(self, phase: Phase, now: float) -> None:
        self.phase = phase
        bound = self.plan.timeouts.for_phase(phase)
        deadline = None if bound is None else now + bound
        if phase is Phase.WAIT_RESPONSE_DONE and self._response_end is not None:
            deadline = min(deadline or self._response_end, self._response_end)
        if phase is not Phase.DONE and self._session_end is not None:
            deadline = min(deadline or self._session_end, self._session_end)
        self.deadline = deadline

    def _event(self, event_type: str, **fields: Any) -> Event:
        event_id = self._new_id()
        if event_type != catalog.INPUT_AUDIO_BUFFER_APPEND:
            self._ours[event_id] = event_type
        return {"type": event_type, "event_id": event_id, **fields}

    # --- driver entry points -----------------------------------------------------------------
    def start(self, now: float) -> None:
        """The connection is open: start waiting for ``session.created``."""
        self.marks["open"] = now
        self._session_end = now + self.plan.timeouts.session_max
        self._enter(Phase.WAIT_SESSION_CREATED, now)

    def next_wakeup(self) -> float | None:
        """When :meth:`poll` next has something to do (a chunk or a deadline); None: nothing."""
        if self.phase is Phase.STREAMING:
            due = self._chunk_due(self._chunk)
            return due if self._session_end is None else min(due, self._session_end)
        return self.deadline

    def poll(self, now: float) -> list[Event]:
        """Events due at ``now`` (audio chunks, the commit after them); applies deadlines."""
        if self.finished:
            return []
        limits = self.plan.timeouts
        if self._session_end is not None and now >= self._session_end:
            if self.phase is not Phase.DRAIN:
                self.timed_out = TimeoutInfo(
                    self.phase, limits.session_max, self.current_response_id(), "session"
                )
            self._enter(Phase.DONE, now)
            return []
        if self.phase is Phase.STREAMING:
            return self._stream(now)
        if self.deadline is not None and now >= self.deadline:
            if self.phase is Phase.DRAIN:
                self._enter(Phase.DONE, now)
            elif (
                self.phase is Phase.WAIT_RESPONSE_DONE
                and self._response_end is not None
                and now >= self._response_end
            ):
                self.timed_out = TimeoutInfo(
                    self.phase, limits.response_max, self.current_response_id(), "response"
                )
                self._enter(Phase.DONE, now)
            else:
                bound = limits.for_phase(self.phase) or 0.0
                self.timed_out = TimeoutInfo(self.phase, bound, self.current_response_id())
                self._enter(Phase.DONE, now)
        return []

    def closed(self, code: int | None, reason: str, now: float) -> None:
        """The server closed the socket (or it dropped) at ``now``."""
        if self.phase not in (Phase.DRAIN, Phase.DONE):
            self.unexpected_close = (code, reason, self.phase)
        self._enter(Phase.DONE, now)

    def incomplete_turns(self) -> list[tuple[int, ResponseTrack | None]]:
        """The turns that did not reach their goal, with their last response (None: none).

        A turn's goal is a response that reaches ``response.done`` with status ``completed``.
        Under server VAD the server may start a response while the probe is still speaking and
        cancel it (``turn_detected``) when more of the probe's audio arrives: that barge-in is
        provoked by the probe, reported on the response, and the turn waits for the next one.
        """
        missing: list[tuple[int, ResponseTrack | None]] = []
        for index in range(len(self.plan.turns)):
            tracks = [t for t in self.responses if t.turn == index and not t.barge_in]
            last = tracks[-1] if tracks else None
            if last is None or not last.completed:
                missing.append((index, last))
        return missing

    def transcripts(self) -> list[str]:
        """The assistant's transcript (or text) of each response, in order."""
        return ["".join(t.transcript or t.text) for t in self.responses]

    def receive(self, event: Mapping[str, Any], now: float) -> list[Event]:
        """Take one server event; return the client events to send next."""
        etype = event.get("type")
        if not isinstance(etype, str) or self.finished:
            return []
        # Beta names are read through the GA table so one code path serves both dialects.
        etype = to_dialect(etype, Dialect.GA)
        if etype == catalog.ERROR:
            return self._error(event, now)
        if etype == catalog.SESSION_CREATED:
            return self._session_created(event, now)
        if etype == catalog.SESSION_UPDATED and self.phase is Phase.WAIT_SESSION_UPDATED:
            self.marks["session_updated"] = now
            return self._next_turn(now)
        if etype == catalog.INPUT_AUDIO_BUFFER_COMMITTED and self.phase is Phase.WAIT_COMMITTED:
            self.marks[f"committed.{self.turn}"] = now
            return self._request_response(now)
        if etype.startswith("response."):
            return self._response_event(etype, event, now)
        return []

    # --- phases ------------------------------------------------------------------------------
    def _session_created(self, event: Mapping[str, Any], now: float) -> list[Event]:
        session = event.get("session")
        if isinstance(session, Mapping):
            sid = session.get("id")
            self.session_id = sid if isinstance(sid, str) else self.session_id
            expires = session.get("expires_at")
            self.expires_at = expires if isinstance(expires, int) else None
            model = session.get("model")
            self.model = model if isinstance(model, str) else None
        if self.phase is not Phase.WAIT_SESSION_CREATED:
            return []
        self.marks["session_created"] = now
        update = self._event(catalog.SESSION_UPDATE, session=self._session_config())
        self.marks["session_update_sent"] = now
        self._enter(Phase.WAIT_SESSION_UPDATED, now)
        return [update]

    def _session_config(self) -> dict[str, Any]:
        plan = self.plan
        vad: dict[str, Any] | None = (
            {"type": plan.turn_detection} if plan.turn_detection is not None else None
        )
        if plan.dialect is Dialect.GA:
            session: dict[str, Any] = {
                "type": "realtime",
                "output_modalities": ["text"] if plan.text_only else ["audio"],
                "audio": {
                    "input": {
                        "format": AudioFormat.PCM16.ga(),
                        "turn_detection": vad,
                    },
                    "output": {"format": AudioFormat.PCM16.ga()},
                },
            }
            if not plan.text_only:
                session["audio"]["output"]["voice"] = plan.voice
        else:
            session = {
                "modalities": ["text"] if plan.text_only else ["audio", "text"],
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "turn_detection": vad,
            }
            if not plan.text_only:
                session["voice"] = plan.voice
        if plan.instructions is not None:
            session["instructions"] = plan.instructions
        return session

    def _next_turn(self, now: float) -> list[Event]:
        self.turn += 1
        turn = self._turn()
        if turn is None:
            self._enter(Phase.DRAIN, now)
            return []
        self._new_track()
        if isinstance(turn, TextTurn):
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": turn.text}],
            }
            create = self._event(catalog.CONVERSATION_ITEM_CREATE, item=item)
            return [create, *self._request_response(now)]
        self._chunk = 0
        self._chunks = turn.chunks
        self._interval = interval = (
            turn.chunk_ms / 1000 / self.plan.speed if self.plan.speed > 0 else 0.0
        )
        # Many sessions in one event loop must not append in the same millisecond (aligned
        # timers all wake at once and are all late; docs/benchmarks.md). Their streams would
        # align whenever the server answers a burst of session.update together, so a driver of
        # many sessions gives each a phase: its first chunk waits for it (less than one chunk).
        wait = 0.0
        if self.pace_phase is not None and interval > 0:
            wait = (self.pace_phase * interval - now) % interval
            if wait > interval - 1e-6:  # on phase but for float rounding
                wait = 0.0
        self._stream_t0 = now + wait
        self.marks[f"stream_start.{self.turn}"] = now
        self.phase = Phase.STREAMING
        self.deadline = None
        return self._stream(now)

    def _chunk_due(self, index: int) -> float:
        return self._stream_t0 + index * self._interval

    def _stream(self, now: float) -> list[Event]:
        # The hot path of a long stream: one append per call, no lookups beyond the turn's own.
        chunks = self._chunks
        total = len(chunks)
        out: list[Event] = []
        k = self._chunk
        t0, interval = self._stream_t0, self._interval
        while k < total and t0 + k * interval <= now:
            out.append(
                {
                    "type": catalog.INPUT_AUDIO_BUFFER_APPEND,
                    "event_id": self._new_id(),
                    "audio": chunks[k],
                }
            )
            k += 1
        self._chunk = k
        if k < total:
            return out
        self.marks[f"stream_end.{self.turn}"] = now
        if self.plan.turn_detection is not None:
            # The server decides when the turn ends; a response it already started counts.
            current = self._current
            if current is not None and current.t_done is not None:
                return out + self._turn_finished(current, now)
            phase = Phase.WAIT_RESPONSE_DONE if current and current.t_created else None
            self._enter(phase or Phase.WAIT_RESPONSE_CREATED, now)
            return out
        out.append(self._event(catalog.INPUT_AUDIO_BUFFER_COMMIT))
        self.marks[f"commit_sent.{self.turn}"] = now
        self._enter(Phase.WAIT_COMMITTED, now)
        return out

    def _new_track(self) -> ResponseTrack:
        self._current = ResponseTrack(turn=self.turn)
        self.responses.append(self._current)
        self._response_end = None
        return self._current

    def _request_response(self, now: float) -> list[Event]:
        if self._current is not None:
            self._current.t_requested = now
            self._response_end = now + self.plan.timeouts.response_max
        self._enter(Phase.WAIT_RESPONSE_CREATED, now)
        return [self._event(catalog.RESPONSE_CREATE)]

    def _response_event(self, etype: str, event: Mapping[str, Any], now: float) -> list[Event]:
        track = self._current
        if etype == catalog.RESPONSE_CREATED:
            response = event.get("response")
            rid = response.get("id") if isinstance(response, Mapping) else None
            if track is None or track.t_created is not None:
                return []  # a response we did not ask for (e.g. a second VAD turn): not ours
            track.response_id = rid if isinstance(rid, str) else None
            track.t_created = now
            if self._response_end is None:
                self._response_end = now + self.plan.timeouts.response_max
            if track.response_id:
                self._by_id[track.response_id] = track
            if self.phase is Phase.WAIT_RESPONSE_CREATED:
                self._enter(Phase.WAIT_RESPONSE_DONE, now)
            return []
        rid = event.get("response_id")
        if etype == catalog.RESPONSE_DONE:
            response = event.get("response")
            rid = response.get("id") if isinstance(response, Mapping) else None
        if not isinstance(rid, str) or rid not in self._by_id:
            return []
        track = self._by_id[rid]
        if self.phase is Phase.WAIT_RESPONSE_DONE:
            self._enter(Phase.WAIT_RESPONSE_DONE, now)  # renew the idle deadline
        kind = _DELTA_KINDS.get(etype)
        if kind == "audio":
            delta = event.get("delta")
            if isinstance(delta, str):
                # Arithmetic, not a second decode: the validator checks that it is base64.
                track.audio_bytes += b64_length_unchecked(delta)
            if track.t_first_audio is None:
                track.t_first_audio = now
            elif track.t_last_audio is not None:
                track.max_audio_gap = max(track.max_audio_gap, now - track.t_last_audio)
            track.t_last_audio = now
        elif kind == "transcript":
            if track.t_first_transcript is None:
                track.t_first_transcript = now
            delta = event.get("delta")
            if isinstance(delta, str):
                track.transcript.append(delta)
        elif kind == "text":
            if track.t_first_text is None:
                track.t_first_text = now
            delta = event.get("delta")
            if isinstance(delta, str):
                track.text.append(delta)
        elif etype == catalog.RESPONSE_DONE:
            response = event.get("response")
            response = response if isinstance(response, Mapping) else {}
            status = response.get("status")
            track.status = status if isinstance(status, str) else None
            track.status_details = response.get("status_details")
            track.t_done = now
            if track is self._current and self._barged_in(track):
                return self._after_barge_in(now)
            if track is self._current and self.phase is not Phase.STREAMING:
                return self._turn_finished(track, now)
        return []

    def _barged_in(self, track: ResponseTrack) -> bool:
        """A server-VAD response cancelled because the probe's audio went on (turn_detected)."""
        details = track.status_details
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return (
            self.plan.turn_detection is not None
            and track.status == "cancelled"
            and reason == "turn_detected"
            and isinstance(self._turn(), AudioTurn)
        )

    def _after_barge_in(self, now: float) -> list[Event]:
        """The probe's own audio cancelled this response: the turn waits for the next one."""
        assert self._current is not None
        self._current.barge_in = True
        self._new_track()
        if self.phase is not Phase.STREAMING:
            self._enter(Phase.WAIT_RESPONSE_CREATED, now)
        return []

    def _turn_finished(self, track: ResponseTrack, now: float) -> list[Event]:
        self._current = None
        if track.status != "completed" and self.turn + 1 < len(self.plan.turns):
            self.stopped_early = True  # a failed turn makes later ones meaningless
            self._enter(Phase.DRAIN, now)
            return []
        return self._next_turn(now)

    def _error(self, event: Mapping[str, Any], now: float) -> list[Event]:
        error = event.get("error")
        error = error if isinstance(error, Mapping) else {}
        if error.get("code") in BENIGN_ERROR_CODES:
            return []
        inner = error.get("event_id")
        ours = isinstance(inner, str) and inner in self._ours
        # While a response runs, an unattributed error is followed by its failed response.done;
        # keep reading. Otherwise the server has told us this session will not go on.
        if not ours and self.phase in (Phase.WAIT_RESPONSE_DONE, Phase.DRAIN, Phase.STREAMING):
            return []
        self.rejection = event
        self.rejected_event_type = self._ours.get(inner) if isinstance(inner, str) else None
        self._enter(Phase.DONE, now)
        return []
