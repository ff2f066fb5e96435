"""The real transport: one WebSocket from ``websockets.asyncio.client``.

Choices, each from a measured or reported problem:

* ``compression=None`` unless asked: websockets negotiates permessage-deflate by default, which
  costs about ten times the CPU per 6.4 KB audio message (measured; ``docs/benchmarks.md``).
* ``max_size`` 16 MiB: server frames above the library's 1 MiB default have been seen
  (3.4 MB in real traces), and a ``PayloadTooBig`` would look like a server fault.
* The TCP connection is opened here (``loop.sock_connect``) and handed to websockets, so DNS +
  TCP time (``connect_ms``) is measured apart from TLS + upgrade (``handshake_ms``). Behind an
  HTTP(S) proxy websockets connects through the proxy itself and only the total is known.
* No reader task: the connection wakes the session's wait itself when a whole message is queued,
  and a frame is written without ``send``'s coroutine machinery when nothing makes it wait. The
  library's reassembly, flow control and close handling are unchanged (docs/benchmarks.md).
* Third-party exceptions are converted at this seam: ``InvalidStatus`` → ``HandshakeRejected``
  (status and every response header kept), ``OSError``/DNS/TLS/timeout → ``ConnectError``,
  a closed socket → ``ConnectionClosed`` with the code and reason the server sent (1006 when
  the TCP connection just dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import websockets.exceptions as wse
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import DATA_OPCODES
from websockets.protocol import Event, State

from realtime_harness.exceptions import (
    ConfigError,
    ConnectError,
    ConnectionClosed,
    HandshakeRejected,
)
from realtime_harness.redact import redact_headers, redact_text, redact_url
from realtime_harness.transport.base import HandshakeInfo, OnDue, Transport
from realtime_harness.transport.waker import Waker

__all__ = [
    "DEFAULT_MAX_SIZE",
    "WebSocketOptions",
    "WebSocketTransport",
    "closed_error",
    "library_for",
    "open_websocket",
]

log = logging.getLogger("realtime_harness.transport")

DEFAULT_MAX_SIZE = 16 * 1024 * 1024
_BODY_LIMIT = 2_000


@dataclass(frozen=True)
class WebSocketOptions:
    """Connection options. ``compression`` True turns permessage-deflate on (off by default);
    ``ssl_context`` replaces the default (system) trust for ``wss://``, e.g. a test CA."""

    open_timeout: float = 10.0
    compression: bool = False
    max_size: int | None = DEFAULT_MAX_SIZE
    ping_interval: float | None = 20.0
    close_timeout: float = 2.0
    user_agent: str = "realtime-harness"
    ssl_context: ssl.SSLContext | None = None
    #: "websockets", "picows" (the optional extra; see ``transport/fast.py``) or "auto": picows
    #: when it is installed and the connection needs nothing only websockets does (a proxy,
    #: compression).
    library: str = "websockets"


class _connect(connect):
    """websockets' ``connect`` that never follows a redirect: a 3xx answer to the upgrade is
    reported (status and headers, ``Location`` included) like any other rejected handshake,
    and the credentials never go to another address."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        """Every redirect is returned as the exception it came in."""
        return exc


def _proxied(url: str) -> bool:
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    key = "https" if parts.scheme == "wss" else "http"
    return bool(proxies.get(key) or proxies.get("all")) and not urllib.request.proxy_bypass(
        parts.hostname or ""
    )


def library_for(opts: WebSocketOptions, url: str) -> str:
    """The WebSocket library :func:`open_websocket` connects ``url`` with under ``opts``:
    "websockets" or "picows". Raises ``ConfigError`` when picows is asked for and cannot serve."""
    return _library(opts, _proxied(url))


def _library(opts: WebSocketOptions, proxied: bool) -> str:
    if opts.library == "websockets":
        return "websockets"
    # Only websockets serves a proxy or compression here.
    only_websockets = proxied or opts.compression
    installed = importlib.util.find_spec("picows") is not None
    if opts.library == "auto":
        return "picows" if installed and not only_websockets else "websockets"
    if not installed:
        raise ConfigError(
            "the picows WebSocket library is not installed; install it with "
            "pip install 'realtime-harness[speed]' or choose websockets"
        )
    if only_websockets:
        raise ConfigError(
            "picows is used here without a proxy or compression; choose websockets for them"
        )
    return "picows"


def closed_error(rcvd: tuple[int, str] | None, sent: tuple[int, str] | None) -> ConnectionClosed:
    """The close a session is told of, from the close frames received and sent (code, reason):
    the server's; else ours when we closed first because the server broke a limit (1007 for a
    text frame that is not UTF-8, 1009 for a frame above the size limit), rather than an
    anonymous 1006; else 1006, the TCP connection dropped."""
    if rcvd is not None:
        code, reason = rcvd
    elif sent is not None and sent[0] != 1000:
        code, reason = sent[0], f"closed by the client: {sent[1]}".rstrip(": ")
    else:
        code, reason = 1006, ""
    return ConnectionClosed(f"connection closed {code} {reason}".rstrip(), code=code, reason=reason)


def _header_items(headers: object) -> list[tuple[str, str]]:
    raw = getattr(headers, "raw_items", None)
    if callable(raw):
        return [(str(k), str(v)) for k, v in raw()]
    return []


async def _tcp_connect(host: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last or OSError(f"no address for {host}")


class _Connection(ClientConnection):
    """websockets' client connection that wakes the transport's waiter itself when a whole
    message is queued, and writes a frame without a coroutine when nothing makes it wait.

    Received messages stay in the library's queue (its reassembly of fragments and its flow
    control apply unchanged); what changes is who waits. Without this, a task reading ahead
    hands each frame to the session: two task switches per server event, the largest cost of a
    session receiving a streamed response (``scripts/bench_soak.py``, docs/benchmarks.md).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Whole messages queued and not yet taken by ``recv()``.
        self.complete = 0
        #: The transport's pending wait, woken by a whole message or the end of the connection.
        self.waker = Waker()

    def process_event(self, event: Event) -> None:
        """The library's handling, then a wake-up when a message is complete."""
        super().process_event(event)
        if getattr(event, "fin", False) and getattr(event, "opcode", None) in DATA_OPCODES:
            self.complete += 1
            self.waker.wake()

    def connection_lost(self, exc: Exception | None) -> None:
        """The library's handling, then a wake-up: ``recv()`` now reports the close."""
        super().connection_lost(exc)
        self.waker.close()

    def can_write_now(self) -> bool:
        """Whether a frame goes out at once: open, not waiting for the server to read, and no
        fragmented message being sent (the conditions under which ``send`` does not wait)."""
        return (
            self.send_in_progress is None
            and self.protocol.state is State.OPEN
            and not self.paused
            and not self.transport.is_closing()
        )


class WebSocketTransport:
    """A connected WebSocket behind the :class:`~realtime_harness.transport.base.Transport` seam."""

    def __init__(self, connection: _Connection, handshake: HandshakeInfo) -> None:
        self._ws = connection
        self.handshake = handshake

    @property
    def close_code(self) -> int | None:
        """Code of the close frame received (1006 for an abrupt drop); None while open."""
        if self._ws.close_code is None and self._ws.state.name != "CLOSED":
            return None
        return self._ws.close_code if self._ws.close_code is not None else 1006

    @property
    def close_reason(self) -> str:
        """Reason of the close frame received."""
        return self._ws.close_reason or ""

    def _closed(self, exc: wse.ConnectionClosed) -> ConnectionClosed:
        rcvd, sent = exc.rcvd, exc.sent
        return closed_error(
            None if rcvd is None else (rcvd.code, rcvd.reason),
            None if sent is None else (sent.code, sent.reason),
        )

    async def send(self, text: str) -> None:
        """Send one text frame."""
        ws = self._ws
        if not ws.can_write_now():
            # The library's path: it waits for the server to read, or reports the close.
            try:
                await ws.send(text)
            except wse.ConnectionClosed as exc:
                raise self._closed(exc) from None
            return
        # A full write buffer is drained as ``send`` drains it.
        written = self._write(text)
        if written and ws.paused:
            try:
                await ws.drain()
            except Exception as exc:
                written = self._fail(exc)
        if not written:
            await asyncio.shield(ws.connection_lost_waiter)
            raise self._closed(ws.close_exc) from None

    def send_now(self, text: str) -> bool:
        """Send one text frame if nothing makes it wait (see ``PacedTransport``). A failing
        write fails the connection, and the next ``recv`` reports the close."""
        if not self._ws.can_write_now():
            return False
        self._write(text)
        return True

    def _write(self, text: str) -> bool:
        """What ``send`` does when nothing makes it wait (``can_write_now``), without its
        coroutine and context manager: the frame goes to the protocol and out. False when the
        write failed, which fails the connection as in ``send``."""
        ws = self._ws
        ws.protocol.send_text(text.encode())
        try:
            ws.send_data()
        except Exception as exc:
            return self._fail(exc)
        return True

    def _fail(self, exc: Exception) -> bool:
        # websockets' own handling of a failing write: record it and drop the connection.
        self._ws.set_connection_exc(exc)
        self._ws.transport.abort()
        return False

    async def recv(self, max_wait: float | None, on_due: OnDue | None = None) -> str:
        """The next frame as text (binary frames are decoded as UTF-8); ``on_due`` as
        ``PacedTransport`` says."""
        ws = self._ws
        if not ws.complete and not ws.recv_messages.closed:
            expired = await ws.waker.wait(max_wait, on_due)
            if expired or (not ws.complete and not ws.recv_messages.closed):
                raise TimeoutError
        if ws.complete:
            # A whole message is queued: this recv() returns it without waiting.
            ws.complete -= 1
        try:
            message = await ws.recv()
        except wse.ConnectionClosed as exc:
            raise self._closed(exc) from None
        if isinstance(message, bytes):
            return message.decode("utf-8", "replace")
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` (idempotent; errors while closing are ignored), within twice the
        close timeout: the library bounds its wait for the server's close frame, not the wait
        to write ours to a server that stopped reading. Past the bound the socket is dropped."""
        bound = 2 * (self._ws.close_timeout or 1.0)
        try:
            async with asyncio.timeout(bound):
                with contextlib.suppress(OSError, wse.WebSocketException):
                    await self._ws.close(code, reason)
        except TimeoutError:
            self._ws.transport.abort()


async def open_websocket(
    url: str,
    headers: dict[str, str],
    *,
    options: WebSocketOptions | None = None,
    client_request_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Transport:
    """Connect and upgrade; raise ``ConnectError`` or ``HandshakeRejected`` with a clean message.

    Messages name the redacted URL and never contain header values.
    """
    opts = options or WebSocketOptions()
    safe_url = redact_url(url)
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    t0 = clock()
    connect_ms: float | None = None
    proxied = _proxied(url)
    fast = _library(opts, proxied) == "picows"
    try:
        async with asyncio.timeout(opts.open_timeout):
            kwargs: dict[str, object] = {}
            if fast:
                from realtime_harness.transport.fast import PicowsTransport, upgrade

                sock = await _tcp_connect(host, port)
                connect_ms = (clock() - t0) * 1000
                t1 = clock()
                picows, listener, status, items = await upgrade(
                    url,
                    headers,
                    sock,
                    ssl_context=opts.ssl_context,
                    max_size=opts.max_size,
                    ping_interval=opts.ping_interval,
                    open_timeout=opts.open_timeout,
                )
                handshake = HandshakeInfo(
                    status=status,
                    headers=redact_headers(items),
                    client_request_id=client_request_id,
                    connect_ms=connect_ms,
                    handshake_ms=(clock() - t1) * 1000,
                )
                return PicowsTransport(picows, listener, handshake, opts.close_timeout)
            if not proxied:
                kwargs["sock"] = await _tcp_connect(host, port)
                if secure:
                    kwargs["server_hostname"] = host
                connect_ms = (clock() - t0) * 1000
            if secure and opts.ssl_context is not None:
                kwargs["ssl"] = opts.ssl_context
            t1 = clock()
            ws = await _connect(
                url,
                additional_headers=headers,
                compression="deflate" if opts.compression else None,
                max_size=opts.max_size,
                ping_interval=opts.ping_interval,
                close_timeout=opts.close_timeout,
                open_timeout=None,
                user_agent_header=opts.user_agent,
                create_connection=_Connection,
                **kwargs,  # type: ignore[arg-type]
            )
    except wse.InvalidStatus as exc:
        response = exc.response
        body = (response.body or b"")[:_BODY_LIMIT].decode("utf-8", "replace")
        status = response.status_code
        raise HandshakeRejected(
            f"handshake rejected: HTTP {status} {response.reason_phrase} from {safe_url}",
            status=status,
            headers=redact_headers(_header_items(response.headers)),
            body=redact_text(body),
        ) from None
    except socket.gaierror as exc:
        raise ConnectError(
            f"cannot resolve host {host!r} ({exc.strerror}); check the endpoint name"
        ) from None
    except ssl.SSLError as exc:
        raise ConnectError(
            f"TLS handshake with {host} failed ({exc.reason or exc.__class__.__name__})"
        ) from None
    except ConnectionRefusedError:
        raise ConnectError(
            f"connection refused by {host}:{port}; is the server running at {safe_url}?"
        ) from None
    except TimeoutError:
        raise ConnectError(
            f"no connection to {safe_url} within {opts.open_timeout:g} s (timeout)"
        ) from None
    except wse.InvalidURI:
        raise ConnectError(f"invalid WebSocket URL {safe_url}") from None
    except (OSError, wse.WebSocketException) as exc:
        what = redact_text(str(exc)) or exc.__class__.__name__
        if secure and connect_ms is not None:
            # TCP was up, so TLS or the upgrade failed: typically a plain ws:// server or a
            # proxy that cuts TLS.
            raise ConnectError(
                f"TLS handshake or upgrade with {host}:{port} failed ({what}); check that the "
                "endpoint speaks wss:// (TLS)"
            ) from None
        raise ConnectError(f"cannot connect to {safe_url}: {what}") from None
    t2 = clock()
    log.debug(
        "connected to %s: connect %s ms, handshake %.1f ms",
        safe_url,
        "?" if connect_ms is None else f"{connect_ms:.1f}",
        (t2 - t1) * 1000,
    )
    response_headers = redact_headers(_header_items(ws.response.headers)) if ws.response else {}
    handshake = HandshakeInfo(
        status=ws.response.status_code if ws.response else 101,
        headers=response_headers,
        client_request_id=client_request_id,
        connect_ms=connect_ms,
        handshake_ms=(t2 - t1) * 1000 if connect_ms is not None else (t2 - t0) * 1000,
    )
    assert isinstance(ws, _Connection)
    return WebSocketTransport(ws, handshake)
