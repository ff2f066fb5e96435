"""How many paced sessions the project's client session path sustains, against a minimal raw
``websockets`` client doing the same sends, both measured in the same run.

Both sides stream 100 ms PCM16 appends (6,400 base64 characters) at real time on an absolute
schedule, phases staggered evenly over the 100 ms, to the same minimal server (one process: it
sends ``session.created``, answers ``session.update`` and parses every frame with orjson). The
server runs pinned to one core and the clients to the other (``os.sched_setaffinity``). A level
of N sessions passes when the p99 lateness of the sends (sent minus due, after a 1 s warm-up) is
at most 10 ms. Each side's largest passing N is searched (doubling, then bisection); the
garbage-collection pauses seen during each window are printed (``gc.callbacks``).

* raw: ``websockets.connect``, then ``asyncio.sleep(due - now)`` + ``send`` of a pre-built
  message, per session.
* session: :class:`realtime_harness.protocol.session.ClientSession` driven by
  :func:`realtime_harness.probe.run.drive` over :class:`WebSocketTransport` (script, validator
  of both directions, flight recorder; no observers), exactly the probe's path without files.

Usage: ``python scripts/bench_client.py [--quick] [--window 6] [--max 4000]``. Figures depend on
the machine's other load: run it on a quiet machine and read the ratio, not the absolute counts.
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
from collections.abc import Awaitable, Callable
from functools import partial
from multiprocessing.connection import Connection

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


async def _staggered(
    n: int, run_one: Callable[[int, float], Awaitable[list[float]]], watch: GcWatch
) -> list[float]:
    start = time.monotonic() + 0.5 + n / 1000  # time to connect everyone first
    # Garbage collections count from the end of the warm-up (connects and start-up excluded).
    loop = asyncio.get_running_loop()
    loop.call_at(loop.time() + (start - time.monotonic()) + WARMUP * 0.1, watch.start)
    return [
        x
        for part in await asyncio.gather(*(run_one(i, start + i * 0.1 / n) for i in range(n)))
        for x in part
    ]


def _raw(url: str, ticks: int) -> Callable[[int, float], Awaitable[list[float]]]:
    from websockets.asyncio.client import connect

    async def one(i: int, phase: float) -> list[float]:
        late: list[float] = []
        async with connect(url, compression=None, open_timeout=60) as ws:
            await ws.recv()
            await asyncio.sleep(max(0.0, phase - time.monotonic()))
            await ws.send('{"type":"session.update","event_id":"evt_u","session":{}}')
            await ws.recv()
            t0 = time.monotonic()
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
                if k >= WARMUP:
                    late.append((time.monotonic() - due) * 1000)
        return late

    return one


def _session(url: str, ticks: int) -> Callable[[int, float], Awaitable[list[float]]]:
    from realtime_harness.probe.run import drive
    from realtime_harness.protocol.dialects import Dialect
    from realtime_harness.protocol.ids import IdGenerator
    from realtime_harness.protocol.script import AudioTurn, PhaseTimeouts, ScriptPlan
    from realtime_harness.protocol.session import ClientSession, SessionContext
    from realtime_harness.transport.websocket import WebSocketOptions, open_websocket

    plan = ScriptPlan(
        dialect=Dialect.GA,
        turns=(AudioTurn(chunks=(CHUNK,) * ticks),),
        turn_detection="server_vad",
        speed=1.0,
        # The server answers nothing after the stream: the session ends right after it.
        timeouts=PhaseTimeouts(60.0, 60.0, 0.05, 0.05, 0.05, 0.0),
    )
    options = WebSocketOptions(open_timeout=60)

    class Timed:
        """Notes when each append left (the raw client notes the same)."""

        def __init__(self, inner: object) -> None:
            self.inner = inner
            self.handshake = inner.handshake  # type: ignore[attr-defined]
            self.sends: list[float] = []
            self.close_code = None
            self.close_reason = ""

        async def send(self, text: str) -> None:
            await self.inner.send(text)  # type: ignore[attr-defined]
            if text.startswith('{"type":"input_audio_buffer.append"'):
                self.sends.append(time.monotonic())

        async def recv(self, max_wait: float | None) -> str:
            return await self.inner.recv(max_wait)  # type: ignore[attr-defined,no-any-return]

        async def close(self, code: int = 1000, reason: str = "") -> None:
            await self.inner.close(code, reason)  # type: ignore[attr-defined]

    async def one(i: int, phase: float) -> list[float]:
        context = SessionContext(url=url, dialect=Dialect.GA, started_at="")
        session = ClientSession(
            plan,
            context,
            t0=time.monotonic(),
            new_event_id=partial(IdGenerator(random.Random(i)), "evt"),
        )
        inner = await open_websocket(url, {}, options=options)
        timed = Timed(inner)

        async def opened() -> Timed:
            await asyncio.sleep(max(0.0, phase - time.monotonic()))
            session.t0 = time.monotonic()
            return timed

        await drive(session, opened, time.monotonic)  # type: ignore[arg-type]
        t0 = session.script.marks.get("stream_start.0", 0.0)
        return [(sent - (t0 + k * 0.1)) * 1000 for k, sent in enumerate(timed.sends) if k >= WARMUP]

    return one


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return float("inf")
    return statistics.quantiles(values, n=100)[98]


CPU: dict[str, list[float]] = {"raw": [], "session": []}


def _level(kind: str, url: str, n: int, window: float, watch: GcWatch) -> tuple[bool, float, float]:
    ticks = int(window * 10) + WARMUP
    factory = _raw if kind == "raw" else _session
    gc.collect()
    watch.pauses.clear()
    watch.active = False
    cpu0 = time.process_time()
    try:
        late = asyncio.run(_staggered(n, factory(url, ticks), watch))
    except Exception as exc:  # a level that cannot even connect fails
        print(f"  {kind:7} n={n:5}: failed ({exc.__class__.__name__}: {exc})")
        return False, float("inf"), 0.0
    finally:
        watch.active = False
    cpu_us = (time.process_time() - cpu0) / max(1, n * ticks) * 1e6
    CPU[kind].append(cpu_us)
    p99 = _p99(late)
    worst_gc = max((p for _, p in watch.pauses), default=0.0)
    ok = p99 <= LIMIT_MS and len(late) >= n * (ticks - WARMUP) * 0.95
    gen2 = sum(1 for g, _ in watch.pauses if g == 2)
    print(
        f"  {kind:7} n={n:5}: p99 lateness {p99:7.2f} ms, sends {len(late):6}, "
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
        if bad - good <= max(50, good // 20):
            break
        ok, _, gcp = _level(kind, url, mid, window, watch)
        if ok:
            good, worst_gc = mid, max(worst_gc, gcp)
        else:
            bad = mid
    return good, worst_gc


def main() -> None:
    """Run both searches and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, coarse search")
    parser.add_argument("--window", type=float, default=None, help="seconds measured per level")
    parser.add_argument("--start", type=int, default=250)
    parser.add_argument("--max", type=int, default=4000)
    args = parser.parse_args()
    window = args.window or (2.0 if args.quick else 5.0)
    steps = 1 if args.quick else 3
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
        f"paced 100 ms appends, p99 send lateness <= {LIMIT_MS:g} ms, window {window:g} s; "
        f"server on core {server_core}, clients on core {client_core} "
        "(shared machine: figures are noisy)"
    )
    try:
        raw, raw_gc = _search("raw", url, args.start, args.max, window, watch, steps)
        ours, our_gc = _search("session", url, args.start, args.max, window, watch, steps)
    finally:
        parent.send("stop")
        server.join(5)
    ratio = ours / raw if raw else float("nan")
    print(f"raw websockets client: {raw} sessions (worst gc pause {raw_gc:.2f} ms)")
    print(f"ClientSession path:    {ours} sessions (worst gc pause {our_gc:.2f} ms)")
    print(f"ratio session/raw: {ratio:.2f}x (goal >= 0.6x and >= 1000 sessions, gc <= 5 ms)")
    if CPU["raw"] and CPU["session"]:
        raw_cpu, our_cpu = statistics.median(CPU["raw"]), statistics.median(CPU["session"])
        print(
            f"client CPU per append (median over levels, connects included): raw {raw_cpu:.1f} "
            f"us, session {our_cpu:.1f} us; CPU-bound ratio {raw_cpu / our_cpu:.2f}x"
        )


if __name__ == "__main__":
    main()
