"""The same transport over ``picows`` (an optional extra): a WebSocket client written in Cython.

Why: a paced session's socket work in ``websockets`` (frame parsing and serialising in Python,
a coroutine per send) is about as large as the session's own checking of every event, and a
soak runs a thousand of them in one process. A minimal client on ``picows`` spends about 40 %
less CPU per session than the same client on ``websockets`` (``scripts/bench_soak.py``,
docs/benchmarks.md). ``open_websocket`` uses this module when ``WebSocketOptions.library`` asks
for it ("auto": when ``picows`` is installed and nothing needs ``websockets``: no proxy, no
compression).

The behaviour behind the :class:`~realtime_harness.transport.base.Transport` seam is the same as
the ``websockets`` transport's: whole messages (fragments joined), the server's close code and
reason (1006 when the TCP connection just dropped, 1009 sent by us for a message above the size
limit), reading paused while too many messages wait, sends waiting while the server does not
read, a bounded close. The upgrade's errors are raised as the ``websockets`` exceptions
``open_websocket`` already turns into clean messages.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any

import websockets.exceptions as wse
from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSError,
    WSFrame,
    WSHandshakeError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)
from websockets.datastructures import Headers
from websockets.http11 import Response

from realtime_harness.exceptions import ConnectionClosed
from realtime_harness.transport.base import OnDue
from realtime_harness.transport.waker import Waker
from realtime_harness.transport.websocket import closed_error

__all__ = ["PicowsTransport", "upgrade"]

_TEXT, _BINARY, _CONT, _CLOSE = (
    WSMsgType.TEXT,
    WSMsgType.BINARY,
    WSMsgType.CONTINUATION,
    WSMsgType.CLOSE,
)


class _Listener(WSListener):
    """picows' callbacks: each whole message into the inbox, the close behind them."""

    READ_AHEAD = 256

    def __init__(self, max_size: int | None) -> None:
        super().__init__()
        self.max_size = max_size
        #: Whole messages, then None for the end of the stream (received after them).
        self.inbox: deque[str | None] = deque()
        #: The session's pending wait, woken by a message or the end of the stream.
        self.waker = Waker()
        self.transport: WSTransport | None = None
        self.fragments: list[bytes] = []
        self.fragment_size = 0
        self.fragment_text = True
        self.close_rcvd: tuple[int, str] | None = None
        self.close_sent: tuple[int, str] | None = None
        #: The close the session is told of, once disconnected.
        self.closed: ConnectionClosed | None = None
        self.paused_reading = False
        self.write_paused = False
        self.drain_waiters: list[asyncio.Future[None]] = []

    # --- picows callbacks ---------------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is _TEXT and frame.fin and not self.fragments:
            if self._too_big(frame.payload_size):
                return
            try:
                text = frame.get_payload_as_utf8_text()
            except UnicodeDecodeError:
                self._refuse(1007, "invalid UTF-8 in a text frame")
                return
            self._put(text)
        elif kind is _TEXT or kind is _BINARY or kind is _CONT:
            self._fragment(frame)
        elif kind is _CLOSE:
            code = frame.get_close_code()
            reason = frame.get_close_message()
            self.close_rcvd = (
                int(code.value) if code is not None else 1005,
                bytes(reason).decode("utf-8", "replace") if reason else "",
            )
            if self.close_sent is None:
                self.close_sent = self.close_rcvd
                transport.send_close(code if code is not None else WSCloseCode.OK, reason)
            transport.disconnect(graceful=True)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = closed_error(self.close_rcvd, self.close_sent)
        self.inbox.append(None)
        self.waker.close()
        self.resume_writing()  # a send waiting for the server to read learns of the close

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        for waiter in self.drain_waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- helpers ------------------------------------------------------------------------------
    def _too_big(self, size: int) -> bool:
        if self.max_size is None or size <= self.max_size:
            return False
        self._refuse(1009, "message too big")
        return True

    def _refuse(self, code: int, reason: str) -> None:
        """Close because the server broke a rule (as websockets does: 1007, 1009)."""
        self.close_sent = (code, reason)
        if self.transport is not None:
            self.transport.send_close(WSCloseCode(code), reason.encode())
            self.transport.disconnect(graceful=True)

    def _fragment(self, frame: WSFrame) -> None:
        if frame.msg_type is not _CONT:
            self.fragments = []
            self.fragment_size = 0
            self.fragment_text = frame.msg_type is _TEXT
        if self._too_big(self.fragment_size + frame.payload_size):
            self.fragments = []
            return
        self.fragments.append(frame.get_payload_as_bytes())
        self.fragment_size += frame.payload_size
        if frame.fin:
            data = b"".join(self.fragments)
            self.fragments = []
            if not self.fragment_text:
                self._put(data.decode("utf-8", "replace"))
                return
            try:
                self._put(data.decode("utf-8"))
            except UnicodeDecodeError:
                self._refuse(1007, "invalid UTF-8 in a text message")

    def _put(self, text: str) -> None:
        self.inbox.append(text)
        if len(self.inbox) >= self.READ_AHEAD and not self.paused_reading and self.transport:
            # Flow control as websockets does it: stop reading until the session catches up.
            self.paused_reading = True
            self.transport.underlying_transport.pause_reading()
        self.waker.wake()

    def taken(self) -> None:
        """A message left the inbox: resume reading once half of the read-ahead is free."""
        if self.paused_reading and len(self.inbox) < self.READ_AHEAD // 2 and self.transport:
            self.paused_reading = False
            self.transport.underlying_transport.resume_reading()


class PicowsTransport:
    """A connected picows WebSocket behind the Transport seam (see the module docstring)."""

    def __init__(
        self, transport: WSTransport, listener: _Listener, handshake: Any, close_timeout: float
    ) -> None:
        self._ws = transport
        self._l = listener
        self.handshake = handshake
        self._close_timeout = close_timeout

    @property
    def close_code(self) -> int | None:
        """Code of the close frame received (1006 for an abrupt drop); None while open."""
        closed = self._l.closed
        return None if closed is None else closed.code

    @property
    def close_reason(self) -> str:
        """Reason of the close frame received."""
        closed = self._l.closed
        return "" if closed is None else closed.reason

    async def send(self, text: str) -> None:
        """Send one text frame; wait while the server does not read."""
        listener = self._l
        if listener.closed is not None or listener.close_sent is not None:
            raise self._closed_error()
        self._ws.send(_TEXT, text.encode())
        if listener.write_paused:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            listener.drain_waiters.append(waiter)
            try:
                await waiter
            finally:
                listener.drain_waiters.remove(waiter)
            if listener.closed is not None:
                raise self._closed_error()

    def _closed_error(self) -> ConnectionClosed:
        # A new exception each time (raising one twice would chain its tracebacks), from the
        # same rule as the websockets transport's.
        return closed_error(self._l.close_rcvd, self._l.close_sent)

    def send_now(self, text: str) -> bool:
        """Send one text frame if nothing makes it wait (see ``PacedTransport``)."""
        listener = self._l
        if listener.closed is not None or listener.close_sent is not None or listener.write_paused:
            return False
        self._ws.send(_TEXT, text.encode())
        return True

    async def recv(self, max_wait: float | None, on_due: OnDue | None = None) -> str:
        """The next message as text (binary messages are decoded as UTF-8); ``on_due`` as
        ``PacedTransport`` says."""
        listener = self._l
        inbox = listener.inbox
        if not inbox:
            expired = await listener.waker.wait(max_wait, on_due)
            if expired or not inbox:
                raise TimeoutError
        message = inbox[0]
        if message is None:
            # Stays queued: every later recv reports the same close.
            raise self._closed_error()
        inbox.popleft()
        listener.taken()
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` (idempotent), within twice the close timeout; then drop."""
        listener = self._l
        if listener.closed is not None:
            return
        if listener.close_sent is None:
            listener.close_sent = (code, reason)
            try:
                self._ws.send_close(WSCloseCode(code), reason.encode())
            except Exception:  # closing: a socket that cannot take the frame is dropped
                self._ws.disconnect(graceful=False)
        try:
            async with asyncio.timeout(2 * self._close_timeout):
                await self._ws.wait_disconnected()
        except TimeoutError:
            self._ws.disconnect(graceful=False)


async def upgrade(
    url: str,
    headers: dict[str, str],
    sock: socket.socket,
    *,
    ssl_context: Any,
    max_size: int | None,
    ping_interval: float | None,
    open_timeout: float,
) -> tuple[WSTransport, _Listener, int, list[tuple[str, str]]]:
    """The WebSocket upgrade over ``sock`` (connected; TLS is added for ``wss://``).

    Returns picows' transport, the listener, the status and the response headers. A refused
    upgrade is raised as ``websockets.exceptions.InvalidStatus`` and picows' other errors as
    ``websockets.exceptions.InvalidHandshake``, which ``open_websocket`` turns into messages.
    """

    async def connected(_: object) -> socket.socket:
        return sock

    listener = _Listener(max_size)
    try:
        transport, _ = await ws_connect(
            lambda: listener,
            url,
            ssl_context=ssl_context,
            websocket_handshake_timeout=open_timeout,
            enable_auto_ping=ping_interval is not None,
            auto_ping_idle_timeout=ping_interval or 20.0,
            auto_ping_reply_timeout=ping_interval or 20.0,
            auto_ping_strategy=WSAutoPingStrategy.PING_WHEN_IDLE,
            # picows drops a frame above its limit without a word; above ours, we close 1009.
            max_frame_size=2**31 - 1 if max_size is None else 2 * max_size + 1024,
            extra_headers=headers,
            max_redirects=0,
            socket_factory=connected,
            use_aiofastnet=False,
        )
    except WSHandshakeError as exc:
        response = exc.response
        if response is None:
            raise wse.InvalidHandshake(str(exc)) from None
        raise wse.InvalidStatus(
            Response(
                int(response.status),
                str(getattr(response.status, "phrase", "")),
                Headers(list(response.headers.items())),
                bytes(response.body or getattr(exc, "raw_body", None) or b""),
            )
        ) from None
    except WSError as exc:
        raise wse.InvalidHandshake(str(exc)) from None
    response = transport.response
    items = [(str(k), str(v)) for k, v in response.headers.items()]
    return transport, listener, int(response.status), items
