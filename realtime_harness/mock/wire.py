"""Per-dialect rendering of the mock's server events: names, ids, items, response objects, usage.

Sans-I/O. Everything here turns the session's state into the JSON shapes of one dialect (OpenAI
Realtime API reference, "Server events"; Azure OpenAI's preview protocol is the beta dialect):
event names through :func:`~realtime_harness.protocol.dialects.to_dialect`, beta's
``"object": "realtime.item"`` on items, the two response object layouts, ``rate_limits.updated``.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from realtime_harness.mock.voices import Voice
from realtime_harness.protocol import catalog as C
from realtime_harness.protocol.audio import AudioFormat, alaw_encode, ulaw_encode
from realtime_harness.protocol.dialects import Dialect, to_dialect

__all__ = ["Wire", "audio_chunks", "split_words"]


class Wire:
    """Renders one session's server events in its dialect.

    Args:
        dialect: event names and object shapes.
        event_id: makes the session's event ids (``event_…``, unique within the session).
    """

    def __init__(self, dialect: Dialect, event_id: Callable[[], str]) -> None:
        self.dialect = dialect
        self.ga = dialect is Dialect.GA
        self.event_id = event_id

    def event(self, ga_type: str, **fields: Any) -> dict[str, Any]:
        """A server event named in the dialect, with a fresh event id."""
        return {"type": to_dialect(ga_type, self.dialect), "event_id": self.event_id(), **fields}

    def error(
        self,
        code: str | None,
        message: str,
        param: str | None = None,
        client_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> dict[str, Any]:
        """An ``error`` event."""
        return self.event(
            C.ERROR,
            error={
                "type": error_type,
                "code": code,
                "message": message,
                "param": param,
                "event_id": client_id,
            },
        )

    def item(self, item: dict[str, Any]) -> dict[str, Any]:
        """A conversation item in the dialect's shape (beta items carry ``object``)."""
        if self.ga:
            return item
        return {"id": item["id"], "object": "realtime.item", **item}

    def item_events(self, item: Mapping[str, Any], previous: str | None) -> list[dict[str, Any]]:
        """A new conversation item: beta ``created``; GA ``added`` then ``done``."""
        snapshot = _snapshot(item)
        events = [self.event(C.CONVERSATION_ITEM_ADDED, previous_item_id=previous, item=snapshot)]
        if self.ga:
            events.append(
                self.event(C.CONVERSATION_ITEM_DONE, previous_item_id=previous, item=snapshot)
            )
        return events

    def response_object(
        self,
        *,
        response_id: str,
        status: str,
        details: Any,
        output: list[Any],
        usage: Any,
        conversation_id: str | None,
        modalities: list[str],
        output_format: str,
        max_output_tokens: Any,
        metadata: Any,
        session: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The response object of ``response.created`` / ``response.done``."""
        if self.ga:
            voice = session.get("audio", {}).get("output", {}).get("voice", "alloy")
            return {
                "object": "realtime.response",
                "id": response_id,
                "status": status,
                "status_details": details,
                "output": output,
                "conversation_id": conversation_id,
                "output_modalities": modalities,
                "max_output_tokens": max_output_tokens,
                "audio": {"output": {"format": AudioFormat(output_format).ga(), "voice": voice}},
                "usage": usage,
                "metadata": metadata,
            }
        return {
            "object": "realtime.response",
            "id": response_id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": conversation_id,
            "modalities": modalities,
            "voice": session.get("voice", "alloy"),
            "output_audio_format": output_format,
            "temperature": session.get("temperature", 0.8),
            "max_output_tokens": max_output_tokens,
            "usage": usage,
            "metadata": metadata,
        }

    def usage(self, *, text_in: int, audio_in: int, words: int, audio_out: int) -> dict[str, Any]:
        """A response's ``usage`` (GA adds image token counts)."""
        cached = {"text_tokens": 0, "audio_tokens": 0}
        input_details: dict[str, Any] = {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "cached_tokens": 0,
            "cached_tokens_details": cached,
        }
        if self.ga:
            input_details["image_tokens"] = 0
            cached["image_tokens"] = 0
        return {
            "total_tokens": text_in + audio_in + words + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": words + audio_out,
            "input_token_details": input_details,
            "output_token_details": {"text_tokens": words, "audio_tokens": audio_out},
        }

    def rate_limits(self, remaining: int) -> dict[str, Any]:
        """``rate_limits.updated`` (beta also reports requests)."""
        limits = [
            {"name": "tokens", "limit": 40_000, "remaining": remaining, "reset_seconds": 2.265}
        ]
        if not self.ga:
            limits.insert(
                0,
                {"name": "requests", "limit": 20_000, "remaining": 19_999, "reset_seconds": 0.003},
            )
        return self.event(C.RATE_LIMITS_UPDATED, rate_limits=limits)


def _snapshot(item: Mapping[str, Any]) -> Any:
    """A deep copy of a JSON value (the event keeps the item as it is now)."""
    try:
        return orjson.loads(orjson.dumps(item))
    except (orjson.JSONEncodeError, TypeError):
        # what orjson does not take (integers past 64 bits, keys that are not strings)
        return json.loads(json.dumps(item))


@functools.cache
def audio_chunks(voice: Voice, fmt: str, chunk_ms: int) -> tuple[tuple[str, int], ...]:
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


def split_words(text: str, pieces: int | None = None) -> list[str]:
    """Split text into deltas that concatenate exactly to it (words with their leading space)."""
    # every response splits its voice's text (and counts its words): the same few texts
    return list(_split_words(text, pieces))


@functools.lru_cache(maxsize=1024)
def _split_words(text: str, pieces: int | None) -> tuple[str, ...]:
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
        return tuple(words)
    size = math.ceil(len(words) / pieces)
    return tuple("".join(words[i : i + size]) for i in range(0, len(words), size))
