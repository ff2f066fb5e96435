"""Helpers for tests: build documented server-event sequences in either dialect.

:class:`TraceBuilder` writes the documented server-event sequences (session start,
audio/text/function-call responses, cancellation, failure, manual and VAD input turns) with
deterministic ids, so a test can state a rule by building a valid stream and breaking one thing::

    build = TraceBuilder(Dialect.GA)
    events = [*build.session_created(), *build.response("audio", text="Hi there")]
    assert validate_events(events).outcome is Outcome.CLEAN
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from realtime_harness.protocol import catalog as C
from realtime_harness.protocol.dialects import Dialect, to_dialect
from realtime_harness.protocol.grammar import ResponseGrammar, ResponseKind, ResponseShape

__all__ = ["TraceBuilder"]

Event = dict[str, Any]


class TraceBuilder:
    """Builds server events of one connection with sequential, deterministic ids."""

    def __init__(self, dialect: Dialect = Dialect.GA, *, session_id: str = "sess_Test0001") -> None:
        self.dialect = dialect
        self.session_id = session_id
        self._events = itertools.count(1)
        self._ids = itertools.count(1)
        self.last_item_id: str | None = None

    # --- ids and names -------------------------------------------------------------------------
    def event_id(self) -> str:
        """The next server event id."""
        return f"event_T{next(self._events):06d}"

    def new_id(self, prefix: str) -> str:
        """A new id of the real shape for ``prefix`` (``resp``, ``item``, ``call``…)."""
        return f"{prefix}_T{next(self._ids):06d}"

    def name(self, ga_name: str) -> str:
        """The dialect's name for a GA event type."""
        return to_dialect(ga_name, self.dialect)

    def event(self, ga_name: str, **fields: Any) -> Event:
        """One server event with a fresh event id, named in the builder's dialect."""
        return {"type": self.name(ga_name), "event_id": self.event_id(), **fields}

    # --- session -------------------------------------------------------------------------------
    def session(self, *, vad: bool = True) -> dict[str, Any]:
        """The default session object of the dialect (the shapes observed on the wire)."""
        turn = (
            {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "create_response": True,
            }
            if vad
            else None
        )
        if self.dialect is Dialect.GA:
            return {
                "type": "realtime",
                "object": "realtime.session",
                "id": self.session_id,
                "model": "gpt-realtime",
                "output_modalities": ["audio"],
                "instructions": "",
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": "inf",
                "expires_at": 1_800_000_000,
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": None,
                        "noise_reduction": None,
                        "turn_detection": turn,
                    },
                    "output": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "voice": "alloy",
                        "speed": 1.0,
                    },
                },
            }
        return {
            "id": self.session_id,
            "object": "realtime.session",
            "model": "gpt-4o-realtime-preview",
            "modalities": ["audio", "text"],
            "instructions": "",
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": None,
            "turn_detection": turn,
            "tools": [],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
            "expires_at": 1_800_000_000,
        }

    def session_created(self, *, vad: bool = True) -> list[Event]:
        """``session.created`` with the default session."""
        return [self.event(C.SESSION_CREATED, session=self.session(vad=vad))]

    def session_updated(self, *, vad: bool = False) -> list[Event]:
        """``session.updated`` with the full effective session."""
        return [self.event(C.SESSION_UPDATED, session=self.session(vad=vad))]

    # --- input turns ---------------------------------------------------------------------------
    def user_item(self, item_id: str) -> dict[str, Any]:
        """A committed user audio item."""
        return {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }

    def conversation_item(self, item: dict[str, Any], previous: str | None) -> list[Event]:
        """The dialect's conversation event(s) for a new item: beta created, GA added + done."""
        if self.dialect is Dialect.BETA:
            return [self.event(C.CONVERSATION_ITEM_CREATED, previous_item_id=previous, item=item)]
        return [
            self.event(C.CONVERSATION_ITEM_ADDED, previous_item_id=previous, item=item),
            self.event(C.CONVERSATION_ITEM_DONE, previous_item_id=previous, item=item),
        ]

    def committed(self, *, vad: bool = False) -> list[Event]:
        """A committed user turn: VAD speech events when ``vad``, then committed and the item."""
        item_id = self.new_id("item")
        previous = self.last_item_id
        events: list[Event] = []
        if vad:
            events.append(
                self.event(C.INPUT_AUDIO_BUFFER_SPEECH_STARTED, audio_start_ms=100, item_id=item_id)
            )
            events.append(
                self.event(C.INPUT_AUDIO_BUFFER_SPEECH_STOPPED, audio_end_ms=1500, item_id=item_id)
            )
        events.append(
            self.event(C.INPUT_AUDIO_BUFFER_COMMITTED, previous_item_id=previous, item_id=item_id)
        )
        events.extend(self.conversation_item(self.user_item(item_id), previous))
        self.last_item_id = item_id
        return events

    # --- responses -----------------------------------------------------------------------------
    def response_object(
        self, response_id: str, status: str, output: list[dict[str, Any]], details: Any = None
    ) -> dict[str, Any]:
        """A response object as carried by ``response.created`` / ``response.done``."""
        return {
            "object": "realtime.response",
            "id": response_id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": "conv_T000001",
            "usage": None
            if status == "in_progress"
            else {"total_tokens": 10, "input_tokens": 4, "output_tokens": 6},
        }

    def response(
        self,
        kind: ResponseKind = "audio",
        *,
        text: str = "Hello there, friend!",
        deltas: int = 3,
        status: str = "completed",
        details: Any = None,
        response_id: str | None = None,
        audio_bytes: int = 4800,
    ) -> list[Event]:
        """A whole response cycle in the dialect's names, as the protocol grammar lays it out
        (:mod:`realtime_harness.protocol.grammar`, which the mock server uses too).

        ``status`` other than ``completed`` closes the item as ``incomplete`` (cancel, failure).
        """
        rid = response_id or self.new_id("resp")
        item_id = self.new_id("item")
        call_id = self.new_id("call") if kind == "function_call" else ""
        grammar = ResponseGrammar(
            self.dialect,
            ResponseShape(
                kind=kind,
                response_id=rid,
                item_id=item_id,
                previous_item_id=self.last_item_id,
                call_id=call_id,
                name="get_weather",
            ),
        )
        item_status = "completed" if status == "completed" else "incomplete"
        steps = [grammar.created(self.response_object(rid, "in_progress", []))]
        if kind == "function_call":
            arguments = '{"city": "Paris"}'
            item: dict[str, Any] = {
                "id": item_id,
                "type": "function_call",
                "status": "in_progress",
                "call_id": call_id,
                "name": "get_weather",
                "arguments": "",
            }
            steps += grammar.item_added(item)
            steps += [grammar.delta(piece) for piece in _split(arguments, deltas)]
            final = {**item, "status": item_status, "arguments": arguments}
        else:
            arguments = ""
            part_type = "audio" if kind == "audio" else "text"
            content_type = part_type if self.dialect is Dialect.BETA else f"output_{part_type}"
            item = {
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            steps += grammar.item_added(item)
            steps += grammar.part_added()
            chunk = base64.b64encode(bytes(audio_bytes)).decode() if kind == "audio" else ""
            for piece in _split(text, deltas):
                if kind == "audio":
                    steps += [grammar.delta(chunk), grammar.transcript_delta(piece)]
                else:
                    steps.append(grammar.delta(piece))
            content = (
                {"type": content_type, "transcript": text}
                if kind == "audio"
                else {"type": content_type, "text": text}
            )
            final = {**item, "status": item_status, "content": [content]}
        steps += grammar.closing(
            grammar.parts,
            text=text,
            arguments=arguments,
            item=lambda: final,
            response=lambda output: self.response_object(rid, status, output, details),
        )
        self.last_item_id = item_id
        return [{"type": step.type, "event_id": self.event_id(), **step.fields} for step in steps]

    def empty_response(self, *, reason: str = "turn_detected") -> list[Event]:
        """A response cancelled before any output: created, then done with ``output: []``."""
        rid = self.new_id("resp")
        details = {"type": "cancelled", "reason": reason}
        return [
            self.event(C.RESPONSE_CREATED, response=self.response_object(rid, "in_progress", [])),
            self.event(
                C.RESPONSE_DONE, response=self.response_object(rid, "cancelled", [], details)
            ),
        ]

    def failed_response(
        self, *, code: str | None = None, error_type: str = "server_error"
    ) -> list[Event]:
        """A response that fails mid-stream: the item stays open, ``response.done`` failed."""
        message = (
            "The server had an error while processing your request. Sorry about that! "
            f"(Please include the session ID {self.session_id} in your message.)"
        )
        details = {
            "type": "failed",
            "error": {"type": error_type, "code": code, "message": message},
        }
        events = self.response("audio", status="failed", details=details)
        # Drop the closing events of the item: a failed response may leave items open.
        closing = {
            self.name(C.RESPONSE_OUTPUT_AUDIO_DONE),
            self.name(C.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE),
            C.RESPONSE_CONTENT_PART_DONE,
            C.CONVERSATION_ITEM_DONE,
            C.RESPONSE_OUTPUT_ITEM_DONE,
        }
        return [e for e in events if e["type"] not in closing]

    def rate_limits(self) -> list[Event]:
        """A ``rate_limits.updated`` event (position-free)."""
        limits = [{"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5}]
        return [self.event(C.RATE_LIMITS_UPDATED, rate_limits=limits)]

    def error(
        self,
        code: str | None,
        *,
        error_type: str = "invalid_request_error",
        client_event_id: str | None = None,
    ) -> list[Event]:
        """An ``error`` event."""
        return [
            self.event(
                "error",
                error={
                    "type": error_type,
                    "code": code,
                    "message": f"error {code}",
                    "param": None,
                    "event_id": client_event_id,
                },
            )
        ]


def _split(text: str, parts: int) -> list[str]:
    """``text`` cut into ``parts`` pieces that concatenate back to it."""
    parts = max(1, min(parts, len(text) or 1))
    size = -(-len(text) // parts) if text else 0
    return [text[i : i + size] for i in range(0, len(text), size)] if text else [""]
