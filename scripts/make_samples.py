"""Regenerate the bundled speech samples in ``audio_samples/`` with espeak-ng.

Usage (needs Debian's ``espeak-ng``: ``apt-get install -y espeak-ng``)::

    python scripts/make_samples.py            # writes audio_samples/*.{wav,flac} + samples.json
    python scripts/make_samples.py --check    # regenerate in a temp dir, compare sample by sample

espeak-ng speaks at 22,050 Hz; each sample is resampled with soxr (VHQ) to its target rate,
normalised to a -3 dBFS peak and written with libsndfile. The output is deterministic for a given
espeak-ng version (recorded in the manifest). CI does not run this script: it uses the shipped
files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "audio_samples"
VOICE = "en-us"
SPEED_WPM = 150


@dataclass(frozen=True)
class Spec:
    """One sample to synthesise."""

    name: str
    file: str
    text: str
    description: str
    rate: int = 24_000
    channels: int = 1
    subtype: str = "PCM_16"
    lead_s: float = 0.0
    trail_s: float = 0.0


SPECS = [
    Spec(
        "greeting",
        "greeting.wav",
        "Hello! Can you hear me clearly?",
        "Short greeting question, 24 kHz mono PCM16 WAV (the wire format, no conversion).",
    ),
    Spec(
        "weather",
        "weather.wav",
        "What will the weather be like in Paris tomorrow afternoon?",
        "Weather question, 24 kHz mono PCM16 WAV.",
    ),
    Spec(
        "long",
        "long.flac",
        "Good morning. I am calling about the delivery that was scheduled for last Tuesday. "
        "The tracking page still says the parcel is waiting at the depot, but nobody has "
        "contacted me. Could you tell me where it is now, when it will arrive, and whether "
        "I need to be at home to sign for it? If it cannot be delivered this week, "
        "I would like a refund instead. Thank you for your help.",
        "Long passage for soak runs, 24 kHz mono FLAC (lossless, smaller than WAV).",
    ),
    Spec(
        "silence-padded",
        "silence-padded.wav",
        "Are you still there? Please answer when you are ready.",
        "Speech with 1.5 s of leading and 2 s of trailing digital silence, for server VAD "
        "tests. 24 kHz mono PCM16 WAV.",
        lead_s=1.5,
        trail_s=2.0,
    ),
    Spec(
        "booking-44k-stereo",
        "booking-44k-stereo.flac",
        "Please book a table for two at half past seven tonight.",
        "Booking request in another format: 44.1 kHz stereo FLAC, to exercise down-mixing "
        "and resampling.",
        rate=44_100,
        channels=2,
    ),
]


def espeak_version() -> str:
    """The espeak-ng version line, recorded in the manifest for reproducibility."""
    out = subprocess.run(["espeak-ng", "--version"], check=True, capture_output=True, text=True)
    return out.stdout.split("Data at")[0].strip()


def synthesise(spec: Spec, directory: Path) -> None:
    """Speak ``spec.text`` and write the sample file into ``directory``."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(SPEED_WPM), "-w", str(raw), spec.text],
            check=True,
        )
        audio, rate = sf.read(str(raw), dtype="float64")
    audio = soxr.resample(audio, rate, spec.rate, quality="VHQ")
    audio = audio / np.max(np.abs(audio)) * 10 ** (-3 / 20)  # -3 dBFS peak
    audio = np.concatenate(
        [np.zeros(int(spec.lead_s * spec.rate)), audio, np.zeros(int(spec.trail_s * spec.rate))]
    )
    if spec.channels > 1:
        audio = np.repeat(audio[:, None], spec.channels, axis=1)
    sf.write(str(directory / spec.file), audio, spec.rate, subtype=spec.subtype)


def write_manifest(directory: Path) -> None:
    """Write ``samples.json``: name, file, exact text, description, and how it was made."""
    manifest = {
        "generator": f"scripts/make_samples.py ({espeak_version()}, voice {VOICE}, "
        f"{SPEED_WPM} wpm)",
        "licence": "CC0-1.0",
        "samples": [
            {"name": s.name, "file": s.file, "text": s.text, "description": s.description}
            for s in SPECS
        ],
    }
    (directory / "samples.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main() -> int:
    """Regenerate the samples (or, with ``--check``, compare a fresh run with the shipped ones)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        print("error: espeak-ng not found: apt-get install -y espeak-ng", file=sys.stderr)
        return 2
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            ok = True
            for spec in SPECS:
                synthesise(spec, Path(tmp))
                fresh, fresh_rate = sf.read(str(Path(tmp) / spec.file), dtype="int16")
                shipped, shipped_rate = sf.read(str(OUT / spec.file), dtype="int16")
                same = fresh_rate == shipped_rate and np.array_equal(fresh, shipped)
                ok &= same
                print(f"{spec.name:20} {'same' if same else 'DIFFERENT'}")
            return 0 if ok else 1
    OUT.mkdir(exist_ok=True)
    total = 0
    for spec in SPECS:
        synthesise(spec, OUT)
        info = sf.info(str(OUT / spec.file))
        size = (OUT / spec.file).stat().st_size
        total += size
        print(f"{spec.name:20} {info.duration:6.2f} s  {size / 1024:7.1f} KiB  {spec.file}")
    write_manifest(OUT)
    print(f"total {total / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
