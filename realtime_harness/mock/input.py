"""The mock session's input audio: the buffer, server VAD and transcription of committed audio.

Sans-I/O. Appended audio is kept as the client's base64 text and decoded only when it is needed
(VAD now, the transcript at commit): decoding 100 ms costs ~11 µs, the largest per-append cost of
a session. Durations follow the session's input format (PCM16 at 24 kHz, G.711 at 8 kHz).
"""

from __future__ import annotations

import binascii
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from realtime_harness.mock.vad import EnergyVad, VadEvent
from realtime_harness.mock.voices import PLACEHOLDER_TRANSCRIPT, Voice, match_transcript
from realtime_harness.protocol.audio import alaw_decode, ulaw_decode

__all__ = ["BYTES_PER_MS", "TRANSCRIBED_MS", "Committed", "InputBuffer", "transcribe"]

#: Bytes per millisecond of input audio by format.
BYTES_PER_MS = {"pcm16": 48, "g711_ulaw": 8, "g711_alaw": 8}
#: Audio kept for the transcript, from the start of the buffer: enough to find any bundled
#: sample (the longest speaks 25 s), and bounded for a client that appends for an hour without
#: committing (64 KB of base64 a second).
TRANSCRIBED_MS = 60_000


@dataclass(frozen=True, slots=True)
class Committed:
    """Audio taken out of the buffer by a commit."""

    chunks: tuple[str, ...]
    ms: int
    format: str


class InputBuffer:
    """The input audio buffer of one session, with its VAD when turn detection is on."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._kept_ms = 0.0
        self.buffer_ms = 0.0
        #: Appended-audio time since the session began (VAD and idle-timeout positions).
        self.position_ms = 0.0
        self.format = "pcm16"
        self._per_ms = 48
        self.vad: EnergyVad | None = None
        #: Options of the turn detection in force (empty when the client commits by hand).
        self.turn: dict[str, Any] = {}

    def configure(self, fmt: str, turn_detection: Mapping[str, Any] | None) -> None:
        """Apply the session's input format and turn detection (a new VAD when either changes)."""
        self.format = fmt
        self._per_ms = BYTES_PER_MS.get(fmt, 48)
        self.turn = dict(turn_detection) if turn_detection is not None else {}
        if turn_detection is None:
            self.vad = None
            return
        silence = turn_detection.get("silence_duration_ms")
        if turn_detection.get("type") == "semantic_vad":
            silence = 500  # semantic VAD waits longer for a turn to end ("auto" eagerness)
        self.vad = EnergyVad(
            threshold=float(turn_detection.get("threshold", 0.5)),
            prefix_padding_ms=int(turn_detection.get("prefix_padding_ms", 300)),
            silence_duration_ms=int(silence if silence is not None else 200),
            rate=24_000 if fmt == "pcm16" else 8_000,
        )

    def append(self, audio: str, size: int) -> list[VadEvent]:
        """Buffer ``audio`` (base64 of ``size`` bytes); the VAD's speech starts and stops."""
        ms = size / self._per_ms
        if self._kept_ms < TRANSCRIBED_MS:
            self._chunks.append(audio)
            self._kept_ms += ms
        self.buffer_ms += ms
        self.position_ms += ms
        if self.vad is None:
            return []
        try:
            data = binascii.a2b_base64(audio, strict_mode=True)
        except (binascii.Error, ValueError):
            return []
        if self.format == "g711_ulaw":
            pcm = ulaw_decode(data)
        elif self.format == "g711_alaw":
            pcm = alaw_decode(data)
        else:
            pcm = data[:-1] if len(data) % 2 else data
        return self.vad.feed(pcm)

    def take(self) -> Committed:
        """Empty the buffer for a commit (the VAD's turn ends with it)."""
        committed = Committed(tuple(self._chunks), int(self.buffer_ms), self.format)
        self._chunks = []
        self._kept_ms = 0.0
        self.buffer_ms = 0.0
        return committed

    def clear(self) -> None:
        """``input_audio_buffer.clear``: drop the audio and any turn in progress."""
        self._chunks = []
        self._kept_ms = 0.0
        self.buffer_ms = 0.0
        self.reset_vad()

    def reset_vad(self) -> None:
        """Forget a turn in progress."""
        if self.vad is not None:
            self.vad.reset()


def transcribe(committed: Committed, voices: Sequence[Voice]) -> str:
    """The transcript of committed audio: the bundled voice it contains (in its first
    :data:`TRANSCRIBED_MS`), else a placeholder."""
    if committed.format != "pcm16":
        return PLACEHOLDER_TRANSCRIPT
    with contextlib.suppress(binascii.Error, ValueError):
        pcm = b"".join(binascii.a2b_base64(chunk) for chunk in committed.chunks)
        return match_transcript(pcm, voices)
    return PLACEHOLDER_TRANSCRIPT
