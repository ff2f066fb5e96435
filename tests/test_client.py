"""The probe driver through the in-memory transport: whole sessions on a fake clock, no sockets,
no sleeping. Each test scripts the server with :class:`ScriptedServer`."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from realtime_harness.exceptions import (
    ConnectError,
    ConnectionClosed,
    HandshakeRejected,
    UsageError,
)
from realtime_harness.probe import (
    ProbeOptions,
    ProbeResult,
    build_turns,
    run_probe,
)
from realtime_harness.probe.run import drive
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.ids import IdGenerator
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.script import AudioTurn, PhaseTimeouts, ScriptPlan
from realtime_harness.protocol.session import FLIGHT_RECORDER_SIZE, ClientSession, SessionContext
from realtime_harness.redact import forget_secrets, register_secret
from realtime_harness.target import AuthMode, Target
from realtime_harness.testing import TraceBuilder
from realtime_harness.transport import FakeClock, HandshakeInfo, MemoryTransport, Transport
from realtime_harness.transport.base import OnDue
from realtime_harness.validate import validate_file

Event = dict[str, Any]
SENTINEL = "sk-SENTINEL0123456789abcdef"


class ScriptedServer:
    """A synchronous fake Realtime server for one connection, built on TraceBuilder.

    ``on`` maps a client event type to a function returning the server's reply events (or a
    ``("close", code, reason)`` tuple); the defaults give a clean session.
    """

    def __init__(self, dialect: Dialect, clock: FakeClock, *, response: str = "audio") -> None:
        self.build = TraceBuilder(dialect)
        self.clock = clock
        self.received: list[tuple[float, Event]] = []
        self.transport = MemoryTransport(
            clock=clock,
            on_send=self._on_send,
            handshake=HandshakeInfo(status=101, headers={"x-request-id": "req_1"}),
        )
        self.on: dict[str, Callable[[Event], Any]] = {
            "session.update": lambda e: self.build.session_updated(),
            "input_audio_buffer.commit": lambda e: self.build.committed(),
            "response.create": lambda e: [
                *self.build.response(response),
                *self.build.rate_limits(),
            ],
        }
        self.first: list[Event] | tuple[Any, ...] = self.build.session_created()

    def start(self) -> MemoryTransport:
        self._deliver(self.first)
        return self.transport

    def _deliver(self, reply: Any) -> None:
        if isinstance(reply, tuple):
            _, code, reason = reply
            self.transport.feed_close(code, reason)
            return
        for event in reply or []:
            self.transport.feed(event if isinstance(event, str) else orjson.dumps(event).decode())

    def _on_send(self, text: str) -> None:
        event = orjson.loads(text)
        self.received.append((self.clock(), event))
        handler = self.on.get(event["type"])
        if handler is not None:
            self._deliver(handler(event))


def options_for(
    servers: Iterator[ScriptedServer] | ScriptedServer,
    clock: FakeClock,
    dialect: Dialect = Dialect.GA,
    **overrides: Any,
) -> ProbeOptions:
    feed = servers if isinstance(servers, Iterator) else iter([servers])

    async def connect(target: Target, client_request_id: str) -> Transport:
        server = next(feed)
        return server.start()

    target = Target(
        url="wss://example.invalid/v1/realtime?model=m",
        dialect=dialect,
        auth=AuthMode.BEARER,
        headers={"Authorization": f"Bearer {SENTINEL}"},
    )
    base = ProbeOptions(
        target=target,
        connect=connect,
        clock=clock,
        speed=1.0,
        retry_wait_initial=0.0,
        retry_wait_max=0.0,
        retry_jitter=0.0,
    )
    return replace(base, **overrides)


@pytest.fixture(params=[Dialect.GA, Dialect.BETA], ids=["ga", "beta"])
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return Dialect(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    forget_secrets()
    register_secret(SENTINEL)
    yield
    forget_secrets()


@pytest.mark.asyncio
async def test_clean_audio_session(dialect: Dialect, clock: FakeClock) -> None:
    """A clean session: outcome clean, ids, response timings, handshake, no violations."""
    server = ScriptedServer(dialect, clock)
    result = await run_probe(options_for(server, clock, dialect))
    assert result.outcome is Outcome.CLEAN
    assert result.exit_code == 0
    assert result.session_id == "sess_Test0001"
    assert result.dialect is dialect
    assert result.violations == []
    assert result.failures == []
    (response,) = result.responses
    assert response.status == "completed"
    assert response.response_id
    assert {"created", "first_audio", "first_transcript", "done"} <= set(response.timings_ms)
    assert result.handshake.status == 101
    assert result.handshake.headers == {"x-request-id": "req_1"}
    assert result.timings_ms["audio_stream"] == pytest.approx(2700, abs=1)
    assert result.sessions[0].transcripts == ["Hello there, friend!"]
    assert result.sessions[0].closed_by == "client"
    assert result.sessions[0].close_code == 1000
    # every client event carries an event_id
    assert all(e.get("event_id") for _, e in server.received)


@pytest.mark.asyncio
async def test_audio_is_paced_on_an_absolute_100ms_schedule(clock: FakeClock) -> None:
    """Appends leave at t0 + k·100 ms exactly (fake clock), then the commit."""
    server = ScriptedServer(Dialect.GA, clock)
    await run_probe(options_for(server, clock))
    appends = [t for t, e in server.received if e["type"] == "input_audio_buffer.append"]
    t0 = appends[0]
    assert [round(t - t0, 6) for t in appends] == [round(k * 0.1, 6) for k in range(len(appends))]
    assert len(appends) == 28  # greeting: 2.75 s in 100 ms chunks, the last one partial


@pytest.mark.asyncio
async def test_speed_option_streams_faster_than_real_time(clock: FakeClock) -> None:
    """speed=4 sends chunks 25 ms apart."""
    server = ScriptedServer(Dialect.GA, clock)
    await run_probe(options_for(server, clock, speed=4.0))
    appends = [t for t, e in server.received if e["type"] == "input_audio_buffer.append"]
    assert appends[1] - appends[0] == pytest.approx(0.025)


@pytest.mark.asyncio
async def test_text_turn_session(clock: FakeClock) -> None:
    """--text sends a user text item and reads a text response."""
    server = ScriptedServer(Dialect.GA, clock, response="text")
    result = await run_probe(options_for(server, clock, text="Hello?"))
    assert result.outcome is Outcome.CLEAN
    assert "first_text" in result.responses[0].timings_ms
    types = [e["type"] for _, e in server.received]
    assert types == ["session.update", "conversation.item.create", "response.create"]


@pytest.mark.asyncio
async def test_stalled_server_times_out_without_sleeping(clock: FakeClock) -> None:
    """No response.created within --timeout: a timeout failure, exit 4, instantly."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["response.create"] = lambda e: []
    result = await run_probe(options_for(server, clock, timeout=7.0))
    assert result.outcome is Outcome.CONNECTION
    assert result.exit_code == 4
    (failure,) = result.failures
    assert failure.kind == "timeout"
    assert failure.session_id == "sess_Test0001"
    assert "no response.created within 7 s" in (failure.detail or "")


@pytest.mark.asyncio
async def test_error_naming_our_update_is_a_server_failure_with_its_ids(clock: FakeClock) -> None:
    """An error whose event_id is our session.update: failure with that id, exit 1."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["session.update"] = lambda e: server.build.error(
        "unknown_parameter", client_event_id=e["event_id"]
    )
    result = await run_probe(options_for(server, clock))
    assert result.outcome is Outcome.SERVER_FAILURE
    (failure,) = result.failures
    update_id = server.received[0][1]["event_id"]
    assert failure.kind == "error_event"
    assert failure.error is not None
    assert failure.error.event_id == update_id
    assert failure.error.code == "unknown_parameter"
    assert failure.event_id
    assert failure.session_id == "sess_Test0001"
    assert not [e for _, e in server.received if e["type"] == "input_audio_buffer.append"]


@pytest.mark.asyncio
async def test_failed_response_is_a_retryable_server_failure(clock: FakeClock) -> None:
    """A server_error failed response.done: exit 1, retryable, response id recorded."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["response.create"] = lambda e: server.build.failed_response()
    result = await run_probe(options_for(server, clock))
    assert result.outcome is Outcome.SERVER_FAILURE
    failure = result.failures[0]
    assert failure.kind == "response_failed"
    assert failure.response_id
    assert result.responses[0].status == "failed"
    assert result.sessions[0].retryable


@pytest.mark.asyncio
async def test_close_mid_response_is_a_connection_failure_with_code(clock: FakeClock) -> None:
    """A 1011 close while waiting: close failure with code, reason, session and response ids."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["response.create"] = lambda e: server.build.response("audio")[:3]
    server.on["input_audio_buffer.commit"] = lambda e: server.build.committed()

    original = server.on["response.create"]

    def then_close(event: Event) -> Any:
        server._deliver(original(event))
        return ("close", 1011, "server_error")

    server.on["response.create"] = then_close
    result = await run_probe(options_for(server, clock))
    assert result.outcome is Outcome.CONNECTION
    failure = next(f for f in result.failures if f.kind == "close")
    assert (failure.close_code, failure.close_reason) == (1011, "server_error")
    assert failure.session_id == "sess_Test0001"
    assert failure.response_id is not None
    assert result.sessions[0].retryable
    assert result.sessions[0].closed_by == "server"


@pytest.mark.asyncio
async def test_invalid_key_error_then_close_is_not_retried(clock: FakeClock) -> None:
    """invalid_api_key then close 3000: a server failure (exit 1), never retried."""
    servers = []
    for _ in range(3):
        server = ScriptedServer(Dialect.GA, clock)
        error = server.build.error("invalid_api_key")
        server.first = error
        server.on["__never__"] = lambda e: []
        servers.append(server)

    def start_with_close(server: ScriptedServer) -> Callable[[], MemoryTransport]:
        def start() -> MemoryTransport:
            server._deliver(server.first)
            server.transport.feed_close(3000, "invalid_request_error.invalid_api_key")
            return server.transport

        return start

    for server in servers:
        server.start = start_with_close(server)  # type: ignore[method-assign]
    result = await run_probe(options_for(iter(servers), clock, retries=2))
    assert result.outcome is Outcome.SERVER_FAILURE
    assert len(result.attempts) == 1
    # The close that follows a fatal error is expected: on record, not a second failure, and
    # the error as first event is the documented refusal (§1.4), not a violation.
    assert [f.kind for f in result.failures] == ["auth"]
    assert result.violations == []
    session = result.sessions[0]
    assert (session.close_code, session.close_reason) == (
        3000,
        "invalid_request_error.invalid_api_key",
    )
    assert not session.retryable


def _rejecting(status: int, headers: dict[str, str]) -> Callable[[Target, str], Any]:
    async def connect(target: Target, client_request_id: str) -> Transport:
        raise HandshakeRejected(
            f"handshake rejected: HTTP {status}", status=status, headers=headers, body="nope"
        )

    return connect


@pytest.mark.asyncio
async def test_handshake_rejection_records_status_and_headers(clock: FakeClock) -> None:
    """HTTP 404: handshake failure, exit 4, headers kept, not retried."""
    options = options_for(ScriptedServer(Dialect.GA, clock), clock, retries=3)
    options = replace(options, connect=_rejecting(404, {"apim-request-id": "a-1"}))
    result = await run_probe(options)
    assert result.outcome is Outcome.CONNECTION
    assert len(result.attempts) == 1
    assert result.handshake.status == 404
    assert result.handshake.headers["apim-request-id"] == "a-1"
    assert result.failures[0].kind == "handshake"


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_at_the_upgrade_are_an_auth_failure_exit_1(
    clock: FakeClock, status: int
) -> None:
    """HTTP 401/403 (Azure's answer to a wrong key) is kind auth, exit 1, not retried: the
    same class as OpenAI's invalid_api_key error event."""
    options = options_for(ScriptedServer(Dialect.GA, clock), clock, retries=3)
    options = replace(options, connect=_rejecting(status, {"apim-request-id": "a-1"}))
    result = await run_probe(options)
    assert result.outcome is Outcome.SERVER_FAILURE
    assert result.exit_code == 1
    assert len(result.attempts) == 1
    assert result.handshake.status == status
    assert result.handshake.headers["apim-request-id"] == "a-1"
    assert [f.kind for f in result.failures] == ["auth"]


@pytest.mark.asyncio
async def test_throttled_handshake_is_retried_honouring_retry_after(clock: FakeClock) -> None:
    """HTTP 429 with retry-after is transient; the next attempt passes: verdict transient."""
    good = ScriptedServer(Dialect.GA, clock)
    calls: list[str] = []
    waits: list[float] = []

    async def connect(target: Target, client_request_id: str) -> Transport:
        calls.append(client_request_id)
        if len(calls) == 1:
            raise HandshakeRejected("429", status=429, headers={"retry-after": "0"})
        return good.start()

    options = replace(options_for(good, clock, retries=2), connect=connect)
    result = await run_probe(options)
    assert result.outcome is Outcome.CLEAN
    assert len(result.attempts) == 2
    assert result.attempts[0].retryable
    assert result.attempts[0].outcome is Outcome.CONNECTION
    assert result.verdict() == "transient: passed on attempt 2 of 2"
    assert len(set(calls)) == 2  # each attempt is a new session with its own request id
    assert result.sessions[0].retry_after == 0.0
    del waits


@pytest.mark.asyncio
async def test_persistent_transient_failure_uses_every_attempt(clock: FakeClock) -> None:
    """A failure that stays: 1 + retries attempts, verdict persistent."""
    servers = []
    for _ in range(3):
        server = ScriptedServer(Dialect.GA, clock)
        server.on["response.create"] = (lambda s: lambda e: s.build.failed_response())(server)
        servers.append(server)
    result = await run_probe(options_for(iter(servers), clock, retries=2))
    assert len(result.attempts) == 3
    assert result.outcome is Outcome.SERVER_FAILURE
    assert result.verdict() == "persistent: failed all 3 attempts"


@pytest.mark.asyncio
async def test_connect_error_is_a_connection_failure(clock: FakeClock) -> None:
    """A refused connection becomes a connect failure, exit 4."""

    async def refuse(target: Target, client_request_id: str) -> Transport:
        raise ConnectError("connection refused by 127.0.0.1:1")

    options = replace(options_for(ScriptedServer(Dialect.GA, clock), clock), connect=refuse)
    result = await run_probe(options)
    assert result.outcome is Outcome.CONNECTION
    assert result.failures[0].kind == "connect"
    assert "refused" in (result.failures[0].detail or "")


@pytest.mark.asyncio
async def test_non_json_frame_is_a_violation(clock: FakeClock) -> None:
    """A server frame that is not JSON is a bad-line violation, exit 3."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["session.update"] = lambda e: ["{not json", *server.build.session_updated()]
    result = await run_probe(options_for(server, clock))
    assert result.outcome is Outcome.VIOLATION
    assert [v.rule for v in result.violations] == ["bad-line"]


@pytest.mark.asyncio
async def test_escalation_stops_at_the_first_failing_step(clock: FakeClock) -> None:
    """--escalate runs text, then short audio; a failure there stops the ladder."""
    text_server = ScriptedServer(Dialect.GA, clock, response="text")
    audio_server = ScriptedServer(Dialect.GA, clock)
    audio_server.on["response.create"] = lambda e: audio_server.build.failed_response()
    result = await run_probe(options_for(iter([text_server, audio_server]), clock, escalate=True))
    assert [a.step for a in result.attempts] == ["text", "short audio"]
    assert result.outcome is Outcome.SERVER_FAILURE
    assert result.verdict() == "first failing step 'short audio': failed"


@pytest.mark.asyncio
async def test_failure_is_logged_once_and_appended_to_the_failures_file(
    clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One ERROR line and one JSON record with every id, the redacted URL and last events."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["response.create"] = lambda e: server.build.failed_response()
    log_path = tmp_path / "failures.jsonl"
    with caplog.at_level(logging.INFO, logger="realtime_harness.probe"):
        result = await run_probe(options_for(server, clock, failures_log=log_path))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    line = errors[0].getMessage()
    failure = result.failures[0]
    for needle in (
        f"session_id={failure.session_id}",
        f"response_id={failure.response_id}",
        f"event_id={failure.event_id}",
        f"item_id={failure.item_id}",
        "error.type=server_error",
        "url=wss://example.invalid/v1/realtime",
        "dialect=ga",
        "handshake_status=101",
        "x-request-id=req_1",
        "at=20",
    ):
        assert needle in line
    (record,) = [orjson.loads(x) for x in log_path.read_text().splitlines()]
    assert record["session_id"] == failure.session_id
    assert record["kind"] == "response_failed"
    assert record["handshake"]["status"] == 101
    assert record["dialect"] == "ga"
    assert record["last_events"][-1]["type"] == "response.done"
    assert record["at"].endswith("Z")


@pytest.mark.asyncio
async def test_recording_round_trips_through_validate(
    dialect: Dialect, clock: FakeClock, tmp_path: Path
) -> None:
    """--record writes header + both directions with audio elided; validate finds it clean."""
    server = ScriptedServer(dialect, clock)
    path = tmp_path / "session.jsonl"
    result = await run_probe(options_for(server, clock, dialect, record=path))
    lines = [orjson.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["realtime_harness_recording"] == 1
    assert lines[0]["dialect"] == dialect.value
    directions = {line.get("dir") for line in lines[1:]}
    assert directions == {"client", "server"}
    append = next(x for x in lines if x.get("event", {}).get("type") == "input_audio_buffer.append")
    assert append["event"]["audio"]["elided"] is True
    assert validate_file(path).outcome is Outcome.CLEAN
    assert result.sessions[0].recording == str(path)


@pytest.mark.asyncio
async def test_record_audio_keeps_payloads(clock: FakeClock, tmp_path: Path) -> None:
    """--record-audio keeps the base64 audio in the recording."""
    path = tmp_path / "r.jsonl"
    await run_probe(
        options_for(ScriptedServer(Dialect.GA, clock), clock, record=path, record_audio=True)
    )
    text = path.read_text()
    assert '"elided"' not in text


@pytest.mark.asyncio
async def test_save_audio_writes_wav_and_transcript(clock: FakeClock, tmp_path: Path) -> None:
    """--save-audio writes the assistant's audio as WAV plus its transcript."""
    result = await run_probe(
        options_for(ScriptedServer(Dialect.GA, clock), clock, save_audio=tmp_path / "out")
    )
    wav = tmp_path / "out" / "sess_Test0001-turn1.wav"
    txt = tmp_path / "out" / "sess_Test0001-turn1.txt"
    assert wav.stat().st_size > 44
    assert txt.read_text().strip() == "Hello there, friend!"
    assert str(wav) in result.sessions[0].audio_files


@pytest.mark.asyncio
async def test_sentinel_key_never_appears_anywhere(
    clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Even when the server echoes the key, logs, records, recordings and JSON never show it."""
    server = ScriptedServer(Dialect.GA, clock)
    echoed = server.build.error("invalid_api_key")
    echoed[0]["error"]["message"] = f"Incorrect API key provided: {SENTINEL}."
    server.on["response.create"] = lambda e: echoed
    record = tmp_path / "rec.jsonl"
    failures = tmp_path / "f.jsonl"
    with caplog.at_level(logging.DEBUG):
        result = await run_probe(
            options_for(server, clock, record=record, failures_log=failures, timeout=1.0)
        )
    assert result.failures
    written = [
        caplog.text,
        record.read_text(),
        failures.read_text(),
        orjson.dumps(result.to_json_dict()).decode(),
        repr(result.sessions),
    ]
    for text in written:
        assert SENTINEL not in text
    assert "Incorrect API key provided" in failures.read_text()


def test_json_document_has_exactly_the_documented_keys() -> None:
    """to_json_dict keeps the --json keys and nothing else."""
    result = ProbeResult(
        outcome=Outcome.CLEAN,
        dialect=Dialect.GA,
        session_id=None,
        attempts=[],
        responses=[],
        failures=[],
        violations=[],
        timings_ms={},
        handshake={"status": 101, "headers": {}},  # type: ignore[arg-type]
    )
    assert list(result.to_json_dict()) == [
        "outcome",
        "dialect",
        "session_id",
        "attempts",
        "responses",
        "failures",
        "violations",
        "timings_ms",
        "handshake",
    ]


def test_unknown_sample_and_bad_turns_are_usage_errors() -> None:
    """Local mistakes surface before connecting, as UsageError."""
    with pytest.raises(UsageError):
        build_turns(audio="no-such-sample", text=None, turns=1)
    with pytest.raises(UsageError, match="--turns"):
        build_turns(audio=None, text="x", turns=0)


@pytest.mark.asyncio
@pytest.mark.parametrize("flag", ["record", "failures_log", "save_audio"])
async def test_unwritable_output_path_is_a_usage_error_before_connecting(
    clock: FakeClock, tmp_path: Path, flag: str
) -> None:
    """An output path that cannot be written fails at once, naming the option."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    server = ScriptedServer(Dialect.GA, clock)
    with pytest.raises(UsageError, match=flag.replace("_", "-")):
        await run_probe(options_for(server, clock, **{flag: blocker / "sub" / "out"}))
    assert server.received == []


def test_vad_turns_end_with_a_second_of_silence() -> None:
    """Under server VAD the audio is followed by 1 s of silence so the server can end the turn."""
    (plain,) = build_turns(audio="greeting", text=None, turns=1)
    (padded,) = build_turns(audio="greeting", text=None, turns=1, vad=True)
    assert isinstance(plain, AudioTurn)
    assert isinstance(padded, AudioTurn)
    assert padded.duration_ms == pytest.approx(plain.duration_ms + 1000)


@pytest.mark.asyncio
async def test_drop_after_an_unrelated_error_is_still_a_connection_failure(
    clock: FakeClock,
) -> None:
    """A non-fatal error event, then a drop: the drop is not explained by it (exit 4)."""
    server = ScriptedServer(Dialect.GA, clock)

    def respond(event: Event) -> Any:
        server._deliver(server.build.response("audio")[:3])
        server._deliver(server.build.error(None, error_type="server_error"))
        return ("close", 1006, "")

    server.on["response.create"] = respond
    result = await run_probe(options_for(server, clock))
    assert sorted(f.kind for f in result.failures) == ["close", "error_event"]
    assert result.outcome is Outcome.CONNECTION
    assert result.sessions[0].retryable


@pytest.mark.asyncio
async def test_progress_is_reported_once_per_chunk(clock: FakeClock) -> None:
    """on_progress sees each chunk count once, ending at the total."""
    seen: list[tuple[int, int]] = []
    server = ScriptedServer(Dialect.GA, clock)
    await run_probe(
        options_for(server, clock, on_progress=lambda kind, sent, total: seen.append((sent, total)))
    )
    assert seen == [(k, 28) for k in range(1, 29)]


# --- hardening: the verdict is true, every wait is bounded, failures are kept at once --------
@pytest.mark.asyncio
async def test_a_turn_whose_response_was_cancelled_is_not_clean(clock: FakeClock) -> None:
    """Each turn must reach a response.done with status completed: a cancelled answer (not a
    barge-in the probe provoked) makes the probe exit 1 with a turns_incomplete failure."""
    server = ScriptedServer(Dialect.GA, clock, response="text")
    server.on["response.create"] = lambda e: server.build.response(
        "text", status="cancelled", details={"type": "cancelled", "reason": "client_cancelled"}
    )
    result = await run_probe(options_for(server, clock, text="hi", turns=2))
    assert result.outcome is Outcome.SERVER_FAILURE
    (failure,) = result.failures
    assert failure.kind == "turns_incomplete"
    assert failure.response_id == result.responses[0].response_id
    assert "2 of 2 turns did not complete" in (failure.detail or "")


@pytest.mark.asyncio
async def test_server_vad_barge_in_provoked_by_the_probe_is_reported_not_failed(
    clock: FakeClock,
) -> None:
    """Under server VAD a response cancelled with turn_detected while the probe still streams
    is marked barge_in; the turn completes with the next response: clean."""
    server = ScriptedServer(Dialect.GA, clock)
    build = server.build
    appends = 0

    def on_append(event: Event) -> list[Event]:
        nonlocal appends
        appends += 1
        if appends == 2:  # the server starts answering, then hears more of our audio
            return build.response(
                "audio",
                status="cancelled",
                details={"type": "cancelled", "reason": "turn_detected"},
            )
        return []

    server.on["input_audio_buffer.append"] = on_append
    turns = build_turns(audio="greeting", text=None, turns=1, vad=True)
    last = turns[0]
    assert isinstance(last, AudioTurn)
    count = len(last.chunks)

    def on_last_append(event: Event) -> list[Event]:
        replies = on_append(event)
        return replies + (build.response("audio") if appends == count else [])

    server.on["input_audio_buffer.append"] = on_last_append
    result = await run_probe(options_for(server, clock, turn_detection="server_vad", speed=0.0))
    assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
    assert [r.barge_in for r in result.responses] == [True, False]
    assert [r.status for r in result.responses] == ["cancelled", "completed"]


class _DrippingTransport(MemoryTransport):
    """After the response's opening events, one copy of its text delta every second, forever."""

    def __init__(self, server: ScriptedServer, clock: FakeClock, delta: Event) -> None:
        super().__init__(clock=clock, on_send=server._on_send, handshake=server.transport.handshake)
        self.clock = clock
        self.delta = delta
        self.dripping = False
        self.n = 0

    async def recv(self, max_wait: float | None, on_due: OnDue | None = None) -> str:
        # on_due is not called: a transport may end every wait with TimeoutError
        if self._inbox or not self.dripping:
            text = await super().recv(max_wait)
            self.dripping = self.dripping or orjson.loads(text).get("type") == "response.created"
            return text
        if max_wait is not None and max_wait < 1.0:
            self.clock.advance(max_wait)
            raise TimeoutError
        self.clock.advance(1.0)
        self.n += 1
        return orjson.dumps({**self.delta, "event_id": f"event_drip{self.n}"}).decode()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("limits", "needle"),
    [
        ({"max_response_time": 30.0}, "response wall-clock limit of 30 s"),
        ({"max_session_time": 20.0}, "session wall-clock limit of 20 s"),
    ],
)
async def test_a_response_that_never_ends_hits_the_wall_clock_limit(
    clock: FakeClock, limits: dict[str, float], needle: str
) -> None:
    """A delta every second renews the idle timeout forever; the response and session caps
    end it as a timeout naming the response (exit 4)."""
    server = ScriptedServer(Dialect.GA, clock, response="text")
    events = server.build.response("text")
    first_delta = next(i for i, e in enumerate(events) if e["type"].endswith(".delta"))
    created = events[0]
    server.on["response.create"] = lambda e: events[:first_delta]
    server.transport = _DrippingTransport(server, clock, events[first_delta])
    start = clock()
    result = await run_probe(options_for(server, clock, text="hi", timeout=3.0, **limits))
    assert result.outcome is Outcome.CONNECTION
    (failure,) = result.failures
    assert failure.kind == "timeout"
    assert failure.response_id == created["response"]["id"]
    assert needle in (failure.detail or "")
    assert clock() - start <= 31.0


@pytest.mark.asyncio
async def test_failure_record_and_error_line_are_written_when_seen(
    clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The failures-log record and the ERROR line exist while the session still runs (a kill
    then loses nothing already seen)."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["response.create"] = lambda e: server.build.failed_response()
    log_path = tmp_path / "failures.jsonl"
    seen_during: list[tuple[str, int]] = []
    original = server.transport.recv

    async def recv(max_wait: float | None, on_due: OnDue | None = None) -> str:
        text_now = log_path.read_text() if log_path.exists() else ""
        errors = sum(1 for r in caplog.records if r.levelno == logging.ERROR)
        seen_during.append((text_now, errors))
        return await original(max_wait, on_due)

    server.transport.recv = recv  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO):
        result = await run_probe(options_for(server, clock, failures_log=log_path))
    assert result.failures[0].kind == "response_failed"
    # Some recv after the failed response.done (the drain) already saw record and line.
    assert any(text and errors == 1 for text, errors in seen_during)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "mutation",
    [
        {"status": []},
        {"status": {}},
        {"status": 7},
        {"status_details": "x"},
        {"output": "x"},
        {"id": []},
    ],
)
async def test_any_json_type_in_response_done_never_crashes(
    clock: FakeClock, mutation: dict[str, Any]
) -> None:
    """A response.done whose fields hold the wrong JSON types ends in a documented outcome."""
    server = ScriptedServer(Dialect.GA, clock, response="text")

    def reply(event: Event) -> list[Event]:
        events = server.build.response("text")
        events[-1]["response"].update(mutation)
        return events

    server.on["response.create"] = reply
    result = await run_probe(options_for(server, clock, text="hi", timeout=1.0))
    assert result.exit_code in (0, 1, 3, 4)
    if "status" in mutation:
        assert result.exit_code != 0  # no completed status: the turn did not complete


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"audio": ""}, "--audio is empty"),
        ({"text": " "}, "--text is empty"),
        ({"turns": 300_000_000}, "--turns must be between 1 and 1000"),
        ({"speed": 1e-300}, "--speed must be 0"),
        ({"max_response_time": float("inf")}, "--max-response-time"),
    ],
)
async def test_empty_or_absurd_values_are_usage_errors(
    clock: FakeClock, overrides: dict[str, Any], message: str
) -> None:
    """Refused before connecting, with the bound in the message (exit 2)."""
    with pytest.raises(UsageError, match=message):
        await run_probe(options_for(ScriptedServer(Dialect.GA, clock), clock, **overrides))


def test_client_module_is_a_deprecated_alias_of_probe() -> None:
    """``from realtime_harness.client import ProbeOptions, run_probe_sync`` keeps working."""
    import importlib
    import sys

    sys.modules.pop("realtime_harness.client", None)
    client = importlib.import_module("realtime_harness.client")  # no warning: README showed it
    from realtime_harness import probe

    assert client.ProbeOptions is probe.ProbeOptions
    assert client.run_probe_sync is probe.run_probe_sync
    assert client.ProbeResult is probe.ProbeResult


def test_probe_options_split_into_parts_and_compose_back() -> None:
    """The flat options hand out target, session plan, outputs and retry policy parts."""
    options = ProbeOptions(text="hi", turns=2, retries=3, failures_log=Path("f.jsonl"))
    assert options.session.turns == 2
    assert options.retry.retries == 3
    assert options.outputs.failures_log == Path("f.jsonl")
    again = ProbeOptions.compose(
        connection=options.connection,
        session=options.session,
        outputs=options.outputs,
        retry=options.retry,
        mock=options.mock,
    )
    assert again == options


class _ClosedOnSendTransport(MemoryTransport):
    """A socket whose close already arrived: sending fails, the frames before it are queued."""

    async def send(self, text: str) -> None:
        if self._inbox:
            raise ConnectionClosed("close frame already received", code=1001, reason="expired")
        await super().send(text)

    def send_now(self, text: str) -> bool:
        return not self._inbox and super().send_now(text)


@pytest.mark.asyncio
async def test_frames_before_a_close_are_seen_even_when_a_send_fails_first(
    clock: FakeClock,
) -> None:
    """An error then close 1001, with the probe's next send failing on the close: the error
    still explains the close (a server failure with the error's ids, not a connection one)."""
    server = ScriptedServer(Dialect.GA, clock)
    server.transport = _ClosedOnSendTransport(
        clock=clock, on_send=server._on_send, handshake=server.transport.handshake
    )
    created = server.build.session_created()
    error = server.build.error("session_expired")[0]
    for event in [*created, error]:
        server.transport.feed(orjson.dumps(event).decode())
    server.transport.feed_close(1001, "invalid_request_error.session_expired")
    server.first = []
    result = await run_probe(options_for(server, clock, text="hi"))
    assert result.outcome is Outcome.SERVER_FAILURE, [f.summary() for f in result.failures]
    failure = next(f for f in result.failures if f.kind == "error_event")
    assert failure.event_id == error["event_id"]
    assert failure.session_id == created[0]["session"]["id"]


@pytest.mark.asyncio
async def test_a_burst_of_frames_is_taken_one_frame_per_loop_turn(clock: FakeClock) -> None:
    """A response that arrives all at once does not hold the event loop: between two of its
    frames other tasks (another session's paced send) get their turn."""
    server = ScriptedServer(Dialect.GA, clock)
    server.on["response.create"] = lambda e: server.build.response("audio", deltas=40)
    plan = ScriptPlan(
        dialect=Dialect.GA,
        turns=(AudioTurn(chunks=("A" * 6400,) * 2),),
        turn_detection=None,
        speed=0.0,
        timeouts=PhaseTimeouts(5, 5, 5, 5, 5, 0.0),
    )
    session = ClientSession(
        plan,
        SessionContext(url="ws://x", dialect=Dialect.GA, started_at=""),
        t0=clock(),
        new_event_id=partial(IdGenerator(random.Random(1)), "evt"),
    )
    frames: list[int] = []

    class Count:
        def on_frame(self, direction: str, t: float, event: Any) -> None:
            if direction == "server":
                frames.append(1)

        def on_failure(self, failure: Any) -> None: ...
        def on_finish(self, result: Any) -> None: ...

    session.add_observer(Count())
    seen_between: list[int] = []
    done = False

    async def other_session() -> None:
        while not done:
            seen_between.append(len(frames))
            await asyncio.sleep(0)

    async def opened() -> Transport:
        return server.start()

    ticker = asyncio.ensure_future(other_session())
    result = await drive(session, opened, clock)
    done = True
    await ticker
    assert result.outcome is Outcome.CLEAN
    # The other task ran between the burst's frames, not only before and after it.
    during_burst = {n for n in seen_between if 5 < n < 80}
    assert len(during_burst) >= 40  # without the yield: none


def test_the_flight_recorder_keeps_the_newest_frames_in_order(clock: FakeClock) -> None:
    """Past its size the recorder drops the oldest notes; ``last_events`` reads the newest,
    oldest first, with every id field of the frame."""
    session = ClientSession(
        ScriptPlan(
            dialect=Dialect.GA,
            turns=(AudioTurn(chunks=("A" * 6400,)),),
            turn_detection=None,
            speed=1.0,
            timeouts=PhaseTimeouts(5, 5, 5, 5, 5, 0.0),
        ),
        SessionContext(url="ws://x", dialect=Dialect.GA, started_at=""),
        t0=0.0,
        new_event_id=partial(IdGenerator(random.Random(1)), "evt"),
    )
    total = FLIGHT_RECORDER_SIZE + 5
    for k in range(total):
        event = {"type": "rate_limits.updated", "event_id": f"event_{k}", "response_id": "resp_1"}
        session.receive(orjson.dumps(event).decode(), float(k))
    notes = session.last_events(FLIGHT_RECORDER_SIZE + 10)
    assert len(notes) == FLIGHT_RECORDER_SIZE
    assert [n.event_id for n in notes] == [f"event_{k}" for k in range(5, total)]
    assert notes[-1].t == total - 1
    assert notes[-1].response_id == "resp_1"
    newest = [n.event_id for n in session.last_events(3)]
    assert newest == [f"event_{k}" for k in range(total - 3, total)]


class _EarlyTimerTransport(MemoryTransport):
    """A wait bounded by a deadline ends 0.5 ms before it, as uvloop's millisecond timers do;
    paced, the timer calls ``on_due`` then (the session sends from the timer)."""

    def __init__(self, server: ScriptedServer, clock: FakeClock, *, paced: bool) -> None:
        super().__init__(
            clock=clock, on_send=server._on_send, handshake=server.transport.handshake, paced=paced
        )
        self.clock = clock
        self.timeouts = 0

    async def recv(self, max_wait: float | None, on_due: OnDue | None = None) -> str:
        if self._inbox or max_wait is None:
            return await super().recv(max_wait)
        while True:
            self.timeouts += 1
            self.clock.advance(max(0.0, max_wait - 0.0005))
            await asyncio.sleep(0)  # a spin would still let the test's own bound fire
            more = on_due() if self.paced and on_due is not None else None
            if more is None:
                raise TimeoutError
            if self._inbox:
                return await super().recv(0)
            max_wait = more


@pytest.mark.asyncio
@pytest.mark.parametrize("paced", [True, False], ids=["from-the-timer", "by-the-task"])
async def test_a_timer_that_fires_early_sends_its_chunk_without_spinning(
    clock: FakeClock, paced: bool
) -> None:
    """When the loop's timer ends a paced wait just before the chunk's time, the chunk goes out
    on that wake-up: one wait per chunk, not a spin of empty polls until the clock catches up;
    whether the timer sends it or resumes the driving task."""
    server = ScriptedServer(Dialect.GA, clock)
    server.transport = _EarlyTimerTransport(server, clock, paced=paced)
    result = await asyncio.wait_for(run_probe(options_for(server, clock)), 10)
    assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
    appends = [t for t, e in server.received if e["type"] == "input_audio_buffer.append"]
    assert len(appends) == 28
    # one wait per chunk, nothing more
    assert server.transport.timeouts <= len(appends)
    # and none left more than the timer's earliness before its schedule
    t0 = appends[0]
    assert all(-0.0006 <= (t - t0) - k * 0.1 <= 1e-9 for k, t in enumerate(appends))


@pytest.mark.asyncio
async def test_a_waiting_session_keeps_nothing_of_its_last_step(clock: FakeClock) -> None:
    """While the driver waits, the step it acted on (its Actions and their frames) is gone:
    whatever a waiting session holds is alive in every session at once and walked by each
    young-generation garbage collection (docs/benchmarks.md)."""
    from realtime_harness.protocol.session import Actions

    server = ScriptedServer(Dialect.GA, clock)
    server.transport.paced = False  # every wait ends in the driving task
    seen: list[int] = []
    inner = server.transport.recv

    async def recv(max_wait: float | None, on_due: OnDue | None = None) -> str:
        seen.append(sum(1 for o in gc.get_objects() if type(o) is Actions))
        return await inner(max_wait, on_due)

    server.transport.recv = recv  # type: ignore[method-assign]
    result = await asyncio.wait_for(run_probe(options_for(server, clock)), 10)
    assert result.outcome is Outcome.CLEAN
    assert len(seen) > 28
    assert not any(seen)


class _SometimesWaitingTransport(MemoryTransport):
    """Every third frame sent from the timer "would have to wait": the driving task sends it."""

    def __init__(self, server: ScriptedServer, clock: FakeClock, fail: str | None = None) -> None:
        super().__init__(clock=clock, on_send=server._on_send, handshake=server.transport.handshake)
        self.calls = 0
        self.by_task = 0
        self.fail = fail

    def send_now(self, text: str) -> bool:
        self.calls += 1
        if self.fail is not None and self.calls == 5:
            raise RuntimeError(self.fail)
        return self.calls % 3 != 0 and super().send_now(text)

    async def send(self, text: str) -> None:
        self.by_task += 1
        await super().send(text)


@pytest.mark.asyncio
async def test_frames_the_timer_cannot_send_go_out_from_the_task_in_order(
    clock: FakeClock,
) -> None:
    server = ScriptedServer(Dialect.GA, clock)
    server.transport = _SometimesWaitingTransport(server, clock)
    result = await asyncio.wait_for(run_probe(options_for(server, clock)), 10)
    assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
    assert server.transport.by_task >= 9  # the task took over, and the timer again after it
    appends = [(t, e) for t, e in server.received if e["type"] == "input_audio_buffer.append"]
    assert len(appends) == 28
    t0 = appends[0][0]
    assert all(abs((t - t0) - k * 0.1) < 1e-9 for k, (t, _) in enumerate(appends))
    types = [e["type"] for _, e in server.received]
    last_append = max(i for i, kind in enumerate(types) if kind == "input_audio_buffer.append")
    assert types[last_append + 1 :] == ["input_audio_buffer.commit", "response.create"]


@pytest.mark.asyncio
async def test_an_error_raised_in_the_timer_is_raised_by_the_driving_task(
    clock: FakeClock,
) -> None:
    server = ScriptedServer(Dialect.GA, clock)
    server.transport = _SometimesWaitingTransport(server, clock, fail="boom in send_now")
    with pytest.raises(RuntimeError, match="boom in send_now"):
        await asyncio.wait_for(run_probe(options_for(server, clock)), 10)


@pytest.mark.asyncio
async def test_a_finished_session_is_freed_without_the_garbage_collector(
    clock: FakeClock,
) -> None:
    """No reference cycle through the driver or its timer: a session that ended is freed by
    reference counting, not left for a full collection (a soak would pile thousands up)."""
    from realtime_harness.protocol.session import ClientSession

    server = ScriptedServer(Dialect.GA, clock)
    gc.collect()
    gc.disable()
    try:
        result = await asyncio.wait_for(run_probe(options_for(server, clock)), 10)
        assert result.outcome is Outcome.CLEAN
        left = sum(1 for o in gc.get_objects() if type(o) is ClientSession)
    finally:
        gc.enable()
    assert left == 0
