"""Replay: a recorded trace is served verbatim, released by the client's own actions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from mock_testkit import FAST, Client, open_client

from realtime_harness.exceptions import UsageError
from realtime_harness.mock import MockServer
from realtime_harness.mock.replay import load_trace

TRACES = (Path(__file__).resolve().parents[2] / "../shared/traces/real").resolve()
REAL = sorted(TRACES.glob("*.jsonl")) if TRACES.is_dir() else []


def read_events(path: Path) -> list[dict[str, object]]:
    """The JSON objects of a JSONL file."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def client_event(gate: str) -> dict[str, object]:
    """The smallest client event of a gate's type."""
    if gate == "session.update":
        return {"type": gate, "session": {"type": "realtime"}}
    if gate == "input_audio_buffer.append":
        return {"type": gate, "audio": "AAAA"}
    if gate == "conversation.item.create":
        return {"type": gate, "item": {"type": "message", "role": "user", "content": []}}
    return {"type": gate}


@pytest.mark.skipif(not REAL, reason="shared real traces are not available")
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
@pytest.mark.asyncio
async def test_real_traces_replay_verbatim_as_the_client_acts(path: Path) -> None:
    """Each segment of a real trace arrives, byte-for-byte, after the client event it answers."""
    trace = load_trace(path)
    expected = read_events(path)
    async with MockServer(replay=path, latency=FAST) as mock, open_client(mock.url) as ws:
        client = Client(ws)
        for segment in trace.segments:
            if segment.gate is not None:
                await client.send(client_event(segment.gate))
            for _ in segment.events:
                await client.recv()
        with pytest.raises(TimeoutError):  # nothing more than the trace
            await client.recv(wait=0.05)
    assert client.events == expected
    assert mock.sessions[0].session_id == (trace.session_id or mock.sessions[0].session_id)


@pytest.mark.asyncio
async def test_replay_waits_for_the_gate_before_releasing(tmp_path: Path) -> None:
    """Nothing after session.created is sent until the client sends session.update."""
    path = tmp_path / "trace.jsonl"
    events = [
        {"type": "session.created", "event_id": "event_1", "session": {"id": "sess_Rec"}},
        {"type": "session.updated", "event_id": "event_2", "session": {"id": "sess_Rec"}},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    async with MockServer(replay=path, latency=FAST) as mock, open_client(mock.url) as ws:
        client = Client(ws)
        assert (await client.recv())["event_id"] == "event_1"
        with pytest.raises(TimeoutError):
            await client.recv(wait=0.1)
        await client.send({"type": "response.create"})  # not the gate: still nothing
        with pytest.raises(TimeoutError):
            await client.recv(wait=0.1)
        await client.send({"type": "session.update", "session": {}})
        assert (await client.recv())["event_id"] == "event_2"
    assert mock.sessions[0].session_id == "sess_Rec"


@pytest.mark.asyncio
async def test_recordings_keep_their_timing_scaled_by_speed(tmp_path: Path) -> None:
    """A recording's server frames keep their spacing at speed 1; client frames are skipped."""
    from realtime_harness.mock.behaviour import Latency

    path = tmp_path / "rec.jsonl"
    lines = [
        {"realtime_harness_recording": 1, "started_at": "x", "url": "u", "dialect": "ga"},
        {"t": 0.0, "dir": "server", "event": {"type": "session.created", "event_id": "e1"}},
        {"t": 0.1, "dir": "client", "event": {"type": "response.create"}},
        {"t": 0.2, "dir": "server", "event": {"type": "response.created", "event_id": "e2"}},
        {"t": 0.5, "dir": "server", "event": {"type": "response.done", "event_id": "e3"}},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    latency = Latency(speed=1.0)
    async with MockServer(replay=path, latency=latency) as mock, open_client(mock.url) as ws:
        client = Client(ws)
        await client.recv()
        await client.send({"type": "response.create"})
        loop = asyncio.get_running_loop()
        await client.recv()
        start = loop.time()
        await client.recv()
        assert 0.25 <= loop.time() - start <= 2.0  # 0.3 s recorded; slack for busy CI
    assert [e["event_id"] for e in client.events] == ["e1", "e2", "e3"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read replay file"),
        (b"not json\n", "is not JSON"),
        (b"{}\n", "no server events"),
    ],
)
def test_bad_replay_files_are_usage_errors(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    """A missing, non-JSON or eventless replay file is a UsageError that says so."""
    path = tmp_path / "trace.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=problem):
        load_trace(path)
