"""The transport seam: in-memory with a fake clock, and the real WebSocket on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from realtime_harness.exceptions import (
    ConfigError,
    ConnectError,
    ConnectionClosed,
    HandshakeRejected,
)
from realtime_harness.transport import (
    FakeClock,
    MemoryTransport,
    Transport,
    WebSocketOptions,
    memory_pair,
    open_websocket,
)
from realtime_harness.transport.base import PacedTransport
from realtime_harness.transport.waker import Waker

# --- in memory ---


@pytest.mark.asyncio
async def test_memory_transport_times_out_instantly_on_a_fake_clock() -> None:
    """An empty queue advances the fake clock by the wait and raises TimeoutError at once."""
    clock = FakeClock(100.0)
    transport = MemoryTransport(clock=clock)
    with pytest.raises(TimeoutError):
        await transport.recv(2.5)
    assert clock() == 102.5


@pytest.mark.asyncio
async def test_memory_transport_calls_the_responder_and_delivers_in_order() -> None:
    """Each send reaches the responder; fed frames come back in order, then the close."""
    transport = MemoryTransport(clock=FakeClock())

    def responder(text: str) -> None:
        transport.feed(f"echo {text}")

    transport = MemoryTransport(clock=FakeClock(), on_send=responder)
    assert isinstance(transport, Transport)
    await transport.send("a")
    transport.feed_close(1011, "boom")
    assert await transport.recv(1) == "echo a"
    with pytest.raises(ConnectionClosed) as info:
        await transport.recv(1)
    assert (info.value.code, info.value.reason) == (1011, "boom")
    assert (transport.close_code, transport.close_reason) == (1011, "boom")
    with pytest.raises(ConnectionClosed):
        await transport.send("late")


@pytest.mark.asyncio
async def test_memory_pair_connects_two_ends_in_real_time() -> None:
    """A pair delivers both ways and a close reaches the peer."""
    client, server = memory_pair()
    await client.send("hi")
    assert await server.recv(1) == "hi"
    await server.close(1000, "bye")
    with pytest.raises(ConnectionClosed):
        await client.recv(1)
    with pytest.raises(TimeoutError):
        await memory_pair()[0].recv(0.01)


# --- real WebSocket on loopback ---

received_headers: list[Headers] = []


async def _handler(connection: ServerConnection) -> None:
    async for message in connection:
        if message == "big":
            await connection.send("x" * (3 * 1024 * 1024))
        elif message == "huge":
            await connection.send("x" * (17 * 1024 * 1024))
        elif message == "close4000":
            await connection.close(4000, "invalid_request_error.missing_model")
        elif message == "drop":
            connection.transport.abort()
        elif message == "bad utf-8":
            await connection.send(b"caf\xe9", text=True)  # Latin-1 bytes in a text frame
        elif message == "fragments":
            await connection.send(["one ", "two ", "three"])
        elif message == "three then close":
            for k in range(3):
                await connection.send(f"frame {k}")
            await connection.close(4000, "after three")
        else:
            await connection.send(f"echo {message}")


def _process_request(connection: ServerConnection, request: Request) -> Response | None:
    received_headers.append(request.headers)
    if request.path.startswith("/throttled"):
        response = connection.respond(429, "slow down\n")
        response.headers["retry-after"] = "3"
        response.headers["apim-request-id"] = "apim-1"
        return response
    if request.path.startswith("/moved"):
        response = connection.respond(302, "moved\n")
        response.headers["Location"] = "/v1/realtime"
        return response
    return None


def _process_response(
    connection: ServerConnection, request: Request, response: Response
) -> Response:
    response.headers["x-request-id"] = "req-42"
    response.headers["x-ms-region"] = "Test Region"
    return response


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    received_headers.clear()
    async with serve(
        _handler,
        "127.0.0.1",
        0,
        process_request=_process_request,
        process_response=_process_response,
    ) as srv:
        yield srv


try:
    import picows  # noqa: F401

    ENGINES = ["websockets", "picows"]
except ImportError:  # the speed extra is not installed: CI installs it, so both run there
    ENGINES = ["websockets"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each real-socket test runs on both WebSocket engines."""
    return str(request.param)


def _opts(engine: str, **options: Any) -> WebSocketOptions:
    return WebSocketOptions(library=engine, **options)


def _url(srv: Server, path: str = "/v1/realtime") -> str:
    port = next(iter(srv.sockets)).getsockname()[1]
    return f"ws://127.0.0.1:{port}{path}"


@pytest.mark.asyncio
async def test_websocket_records_handshake_headers_and_sends_ours(
    server: Server, engine: str
) -> None:
    """Status 101, every response header, our request id header, connect/handshake times."""
    transport = await open_websocket(
        _url(server),
        {"api-key": "k" * 20, "x-ms-client-request-id": "rid-9"},
        client_request_id="rid-9",
        options=_opts(engine),
    )
    try:
        hs = transport.handshake
        assert hs.status == 101
        assert hs.client_request_id == "rid-9"
        assert hs.headers["x-request-id"] == "req-42"
        assert hs.headers["x-ms-region"] == "Test Region"
        assert hs.connect_ms is not None
        assert hs.handshake_ms is not None
        sent = received_headers[-1]
        assert sent["x-ms-client-request-id"] == "rid-9"
        # compression is off unless asked (permessage-deflate costs ~10x CPU per message)
        assert "Sec-WebSocket-Extensions" not in sent
        await transport.send("ping")
        assert await transport.recv(2) == "echo ping"
        assert transport.close_code is None
    finally:
        await transport.close()


@pytest.mark.asyncio
async def test_websocket_compression_is_an_explicit_option(server: Server) -> None:
    """compression=True offers permessage-deflate."""
    transport = await open_websocket(_url(server), {}, options=WebSocketOptions(compression=True))
    await transport.close()
    assert "permessage-deflate" in received_headers[-1].get("Sec-WebSocket-Extensions", "")


@pytest.mark.asyncio
async def test_websocket_accepts_frames_over_one_mebibyte(server: Server, engine: str) -> None:
    """A 3 MiB server frame (seen in the wild) is received, not refused as too big."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    try:
        await transport.send("big")
        assert len(await transport.recv(5)) == 3 * 1024 * 1024
    finally:
        await transport.close()


@pytest.mark.asyncio
async def test_websocket_frame_above_max_size_is_reported_as_1009(
    server: Server, engine: str
) -> None:
    """A frame above the 16 MiB limit closes with 1009, not an anonymous drop."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    await transport.send("huge")
    with pytest.raises(ConnectionClosed) as info:
        await transport.recv(5)
    assert info.value.code == 1009


@pytest.mark.asyncio
async def test_websocket_recv_timeout_leaves_the_connection_usable(
    server: Server, engine: str
) -> None:
    """A recv timeout raises TimeoutError and the next recv still works."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    try:
        with pytest.raises(TimeoutError):
            await transport.recv(0.01)
        await transport.send("again")
        assert await transport.recv(2) == "echo again"
    finally:
        await transport.close()


@pytest.mark.asyncio
async def test_websocket_fragmented_message_arrives_whole(server: Server, engine: str) -> None:
    """A message the server sends in fragments is received as one text."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    try:
        await transport.send("fragments")
        assert await transport.recv(2) == "one two three"
        await transport.send("after")
        assert await transport.recv(2) == "echo after"
    finally:
        await transport.close()


@pytest.mark.asyncio
async def test_websocket_frames_before_a_close_are_received_before_it(
    server: Server, engine: str
) -> None:
    """Every frame the server sent before closing is received, in order, then the close; the
    close is reported again to any later recv."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    await transport.send("three then close")
    await asyncio.sleep(0.2)  # the close has arrived behind the frames
    assert [await transport.recv(2) for _ in range(3)] == ["frame 0", "frame 1", "frame 2"]
    for _ in range(2):
        with pytest.raises(ConnectionClosed) as info:
            await transport.recv(2)
        assert (info.value.code, info.value.reason) == (4000, "after three")


@pytest.mark.asyncio
async def test_websocket_receives_without_a_task_of_its_own(server: Server) -> None:
    """Frames reach recv without a reader task per connection (a task switch per frame is the
    largest cost of a session receiving a streamed response)."""
    transport = await open_websocket(_url(server), {})
    try:
        for k in range(3):
            await transport.send(str(k))
            assert await transport.recv(2) == f"echo {k}"
        ours = [
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__qualname__", "").startswith("WebSocketTransport")
        ]
        assert ours == []
    finally:
        await transport.close()


@pytest.mark.asyncio
async def test_websocket_send_waits_while_the_server_does_not_read(engine: str) -> None:
    """A server that stops reading makes send wait (the library's flow control) instead of
    buffering without bound in the client, and close gives up on it within its bound."""

    async def never_reads(connection: ServerConnection) -> None:
        await connection.wait_closed()  # its one-frame queue fills, then TCP's buffers

    async with serve(never_reads, "127.0.0.1", 0, max_queue=1, close_timeout=0.1) as srv:
        transport = await open_websocket(_url(srv), {}, options=_opts(engine, close_timeout=0.2))
        chunk = "x" * (1024 * 1024)

        async def flood() -> None:
            for _ in range(1000):  # 1 GB: cannot all fit in socket and queue buffers
                await transport.send(chunk)

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(flood(), 1.0)
        ws: Any = transport._ws  # type: ignore[attr-defined]
        socket_transport = getattr(ws, "underlying_transport", None) or ws.transport
        buffered = socket_transport.get_write_buffer_size()
        assert buffered <= 2 * len(chunk)
        # and closing does not wait on that server for ever: within twice the close timeout
        async with asyncio.timeout(1.0):
            await transport.close()


@pytest.mark.asyncio
async def test_websocket_server_close_carries_code_and_reason(server: Server, engine: str) -> None:
    """A server close frame becomes ConnectionClosed with its code and reason."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    await transport.send("close4000")
    with pytest.raises(ConnectionClosed) as info:
        await transport.recv(2)
    assert info.value.code == 4000
    assert info.value.reason == "invalid_request_error.missing_model"
    assert transport.close_code == 4000


@pytest.mark.asyncio
async def test_websocket_invalid_utf8_text_is_closed_1007_by_the_client(
    server: Server, engine: str
) -> None:
    """A text frame that is not UTF-8 breaks RFC 6455: the client closes 1007 and says so."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    await transport.send("bad utf-8")
    with pytest.raises(ConnectionClosed) as info:
        await transport.recv(2)
    assert info.value.code == 1007
    assert "closed by the client" in info.value.reason


@pytest.mark.asyncio
async def test_websocket_abrupt_drop_is_1006(server: Server, engine: str) -> None:
    """A TCP drop with no close frame is reported as 1006."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    await transport.send("drop")
    with pytest.raises(ConnectionClosed) as info:
        await transport.recv(2)
    assert info.value.code == 1006


@pytest.mark.asyncio
async def test_websocket_rejected_handshake_keeps_status_headers_and_body(
    server: Server, engine: str
) -> None:
    """HTTP 429 becomes HandshakeRejected with retry-after and apim-request-id."""
    with pytest.raises(HandshakeRejected) as info:
        await open_websocket(
            _url(server, "/throttled?api-key=abcdefghijkl"), {}, options=_opts(engine)
        )
    exc = info.value
    assert exc.status == 429
    assert exc.headers["retry-after"] == "3"
    assert exc.headers["apim-request-id"] == "apim-1"
    assert "slow down" in exc.body
    assert "abcdefghijkl" not in str(exc)


@pytest.mark.asyncio
async def test_websocket_redirect_is_a_rejected_handshake_not_followed(
    server: Server, engine: str
) -> None:
    """A 3xx answer to the upgrade is reported with its status and Location, never followed
    (the credentials stay with the address they were meant for)."""
    with pytest.raises(HandshakeRejected) as info:
        await open_websocket(_url(server, "/moved"), {"api-key": "k"}, options=_opts(engine))
    assert info.value.status == 302
    assert info.value.headers["Location"] == "/v1/realtime"
    assert len(received_headers) == 1


@pytest.mark.asyncio
async def test_refused_connection_is_a_connect_error_with_one_clear_line(engine: str) -> None:
    """Nothing listening → ConnectError naming the host and port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError, match="refused"):
        await open_websocket(f"ws://127.0.0.1:{port}/v1/realtime", {}, options=_opts(engine))


@pytest.mark.asyncio
async def test_unresolvable_host_is_a_connect_error(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """A DNS failure says which host could not be resolved."""

    async def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_dns)
    with pytest.raises(ConnectError, match=r"cannot resolve host 'nowhere\.invalid'"):
        await open_websocket("wss://nowhere.invalid/v1/realtime", {}, options=_opts(engine))


@pytest.mark.asyncio
async def test_connect_timeout_is_a_connect_error(server: Server, engine: str) -> None:
    """An open that takes longer than open_timeout fails with a timeout message."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # accepts TCP but never answers the upgrade
    try:
        port = listener.getsockname()[1]
        with pytest.raises(ConnectError, match="timeout"):
            await open_websocket(
                f"ws://127.0.0.1:{port}/", {}, options=_opts(engine, open_timeout=0.2)
            )
    finally:
        listener.close()


@pytest.mark.asyncio
async def test_tls_failure_is_a_connect_error_naming_tls(server: Server, engine: str) -> None:
    """wss:// to a plain server fails with one line about TLS."""
    url = _url(server).replace("ws://", "wss://")
    with pytest.raises(ConnectError, match="TLS"):
        await open_websocket(url, {}, options=_opts(engine))


@pytest.mark.asyncio
async def test_library_auto_takes_websockets_when_compression_is_asked(server: Server) -> None:
    """picows has no permessage-deflate here: "auto" falls back to websockets for it, and asking
    for picows with compression is a one-line configuration error naming the fix."""
    transport = await open_websocket(
        _url(server), {}, options=WebSocketOptions(library="auto", compression=True)
    )
    try:
        assert type(transport).__name__ == "WebSocketTransport"
        assert "permessage-deflate" in received_headers[-1].get("Sec-WebSocket-Extensions", "")
    finally:
        await transport.close()
    if "picows" in ENGINES:
        with pytest.raises(ConfigError, match="choose websockets"):
            await open_websocket(
                _url(server), {}, options=WebSocketOptions(library="picows", compression=True)
            )


@pytest.mark.skipif("picows" not in ENGINES, reason="picows (the speed extra) is not installed")
@pytest.mark.asyncio
async def test_library_auto_takes_picows_when_installed(server: Server) -> None:
    """With the speed extra installed, "auto" (the soak's default) connects with picows."""
    transport = await open_websocket(_url(server), {}, options=WebSocketOptions(library="auto"))
    try:
        assert type(transport).__name__ == "PicowsTransport"
        await transport.send("hello")
        assert await transport.recv(2) == "echo hello"
    finally:
        await transport.close()


@pytest.mark.asyncio
async def test_websocket_over_tls_with_a_trusted_ca(engine: str) -> None:
    """wss:// to a server whose CA the options trust: the upgrade completes and frames flow (our
    own TCP connection, then TLS and the upgrade over it, on either library)."""
    from realtime_harness.mock.tls import temporary_tls

    with temporary_tls(["127.0.0.1"]) as tls:
        async with serve(_handler, "127.0.0.1", 0, ssl=tls.server_context) as srv:
            url = _url(srv).replace("ws://", "wss://")
            transport = await open_websocket(
                url, {}, options=_opts(engine, ssl_context=tls.client_context())
            )
            try:
                assert transport.handshake.status == 101
                assert transport.handshake.connect_ms is not None
                await transport.send("over tls")
                assert await transport.recv(2) == "echo over tls"
            finally:
                await transport.close()


# --- the bounded wait shared by both transports ------------------------------------------------
@pytest.mark.asyncio
async def test_a_waker_ends_its_wait_on_wake_or_at_its_bound_and_disarm_cancels_the_timer() -> None:
    waker = Waker()
    loop = asyncio.get_running_loop()
    waiter = waker.arm(None)
    loop.call_soon(waker.wake)
    await asyncio.wait_for(waiter, 5)  # woken, with no timer at all
    waker.disarm()
    assert waker.waiter is None

    t0 = loop.time()
    waiter = waker.arm(0.02)
    await asyncio.wait_for(waiter, 5)  # the bound ends it
    waker.disarm()
    assert loop.time() - t0 >= 0.015

    waiter = waker.arm(0.02)
    timer = waker._timer
    waker.wake()
    await waiter
    waker.disarm()
    assert timer is not None
    assert timer.cancelled()
    waker.wake()  # nothing pending: a no-op
    waiter = waker.arm(-1.0)  # a bound already past ends the wait at once
    await asyncio.wait_for(waiter, 5)
    waker.disarm()


@pytest.mark.asyncio
async def test_a_waker_calls_on_due_and_waits_on_until_it_hands_over() -> None:
    waker = Waker()
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    def on_due() -> float | None:
        calls.append(loop.time())
        return 0.005 if len(calls) < 3 else None

    waiter = waker.arm(0.005, on_due)
    await asyncio.wait_for(waiter, 5)
    waker.disarm()
    assert len(calls) == 3  # the same wait went on twice, then ended
    assert waker.expired

    # A frame first: the timer finds the wait over and calls nothing.
    waiter = waker.arm(0.005, on_due)
    waker.wake()
    await waiter
    assert not waker.expired
    await asyncio.sleep(0.02)
    waker.disarm()
    assert len(calls) == 3

    # A frame that comes while on_due hands over: the time up still wins (the step is the
    # task's to carry out first; the frame stays queued).
    def woken_then_handed_over() -> float | None:
        waker.wake()
        return None

    waiter = waker.arm(0.0, woken_then_handed_over)
    await asyncio.wait_for(waiter, 5)
    waker.disarm()
    assert waker.expired

    # An on_due that raises: the waiting task gets the error, the wait does not hang.
    def broken() -> float | None:
        raise RuntimeError("on_due broke")

    with pytest.raises(RuntimeError, match="on_due broke"):
        await asyncio.wait_for(waker.wait(0.0, broken), 5)


@pytest.mark.asyncio
async def test_websocket_sends_from_the_timer_of_a_paced_wait(server: Server, engine: str) -> None:
    """``recv`` with ``on_due``: the timer calls it while the wait goes on, ``send_now`` writes
    at once, and the answer to a frame sent from the timer ends the wait."""
    transport = await open_websocket(_url(server), {}, options=_opts(engine))
    assert isinstance(transport, PacedTransport)
    calls = 0

    def on_due() -> float | None:
        nonlocal calls
        calls += 1
        if calls < 3:
            return 0.01  # nothing due yet: wait on
        assert transport.send_now(f"ping{calls}")
        return 5.0

    try:
        assert await transport.recv(0.01, on_due) == "echo ping3"
        assert calls == 3
        with pytest.raises(TimeoutError):  # None from on_due ends the wait
            await transport.recv(0.01, lambda: None)
    finally:
        await transport.close()
    assert not transport.send_now("after the close")
