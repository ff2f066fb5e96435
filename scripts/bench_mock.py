#!/usr/bin/env python
"""Capacity of the mock server: concurrent real-time sessions one mock process feeds on time.

Method: the server and the client run in separate processes, each
pinned to its own core when the machine has two. Every session streams 100 ms input appends on an
absolute 100 ms schedule and asks for a new response as soon as the last one is done, so the
server streams audio at 1x (a 100 ms delta every 100 ms, with transcript deltas) for the whole
run: full duplex. The server records the lateness of each of its own sends against its schedule.
A load level passes when every session connected and the p99 lateness over the measured window is
at most 10 ms.

Baseline, measured in the same run: a minimal paced echo server on the same ``websockets`` stack
(``compression=None``, orjson) that parses every client message and sends a same-size audio delta
every 100 ms on an absolute schedule. Both servers run with the CLI's garbage-collector settings
(``tune_gc_for_serving``; the mock also with the CLI's ``PacedCollector``, which would only
pause the echo server, whose sessions make no garbage) and its event loop (uvloop's when the
speed extra is installed), and are driven by the same client, also on uvloop's loop when it is
installed so that the load generator is not the limit.

For each server the load doubles from ``--start`` until a level fails, then bisection narrows the
bracket to ``--precision`` (5 %). Each level is judged on a ``--measure`` window (4 s) after a
warm-up. The servers alternate over ``--rounds`` (2; the first server of each round alternates
too), later rounds searching around the first round's result with finer steps, so both servers
are judged under the same drifting conditions of a shared host. The whole run stays within
``--budget`` seconds (240; the search stops refining when its share is spent). Prints each level,
each round's capacities and ratio, and the ratio of the best of each (goal: mock >= 0.7 x
baseline).

    python scripts/bench_mock.py [--start 400] [--max 4000] [--rounds 2] [--measure 4]
    python scripts/bench_mock.py --rounds 0 --same-level 150   # CPU per session only (~1 min)

``--same-level N`` also runs both servers at the same N sessions, alternating, and prints what a
session costs each (the steadier figure on a shared host: another job on the server's core fails
levels by delaying sends, but hardly changes the CPU a session costs). Every level prints the
garbage collector's passes in its window and the longest (each pass pauses every session).
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
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

import orjson

P99_LIMIT_MS = 10.0
AUDIO_B64 = base64.b64encode(b"\x01\x00" * 2400).decode()  # 100 ms of PCM16 at 24 kHz


def pin(cpu: int) -> None:
    """Pin this process to one core when the platform allows it."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


# --- servers -------------------------------------------------------------------------------------


def _watch_gc() -> list[float]:
    """Record the duration of every garbage-collector pass from now on (seconds)."""
    pauses: list[float] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    return pauses


async def _serve(kind: str, pipe: Connection) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from realtime_harness.mock.server import PacedCollector

    loop = asyncio.get_running_loop()
    lateness: list[float] = []
    # a collector pass pauses every session: the window's longest is printed beside the p99
    gc_pauses = _watch_gc()
    if kind == "mock":
        from realtime_harness.mock import Latency, MockServer

        # The mock-server CLI's configuration: the bundled speech samples, paced at 1x,
        # validator on, no log of what clients sent (its session lines count their messages).
        mock = MockServer(
            latency=Latency(response_s=0.0, first_delta_s=0.1, speed=1.0),
            record_lateness=True,
            keep_received=False,
        )
        await mock.start()
        # the mock-server command collects the younger generations on a timer; the echo server
        # does not: its sessions make no garbage to collect, and the timer's passes over every
        # sleeping session's task and future took 5-14 ms each at 400-800 sessions when tried
        PacedCollector().start(loop)
        url = mock.url
        lateness = mock.lateness
    else:

        async def echo(ws: ServerConnection) -> None:
            latest = [AUDIO_B64]

            async def reader() -> None:
                async for message in ws:
                    event = orjson.loads(message)
                    if event.get("type") == "input_audio_buffer.append":
                        latest[0] = event["audio"]

            task = asyncio.create_task(reader())
            start = loop.time()
            n = 0
            try:
                while not task.done():
                    n += 1
                    due = start + n * 0.1
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    event = {
                        "type": "response.output_audio.delta",
                        "event_id": f"event_{n}",
                        "delta": latest[0],
                    }
                    await ws.send(orjson.dumps(event), text=True)
                    lateness.append(loop.time() - due)
            except Exception:  # the client went away
                pass
            finally:
                task.cancel()

        server = await serve(echo, "127.0.0.1", 0, compression=None, max_size=2**24)
        url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"
    pipe.send(url)
    marked = (time.monotonic(), time.process_time())
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "mark":
            lateness.clear()
            gc_pauses.clear()
            marked = (time.monotonic(), time.process_time())
        elif command == "report":
            values = list(lateness)
            pipe.send(
                {
                    # this process's CPU over the window: the server's cost, which other jobs on
                    # a shared host disturb far less than they disturb the lateness
                    "cpu_s": time.process_time() - marked[1],
                    "window_s": time.monotonic() - marked[0],
                    "p99_ms": p99(values) * 1000,
                    "p50_ms": (statistics.median(values) * 1000) if values else float("nan"),
                    "max_ms": max(values, default=float("nan")) * 1000,
                    "sends": len(values),
                    "gc_max_ms": max(gc_pauses, default=0.0) * 1000,
                    "gc_passes": len(gc_pauses),
                }
            )
        elif command == "stop":
            return


def server_main(kind: str, pipe: Connection, cpu: int) -> None:
    from realtime_harness.mock.server import tune_gc_for_serving
    from realtime_harness.transport.loop import run_in_loop

    pin(cpu)
    # Both servers get the garbage-collector settings and the event loop the mock-server CLI
    # uses (uvloop when the speed extra is installed).
    tune_gc_for_serving()
    run_in_loop(_serve(kind, pipe))


# --- client --------------------------------------------------------------------------------------


async def _session(url: str, kind: str, stop: asyncio.Event, stats: dict[str, float]) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    async with connect(
        url + "/v1/realtime?model=gpt-realtime",
        additional_headers={"Authorization": "Bearer sk-bench"},
        compression=None,
        max_size=None,
        open_timeout=60,
    ) as ws:
        if kind == "mock":
            orjson.loads(await ws.recv())  # session.created
            update = {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
            await ws.send(orjson.dumps(update), text=True)
            while orjson.loads(await ws.recv())["type"] != "session.updated":
                pass
        stats["connected"] += 1
        append = orjson.dumps({"type": "input_audio_buffer.append", "audio": AUDIO_B64})
        turn = [
            orjson.dumps({"type": "input_audio_buffer.commit"}),
            orjson.dumps({"type": "response.create"}),
        ]

        async def reader() -> None:
            async for message in ws:
                stats["received"] += 1
                if kind == "mock" and '"response.done"' in message[:40]:
                    for frame in turn:
                        await ws.send(frame, text=True)

        task = asyncio.create_task(reader())
        start = loop.time() + random.random() * 0.1  # spread the sessions' phases
        n = 0
        while not stop.is_set() and not task.done():
            n += 1
            await asyncio.sleep(max(0.0, start + n * 0.1 - loop.time()))
            await ws.send(append, text=True)
            if n == 3 and kind == "mock":  # the first turn; later ones follow response.done
                for frame in turn:
                    await ws.send(frame, text=True)
        task.cancel()


async def _client(url: str, kind: str, n: int, ready: Any, done: Any, pipe: Connection) -> None:
    stop = asyncio.Event()
    stats: dict[str, float] = {"connected": 0, "received": 0, "errors": 0}

    async def guarded() -> None:
        try:
            await _session(url, kind, stop, stats)
        except Exception:
            stats["errors"] += 1

    tasks = []
    for _ in range(n):
        tasks.append(asyncio.create_task(guarded()))
        await asyncio.sleep(0.001)  # ~1,000 handshakes/s, gentle on both sides
    loop = asyncio.get_running_loop()
    while stats["connected"] + stats["errors"] < n:  # noqa: ASYNC110  # polling a counter is fine here
        await asyncio.sleep(0.05)
    ready.set()
    # the client's own CPU over the run: when it nears 100 % the client, not the server, is late
    marked = (time.monotonic(), time.process_time())
    await loop.run_in_executor(None, done.wait)
    stats["client_cpu"] = (time.process_time() - marked[1]) / (time.monotonic() - marked[0])
    stop.set()
    await asyncio.wait(tasks, timeout=2)
    pipe.send(stats)


def client_main(
    url: str, kind: str, n: int, ready: Any, done: Any, pipe: Connection, cpu: int
) -> None:
    pin(cpu)
    try:  # the load generator must not be the limit: uvloop's loop costs it less per frame
        import uvloop
    except ImportError:
        asyncio.run(_client(url, kind, n, ready, done, pipe))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_client(url, kind, n, ready, done, pipe))


# --- orchestration -------------------------------------------------------------------------------


def run_level(
    kind: str, url: str, server: Connection, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    receive, send = ctx.Pipe(duplex=False)
    client = ctx.Process(target=client_main, args=(url, kind, n, ready, done, send, 1))
    client.start()
    if not ready.wait(timeout=max(20.0, n / 100)):
        client.kill()
        return {"n": n, "ok": False, "p99_ms": float("nan"), "why": "connect timeout"}
    time.sleep(args.warmup)
    server.send("mark")
    time.sleep(args.measure)
    server.send("report")
    result: dict[str, Any] = server.recv()
    done.set()
    stats = receive.recv() if receive.poll(30) else {"connected": 0, "errors": n}
    client.join(timeout=30)
    ok = stats["connected"] == n and stats["errors"] == 0 and result["p99_ms"] <= P99_LIMIT_MS
    result.update(n=n, ok=ok, **stats)
    # server CPU per session: microseconds of CPU per second of one session's traffic
    result["cpu_us"] = result["cpu_s"] * 1e6 / (n * result["window_s"])
    time.sleep(0.3)  # let the closed sessions drain before the next level
    return result


def _report(kind: str, result: dict[str, Any]) -> None:
    print(
        f"  {kind:8s} sessions={result['n']:5d} p99={result['p99_ms']:7.2f} ms "
        f"p50={result.get('p50_ms', float('nan')):6.2f} ms "
        f"max={result.get('max_ms', float('nan')):7.1f} ms "
        f"gc={result.get('gc_passes', 0):3d} max {result.get('gc_max_ms', float('nan')):4.1f} ms "
        f"sends={result.get('sends', 0):7d} connected={result.get('connected', 0)} "
        f"cpu={result.get('cpu_s', 0) / result.get('window_s', 1):4.0%} "
        f"client cpu={result.get('client_cpu', float('nan')):4.0%} "
        f"({result.get('cpu_us', float('nan')):5.0f} us/session/s) "
        f"errors={result.get('errors', 0)} {'PASS' if result['ok'] else 'FAIL'}"
        + (f" ({result['why']})" if result.get("why") else ""),
        flush=True,
    )


def capacity(
    kind: str,
    guess: int,
    step: float,
    args: argparse.Namespace,
    deadline: float,
    costs: list[float],
) -> tuple[int, int | None]:
    """The most sessions that pass, found by bracketing from ``guess`` (multiplying or dividing
    by ``step``) and then bisecting until the bracket is within ``--precision``.

    Returns (highest passing level, lowest failing level or None when ``--max`` passed); appends
    the server's CPU per session at every passing level to ``costs``.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=server_main, args=(kind, child, 0))
    server.start()
    url = parent.recv()
    results: dict[int, bool] = {}

    def ok(n: int) -> bool:
        if n not in results:
            result = run_level(kind, url, parent, n, args)
            _report(kind, result)
            results[n] = bool(result["ok"])
            if results[n]:
                costs.append(result["cpu_us"])
        return results[n]

    try:
        guess = max(args.min, min(guess, args.max))
        passed: int = 0
        failed: int | None = None
        if ok(guess):
            passed = guess
            while passed < args.max and time.monotonic() < deadline:
                n = min(args.max, max(passed + 1, int(passed * step)))
                if ok(n):
                    passed = n
                else:
                    failed = n
                    break
        else:
            failed = guess
            while failed > args.min and time.monotonic() < deadline:
                n = max(args.min, int(failed / step))
                if ok(n):
                    passed = n
                    break
                failed = n
        # bisect the bracket to the precision asked (±5 % by default)
        while (
            failed is not None
            and passed
            and failed - passed > max(1, passed * args.precision)
            and time.monotonic() < deadline
        ):
            middle = (passed + failed) // 2
            if ok(middle):
                passed = middle
            else:
                failed = middle
        return passed, failed
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.kill()


def cost_at_level(kind: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One level of ``n`` sessions on a fresh server process (its CPU per session is the figure)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=server_main, args=(kind, child, 0))
    server.start()
    try:
        url = parent.recv()
        result = run_level(kind, url, parent, n, args)
        _report(kind, result)
        return result
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.kill()


def same_level(n: int, args: argparse.Namespace) -> None:
    """Both servers at the same ``n`` sessions, alternating, ``--same-repeats`` times each: what
    a session costs each server's CPU, without the fixed costs that weigh more at the lower
    levels one server passes (the figure of the capacity search compares different levels)."""
    print(f"same level: {n} sessions each, alternating, {args.same_repeats} times", flush=True)
    costs: dict[str, list[float]] = {"echo": [], "mock": []}
    for repeat in range(args.same_repeats):
        order = ("echo", "mock") if repeat % 2 == 0 else ("mock", "echo")
        for kind in order:
            costs[kind].append(cost_at_level(kind, n, args)["cpu_us"])
    echo_us, mock_us = statistics.median(costs["echo"]), statistics.median(costs["mock"])
    spread = {k: f"{min(v):.0f}-{max(v):.0f}" for k, v in costs.items()}
    print(
        f"server CPU per session at {n} sessions (median of {args.same_repeats}): "
        f"echo {echo_us:.0f} us/s ({spread['echo']}), mock {mock_us:.0f} us/s "
        f"({spread['mock']}); cost ratio echo/mock: {echo_us / mock_us:.2f}",
        flush=True,
    )


def main() -> None:
    from realtime_harness.transport.loop import loop_name

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--start", type=int, default=400, help="first load level (sessions)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per server")
    parser.add_argument("--min", type=int, default=50, help="lowest load level tried")
    parser.add_argument("--max", type=int, default=4000, help="highest load level tried")
    parser.add_argument("--measure", type=float, default=4.0, help="seconds measured per level")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument(
        "--precision", type=float, default=0.05, help="bisect until the bracket is this close"
    )
    parser.add_argument(
        "--budget", type=float, default=240.0, help="stop refining after this many seconds"
    )
    parser.add_argument(
        "--same-level",
        type=int,
        default=0,
        help="also measure both servers' CPU per session at this many sessions (0: off; with "
        "--rounds 0, only that)",
    )
    parser.add_argument(
        "--same-repeats", type=int, default=3, help="measurements of each server at --same-level"
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(
        f"python {sys.version.split()[0]}, {cores} cores, server pinned to cpu 0, client to cpu 1;"
        f" pass = all connected and p99 send lateness <= {P99_LIMIT_MS:g} ms over "
        f"{args.measure:g} s; bisection to ±{args.precision:.0%}; servers on the "
        f"{loop_name()} loop, as the mock-server command"
    )
    started = time.monotonic()
    titles = {
        "echo": "baseline: minimal paced echo server (websockets, no compression)",
        "mock": "mock: MockServer as mock-server runs it (behaviour, validator), 1x audio, "
        "full duplex",
    }
    found: dict[str, list[int]] = {"echo": [], "mock": []}
    costs: dict[str, list[float]] = {"echo": [], "mock": []}
    ratios: list[float] = []
    for round_no in range(1, args.rounds + 1):
        # alternate which server goes first: the host's drift then favours neither
        order = ("echo", "mock") if round_no % 2 else ("mock", "echo")
        this_round: dict[str, int] = {}
        for index, kind in enumerate(order):
            # each server's share of what is left of the budget, so the last search still runs
            searches_left = (args.rounds - round_no) * 2 + (2 - index)
            share = (args.budget - (time.monotonic() - started)) / searches_left
            deadline = time.monotonic() + max(share, 0.0)
            print(f"round {round_no} {titles[kind]}", flush=True)
            if found[kind] and found[kind][0] >= args.min:
                # later rounds start where the first one ended, with finer steps
                passed, failed = capacity(kind, found[kind][0], 1.25, args, deadline, costs[kind])
            else:
                passed, failed = capacity(kind, args.start, 2.0, args, deadline, costs[kind])
            bracket = f"passes {passed}, fails {failed}" if failed else f"passes {passed} (max)"
            print(f"  {kind} round {round_no}: {bracket}", flush=True)
            found[kind].append(passed)
            this_round[kind] = passed
        if this_round["echo"]:
            ratios.append(this_round["mock"] / this_round["echo"])
            print(f"round {round_no} ratio mock/echo: {ratios[-1]:.2f}", flush=True)
    if args.rounds <= 0:
        if args.same_level:
            same_level(args.same_level, args)
        print(f"runtime: {time.monotonic() - started:.0f} s")
        return
    baseline, mock = max(found["echo"]), max(found["mock"])
    ratio = mock / baseline if baseline else float("nan")
    print(f"baseline capacity (best of {args.rounds}): {baseline} sessions {found['echo']}")
    print(f"mock capacity (best of {args.rounds}):     {mock} sessions {found['mock']}")
    print(f"per-round ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"ratio mock/baseline (best of each): {ratio:.2f} (goal >= 0.7)")
    if costs["echo"] and costs["mock"]:
        # The same comparison by CPU cost alone: what one session costs each server at the levels
        # that passed. Another job on the server's core delays sends (and fails levels) without
        # changing this much, so it is the steadier figure on a shared host.
        echo_us, mock_us = statistics.median(costs["echo"]), statistics.median(costs["mock"])
        print(
            f"server CPU per session (median of passing levels): echo {echo_us:.0f} us/s, "
            f"mock {mock_us:.0f} us/s; cost ratio echo/mock: {echo_us / mock_us:.2f}"
        )
    if args.same_level:
        same_level(args.same_level, args)
    print(f"runtime: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
