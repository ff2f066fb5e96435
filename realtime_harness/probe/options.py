"""What a probe is asked to do, in four parts: where (target and connection), what (the session
plan), what to keep (outputs) and how hard to try (retry policy); plus the embedded mock's knobs.

:class:`ProbeOptions` is the flat form every existing caller uses (the CLI, the pytest plugin,
README's ``ProbeOptions(...)``); it accepts the old keyword arguments and hands out the parts
(:attr:`ProbeOptions.connection`, :attr:`~ProbeOptions.session`, :attr:`~ProbeOptions.outputs`,
:attr:`~ProbeOptions.retry`, :attr:`~ProbeOptions.mock`), which is what the code below it takes.
:meth:`ProbeOptions.compose` builds one from the parts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.script import (
    DEFAULT_INSTRUCTIONS,
    DEFAULT_RESPONSE_MAX_S,
    DEFAULT_SESSION_MAX_S,
)
from realtime_harness.target import Target
from realtime_harness.transport.base import Transport
from realtime_harness.transport.websocket import DEFAULT_MAX_SIZE

__all__ = [
    "ConnectionOptions",
    "MockOptions",
    "OutputOptions",
    "ProbeOptions",
    "RetryPolicy",
    "SessionOptions",
    "TransportFactory",
]

TransportFactory = Callable[[Target, str], Awaitable[Transport]]
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ConnectionOptions:
    """Where and how to connect. ``connect``, ``clock`` and ``rng`` are injected by tests."""

    target: Target | None = None
    compression: bool = False
    max_size: int | None = DEFAULT_MAX_SIZE
    ws_library: str = "websockets"
    connect: TransportFactory | None = None
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class SessionOptions:
    """What the session does: turns, audio or text, turn detection, pacing and time limits."""

    audio: str | None = "greeting"
    text: str | None = None
    turns: int = 1
    turn_detection: str | None = None
    voice: str = "alloy"
    instructions: str | None = DEFAULT_INSTRUCTIONS
    timeout: float = 10.0
    drain: float = 0.25
    speed: float | None = None
    max_response_time: float = DEFAULT_RESPONSE_MAX_S
    max_session_time: float = DEFAULT_SESSION_MAX_S


@dataclass(frozen=True)
class OutputOptions:
    """What to write while the session runs (nothing unless asked)."""

    record: Path | None = None
    record_audio: bool = False
    save_audio: Path | None = None
    failures_log: Path | None = None
    on_progress: ProgressCallback | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts of transient failures (exponential backoff with jitter, ``retry-after``
    honoured up to ``max_retry_after``) and the escalation ladder."""

    retries: int = 0
    escalate: bool = False
    retry_wait_initial: float = 0.5
    retry_wait_max: float = 8.0
    retry_jitter: float = 0.5
    max_retry_after: float = 60.0


@dataclass(frozen=True)
class MockOptions:
    """The embedded mock, used when no target is configured."""

    mock_dialect: Dialect = Dialect.GA
    mock_faults: tuple[str, ...] = ()
    mock_speed: float = 4.0


_P = TypeVar("_P", ConnectionOptions, SessionOptions, OutputOptions, RetryPolicy, MockOptions)


@dataclass(frozen=True)
class ProbeOptions:
    """What to probe and how. ``target`` None probes the embedded mock on 127.0.0.1.

    ``speed`` is the audio pacing: 1.0 real time, 2.0 twice as fast, 0 as fast as possible
    (None: real time for a deployment, as fast as possible for the embedded mock).
    ``max_response_time`` and ``max_session_time`` are wall-clock caps in seconds (reported as
    a timeout with the ids). ``connect``, ``clock`` and ``rng`` are for tests: a transport
    factory, a monotonic clock and the random source of ids.
    """

    target: Target | None = None
    audio: str | None = "greeting"
    text: str | None = None
    turns: int = 1
    turn_detection: str | None = None
    voice: str = "alloy"
    instructions: str | None = DEFAULT_INSTRUCTIONS
    timeout: float = 10.0
    drain: float = 0.25
    speed: float | None = None
    retries: int = 0
    escalate: bool = False
    record: Path | None = None
    record_audio: bool = False
    save_audio: Path | None = None
    failures_log: Path | None = None
    compression: bool = False
    max_size: int | None = DEFAULT_MAX_SIZE
    #: The WebSocket library: "websockets", "picows" or "auto" (see ``WebSocketOptions``).
    ws_library: str = "websockets"
    mock_dialect: Dialect = Dialect.GA
    mock_faults: tuple[str, ...] = ()
    mock_speed: float = 4.0
    retry_wait_initial: float = 0.5
    retry_wait_max: float = 8.0
    retry_jitter: float = 0.5
    max_retry_after: float = 60.0
    connect: TransportFactory | None = None
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    on_progress: ProgressCallback | None = None
    max_response_time: float = DEFAULT_RESPONSE_MAX_S
    max_session_time: float = DEFAULT_SESSION_MAX_S

    def _part(self, cls: type[_P]) -> _P:
        return cls(**{f.name: getattr(self, f.name) for f in fields(cls)})

    @property
    def connection(self) -> ConnectionOptions:
        """Target and connection settings."""
        return self._part(ConnectionOptions)

    @property
    def session(self) -> SessionOptions:
        """The session plan's settings."""
        return self._part(SessionOptions)

    @property
    def outputs(self) -> OutputOptions:
        """What to write."""
        return self._part(OutputOptions)

    @property
    def retry(self) -> RetryPolicy:
        """Attempts and escalation."""
        return self._part(RetryPolicy)

    @property
    def mock(self) -> MockOptions:
        """The embedded mock's settings."""
        return self._part(MockOptions)

    @classmethod
    def compose(
        cls,
        connection: ConnectionOptions | None = None,
        session: SessionOptions | None = None,
        outputs: OutputOptions | None = None,
        retry: RetryPolicy | None = None,
        mock: MockOptions | None = None,
    ) -> ProbeOptions:
        """The flat options from their parts (missing parts take their defaults)."""
        values: dict[str, Any] = {}
        for part in (connection, session, outputs, retry, mock):
            if part is not None:
                values.update({f.name: getattr(part, f.name) for f in fields(part)})
        return cls(**values)
