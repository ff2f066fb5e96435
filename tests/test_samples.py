"""Bundled speech samples: what ships, how they are named, and ``realtime-harness samples``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

import realtime_harness.media
from realtime_harness.cli import app
from realtime_harness.exceptions import UsageError
from realtime_harness.media.audio import load_audio
from realtime_harness.media.manifest import read_manifest
from realtime_harness.media.samples import get_sample, list_samples, samples_dir

runner = CliRunner()

EXPECTED_LENGTHS = {
    "greeting": (2.0, 3.0),
    "weather": (3.0, 5.0),
    "long": (20.0, 30.0),
    "silence-padded": (4.0, 10.0),
    "booking-44k-stereo": (2.0, 6.0),
}


def test_at_least_five_samples_ship_with_text_and_under_2_mb() -> None:
    """Five or more samples exist, each with its spoken text, together under 2 MB."""
    samples = list_samples()
    assert len(samples) >= 5
    assert {s.name for s in samples} >= set(EXPECTED_LENGTHS)
    for sample in samples:
        assert sample.path.is_file()
        assert sample.text.strip()
        assert sample.description.strip()
    assert sum(s.path.stat().st_size for s in samples) < 2_000_000


@pytest.mark.parametrize(("name", "bounds"), EXPECTED_LENGTHS.items())
def test_sample_lengths_fit_their_purpose(name: str, bounds: tuple[float, float]) -> None:
    """Greeting 2-3 s, weather 3-5 s, the long passage 20-30 s for soak runs."""
    low, high = bounds
    assert low <= get_sample(name).duration_s <= high


@pytest.mark.parametrize("name", EXPECTED_LENGTHS)
def test_pcm16_is_24khz_mono_whole_samples_of_the_right_length(name: str) -> None:
    """Sample.pcm16() gives 48,000 bytes per second of the recording, whole samples."""
    sample = get_sample(name)
    pcm = sample.pcm16()
    assert len(pcm) % 2 == 0
    assert len(pcm) / 48_000 == pytest.approx(sample.duration_s, abs=0.001)
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 10_000  # speech, not silence


def test_pcm16_is_cached() -> None:
    """Converting a sample twice returns the same bytes object."""
    assert get_sample("weather").pcm16() is get_sample("weather").pcm16()


def test_the_wire_format_samples_load_without_conversion() -> None:
    """greeting and weather are already 24 kHz mono PCM16: no conversion notes."""
    for name in ("greeting", "weather"):
        info = get_sample(name).info()
        assert (info.rate, info.channels, info.subtype) == (24_000, 1, "PCM_16")
        assert load_audio(name).notes == []


def test_one_sample_is_in_another_format_to_exercise_conversion() -> None:
    """At least one sample needs resampling and down-mixing, and says so in its notes."""
    converted = [s for s in list_samples() if (s.info().rate, s.info().channels) != (24_000, 1)]
    assert converted
    notes = load_audio(converted[0].name).notes
    assert any("resampled" in n for n in notes)


def test_silence_padded_sample_starts_and_ends_with_a_second_of_silence() -> None:
    """The VAD sample has at least 1 s of silence before the speech and after it."""
    x = np.abs(np.frombuffer(get_sample("silence-padded").pcm16(), "<i2"))
    loud = np.flatnonzero(x > 100)
    assert loud[0] >= 24_000
    assert len(x) - loud[-1] >= 24_000


def test_unknown_sample_is_a_usage_error_listing_the_names() -> None:
    """get_sample with a wrong name says which names exist."""
    with pytest.raises(UsageError, match="unknown sample 'nope': use one of greeting, weather"):
        get_sample("nope")


def test_missing_samples_directory_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointing REALTIME_HARNESS_SAMPLES_DIR at a directory without a manifest is explained."""
    monkeypatch.setenv("REALTIME_HARNESS_SAMPLES_DIR", str(tmp_path))
    with pytest.raises(UsageError, match=r"manifest .* not found"):
        list_samples()


def test_manifest_lists_every_shipped_audio_file() -> None:
    """Every audio file in audio_samples/ is in the manifest and the README, and vice versa."""
    directory = samples_dir()
    manifest = json.loads((directory / "samples.json").read_text())
    listed = {e["file"] for e in manifest["samples"]}
    shipped = {p.name for p in directory.iterdir() if p.suffix in {".wav", ".flac", ".ogg"}}
    assert listed == shipped
    readme = (directory / "README.md").read_text()
    assert "CC0" in readme
    for name in listed:
        assert name in readme


def test_cli_lists_name_duration_format_and_text() -> None:
    """`realtime-harness samples` prints one line per sample with duration, format and text."""
    result = runner.invoke(app, ["samples"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(list_samples())
    greeting = next(line for line in lines if line.startswith("greeting "))
    assert "2.7 s" in greeting
    assert "24000 Hz mono WAV PCM_16" in greeting
    assert "Hello! Can you hear me clearly?" in greeting
    assert any("44100 Hz stereo FLAC" in line for line in lines)


def test_cli_json_gives_one_object_per_sample() -> None:
    """`samples --json` prints one JSON object per line with the same facts."""
    result = runner.invoke(app, ["samples", "--json"])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in result.output.splitlines()]
    assert [r["name"] for r in rows] == [s.name for s in list_samples()]
    weather = next(r for r in rows if r["name"] == "weather")
    assert weather["rate"] == 24_000
    assert weather["channels"] == 1
    assert 3.0 <= weather["duration_s"] <= 5.0
    assert weather["text"] == get_sample("weather").text


def test_cli_without_samples_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing sample directory is one error line and exit code 2, not a traceback."""
    monkeypatch.setenv("REALTIME_HARNESS_SAMPLES_DIR", str(tmp_path))
    result = runner.invoke(app, ["samples"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "error: sample manifest" in result.output


def media_imports(module: str) -> set[str]:
    """Every ``realtime_harness.media`` module that ``module``'s source imports, at any depth."""
    path = Path(realtime_harness.media.__file__).parent / f"{module}.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n.rsplit(".", 1)[-1] for n in names if n.startswith("realtime_harness.media."))
    return found & {"audio", "samples", "manifest"}


def test_media_modules_import_in_one_direction_only() -> None:
    """manifest knows paths only, audio loads (names via the manifest), samples builds on both."""
    assert media_imports("manifest") == set()
    assert media_imports("audio") == {"manifest"}
    assert media_imports("samples") == {"audio", "manifest"}


def test_sample_names_resolve_through_the_manifest_wherever_a_file_is_accepted() -> None:
    """load_audio('weather') loads the file the manifest names for 'weather'."""
    entry = read_manifest()["weather"]
    assert load_audio("weather").pcm == load_audio(entry.path).pcm == get_sample("weather").pcm16()


@pytest.mark.parametrize(
    ("old", "names"),
    [
        ("realtime_harness.audio", ["OutputAudio", "iter_encoded_chunks", "load_audio"]),
        ("realtime_harness.samples", ["get_sample", "list_samples", "Sample"]),
    ],
)
def test_old_import_paths_still_work_and_say_they_moved(old: str, names: list[str]) -> None:
    """The pre-``media`` paths re-export the same objects with a DeprecationWarning."""
    code = (
        "import warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        f"    import {old} as old\n"
        f"import {old.replace('realtime_harness.', 'realtime_harness.media.')} as new\n"
        f"assert all(getattr(old, n) is getattr(new, n) for n in {names!r})\n"
        "assert any(issubclass(w.category, DeprecationWarning) and 'moved' in str(w.message)"
        " for w in caught)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
