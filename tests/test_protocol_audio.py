"""Audio maths of the sans-I/O core: chunk sizes, base64, PCM16 conversions and G.711."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.audio import (
    BYTES_PER_MS,
    AudioFormat,
    alaw_decode,
    alaw_encode,
    b64_decoded_length,
    b64_length_unchecked,
    chunk_bytes,
    decode_chunk,
    duration_s,
    encode_chunk,
    float_to_pcm16,
    iter_chunks,
    parse_format,
    pcm16_base64_problem,
    pcm16_to_float,
    silence,
    ulaw_decode,
    ulaw_encode,
)

ALL_PCM16 = np.arange(-32768, 32768, dtype="<i2").tobytes()


def random_pcm(n_samples: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(-32768, 32768, n_samples, dtype="<i2").tobytes()


def test_hundred_ms_chunk_is_2400_samples_4800_bytes_6400_base64_chars() -> None:
    """A 100 ms PCM16 chunk holds 2,400 samples, 4,800 bytes, and encodes to 6,400 characters."""
    assert BYTES_PER_MS == 48
    assert chunk_bytes(100) == 4800
    chunk = next(iter_chunks(random_pcm(24_000)))
    assert len(chunk) == 4800
    assert len(np.frombuffer(chunk, "<i2")) == 2400
    assert len(encode_chunk(chunk)) == 6400


@pytest.mark.parametrize(("chunk_ms", "size"), [(20, 960), (50, 2400), (100, 4800), (500, 24000)])
def test_chunk_length_is_configurable_from_20_to_500_ms(chunk_ms: int, size: int) -> None:
    """Chunks of 20-500 ms have 48 bytes per millisecond of PCM16."""
    assert chunk_bytes(chunk_ms) == size


@pytest.mark.parametrize("chunk_ms", [0, 19, 501, -100])
def test_chunk_length_outside_20_to_500_ms_is_a_usage_error(chunk_ms: int) -> None:
    """A chunk length outside 20-500 ms is refused with the accepted range in the message."""
    with pytest.raises(UsageError, match="20-500 ms"):
        chunk_bytes(chunk_ms)


@pytest.mark.parametrize("chunk_ms", [100.0, True, "100"])
def test_chunk_length_must_be_whole_milliseconds(chunk_ms: object) -> None:
    """A chunk length that is not an int is refused, not silently truncated."""
    with pytest.raises(UsageError, match="whole number"):
        chunk_bytes(chunk_ms)  # type: ignore[arg-type]


def test_g711_chunks_are_one_byte_per_sample_at_8khz() -> None:
    """A 100 ms G.711 chunk is 800 bytes."""
    assert chunk_bytes(100, AudioFormat.G711_ULAW) == 800
    assert chunk_bytes(20, AudioFormat.G711_ALAW) == 160


def test_last_partial_chunk_is_kept_and_chunks_rejoin_to_the_input() -> None:
    """Cutting 250 ms gives two whole chunks and a 50 ms tail that together equal the input."""
    pcm = random_pcm(6000)
    chunks = list(iter_chunks(pcm, 100))
    assert [len(c) for c in chunks] == [4800, 4800, 2400]
    assert b"".join(chunks) == pcm


def test_no_audio_gives_no_chunks() -> None:
    """Empty input yields no chunk at all, not an empty one."""
    assert list(iter_chunks(b"")) == []


def test_base64_round_trip_and_decoded_length() -> None:
    """encode_chunk/decode_chunk round-trip; the decoded length is computed without decoding."""
    for n in (0, 1, 2, 3, 4800, 4801):
        raw = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
        text = encode_chunk(raw)
        assert text == base64.b64encode(raw).decode()
        assert decode_chunk(text) == raw
        assert b64_decoded_length(text) == n
    assert b64_decoded_length("abc") is None


def test_decode_chunk_rejects_text_that_is_not_base64() -> None:
    """Malformed base64 raises ValueError instead of decoding to garbage."""
    with pytest.raises(ValueError, match=r"."):
        decode_chunk("not base64!")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (encode_chunk(bytes(4800)), None),
        ("", None),
        (encode_chunk(bytes(4801)), "not whole 16-bit samples"),
        ("***", "not valid base64"),
        ("AAA", "not valid base64"),
    ],
)
def test_pcm16_base64_problem_names_what_is_wrong(text: str, problem: str | None) -> None:
    """Whole PCM16 samples in valid base64 pass; bad base64 and half samples are named."""
    found = pcm16_base64_problem(text)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_pcm16_base64_problem_rejects_non_text() -> None:
    """An audio field that is not a string is reported, not crashed on."""
    assert "not base64 text" in (pcm16_base64_problem(123) or "")  # type: ignore[arg-type]


def test_float_to_pcm16_clips_instead_of_wrapping() -> None:
    """Out-of-range floats clip to the PCM16 limits and are counted."""
    pcm, clipped = float_to_pcm16(np.array([0.0, 0.5, 1.0, -1.0, 1.7, -3.0], dtype=np.float32))
    assert np.frombuffer(pcm, "<i2").tolist() == [0, 16384, 32767, -32767, 32767, -32768]
    assert clipped == 2


def test_pcm16_float_round_trip_is_exact() -> None:
    """PCM16 -> float -> PCM16 gives the same samples back (away from the asymmetric minimum)."""
    pcm = np.arange(-32767, 32768, 7, dtype="<i2").tobytes()
    x = pcm16_to_float(pcm) * (32768 / 32767)
    assert float_to_pcm16(x)[0] == pcm


def test_pcm16_to_float_rejects_half_samples() -> None:
    """An odd byte count is not PCM16."""
    with pytest.raises(ValueError, match="whole 16-bit"):
        pcm16_to_float(b"\x00\x01\x02")


@pytest.mark.parametrize("fmt", list(AudioFormat))
def test_silence_has_the_right_length_and_decodes_to_zero(fmt: AudioFormat) -> None:
    """Silence is ms x bytes-per-ms long and decodes to (near) zero PCM."""
    data = silence(250, fmt)
    assert len(data) == 250 * fmt.bytes_per_ms
    assert duration_s(len(data), fmt) == pytest.approx(0.25)
    if fmt is AudioFormat.G711_ULAW:
        data = ulaw_decode(data)
    elif fmt is AudioFormat.G711_ALAW:
        data = alaw_decode(data)
    assert np.abs(np.frombuffer(data, "<i2")).max() <= 8


def test_negative_silence_is_a_usage_error() -> None:
    """Padding cannot be negative."""
    with pytest.raises(UsageError, match="zero or more"):
        silence(-1)


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("pcm16", AudioFormat.PCM16),
        ("g711_ulaw", AudioFormat.G711_ULAW),
        ("g711-alaw", AudioFormat.G711_ALAW),
        ({"type": "audio/pcm", "rate": 24000}, AudioFormat.PCM16),
        ({"type": "audio/pcmu"}, AudioFormat.G711_ULAW),
        ({"type": "audio/pcma"}, AudioFormat.G711_ALAW),
        (AudioFormat.PCM16, AudioFormat.PCM16),
    ],
)
def test_parse_format_accepts_beta_strings_ga_objects_and_azure_spellings(
    value: object, fmt: AudioFormat
) -> None:
    """Beta names, GA objects and rtclient's hyphenated names all map to one AudioFormat."""
    assert parse_format(value) is fmt  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["mp3", {"type": "audio/pcm", "rate": 16000}, {"type": 3}])
def test_parse_format_rejects_unknown_formats(value: object) -> None:
    """Unknown formats and GA PCM at a rate other than 24 kHz are usage errors."""
    with pytest.raises(UsageError, match="audio format"):
        parse_format(value)  # type: ignore[arg-type]


def test_ga_objects_of_each_format() -> None:
    """Each format renders its GA session object."""
    assert AudioFormat.PCM16.ga() == {"type": "audio/pcm", "rate": 24000}
    assert AudioFormat.G711_ULAW.ga() == {"type": "audio/pcmu"}
    assert AudioFormat.G711_ALAW.ga() == {"type": "audio/pcma"}


def test_g711_reference_points() -> None:
    """Zero encodes to the G.711 idle codes (μ-law 0xFF, A-law 0xD5) and back near zero."""
    zero = bytes(2)
    assert ulaw_encode(zero) == b"\xff"
    assert alaw_encode(zero) == b"\xd5"
    assert np.frombuffer(ulaw_decode(b"\xff\x7f"), "<i2").tolist() == [0, 0]
    assert np.frombuffer(alaw_decode(b"\xd5"), "<i2").tolist() == [8]
    # Full scale hits the top segment of each law.
    assert ulaw_encode(np.array([32767, -32768], "<i2").tobytes()) == b"\x80\x00"
    assert alaw_encode(np.array([32767, -32768], "<i2").tobytes()) == b"\xaa\x2a"


@pytest.mark.parametrize(
    ("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)]
)
def test_g711_round_trip_error_is_within_the_segment_step(
    encode: Callable[[bytes], bytes], decode: Callable[[bytes], bytes]
) -> None:
    """Every PCM16 value survives encode/decode within G.711's logarithmic step (≤ 1/16 + 64)."""
    x = np.frombuffer(ALL_PCM16, "<i2").astype(np.int64)
    y = np.frombuffer(decode(encode(ALL_PCM16)), "<i2").astype(np.int64)
    assert np.all(np.abs(y - x) <= np.abs(x) / 16 + 64)
    # Decoding is monotonic in the signal, so the codes order like the samples do.
    assert np.all(np.diff(y) >= 0)


def test_g711_matches_the_stdlib_reference_bit_for_bit() -> None:
    """μ-law and A-law agree with CPython's audioop on every 16-bit value and every code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # removed in Python 3.13
    codes = bytes(range(256))
    assert ulaw_encode(ALL_PCM16) == audioop.lin2ulaw(ALL_PCM16, 2)
    assert alaw_encode(ALL_PCM16) == audioop.lin2alaw(ALL_PCM16, 2)
    assert ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert alaw_decode(codes) == audioop.alaw2lin(codes, 2)


def test_g711_encoders_reject_half_samples() -> None:
    """G.711 encoders take whole PCM16 samples only."""
    with pytest.raises(ValueError, match="whole 16-bit"):
        ulaw_encode(b"\x00")


@pytest.mark.parametrize("n", range(8))
def test_unchecked_length_of_valid_base64_is_the_decoded_length(n: int) -> None:
    """By arithmetic, every padding case gives what a validating decode gives."""
    text = base64.b64encode(bytes(range(n))).decode()
    assert b64_length_unchecked(text) == b64_decoded_length(text) == n
