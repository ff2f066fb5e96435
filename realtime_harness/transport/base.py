"""The transport protocol every implementation follows, and the handshake record."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HandshakeInfo", "Transport"]


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
