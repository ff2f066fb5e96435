"""Helpers for the mock server's tests: a tiny client, canned events, and the two type checks."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from realtime_harness.mock.behaviour import (
    BehaviourConfig,
    Latency,
    SendEvent,
    SessionBehaviour,
)
from realtime_harness.mock.faults import FaultPlan
from realtime_harness.mock.voices import Voice, tone_voice
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.validator import Report, validate_events

#: A short reply keeps every test fast: 0.35 s of tone, five words.
SHORT = (tone_voice(0.35, "Hi there, good friend!"),)
FAST = Latency.fast()
KEY = "sk-test-key-123456"
TIMEOUT = 3.0


def manual_update(dialect: Dialect, **extra: Any) -> dict[str, Any]:
    """A session.update that turns server VAD off (the harness's manual-commit flow)."""
    if dialect is Dialect.GA:
        session: dict[str, Any] = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
    else:
        session = {"turn_detection": None}
    session.update(extra)
    return {"type": "session.update", "event_id": "evt_update", "session": session}


def appends(pcm: bytes, chunk_ms: int = 100) -> list[dict[str, Any]]:
    """``input_audio_buffer.append`` events carrying ``pcm`` in chunks."""
    size = 48 * chunk_ms
    return [
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[i : i + size]).decode()}
        for i in range(0, len(pcm), size)
    ]


def silence(ms: int) -> bytes:
    """PCM16 silence."""
    return b"\x00\x00" * 24 * ms


def behaviour(
    dialect: Dialect = Dialect.GA,
    *,
    faults: Iterable[str] = (),
    voices: tuple[Voice, ...] = SHORT,
    latency: Latency = FAST,
    seed: int = 0,
    **config: Any,
) -> SessionBehaviour:
    """A pure session behaviour started at t=0."""
    return SessionBehaviour(
        BehaviourConfig(dialect=dialect, latency=latency, voices=voices, **config),
        rng=random.Random(seed),
        now=0.0,
        wall_now=1_800_000_000.0,
        faults=FaultPlan(faults),
    )


def events_of(b: SessionBehaviour, now: float) -> list[dict[str, Any]]:
    """The server events due at ``now``."""
    return [a.event for a in b.poll(now) if isinstance(a, SendEvent)]


def run_all(b: SessionBehaviour, client_events: Iterable[Mapping[str, Any]], t: float = 1.0):
    """Feed client events at time ``t`` and return every server event up to far in the future."""
    out = events_of(b, 0.0)
    for event in client_events:
        b.receive(event, t)
    out += events_of(b, t + 3000.0)
    return out


def types(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The event types, in order."""
    return [str(e["type"]) for e in events]


def check_events(events: list[dict[str, Any]], dialect: Dialect) -> Report:
    """Every event validates against the official openai types and the project's validator."""
    check_openai(events, dialect)
    return validate_events(events, dialect)


def check_openai(events: Iterable[Mapping[str, Any]], dialect: Dialect) -> None:
    """Validate each event strictly against openai's server-event union of the dialect."""
    openai_types = pytest.importorskip("openai.types.realtime")
    from pydantic import TypeAdapter

    if dialect is Dialect.GA:
        adapter: Any = TypeAdapter(openai_types.RealtimeServerEvent)
    else:
        beta = pytest.importorskip("openai.types.beta.realtime")
        adapter = TypeAdapter(beta.RealtimeServerEvent)
    for event in events:
        adapter.validate_python(event, strict=True)


class Client:
    """A minimal Realtime client over websockets: send events, collect server events."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def send(self, *events: Mapping[str, Any]) -> None:
        for event in events:
            await self.ws.send(orjson.dumps(event).decode())

    async def recv(self, wait: float = TIMEOUT) -> dict[str, Any]:
        message = await asyncio.wait_for(self.ws.recv(), wait)
        event = orjson.loads(message)
        self.events.append(event)
        return event  # type: ignore[no-any-return]

    async def until(self, etype: str, wait: float = TIMEOUT) -> list[dict[str, Any]]:
        """Receive until an event of ``etype`` (included); returns the events received."""
        got: list[dict[str, Any]] = []
        while True:
            event = await self.recv(wait)
            got.append(event)
            if event["type"] == etype:
                return got


def open_client(
    url: str, path: str = "/v1/realtime?model=gpt-realtime", headers: Any = None, **kw: Any
):
    """``async with open_client(...) as ws``: a websockets connection with a test key."""
    return connect(
        url + path,
        additional_headers={"Authorization": f"Bearer {KEY}"} if headers is None else headers,
        max_size=None,
        **kw,
    )
