"""The mock server's session behaviour: client events and time in, server actions out.

Sans-I/O (no asyncio, sockets, files or clocks): :class:`SessionBehaviour` is fed parsed client
events with the current time (``receive``) and asked for the actions that are due (``poll``) and
when the next one will be (``next_deadline``), the timer pattern of sans-I/O protocol libraries.
The I/O layer (:mod:`realtime_harness.mock.server`) only performs the actions and loads what the
session says (the voices) before it starts.

The behaviour composes the session's parts, one module each: the schedule
(:mod:`~realtime_harness.mock.schedule`), responses laid out from the protocol grammar
(:mod:`~realtime_harness.mock.responses`), the input buffer with VAD and transcription
(:mod:`~realtime_harness.mock.input`), conversation items (:mod:`~realtime_harness.mock.items`),
the dialect's JSON shapes (:mod:`~realtime_harness.mock.wire`) and the faults, each a transform of
the schedule (:mod:`~realtime_harness.mock.faults`). Shapes follow the OpenAI Realtime API
reference (client and server events, session and response objects, error codes).
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from realtime_harness.mock.config import BehaviourConfig, Latency
from realtime_harness.mock.fault_spec import FaultPhase, FaultPlan
from realtime_harness.mock.faults import TRANSFORMS, expiry
from realtime_harness.mock.input import InputBuffer, transcribe
from realtime_harness.mock.items import Conversation, Rejected
from realtime_harness.mock.responses import ResponseRun, ResponseWriter
from realtime_harness.mock.schedule import (
    Action,
    Close,
    Emit,
    Entry,
    Perform,
    ResponseProgress,
    Scheduler,
    Timer,
    explode,
    progress_after,
)
from realtime_harness.mock.voices import Voice, tone_voice
from realtime_harness.mock.wire import Wire, split_words
from realtime_harness.protocol import catalog as C
from realtime_harness.protocol import session_config as S
from realtime_harness.protocol.audio import MIN_COMMIT_MS, b64_decoded_length
from realtime_harness.protocol.ids import IdGenerator, new_id
from realtime_harness.protocol.rules import LIVE_CLIENT_EVENT_TYPES

__all__ = ["CLIENT_EVENT_TYPES", "LONG_ANSWER_S", "SessionBehaviour", "choose_voice"]

#: Client event types the server accepts (the live GA list).
CLIENT_EVENT_TYPES = LIVE_CLIENT_EVENT_TYPES

#: Voices longer than this are used only when asked for (``reply_voice`` or by name).
LONG_ANSWER_S = 10.0


@functools.cache
def _fallback_voices() -> tuple[Voice, ...]:
    return (tone_voice(),)


def choose_voice(
    voices: tuple[Voice, ...], rng: random.Random, *, reply_voice: str | None, instructions: object
) -> Voice:
    """What a response says.

    ``reply_voice`` when it names a voice; else the voice whose name the instructions mention as
    a word (``"tell me something long"`` answers with ``long``); else a seeded choice among the
    voices of at most :data:`LONG_ANSWER_S` seconds, so a first probe is answered quickly.
    """
    if reply_voice is not None:
        for voice in voices:
            if voice.name == reply_voice:
                return voice
    if isinstance(instructions, str) and instructions:
        words = _words(instructions)
        for voice in voices:
            if voice.name.lower() in words:
                return voice
    short = _short(voices)
    return short[rng.randrange(len(short))]


@functools.lru_cache(maxsize=16)
def _short(voices: tuple[Voice, ...]) -> tuple[Voice, ...]:
    # the voices a first probe may be answered with (the session's voices seldom change)
    return tuple(v for v in voices if len(v.pcm) <= LONG_ANSWER_S * 48_000) or voices


@functools.lru_cache(maxsize=64)
def _words(instructions: str) -> frozenset[str]:
    # every response reads the session's instructions, which seldom change (and the default
    # ones run to a thousand characters)
    return frozenset(re.findall(r"[\w-]+", instructions.lower()))


Handler = Callable[["SessionBehaviour", Mapping[str, Any], float, "str | None"], None]


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
        self.latency: Latency = config.latency
        self.max_session_s = config.max_session_s
        self.faults = faults or FaultPlan()
        self.voices: tuple[Voice, ...] = config.voices or _fallback_voices()
        # event ids from a counter (the hot path: one per event), other ids drawn from rng
        self.wire = Wire(self.dialect, functools.partial(IdGenerator(rng), "event"))
        self.session_id = new_id("sess", rng)
        conversation_id = new_id("conv", rng)
        self.model = model or config.model
        self.session: dict[str, Any] = S.default_session(
            self.dialect,
            session_id=self.session_id,
            model=self.model,
            expires_at=int(wall_now + config.max_session_s),
        )
        self.scheduler = Scheduler(self.wire.event_id, self.session_id)
        self.conversation = Conversation()
        self.input = InputBuffer()
        self.writer = ResponseWriter(
            self.wire, self.latency, rng, self.conversation, conversation_id
        )
        self.writer.session = self.session
        self.active: ResponseRun | None = None
        self._runs: list[ResponseRun] = []
        self._vad_item: str | None = None
        self._idle_token = 0
        self._configure_input()
        start: list[Entry] = [
            Emit(now, self.wire.event(C.SESSION_CREATED, session=self._session_view()))
        ]
        self.scheduler.push(self._with_faults(start, FaultPhase.SESSION))
        self.scheduler.push(expiry(self, now + config.max_session_s, None))

    # --- public surface ---------------------------------------------------------------------------

    def receive(
        self,
        event: Mapping[str, Any] | None,
        now: float,
        *,
        raw: str = "",
        audio_bytes: int | None = None,
    ) -> None:
        """Handle one client frame (``event`` None when it was not a JSON object).

        ``audio_bytes``: the decoded size of an append's ``audio``, when the caller has already
        checked it (the server does, once per append); None means "check it here".
        """
        self.scheduler.advance(now, self)
        if self.scheduler.halted:
            return
        if event is None:
            self._error(now, "invalid_event", f"Invalid JSON in client event: {raw[:60]!r}.")
            return
        etype = event.get("type")
        if isinstance(etype, str) and etype in C.APPEND_TYPES:
            # the hot path (the caller may already have checked the base64): the client's
            # event id is only looked up for an error
            try:
                self._append(event, now, audio_bytes)
            except Rejected as exc:
                self._error(now, exc.code, exc.message, exc.param, _client_id(event))
            return
        client_id = _client_id(event)
        if not isinstance(etype, str):
            self._error(now, "invalid_event", "The 'type' field is missing.", None, client_id)
            return
        try:
            handler = _HANDLERS.get(etype)
            if handler is not None:
                handler(self, event, now, client_id)
                return
        except Rejected as exc:
            self._error(now, exc.code, exc.message, exc.param, client_id)
            return
        supported = ", ".join(f"'{t}'" for t in CLIENT_EVENT_TYPES)
        self._error(
            now,
            "invalid_value",
            f"Invalid value: '{etype}'. Supported values are: {supported}.",
            "type",
            client_id,
        )

    def poll(self, now: float) -> list[Action]:
        """The actions due at ``now``, in order; they count as sent once returned."""
        return self.scheduler.poll(now, self)

    def next_deadline(self) -> float | None:
        """When the next action falls due (None: nothing scheduled)."""
        return self.scheduler.next_deadline()

    @property
    def backlog(self) -> int:
        """Scheduled entries and due actions not yet polled."""
        return self.scheduler.pending

    @property
    def closed(self) -> bool:
        """The session has closed or dropped its connection."""
        return self.scheduler.closed

    # --- scheduler hooks --------------------------------------------------------------------------

    def response_done(self, progress: ResponseProgress, at: float) -> None:
        """``response.done`` went out: the response is over; GA may arm the idle timeout."""
        run = next((r for r in self._runs if r.progress is progress), None)
        if run is None:
            return
        run.done = True
        if self.active is run:
            self.active = None
        # finished responses are never looked up again; an hour-long session keeps none
        self._runs = [r for r in self._runs if not r.done]
        self._arm_idle_timeout(at, run)

    def timer(self, timer: Timer) -> None:
        """GA ``idle_timeout_ms``: no speech since the answer ended: timeout_triggered, commit
        the silence, answer."""
        if timer.token != self._idle_token or self.active is not None or self.input.vad is None:
            return
        now = timer.at
        item_id = new_id("item", self.rng)
        event = self.wire.event(
            C.INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED,
            audio_start_ms=int(timer.start_ms),
            audio_end_ms=int(self.input.position_ms),
            item_id=item_id,
        )
        self.scheduler.push([Emit(now, event)])
        self.input.reset_vad()
        self._vad_item = None
        self._commit(now, item_id)
        self._start_response(None, now)

    def _arm_idle_timeout(self, done_at: float, run: ResponseRun) -> None:
        """Count the idle timeout from when the answer's audio has finished playing."""
        turn = self.input.turn
        idle = turn.get("idle_timeout_ms")
        if not self.wire.ga or turn.get("type") != "server_vad" or not idle:
            return
        at = done_at + run.progress.audio_ms / 1000.0 + float(idle) / 1000.0
        self.scheduler.push([Timer(at, self._idle_token, self.input.position_ms)])

    # --- helpers ----------------------------------------------------------------------------------

    def _error(
        self,
        now: float,
        code: str | None,
        message: str,
        param: str | None = None,
        client_id: str | None = None,
    ) -> None:
        event = self.wire.error(code, message, param, client_id)
        self.scheduler.push([Emit(now + self.latency.reply_s, event)])

    def _reply(self, at: float, ga_type: str, **fields: Any) -> None:
        self.scheduler.push([Emit(at, self.wire.event(ga_type, **fields))])

    def _session_view(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.session))  # type: ignore[no-any-return]

    def _with_faults(
        self, entries: list[Entry], phase: FaultPhase, run: ResponseRun | None = None
    ) -> list[Entry]:
        if not self.faults:
            return entries
        for fault in self.faults.take(phase, self.rng):
            entries = explode(entries, self.wire.event_id)
            entries = TRANSFORMS[fault.kind](entries, fault, run, self)
        return entries

    def closing(
        self, run: ResponseRun, entries: list[Entry], at: float, status: str, details: Any
    ) -> list[Entry]:
        """The events that close ``run`` once ``entries`` have been sent (for faults)."""
        return self.writer.closing(run, progress_after(entries), at, status, details)

    def _configure_input(self) -> None:
        self.input.configure(
            S.input_format(self.dialect, self.session), S.turn_detection(self.dialect, self.session)
        )
        self._vad_item = None

    # --- session ----------------------------------------------------------------------------------

    def _on_session_update(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        try:
            updated = S.apply_update(self.dialect, self.session, event.get("session"))
        except S.SessionError as exc:
            raise Rejected(exc.code, exc.message, exc.param) from None
        before = (
            S.turn_detection(self.dialect, self.session),
            S.input_format(self.dialect, self.session),
        )
        self.session = updated
        self.writer.session = updated
        if (
            S.turn_detection(self.dialect, updated),
            S.input_format(self.dialect, updated),
        ) != before:
            self._configure_input()
        at = now + self.latency.reply_s
        entries: list[Entry] = [
            Emit(at, self.wire.event(C.SESSION_UPDATED, session=self._session_view()))
        ]
        self.scheduler.push(self._with_faults(entries, FaultPhase.UPDATE))

    def _on_session_close(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        self.scheduler.push([Perform(now, Close(1000, "", 0.0))])

    # --- input audio ------------------------------------------------------------------------------

    def _append(self, event: Mapping[str, Any], now: float, size: int | None) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            size = None
        elif size is None:
            size = b64_decoded_length(audio)
        if size is None or not isinstance(audio, str):
            raise Rejected(
                "invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes.", "audio"
            )
        changes = self.input.append(audio, size)
        if not changes:
            return
        turn = self.input.turn
        for change in changes:
            if change.kind == "start":
                self._vad_item = new_id("item", self.rng)
                self._idle_token += 1
                self._reply(
                    now,
                    C.INPUT_AUDIO_BUFFER_SPEECH_STARTED,
                    audio_start_ms=change.ms,
                    item_id=self._vad_item,
                )
                active = self.active
                if active is not None and turn.get("interrupt_response", True) and not active.done:
                    self._cancel(active, now, "turn_detected")
            elif self._vad_item is not None:
                item_id = self._vad_item
                self._vad_item = None
                self._reply(
                    now,
                    C.INPUT_AUDIO_BUFFER_SPEECH_STOPPED,
                    audio_end_ms=change.ms,
                    item_id=item_id,
                )
                self._commit(now, item_id)
                if turn.get("create_response", True) and self.active is None:
                    self._start_response(None, now)

    def _on_commit(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        if self.input.buffer_ms < MIN_COMMIT_MS:
            raise Rejected(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms "
                f"of audio, but buffer only has {self.input.buffer_ms:.2f}ms of audio.",
            )
        item_id = self._vad_item or new_id("item", self.rng)
        self._vad_item = None
        self.input.reset_vad()
        self._commit(now, item_id)

    def _commit(self, now: float, item_id: str) -> None:
        self._idle_token += 1
        at = now + self.latency.reply_s
        committed = self.input.take()
        item = self.wire.item(
            {
                "id": item_id,
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
        )
        previous = self.conversation.add(item, committed.ms)
        wire = self.wire
        entries: list[Entry] = [
            Emit(
                at,
                wire.event(
                    C.INPUT_AUDIO_BUFFER_COMMITTED, previous_item_id=previous, item_id=item_id
                ),
            ),
            *(Emit(at, e) for e in wire.item_events(item, previous)),
        ]
        entries = self._with_faults(entries, FaultPhase.COMMIT)
        if S.transcription_enabled(self.dialect, self.session):
            transcript = transcribe(committed, self.voices)
            item["content"][0]["transcript"] = transcript
            for piece in split_words(transcript, 4):
                entries.append(
                    Emit(
                        at,
                        wire.event(
                            C.INPUT_TRANSCRIPTION_DELTA,
                            item_id=item_id,
                            content_index=0,
                            delta=piece,
                        ),
                    )
                )
            # seconds = buffered audio rounded up, as observed on the wire
            entries.append(
                Emit(
                    at,
                    wire.event(
                        C.INPUT_TRANSCRIPTION_COMPLETED,
                        item_id=item_id,
                        content_index=0,
                        transcript=transcript,
                        usage={"type": "duration", "seconds": math.ceil(committed.ms / 1000)},
                    ),
                )
            )
        self.scheduler.push(entries)

    def _on_clear(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        self.input.clear()
        self._vad_item = None
        self._reply(now + self.latency.reply_s, C.INPUT_AUDIO_BUFFER_CLEARED)

    # --- conversation items -----------------------------------------------------------------------

    def _on_item_create(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        body, previous = self.conversation.create(event, self.rng)
        item = self.wire.item(body)
        self.conversation.insert(item)
        at = now + self.latency.reply_s
        self.scheduler.push([Emit(at, e) for e in self.wire.item_events(item, previous)])

    def _on_item_retrieve(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        item = self.conversation.get(event.get("item_id"))
        self._reply(now, C.CONVERSATION_ITEM_RETRIEVED, item=item)

    def _on_item_delete(self, event: Mapping[str, Any], now: float, client_id: str | None) -> None:
        item_id = self.conversation.delete(event.get("item_id"))
        self._reply(now, C.CONVERSATION_ITEM_DELETED, item_id=item_id)

    def _on_item_truncate(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        item_id = str(event.get("item_id"))
        end = self.conversation.truncate(item_id, event.get("audio_end_ms"))
        index = event.get("content_index")
        self._reply(
            now,
            C.CONVERSATION_ITEM_TRUNCATED,
            item_id=item_id,
            content_index=index if isinstance(index, int) and not isinstance(index, bool) else 0,
            audio_end_ms=end,
        )

    # --- responses --------------------------------------------------------------------------------

    def _on_response_create(
        self, event: Mapping[str, Any], now: float, client_id: str | None
    ) -> None:
        params = event.get("response")
        if params is not None and not isinstance(params, Mapping):
            raise Rejected(
                "invalid_type", "Invalid type for 'response': expected an object.", "response"
            )
        params = params or {}
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise Rejected(
                "invalid_value",
                f"Invalid value: '{conversation}'. Supported values are: 'auto' and 'none'.",
                "response.conversation",
            )
        if conversation == "auto" and self.active is not None and not self.active.done:
            raise Rejected(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress: "
                f"{self.active.id}. Wait until the response is finished before creating a new one.",
            )
        self._start_response(params, now)

    def _start_response(self, params: Mapping[str, Any] | None, now: float) -> None:
        params = params or {}
        instructions = params.get("instructions", self.session.get("instructions"))
        voice = choose_voice(
            self.voices, self.rng, reply_voice=self.config.reply_voice, instructions=instructions
        )
        run = self.writer.new_run(params, voice, last_item_id=self.conversation.last_item_id)
        if run.shape.in_conversation:
            self.active = run
            self._idle_token += 1
        self._runs.append(run)
        entries = self.writer.schedule(run, voice, now + self.latency.response_s)
        self.scheduler.push(self._with_faults(entries, FaultPhase.RESPONSE, run))

    def _cancel(self, run: ResponseRun, now: float, reason: str) -> None:
        # drop what the client has not been sent, then close what it has seen open
        self.scheduler.discard(run.progress)
        self.scheduler.push(self.writer.cancel(run, now, reason))
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
            raise Rejected(
                "response_cancel_not_active", "Cancellation failed: no active response found"
            )
        self._cancel(run, now, "client_cancelled")


def _client_id(event: Mapping[str, Any]) -> str | None:
    """The client's ``event_id``, echoed in an error about its event (when it is a string)."""
    client_id = event.get("event_id")
    return client_id if isinstance(client_id, str) else None


#: Every other client event type the session handles, and its handler (appends: ``_append``).
_HANDLERS: dict[str, Handler] = {
    C.SESSION_UPDATE: SessionBehaviour._on_session_update,
    C.SESSION_CLOSE: SessionBehaviour._on_session_close,
    C.INPUT_AUDIO_BUFFER_COMMIT: SessionBehaviour._on_commit,
    C.INPUT_AUDIO_BUFFER_CLEAR: SessionBehaviour._on_clear,
    C.CONVERSATION_ITEM_CREATE: SessionBehaviour._on_item_create,
    C.CONVERSATION_ITEM_RETRIEVE: SessionBehaviour._on_item_retrieve,
    C.CONVERSATION_ITEM_DELETE: SessionBehaviour._on_item_delete,
    C.CONVERSATION_ITEM_TRUNCATE: SessionBehaviour._on_item_truncate,
    C.RESPONSE_CREATE: SessionBehaviour._on_response_create,
    C.RESPONSE_CANCEL: SessionBehaviour._on_response_cancel,
}
