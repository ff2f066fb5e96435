"""How many paced sessions the project's client session path sustains, against a minimal raw
``websockets`` client doing the same sends, both measured in the same run.

Both sides stream 100 ms PCM16 appends (6,400 base64 characters) at real time on an absolute
schedule, phases staggered evenly over the 100 ms, to the same minimal server (one process: it
sends ``session.created``, answers ``session.update`` and parses every frame with orjson). The
server runs pinned to one core and the clients to the other (``os.sched_setaffinity``). Every
session connects first; then the paced phase starts, and the window measured is its steady
state, from a 1 s warm-up to the last scheduled send: handshakes neither load it nor count in
its CPU. A level of N sessions passes when the p99 lateness of the sends in the window (sent
minus due) is at most 10 ms. Each side's largest passing N is searched (doubling, then
bisection to within 5 %), in alternating rounds (raw, session, raw, session...) so that the
machine's noise falls on both; the medians give the ratio. The garbage-collection pauses seen
during each window are printed (``gc.callbacks``), and the client CPU per append in it.

* raw: ``websockets.connect``, then ``asyncio.sleep(due - now)`` + ``send`` of a pre-built
  message, per session.
* session: :class:`realtime_harness.protocol.session.ClientSession` driven by
  :func:`realtime_harness.probe.run.drive` over :class:`WebSocketTransport` (script, validator
  of both directions, flight recorder; no observers), exactly the probe's and the soak's path
  without files; its ``pace_phase`` gives it the raw client's stagger.

Both sides run on the soak runner's event loop: uvloop when it is installed (``--loop asyncio``
measures the standard one).

Usage: ``python scripts/bench_client.py [--quick] [--rounds 2] [--window 5] [--loop asyncio]``.
Figures depend on the machine's other load: run it on a quiet machine and read the ratio, not
the absolute counts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import multiprocessing as mp
import os
import random
import statistics
import time
from array import array
from collections.abc import Awaitable, Callable
from functools import partial
from multiprocessing.connection import Connection
from typing import TypeAlias

import orjson

CHUNK = base64.b64encode(bytes(4800)).decode()
LIMIT_MS = 10.0
WARMUP = 10  # appends (1 s) dropped per session


# --- the minimal server (its own process, its own core) --------------------------------------
def _server_main(conn: Connection, core: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from websockets.asyncio.server import ServerConnection, serve

    created = orjson.dumps(
        {"type": "session.created", "event_id": "event_1", "session": {"id": "sess_bench"}}
    ).decode()
    n = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal n
        await ws.send(created)
        async for message in ws:
            event = orjson.loads(message)
            if event.get("type") == "session.update":
                n += 1
                await ws.send(
                    orjson.dumps(
                        {"type": "session.updated", "event_id": f"event_u{n}", "session": {}}
                    ).decode()
                )

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None, backlog=4096) as server:
            conn.send(next(iter(server.sockets)).getsockname()[1])
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


# --- measuring --------------------------------------------------------------------------------
class GcWatch:
    """Durations of the garbage collections that ran while ``active``."""

    def __init__(self) -> None:
        self.active = False
        self.pauses: list[tuple[int, float]] = []
        self._t = 0.0

    def start(self) -> None:
        """Count pauses from now on."""
        self.active = True

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        elif self.active:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t) * 1000))


class Window:
    """The measured steady state: from the end of the warm-up to the last scheduled send.

    Every session connects (and, for the raw client, reads ``session.created``) before the
    paced phase starts, so handshakes neither load the measured window nor count as its CPU.
    """

    def __init__(self, n: int, ticks: int, watch: GcWatch) -> None:
        self.n = n
        self.ticks = ticks
        self.watch = watch
        self.connected = 0
        self.go = asyncio.Event()
        self.start = 0.0
        self.cpu = [0.0, 0.0]
        self.bounds = (0.0, 0.0)

    async def ready(self) -> float:
        """Wait until every session is connected; return the common start time."""
        self.connected += 1
        if self.connected == self.n:
            # The connects' garbage is collected now, on both sides, so that the window sees
            # the steady state's collections only (a paced session then allocates nothing
            # lasting: a few dozen objects over a 4 s window at 500 sessions).
            gc.collect()
            loop = asyncio.get_running_loop()
            self.start = time.monotonic() + 0.3
            begin = self.start + (WARMUP + 1) * 0.1
            end = self.start + self.ticks * 0.1
            self.bounds = (begin, end)
            loop.call_at(loop.time() + (begin - time.monotonic()), self._begin)
            loop.call_at(loop.time() + (end - time.monotonic()), self._end)
            self.go.set()
        await self.go.wait()
        return self.start

    def _begin(self) -> None:
        self.cpu[0] = time.process_time()
        self.watch.start()

    def _end(self) -> None:
        self.cpu[1] = time.process_time()
        self.watch.active = False


#: (due, sent) pairs of each paced append: flat doubles, nothing for the GC to track.
Sends: TypeAlias = "array[float]"


async def _staggered(
    n: int, run_one: Callable[[int, Window], Awaitable[Sends]], window: Window
) -> Sends:
    out = array("d")
    for part in await asyncio.gather(*(run_one(i, window) for i in range(n))):
        out.extend(part)
    return out


def _raw(url: str, ticks: int) -> Callable[[int, Window], Awaitable[Sends]]:
    from websockets.asyncio.client import connect

    async def one(i: int, window: Window) -> Sends:
        sends: Sends = array("d")
        async with connect(url, compression=None, open_timeout=60) as ws:
            await ws.recv()
            phase = await window.ready() + i * 0.1 / window.n
            await asyncio.sleep(max(0.0, phase - time.monotonic()))
            await ws.send('{"type":"session.update","event_id":"evt_u","session":{}}')
            await ws.recv()
            t0 = phase + 0.1
            for k in range(ticks):
                due = t0 + k * 0.1
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(
                    '{"type":"input_audio_buffer.append","event_id":"evt_'
                    + f"{i}x{k}"
                    + '","audio":"'
                    + CHUNK
                    + '"}'
                )
                sends.extend((due, time.monotonic()))
        return sends

    return one


def _session(url: str, ticks: int) -> Callable[[int, Window], Awaitable[Sends]]:
    from realtime_harness.probe.run import drive
    from realtime_harness.protocol.dialects import Dialect
    from realtime_harness.protocol.ids import IdGenerator
    from realtime_harness.protocol.script import AudioTurn, PhaseTimeouts, ScriptPlan
    from realtime_harness.protocol.session import ClientSession, SessionContext
    from realtime_harness.transport.websocket import (
        WebSocketOptions,
        WebSocketTransport,
        open_websocket,
    )

    plan = ScriptPlan(
        dialect=Dialect.GA,
        turns=(AudioTurn(chunks=(CHUNK,) * ticks),),
        turn_detection="server_vad",
        speed=1.0,
        # The server answers nothing after the stream: the session ends right after it.
        timeouts=PhaseTimeouts(60.0, 60.0, 0.05, 0.05, 0.05, 0.0),
    )
    options = WebSocketOptions(open_timeout=60, library=LIBRARY[0])

    async def one(i: int, window: Window) -> Sends:
        context = SessionContext(url=url, dialect=Dialect.GA, started_at="")
        session = ClientSession(
            plan,
            context,
            t0=time.monotonic(),
            new_event_id=partial(IdGenerator(random.Random(i)), "evt"),
            pace_phase=i / window.n,  # the raw client's stagger
        )
        transport = await open_websocket(url, {}, options=options)
        phase = await window.ready() + i * 0.1 / window.n
        sends: Sends = array("d")

        async def opened() -> WebSocketTransport:
            await asyncio.sleep(max(0.0, phase - time.monotonic()))
            session.t0 = time.monotonic()
            return transport

        # on_paced is the soak runner's hook: (due, sent) of each paced wake-up's sends.
        await drive(session, opened, time.monotonic, lambda due, sent: sends.extend((due, sent)))
        return sends

    return one


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return float("inf")
    return statistics.quantiles(values, n=100)[98]


CPU: dict[str, list[float]] = {"raw": [], "session": []}


#: The session path's WebSocket library (``--ws-library``); the raw client always uses websockets.
LIBRARY = ["auto"]


def _level(kind: str, url: str, n: int, window: float, watch: GcWatch) -> tuple[bool, float, float]:
    ticks = int(window * 10) + WARMUP
    factory = _raw if kind == "raw" else _session
    gc.collect()
    watch.pauses.clear()
    watch.active = False
    win = Window(n, ticks, watch)
    try:
        sends = asyncio.run(_staggered(n, factory(url, ticks), win))
    except Exception as exc:  # a level that cannot even connect fails
        print(f"  {kind:7} n={n:5}: failed ({exc.__class__.__name__}: {exc})")
        return False, float("inf"), 0.0
    finally:
        watch.active = False
    begin, end = win.bounds
    pairs = zip(sends[::2], sends[1::2], strict=True)
    late = [(sent - due) * 1000 for due, sent in pairs if begin <= due < end]
    cpu_us = (win.cpu[1] - win.cpu[0]) / max(1, len(late)) * 1e6
    CPU[kind].append(cpu_us)
    p99 = _p99(late)
    worst_gc = max((p for _, p in watch.pauses), default=0.0)
    expected = n * (ticks - WARMUP - 1)
    ok = p99 <= LIMIT_MS and len(late) >= expected * 0.95
    gen2 = sum(1 for g, _ in watch.pauses if g == 2)
    print(
        f"  {kind:7} n={n:5}: p99 lateness {p99:7.2f} ms, sends {len(late):6}/{expected}, "
        f"cpu {cpu_us:5.1f} us/append, "
        f"gc pauses {len(watch.pauses)} (gen2 {gen2}, worst {worst_gc:.2f} ms) "
        + ("ok" if ok else "FAIL")
    )
    return ok, p99, worst_gc


def _search(
    kind: str, url: str, start: int, top: int, window: float, watch: GcWatch, steps: int
) -> tuple[int, float]:
    good, bad = 0, top + 1
    n = start
    worst_gc = 0.0
    while n >= 25:  # a loaded machine: find a level that passes at all
        ok, _, gcp = _level(kind, url, n, window, watch)
        if ok:
            good, worst_gc = n, gcp
            n *= 2
            break
        bad = n
        n //= 2
    if good == 0:
        return 0, worst_gc
    bad = top + 1 if bad <= good else bad
    while n <= top and n < bad:
        ok, _, gcp = _level(kind, url, n, window, watch)
        if ok:
            good, worst_gc = n, max(worst_gc, gcp)
            n *= 2
        else:
            bad = n
            break
    if good == 0 or bad > top:
        return good, worst_gc
    for _ in range(steps):
        mid = (good + bad) // 2
        if bad - good <= max(25, good // 20):  # to within 5 %
            break
        ok, _, gcp = _level(kind, url, mid, window, watch)
        if ok:
            good, worst_gc = mid, max(worst_gc, gcp)
        else:
            bad = mid
    return good, worst_gc


def main() -> None:
    """Run both searches, alternating, and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, coarse search")
    parser.add_argument("--window", type=float, default=None, help="seconds measured per level")
    parser.add_argument("--rounds", type=int, default=None, help="alternating raw/session rounds")
    parser.add_argument("--start", type=int, default=500)
    parser.add_argument("--max", type=int, default=4000)
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop of both (auto: uvloop when installed, as the soak runner chooses)",
    )
    parser.add_argument(
        "--ws-library",
        choices=("auto", "websockets", "picows"),
        default="auto",
        help="the session path's WebSocket library (default: the soak's, picows when installed)",
    )
    args = parser.parse_args()
    LIBRARY[0] = args.ws_library
    if args.loop == "auto":
        try:
            import uvloop

            args.loop = "uvloop"
        except ImportError:
            args.loop = "asyncio"
    window = args.window or (2.0 if args.quick else 5.0)
    steps = 1 if args.quick else 4
    rounds = args.rounds or (1 if args.quick else 2)
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_core, client_core = cores[-1], cores[0]
    parent, child = mp.Pipe()
    server = mp.Process(target=_server_main, args=(child, server_core), daemon=True)
    server.start()
    port = parent.recv()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {client_core})
    url = f"ws://127.0.0.1:{port}/v1/realtime"
    watch = GcWatch()
    gc.callbacks.append(watch)
    _session(url, 1)  # import the package now, not inside the first measured level
    print(
        f"paced 100 ms appends, p99 send lateness <= {LIMIT_MS:g} ms, window {window:g} s, "
        f"{args.loop} loop, session WebSocket library {args.ws_library}; server on core "
        f"{server_core}, clients on core {client_core}; "
        f"{rounds} alternating round(s) (shared machine: figures are noisy)"
    )
    found: dict[str, list[tuple[int, float]]] = {"raw": [], "session": []}
    try:
        for _ in range(rounds):  # alternate, so machine noise falls on both sides
            for kind in ("raw", "session"):
                found[kind].append(_search(kind, url, args.start, args.max, window, watch, steps))
    finally:
        parent.send("stop")
        server.join(5)
    raw = int(statistics.median(n for n, _ in found["raw"]))
    ours = int(statistics.median(n for n, _ in found["session"]))
    raw_gc = max(g for _, g in found["raw"])
    our_gc = max(g for _, g in found["session"])
    ratio = ours / raw if raw else float("nan")
    rounds_text = ", ".join(
        f"{r}/{o}" for (r, _), (o, _) in zip(found["raw"], found["session"], strict=True)
    )
    print(f"rounds (raw/session sessions): {rounds_text}")
    print(f"raw websockets client: {raw} sessions (median; worst gc pause {raw_gc:.2f} ms)")
    print(f"ClientSession path:    {ours} sessions (median; worst gc pause {our_gc:.2f} ms)")
    print(f"ratio session/raw: {ratio:.2f}x (goal >= 0.6x and >= 1000 sessions, gc <= 5 ms)")
    if CPU["raw"] and CPU["session"]:
        raw_cpu, our_cpu = statistics.median(CPU["raw"]), statistics.median(CPU["session"])
        print(
            f"client CPU per append in the measured window (median over levels): raw "
            f"{raw_cpu:.1f} us, session {our_cpu:.1f} us; CPU ratio {raw_cpu / our_cpu:.2f}x"
        )


if __name__ == "__main__":
    main()
