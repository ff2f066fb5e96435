"""An energy-based voice activity detector that works like the server's ``server_vad``.

Sans-I/O and incremental: feed it PCM16 as it is appended, it reports speech starts and stops in
*appended-audio time* (milliseconds since the session's first append), which is how the real
``audio_start_ms`` / ``audio_end_ms`` are counted. ``audio_start_ms`` has the
prefix padding taken off; ``audio_end_ms`` includes the silence window, as observed on the wire.

The detector is deliberately simple (frame RMS against a level derived from ``threshold``): the
mock needs turn-taking that reacts to real speech and real silence, not a speech model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FRAME_MS", "EnergyVad", "VadEvent", "rms_dbfs", "threshold_dbfs"]

#: Analysis frame length. 20 ms is short enough for ±20 ms boundaries, long enough for a stable RMS.
FRAME_MS = 20
#: Loud frames needed in a row before speech counts as started (filters clicks).
MIN_SPEECH_FRAMES = 3


def threshold_dbfs(threshold: float) -> float:
    """The RMS level (dBFS) a frame must reach to count as speech, from the session threshold.

    ``threshold`` is 0–1 as in the session's ``turn_detection``; the default 0.5 maps to −45 dBFS,
    under normal speech (−30…−15 dBFS) and well over digital or room silence.
    """
    return -70.0 + 50.0 * min(max(threshold, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class VadEvent:
    """Speech started (``kind="start"``, ``ms`` = audio_start_ms) or stopped (``audio_end_ms``)."""

    kind: str
    ms: int


class EnergyVad:
    """Incremental energy VAD over 24 kHz (or any rate) mono PCM16.

    Args:
        threshold: the session's ``turn_detection.threshold`` (0–1).
        prefix_padding_ms: audio kept before the detected start (``audio_start_ms`` goes back).
        silence_duration_ms: quiet time that ends a turn.
        rate: sample rate of the PCM fed in.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 200,
        rate: int = 24_000,
    ) -> None:
        self.prefix_padding_ms = max(0, int(prefix_padding_ms))
        self.silence_duration_ms = max(FRAME_MS, int(silence_duration_ms))
        self._frame_samples = rate * FRAME_MS // 1000
        # Compare mean squares instead of RMS in dB per frame: no log on the hot path.
        level = 32768.0 * 10 ** (threshold_dbfs(threshold) / 20)
        self._min_power = level * level
        self._pending = b""
        self._frames = 0  # frames consumed since the first append
        self.in_speech = False
        self._loud_run = 0
        self._quiet_run = 0
        self._last_loud_end = 0

    @property
    def position_ms(self) -> int:
        """Appended-audio time consumed so far, in whole frames."""
        return self._frames * FRAME_MS

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Consume appended PCM16 and return the starts and stops it completes, in order."""
        data = self._pending + pcm if self._pending else pcm
        frame_bytes = self._frame_samples * 2
        usable = len(data) - len(data) % frame_bytes
        self._pending = data[usable:]
        if not usable:
            return []
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32)
        power = np.mean(np.square(samples.reshape(-1, self._frame_samples)), axis=1)
        loud = power >= self._min_power
        events: list[VadEvent] = []
        for is_loud in loud.tolist():
            self._frames += 1
            end_ms = self._frames * FRAME_MS
            if is_loud:
                self._loud_run += 1
                self._quiet_run = 0
                self._last_loud_end = end_ms
                if not self.in_speech and self._loud_run >= MIN_SPEECH_FRAMES:
                    self.in_speech = True
                    start = end_ms - self._loud_run * FRAME_MS
                    events.append(VadEvent("start", max(0, start - self.prefix_padding_ms)))
            else:
                self._loud_run = 0
                if self.in_speech:
                    self._quiet_run += 1
                    if self._quiet_run * FRAME_MS >= self.silence_duration_ms:
                        self.in_speech = False
                        self._quiet_run = 0
                        events.append(VadEvent("stop", end_ms))
        return events

    def reset(self) -> None:
        """Forget a turn in progress (``input_audio_buffer.clear`` or a manual commit)."""
        self.in_speech = False
        self._loud_run = 0
        self._quiet_run = 0


def rms_dbfs(pcm: bytes) -> float:
    """RMS level of PCM16 in dBFS (−inf for silence); used by tests and sample matching."""
    if len(pcm) < 2:
        return -math.inf
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    power = float(np.mean(np.square(samples)))
    return -math.inf if power <= 0 else 10 * math.log10(power / (32768.0 * 32768.0))
