"""The transport protocol every implementation follows, and the handshake record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HandshakeInfo", "OnDue", "PacedTransport", "Transport"]


class HandshakeInfo(BaseModel):
    """What the HTTP upgrade said: status and every response header (credentials masked).

    ``connect_ms`` is DNS + TCP; ``handshake_ms`` is TLS + the HTTP upgrade (None when the two
    could not be told apart, e.g. through a proxy). ``client_request_id`` is the id we sent.
    """

    model_config = ConfigDict(frozen=True)

    status: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    client_request_id: str | None = None
    connect_ms: float | None = None
    handshake_ms: float | None = None


@runtime_checkable
class Transport(Protocol):
    """A connected message channel carrying the Realtime API's JSON text frames.

    ``recv`` raises :class:`TimeoutError` when nothing arrives within ``max_wait`` seconds (the
    channel stays usable) and :class:`realtime_harness.exceptions.ConnectionClosed` once the
    peer has closed; after that :attr:`close_code` and :attr:`close_reason` say how.
    """

    handshake: HandshakeInfo

    async def send(self, text: str) -> None:
        """Send one text frame."""
        ...

    async def recv(self, max_wait: float | None) -> str:
        """The next text frame; ``max_wait`` None waits forever, 0 only takes what is queued."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the channel (idempotent)."""
        ...

    @property
    def close_code(self) -> int | None:
        """The close code received (or 1006 for an abrupt drop); None while open."""
        ...

    @property
    def close_reason(self) -> str:
        """The close reason received ('' when none)."""
        ...


#: Called when a paced wait's time is up, while the caller still waits (see
#: :class:`PacedTransport`): the seconds to go on waiting, or None to end the wait.
OnDue = Callable[[], "float | None"]


@runtime_checkable
class PacedTransport(Transport, Protocol):
    """A transport on which a waiting session can also send from the loop's timer.

    A paced session wakes every 100 ms to send one audio chunk. Ending its wait, resuming its
    task and waiting again costs more than the chunk's own work; a transport that takes
    ``on_due`` lets the waiting session send from the timer instead, and resumes the task only
    for what needs it (a frame received, the end of the script, a send that must wait).
    """

    def send_now(self, text: str) -> bool:
        """Send one text frame without waiting; False (nothing sent) when it would have to wait
        or the connection is closing (then ``send`` does it, or reports the close)."""
        ...

    async def recv(self, max_wait: float | None, on_due: OnDue | None = None) -> str:
        """As :meth:`Transport.recv`; when ``max_wait`` passes with nothing received,
        ``on_due()`` is called (from a timer, while this call still waits): a number goes on
        waiting that many more seconds, None ends the wait with :class:`TimeoutError` (a frame
        that arrived meanwhile stays queued). A transport may also end the wait with
        :class:`TimeoutError` without calling it."""
        ...
