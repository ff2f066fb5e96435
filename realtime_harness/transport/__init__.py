"""The transport seam: send text, receive text with a timeout, close, and what the handshake said.

The client drives a session through :class:`Transport` only, so most client tests need no
socket. Implementations:

* :func:`~realtime_harness.transport.websocket.open_websocket` — a real WebSocket
  (``websockets.asyncio.client``), compression off by default, 16 MiB inbound frames;
* :class:`~realtime_harness.transport.memory.MemoryTransport` and
  :func:`~realtime_harness.transport.memory.memory_pair` — in-memory, for unit tests, with an
  optional fake clock so timeouts happen without sleeping.
"""

from __future__ import annotations

from realtime_harness.transport.base import HandshakeInfo, Transport
from realtime_harness.transport.memory import FakeClock, MemoryTransport, memory_pair
from realtime_harness.transport.websocket import (
    DEFAULT_MAX_SIZE,
    WebSocketOptions,
    WebSocketTransport,
    open_websocket,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FakeClock",
    "HandshakeInfo",
    "MemoryTransport",
    "Transport",
    "WebSocketOptions",
    "WebSocketTransport",
    "memory_pair",
    "open_websocket",
]
