"""Benchmark: prepare one hour of 100 ms chunks from a 44.1 kHz stereo file, against base64 alone.

Usage::

    python scripts/bench_audio.py              # one hour, 3 repeats (~30 s on 2 cores)
    python scripts/bench_audio.py --minutes 5  # quicker

The input (tone plus noise, 16-bit 44.1 kHz stereo WAV, 635 MB for an hour) is written to a temp
dir first and read once untimed so both runs start with it in the page cache. Then, alternately:

* **baseline**: base64-encode the same output bytes (one hour of 24 kHz mono PCM16, 36,000 chunks
  of 4,800 bytes) sliced from a buffer already in memory; the least any sender must do;
* **prepare**: :func:`realtime_harness.media.audio.iter_encoded_chunks` on the file: read in blocks,
  down-mix, resample with soxr, convert to PCM16, cut into 100 ms chunks, base64-encode.

It prints the median of each and the ratio. Goal from issue #3: prepare <= 3 x baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from realtime_harness.media.audio import RESAMPLE_QUALITY, iter_encoded_chunks, open_audio
from realtime_harness.protocol.audio import encode_chunk, iter_chunks

IN_RATE = 44_100
GOAL = 3.0


def make_input(path: Path, seconds: int) -> None:
    """Write ``seconds`` of a 440 Hz tone with noise as 16-bit 44.1 kHz stereo WAV."""
    rng = np.random.default_rng(0)
    block = 60 * IN_RATE
    t = np.arange(block) / IN_RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    with sf.SoundFile(str(path), "w", IN_RATE, 2, subtype="PCM_16", format="WAV") as f:
        for start in range(0, seconds * IN_RATE, block):
            n = min(block, seconds * IN_RATE - start)
            noise = rng.normal(0, 0.05, (n, 2))
            f.write((tone[:n, None] + noise).astype(np.float32))


def run_prepare(path: Path) -> tuple[float, int]:
    """Seconds to stream the file as base64 100 ms chunks, and the chunk count."""
    start = time.perf_counter()
    n = 0
    for _ in iter_encoded_chunks(path, 100):
        n += 1
    return time.perf_counter() - start, n


def run_read_only(path: Path) -> float:
    """Seconds to read the file in the same 10 s int16 blocks (the floor for any preparation)."""
    start = time.perf_counter()
    with sf.SoundFile(str(path)) as f:
        for _ in f.blocks(blocksize=10 * IN_RATE, dtype="int16", always_2d=True):
            pass
    return time.perf_counter() - start


def run_convert_only(path: Path) -> float:
    """Seconds to read, down-mix and resample to PCM16 blocks, without chunking or base64."""
    start = time.perf_counter()
    for _ in open_audio(path).wire_blocks():
        pass
    return time.perf_counter() - start


def run_baseline(pcm: bytes) -> tuple[float, int]:
    """Seconds to slice and base64-encode the same bytes in 100 ms chunks, and the count."""
    start = time.perf_counter()
    n = 0
    for chunk in iter_chunks(pcm, 100):
        encode_chunk(chunk)
        n += 1
    return time.perf_counter() - start, n


def main() -> int:
    """Run the benchmark and print medians and the ratio; exit 1 if the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60, help="input length (default 60)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input-44k-stereo.wav"
        t0 = time.perf_counter()
        make_input(path, seconds)
        size_mb = path.stat().st_size / 1e6
        print(
            f"input: {args.minutes} min 44.1 kHz stereo PCM16 WAV, {size_mb:.0f} MB "
            f"(written in {time.perf_counter() - t0:.1f} s)"
        )
        path.read_bytes()  # warm the page cache so neither run pays for the disk
        # The same bytes the preparation produces: 24 kHz mono PCM16, random content.
        pcm = np.random.default_rng(1).integers(-3000, 3000, seconds * 24_000, dtype="<i2")
        pcm_bytes = pcm.tobytes()
        base, prep, read, convert = [], [], [], []
        for _ in range(args.repeats):
            b, nb = run_baseline(pcm_bytes)
            p, np_ = run_prepare(path)
            base.append(b)
            prep.append(p)
            read.append(run_read_only(path))
            convert.append(run_convert_only(path))
        expected = seconds * 10
        if nb != expected or np_ != expected:
            print(f"error: chunk counts {nb} / {np_}, expected {expected}", file=sys.stderr)
            return 1
    b_med, p_med = statistics.median(base), statistics.median(prep)
    ratio = p_med / b_med
    print(f"chunks: {expected} x 100 ms (4,800 B PCM16 -> 6,400 base64 chars)")
    print(
        f"baseline  base64 only            {b_med:7.3f} s  ({b_med / expected * 1e6:5.2f} us/chunk)"
    )
    print(
        f"prepare   read+mix+soxr {RESAMPLE_QUALITY}+b64  {p_med:7.3f} s  "
        f"({p_med / expected * 1e6:5.2f} us/chunk, {seconds / p_med:,.0f}x real time)"
    )
    print("stages (same run, medians; each includes the ones above it):")
    for label, runs in (
        ("read 16-bit blocks", read),
        (f"+ down-mix + soxr {RESAMPLE_QUALITY}", convert),
    ):
        med = statistics.median(runs)
        print(f"  {label:28} {med:7.3f} s  ({med / b_med:5.2f} x baseline)")
    print(
        f"ratio     prepare / baseline     {ratio:7.2f} x  (goal <= {GOAL:.0f} x: "
        f"{'met' if ratio <= GOAL else 'MISSED'})"
    )
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
