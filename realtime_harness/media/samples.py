"""Bundled real-speech samples, named by a short name (``greeting``, ``weather``, …).

The recordings live in ``audio_samples/`` at the repository root, described by
``audio_samples/samples.json`` (name, file, exact spoken text, description). They were made with
``scripts/make_samples.py`` (espeak-ng); see ``audio_samples/README.md`` for provenance and
licence. Set ``REALTIME_HARNESS_SAMPLES_DIR`` to use another directory with the same layout.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from realtime_harness.exceptions import UsageError
from realtime_harness.media.audio import AudioFileInfo, file_info, load_audio

__all__ = ["MANIFEST", "Sample", "get_sample", "list_samples", "samples_dir"]

MANIFEST = "samples.json"
_ENV = "REALTIME_HARNESS_SAMPLES_DIR"


@dataclass(frozen=True, slots=True)
class Sample:
    """One bundled speech recording and the exact text spoken in it."""

    name: str
    file: str
    text: str
    description: str
    path: Path

    def pcm16(self) -> bytes:
        """The recording as 24 kHz mono little-endian PCM16 (converted once, then cached)."""
        return _pcm16(self.path)

    def info(self) -> AudioFileInfo:
        """The file's header: rate, channels, container and sample format, duration."""
        return file_info(self.path)

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return self.info().duration_s


@functools.cache
def _pcm16(path: Path) -> bytes:
    return load_audio(path).pcm


def samples_dir() -> Path:
    """The directory holding the samples and their manifest."""
    env = os.environ.get(_ENV)
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "audio_samples"
    if checkout.is_dir():  # a source checkout or an editable install
        return checkout
    # a wheel install: pyproject ships the samples as data files under the environment's prefix
    return Path(sys.prefix) / "share" / "realtime-harness" / "audio_samples"


@functools.cache
def _catalogue(directory: Path) -> dict[str, Sample]:
    manifest = directory / MANIFEST
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["samples"]
    except FileNotFoundError:
        raise UsageError(
            f"sample manifest {manifest} not found: run from a source checkout or set {_ENV}"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"sample manifest {manifest} is malformed ({exc}): restore it") from None
    return {
        e["name"]: Sample(
            name=e["name"],
            file=e["file"],
            text=e["text"],
            description=e.get("description", ""),
            path=directory / e["file"],
        )
        for e in entries
    }


def list_samples() -> list[Sample]:
    """Every bundled sample, in manifest order."""
    return list(_catalogue(samples_dir()).values())


def get_sample(name: str) -> Sample:
    """The bundled sample called ``name``; :class:`UsageError` naming the choices otherwise."""
    catalogue = _catalogue(samples_dir())
    try:
        return catalogue[name]
    except KeyError:
        names = ", ".join(catalogue)
        raise UsageError(
            f"unknown sample {name!r}: use one of {names}, or give a path to an audio file"
        ) from None
