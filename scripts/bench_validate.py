"""Benchmark: events/s of ``validate`` on an hour-long GA recording, against parse-only.

Generates a realistic recording (audio deltas of 100 ms = 6,400 base64 characters, transcript
deltas, the whole response cycle, user turns) in a temporary folder, then times in the same run:

* baseline: read the file line by line and ``orjson.loads`` every line (parse only);
* validate: :func:`realtime_harness.validate.validate_file` (parse + every rule).

Prints events/s of both and the ratio. Goals (issue #2): ≥ 100,000 events/s and ≥ 0.3 × the
parse-only baseline on one core. Usage: ``python scripts/bench_validate.py [--minutes 60]``.
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
from pathlib import Path

import orjson

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.testing import TraceBuilder
from realtime_harness.validate import validate_file

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
                if event["type"] == "response.output_audio.delta":
                    event["delta"] = chunk
                out.write(orjson.dumps(event) + b"\n")
                count += 1
    return count


def parse_only(path: Path) -> int:
    """The baseline: parse every line, check nothing."""
    n = 0
    with path.open("rb") as handle:
        for line in handle:
            orjson.loads(line)
            n += 1
    return n


def best_of(repeats: int, fn: object, *args: object) -> float:
    """The fastest of ``repeats`` wall-clock runs (the least disturbed by a noisy machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="audio minutes to generate")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.jsonl"
        events = write_recording(path, args.minutes)
        size_mb = path.stat().st_size / 1e6
        report = validate_file(path)
        assert report.violations == [], report.violations[:3]
        base = best_of(args.repeats, parse_only, path)
        check = best_of(args.repeats, validate_file, path)
    base_rate, check_rate = events / base, events / check
    print(f"recording: {events:,} events, {size_mb:,.0f} MB, {args.minutes:g} min of GA audio")
    print(f"parse-only baseline (orjson): {base_rate:12,.0f} events/s  ({base:.2f} s)")
    print(f"validate:                     {check_rate:12,.0f} events/s  ({check:.2f} s)")
    ratio = check_rate / base_rate
    print(f"ratio validate / baseline:    {ratio:12.2f}  (goal ≥ 0.30)")
    print(f"absolute goal ≥ 100,000 events/s: {'met' if check_rate >= 100_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
