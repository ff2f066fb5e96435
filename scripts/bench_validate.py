"""Benchmark: events/s of ``validate`` against parsing the same file, on two recordings.

Generates, in a temporary folder:

* the GA hour: server events only, 10 s responses of 100 ms audio deltas (6,400 base64
  characters) and transcript deltas, one user VAD turn per response. Every audio delta is the
  same chunk (as in a stream of silence or a looped sample);
* a mixed recording in the project's recording format (both directions, as ``probe --record
  --record-audio`` writes it): 100 ms client appends, server VAD turns with input transcription,
  audio, text and function-call responses, function outputs and client ``response.create``,
  rate limits. Its audio chunks all differ from the one before (as real speech does), so every
  append and every delta is base64-checked in full.

Then times in the same run, for each file, in alternating rounds (baseline, validate, baseline,
validate...) so a busy machine slows both alike:

* baseline: read the file with a 1 MiB buffer, split it into lines and ``orjson.loads`` every
  line (parse only, the least any validator must do);
* validate: :func:`realtime_harness.validate.validate_file` (parse + every rule).

Each run is timed in CPU time of this process and in wall time; the best of ``--repeats`` runs
counts (other processes only ever add time). The goals are judged on CPU time, which other
processes on a shared machine disturb least; wall figures are printed beside it. Goals: ≥ 0.5 ×
the parse-only baseline and ≥ 150,000 events/s on the GA hour (one core). ``--profile`` adds
the validator's costliest functions on the GA hour (cProfile: it slows every call, so read the
shares, not the times).

Usage: ``python scripts/bench_validate.py [--minutes 60] [--repeats 7] [--profile]``.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import itertools
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from realtime_harness.protocol import catalog
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.recording import frame, header
from realtime_harness.protocol.session_config import build_update
from realtime_harness.testing import TraceBuilder
from realtime_harness.validate import validate_file

#: The buffer ``validate`` reads with; the baseline uses the same.
BUFFER = 1 << 20

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "the",
    "weather",
    "stays",
    "mild",
]


def write_recording(path: Path, minutes: float) -> int:
    """Write an hour-like GA stream: 10 s responses of 100 ms audio deltas; returns the count."""
    build = TraceBuilder(Dialect.GA)
    chunk = base64.b64encode(os.urandom(4800)).decode()  # incompressible, like real audio
    responses = max(1, round(minutes * 6))
    count = 0
    with path.open("wb") as out:
        for event in build.session_created():
            out.write(orjson.dumps(event) + b"\n")
            count += 1
        for n in range(responses):
            text = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(100))
            events = [*build.committed(vad=True), *build.response("audio", text=text, deltas=100)]
            events += build.rate_limits()
            for event in events:
                if event["type"] == catalog.AUDIO_DELTA_GA:
                    event["delta"] = chunk
                out.write(orjson.dumps(event) + b"\n")
                count += 1
    return count


def write_mixed(path: Path, minutes: float) -> int:
    """Write a mixed recording (both directions) of about ``minutes``; returns the event count."""
    build = TraceBuilder(Dialect.GA)
    # distinct 100 ms chunks in turn, so no chunk repeats the one before it (real speech)
    chunks = itertools.cycle([base64.b64encode(os.urandom(4800)).decode() for _ in range(64)])
    t = 0.0
    count = 0

    def put(out: object, direction: str, event: dict[str, object]) -> None:
        nonlocal t, count
        t += 0.01
        out.write(orjson.dumps(frame(t, direction, event)) + b"\n")  # type: ignore[attr-defined, arg-type]
        count += 1

    turns = max(1, round(minutes * 6))
    with path.open("wb") as out:
        out.write(
            orjson.dumps(header(started_at="2026-01-01T00:00:00Z", url="ws://x", dialect="ga"))
        )
        out.write(b"\n")
        put(out, "server", build.session_created()[0])
        update = {"type": catalog.SESSION_UPDATE, "event_id": "evt_0"}
        update["session"] = build_update(Dialect.GA, turn_detection="server_vad", voice="alloy")
        put(out, "client", update)
        put(out, "server", build.session_updated(vad=True)[0])
        for n in range(turns):
            for _ in range(20):  # 2 s of speech in 100 ms appends
                append = {"type": catalog.INPUT_AUDIO_BUFFER_APPEND, "audio": next(chunks)}
                put(out, "client", append)
            for event in build.committed(vad=True):
                put(out, "server", event)
            transcript = build.event(
                catalog.INPUT_TRANSCRIPTION_COMPLETED,
                item_id=build.last_item_id,
                content_index=0,
                transcript="What is the weather like today?",
            )
            put(out, "server", transcript)
            kind = "function_call" if n % 3 == 2 else ("text" if n % 5 == 4 else "audio")
            text = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(40))
            for event in build.response(kind, text=text, deltas=40):  # type: ignore[arg-type]
                if event["type"] == catalog.AUDIO_DELTA_GA:
                    event["delta"] = next(chunks)
                put(out, "server", event)
                if event["type"] == catalog.RESPONSE_OUTPUT_ITEM_ADDED and kind == "function_call":
                    call_id = event["item"]["call_id"]
            if kind == "function_call":
                output = {"type": "function_call_output", "call_id": call_id, "output": "{}"}
                put(out, "client", {"type": catalog.CONVERSATION_ITEM_CREATE, "item": output})
                put(out, "client", {"type": catalog.RESPONSE_CREATE})
                for event in build.response("audio", text=text, deltas=40):
                    if event["type"] == catalog.AUDIO_DELTA_GA:
                        event["delta"] = next(chunks)
                    put(out, "server", event)
            put(out, "server", build.rate_limits()[0])
    return count


def parse_only(path: Path) -> int:
    """The baseline: the same buffering and line splitting as validate, then parse each line."""
    n = 0
    with path.open("rb", buffering=BUFFER) as handle:
        for line in handle:
            orjson.loads(line)
            n += 1
    return n


def alternate(repeats: int, path: Path) -> dict[str, tuple[float, float]]:
    """Best (CPU, wall) seconds of the baseline and of validate, measured in alternation."""
    runs: dict[str, Callable[[Path], object]] = {"baseline": parse_only, "validate": validate_file}
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            cpu, wall = time.process_time(), time.perf_counter()
            fn(path)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
    return best


def measure(name: str, path: Path, events: int, repeats: int) -> tuple[float, float]:
    """Print and return (validate events/s, ratio to the parse-only baseline), in CPU time."""
    size_mb = path.stat().st_size / 1e6
    report = validate_file(path)
    assert report.violations == [], report.violations[:3]
    best = alternate(repeats, path)
    (base_cpu, base_wall), (check_cpu, check_wall) = best["baseline"], best["validate"]
    print(f"{name}: {events:,} events, {size_mb:,.0f} MB; best of {repeats}, CPU (wall)")
    print(
        f"  baseline (orjson parse, 1 MiB buffer): {events / base_cpu:10,.0f} events/s "
        f"({base_cpu:.3f} s; wall {base_wall:.3f} s, {events / base_wall:,.0f} events/s)"
    )
    print(
        f"  validate:                              {events / check_cpu:10,.0f} events/s "
        f"({check_cpu:.3f} s; wall {check_wall:.3f} s, {events / check_wall:,.0f} events/s)"
    )
    print(
        f"  ratio validate / baseline:             {base_cpu / check_cpu:10.2f} "
        f"(wall {base_wall / check_wall:.2f}); {(check_cpu - base_cpu) / events * 1e6:.2f} µs "
        "of CPU per event beyond the parse"
    )
    return events / check_cpu, base_cpu / check_cpu


def profile(path: Path, top: int) -> None:
    """Print the functions validate spends the most own time in (cProfile, one run)."""
    profiler = cProfile.Profile()
    profiler.runcall(validate_file, path)
    stats = pstats.Stats(profiler)
    print(f"cProfile of one validate run of {path.name}, by own time (shares, not speeds):")
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="audio minutes to generate")
    parser.add_argument("--repeats", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of validate")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        hour = Path(tmp) / "hour.jsonl"
        rate, ratio = measure(
            f"GA hour ({args.minutes:g} min)",
            hour,
            write_recording(hour, args.minutes),
            args.repeats,
        )
        if args.profile:
            profile(hour, 14)
        hour.unlink()
        mixed = Path(tmp) / "mixed.jsonl"
        measure("mixed recording", mixed, write_mixed(mixed, args.minutes / 2), args.repeats)
    print(f"goal on the GA hour, ratio >= 0.50 (CPU): {'met' if ratio >= 0.5 else 'NOT met'}")
    print(
        f"goal on the GA hour, >= 150,000 events/s (CPU): {'met' if rate >= 150_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
