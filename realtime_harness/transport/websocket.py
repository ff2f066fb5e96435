"""The real transport: one WebSocket from ``websockets.asyncio.client``.

Choices, each from a measured or reported problem:

* ``compression=None`` unless asked: websockets negotiates permessage-deflate by default, which
  costs about ten times the CPU per 6.4 KB audio message (measured; ``docs/benchmarks.md``).
* ``max_size`` 16 MiB: server frames above the library's 1 MiB default have been seen
  (3.4 MB in real traces), and a ``PayloadTooBig`` would look like a server fault.
* The TCP connection is opened here (``loop.sock_connect``) and handed to websockets, so DNS +
  TCP time (``connect_ms``) is measured apart from TLS + upgrade (``handshake_ms``). Behind an
  HTTP(S) proxy websockets connects through the proxy itself and only the total is known.
* Third-party exceptions are converted at this seam: ``InvalidStatus`` → ``HandshakeRejected``
  (status and every response header kept), ``OSError``/DNS/TLS/timeout → ``ConnectError``,
  a closed socket → ``ConnectionClosed`` with the code and reason the server sent (1006 when
  the TCP connection just dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import websockets.exceptions as wse
from websockets.asyncio.client import ClientConnection, connect

from realtime_harness.exceptions import ConnectError, ConnectionClosed, HandshakeRejected
from realtime_harness.redact import redact_headers, redact_text, redact_url
from realtime_harness.transport.base import HandshakeInfo

__all__ = ["DEFAULT_MAX_SIZE", "WebSocketOptions", "WebSocketTransport", "open_websocket"]

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


class WebSocketTransport:
    """A connected WebSocket behind the :class:`~realtime_harness.transport.base.Transport` seam."""

    #: Frames read ahead of the caller at most; beyond it the reader waits (websockets' own
    #: flow control then applies to the server).
    READ_AHEAD = 256

    def __init__(self, connection: ClientConnection, handshake: HandshakeInfo) -> None:
        self._ws = connection
        self.handshake = handshake
        # A reader task receives into a queue, so a recv bounded by a deadline waits on a timer
        # instead of cancelling websockets' recv each time (cheaper on the paced path).
        self._inbox: deque[str | bytes | BaseException] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._drained = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        try:
            while True:
                if len(self._inbox) >= self.READ_AHEAD:
                    self._drained.clear()
                    await self._drained.wait()
                self._inbox.append(await self._ws.recv())
                self._wake()
        except BaseException as exc:  # delivered to the caller by recv, in order
            self._inbox.append(exc)
            self._wake()
            if isinstance(exc, asyncio.CancelledError):
                raise

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

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
        frame = exc.rcvd
        if frame is not None:
            code, reason = frame.code, frame.reason
        elif exc.sent is not None and exc.sent.code != 1000:
            # We closed first because the server broke a limit, e.g. 1009 for a frame above
            # max_size: report that code rather than an anonymous 1006.
            code, reason = exc.sent.code, f"closed by the client: {exc.sent.reason}".rstrip(": ")
        else:
            code, reason = 1006, ""
        return ConnectionClosed(
            f"connection closed {code} {reason}".rstrip(), code=code, reason=reason
        )

    async def send(self, text: str) -> None:
        """Send one text frame."""
        try:
            await self._ws.send(text)
        except wse.ConnectionClosed as exc:
            raise self._closed(exc) from None

    async def recv(self, max_wait: float | None) -> str:
        """The next frame as text (binary frames are decoded as UTF-8)."""
        inbox = self._inbox
        if not inbox:
            if self._reader is None:
                self._reader = asyncio.get_running_loop().create_task(self._read())
            # Inline, not a helper coroutine: this wait is the paced path of every session (a
            # timer per 100 ms chunk), where each extra frame and call shows.
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            timer = (
                None
                if max_wait is None
                else loop.call_at(loop.time() + max(0.0, max_wait), _expire, waiter)
            )
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if not inbox:
                raise TimeoutError
        message = inbox[0]
        if isinstance(message, BaseException):
            # Stays queued: every later recv reports the same close.
            if isinstance(message, wse.ConnectionClosed):
                raise self._closed(message) from None
            raise message
        inbox.popleft()
        if len(inbox) < self.READ_AHEAD // 2:
            self._drained.set()
        if isinstance(message, bytes):
            return message.decode("utf-8", "replace")
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` (idempotent; errors while closing are ignored)."""
        with contextlib.suppress(OSError, wse.WebSocketException):
            await self._ws.close(code, reason)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def open_websocket(
    url: str,
    headers: dict[str, str],
    *,
    options: WebSocketOptions | None = None,
    client_request_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WebSocketTransport:
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
    try:
        async with asyncio.timeout(opts.open_timeout):
            kwargs: dict[str, object] = {}
            if not _proxied(url):
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
    return WebSocketTransport(ws, handshake)
