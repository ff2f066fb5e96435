"""Benchmark the probe's client side against a bare websockets sender measured in the same run.

Two questions, each against its own baseline, both on 127.0.0.1 with the mock server on its own
thread (its CPU is not counted: client CPU is ``time.thread_time()`` of the client's thread):

* **send cost**: client CPU per ``input_audio_buffer.append`` for a whole probe session of the
  ``long`` sample (248 chunks, fast mode, a 0.3 s reply read and validated, recording on) against a
  bare loop that sends the same number of pre-built append messages and nothing else. The
  difference is what the script, the validator (both directions), the flight recorder and
  the JSONL recording cost.
* **pacing**: lateness of each append against its absolute schedule ``t0 + k·100 ms`` in a real
  time probe of the ``greeting`` sample, against a bare ``asyncio.sleep`` + ``send`` loop on the
  same schedule (the event loop's own floor, ~1 ms timer granularity, perf-limits §2).

Usage: ``python scripts/bench_probe.py [--repeat 5]`` (about 25 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

from realtime_harness.mock import Latency, MockServer, tone_voice
from realtime_harness.probe import ProbeOptions, build_turns, mock_target, run_session
from realtime_harness.protocol.script import AudioTurn, PhaseTimeouts, ScriptPlan
from realtime_harness.target import Target
from realtime_harness.transport import Transport, open_websocket


class _Timed:
    """A transport wrapper that notes when each append left."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.handshake = inner.handshake
        self.sends: list[float] = []

    async def send(self, text: str) -> None:
        await self.inner.send(text)
        if '"input_audio_buffer.append"' in text[:60]:
            self.sends.append(time.monotonic())

    async def recv(self, max_wait: float | None) -> str:
        return await self.inner.recv(max_wait)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.inner.close(code, reason)

    @property
    def close_code(self) -> int | None:
        return self.inner.close_code

    @property
    def close_reason(self) -> str:
        return self.inner.close_reason


async def probe_session(
    target: Target, turn: AudioTurn, speed: float, record: Path | None
) -> tuple[float, list[float]]:
    """Client CPU seconds and append send times of one probe session."""
    timed: list[_Timed] = []

    async def factory(t: Target, rid: str) -> Transport:
        wrapped = _Timed(await open_websocket(t.url, t.request_headers(rid)))
        timed.append(wrapped)
        return wrapped

    plan = ScriptPlan(
        dialect=target.dialect, turns=(turn,), speed=speed, timeouts=PhaseTimeouts(drain=0.0)
    )
    cpu = time.thread_time()
    result = await run_session(target, plan, ProbeOptions(connect=factory, record=record))
    cpu = time.thread_time() - cpu
    assert result.outcome.value == "clean", result.headline()
    return cpu, timed[0].sends


async def bare_session(target: Target, turn: AudioTurn, paced: bool) -> tuple[float, list[float]]:
    """The baseline: connect, wait for session.created, send the appends, close."""
    messages = [
        orjson.dumps(
            {"type": "input_audio_buffer.append", "event_id": f"e{k}", "audio": c}
        ).decode()
        for k, c in enumerate(turn.chunks)
    ]
    cpu = time.thread_time()
    sends: list[float] = []
    async with connect(
        target.url,
        additional_headers=dict(target.headers),
        compression=None,
        close_timeout=0.2,  # CPU is what is measured; do not wait out a slow close
    ) as ws:
        await ws.recv()
        t0 = time.monotonic()
        for k, message in enumerate(messages):
            if paced:
                await asyncio.sleep(max(0.0, t0 + k * 0.1 - time.monotonic()))
            await ws.send(message)
            sends.append(time.monotonic())
    return time.thread_time() - cpu, sends


def lateness_ms(sends: list[float]) -> list[float]:
    t0 = sends[0]
    return [(t - (t0 + k * 0.1)) * 1000 for k, t in enumerate(sends)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(repeat: int) -> None:
    long_turn = build_turns(audio="long", text=None, turns=1)[0]
    short_turn = build_turns(audio="greeting", text=None, turns=1)[0]
    assert isinstance(long_turn, AudioTurn)
    assert isinstance(short_turn, AudioTurn)
    n = len(long_turn.chunks)
    with (
        # A 0.3 s reply keeps the response's share of the client's CPU small.
        MockServer(
            latency=Latency.fast(), validate=False, voices=(tone_voice(0.3, "Hi there."),)
        ).run_in_thread() as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        target = mock_target(server)
        # Warm-up, untimed: first-use imports and caches on both paths.
        await probe_session(target, short_turn, 0.0, Path(tmp) / "warm.jsonl")
        await bare_session(target, short_turn, paced=False)
        probe_cpu, bare_cpu = [], []
        for i in range(repeat):
            cpu, _ = await probe_session(target, long_turn, 0.0, Path(tmp) / f"r{i}.jsonl")
            probe_cpu.append(cpu / n * 1e6)
            cpu, _ = await bare_session(target, long_turn, paced=False)
            bare_cpu.append(cpu / n * 1e6)
        p, b = statistics.median(probe_cpu), statistics.median(bare_cpu)
        print(f"send cost, {n} appends of 100 ms, median of {repeat}:")
        print(f"  bare websockets send loop : {b:7.1f} µs CPU per append")
        print(f"  probe session (validated, recorded, response read too): {p:7.1f} µs per append")
        print(f"  ratio probe / bare        : {p / b:5.2f}x")

        late_probe: list[float] = []
        late_bare: list[float] = []
        for _ in range(repeat):
            _, sends = await probe_session(target, short_turn, 1.0, None)
            late_probe += lateness_ms(sends)[1:]
            _, sends = await bare_session(target, short_turn, paced=True)
            late_bare += lateness_ms(sends)[1:]
        print(f"pacing, real time, {len(short_turn.chunks)} chunks × {repeat} runs (lateness ms):")
        for name, values in (("bare sleep+send", late_bare), ("probe", late_probe)):
            print(
                f"  {name:<16} p50 {pct(values, 0.5):6.2f}  p99 {pct(values, 0.99):6.2f}  "
                f"max {max(values):6.2f}"
            )
        ratio = pct(late_probe, 0.99) / max(pct(late_bare, 0.99), 1e-3)
        print(f"  ratio probe / bare p99   : {ratio:5.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args().repeat))
