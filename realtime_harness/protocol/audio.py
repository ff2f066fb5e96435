"""Audio maths for the Realtime API: chunk sizes, base64, PCM16 conversions and G.711.

Pure functions over bytes and numpy arrays: no file I/O, no resampling, no clocks (those live in
:mod:`realtime_harness.media.audio`). The wire facts (the audio formats of the OpenAI Realtime
session reference, https://platform.openai.com/docs/api-reference/realtime, and ``docs/audio.md``):

* ``pcm16`` / GA ``{"type": "audio/pcm", "rate": 24000}``: signed 16-bit little-endian, 24 kHz,
  mono, raw. 1 ms = 48 bytes; a 100 ms chunk is 2,400 samples = 4,800 bytes = 6,400 base64 chars.
* ``g711_ulaw`` / ``audio/pcmu`` and ``g711_alaw`` / ``audio/pcma``: G.711 at 8 kHz, one byte a
  sample. 100 ms = 800 bytes.

G.711 is implemented here with numpy lookup tables built on first use from the ITU-T G.711
segment algorithm (the classic Sun ``g711.c`` formulation); numpy is imported only by the
functions that need it, so the validator and the CLI start without it. The stdlib ``audioop``
module would do it but is deprecated (warns on import, removed in Python 3.13); its
``audioop-lts`` backport only installs on 3.13+. Encoding is then a single table lookup per sample.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pybase64

from realtime_harness.exceptions import UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "BYTES_PER_MS",
    "DEFAULT_CHUNK_MS",
    "MAX_APPEND_BYTES",
    "MAX_CHUNK_MS",
    "MIN_CHUNK_MS",
    "MIN_COMMIT_MS",
    "PCM16_RATE",
    "AudioFormat",
    "alaw_decode",
    "alaw_encode",
    "b64_decoded_length",
    "bytes_per_ms_of",
    "chunk_bytes",
    "decode_chunk",
    "duration_s",
    "elided_approx_length",
    "elided_decoded_length",
    "encode_chunk",
    "float_to_pcm16",
    "iter_chunks",
    "parse_format",
    "pcm16_base64_problem",
    "pcm16_to_float",
    "silence",
    "ulaw_decode",
    "ulaw_encode",
]

PCM16_RATE = 24_000
"""The only PCM rate the Realtime API accepts."""
BYTES_PER_MS = PCM16_RATE * 2 // 1000
"""PCM16 bytes per millisecond at 24 kHz mono (48)."""
DEFAULT_CHUNK_MS = 100
"""Chunk length recommended by Azure support and used by SIP bridges seen on the wire."""
MIN_CHUNK_MS = 20
MAX_CHUNK_MS = 500
MIN_COMMIT_MS = 100
"""The server rejects ``input_audio_buffer.commit`` with less than 100 ms of audio buffered."""
MAX_APPEND_BYTES = 15 * 1024 * 1024
"""The largest audio one ``input_audio_buffer.append`` may carry (15 MiB, decoded)."""


class AudioFormat(enum.StrEnum):
    """An audio format of a Realtime session, named by its beta wire string."""

    PCM16 = "pcm16"
    G711_ULAW = "g711_ulaw"
    G711_ALAW = "g711_alaw"

    @property
    def rate(self) -> int:
        """Sample rate in Hz (24,000 for PCM16, 8,000 for G.711)."""
        return PCM16_RATE if self is AudioFormat.PCM16 else 8_000

    @property
    def sample_width(self) -> int:
        """Bytes per sample on the wire (2 for PCM16, 1 for G.711)."""
        return 2 if self is AudioFormat.PCM16 else 1

    @property
    def bytes_per_ms(self) -> int:
        """Wire bytes per millisecond of audio (48 for PCM16, 8 for G.711)."""
        return self.rate * self.sample_width // 1000

    def ga(self) -> dict[str, Any]:
        """The GA session object for this format (``{"type": "audio/pcm", "rate": 24000}``…)."""
        if self is AudioFormat.PCM16:
            return {"type": "audio/pcm", "rate": PCM16_RATE}
        return {"type": "audio/pcmu" if self is AudioFormat.G711_ULAW else "audio/pcma"}


_FORMAT_ALIASES: dict[str, AudioFormat] = {
    "pcm16": AudioFormat.PCM16,
    "pcm": AudioFormat.PCM16,
    "audio/pcm": AudioFormat.PCM16,
    "g711_ulaw": AudioFormat.G711_ULAW,
    "g711-ulaw": AudioFormat.G711_ULAW,  # Azure rtclient spells the G.711 names with hyphens
    "ulaw": AudioFormat.G711_ULAW,
    "pcmu": AudioFormat.G711_ULAW,
    "audio/pcmu": AudioFormat.G711_ULAW,
    "g711_alaw": AudioFormat.G711_ALAW,
    "g711-alaw": AudioFormat.G711_ALAW,
    "alaw": AudioFormat.G711_ALAW,
    "pcma": AudioFormat.G711_ALAW,
    "audio/pcma": AudioFormat.G711_ALAW,
}


def parse_format(value: str | Mapping[str, Any] | AudioFormat) -> AudioFormat:
    """The :class:`AudioFormat` named by a beta string, a GA object or a common alias.

    Raises :class:`UsageError` for anything else, including GA PCM at a rate other than 24 kHz.
    """
    if isinstance(value, AudioFormat):
        return value
    if isinstance(value, Mapping):
        kind = value.get("type")
        rate = value.get("rate", PCM16_RATE)
        fmt = _FORMAT_ALIASES.get(str(kind).lower()) if isinstance(kind, str) else None
        if fmt is AudioFormat.PCM16 and rate != PCM16_RATE:
            raise UsageError(f"audio format {dict(value)!r}: only rate 24000 is accepted for PCM")
    else:
        fmt = _FORMAT_ALIASES.get(value.strip().lower())
    if fmt is None:
        raise UsageError(
            f"unknown audio format {value!r}: use pcm16, g711_ulaw or g711_alaw "
            "(or the GA audio/pcm, audio/pcmu, audio/pcma)"
        )
    return fmt


def bytes_per_ms_of(value: object) -> int | None:
    """Wire bytes per millisecond of a session's audio format value (beta string or GA object).

    ``None`` when the value names no known format (absent, ``null``, any other JSON type): never
    raises, so it can read a format straight from a server or a file.
    """
    if isinstance(value, str):
        fmt = _FORMAT_ALIASES.get(value)
    elif isinstance(value, Mapping):
        kind = value.get("type")
        fmt = _FORMAT_ALIASES.get(kind) if isinstance(kind, str) else None
    else:
        return None
    return None if fmt is None else fmt.bytes_per_ms


def chunk_bytes(chunk_ms: int = DEFAULT_CHUNK_MS, fmt: AudioFormat = AudioFormat.PCM16) -> int:
    """Bytes in one chunk of ``chunk_ms`` milliseconds (4,800 for 100 ms of PCM16).

    Raises :class:`UsageError` outside 20–500 ms: shorter chunks multiply per-message overhead,
    longer ones make server VAD sluggish.
    """
    if isinstance(chunk_ms, bool) or not isinstance(chunk_ms, int):
        raise UsageError(f"chunk length {chunk_ms!r} ms: give a whole number of milliseconds")
    if not MIN_CHUNK_MS <= chunk_ms <= MAX_CHUNK_MS:
        raise UsageError(
            f"chunk length {chunk_ms} ms is out of range: use {MIN_CHUNK_MS}-{MAX_CHUNK_MS} ms "
            f"(default {DEFAULT_CHUNK_MS})"
        )
    return chunk_ms * fmt.bytes_per_ms


def iter_chunks(
    pcm: bytes, chunk_ms: int = DEFAULT_CHUNK_MS, *, fmt: AudioFormat = AudioFormat.PCM16
) -> Iterator[bytes]:
    """Cut wire audio into chunks of ``chunk_ms``; the last partial chunk is kept.

    Each chunk is its own ``bytes`` (sliced through a memoryview, so the input is copied once).
    """
    size = chunk_bytes(chunk_ms, fmt)
    view = memoryview(pcm)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def encode_chunk(pcm_chunk: bytes) -> str:
    """Base64 text of one chunk, as sent in ``input_audio_buffer.append``'s ``audio`` field."""
    # pybase64 (SIMD): about 1 µs for a 100 ms chunk against 8 µs with binascii.
    return pybase64.b64encode_as_string(pcm_chunk)


def decode_chunk(b64: str) -> bytes:
    """Bytes of a base64 audio field (``…audio.delta`` ``delta``, an append's ``audio``).

    Raises :class:`ValueError` (``binascii.Error``) for text that is not valid base64.
    """
    # pybase64's validating decode is over 10x the stdlib's strict decode on 6 KB of audio.
    return pybase64.b64decode(b64, validate=True)


def b64_decoded_length(b64: str) -> int | None:
    """Bytes that base64 text decodes to; ``None`` if it is not base64.

    The exact check is a validating decode (SIMD ``pybase64``: about 1-2 µs for 6 KB, less than
    counting the alphabet with ``bytes.translate``): padding only at the end, length a multiple
    of four, nothing outside the alphabet. The length counts the padding.
    """
    try:
        return len(pybase64.b64decode(b64, validate=True))
    except (ValueError, TypeError):
        return None


def b64_length_unchecked(b64: str) -> int:
    """Bytes that base64 text already known to be valid decodes to, by arithmetic (no decode).

    For text this process built from checked PCM16, or that a validator has already decoded;
    for anything else use :func:`b64_decoded_length`.
    """
    return len(b64) // 4 * 3 - (2 if b64[-2:] == "==" else 1 if b64[-1:] == "=" else 0)


def elided_decoded_length(elided: Mapping[str, Any]) -> int | None:
    """Decoded bytes of an elided audio payload of a recording, or ``None`` if unknown.

    Recordings store ``bytes`` (the exact decoded length) beside ``chars`` (the base64 length).
    Older recordings carry ``chars`` only; ``chars // 4 * 3`` over-counts by the one or two
    padding bytes, so the exact length is unknown there and the caller must not judge parity.
    """
    size = elided.get("bytes")
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        return size
    return None


def elided_approx_length(elided: Mapping[str, Any]) -> int:
    """Decoded bytes of an elided payload, exact when known, else within two bytes (0 if none)."""
    exact = elided_decoded_length(elided)
    if exact is not None:
        return exact
    chars = elided.get("chars")
    if isinstance(chars, int) and not isinstance(chars, bool) and chars > 0:
        return chars // 4 * 3
    return 0


def pcm16_base64_problem(b64: str) -> str | None:
    """Why base64 text is not whole PCM16 samples, or ``None`` if it is.

    Catches the two mistakes seen in practice: text that is not base64 at all, and audio cut at
    an odd byte (half a sample), which the server silently misaligns.
    """
    if not isinstance(b64, str):
        return f"audio is a {type(b64).__name__}, not base64 text"
    try:
        raw = pybase64.b64decode(b64, validate=True)
    except ValueError as exc:
        return f"audio is not valid base64 ({exc})"
    if len(raw) % 2:
        return f"audio decodes to {len(raw)} bytes, not whole 16-bit samples"
    return None


def duration_s(n_bytes: int, fmt: AudioFormat = AudioFormat.PCM16) -> float:
    """Seconds of audio in ``n_bytes`` of wire audio."""
    return n_bytes / (fmt.rate * fmt.sample_width)


def silence(ms: int, fmt: AudioFormat = AudioFormat.PCM16) -> bytes:
    """``ms`` milliseconds of digital silence in the wire format."""
    if ms < 0:
        raise UsageError(f"silence of {ms} ms: give zero or more milliseconds")
    n = ms * fmt.rate // 1000
    if fmt is AudioFormat.PCM16:
        return bytes(2 * n)
    return (ulaw_encode if fmt is AudioFormat.G711_ULAW else alaw_encode)(bytes(2 * n))


def float_to_pcm16(samples: npt.NDArray[np.floating[Any]]) -> tuple[bytes, int]:
    """Little-endian PCM16 bytes from float samples in [-1, 1], and how many were clipped.

    Values outside the range are clipped (never wrapped, which would turn a loud peak into a
    click). Scaling by 32767 keeps +1.0 and -1.0 symmetric.
    """
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    clipped = int(np.count_nonzero((x > 1.0) | (x < -1.0)))
    out = np.clip(x * 32767.0, -32768.0, 32767.0)
    return np.rint(out).astype("<i2").tobytes(), clipped


def pcm16_to_float(pcm: bytes) -> npt.NDArray[np.float32]:
    """Float32 samples in [-1, 1) from little-endian PCM16 bytes (odd trailing byte: error)."""
    import numpy as np

    if len(pcm) % 2:
        raise ValueError(f"{len(pcm)} bytes is not whole 16-bit samples")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


# --- G.711 -------------------------------------------------------------------------------------


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    import numpy as np

    # ITU-T G.711 μ-law over every 16-bit value, indexed by the sample's uint16 bit pattern.
    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + 33  # clip, then add the bias (0x84 >> 2)
    seg = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), mag)
    code = (np.minimum(seg, 7) << 4) | ((mag >> (seg + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    import numpy as np

    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    import numpy as np

    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32) >> 3  # 13-bit
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]), mag)
    shift = np.where(seg < 2, 1, seg)
    code = (np.minimum(seg, 7) << 4) | ((mag >> shift) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    import numpy as np

    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


_TABLES: dict[str, Callable[[], npt.NDArray[Any]]] = {
    "ulaw_enc": _ulaw_encode_table,
    "ulaw_dec": _ulaw_decode_table,
    "alaw_enc": _alaw_encode_table,
    "alaw_dec": _alaw_decode_table,
}


@functools.cache
def _table(name: str) -> npt.NDArray[Any]:
    # Built on first use (a few ms each), so importing this module needs no numpy.
    return _TABLES[name]()


def _as_uint16(pcm: bytes) -> npt.NDArray[np.uint16]:
    import numpy as np

    if len(pcm) % 2:
        raise ValueError(f"{len(pcm)} bytes is not whole 16-bit samples")
    return np.frombuffer(pcm, dtype="<u2")


def _as_uint8(data: bytes) -> npt.NDArray[np.uint8]:
    import numpy as np

    return np.frombuffer(data, dtype=np.uint8)


def ulaw_encode(pcm: bytes) -> bytes:
    """G.711 μ-law bytes (one per sample) from little-endian PCM16; the rate is unchanged."""
    return bytes(_table("ulaw_enc")[_as_uint16(pcm)].tobytes())


def ulaw_decode(data: bytes) -> bytes:
    """Little-endian PCM16 from G.711 μ-law bytes; the rate is unchanged."""
    return bytes(_table("ulaw_dec")[_as_uint8(data)].astype("<i2").tobytes())


def alaw_encode(pcm: bytes) -> bytes:
    """G.711 A-law bytes (one per sample) from little-endian PCM16; the rate is unchanged."""
    return bytes(_table("alaw_enc")[_as_uint16(pcm)].tobytes())


def alaw_decode(data: bytes) -> bytes:
    """Little-endian PCM16 from G.711 A-law bytes; the rate is unchanged."""
    return bytes(_table("alaw_dec")[_as_uint8(data)].astype("<i2").tobytes())
