"""The embedded mock a probe talks to when no target is configured, and the target for any
running :class:`~realtime_harness.mock.MockServer`."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from realtime_harness.probe.options import MockOptions, ProbeOptions
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.target import AuthMode, Target, Variant

if TYPE_CHECKING:
    from realtime_harness.mock import MockServer

__all__ = ["MOCK_KEY", "embedded_mock", "mock_target"]

#: The credential the embedded mock gets: it wants one, any value will do, and it is not secret.
MOCK_KEY = "mock-key"


@contextlib.asynccontextmanager
async def embedded_mock(
    options: MockOptions | ProbeOptions,
    rng: random.Random | None = None,
    *,
    keep_received: bool = True,
) -> AsyncIterator[Target]:
    """Start the embedded mock on 127.0.0.1 (in this loop) and yield a target for it.

    ``rng`` seeds the mock (default: the :class:`ProbeOptions`' own, else a fresh one);
    ``keep_received`` False: the mock keeps no log of what clients sent (a soak's thousands of
    sessions, which nobody reads back).

    The mock streams ``options.mock_speed`` times faster than real time (0: all at once), so
    the default probe finishes in about a second while still showing realistic phases.
    """
    from realtime_harness.mock import Latency, MockServer, parse_fault_spec

    faults = [parse_fault_spec(spec) for spec in options.mock_faults]
    speed = options.mock_speed
    latency = (
        Latency.fast() if speed <= 0 else Latency(response_s=0.05, first_delta_s=0.1, speed=speed)
    )
    # A short answer keeps the first command quick; the seed comes from the rng, so each run
    # gets its own session ids unless a test passes a seeded rng.
    async with MockServer(
        dialect=options.mock_dialect,
        faults=faults,
        latency=latency,
        seed=(rng or getattr(options, "rng", None) or random.Random()).randrange(2**32),
        reply_voice="weather",
        keep_received=keep_received,
    ) as server:
        yield mock_target(server)


def mock_target(server: MockServer) -> Target:
    """The target for a running :class:`~realtime_harness.mock.MockServer`: its OpenAI-style
    route, a placeholder Bearer key (the mock wants one; it is not a secret), its dialect."""
    dialect = server.dialect
    headers = {"Authorization": f"Bearer {MOCK_KEY}"}
    if dialect is Dialect.BETA:
        headers["OpenAI-Beta"] = "realtime=v1"
    return Target(
        url=f"{server.url}/v1/realtime?model=gpt-realtime",
        dialect=dialect,
        variant=Variant.CUSTOM,
        auth=AuthMode.BEARER,
        headers=headers,
        embedded=True,
    )
