"""The mock's send path: a fired timer's deadline counts as reached, frames are the library's
bytes, the collector's passes stay small, and the mock serves on uvloop's loop too.

No real time in the timer tests: the link's loop is replaced by a scripted clock.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import math
from collections.abc import Callable
from typing import Any

import pytest
from mock_testkit import FAST, SHORT, Client, appends, manual_update, open_client, silence
from websockets.frames import Frame, Opcode

from realtime_harness.mock import Latency, MockServer
from realtime_harness.mock.connection import BatchingConnection, text_frame_header
from realtime_harness.mock.schedule import Action, SendEvent
from realtime_harness.mock.server import (
    YOUNG_COLLECTION_S,
    PacedCollector,
    SessionLog,
    _Link,
    tune_gc_for_serving,
)
from realtime_harness.protocol.dialects import Dialect


class _Clock:
    """A loop's ``time`` and ``call_at``, scripted: timers are recorded, never run."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.contexts: list[contextvars.Context | None] = []

    def time(self) -> float:
        return self.now

    def call_at(
        self,
        when: float,
        callback: Callable[[], None],
        *,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        self.timers.append((when, callback))
        self.contexts.append(context)
        return asyncio.TimerHandle(when, callback, (), asyncio.get_running_loop(), context)


class _Session:
    """One event due at ``due``: polled before it, nothing comes out."""

    session_id = "sess_test"
    dialect = Dialect.GA

    def __init__(self, due: float) -> None:
        self.due = due
        self.polled_at: list[float] = []

    def receive(self, event: Any, now: float, *, raw: str = "", audio_bytes: Any = None) -> None:
        raise AssertionError("not used")

    def poll(self, now: float) -> list[Action]:
        self.polled_at.append(now)
        if now < self.due:
            return []
        event = {"type": "response.output_audio.delta", "event_id": "event_1", "delta": ""}
        due, self.due = self.due, math.inf
        return [SendEvent(event, due)]

    def next_deadline(self) -> float | None:
        return None if self.due == math.inf else self.due

    @property
    def backlog(self) -> int:
        return 0


class _Wire(BatchingConnection):
    """A connection that takes frames without a socket."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def can_write_now(self) -> bool:
        return True

    def write_texts_now(self, frames: Any) -> None:
        self.written += frames


def _idle_link(
    session: _Session, now: float, wire: _Wire | None = None, lateness: list[float] | None = None
) -> tuple[_Link, _Clock]:
    """A link between reads (idle) over ``wire``, on a loop whose clock reads ``now``."""
    link = _Link(
        wire or _Wire(), session, SessionLog("sess_test", Dialect.GA, "/", 0.0), None, lateness
    )
    clock = _Clock(now)
    link.loop = clock  # type: ignore[assignment]
    link.idle = True
    return link, clock


@pytest.mark.asyncio
@pytest.mark.parametrize("early_ms", [0.0, 0.4, 0.99])
async def test_a_timer_that_fires_before_its_deadline_by_the_loop_clock_still_sends(
    early_ms: float,
) -> None:
    """uvloop fires timers up to 1 ms early (libuv counts whole milliseconds): the due events
    go out from that callback, instead of the link re-arming for the same deadline and spinning
    the loop until the clock catches up."""
    due = 100.0
    session = _Session(due)
    wire = _Wire()
    link, clock = _idle_link(session, due - early_ms / 1000, wire, [])
    link.arm()
    [(when, callback)] = clock.timers
    assert when == due
    callback()  # the loop runs the timer, its clock still short of the deadline
    assert len(wire.written) == 1
    assert session.polled_at == [due]
    assert clock.timers == [(due, callback)]  # not armed again
    assert link.lateness == [pytest.approx(-early_ms / 1000)]


@pytest.mark.asyncio
async def test_a_fired_timer_does_not_hold_the_clock_back() -> None:
    """Once the loop's clock has passed the deadline, polls use the clock."""
    session = _Session(100.0)
    link, clock = _idle_link(session, 100.5)
    link.arm()
    clock.timers[0][1]()
    assert link.now() == 100.5
    clock.now = 101.0
    assert link.now() == 101.0


@pytest.mark.asyncio
async def test_a_links_timers_share_one_callback_and_one_context() -> None:
    """A timer per wake-up is unavoidable; a bound method and a copied context per timer are
    not, and every object a waiting session holds is walked by the collector's young passes."""
    session = _Session(100.0)
    link, clock = _idle_link(session, 99.0)
    link.arm()
    clock.timers[0][1]()  # sent; nothing more is due
    session.due = 100.1
    link.arm()
    (_, first), (_, second) = clock.timers
    assert first is second
    assert clock.contexts[0] is not None
    assert clock.contexts[0] is clock.contexts[1]


@pytest.mark.asyncio
async def test_a_stopped_link_is_freed_without_the_collector() -> None:
    """The link's timer callback refers back to it: stop drops it, so a finished connection's
    link goes at once rather than at the next full collection."""
    gc.collect()
    gc.disable()
    try:
        before = sum(1 for o in gc.get_objects() if type(o) is _Link)
        link, clock = _idle_link(_Session(100.0), 99.0)
        link.arm()
        link.stop()
        clock.timers.clear()  # the scripted loop keeps its timers' callbacks; a loop drops them
        del link, clock
        assert sum(1 for o in gc.get_objects() if type(o) is _Link) == before
    finally:
        gc.enable()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_a_text_frame_is_framed_byte_for_byte_as_the_library_frames_it(size: int) -> None:
    """write_texts_now frames payloads itself: the same header the library writes for an
    unmasked, unfragmented text frame of every length class (7, 16 and 64 bits)."""
    payload = b"x" * size
    library = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame_header(size) + payload == library


def test_serving_keeps_the_collectors_passes_small() -> None:
    """The youngest generation is collected every few thousand new objects and the middle one
    soon after, so no pass walks tens of thousands of objects; full passes stay rare."""
    before = gc.get_threshold()
    try:
        tune_gc_for_serving()
        young, middle, full = gc.get_threshold()
        assert young * (middle + 1) <= 10_000
        assert full >= 1_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _Handle:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self.callback = None


class _Later:
    """A loop's ``call_later``, scripted: the collector's timer is recorded and run by hand."""

    def __init__(self) -> None:
        self.pending: list[_Handle] = []
        self.delays: list[float] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle(callback)
        self.delays.append(delay)
        self.pending.append(handle)
        return handle

    def fire(self, times: int = 1) -> None:
        for _ in range(times):
            callback = self.pending.pop(0).callback
            if callback is not None:
                callback()


def _collections(run: Callable[[], None]) -> list[int]:
    """The generations the collector passed over while ``run`` ran (automatic passes held off)."""
    seen: list[int] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    before = gc.get_threshold()
    gc.set_threshold(10**9, 10**9, before[2])
    gc.callbacks.append(callback)
    try:
        run()
    finally:
        gc.callbacks.remove(callback)
        gc.set_threshold(*before)
    return seen


def test_the_paced_collector_collects_the_young_generations_on_its_timer() -> None:
    """Every tick the youngest generation, every second tick the middle one too; the timer is
    re-armed each time and stopped by stop()."""
    loop = _Later()
    collector = PacedCollector()
    collector.start(loop)  # type: ignore[arg-type]
    assert _collections(lambda: loop.fire(4)) == [0, 1, 0, 1]
    assert loop.delays == [YOUNG_COLLECTION_S] * 5
    collector.stop()
    assert _collections(loop.fire) == []  # the armed timer was cancelled


def test_the_paced_collector_makes_the_full_pass_the_collector_would() -> None:
    """Its passes keep the collector's own count low, so it makes the full pass itself once
    the middle generation has been collected as often as the third threshold says."""
    loop = _Later()
    collector = PacedCollector(every=0.5)
    before = gc.get_threshold()
    try:
        gc.set_threshold(before[0], before[1], 2)
        collector.start(loop)  # type: ignore[arg-type]

        def ticks() -> None:
            gc.collect()  # the counts start from zero
            loop.fire(8)

        seen = _collections(ticks)
    finally:
        collector.stop()
        gc.set_threshold(*before)
    # the first gc.collect() is the test's own; then three middle passes make the count 3 > 2
    assert seen[1:] == [0, 1, 0, 1, 0, 1, 2, 1]
    assert loop.delays == [0.5] * 9


def test_the_paced_collector_does_nothing_while_the_collector_is_disabled() -> None:
    loop = _Later()
    collector = PacedCollector()
    collector.start(loop)  # type: ignore[arg-type]
    gc.disable()
    try:
        assert _collections(lambda: loop.fire(3)) == []
    finally:
        gc.enable()
        collector.stop()
    assert len(loop.delays) == 4  # still re-armed: it resumes once the collector is enabled


@pytest.mark.parametrize("latency", [FAST, Latency(response_s=0.0, first_delta_s=0.0, speed=8.0)])
def test_the_mock_serves_a_turn_on_uvloops_loop(latency: Latency) -> None:
    """The soak runner and the load generator run on uvloop when it is installed, and an
    embedded mock with them: its timers (a plain handle for a deadline already past, no
    ``when()``) serve a whole turn, paced or not."""
    uvloop = pytest.importorskip("uvloop")

    async def turn() -> list[str]:
        async with (
            MockServer(latency=latency, voices=SHORT) as mock,
            open_client(mock.url) as ws,
        ):
            client = Client(ws)
            await client.until("session.created")
            await client.send(manual_update(Dialect.GA))
            await client.until("session.updated")
            await client.send(*appends(silence(300)), {"type": "input_audio_buffer.commit"})
            await client.send({"type": "response.create"})
            await client.until("response.done")
        mock.check()
        [log] = mock.sessions
        assert log.client_violations == []
        return [e["type"] for e in client.events]

    types = uvloop.run(turn())
    assert types[0] == "session.created"
    assert "response.output_audio.delta" in types
    assert types[-1] == "response.done"


@pytest.mark.asyncio
async def test_what_a_read_made_due_goes_out_at_the_end_of_that_read() -> None:
    """A reply due now (committed, response.created) is sent once the read's messages are
    handled, not from a timer after every other connection's reads; the timer armed for it
    is dropped."""
    session = _Session(100.0)
    wire = _Wire()
    link, clock = _idle_link(session, 100.0, wire, [])
    link.arm()  # what handling the message did
    [(_, _)] = clock.timers
    link.after_read()
    assert len(wire.written) == 1
    assert link.timer is None
    assert link.armed == math.inf


@pytest.mark.asyncio
async def test_a_read_that_made_nothing_due_sends_nothing() -> None:
    """An append that changes nothing leaves the link's timer as it was."""
    session = _Session(100.05)
    wire = _Wire()
    link, _ = _idle_link(session, 100.0, wire, [])
    link.arm()
    link.after_read()
    assert wire.written == []
    assert session.polled_at == []
    assert link.armed == 100.05
