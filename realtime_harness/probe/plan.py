"""The probe's session plan: turns built from a sample, a file or a text, decided before
connecting (so a bad ``--audio`` is a usage error, not a failed session)."""

from __future__ import annotations

import math

from realtime_harness.exceptions import UsageError
from realtime_harness.probe.options import SessionOptions
from realtime_harness.protocol.script import (
    AudioTurn,
    PhaseTimeouts,
    ScriptPlan,
    TextTurn,
    Turn,
)
from realtime_harness.target import Target, check_text

__all__ = [
    "MAX_TURNS",
    "MIN_SPEED",
    "VAD_TRAILING_SILENCE_MS",
    "build_turns",
    "check_plan",
    "plan_for",
]

#: Silence appended to audio turns under server VAD: the server ends a turn only after
#: ``silence_duration_ms`` (200–500 ms) of quiet, and a sample may stop right after the last word.
VAD_TRAILING_SILENCE_MS = 1000
#: More turns than any session can hold (each is at least one request and one response).
MAX_TURNS = 1000
#: Slowest pacing accepted (besides 0, "as fast as possible"): 100 times slower than real time.
MIN_SPEED = 0.01
#: Fastest pacing accepted.
MAX_SPEED = 1000.0
#: Upper bound of any time option (seconds): one day.
MAX_SECONDS = 86_400.0


def _audio_turn(name_or_path: str, trailing_silence_ms: int = 0) -> AudioTurn:
    from realtime_harness.media.audio import load_audio
    from realtime_harness.protocol.audio import encode_chunk, iter_chunks, silence

    prepared = load_audio(name_or_path)
    pcm = prepared.pcm + silence(trailing_silence_ms) if trailing_silence_ms else prepared.pcm
    chunks = tuple(encode_chunk(c) for c in iter_chunks(pcm, 100))
    return AudioTurn(chunks=chunks, chunk_ms=100, label=str(name_or_path))


def check_plan(options: SessionOptions) -> None:
    """Refuse empty or absurd values with a bound (a usage error, exit 2), before connecting."""
    if options.audio is not None and not options.audio.strip():
        raise UsageError("--audio is empty; name a sample (see `samples`) or an audio file")
    if options.text is not None and not options.text.strip():
        raise UsageError("--text is empty; give the words to send, or omit --text for audio")
    if not 1 <= options.turns <= MAX_TURNS:
        raise UsageError(f"--turns must be between 1 and {MAX_TURNS}, got {options.turns}")
    for flag, text in (
        ("--text", options.text),
        ("--instructions", options.instructions),
        ("--voice", options.voice),
        ("--audio", options.audio),
    ):
        if text is not None:  # sent as JSON text: undecodable bytes cannot go on the wire
            check_text(text, flag, controls=True)
    speed = options.speed
    if speed is not None and not (
        speed == 0 or (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED)
    ):
        raise UsageError(
            f"--speed must be 0 (as fast as possible) or between {MIN_SPEED:g} and "
            f"{MAX_SPEED:g}, got {speed:g}"
        )
    for flag, value in (
        ("--timeout", options.timeout),
        ("--max-response-time", options.max_response_time),
        ("--max-session-time", options.max_session_time),
    ):
        if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
            raise UsageError(f"{flag} must be between 0 and {MAX_SECONDS:g} s, got {value:g}")


def build_turns(
    *, audio: str | None, text: str | None, turns: int, vad: bool = False
) -> tuple[Turn, ...]:
    """The turns of a session: ``turns`` copies of the text turn or of the audio (loaded once;
    with ``vad``, followed by :data:`VAD_TRAILING_SILENCE_MS` of silence).

    Raises :class:`~realtime_harness.exceptions.UsageError` for an unknown sample or unreadable
    file, before anything connects.
    """
    if not 1 <= turns <= MAX_TURNS:
        raise UsageError(f"--turns must be between 1 and {MAX_TURNS}, got {turns}")
    if text is not None:
        return tuple(TextTurn(text) for _ in range(turns))
    one = _audio_turn(audio or "greeting", VAD_TRAILING_SILENCE_MS if vad else 0)
    return tuple(one for _ in range(turns))


def plan_for(options: SessionOptions, target: Target, turns: tuple[Turn, ...]) -> ScriptPlan:
    """The script plan of one session against ``target``."""
    speed = options.speed if options.speed is not None else (0.0 if target.embedded else 1.0)
    return ScriptPlan(
        dialect=target.dialect,
        turns=turns,
        turn_detection=options.turn_detection,
        voice=options.voice,
        instructions=options.instructions,
        speed=speed,
        timeouts=PhaseTimeouts.uniform(
            options.timeout,
            drain=options.drain,
            response_max=options.max_response_time,
            session_max=options.max_session_time,
        ),
    )
