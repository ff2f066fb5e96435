"""An in-memory transport for unit tests: no socket, and with a fake clock, no sleeping.

Two ways to use it:

* a scripted peer: ``MemoryTransport(on_send=responder, clock=FakeClock())`` calls
  ``responder(text)`` synchronously for every frame the client sends; the responder queues the
  server's answers with :meth:`MemoryTransport.feed` (and :meth:`feed_close`). When the queue is
  empty, ``recv`` advances the fake clock by ``max_wait`` and raises :class:`TimeoutError` at once,
  so a stalled server is a deterministic, instant test; given ``on_due`` (a paced session's
  sends from the timer, ``PacedTransport``), it calls that at each deadline instead, as a
  timer would, until a frame is queued or ``on_due`` hands over.
* a connected pair: :func:`memory_pair` joins two transports on the running event loop (real
  time), for tests that run a server coroutine against the client.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from realtime_harness.exceptions import ConnectionClosed
from realtime_harness.transport.base import HandshakeInfo, OnDue

__all__ = ["FakeClock", "MemoryTransport", "memory_pair"]


class FakeClock:
    """A monotonic clock that only moves when told to (``advance``) or when a sleep is faked."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current fake time in seconds."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward)."""
        self.now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        """A sleep that advances the clock instead of waiting (yields to the loop once)."""
        self.advance(seconds)
        await asyncio.sleep(0)


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class MemoryTransport:
    """One end of an in-memory message channel (see the module docstring)."""

    def __init__(
        self,
        *,
        clock: FakeClock | None = None,
        on_send: Callable[[str], None] | None = None,
        handshake: HandshakeInfo | None = None,
        paced: bool = True,
    ) -> None:
        self.handshake = handshake or HandshakeInfo(status=101, headers={})
        #: Whether ``recv`` calls ``on_due`` (on a fake clock); False ends every wait with
        #: TimeoutError, as a transport that does not pace may.
        self.paced = paced
        self.sent: list[str] = []
        self.peer: MemoryTransport | None = None
        self._clock = clock
        self._on_send = on_send
        self._inbox: deque[str | _Close] = deque()
        self._arrived = asyncio.Event()
        self._close_code: int | None = None
        self._close_reason = ""
        self.closed_by_us = False

    # --- feeding (the peer's side) -------------------------------------------------------------
    def feed(self, text: str) -> None:
        """Queue a frame for this end to receive."""
        self._inbox.append(text)
        self._arrived.set()

    def feed_close(self, code: int = 1000, reason: str = "") -> None:
        """Queue a close: frames queued before it are still received first."""
        self._inbox.append(_Close(code, reason))
        self._arrived.set()

    # --- the Transport protocol ----------------------------------------------------------------
    @property
    def close_code(self) -> int | None:
        """The close code once closed (ours or the peer's), else None."""
        return self._close_code

    @property
    def close_reason(self) -> str:
        """The close reason once closed."""
        return self._close_reason

    async def send(self, text: str) -> None:
        """Record the frame, hand it to the responder or the peer."""
        if not self._deliver(text):
            raise ConnectionClosed(
                "send on a closed connection", code=self._close_code, reason=self._close_reason
            )
        await asyncio.sleep(0)

    def send_now(self, text: str) -> bool:
        """Record the frame and hand it on at once; False once closed."""
        return self._deliver(text)

    def _deliver(self, text: str) -> bool:
        if self._close_code is not None:
            return False
        self.sent.append(text)
        if self._on_send is not None:
            self._on_send(text)
        if self.peer is not None:
            self.peer.feed(text)
        return True

    async def recv(self, max_wait: float | None, on_due: OnDue | None = None) -> str:
        """The next queued frame; see the module docstring for timeouts. On a fake clock,
        ``on_due`` is called each time the clock reaches the wait's end, as a timer would."""
        while True:
            if self._inbox:
                item = self._inbox.popleft()
                if isinstance(item, _Close):
                    self._close_code = item.code
                    self._close_reason = item.reason
                    raise ConnectionClosed(
                        f"connection closed {item.code} {item.reason}".rstrip(),
                        code=item.code,
                        reason=item.reason,
                    )
                return item
            if self._close_code is not None:
                raise ConnectionClosed(
                    "connection already closed", code=self._close_code, reason=self._close_reason
                )
            if self._clock is not None:
                if max_wait is None:
                    raise RuntimeError("recv(timeout=None) on a fake clock would wait forever")
                self._clock.advance(max_wait)
                more = None if on_due is None or not self.paced else on_due()
                if more is None:
                    raise TimeoutError
                max_wait = more
                await asyncio.sleep(0)  # a timer's callback runs in its own turn of the loop
                continue
            self._arrived.clear()
            async with asyncio.timeout(max_wait):
                await self._arrived.wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close this end and tell the peer (idempotent)."""
        if self._close_code is not None:
            return
        self.closed_by_us = True
        self._close_code = code
        self._close_reason = reason
        if self.peer is not None:
            self.peer.feed_close(code, reason)


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected transports (client, server) on the running loop, in real time."""
    client = MemoryTransport()
    server = MemoryTransport()
    client.peer = server
    server.peer = client
    return client, server
