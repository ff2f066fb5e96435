"""What the mock says: real recorded speech with its exact text, and how to recognise it.

The mock answers with the bundled speech samples (:mod:`realtime_harness.media.samples`), so a
client receives real PCM16 speech and a transcript that is really what is spoken. The same
samples let the mock "transcribe" input: committed audio that contains a sample is transcribed
as that sample's text, anything else as a fixed placeholder. Pure: the server loads the samples
(:func:`realtime_harness.mock.server.default_voices`) and hands them to the sessions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PLACEHOLDER_TRANSCRIPT", "Voice", "match_transcript", "tone_voice"]

#: Transcript of committed audio that matches no bundled sample.
PLACEHOLDER_TRANSCRIPT = "Hello, this is a test of the realtime API."

# 100 ms of 24 kHz PCM16: long enough to be unique within a recording, short enough to sit inside
# any voice-activity segment cut from it.
_PROBE_BYTES = 4800


@dataclass(frozen=True, slots=True)
class Voice:
    """One utterance the mock can speak: its text and its 24 kHz mono PCM16."""

    name: str
    text: str
    pcm: bytes = field(repr=False)


@functools.cache
def _probe(voice: Voice) -> bytes:
    """A loud 100 ms stretch of the utterance, used to recognise it in committed audio."""
    pcm = voice.pcm
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    frame = _PROBE_BYTES // 2
    if len(samples) < frame:
        return pcm
    usable = len(samples) - len(samples) % frame
    power = np.mean(np.square(samples[:usable].astype(np.float64).reshape(-1, frame)), axis=1)
    # the first frame at half the loudest frame's power is solidly inside speech
    index = int(np.argmax(power >= power.max() / 2))
    return pcm[index * _PROBE_BYTES : (index + 1) * _PROBE_BYTES]


def tone_voice(seconds: float = 1.0, text: str = "Beep.") -> Voice:
    """A synthetic voice (a 440 Hz tone), for tests that want no sample files."""
    t = np.arange(int(24_000 * seconds)) / 24_000
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    return Voice("tone", text, pcm)


def match_transcript(pcm: bytes, voices: Sequence[Voice]) -> str:
    """The text of the voice whose recording the committed PCM16 contains, else the placeholder."""
    for voice in voices:
        probe = _probe(voice)
        if probe and len(probe) <= len(pcm) and pcm.find(probe) >= 0:
            return voice.text
    return PLACEHOLDER_TRANSCRIPT
