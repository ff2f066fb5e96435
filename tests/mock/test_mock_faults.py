"""Faults: spec parsing, the plan's counters, and each fault seen by a client as the ledger says."""

from __future__ import annotations

import asyncio
import contextlib
import random

import orjson
import pytest
from mock_testkit import (
    FAST,
    SHORT,
    Client,
    appends,
    check_openai,
    manual_update,
    open_client,
    silence,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_harness.exceptions import UsageError
from realtime_harness.mock import MockServer
from realtime_harness.mock.behaviour import Latency
from realtime_harness.mock.faults import FaultKind, FaultPhase, FaultPlan, parse_fault_spec
from realtime_harness.mock.voices import tone_voice
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.validator import validate_events

#: One second of tone: ten audio deltas, room for faults after a few of them.
LONGER = (tone_voice(1.0, "one two three four five six seven eight nine ten"),)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("server_error", {"kind": FaultKind.SERVER_ERROR, "after_deltas": 2, "rate": 1.0}),
        (
            "server_error:rate=0.1,after_deltas=3",
            {"kind": FaultKind.SERVER_ERROR, "rate": 0.1, "after_deltas": 3},
        ),
        ("drop:count=1,skip=2", {"kind": FaultKind.DROP, "count": 1, "skip": 2}),
        ("close:code=4001,phase=update", {"code": 4001, "phase": FaultPhase.UPDATE}),
        ("expire:delay=0.5", {"phase": FaultPhase.SESSION, "delay": 0.5}),
        ("handshake_429:retry_after=7", {"phase": FaultPhase.HANDSHAKE, "retry_after": 7.0}),
        (" Error_Event : phase = commit ", {"kind": FaultKind.ERROR_EVENT}),
    ],
)
def test_fault_specs_parse_into_their_fields(spec: str, expected: dict[str, object]) -> None:
    """Readable specs parse into kind, phase and parameters, and round-trip through .spec."""
    fault = parse_fault_spec(spec)
    for name, value in expected.items():
        assert getattr(fault, name) == value
    assert parse_fault_spec(fault.spec) == fault


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("explode", "unknown kind 'explode'"),
        ("drop:rate=1.5", "rate must be between 0 and 1"),
        ("drop:rate=abc", "rate must be a number"),
        ("drop:count=-1", "must not be negative"),
        ("drop:count=1.5", "count must be an integer"),
        ("drop:bogus=1", "unknown key 'bogus'"),
        ("drop:count", "'count' is not key=value"),
        ("drop:count=1,count=2", "'count' given twice"),
        ("drop:phase=later", "unknown phase 'later'"),
        ("server_error:phase=update", "only happens in phase=response"),
        ("slow_handshake:phase=session", "happens at the handshake"),
        ("drop:phase=handshake", "cannot happen at the handshake"),
        ("close:code=1006", "sendable close code"),
    ],
)
def test_bad_fault_specs_are_usage_errors_that_say_what_is_wrong(spec: str, problem: str) -> None:
    """A bad spec raises UsageError naming the problem and showing the format."""
    with pytest.raises(UsageError) as caught:
        parse_fault_spec(spec)
    assert problem in str(caught.value)
    assert "KIND[:key=value" in str(caught.value)


def test_plan_counts_skips_and_throws_seeded_coins() -> None:
    """count bounds the total, skip lets opportunities pass, rate follows the seeded rng."""
    plan = FaultPlan(["drop:count=2,skip=1"])
    rng = random.Random(0)
    fired = [bool(plan.take(FaultPhase.RESPONSE, rng)) for _ in range(5)]
    assert fired == [False, True, True, False, False]
    assert plan.take(FaultPhase.SESSION, rng) == []

    def coins(seed: int) -> list[bool]:
        p = FaultPlan(["error_event:rate=0.5"])
        r = random.Random(seed)
        return [bool(p.take(FaultPhase.RESPONSE, r)) for _ in range(20)]

    assert coins(3) == coins(3)
    assert 3 < sum(coins(3)) < 17
    assert plan.fired() == {"drop:phase=response,count=2,skip=1,after_deltas=2": 2}


async def turn(client: Client, dialect: Dialect = Dialect.GA) -> None:
    """Disable VAD, append 300 ms, commit and ask for a response (no waiting for it)."""
    await client.until("session.created")
    await client.send(manual_update(dialect))
    await client.until("session.updated")
    await client.send(*appends(silence(300)), {"type": "input_audio_buffer.commit"})
    await client.send({"type": "response.create"})


def mock(*faults: str, dialect: Dialect = Dialect.GA, **kw: object) -> MockServer:
    return MockServer(dialect, faults, latency=FAST, voices=LONGER, **kw)  # type: ignore[arg-type]


def deltas(events: list[dict[str, object]]) -> int:
    return sum(1 for e in events if str(e["type"]).endswith(".delta"))


@pytest.mark.parametrize("dialect", list(Dialect), ids=lambda d: d.value)
@pytest.mark.parametrize(
    ("kind", "error_type", "code"),
    [("server_error", "server_error", None), ("rate_limit", "tokens", "rate_limit_exceeded")],
)
@pytest.mark.asyncio
async def test_failed_response_done_after_k_deltas_matches_the_ledger(
    dialect: Dialect, kind: str, error_type: str, code: str | None
) -> None:
    """A failed response.done arrives after k deltas; the client's failure has the ledger's ids."""
    async with (
        mock(f"{kind}:after_deltas=3", dialect=dialect) as server,
        open_client(server.url) as ws,
    ):
        client = Client(ws)
        await turn(client, dialect)
        await client.until("response.done")
    [record] = server.ledger
    check_openai(client.events, dialect)  # a failed response is still well-formed
    report = validate_events(client.events, dialect)
    assert report.violations == []
    [failure] = report.failures
    assert failure.kind == "response_failed"
    assert (failure.session_id, failure.response_id, failure.event_id) == (
        record.session_id,
        record.response_id,
        record.event_id,
    )
    assert failure.error is not None
    assert (failure.error.type, failure.error.code) == (error_type, code)
    if kind == "server_error":
        assert f"session ID {record.session_id}" in str(failure.error.message)
    assert deltas(client.events) == 3
    done = client.events[-1]["response"]
    assert done["output"][0]["status"] == "incomplete"  # type: ignore[index]


@pytest.mark.asyncio
async def test_error_event_is_seen_with_the_ledgers_event_id_and_the_session_goes_on() -> None:
    """An injected server_error event reaches the client; the response still completes."""
    async with mock("error_event:after_deltas=2") as server, open_client(server.url) as ws:
        client = Client(ws)
        await turn(client)
        await client.until("response.done")
    [record] = server.ledger
    check_openai(client.events, Dialect.GA)
    errors = [e for e in client.events if e["type"] == "error"]
    assert [e["event_id"] for e in errors] == [record.event_id]
    assert errors[0]["error"]["type"] == "server_error"  # type: ignore[index]
    assert client.events[-1]["response"]["status"] == "completed"  # type: ignore[index]


@pytest.mark.parametrize(
    ("spec", "code"), [("drop", 1006), ("close", 1011), ("close:code=4001", 4001)]
)
@pytest.mark.asyncio
async def test_drop_and_close_end_the_connection_after_the_ledgers_last_event(
    spec: str, code: int
) -> None:
    """A drop shows as 1006, a close as its code, right after the event the ledger names."""
    joined = f"{spec},after_deltas=4" if ":" in spec else f"{spec}:after_deltas=4"
    async with mock(joined) as server, open_client(server.url) as ws:
        client = Client(ws)
        await turn(client)
        with pytest.raises(ConnectionClosed):
            await client.until("response.done")
    [record] = server.ledger
    assert ws.close_code == code
    assert client.events[-1]["event_id"] == record.event_id
    assert record.session_id == client.events[0]["session"]["id"]  # type: ignore[index]
    assert deltas(client.events) == 4


@pytest.mark.asyncio
async def test_stall_stops_sending_but_keeps_the_socket_open() -> None:
    """After a stall nothing more arrives and the connection stays open."""
    async with mock("stall:after_deltas=2") as server, open_client(server.url) as ws:
        client = Client(ws)
        await turn(client)
        with pytest.raises(TimeoutError):
            await client.until("response.done", wait=0.3)
        assert ws.state.name == "OPEN"
        [record] = server.ledger
        assert client.events[-1]["event_id"] == record.event_id


@pytest.mark.asyncio
async def test_malformed_frame_is_not_json_and_carries_the_ledgers_event_id() -> None:
    """The malformed fault sends one frame that does not parse; the session continues."""
    async with mock("malformed:after_deltas=1") as server, open_client(server.url) as ws:
        client = Client(ws)
        await turn(client)
        raw: list[str] = []
        while True:
            message = await asyncio.wait_for(ws.recv(), 3)
            try:
                event = orjson.loads(message)
            except orjson.JSONDecodeError:
                raw.append(str(message))
                continue
            if event["type"] == "response.done":
                break
    [record] = server.ledger
    assert len(raw) == 1
    assert str(record.event_id) in raw[0]


@pytest.mark.parametrize(
    ("spec", "rule"),
    [("duplicate:after_deltas=2", "event-id-unique"), ("reorder:after_deltas=2", None)],
)
@pytest.mark.asyncio
async def test_duplicate_and_reorder_break_the_grammar_where_the_ledger_says(
    spec: str, rule: str | None
) -> None:
    """A duplicated event repeats the ledger's event_id; a reordered done precedes deltas."""
    async with mock(spec) as server, open_client(server.url) as ws:
        client = Client(ws)
        await turn(client)
        await client.until("response.done")
    [record] = server.ledger
    ids = [e["event_id"] for e in client.events]
    report = validate_events(client.events, Dialect.GA)
    assert report.violations, "the validator must notice the injected fault"
    if rule is not None:
        assert ids.count(record.event_id) == 2
        flagged = [v for v in report.violations if v.rule == rule]
        assert [v.event_id for v in flagged] == [record.event_id]
    else:
        moved = ids.index(record.event_id)
        assert client.events[moved]["type"] == "response.output_audio.done"
        assert any(str(e["type"]).endswith("audio.delta") for e in client.events[moved:])


@pytest.mark.asyncio
async def test_early_expiry_sends_session_expired_then_closes() -> None:
    """expire:delay=S ends the session after S seconds with session_expired and a close."""
    async with mock("expire:delay=0.2") as server, open_client(server.url) as ws:
        client = Client(ws)
        await client.until("session.created")
        error = (await client.until("error"))[-1]
        with pytest.raises(ConnectionClosed):
            await client.recv()
    assert error["error"]["code"] == "session_expired"  # type: ignore[index]
    [record] = server.ledger
    assert record.event_id == error["event_id"]
    assert ws.close_code == 1001


@pytest.mark.parametrize(
    ("phase", "after"), [("update", "session.updated"), ("commit", "conversation.item.done")]
)
@pytest.mark.asyncio
async def test_phase_targets_where_a_fault_fires(phase: str, after: str) -> None:
    """phase=update fires after session.updated, phase=commit after the committed item."""
    async with mock(f"close:phase={phase}") as server, open_client(server.url) as ws:
        client = Client(ws)
        with contextlib.suppress(ConnectionClosed):  # the close may come while we still send
            await turn(client)
        with pytest.raises(ConnectionClosed):
            await client.until("response.done")
    assert client.events[-1]["type"] == after
    assert server.ledger[0].event_id == client.events[-1]["event_id"]


@pytest.mark.asyncio
async def test_count_limits_a_fault_to_the_first_sessions() -> None:
    """count=1 faults only the first session; the second is clean."""
    async with mock("server_error:count=1") as server:
        statuses = []
        for _ in range(2):
            async with open_client(server.url) as ws:
                client = Client(ws)
                await turn(client)
                statuses.append((await client.until("response.done"))[-1]["response"]["status"])
    assert statuses == ["failed", "completed"]
    assert len(server.ledger) == 1


@pytest.mark.asyncio
async def test_rate_faults_are_reproducible_from_the_seed() -> None:
    """The same seed faults the same sessions, and the ledger lists exactly those."""

    async def run(seed: int) -> tuple[list[str], list[str]]:
        async with mock("error_event:rate=0.5,phase=session", seed=seed) as server:
            faulted = []
            for _ in range(6):
                async with open_client(server.url) as ws:
                    client = Client(ws)
                    await client.until("session.created")
                    await client.send({"type": "input_audio_buffer.clear"})
                    got = await client.until("input_audio_buffer.cleared")
                    if any(e["type"] == "error" for e in got):
                        faulted.append(str(client.events[0]["session"]["id"]))  # type: ignore[index]
            return faulted, [str(r.session_id) for r in server.ledger]

    first, ledger = await run(5)
    again, _ = await run(5)
    assert first == ledger == again
    assert 0 < len(first) < 6


@pytest.mark.asyncio
async def test_handshake_faults_answer_http_and_are_in_the_ledger(tmp_path) -> None:
    """handshake_429 (with retry-after) and handshake_503 reject the upgrade; the ledger says so."""
    path = tmp_path / "ledger.jsonl"
    async with mock(
        "handshake_429:count=1,retry_after=3", "handshake_503:count=1", ledger_path=path
    ) as server:
        with pytest.raises(InvalidStatus) as first:
            async with open_client(server.url):
                pass
        assert first.value.response.status_code == 429
        assert first.value.response.headers["retry-after"] == "3"
        with pytest.raises(InvalidStatus) as second:
            async with open_client(server.url):
                pass
        assert second.value.response.status_code == 503
        async with open_client(server.url) as ws:
            assert (await Client(ws).recv())["type"] == "session.created"
    kinds = [r.kind for r in server.ledger]
    assert kinds == ["handshake_429", "handshake_503"]
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["kind"] for line in lines] == kinds
    assert set(lines[0]) == {
        "kind",
        "session_id",
        "response_id",
        "event_id",
        "item_id",
        "t",
        "detail",
    }


@pytest.mark.asyncio
async def test_slow_handshake_delays_the_upgrade() -> None:
    """slow_handshake:delay=S holds the upgrade for S seconds."""
    async with mock("slow_handshake:delay=0.3,count=1") as server:
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with open_client(server.url) as ws:
            await Client(ws).recv()
        assert loop.time() - start >= 0.29
    assert [r.kind for r in server.ledger] == ["slow_handshake"]


@pytest.mark.asyncio
async def test_faults_compose_in_one_response() -> None:
    """Several faults in one response all fire and are all in the ledger, in order."""
    faults = (
        "error_event:after_deltas=1",
        "duplicate:after_deltas=2",
        "server_error:after_deltas=4",
    )
    latency = Latency.fast()
    async with (
        MockServer(faults=faults, latency=latency, voices=LONGER) as server,
        open_client(server.url) as ws,
    ):
        client = Client(ws)
        await turn(client)
        await client.until("response.done")
    assert [r.kind for r in server.ledger] == ["error_event", "duplicate", "server_error"]
    ids = [e["event_id"] for e in client.events]
    for record in server.ledger:
        assert record.event_id in ids
    assert client.events[-1]["response"]["status"] == "failed"  # type: ignore[index]
    assert SHORT  # the shared short voice stays importable for other modules
