"""The mock server over real loopback WebSockets: sessions, handshakes, the official client."""

from __future__ import annotations

import asyncio
import base64
import threading

import orjson
import pytest
from mock_testkit import (
    FAST,
    KEY,
    SHORT,
    Client,
    appends,
    check_events,
    manual_update,
    open_client,
    silence,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_harness.mock import ANY, MockServer
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome

DIALECTS = pytest.mark.parametrize("dialect", list(Dialect), ids=lambda d: d.value)


def server(dialect: Dialect = Dialect.GA, **kw: object) -> MockServer:
    """A fast mock that answers with a short tone."""
    return MockServer(dialect, latency=FAST, voices=SHORT, **kw)  # type: ignore[arg-type]


async def manual_turn(client: Client, dialect: Dialect) -> list[dict[str, object]]:
    """session.created → update → appends → commit → response.create → response.done."""
    await client.until("session.created")
    await client.send(manual_update(dialect))
    await client.until("session.updated")
    await client.send(*appends(silence(300)), {"type": "input_audio_buffer.commit"})
    await client.send({"type": "response.create"})
    await client.until("response.done")
    return client.events


@DIALECTS
@pytest.mark.asyncio
async def test_clean_session_over_websockets_validates_with_both_checkers(
    dialect: Dialect,
) -> None:
    """A manual turn over a real socket is accepted by openai's types and the validator."""
    async with server(dialect) as mock, open_client(mock.url) as ws:
        events = await manual_turn(Client(ws), dialect)
    report = check_events(events, dialect)
    assert report.outcome is Outcome.CLEAN, [v.summary() for v in report.violations]
    assert mock.url.startswith("ws://127.0.0.1:")
    [log] = mock.sessions
    assert log.session_id == report.session_id
    assert log.client_violations == []
    assert [e["type"] for e in mock.received][:2] == ["session.update", "input_audio_buffer.append"]
    assert isinstance(mock.received[1]["audio"], dict)  # audio is elided in the log
    mock.check()


@pytest.mark.asyncio
async def test_a_mock_that_keeps_no_received_log_still_serves_and_validates() -> None:
    """keep_received=False (the soak's embedded mock): the same session and verdicts, and no
    log of what the client sent (a long soak's hundreds of MB)."""
    async with server(keep_received=False) as mock, open_client(mock.url) as ws:
        client = Client(ws)
        events = await manual_turn(client, Dialect.GA)
        await client.send(*appends(silence(200)))  # after the response: appends are fine
    report = check_events(events, Dialect.GA)
    assert report.outcome is Outcome.CLEAN, [v.summary() for v in report.violations]
    await asyncio.sleep(0.05)
    [log] = mock.sessions
    assert log.received == []
    assert mock.received == []
    assert log.client_violations == []
    # still counted: session.update, 3 appends, commit, response.create, 2 appends
    assert log.messages == 8
    assert " received=8 " in log.summary()
    mock.check()


@pytest.mark.asyncio
async def test_the_server_logs_client_side_violations() -> None:
    """A client that appends before session.updated gets a client-side violation in its log."""
    async with server() as mock, open_client(mock.url) as ws:
        client = Client(ws)
        await client.until("session.created")
        await client.send(manual_update(Dialect.GA), *appends(silence(200)))
        await client.until("session.updated")
    await asyncio.sleep(0.05)
    [log] = mock.sessions
    assert [v.rule for v in log.client_violations] == ["client-append-before-session-updated"]


@pytest.mark.asyncio
async def test_official_openai_client_runs_a_full_ga_session() -> None:
    """openai.AsyncOpenAI's realtime client runs update, appends, commit, create to done."""
    openai = pytest.importorskip("openai")
    async with server() as mock:
        client = openai.AsyncOpenAI(api_key=KEY, websocket_base_url=mock.url + "/v1")
        async with client.realtime.connect(model="gpt-realtime") as conn:
            seen = [(await conn.recv()).type]
            await conn.session.update(
                session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
            )
            seen.append((await conn.recv()).type)
            for event in appends(silence(400)):
                await conn.input_audio_buffer.append(audio=str(event["audio"]))
            await conn.input_audio_buffer.commit()
            await conn.response.create()
            async for event in conn:
                seen.append(event.type)
                if event.type == "response.done":
                    assert event.response.status == "completed"
                    break
    assert seen[:3] == ["session.created", "session.updated", "input_audio_buffer.committed"]
    assert "response.output_audio.delta" in seen
    mock.check()


@pytest.mark.asyncio
async def test_official_openai_beta_client_runs_a_full_beta_session() -> None:
    """openai's beta realtime client (OpenAI-Beta header) works against a beta mock."""
    openai = pytest.importorskip("openai")
    async with server(Dialect.BETA) as mock:
        client = openai.AsyncOpenAI(api_key=KEY, websocket_base_url=mock.url + "/v1")
        async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
            assert (await conn.recv()).type == "session.created"
            await conn.session.update(session={"turn_detection": None})
            assert (await conn.recv()).type == "session.updated"
            for event in appends(silence(300)):
                await conn.input_audio_buffer.append(audio=str(event["audio"]))
            await conn.input_audio_buffer.commit()
            await conn.response.create()
            types = []
            async for event in conn:
                types.append(event.type)
                if event.type == "response.done":
                    break
    assert "response.audio.delta" in types


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/v1/realtime?model=gpt-realtime", {}, 401, "401"),
        ("/openai/v1/realtime?model=gpt-realtime", {}, 401, "401"),
        (
            "/openai/v1/realtime?model=gpt-realtime&api-version=2025-04-01-preview",
            {"api-key": KEY},
            401,
            "401",
        ),
        (
            "/openai/v1/realtime?model=gpt-realtime-whisper",
            {"api-key": KEY},
            400,
            "OpperationNotSupported",
        ),
        ("/openai/realtime?api-version=2025-04-01-preview", {"api-key": KEY}, 400, "BadRequest"),
        ("/nowhere", {"api-key": KEY}, 404, "404"),
    ],
)
@pytest.mark.asyncio
async def test_handshake_rejections_are_http_errors_like_the_real_services(
    path: str, headers: dict[str, str], status: int, code: str
) -> None:
    """Missing credentials, api-version on v1, non-realtime models are HTTP errors."""
    # every deployment exists: a whisper model deployed under its own name is refused as such
    async with server(deployments=ANY) as mock:
        with pytest.raises(InvalidStatus) as caught:
            async with open_client(mock.url, path, headers=headers):
                pass
    response = caught.value.response
    assert response.status_code == status
    assert orjson.loads(response.body)["error"]["code"] == code
    if path.startswith("/openai/"):
        assert response.headers["apim-request-id"] == response.headers["x-request-id"]
        assert response.headers["x-ms-region"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/realtime?model=gpt-realtime-mini", {"Authorization": f"Bearer {KEY}"}),
        ("/openai/v1/realtime?model=gpt-realtime", {"api-key": KEY}),
        (
            "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview"
            "&api-key=" + KEY,
            {},
        ),
    ],
)
@pytest.mark.asyncio
async def test_all_url_forms_and_credentials_are_accepted(
    path: str, headers: dict[str, str]
) -> None:
    """OpenAI, Azure GA and Azure preview URLs with their credentials open a session."""
    async with server() as mock, open_client(mock.url, path, headers=headers) as ws:
        created = await Client(ws).recv()
        assert created["type"] == "session.created"
        if path.startswith("/openai/"):
            assert ws.response is not None
            assert ws.response.headers["apim-request-id"]
    dialect = Dialect.BETA if path.startswith("/openai/realtime") else Dialect.GA
    assert mock.sessions[0].dialect is dialect
    assert KEY not in mock.sessions[0].path  # the api-key query parameter is redacted


@pytest.mark.asyncio
async def test_subprotocol_credentials_are_accepted_and_realtime_is_echoed() -> None:
    """A browser-style client authenticates with subprotocols and gets ``realtime`` back."""
    async with server() as mock:
        protocols = ["realtime", f"openai-insecure-api-key.{KEY}"]
        async with open_client(mock.url, headers={}, subprotocols=protocols) as ws:
            assert ws.subprotocol == "realtime"
            assert (await Client(ws).recv())["type"] == "session.created"


@pytest.mark.parametrize(
    ("kw", "path", "headers", "code", "close"),
    [
        (
            {},
            "/v1/realtime?model=gpt-realtime",
            {"OpenAI-Beta": "realtime=v1"},
            "beta_api_shape_disabled",
            4000,
        ),
        (
            {"require_key": "sk-right-key-0000"},
            "/v1/realtime?model=gpt-realtime",
            {},
            "invalid_api_key",
            3000,
        ),
        ({}, "/v1/realtime", {}, "missing_model", 4000),
        ({"models": ANY}, "/v1/realtime?model=whisper-1", {}, "invalid_model", 4000),
    ],
)
@pytest.mark.asyncio
async def test_openai_fatal_errors_come_after_the_upgrade_then_close(
    kw: dict[str, object], path: str, headers: dict[str, str], code: str, close: int
) -> None:
    """Beta header on GA, a wrong key, no model, a bad model: error event, then close."""
    async with server(**kw) as mock:
        sent = {"Authorization": f"Bearer {KEY}", **headers}
        async with open_client(mock.url, path, headers=sent) as ws:
            client = Client(ws)
            event = await client.recv()
            with pytest.raises(ConnectionClosed):
                await client.recv()
    assert event["type"] == "error"
    assert event["error"]["code"] == code
    assert ws.close_code == close
    assert ws.close_reason == f"invalid_request_error.{code}"
    assert KEY not in orjson.dumps(event).decode()


@pytest.mark.asyncio
async def test_require_key_rejects_a_wrong_azure_key_with_401() -> None:
    """With --require-key a wrong api-key on an Azure path is HTTP 401."""
    async with server(require_key="sk-right-key-0000") as mock:
        with pytest.raises(InvalidStatus) as caught:
            async with open_client(
                mock.url, "/openai/v1/realtime?model=gpt-realtime", {"api-key": KEY}
            ):
                pass
        assert caught.value.response.status_code == 401
        async with open_client(
            mock.url, "/openai/v1/realtime?model=gpt-realtime", {"api-key": "sk-right-key-0000"}
        ) as ws:
            assert (await Client(ws).recv())["type"] == "session.created"


def test_thread_mode_serves_a_blocking_client_and_resets_between_tests() -> None:
    """run_in_thread serves clients from another loop; reset and set_faults are thread-safe."""
    mock = server()

    async def one_turn(url: str) -> list[dict[str, object]]:
        async with open_client(url) as ws:
            return await manual_turn(Client(ws), Dialect.GA)

    with mock.run_in_thread() as running:
        events = asyncio.run(one_turn(running.url))
        assert events[-1]["type"] == "response.done"
        assert len(running.sessions) == 1
        worker = threading.Thread(target=running.reset)
        worker.start()
        worker.join()
        assert running.sessions == []
        assert running.received == []
        running.set_faults(["server_error:after_deltas=1"])
        events = asyncio.run(one_turn(running.url))
        assert events[-1]["response"]["status"] == "failed"  # type: ignore[index]
        assert [r.kind for r in running.ledger] == ["server_error"]
        running.check()


@pytest.mark.asyncio
async def test_a_real_sample_is_spoken_at_real_time_pace() -> None:
    """At speed 1 a bundled sample's audio arrives paced, not all at once."""
    from realtime_harness.mock.behaviour import Latency
    from realtime_harness.mock.voices import tone_voice

    voice = tone_voice(0.5, "Paced.")
    latency = Latency(response_s=0.0, first_delta_s=0.0, speed=1.0)
    async with MockServer(latency=latency, voices=(voice,)) as mock, open_client(mock.url) as ws:
        client = Client(ws)
        await client.until("session.created")
        await client.send(manual_update(Dialect.GA))
        await client.until("session.updated")
        await client.send(*appends(silence(200)), {"type": "input_audio_buffer.commit"})
        await client.send({"type": "response.create"})
        loop = asyncio.get_running_loop()
        arrivals = []
        while (event := await client.recv())["type"] != "response.done":
            if event["type"] == "response.output_audio.delta":
                arrivals.append(loop.time())
                assert base64.b64decode(str(event["delta"]))
    assert len(arrivals) == 5
    assert 0.35 <= arrivals[-1] - arrivals[0] <= 2.0  # 4 intervals of 100 ms; slack for busy CI


@pytest.mark.asyncio
async def test_check_reraises_the_servers_own_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug inside the mock (not an injected fault) is re-raised by check() in the test."""
    from realtime_harness.mock.behaviour import SessionBehaviour

    def broken(self: SessionBehaviour, *args: object, **kw: object) -> None:
        raise RuntimeError("mock bug")

    monkeypatch.setattr(SessionBehaviour, "receive", broken)
    async with server() as mock, open_client(mock.url) as ws:
        client = Client(ws)
        await client.until("session.created")
        await client.send({"type": "input_audio_buffer.clear"})
        with pytest.raises(ConnectionClosed):
            await client.recv()
    with pytest.raises(RuntimeError, match="mock bug"):
        mock.check()


@pytest.mark.asyncio
async def test_refused_connections_are_reported_without_the_key() -> None:
    """on_reject gets one line per refused connection, with the path redacted."""
    lines: list[str] = []
    async with server(require_key="sk-right-key-0000", on_reject=lines.append) as mock:
        with pytest.raises(InvalidStatus):
            async with open_client(mock.url, f"/openai/v1/realtime?model=d&api-key={KEY}", {}):
                pass
        async with open_client(mock.url) as ws:
            with pytest.raises(ConnectionClosed):
                await Client(ws).until("session.created")
    assert len(lines) == 2
    assert lines[0].startswith("rejected /openai/v1/realtime")
    assert "HTTP 401" in lines[0]
    assert "error invalid_api_key close 3000" in lines[1]
    assert all(KEY not in line for line in lines)


def test_set_latency_applies_to_new_sessions_from_another_thread() -> None:
    """set_latency (thread-safe) lets one test hold responses active to race them."""
    from realtime_harness.mock.behaviour import Latency

    async def race(url: str) -> list[dict[str, object]]:
        async with open_client(url) as ws:
            client = Client(ws)
            await client.until("session.created")
            await client.send(manual_update(Dialect.GA))
            await client.until("session.updated")
            await client.send(*appends(silence(200)), {"type": "input_audio_buffer.commit"})
            await client.send({"type": "response.create"}, {"type": "response.create"})
            return await client.until("response.done")

    with server().run_in_thread() as running:
        running.set_latency(Latency.fast(hold_s=0.2))
        events = asyncio.run(race(running.url))
    codes = [e["error"]["code"] for e in events if e["type"] == "error"]  # type: ignore[index]
    assert codes == ["conversation_already_has_active_response"]


@pytest.mark.asyncio
async def test_a_refusal_line_names_the_status_once_and_no_key_from_path_or_model() -> None:
    """`rejected … HTTP 401`, not `HTTP 401 401`; a key pasted into the path or the model, or
    the server's own key, never appears in a line."""
    lines: list[str] = []
    secret = "0123456789abcdef0123456789abcdef"
    async with server(require_key="sk-right-key-0000", on_reject=lines.append) as mock:
        for path in (
            f"/openai/v1/realtime?model={secret}",
            f"/openai/v1/realtime/{secret}?model=d",
        ):
            with pytest.raises(InvalidStatus):
                async with open_client(mock.url, path, {"api-key": "sk-right-key-0001"}):
                    pass
    assert len(lines) == 2
    assert "HTTP 401" in lines[0]
    assert "HTTP 401 401" not in lines[0]
    assert "HTTP 404" in lines[1]
    assert all(secret not in line and "sk-right" not in line for line in lines)


@pytest.mark.asyncio
async def test_a_client_that_does_not_read_is_closed_1008(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events piling up for a client that never reads end its connection with 1008, and the
    session log says so."""
    import realtime_harness.mock.server as server_module

    monkeypatch.setattr(server_module, "MAX_BACKLOG", 200)
    bad = orjson.dumps({"type": "conversation.item.retrieve", "item_id": "x" * 4000})
    # the client's socket stops reading: the server's writes block at once
    async with server() as mock, open_client(mock.url, max_queue=1) as ws:
        ws.transport.pause_reading()
        for _ in range(2000):
            await ws.send(bad.decode())
            if mock.sessions and mock.sessions[0].close_code is not None:
                break
        for _ in range(100):
            if mock.sessions[0].ended_at is not None:
                break
            await asyncio.sleep(0.05)
    assert mock.sessions[0].close_code == 1008


@pytest.mark.asyncio
async def test_appends_are_checked_once_and_bad_ones_still_reach_the_client_violations() -> None:
    """The server checks each append's base64 once and shares the size: a PCM16 append that
    splits a sample and one that is not base64 are still client violations, a good one is not."""
    async with server() as mock, open_client(mock.url) as ws:
        client = Client(ws)
        await client.until("session.created")
        await client.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(4800)).decode()},
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(1175)).decode()},
            {"type": "input_audio_buffer.append", "audio": "not base64!"},
        )
        await client.until("error")
    [log] = mock.sessions
    details = [v.message for v in log.client_violations]
    assert len(details) == 2, details
    assert "splits a sample" in details[0]
    assert "not valid base64" in details[1]
    assert log.received[0]["audio"] == {"elided": True, "chars": 6400, "bytes": 4800}
