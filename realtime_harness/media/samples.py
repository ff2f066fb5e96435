"""Bundled real-speech samples, named by a short name (``greeting``, ``weather``, …).

The recordings and their manifest are found by :mod:`realtime_harness.media.manifest`; they were
made with ``scripts/make_samples.py`` (espeak-ng); see ``audio_samples/README.md`` for provenance
and licence. Set ``REALTIME_HARNESS_SAMPLES_DIR`` to use another directory with the same layout.
A :class:`Sample` adds loading to a manifest entry, through :mod:`realtime_harness.media.audio`
(which itself only needs the manifest, so the two modules do not import each other).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from realtime_harness.exceptions import UsageError
from realtime_harness.media.audio import AudioFileInfo, file_info, load_audio
from realtime_harness.media.manifest import MANIFEST, read_manifest, samples_dir

__all__ = ["MANIFEST", "Sample", "get_sample", "list_samples", "samples_dir"]


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


@functools.cache
def _samples_in(directory: Path) -> dict[str, Sample]:
    return {
        name: Sample(e.name, e.file, e.text, e.description, e.path)
        for name, e in read_manifest(directory).items()
    }


def _catalogue() -> dict[str, Sample]:
    return _samples_in(samples_dir())


def list_samples() -> list[Sample]:
    """Every bundled sample, in manifest order."""
    return list(_catalogue().values())


def get_sample(name: str) -> Sample:
    """The bundled sample called ``name``; :class:`UsageError` naming the choices otherwise."""
    catalogue = _catalogue()
    try:
        return catalogue[name]
    except KeyError:
        names = ", ".join(catalogue)
        raise UsageError(
            f"unknown sample {name!r}: use one of {names}, or give a path to an audio file"
        ) from None
