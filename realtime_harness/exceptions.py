"""Exceptions raised by realtime-harness.

Runs *return* results (failures and violations are values); exceptions are for what stops a run
or a command. The tree::

    HarnessError                    root of everything raised here
    ├── UsageError                  a local mistake: bad option, file, URL, sample, fault spec…
    │   ├── AudioError              an audio file that cannot be used as given
    │   └── ConfigError             missing key, malformed URL, contradictory target options
    └── RemoteError                 something the other side (or the network) did
        ├── ConnectError            DNS, TCP, TLS, or refused connection
        ├── HandshakeRejected       HTTP status other than 101 on upgrade (carries status, headers)
        ├── ConnectionClosed        the socket closed when we did not expect it (code, reason)
        └── PhaseTimeout            a wait for an event exceeded its deadline

Every ``RemoteError`` carries whatever ids were known when it happened, so that a log line made
from it is enough for a support ticket. Messages never contain secrets: callers pass URLs through
:func:`realtime_harness.redact.redact_url` before building one.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AudioError",
    "ConfigError",
    "ConnectError",
    "ConnectionClosed",
    "HandshakeRejected",
    "HarnessError",
    "PhaseTimeout",
    "RemoteError",
    "UsageError",
]


class HarnessError(Exception):
    """Root of every exception raised by realtime-harness."""


class UsageError(HarnessError):
    """A local mistake the user can fix: the message names the problem and the fix."""


class AudioError(UsageError):
    """An audio input that cannot be converted (missing, not audio, empty, too short, …)."""


class ConfigError(UsageError):
    """Target or credential configuration that cannot work (no key, malformed URL, …)."""


class RemoteError(HarnessError):
    """Something the server or the network did. Carries the ids known at the time."""

    def __init__(
        self,
        message: str,
        *,
        session_id: str | None = None,
        response_id: str | None = None,
        event_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.response_id = response_id
        self.event_id = event_id


class ConnectError(RemoteError):
    """The connection could not be opened (DNS, TCP, TLS, refused)."""


class HandshakeRejected(RemoteError):
    """The server answered the WebSocket upgrade with an HTTP status other than 101."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body


class ConnectionClosed(RemoteError):
    """The socket closed before the session was done."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        reason: str = "",
        session_id: str | None = None,
        response_id: str | None = None,
        event_id: str | None = None,
    ) -> None:
        super().__init__(message, session_id=session_id, response_id=response_id, event_id=event_id)
        self.code = code
        self.reason = reason


class PhaseTimeout(RemoteError):
    """Waiting for a server event took longer than the phase allows."""

    def __init__(
        self,
        message: str,
        *,
        phase: str,
        seconds: float,
        session_id: str | None = None,
        response_id: str | None = None,
    ) -> None:
        super().__init__(message, session_id=session_id, response_id=response_id)
        self.phase = phase
        self.seconds = seconds
