"""Audio files to Realtime chunks: conversion, streaming, bad input, and assistant audio to WAV."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import soxr

import realtime_harness.media.audio as audio_mod
from realtime_harness.exceptions import AudioError, UsageError
from realtime_harness.media.audio import (
    OutputAudio,
    file_info,
    iter_encoded_chunks,
    iter_prepared_chunks,
    load_audio,
    open_audio,
)
from realtime_harness.protocol.audio import (
    AudioFormat,
    alaw_decode,
    alaw_encode,
    encode_chunk,
    iter_chunks,
    ulaw_decode,
    ulaw_encode,
)


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * rate)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def write(path: Path, data: npt.NDArray[np.float64], rate: int, subtype: str = "PCM_16") -> Path:
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def peak_hz(pcm: bytes, rate: int = 24_000) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


# --- conversion ------------------------------------------------------------------------------


def test_24khz_mono_pcm16_wav_passes_through_unchanged(tmp_path: Path) -> None:
    """A file already in the wire format is returned sample for sample, with no notes."""
    samples = np.random.default_rng(0).integers(-20000, 20000, 24_000, dtype=np.int16)
    path = tmp_path / "wire.wav"
    sf.write(str(path), samples, 24_000, subtype="PCM_16")
    prepared = load_audio(path)
    assert prepared.pcm == samples.astype("<i2").tobytes()
    assert prepared.duration_s == pytest.approx(1.0)
    assert prepared.notes == []
    assert prepared.rate == 24_000


@pytest.mark.parametrize(
    ("rate", "channels", "subtype", "container"),
    [
        (44_100, 2, "PCM_16", "wav"),
        (16_000, 1, "PCM_16", "flac"),
        (48_000, 1, "PCM_24", "wav"),
        (8_000, 1, "PCM_16", "ogg"),
    ],
)
def test_resampled_tone_keeps_its_frequency_and_length(
    tmp_path: Path, rate: int, channels: int, subtype: str, container: str
) -> None:
    """A 1 kHz tone at any rate, channel count and container comes out at 1 kHz, 24 kHz mono."""
    data = tone(1000, 1.0, rate)
    if channels == 2:
        data = np.stack([data, data], axis=1)
    sub = "VORBIS" if container == "ogg" else subtype
    path = write(tmp_path / f"tone.{container}", data, rate, sub)
    prepared = load_audio(path)
    assert len(prepared.pcm) == pytest.approx(48_000, abs=48)  # 1 s ± 0.5 ms
    assert peak_hz(prepared.pcm) == pytest.approx(1000, abs=2)
    assert any(f"{rate} Hz -> 24000 Hz" in note for note in prepared.notes)
    assert any("down-mixed" in note for note in prepared.notes) == (channels == 2)


def test_stereo_is_down_mixed_by_averaging(tmp_path: Path) -> None:
    """Left and right are averaged: opposite channels cancel, equal channels keep their level."""
    left = np.full(4800, 8000, dtype=np.int16)
    path = tmp_path / "st.wav"
    sf.write(str(path), np.stack([left, -left // 2], axis=1), 24_000, subtype="PCM_16")
    assert set(np.frombuffer(load_audio(path).pcm, "<i2").tolist()) == {2000}


def test_multichannel_int16_is_averaged_without_overflow(tmp_path: Path) -> None:
    """Four loud channels average without wrapping around."""
    loud = np.full((2400, 4), 32000, dtype=np.int16)
    path = tmp_path / "quad.wav"
    sf.write(str(path), loud, 24_000, subtype="PCM_16")
    assert set(np.frombuffer(load_audio(path).pcm, "<i2").tolist()) == {32000}


def test_float_input_is_converted_with_clipping_and_a_note(tmp_path: Path) -> None:
    """32-bit float samples become PCM16; values beyond full scale clip and are counted."""
    data = np.array([0.0, 0.5, 1.5, -2.0] * 600)
    path = write(tmp_path / "f.wav", data, 24_000, "FLOAT")
    prepared = load_audio(path)
    assert np.frombuffer(prepared.pcm, "<i2")[:4].tolist() == [0, 16384, 32767, -32768]
    assert any("float samples converted to PCM16" in n for n in prepared.notes)
    assert any("1200 samples clipped" in n for n in prepared.notes)


def test_clipping_note_is_counted_once_per_pass(tmp_path: Path) -> None:
    """Streaming a source twice reports the clipped samples of one pass, not the sum."""
    path = write(tmp_path / "f.wav", np.array([1.5, -2.0, 0.0] * 800), 24_000, "FLOAT")
    source = open_audio(path)
    for _ in range(2):
        assert len(source.read_all()) == 4800
        assert [n for n in source.notes if "clipped" in n] == [f"{path}: 1600 samples clipped"]


def test_8bit_input_is_converted_with_a_note(tmp_path: Path) -> None:
    """8-bit unsigned PCM becomes 16-bit, keeping its level, with a one-line note."""
    path = write(tmp_path / "u8.wav", tone(440, 0.5, 24_000), 24_000, "PCM_U8")
    prepared = load_audio(path)
    assert any("8-bit input converted to 16-bit" in n for n in prepared.notes)
    assert np.abs(np.frombuffer(prepared.pcm, "<i2")).max() == pytest.approx(16384, rel=0.02)


def test_padding_adds_exact_silence_before_and_after(tmp_path: Path) -> None:
    """pad_start_ms and pad_end_ms add that many milliseconds of zeros, with a note."""
    path = write(tmp_path / "t.wav", tone(440, 0.2, 24_000), 24_000)
    plain = load_audio(path).pcm
    padded = load_audio(path, pad_start_ms=300, pad_end_ms=150)
    assert padded.pcm == bytes(300 * 48) + plain + bytes(150 * 48)
    assert padded.duration_s == pytest.approx(0.65)
    assert any("300 ms silence before and 150 ms after" in n for n in padded.notes)


@pytest.mark.parametrize(
    ("fmt", "decode"),
    [(AudioFormat.G711_ULAW, ulaw_decode), (AudioFormat.G711_ALAW, alaw_decode)],
)
def test_g711_output_is_8khz_one_byte_per_sample(
    tmp_path: Path, fmt: AudioFormat, decode: Callable[[bytes], bytes]
) -> None:
    """For G.711 sessions a file is resampled to 8 kHz and encoded; 100 ms chunks are 800 B."""
    path = write(tmp_path / "t.wav", tone(1000, 1.0, 24_000), 24_000)
    prepared = load_audio(path, fmt=fmt.value)
    assert prepared.fmt is fmt
    assert len(prepared.pcm) == pytest.approx(8000, abs=8)
    assert {len(c) for c in prepared.chunks(100)} == {800}
    assert peak_hz(decode(prepared.pcm), 8000) == pytest.approx(1000, abs=8)
    assert any(f"encoded as {fmt.value}" in n for n in prepared.notes)


def test_raw_headerless_pcm_is_read_given_rate_and_width(tmp_path: Path) -> None:
    """Raw little-endian PCM16 at 16 kHz is resampled like any file once its rate is given."""
    raw = (tone(500, 1.0, 16_000) * 32767).astype("<i2").tobytes()
    path = tmp_path / "speech.raw"
    path.write_bytes(raw)
    prepared = load_audio(path, raw_rate=16_000, raw_width=2)
    assert peak_hz(prepared.pcm) == pytest.approx(500, abs=2)
    assert file_info(path, raw_rate=16_000).describe() == "16000 Hz mono RAW PCM_16"


def test_raw_24khz_pcm16_passes_through(tmp_path: Path) -> None:
    """Raw PCM already at 24 kHz is returned byte for byte."""
    raw = np.random.default_rng(3).integers(-9999, 9999, 4800, dtype="<i2").tobytes()
    path = tmp_path / "wire.pcm"
    path.write_bytes(raw)
    assert load_audio(path, raw_rate=24_000).pcm == raw


# --- streaming -------------------------------------------------------------------------------


def test_streamed_chunks_equal_the_whole_file_cut_into_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming in many small blocks gives exactly the chunks of a one-shot conversion."""
    data = np.stack([tone(300, 2.05, 44_100), tone(700, 2.05, 44_100)], axis=1)
    path = write(tmp_path / "st.wav", data, 44_100)
    whole = load_audio(path).pcm
    monkeypatch.setattr(audio_mod, "_BLOCK_S", 0.037)  # many blocks, none chunk-aligned
    chunks = list(iter_prepared_chunks(path, 100))
    assert b"".join(chunks) == whole
    assert [len(c) for c in chunks[:-1]] == [4800] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) <= 4800
    assert len(chunks) == 21  # 2.05 s: 20 whole chunks and a 50 ms tail


def test_streaming_resampler_matches_one_shot_soxr_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Block-wise resampling equals a one-shot float soxr resample of the file, bit for bit."""
    data = tone(440, 1.5, 16_000)
    path = write(tmp_path / "t.wav", data, 16_000)
    monkeypatch.setattr(audio_mod, "_BLOCK_S", 0.1)
    streamed = np.frombuffer(b"".join(iter_prepared_chunks(path)), "<i2")
    ref_in = sf.read(str(path), dtype="float32")[0]
    one_shot = soxr.resample(ref_in, 16_000, 24_000, quality="HQ")
    expected = np.rint(np.clip(one_shot * 32768, -32768, 32767)).astype("<i2")
    assert np.array_equal(streamed, expected)


def test_encoded_chunks_are_base64_of_the_chunks(tmp_path: Path) -> None:
    """iter_encoded_chunks yields 6,400-character base64 text per 100 ms chunk."""
    path = write(tmp_path / "t.wav", tone(440, 0.35, 24_000), 24_000)
    encoded = list(iter_encoded_chunks(path))
    assert [len(e) for e in encoded] == [6400, 6400, 6400, 3200]
    assert encoded == [encode_chunk(c) for c in iter_chunks(load_audio(path).pcm)]
    assert list(load_audio(path).encoded_chunks()) == encoded


@pytest.mark.parametrize(
    ("fmt", "chunk_ms"),
    [
        (AudioFormat.PCM16, 100),
        (AudioFormat.PCM16, 20),
        (AudioFormat.PCM16, 490),
        (AudioFormat.G711_ULAW, 30),  # 240 bytes: whole 3-byte groups, encoded block-wise
        (AudioFormat.G711_ALAW, 20),  # 160 bytes: not, so encoded chunk by chunk
    ],
)
@pytest.mark.parametrize("block_s", [10.0, 0.037])
def test_encoded_chunks_equal_base64_of_each_chunk_for_any_size_and_blocking(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: AudioFormat,
    chunk_ms: int,
    block_s: float,
) -> None:
    """Whole blocks encoded at once give, slice by slice, the base64 of every single chunk."""
    data = np.stack([tone(300, 1.33, 44_100), tone(700, 1.33, 44_100)], axis=1)
    path = write(tmp_path / "st.wav", data, 44_100)
    monkeypatch.setattr(audio_mod, "_BLOCK_S", block_s)
    chunks = list(iter_prepared_chunks(path, chunk_ms, fmt=fmt))
    encoded = list(iter_encoded_chunks(path, chunk_ms, fmt=fmt))
    assert encoded == [encode_chunk(c) for c in chunks]
    assert list(load_audio(path, fmt=fmt).encoded_chunks(chunk_ms)) == encoded
    assert len(chunks) > 2


def test_three_channels_are_averaged_before_resampling(tmp_path: Path) -> None:
    """Steady channels of 3,000, -1,200 and 900 resample to their average, 900."""
    levels = np.array([3000, -1200, 900], dtype=np.int16)
    path = tmp_path / "tri.wav"
    sf.write(str(path), np.tile(levels, (16_000, 1)), 16_000, subtype="PCM_16")
    pcm = np.frombuffer(load_audio(path).pcm, "<i2")
    assert len(pcm) == 24_000
    middle = pcm[2_000:-2_000]  # away from the resampler's edge transients
    assert set(middle.tolist()) == {900}


def test_resampling_overshoot_of_full_scale_16bit_audio_clips_and_is_counted(
    tmp_path: Path,
) -> None:
    """A full-scale square wave rings past full scale when resampled: clipped, never wrapped."""
    square = np.where(np.arange(16_000) // 40 % 2 == 0, 32767, -32768).astype(np.int16)
    path = tmp_path / "square.wav"
    sf.write(str(path), square, 16_000, subtype="PCM_16")
    prepared = load_audio(path)
    ringing = soxr.resample(square.astype(np.float32) / 32768, 16_000, 24_000, quality="HQ")
    ringing *= 32768
    over = int(np.count_nonzero((ringing > 32767) | (ringing < -32768)))
    assert over > 0
    expected = np.rint(np.clip(ringing, -32768, 32767)).astype("<i2")
    assert np.array_equal(np.frombuffer(prepared.pcm, "<i2"), expected)
    assert f"{path}: {over} samples clipped" in prepared.notes


def test_chunk_length_is_validated_when_streaming(tmp_path: Path) -> None:
    """A chunk length outside 20-500 ms is a usage error from the stream too."""
    path = write(tmp_path / "t.wav", tone(440, 0.35, 24_000), 24_000)
    with pytest.raises(UsageError, match="20-500 ms"):
        list(iter_prepared_chunks(path, 10))


def test_source_reports_duration_and_notes_before_streaming(tmp_path: Path) -> None:
    """open_audio checks the file and explains conversions before any chunk is read."""
    path = write(tmp_path / "t.flac", np.stack([tone(440, 1, 44_100)] * 2, axis=1), 44_100)
    source = open_audio(path, pad_end_ms=500)
    assert source.duration_s == pytest.approx(1.5)
    assert len(source.notes) == 3
    assert source.info.describe() == "44100 Hz stereo FLAC PCM_16"


# --- bad input: one line naming the file and the fix -----------------------------------------


def assert_one_line(exc: pytest.ExceptionInfo[AudioError], *parts: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, message


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist names the path and suggests the samples."""
    with pytest.raises(AudioError) as exc:
        load_audio(tmp_path / "nope.wav")
    assert_one_line(exc, "nope.wav", "not found", "realtime-harness samples")


def test_unknown_sample_name() -> None:
    """A bare name that is neither a file nor a sample lists the sample names."""
    with pytest.raises(AudioError) as exc:
        load_audio("gretting")
    assert_one_line(exc, "'gretting'", "greeting", "weather")


def test_directory_is_not_an_audio_file(tmp_path: Path) -> None:
    """A directory is refused with a hint to pick a file in it."""
    with pytest.raises(AudioError) as exc:
        load_audio(tmp_path)
    assert_one_line(exc, str(tmp_path), "directory")


def test_file_that_is_not_audio(tmp_path: Path) -> None:
    """A text file named .wav is reported as unreadable audio with the formats that work."""
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n" * 10)
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert_one_line(exc, "notes.wav", "not audio", "convert it to WAV, FLAC or OGG")


def test_headerless_file_without_raw_rate_suggests_the_raw_options(tmp_path: Path) -> None:
    """A .raw file without a rate says to pass the raw rate and width."""
    path = tmp_path / "speech.raw"
    path.write_bytes(bytes(4800))
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert_one_line(exc, "speech.raw", "raw rate and width")


def test_empty_file(tmp_path: Path) -> None:
    """A zero-byte file is called empty."""
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert_one_line(exc, "empty.wav", "empty (0 bytes)")


def test_zero_length_audio(tmp_path: Path) -> None:
    """A valid header with no frames is called out as having no audio."""
    path = write(tmp_path / "zero.wav", np.zeros(0), 24_000)
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert_one_line(exc, "zero.wav", "no audio frames")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_samples(tmp_path: Path, bad: float) -> None:
    """Non-finite float samples are refused, naming where the first one is."""
    data = tone(440, 1.0, 24_000)
    data[12_000] = bad
    path = write(tmp_path / "nan.wav", data, 24_000, "FLOAT")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert_one_line(exc, "nan.wav", "NaN or infinite", "first at 0.500 s", "re-export")


def test_nan_in_a_later_block_stops_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While streaming, a NaN in a later block raises there, after earlier chunks went out."""
    data = tone(440, 1.0, 24_000)
    data[-10] = np.nan
    path = write(tmp_path / "late.wav", data, 24_000, "FLOAT")
    monkeypatch.setattr(audio_mod, "_BLOCK_S", 0.25)
    stream = iter_prepared_chunks(path)
    assert len(next(stream)) == 4800
    with pytest.raises(AudioError, match="NaN or infinite"):
        list(stream)


def test_audio_shorter_than_a_commit(tmp_path: Path) -> None:
    """Under 100 ms is refused: the server rejects a commit that short; padding is suggested."""
    path = write(tmp_path / "blip.wav", tone(440, 0.04, 24_000), 24_000)
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert_one_line(exc, "blip.wav", "40 ms", "at least 100 ms", "60 ms of trailing silence")
    assert len(load_audio(path, pad_end_ms=60).pcm) == 100 * 48


def test_short_audio_is_fine_when_the_caller_lowers_the_minimum(tmp_path: Path) -> None:
    """min_ms=0 accepts a 40 ms clip (for callers that do not commit it alone)."""
    path = write(tmp_path / "blip.wav", tone(440, 0.04, 24_000), 24_000)
    assert len(load_audio(path, min_ms=0).pcm) == 40 * 48


def test_negative_padding(tmp_path: Path) -> None:
    """Negative padding is refused."""
    path = write(tmp_path / "t.wav", tone(440, 0.2, 24_000), 24_000)
    with pytest.raises(AudioError, match="zero or more"):
        load_audio(path, pad_end_ms=-5)


@pytest.mark.parametrize(
    ("size", "options", "expected"),
    [
        (4801, {"raw_rate": 24_000}, "not whole 2-byte x 1-channel frames"),
        (4800, {"raw_rate": 24_000, "raw_width": 5}, "width 5 bytes is not supported"),
        (4800, {"raw_rate": 0}, "must be positive"),
    ],
)
def test_bad_raw_parameters(
    tmp_path: Path, size: int, options: dict[str, int], expected: str
) -> None:
    """Raw PCM whose size, width or rate cannot work is refused with the parameter named."""
    path = tmp_path / "x.pcm"
    path.write_bytes(bytes(size))
    with pytest.raises(AudioError) as exc:
        load_audio(path, **options)
    assert_one_line(exc, "x.pcm", expected)


def test_audio_errors_are_usage_errors() -> None:
    """AudioError is a UsageError, so the CLI maps it to exit code 2."""
    assert issubclass(AudioError, UsageError)


# --- output audio ----------------------------------------------------------------------------


def test_pcm16_to_wav_to_pcm16_is_identical(tmp_path: Path) -> None:
    """Deltas saved as WAV load back to exactly the same PCM16 bytes."""
    pcm = np.random.default_rng(7).integers(-32768, 32768, 24_000 * 2, dtype="<i2").tobytes()
    out = OutputAudio("pcm16")
    for chunk in iter_chunks(pcm, 100):
        out.add_delta(encode_chunk(chunk))
    assert out.duration_s == pytest.approx(2.0)
    assert out.deltas == 20
    path = out.write_wav(tmp_path / "saved" / "reply.wav")
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (24_000, 1, "PCM_16")
    assert load_audio(path).pcm == pcm


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw"])
def test_g711_deltas_are_decoded_to_an_8khz_wav(tmp_path: Path, fmt: str) -> None:
    """G.711 deltas are decoded to PCM16 and written as an 8 kHz WAV of the right length."""
    pcm = (tone(1000, 0.5, 8000) * 32767).astype("<i2").tobytes()
    wire = ulaw_encode(pcm) if fmt == "g711_ulaw" else alaw_encode(pcm)
    out = OutputAudio(fmt)
    out.add_delta(encode_chunk(wire[:1000]))
    out.add_delta(encode_chunk(wire[1000:]))
    assert out.duration_s == pytest.approx(0.5)
    path = out.write_wav(tmp_path / "reply.wav")
    data, rate = sf.read(str(path), dtype="int16")
    assert rate == 8000
    assert len(data) == 4000
    assert peak_hz(data.astype("<i2").tobytes(), 8000) == pytest.approx(1000, abs=8)


def test_output_drops_a_trailing_half_sample() -> None:
    """An odd byte count of PCM16 (a cut sample) drops the last byte instead of failing."""
    out = OutputAudio()
    out.add_bytes(b"\x01\x00\x02")
    assert out.pcm16() == b"\x01\x00"
    assert out.wire_bytes == 3


def test_output_rejects_a_delta_that_is_not_base64() -> None:
    """A malformed delta raises ValueError; the caller decides whether that is a violation."""
    with pytest.raises(ValueError, match=r"."):
        OutputAudio().add_delta("%%%")


def test_empty_output_writes_an_empty_wav(tmp_path: Path) -> None:
    """With no deltas, the WAV is valid and zero seconds long."""
    out = OutputAudio({"type": "audio/pcm", "rate": 24000})  # type: ignore[arg-type]
    path = out.write_wav(tmp_path / "none.wav")
    assert sf.info(str(path)).frames == 0
    assert out.duration_s == 0.0
