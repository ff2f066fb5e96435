"""How many concurrent paced sessions one soak process sustains, beside a minimal raw
``websockets`` client doing the same paced sends, both against the same responding server in the
same run.

The server (its own process, pinned to one core) answers like the Realtime API, minimally: it
sends ``session.created``, answers ``session.update``, parses every append with orjson, and on
``response.create`` after a commit streams a realistic response back-to-back (created, item,
part, 25 × (6,400-character audio delta + transcript delta), the done events). Each client runs
in a process of its own pinned to the other core:

* raw: per session, ``websockets.connect``, a reader task that parses every event, and turns
  as the soak runs them: 3 s of ``asyncio.sleep(due - now)`` + ``send`` of a pre-built 100 ms
  append from the session's own phase of the interval, then commit + ``response.create`` and a
  wait for ``response.done``;
* soak: :class:`realtime_harness.soak.runner.SoakRunner` with ``--sessions N`` users, 3 s
  turns of real-time audio, each session's own validator, flight recorder and records, its
  send lateness from the runner's own measurement (``HarnessWindow``).

A level of N sessions passes when the p99 lateness of the sends after a warm-up (every session
connected, then 1 s) is at most 10 ms. Each side's largest passing N is searched (doubling,
then bisection). For the soak it also prints the memory per session (RSS growth over N) and the
CPU per session-second; uvloop is used when installed (as the soak command does). The shared
pieces (the chunk, the threshold, the p99, the GC watch) come from ``bench_client.py``.

Usage: ``python scripts/bench_soak.py [--quick] [--window 5] [--max 4000]``. Figures depend on
the machine's other load: read the ratio, not the absolute counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_client import CHUNK, LIMIT_MS, GcWatch, _p99

from realtime_harness.protocol import catalog as c
from realtime_harness.soak.runner import CONNECTS_PER_S
from realtime_harness.transport.websocket import WebSocketOptions, library_for

TURN_S = 3.0
DELTAS = 25
WORD = "ok "


# --- the responding server --------------------------------------------------------------------
def _burst(sid: str, n: int) -> list[str]:
    """One response, as the events the server sends back-to-back."""
    rid, iid = f"resp_{sid}_{n}", f"item_{sid}_{n}"
    head = {"response_id": rid, "item_id": iid, "output_index": 0, "content_index": 0}
    response = {"id": rid, "object": "realtime.response", "status": "in_progress", "output": []}
    events: list[dict[str, object]] = [
        {"type": c.RESPONSE_CREATED, "response": response},
        {
            "type": c.RESPONSE_OUTPUT_ITEM_ADDED,
            "response_id": rid,
            "output_index": 0,
            "item": {"id": iid, "type": "message", "role": "assistant", "status": "in_progress"},
        },
        {**head, "type": c.RESPONSE_CONTENT_PART_ADDED, "part": {"type": "audio"}},
    ]
    for _ in range(DELTAS):
        events.append({**head, "type": c.RESPONSE_OUTPUT_AUDIO_DELTA, "delta": CHUNK})
        events.append({**head, "type": c.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA, "delta": WORD})
    item = {"id": iid, "type": "message", "role": "assistant", "status": "completed"}
    events += [
        {**head, "type": c.RESPONSE_OUTPUT_AUDIO_DONE},
        {**head, "type": c.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, "transcript": WORD * DELTAS},
        {**head, "type": c.RESPONSE_CONTENT_PART_DONE, "part": {"type": "audio"}},
        {"type": c.RESPONSE_OUTPUT_ITEM_DONE, "response_id": rid, "output_index": 0, "item": item},
        {
            "type": c.RESPONSE_DONE,
            "response": {**response, "status": "completed", "output": [item]},
        },
    ]
    return [
        orjson.dumps({"event_id": f"event_{sid}_{n}_{k}", **e}).decode()
        for k, e in enumerate(events)
    ]


def _server_main(conn: Connection, core: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    counter = iter(range(10**9))

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await serve_one(ws)

    async def serve_one(ws: ServerConnection) -> None:
        sid = f"sess_{next(counter):021d}"
        expires = int(time.time()) + 3600
        session = {"id": sid, "object": "realtime.session", "expires_at": expires}
        await ws.send(
            orjson.dumps(
                {"type": c.SESSION_CREATED, "event_id": f"event_{sid}_c", "session": session}
            ).decode()
        )
        responses = 0
        item = 0
        async for message in ws:
            event = orjson.loads(message)
            kind = event.get("type")
            if kind == c.INPUT_AUDIO_BUFFER_APPEND:
                continue
            if kind == c.SESSION_UPDATE:
                await ws.send(
                    orjson.dumps(
                        {
                            "type": c.SESSION_UPDATED,
                            "event_id": f"event_{sid}_u",
                            "session": session,
                        }
                    ).decode()
                )
            elif kind == c.INPUT_AUDIO_BUFFER_COMMIT:
                item += 1
                await ws.send(
                    orjson.dumps(
                        {
                            "type": c.INPUT_AUDIO_BUFFER_COMMITTED,
                            "event_id": f"event_{sid}_m{item}",
                            "item_id": f"item_{sid}_in{item}",
                            "previous_item_id": None,
                        }
                    ).decode()
                )
            elif kind == c.RESPONSE_CREATE:
                responses += 1
                for text in _burst(sid, responses):
                    await ws.send(text)

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", 0, compression=None, backlog=4096, max_size=None
        ) as server:
            conn.send(next(iter(server.sockets)).getsockname()[1])
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


# --- the clients (each level in a fresh process pinned to the client core) ---------------------
def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _raw_level(url: str, n: int, window: float, rate: float) -> tuple[list[float], float]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    ticks_per_turn = int(TURN_S * 10)
    ready = asyncio.Event()
    connected = [0]
    late: list[float] = []
    # the window: from the end of the warm-up, ``window`` seconds (unknown until all connected)
    measure = [float("inf"), float("inf")]
    t_start = time.monotonic()

    async def one(i: int) -> None:
        # Session i starts at its slot, as the soak runner's start rate spaces its sessions.
        await asyncio.sleep(max(0.0, t_start + i / rate - time.monotonic()))
        async with connect(url, compression=None, open_timeout=120, max_size=None) as ws:
            await ws.recv()
            await ws.send(orjson.dumps({"type": c.SESSION_UPDATE, "session": {}}).decode())
            await ws.recv()
            answered = asyncio.Event()

            async def reader() -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for message in ws:
                        if orjson.loads(message).get("type") == c.RESPONSE_DONE:
                            answered.set()
                        # One message per loop turn, as the soak's driver reads a burst, so
                        # a response burst does not hold other sessions' sends back.
                        await asyncio.sleep(0)

            task = asyncio.ensure_future(reader())
            connected[0] += 1
            if connected[0] == n:
                now = time.monotonic()
                measure[:] = [now + 1.1, now + 1.1 + window]
                ready.set()
            phase = i / n  # this session's place in the 100 ms interval, as the soak gives
            k = 0
            while True:
                # A turn as the soak runs it: 3 s of audio from the session's next phase,
                # commit + response.create, then wait for the answer before the next turn.
                now = time.monotonic()
                t0 = now + (phase * 0.1 - now) % 0.1
                for j in range(ticks_per_turn):
                    due = t0 + j * 0.1
                    if due >= measure[1]:
                        task.cancel()
                        return
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await ws.send(
                        '{"type":"'
                        + c.INPUT_AUDIO_BUFFER_APPEND
                        + '","event_id":"evt_'
                        + f"{i}x{k}"
                        + '","audio":"'
                        + CHUNK
                        + '"}'
                    )
                    if due >= measure[0]:
                        late.append((time.monotonic() - due) * 1000)
                    k += 1
                answered.clear()
                await ws.send('{"type":"' + c.INPUT_AUDIO_BUFFER_COMMIT + '"}')
                await ws.send('{"type":"' + c.RESPONSE_CREATE + '"}')
                await answered.wait()

    cpu: list[float] = []

    async def window_cpu() -> None:
        # The same window as the soak's: from the end of the warm-up, for ``window`` seconds.
        await ready.wait()
        await asyncio.sleep(1.1)
        WATCH.start()
        cpu.append(time.process_time())
        await asyncio.sleep(window)
        cpu.append(time.process_time())
        WATCH.active = False

    await asyncio.gather(window_cpu(), *(one(i) for i in range(n)))
    return late, cpu[1] - cpu[0]


async def _soak_level(
    url: str, n: int, window: float, rate: float, library: str
) -> tuple[list[float], float, int]:
    from realtime_harness.probe.options import ProbeOptions
    from realtime_harness.protocol.dialects import Dialect
    from realtime_harness.protocol.stats import HarnessWindow
    from realtime_harness.soak.runner import SoakOptions, SoakRunner
    from realtime_harness.soak.shape import LoadShape
    from realtime_harness.target import Target

    rss0 = _rss_kb()
    target = Target(url=url, dialect=Dialect.GA)
    with tempfile.TemporaryDirectory() as tmp:
        options = SoakOptions(
            probe=ProbeOptions(
                target=target,
                audio=None,
                speed=1.0,
                timeout=30.0,
                rng=random.Random(1),
                turns=1,
                ws_library=library,
            ),
            shape=LoadShape.constant("concurrency", n, 3600.0),
            out_dir=Path(tmp) / "soak",
            think_s=0.0,
            harness_window_s=1e9,
            connects_per_s=rate,
        )
        from realtime_harness.probe.plan import plan_for
        from realtime_harness.protocol.script import AudioTurn

        turn = AudioTurn(chunks=(CHUNK,) * int(TURN_S * 10), chunk_ms=100, label="bench")
        plan = plan_for(options.probe.session, target, (turn,) * 100)
        runner = SoakRunner(options, target, plans=[plan])
        task = asyncio.ensure_future(runner.run())
        # Everyone connected (the start slots take n / rate seconds), then a second of warm-up.
        while runner.figures.active < n and not task.done():  # noqa: ASYNC110 (a figure, no event)
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        runner.window = HarnessWindow()
        WATCH.start()
        cpu0 = time.process_time()
        rss = _rss_kb()
        await asyncio.sleep(window)
        cpu = time.process_time() - cpu0
        WATCH.active = False
        counts = runner.window._counts["send_lateness"]
        late = [us / 1000 for us, k in counts.items() for _ in range(k)]
        runner.stop()
        runner.stop()
        await task
    return late, cpu, rss - rss0


def _level_main(
    kind: str,
    url: str,
    n: int,
    window: float,
    rate: float,
    library: str,
    core: int,
    conn: Connection,
) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from realtime_harness.soak.runner import run_in_loop

    gc.callbacks.append(WATCH)

    try:
        if kind == "raw":
            late, cpu = run_in_loop(_raw_level(url, n, window, rate))
            rss = 0
        else:
            late, cpu, rss = run_in_loop(_soak_level(url, n, window, rate, library))
        conn.send((late, cpu, rss, WATCH.pauses))
    except Exception as exc:  # a level that cannot even connect fails
        conn.send(f"{exc.__class__.__name__}: {exc}")


#: The garbage collections inside the measured window of this (level) process.
WATCH = GcWatch()
STATS: dict[str, dict[int, tuple[float, float, int]]] = {"raw": {}, "soak": {}}


def _level(
    kind: str, url: str, n: int, window: float, rate: float, library: str, core: int
) -> bool:
    parent, child = mp.Pipe()
    proc = mp.Process(target=_level_main, args=(kind, url, n, window, rate, library, core, child))
    proc.start()
    got = parent.recv() if parent.poll(window + 120 + n / rate) else "timed out"
    proc.join(30)
    if proc.is_alive():
        proc.kill()
    if isinstance(got, str):
        print(f"  {kind:4} n={n:5}: failed ({got})")
        return False
    late, cpu, rss, pauses = got
    worst = max((ms for _, ms in pauses), default=0.0)
    p99 = _p99(late)
    expected = n * window * 10
    # The soak notes one lateness per wake-up: a late wake-up that sends several due chunks
    # counts once, so its samples can fall short of the appends under load.
    ok = p99 <= LIMIT_MS and len(late) >= expected * (0.9 if kind == "raw" else 0.5)
    cpu_per = cpu / (n * window) * 1e3
    STATS[kind][n] = (p99, cpu_per, rss)
    print(
        f"  {kind:4} n={n:5}: p99 send lateness {p99:8.2f} ms, sends {len(late)}/{expected:.0f}, "
        f"CPU {cpu_per:.2f} ms per session-second, gc pauses {len(pauses)} (worst {worst:.1f} ms)"
        + (f", RSS +{rss / 1024:.0f} MiB" if rss else "")
        + ("  ok" if ok else "  FAIL")
    )
    return ok


def _search(
    kind: str,
    url: str,
    start: int,
    top: int,
    window: float,
    rate: float,
    library: str,
    core: int,
    steps: int,
) -> int:
    good, bad, n = 0, top + 1, start
    while n >= 25:
        if _level(kind, url, n, window, rate, library, core):
            good = n
            break
        bad, n = n, n // 2
    if good == 0:
        return 0
    n = good * 2
    while n <= top and n < bad:
        if not _level(kind, url, n, window, rate, library, core):
            bad = n
            break
        good, n = n, n * 2
    for _ in range(steps):
        if bad > top or bad - good <= max(50, good // 10):
            break
        mid = (good + bad) // 2
        if _level(kind, url, mid, window, rate, library, core):
            good = mid
        else:
            bad = mid
    return good


def main() -> None:
    """Search both clients' largest passing level and print the ratio and the soak's costs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, coarse search")
    parser.add_argument("--window", type=float, default=None, help="seconds measured per level")
    parser.add_argument("--start", type=int, default=250)
    parser.add_argument("--max", type=int, default=4000)
    parser.add_argument(
        "--connect-rate",
        type=float,
        default=CONNECTS_PER_S,
        help="sessions started per second by both clients (default: the soak's own start rate; "
        "1000 starts them nearly together, so every session's turn and response falls in the "
        "same few hundred milliseconds)",
    )
    parser.add_argument(
        "--ws-library",
        choices=("auto", "websockets", "picows"),
        default="auto",
        help="the soak's WebSocket library (default: the soak command's, picows when installed); "
        "the raw client always uses websockets",
    )
    args = parser.parse_args()
    rate = args.connect_rate
    lib = args.ws_library
    window = args.window or (3.0 if args.quick else 5.0)
    steps = 1 if args.quick else 3
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_core, client_core = cores[-1], cores[0]
    parent, child = mp.Pipe()
    server = mp.Process(target=_server_main, args=(child, server_core), daemon=True)
    server.start()
    url = f"ws://127.0.0.1:{parent.recv()}/v1/realtime"
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    print(
        f"paced 100 ms appends, {TURN_S:g} s turns answered by {DELTAS} audio deltas, p99 send "
        f"lateness <= {LIMIT_MS:g} ms over {window:g} s; server on core {server_core}, clients "
        f"on core {client_core}, {loop} loop, sessions started {rate:g}/s, soak WebSocket "
        f"library {lib} ({library_for(WebSocketOptions(library=lib), url)}) (shared "
        "machine: figures are noisy)"
    )
    try:
        raw = _search("raw", url, args.start, args.max, window, rate, lib, client_core, steps)
        ours = _search("soak", url, args.start, args.max, window, rate, lib, client_core, steps)
    finally:
        parent.send("stop")
        server.join(5)
    ratio = ours / raw if raw else float("nan")
    print(f"raw websockets client: {raw} sessions")
    print(f"soak runner:           {ours} sessions")
    print(f"ratio soak/raw: {ratio:.2f}x (goals: >= 0.6x and >= 1,000 sessions per process)")
    if ours in STATS["soak"]:
        _, cpu_per, rss = STATS["soak"][ours]
        print(
            f"soak at {ours}: {rss / max(ours, 1):.0f} KiB RSS per session, "
            f"{cpu_per:.2f} ms CPU per session-second"
        )
    if raw in STATS["raw"]:
        print(f"raw at {raw}: {STATS['raw'][raw][1]:.2f} ms CPU per session-second")


if __name__ == "__main__":
    main()
