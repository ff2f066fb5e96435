"""The asyncio driver of a probe: one scripted session → :class:`SessionResult`; attempts,
retries and escalation → :class:`ProbeResult`.

One session (:func:`run_session`) opens a transport, then loops: send what the
:class:`~realtime_harness.protocol.script.SessionScript` says is due, wait for the next server
frame until the script's next wake-up (an audio chunk or a deadline), feed the frame to the
script and to the :class:`~realtime_harness.protocol.validator.Validator` (which sees both
directions, with timestamps). It never raises for remote trouble: a refused connection, a
rejected handshake, a close, a timeout each become a
:class:`~realtime_harness.protocol.failures.Failure` in the result, and each failure is logged
as one ERROR line with every id and appended to the failures file.

:func:`run_probe` adds attempts (``stamina``: exponential backoff with jitter, ``retry-after``
honoured on 429/503; only transient failures are retried), the escalation ladder, and the
embedded mock when no target is given. :func:`run_probe_sync` is the same for synchronous
callers.

Clock and transport are injected (:class:`ProbeOptions` ``clock`` and ``connect``), so unit tests
drive whole sessions through :class:`~realtime_harness.transport.memory.MemoryTransport` with a
fake clock and never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import orjson
import stamina
from pydantic import BaseModel, ConfigDict, Field

from realtime_harness.exceptions import (
    ConnectError,
    ConnectionClosed,
    HandshakeRejected,
    UsageError,
)
from realtime_harness.protocol import codes
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.ids import new_id
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.recording import elide_audio, frame, header
from realtime_harness.protocol.script import (
    DEFAULT_INSTRUCTIONS,
    AudioTurn,
    PhaseTimeouts,
    ScriptPlan,
    SessionScript,
    TextTurn,
    Turn,
)
from realtime_harness.protocol.validator import Validator, Violation
from realtime_harness.redact import contains_secret, redact_text
from realtime_harness.target import AuthMode, Target, Variant
from realtime_harness.transport.base import HandshakeInfo, Transport
from realtime_harness.transport.websocket import (
    DEFAULT_MAX_SIZE,
    WebSocketOptions,
    open_websocket,
)

if TYPE_CHECKING:
    from realtime_harness.mock import MockServer

__all__ = [
    "ESCALATION_LADDER",
    "RECOVERABLE_CLOSE_CODES",
    "VAD_TRAILING_SILENCE_MS",
    "AttemptRecord",
    "EventNote",
    "ProbeHandshake",
    "ProbeOptions",
    "ProbeResult",
    "ResponseResult",
    "SessionResult",
    "TransportFactory",
    "build_turns",
    "embedded_mock",
    "mock_target",
    "run_probe",
    "run_probe_sync",
    "run_session",
]

log = logging.getLogger("realtime_harness.client")

#: The code classes live in the protocol core; these names stay for importers of this module.
RECOVERABLE_CLOSE_CODES: frozenset[int] = codes.RECOVERABLE_CLOSE_CODES
_RETRY_STATUSES = codes.RETRY_STATUSES
_TRANSIENT_CODES = codes.TRANSIENT_ERROR_CODES
_CONNECTION_KINDS = frozenset({"close", "timeout", "handshake", "connect"})
_FATAL_CODES = codes.FATAL_ERROR_CODES
#: A broken stream can break one rule hundreds of times; the log shows the first few.
_MAX_VIOLATION_LINES = 5
_REQUEST_ID_HEADERS = ("apim-request-id", "x-request-id", "x-ms-request-id", "x-ms-region")

#: ``--escalate``: text-only turn, then short audio, then long audio (the seed material's ladder).
ESCALATION_LADDER: tuple[tuple[str, str | None, str | None], ...] = (
    ("text", None, "Say hello in three words."),
    ("short audio", "greeting", None),
    ("long audio", "long", None),
)

TransportFactory = Callable[[Target, str], Awaitable[Transport]]


# --- options and results ---
@dataclass(frozen=True)
class ProbeOptions:
    """What to probe and how. ``target`` None probes the embedded mock on 127.0.0.1.

    ``speed`` is the audio pacing: 1.0 real time, 2.0 twice as fast, 0 as fast as possible
    (None: real time for a deployment, as fast as possible for the embedded mock).
    ``connect``, ``clock`` and ``rng`` are for tests: a transport factory, a monotonic clock and
    the random source of client event ids.
    """

    target: Target | None = None
    audio: str | None = "greeting"
    text: str | None = None
    turns: int = 1
    turn_detection: str | None = None
    voice: str = "alloy"
    instructions: str | None = DEFAULT_INSTRUCTIONS
    timeout: float = 10.0
    drain: float = 0.25
    speed: float | None = None
    retries: int = 0
    escalate: bool = False
    record: Path | None = None
    record_audio: bool = False
    save_audio: Path | None = None
    failures_log: Path | None = None
    compression: bool = False
    max_size: int | None = DEFAULT_MAX_SIZE
    mock_dialect: Dialect = Dialect.GA
    mock_faults: tuple[str, ...] = ()
    mock_speed: float = 4.0
    retry_wait_initial: float = 0.5
    retry_wait_max: float = 8.0
    retry_jitter: float = 0.5
    max_retry_after: float = 60.0
    connect: TransportFactory | None = None
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    on_progress: Callable[[str, int, int], None] | None = None


class EventNote(BaseModel):
    """One frame in the flight recorder: when, which way, and its ids."""

    model_config = ConfigDict(frozen=True)

    t: float
    dir: Literal["server", "client"]
    type: str | None
    event_id: str | None = None
    response_id: str | None = None
    item_id: str | None = None
    code: str | None = None

    def summary(self) -> str:
        """``t=… dir type ids`` on one line."""
        ids = " ".join(
            f"{k}={v}"
            for k, v in (
                ("event_id", self.event_id),
                ("response_id", self.response_id),
                ("item_id", self.item_id),
                ("code", self.code),
            )
            if v
        )
        return f"t={self.t:.3f}s {self.dir:<6} {self.type} {ids}".rstrip()


class ResponseResult(BaseModel):
    """One response of the session, as in ``--json``."""

    response_id: str | None
    status: str | None
    status_details: Any = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


class ProbeHandshake(BaseModel):
    """The upgrade's HTTP status, response headers (credentials masked) and our request id."""

    status: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    client_request_id: str | None = None


class SessionResult(BaseModel):
    """Everything one connection showed."""

    outcome: Outcome
    dialect: Dialect
    url: str
    step: str | None = None
    attempt: int = 1
    session_id: str | None = None
    expires_at: int | None = None
    started_at: str
    responses: list[ResponseResult] = Field(default_factory=list)
    transcripts: list[str] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    violations: list[Violation] = Field(default_factory=list)
    incomplete: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    handshake: ProbeHandshake = Field(default_factory=ProbeHandshake)
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: Literal["client", "server"] | None = None
    last_events: list[EventNote] = Field(default_factory=list)
    retryable: bool = False
    retry_after: float | None = None
    audio_files: list[str] = Field(default_factory=list)
    recording: str | None = None

    def headline(self) -> str:
        """The first non-benign failure's summary, or the first violation's, or 'clean'."""
        for failure in self.failures:
            if not failure.benign:
                return failure.summary()
        if self.violations:
            return self.violations[0].summary()
        return "clean"


class AttemptRecord(BaseModel):
    """One attempt of one step: which session, what came of it, and whether it was transient."""

    n: int
    step: str | None = None
    session_id: str | None = None
    outcome: Outcome
    client_request_id: str | None = None
    started_at: str
    retryable: bool = False
    summary: str = "clean"


class ProbeResult(BaseModel):
    """The result of ``probe``: the ``--json`` document, plus the sessions behind it.

    The top-level fields describe the last session run (the one that decided the outcome);
    ``attempts`` lists every session in order. ``sessions`` is excluded from the JSON form.
    """

    outcome: Outcome
    dialect: Dialect
    session_id: str | None
    attempts: list[AttemptRecord]
    responses: list[ResponseResult]
    failures: list[Failure]
    violations: list[Violation]
    timings_ms: dict[str, float]
    handshake: ProbeHandshake
    sessions: list[SessionResult] = Field(default_factory=list, exclude=True)

    @property
    def exit_code(self) -> int:
        """The documented exit code of the outcome."""
        return self.outcome.exit_code

    def verdict(self) -> str:
        """'clean', 'transient: passed on attempt k of n' or 'persistent: …' (per step)."""
        step = self.attempts[-1].step if self.attempts else None
        tries = [a for a in self.attempts if a.step == step]
        where = f"step {step!r}: " if step else ""
        if self.outcome is Outcome.CLEAN:
            if len(tries) > 1:
                return f"{where}transient: passed on attempt {len(tries)} of {len(tries)}"
            return "all steps clean" if step else "clean"
        prefix = f"first failing {where}" if step else ""
        if len(tries) > 1:
            return f"{prefix}persistent: failed all {len(tries)} attempts"
        return f"{prefix}failed".strip()

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (keys as documented)."""
        data = self.model_dump(mode="json")
        return {
            key: data[key]
            for key in (
                "outcome",
                "dialect",
                "session_id",
                "attempts",
                "responses",
                "failures",
                "violations",
                "timings_ms",
                "handshake",
            )
        }


# --- plans ---
#: Silence appended to audio turns under server VAD: the server ends a turn only after
#: ``silence_duration_ms`` (200–500 ms) of quiet, and a sample may stop right after the last word.
VAD_TRAILING_SILENCE_MS = 1000


def _audio_turn(name_or_path: str, trailing_silence_ms: int = 0) -> AudioTurn:
    from realtime_harness.media.audio import load_audio
    from realtime_harness.protocol.audio import encode_chunk, iter_chunks, silence

    prepared = load_audio(name_or_path)
    pcm = prepared.pcm + silence(trailing_silence_ms) if trailing_silence_ms else prepared.pcm
    chunks = tuple(encode_chunk(c) for c in iter_chunks(pcm, 100))
    return AudioTurn(chunks=chunks, chunk_ms=100, label=str(name_or_path))


def build_turns(
    *, audio: str | None, text: str | None, turns: int, vad: bool = False
) -> tuple[Turn, ...]:
    """The turns of a session: ``turns`` copies of the text turn or of the audio (loaded once;
    with ``vad``, followed by :data:`VAD_TRAILING_SILENCE_MS` of silence).

    Raises :class:`~realtime_harness.exceptions.UsageError` for an unknown sample or unreadable
    file, before anything connects.
    """
    if turns < 1:
        raise UsageError(f"--turns must be at least 1, got {turns}")
    if text is not None:
        return tuple(TextTurn(text) for _ in range(turns))
    one = _audio_turn(audio or "greeting", VAD_TRAILING_SILENCE_MS if vad else 0)
    return tuple(one for _ in range(turns))


# --- the flight recorder and outputs ---
def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _note(t: float, direction: Literal["server", "client"], event: Mapping[str, Any]) -> EventNote:
    response = event.get("response")
    rid = _str(event.get("response_id"))
    if rid is None and isinstance(response, Mapping):
        rid = _str(response.get("id"))
    item = event.get("item")
    iid = _str(event.get("item_id"))
    if iid is None and isinstance(item, Mapping):
        iid = _str(item.get("id"))
    error = event.get("error")
    code = _str(error.get("code")) if isinstance(error, Mapping) else None
    return EventNote(
        t=round(t, 6),
        dir=direction,
        type=_str(event.get("type")),
        event_id=_str(event.get("event_id")),
        response_id=rid,
        item_id=iid,
        code=code,
    )


class _Recorder:
    """Writes the ``--record`` JSONL as frames happen, so a crash still leaves a usable file."""

    def __init__(self, path: Path, *, keep_audio: bool, head: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("wb")
        self._keep_audio = keep_audio
        self._file.write(redact_text(orjson.dumps(head).decode()).encode() + b"\n")

    def _write(self, obj: Mapping[str, Any]) -> None:
        line = orjson.dumps(obj)
        # Frames were already scrubbed of registered secrets on arrival; the exact check keeps
        # the hot path cheap (the regex safety net costs as much as the socket send).
        text = line.decode()
        if contains_secret(text):
            line = redact_text(text).encode()
        self._file.write(line + b"\n")

    def frame(
        self, t: float, direction: Literal["server", "client"], event: Mapping[str, Any]
    ) -> None:
        self._write(frame(t, direction, event if self._keep_audio else elide_audio(event)))

    def raw(self, t: float, text: str) -> None:
        """A server frame that is not JSON, kept as text so ``validate`` flags it too."""
        self._file.write((redact_text(text).replace("\n", " ") + "\n").encode())

    def close(self) -> None:
        self._file.close()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- one session ---
@dataclass
class _Session:
    target: Target
    options: ProbeOptions
    plan: ScriptPlan
    step: str | None
    attempt: int
    client_request_id: str
    t0: float = 0.0
    wall0: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: deque[EventNote] = field(default_factory=lambda: deque(maxlen=64))
    server_frames: int = 0
    record_path: Path | None = None
    closed_by: Literal["client", "server"] | None = None
    close_code: int | None = None
    close_reason: str | None = None


async def _default_connect(options: ProbeOptions) -> TransportFactory:
    ws_options = WebSocketOptions(
        open_timeout=options.timeout,
        compression=options.compression,
        max_size=options.max_size,
    )

    async def connect(target: Target, client_request_id: str) -> Transport:
        return await open_websocket(
            target.url,
            target.request_headers(client_request_id),
            options=ws_options,
            client_request_id=client_request_id,
            clock=options.clock,
        )

    return connect


async def run_session(
    target: Target,
    plan: ScriptPlan,
    options: ProbeOptions,
    *,
    step: str | None = None,
    attempt: int = 1,
) -> SessionResult:
    """Run one scripted session against ``target`` and return what happened (never raises for
    remote trouble)."""
    clock = options.clock
    state = _Session(
        target=target,
        options=options,
        plan=plan,
        step=step,
        attempt=attempt,
        client_request_id=str(uuid.UUID(int=options.rng.getrandbits(128), version=4)),
    )
    validator = Validator(plan.dialect, vad_expected=plan.turn_detection is not None)
    script = SessionScript(plan, new_event_id=lambda: new_id("evt", options.rng))
    own_failures: list[Failure] = []
    recorder: _Recorder | None = None
    record_path = _attempt_path(options.record, attempt, step) if options.record else None
    state.record_path = record_path
    outputs: dict[int, Any] = {}
    handshake = ProbeHandshake(client_request_id=state.client_request_id)
    timings: dict[str, float] = {}

    factory = options.connect or await _default_connect(options)
    state.t0 = clock()
    state.wall0 = datetime.now(UTC)
    log.info(
        "connecting to %s (%s, attempt %d%s)",
        target.redacted_url,
        plan.dialect.value,
        attempt,
        f", step {step}" if step else "",
    )
    try:
        transport = await factory(target, state.client_request_id)
    except HandshakeRejected as exc:
        handshake = ProbeHandshake(
            status=exc.status, headers=dict(exc.headers), client_request_id=state.client_request_id
        )
        own_failures.append(
            Failure(
                kind="handshake",
                t=round(clock() - state.t0, 6),
                detail=f"HTTP {exc.status}: {_clip(exc.body) or str(exc)}",
            )
        )
        return _finish(state, validator, script, own_failures, handshake, timings, outputs)
    except ConnectError as exc:
        own_failures.append(
            Failure(kind="connect", t=round(clock() - state.t0, 6), detail=str(exc))
        )
        return _finish(state, validator, script, own_failures, handshake, timings, outputs)

    info: HandshakeInfo = transport.handshake
    handshake = ProbeHandshake(
        status=info.status, headers=dict(info.headers), client_request_id=state.client_request_id
    )
    if info.connect_ms is not None:
        timings["connect"] = round(info.connect_ms, 3)
    if info.handshake_ms is not None:
        timings["handshake"] = round(info.handshake_ms, 3)
    if record_path is not None:
        recorder = _Recorder(
            record_path,
            keep_audio=options.record_audio,
            head=header(
                started_at=_utc(state.wall0),
                url=target.redacted_url,
                dialect=plan.dialect.value,
                variant=target.variant.value,
                client_request_id=state.client_request_id,
                handshake={"status": handshake.status, "headers": handshake.headers},
            ),
        )

    # Every frame at DEBUG (type and ids, never payloads); checked once, not per frame.
    debug = log.isEnabledFor(logging.DEBUG)

    async def send(event: dict[str, Any]) -> None:
        t = clock() - state.t0
        validator.client_event(event, t=round(t, 6))
        if recorder is not None:
            recorder.frame(t, "client", event)
        note = _note(t, "client", event)
        state.notes.append(note)
        if debug:
            log.debug("%s", note.summary())
        await transport.send(orjson.dumps(event).decode())

    async def handle(text: str) -> None:
        if contains_secret(text):
            # A gateway that echoes the key must not put it into results, logs or recordings.
            text = redact_text(text)
        now = clock()
        t = now - state.t0
        state.server_frames += 1
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            validator.bad_line(state.server_frames, f"server frame is not JSON: {_clip(text)!r}")
            if recorder is not None:
                recorder.raw(t, text)
            return
        if not isinstance(event, dict):
            validator.bad_line(state.server_frames, "server frame is not a JSON object")
            return
        validator.server_event(event, line=None, t=round(t, 6))
        if recorder is not None:
            recorder.frame(t, "server", event)
        note = _note(t, "server", event)
        state.notes.append(note)
        if debug:
            log.debug("%s", note.summary())
        if options.save_audio is not None:
            _collect_audio(outputs, script, event)
        for reply in script.receive(event, now):
            await send(reply)

    shown = (0, 0)
    try:
        script.start(clock())
        while not script.finished:
            for event in script.poll(clock()):
                await send(event)
            if options.on_progress is not None:
                progress = script.progress()
                if progress[1] and progress != shown:  # report changes only
                    shown = progress
                    options.on_progress("stream", *progress)
            if script.finished:
                break
            wake = script.next_wakeup()
            wait = None if wake is None else max(0.0, wake - clock())
            try:
                text = await transport.recv(wait)
            except TimeoutError:
                continue
            await handle(text)
        if script.rejection is not None:
            # A fatal error is followed by the server's close (§1.4: 3000/4000, reason
            # "<type>.<code>"); wait briefly so that close code is on record too.
            end_wait = clock() + plan.timeouts.drain
            while (left := end_wait - clock()) > 0:
                try:
                    await handle(await transport.recv(left))
                except TimeoutError:
                    break
    except ConnectionClosed as exc:
        script.closed(exc.code, exc.reason, clock())
        state.closed_by, state.close_code, state.close_reason = "server", exc.code, exc.reason
    finally:
        if state.closed_by is None:
            await transport.close(1000, "")
            state.closed_by = "client"
            state.close_code, state.close_reason = transport.close_code, transport.close_reason
        if recorder is not None:
            recorder.close()

    if script.unexpected_close is not None:
        code, reason, phase = script.unexpected_close
        own_failures.append(
            Failure(
                kind="close",
                session_id=script.session_id,
                response_id=script.current_response_id(),
                close_code=code,
                close_reason=reason,
                t=round(clock() - state.t0, 6),
                detail=f"server closed the connection while waiting for {phase.value}",
            )
        )
    if script.timed_out is not None:
        own_failures.append(
            Failure(
                kind="timeout",
                session_id=script.session_id,
                response_id=script.timed_out.response_id,
                t=round(clock() - state.t0, 6),
                detail=script.timed_out.message(),
            )
        )
    timings.update(_session_timings(script, state.t0, clock()))
    return _finish(state, validator, script, own_failures, handshake, timings, outputs)


def _collect_audio(
    outputs: dict[int, Any], script: SessionScript, event: Mapping[str, Any]
) -> None:
    etype = event.get("type")
    if etype not in ("response.output_audio.delta", "response.audio.delta"):
        return
    delta = event.get("delta")
    if not isinstance(delta, str):
        return
    from realtime_harness.media.audio import OutputAudio

    index = script.turn
    if index not in outputs:
        outputs[index] = OutputAudio()
    with contextlib.suppress(ValueError):
        outputs[index].add_delta(delta)


def _attempt_path(path: Path | None, attempt: int, step: str | None) -> Path | None:
    """``--record FILE`` for the first session; later sessions get ``FILE.<step>.<n>.jsonl``."""
    if path is None:
        return None
    if attempt == 1 and not step:
        return path
    tag = (step or "").replace(" ", "-")
    suffix = ".".join(p for p in (tag, str(attempt)) if p)
    return path.with_name(f"{path.stem}.{suffix}{path.suffix or '.jsonl'}")


def _ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round((b - a) * 1000, 3)


def _session_timings(script: SessionScript, t0: float, end: float) -> dict[str, float]:
    marks = script.marks
    out: dict[str, float | None] = {
        "session_created": _ms(marks.get("open"), marks.get("session_created")),
        "session_updated": _ms(marks.get("session_update_sent"), marks.get("session_updated")),
        "audio_stream": _ms(marks.get("stream_start.0"), marks.get("stream_end.0")),
        "commit_to_committed": _ms(marks.get("commit_sent.0"), marks.get("committed.0")),
    }
    if script.responses:
        first = script.responses[0].timings_ms()
        for key, name in (
            ("created", "create_to_created"),
            ("first_audio", "create_to_first_audio"),
            ("first_transcript", "create_to_first_transcript"),
            ("first_text", "create_to_first_text"),
            ("done", "create_to_done"),
            ("output_audio", "output_audio"),
            ("max_audio_gap", "max_audio_gap"),
            ("real_time_factor", "real_time_factor"),
        ):
            out[name] = first.get(key)
    out["total"] = round((end - t0) * 1000, 3)
    return {k: v for k, v in out.items() if v is not None}


def _clip(text: str, limit: int = 200) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finish(
    state: _Session,
    validator: Validator,
    script: SessionScript,
    own: list[Failure],
    handshake: ProbeHandshake,
    timings: dict[str, float],
    outputs: dict[int, Any],
) -> SessionResult:
    report = validator.finish()
    session_id = script.session_id or report.session_id
    violations = list(report.violations)
    # The validator saw the error events and failed responses; the client adds what only the
    # connection knows (close, timeout, handshake, connect). Fill in the session id found later.
    failures = [
        f if f.session_id or not session_id else f.model_copy(update={"session_id": session_id})
        for f in [*report.failures, *own]
    ]
    real = [f for f in failures if not f.benign]
    connection = any(
        f.kind in _CONNECTION_KINDS and not (f.kind == "close" and _explained(f, real))
        for f in real
    )
    outcome = Outcome.combine(
        violations=bool(violations), failures=bool(real), connection=connection
    )
    retryable, retry_after = _retry_decision(real, violations, handshake)
    responses = [
        ResponseResult(
            response_id=track.response_id,
            status=track.status,
            status_details=track.status_details,
            timings_ms=track.timings_ms(),
        )
        for track in script.responses
        if track.response_id is not None or track.t_requested is not None
    ]
    transcripts = ["".join(t.transcript or t.text) for t in script.responses]
    audio_files = _save_audio(state.options.save_audio, session_id, outputs, transcripts)
    result = SessionResult(
        outcome=outcome,
        dialect=state.plan.dialect,
        url=state.target.redacted_url,
        step=state.step,
        attempt=state.attempt,
        session_id=session_id,
        expires_at=script.expires_at,
        started_at=_utc(state.wall0),
        responses=responses,
        transcripts=transcripts,
        failures=failures,
        violations=violations,
        incomplete=[*report.incomplete]
        if script.timed_out or script.unexpected_close
        else [i for i in report.incomplete if "no server events" not in i],
        timings_ms=timings,
        handshake=handshake,
        close_code=state.close_code,
        close_reason=state.close_reason,
        closed_by=state.closed_by,
        last_events=list(state.notes)[-12:],
        retryable=retryable,
        retry_after=retry_after,
        audio_files=audio_files,
        recording=str(state.record_path) if state.record_path else None,
    )
    _report_failures(state, result)
    return result


def _explained(close: Failure, failures: list[Failure]) -> bool:
    """Whether a close is the announced end of an error the server reported first.

    OpenAI closes after a fatal error with reason ``<type>.<code>`` (protocol §1.4); such a close
    is part of that server failure (exit 1), not a connection failure (exit 4).
    """
    reason = close.close_reason or ""
    for failure in failures:
        code = failure.error.code if failure.error else None
        if failure.kind == "error_event" and code and (code in _FATAL_CODES or code in reason):
            return True
    return False


def _retry_decision(
    real: list[Failure], violations: list[Violation], handshake: ProbeHandshake
) -> tuple[bool, float | None]:
    """Whether every failure of a session is transient, and the server's retry-after if any."""
    if violations or not real:
        return False, None
    for failure in real:
        if failure.kind == "handshake":
            if handshake.status not in _RETRY_STATUSES:
                return False, None
        elif failure.kind == "close":
            if failure.close_code not in RECOVERABLE_CLOSE_CODES:
                return False, None
        elif failure.kind in ("error_event", "response_failed"):
            error = failure.error
            if error is None or not (
                error.type == "server_error" or error.code in _TRANSIENT_CODES
            ):
                return False, None
        else:
            return False, None
    return True, _retry_after(handshake.headers)


def _save_audio(
    directory: Path | None,
    session_id: str | None,
    outputs: dict[int, Any],
    transcripts: list[str],
) -> list[str]:
    if directory is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    stem = session_id or "session"
    for index, transcript in enumerate(transcripts):
        base = directory / f"{stem}-turn{index + 1}"
        if index in outputs:
            written.append(str(outputs[index].write_wav(base.with_suffix(".wav"))))
        base.with_suffix(".txt").write_text(transcript + "\n", encoding="utf-8")
        written.append(str(base.with_suffix(".txt")))
    return written


def _report_failures(state: _Session, result: SessionResult) -> None:
    """One ERROR line per failure (WARNING for benign ones), and the failures-log records."""
    request_ids = {
        k: v for k, v in result.handshake.headers.items() if k.lower() in _REQUEST_ID_HEADERS
    }
    for failure in result.failures:
        at = _utc(state.wall0 + timedelta(seconds=failure.t or 0.0))
        context = (
            f"url={result.url} dialect={result.dialect.value} attempt={result.attempt}"
            + (f" step={result.step!r}" if result.step else "")
            + f" handshake_status={result.handshake.status}"
            + "".join(f" {k}={v}" for k, v in request_ids.items())
            + f" client_request_id={result.handshake.client_request_id}"
            + f" conn_close={result.close_code} {result.close_reason or ''}".rstrip()
            + f" started_at={result.started_at} at={at}"
        )
        line = redact_text(f"probe {failure.summary()} {context}")
        if failure.benign:
            log.warning("%s", line)
        else:
            log.error("%s", line)
        if state.options.failures_log is not None and not failure.benign:
            before = [n for n in result.last_events if failure.t is None or n.t <= failure.t]
            record = {
                "at": at,
                **failure.model_dump(mode="json"),
                "url": result.url,
                "dialect": result.dialect.value,
                "variant": state.target.variant.value,
                "attempt": result.attempt,
                "step": result.step,
                "started_at": result.started_at,
                "handshake": result.handshake.model_dump(mode="json"),
                "connection_close": {"code": result.close_code, "reason": result.close_reason},
                "last_events": [n.model_dump(mode="json") for n in before[-10:]],
            }
            path = state.options.failures_log
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(redact_text(orjson.dumps(record).decode()) + "\n")
    for violation in result.violations[:_MAX_VIOLATION_LINES]:
        log.error("%s", redact_text(f"probe {violation.summary()} session_id={result.session_id}"))
    if len(result.violations) > _MAX_VIOLATION_LINES:
        log.error(
            "probe: %d more violations in session %s (see --json or --record)",
            len(result.violations) - _MAX_VIOLATION_LINES,
            result.session_id,
        )


# --- attempts, retries, escalation ---
class _Transient(Exception):
    """Raised inside the stamina retry block to ask for another attempt."""

    def __init__(self, result: SessionResult) -> None:
        super().__init__(result.headline())
        self.result = result


def _plan(options: ProbeOptions, target: Target, turns: tuple[Turn, ...]) -> ScriptPlan:
    speed = options.speed if options.speed is not None else (0.0 if target.embedded else 1.0)
    return ScriptPlan(
        dialect=target.dialect,
        turns=turns,
        turn_detection=options.turn_detection,
        voice=options.voice,
        instructions=options.instructions,
        speed=speed,
        timeouts=PhaseTimeouts.uniform(options.timeout, drain=options.drain),
    )


async def _run_step(
    target: Target,
    plan: ScriptPlan,
    options: ProbeOptions,
    step: str | None,
    sessions: list[SessionResult],
) -> SessionResult:
    """Run attempts of one step until one is not transient or the retries are used up."""
    max_wait = options.max_retry_after

    def backoff(exc: Exception) -> bool | float:
        if not isinstance(exc, _Transient):
            return False
        after = exc.result.retry_after
        return True if after is None else min(after, max_wait)

    last: SessionResult | None = None
    try:
        async for attempt in stamina.retry_context(
            on=backoff,
            attempts=options.retries + 1,
            timeout=None,
            wait_initial=options.retry_wait_initial,
            wait_max=options.retry_wait_max,
            wait_jitter=options.retry_jitter,
        ):
            with attempt:
                last = await run_session(target, plan, options, step=step, attempt=attempt.num)
                sessions.append(last)
                if last.retryable and attempt.num <= options.retries:
                    log.warning(
                        "attempt %d%s failed transiently (%s); retrying",
                        attempt.num,
                        f" of step {step!r}" if step else "",
                        redact_text(last.headline()),
                    )
                    raise _Transient(last)
    except _Transient as exc:  # stamina gave up (its own attempt cap, e.g. in test mode)
        last = exc.result
    assert last is not None
    return last


def _probe_result(sessions: list[SessionResult], final: SessionResult) -> ProbeResult:
    attempts = [
        AttemptRecord(
            n=s.attempt,
            step=s.step,
            session_id=s.session_id,
            outcome=s.outcome,
            client_request_id=s.handshake.client_request_id,
            started_at=s.started_at,
            retryable=s.retryable,
            summary=s.headline(),
        )
        for s in sessions
    ]
    return ProbeResult(
        outcome=final.outcome,
        dialect=final.dialect,
        session_id=final.session_id,
        attempts=attempts,
        responses=final.responses,
        failures=final.failures,
        violations=final.violations,
        timings_ms=final.timings_ms,
        handshake=final.handshake,
        sessions=sessions,
    )


async def _probe_target(target: Target, options: ProbeOptions) -> ProbeResult:
    sessions: list[SessionResult] = []
    steps: list[tuple[str | None, tuple[Turn, ...]]]
    vad = options.turn_detection is not None
    if options.escalate:
        steps = [
            (name, build_turns(audio=audio, text=text, turns=1, vad=vad))
            for name, audio, text in ESCALATION_LADDER
        ]
    else:
        turns = build_turns(audio=options.audio, text=options.text, turns=options.turns, vad=vad)
        steps = [(None, turns)]
    final: SessionResult | None = None
    for name, turns in steps:
        final = await _run_step(target, _plan(options, target, turns), options, name, sessions)
        if final.outcome is not Outcome.CLEAN:
            if name:
                log.error("escalation stopped at step %r: %s", name, redact_text(final.headline()))
            break
    assert final is not None
    return _probe_result(sessions, final)


#: The credential the embedded mock gets: it wants one, any value will do, and it is not secret.
_MOCK_KEY = "mock-key"


@contextlib.asynccontextmanager
async def embedded_mock(options: ProbeOptions) -> AsyncIterator[Target]:
    """Start the embedded mock on 127.0.0.1 (in this loop) and yield a target for it.

    The mock streams ``options.mock_speed`` times faster than real time (0: all at once), so
    the default probe finishes in about a second while still showing realistic phases.
    """
    from realtime_harness.mock import Latency, MockServer, parse_fault_spec

    faults = [parse_fault_spec(spec) for spec in options.mock_faults]
    speed = options.mock_speed
    latency = (
        Latency.fast() if speed <= 0 else Latency(response_s=0.05, first_delta_s=0.1, speed=speed)
    )
    # A short answer keeps the first command quick; the seed comes from the options' rng, so
    # each run gets its own session ids unless a test passes a seeded rng.
    async with MockServer(
        dialect=options.mock_dialect,
        faults=faults,
        latency=latency,
        seed=options.rng.randrange(2**32),
        reply_voice="weather",
    ) as server:
        yield mock_target(server)


def mock_target(server: MockServer) -> Target:
    """The target for a running :class:`~realtime_harness.mock.MockServer`: its OpenAI-style
    route, a placeholder Bearer key (the mock wants one; it is not a secret), its dialect."""
    dialect = server.dialect
    headers = {"Authorization": f"Bearer {_MOCK_KEY}"}
    if dialect is Dialect.BETA:
        headers["OpenAI-Beta"] = "realtime=v1"
    return Target(
        url=f"{server.url}/v1/realtime?model=gpt-realtime",
        dialect=dialect,
        variant=Variant.CUSTOM,
        auth=AuthMode.BEARER,
        headers=headers,
        embedded=True,
    )


def _check_outputs(options: ProbeOptions) -> None:
    """Fail before connecting when an output path cannot be written (one line, exit 2)."""
    checks = [
        ("--record", options.record, False),
        ("--failures-log", options.failures_log, False),
        ("--save-audio", options.save_audio, True),
    ]
    for flag, path, is_dir in checks:
        if path is None:
            continue
        directory = path if is_dir else path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if not is_dir and path.is_dir():
                raise IsADirectoryError(21, "is a directory")
            if not os.access(directory, os.W_OK):
                raise PermissionError(13, "not writable")
        except OSError as exc:
            raise UsageError(
                f"cannot write {flag} {path}: {exc.strerror or exc.__class__.__name__}; "
                "choose a writable path"
            ) from None


async def run_probe(options: ProbeOptions) -> ProbeResult:
    """Probe ``options.target`` (or the embedded mock) with attempts, retries and escalation.

    Raises only for local mistakes (:class:`~realtime_harness.exceptions.UsageError`: unknown
    sample, unreadable audio, bad fault spec); everything remote is in the result.
    """
    _check_outputs(options)
    if options.target is not None:
        return await _probe_target(options.target, options)
    async with embedded_mock(options) as target:
        return await _probe_target(target, replace(options, target=target))


def run_probe_sync(options: ProbeOptions) -> ProbeResult:
    """:func:`run_probe` for synchronous code (starts and closes its own event loop)."""
    return asyncio.run(run_probe(options))
