"""Where the bundled speech samples live and what their manifest says: names, files, texts.

This module knows paths and the manifest only; it loads no audio.
:mod:`realtime_harness.media.audio` uses it to accept a sample's name wherever a file is
accepted, and :mod:`realtime_harness.media.samples` builds its loadable ``Sample`` objects from
it and from the audio module: imports go one way (manifest <- audio <- samples), never round.

The recordings live in ``audio_samples/`` at the repository root, described by
``audio_samples/samples.json`` (name, file, exact spoken text, description). Set
``REALTIME_HARNESS_SAMPLES_DIR`` to use another directory with the same layout.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from realtime_harness.exceptions import UsageError

__all__ = ["ENV_VAR", "MANIFEST", "ManifestEntry", "read_manifest", "samples_dir"]

MANIFEST = "samples.json"
"""File name of the manifest inside the samples directory."""

ENV_VAR = "REALTIME_HARNESS_SAMPLES_DIR"
"""Environment variable naming another samples directory."""


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One manifest row: a sample's short name, its file and the exact text spoken in it."""

    name: str
    file: str
    text: str
    description: str
    path: Path


def samples_dir() -> Path:
    """The directory holding the samples and their manifest."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "audio_samples"
    if checkout.is_dir():  # a source checkout or an editable install
        return checkout
    # a wheel install: pyproject ships the samples as data files under the environment's prefix
    return Path(sys.prefix) / "share" / "realtime-harness" / "audio_samples"


@functools.cache
def _read(directory: Path) -> dict[str, ManifestEntry]:
    manifest = directory / MANIFEST
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["samples"]
        return {
            e["name"]: ManifestEntry(
                name=e["name"],
                file=e["file"],
                text=e["text"],
                description=e.get("description", ""),
                path=directory / e["file"],
            )
            for e in entries
        }
    except FileNotFoundError:
        raise UsageError(
            f"sample manifest {manifest} not found: run from a source checkout or set {ENV_VAR}"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"sample manifest {manifest} is malformed ({exc}): restore it") from None


def read_manifest(directory: Path | None = None) -> dict[str, ManifestEntry]:
    """The manifest of ``directory`` (default :func:`samples_dir`), by name, in manifest order.

    Read once per directory. Raises :class:`UsageError` when it is missing or malformed.
    """
    return _read(directory if directory is not None else samples_dir())
