"""The recording format: JSONL of every frame in both directions, with timestamps.

A recording starts with one header line and then has one frame per line::

    {"realtime_harness_recording": 1, "started_at": "2026-11-25T20:00:00.000Z", "url": "wss://…(redacted)",
     "dialect": "ga"}
    {"t": 0.0123, "dir": "server", "event": {"type": "session.created", …}}
    {"t": 0.0150, "dir": "client", "event": {"type": "session.update", …}}

``t`` is seconds since the connection started. Audio payloads (``audio`` of
``input_audio_buffer.append``, ``delta`` of audio deltas) are elided by default to
``{"elided": true, "chars": N, "bytes": M, "sha256": "<hex of the base64 text>"}`` so recordings
stay small and carry no user audio. ``bytes`` is the decoded length (absent when the text is not
valid base64, and in recordings made before it was added); ``validate`` checks sizes with it and
skips the base64 checks for elided payloads.

``validate`` and the mock's ``--replay`` read both this format and the plain one users log
(one server event per line); :func:`classify_line` tells them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeGuard

from realtime_harness.protocol import catalog
from realtime_harness.protocol.audio import b64_decoded_length

__all__ = [
    "AUDIO_FIELDS",
    "HEADER_KEY",
    "LineKind",
    "classify_line",
    "elide_audio",
    "frame",
    "header",
    "is_elided",
]

HEADER_KEY = "realtime_harness_recording"

#: Event type → the field that carries base64 audio.
AUDIO_FIELDS: dict[str, str] = catalog.AUDIO_FIELDS

LineKind = Literal["header", "server", "client", "event", "other"]


def header(*, started_at: str, url: str, dialect: str, **extra: Any) -> dict[str, Any]:
    """The first line of a recording. ``url`` must already be redacted."""
    return {HEADER_KEY: 1, "started_at": started_at, "url": url, "dialect": dialect, **extra}


def frame(
    t: float, direction: Literal["server", "client"], event: Mapping[str, Any]
) -> dict[str, Any]:
    """One frame line: seconds since start, direction, the event as sent or received."""
    return {"t": round(t, 6), "dir": direction, "event": event}


def elide_audio(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event with its base64 audio replaced by its length and hash (unchanged otherwise)."""
    field = AUDIO_FIELDS.get(str(event.get("type")))
    if field is None:
        return event
    payload = event.get(field)
    if not isinstance(payload, str):
        return event
    # imported here: loading OpenSSL's hashes costs every `validate` start, and only a recorder
    # that elides audio needs them
    import hashlib

    digest = hashlib.sha256(payload.encode("ascii", "replace")).hexdigest()
    elided: dict[str, Any] = {"elided": True, "chars": len(payload)}
    size = b64_decoded_length(payload)
    if size is not None:
        elided["bytes"] = size
    elided["sha256"] = digest
    return {**event, field: elided}


def is_elided(value: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether an audio field holds an elided payload rather than base64 text."""
    return isinstance(value, (dict, Mapping)) and value.get("elided") is True


def classify_line(obj: object) -> tuple[LineKind, Mapping[str, Any] | None]:
    """What a parsed JSONL line is, and the event it carries (None for headers and others).

    ``event`` lines are plain server events as users log them; ``server``/``client`` lines are
    frames of a recording.
    """
    # JSON decodes to dicts: the exact type is tested before the (slower) ABC.
    if not isinstance(obj, (dict, Mapping)):
        return "other", None
    if HEADER_KEY in obj:
        return "header", None
    direction = obj.get("dir")
    if direction is None:
        return ("event", obj) if "type" in obj else ("other", None)
    inner = obj.get("event")
    if direction in ("server", "client") and isinstance(inner, (dict, Mapping)):
        return direction, inner
    if "type" in obj:
        return "event", obj
    return "other", None
