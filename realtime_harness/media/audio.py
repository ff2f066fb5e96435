"""Audio files in, Realtime-ready chunks out; assistant audio back to WAV.

The I/O side of audio (the maths is in :mod:`realtime_harness.protocol.audio`):

* :func:`open_audio` inspects any file libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, …) or raw
  headerless PCM given its rate and width, checks it and explains what it will convert in
  one-line :attr:`AudioSource.notes`. :meth:`AudioSource.chunks` then streams it: blocks are read,
  down-mixed to mono, resampled to the session rate with ``soxr.ResampleStream``, converted to
  little-endian PCM16 with clipping (or G.711) and cut into exact chunks, so an hour of audio
  never sits in memory, let alone as base64.
* :func:`load_audio` is the convenience for short files and sample names: all of it, as bytes.
* :class:`OutputAudio` collects assistant ``…audio.delta`` payloads and writes a WAV file.

Resampler: `soxr <https://github.com/dofuuz/python-soxr>`_ (libsoxr). It is the reference-quality
resampler (SoX's), is maintained, ships wheels for every platform (no compiler, no FFmpeg),
and its ``ResampleStream`` in float32 gives bit for bit the output of a one-shot resample however
the input is split (tested). :data:`RESAMPLE_QUALITY` is ``HQ``, the library's default (20-bit
precision), already far above what speech needs; ``VHQ`` (28-bit) costs about 1.5x as much.

Cost: resampling is nearly all of it. Everything around soxr (reading into one reused buffer,
down-mixing, PCM16 conversion, chunking, base64 of whole blocks with SIMD
`pybase64 <https://github.com/mayeut/pybase64>`_) adds about 20 % to reading and resampling
alone; an hour of 44.1 kHz stereo costs about 1.6 s of CPU on the project's shared 2-core VM,
some 2,200x real time (``scripts/bench_audio.py`` measures both against that baseline).

Bad input never produces a traceback: every problem is an :class:`AudioError` whose one-line
message names the file and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pybase64
import soundfile as sf
import soxr

from realtime_harness.exceptions import AudioError
from realtime_harness.media.manifest import read_manifest
from realtime_harness.protocol.audio import (
    DEFAULT_CHUNK_MS,
    MIN_COMMIT_MS,
    AudioFormat,
    alaw_decode,
    alaw_encode,
    chunk_bytes,
    decode_chunk,
    iter_chunks,
    parse_format,
    silence,
    ulaw_decode,
    ulaw_encode,
)

__all__ = [
    "RESAMPLE_QUALITY",
    "AudioFileInfo",
    "AudioSource",
    "OutputAudio",
    "PreparedAudio",
    "file_info",
    "iter_encoded_chunks",
    "iter_prepared_chunks",
    "load_audio",
    "open_audio",
]

RESAMPLE_QUALITY = "HQ"
"""soxr quality preset used for every conversion."""

_BLOCK_S = 10.0
"""Seconds of input read per block while streaming: big enough to amortise per-call overhead,
small enough (one 1.8 MB buffer of 44.1 kHz stereo int16, reused) to keep memory flat."""

_Buffer = bytes | memoryview
"""Wire audio handed between the streaming stages without copying into ``bytes``."""

_RAW_SUFFIXES = {".raw", ".pcm", ".s16", ".s16le", ".bin"}
_RAW_WIDTHS = {1: "PCM_U8", 2: "PCM_16", 3: "PCM_24", 4: "PCM_32"}


@dataclass(frozen=True, slots=True)
class AudioFileInfo:
    """What an audio file's header says: rate, channels, container and sample format, length."""

    path: Path
    rate: int
    channels: int
    frames: int
    container: str
    subtype: str

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate if self.rate else 0.0

    def describe(self) -> str:
        """Short human form, e.g. ``24000 Hz mono WAV PCM_16``."""
        ch = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} ch")
        return f"{self.rate} Hz {ch} {self.container} {self.subtype}"


@dataclass(frozen=True, slots=True)
class PreparedAudio:
    """Audio ready for a Realtime session: all of it, in the wire format, with conversion notes."""

    pcm: bytes
    """Wire audio: 24 kHz mono little-endian PCM16 (or 8 kHz G.711 bytes when ``fmt`` says so)."""
    source: str
    duration_s: float
    notes: list[str] = field(default_factory=list)
    fmt: AudioFormat = AudioFormat.PCM16

    @property
    def rate(self) -> int:
        """Sample rate of :attr:`pcm` in Hz."""
        return self.fmt.rate

    def chunks(self, chunk_ms: int = DEFAULT_CHUNK_MS) -> Iterator[bytes]:
        """The audio cut into chunks of ``chunk_ms`` (last partial chunk kept)."""
        return iter_chunks(self.pcm, chunk_ms, fmt=self.fmt)

    def encoded_chunks(self, chunk_ms: int = DEFAULT_CHUNK_MS) -> Iterator[str]:
        """The chunks as base64 text, ready for ``input_audio_buffer.append``."""
        yield from _encode_chunks(self.pcm, chunk_bytes(chunk_ms, self.fmt))


def _encode_chunks(data: _Buffer, size: int) -> Iterator[str]:
    """Base64 text of ``data`` cut into ``size``-byte chunks (the last one may be shorter).

    When a chunk is a whole number of 3-byte groups (always for PCM16), the base64 of a run of
    chunks is the concatenation of theirs: the run is encoded at once (SIMD ``pybase64``) and
    its text cut into slices, which costs far less than encoding chunk by chunk.
    """
    if size % 3:
        view = memoryview(data)
        for start in range(0, len(view), size):
            yield pybase64.b64encode_as_string(view[start : start + size])
        return
    text = pybase64.b64encode_as_string(data)
    step = size // 3 * 4
    for start in range(0, len(text), step):
        yield text[start : start + step]


def _display(path: Path) -> str:
    return str(path)


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A sample name (``greeting``) or a path, as an existing file path."""
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if not path.exists() and os.sep not in text and "." not in text:
        # Looks like a short name, not a path: ask the sample manifest.
        found = {name: entry.path for name, entry in read_manifest().items()}
        if text in found:
            return found[text]
        raise AudioError(
            f"{text!r} is neither an audio file nor a bundled sample: check the path, or use "
            f"one of {', '.join(found)}"
        )
    if not path.exists():
        raise AudioError(
            f"audio file {_display(path)} not found: check the path, or name a bundled sample "
            "(list them with `realtime-harness samples`)"
        )
    if path.is_dir():
        raise AudioError(f"{_display(path)} is a directory: give an audio file inside it")
    return path


def file_info(
    path: str | os.PathLike[str],
    *,
    raw_rate: int | None = None,
    raw_width: int = 2,
    raw_channels: int = 1,
) -> AudioFileInfo:
    """Read an audio file's header; raw headerless PCM needs ``raw_rate`` (and width/channels).

    Raises :class:`AudioError` with a one-line message for a missing, empty or unreadable file.
    """
    p = _resolve(path)
    size = p.stat().st_size
    if size == 0:
        raise AudioError(f"{_display(p)} is empty (0 bytes): record or export the audio again")
    if raw_rate is not None:
        if raw_width not in _RAW_WIDTHS:
            raise AudioError(
                f"{_display(p)}: raw sample width {raw_width} bytes is not supported: "
                "use 1, 2, 3 or 4"
            )
        if raw_rate <= 0 or raw_channels <= 0:
            raise AudioError(
                f"{_display(p)}: raw rate {raw_rate} Hz and {raw_channels} channel(s) must be "
                "positive: pass the rate the audio was recorded at"
            )
        frame = raw_width * raw_channels
        if size % frame:
            raise AudioError(
                f"{_display(p)} is {size} bytes, not whole {raw_width}-byte x "
                f"{raw_channels}-channel frames: check the raw width and channel count"
            )
        return AudioFileInfo(
            p, raw_rate, raw_channels, size // frame, "RAW", _RAW_WIDTHS[raw_width]
        )
    if p.suffix.lower() in _RAW_SUFFIXES:
        raise AudioError(
            f"{_display(p)} looks like headerless PCM: pass the raw rate and width "
            "(e.g. 24000 Hz, 2 bytes), or convert it to WAV"
        )
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        hint = "convert it to WAV, FLAC or OGG, or give raw rate and width for headerless PCM"
        reason = str(exc).split(":")[-1].strip() or "unknown format"
        raise AudioError(
            f"{_display(p)} is not audio libsndfile can read ({reason}): {hint}"
        ) from None
    return AudioFileInfo(
        p,
        int(info.samplerate),
        int(info.channels),
        int(info.frames),
        str(info.format),
        str(info.subtype),
    )


class AudioSource:
    """An audio file checked and ready to stream as wire-format chunks.

    Create with :func:`open_audio`. :attr:`notes` says, one line each, what will be converted
    (sample format, channels, rate, padding). Iterating twice re-reads the file.
    """

    def __init__(
        self,
        info: AudioFileInfo,
        *,
        fmt: AudioFormat,
        pad_start_ms: int,
        pad_end_ms: int,
        min_ms: int,
    ) -> None:
        self.info = info
        self.fmt = fmt
        self.pad_start_ms = pad_start_ms
        self.pad_end_ms = pad_end_ms
        self._notes: list[str] = []
        self.clipped = 0
        """Samples clipped to full scale by the last pass over the file."""
        name = _display(info.path)
        if pad_start_ms < 0 or pad_end_ms < 0:
            raise AudioError(f"{name}: padding must be zero or more milliseconds")
        if info.frames == 0:
            raise AudioError(
                f"{name} has a header but no audio frames: record or export the audio again"
            )
        sub = info.subtype
        if sub == "PCM_U8" or sub == "PCM_S8":
            self._notes.append(f"{name}: 8-bit input converted to 16-bit (its noise stays)")
        elif sub in ("FLOAT", "DOUBLE"):
            self._notes.append(f"{name}: {sub.lower()} samples converted to PCM16 with clipping")
        elif sub in ("PCM_24", "PCM_32"):
            self._notes.append(f"{name}: {sub[4:]}-bit input reduced to 16-bit")
        if info.channels != 1:
            self._notes.append(f"{name}: {info.channels} channels down-mixed to mono")
        if info.rate != fmt.rate:
            self._notes.append(
                f"{name}: resampled {info.rate} Hz -> {fmt.rate} Hz (soxr {RESAMPLE_QUALITY})"
            )
        if fmt is not AudioFormat.PCM16:
            self._notes.append(f"{name}: encoded as {fmt.value}")
        if pad_start_ms or pad_end_ms:
            self._notes.append(
                f"{name}: added {pad_start_ms} ms silence before and {pad_end_ms} ms after"
            )
        total_ms = info.duration_s * 1000 + pad_start_ms + pad_end_ms
        if total_ms < min_ms:
            raise AudioError(
                f"{name} is {total_ms:.0f} ms long; the server needs at least {min_ms} ms to "
                f"commit: use a longer recording or pad it (e.g. {min_ms - int(total_ms)} ms of "
                "trailing silence)"
            )

    @property
    def notes(self) -> list[str]:
        """One line per conversion applied; clipping appears once the audio has been read."""
        clipped = [f"{_display(self.info.path)}: {self.clipped} samples clipped"]
        return self._notes + (clipped if self.clipped else [])

    @property
    def duration_s(self) -> float:
        """Output length in seconds, padding included."""
        return self.info.duration_s + (self.pad_start_ms + self.pad_end_ms) / 1000

    @property
    def _int16_input(self) -> bool:
        return self.info.subtype == "PCM_16"

    @property
    def _block_frames(self) -> int:
        return max(1, int(_BLOCK_S * self.info.rate))

    def _blocks(self) -> Iterator[npt.NDArray[Any]]:
        """Raw input blocks, frames x channels, int16 when the file is 16-bit, else float32.

        Every block is a view of one buffer, overwritten by the next read: use it before
        asking for the next (a fresh array per block would cost a copy and page faults).
        """
        info = self.info
        # 16-bit input is read as int16: libsndfile's int->float conversion costs 6x the read.
        dtype = np.int16 if self._int16_input else np.float32
        buffer = np.empty((self._block_frames, info.channels), dtype=dtype)
        if info.container == "RAW":
            with sf.SoundFile(
                str(info.path),
                mode="r",
                format="RAW",
                subtype=info.subtype,
                samplerate=info.rate,
                channels=info.channels,
                endian="LITTLE",
            ) as f:
                yield from f.blocks(out=buffer)
        else:
            with sf.SoundFile(str(info.path)) as f:
                yield from f.blocks(out=buffer)

    def _mono(
        self,
        block: npt.NDArray[Any],
        offset: int,
        *,
        as_float: bool,
        scratch: npt.NDArray[np.float32] | None = None,
    ) -> npt.NDArray[Any]:
        """One channel: int16 kept as is when no float maths follows, float32 otherwise.

        16-bit input for the resampler is the plain float32 *sum* of its channels (exact), not
        the average in [-1, 1): scaling commutes with resampling, so :meth:`_to_wire` divides
        by the channel count on the smaller output (mono input needs no scaling pass at all).
        That sum is written into ``scratch`` when given (reused block after block).
        """
        channels = block.shape[1]
        if block.dtype != np.int16:
            if not np.isfinite(block).all():
                bad = int(np.argmin(np.isfinite(block).all(axis=1))) + offset
                raise AudioError(
                    f"{_display(self.info.path)} contains NaN or infinite samples (first at "
                    f"{bad / self.info.rate:.3f} s): re-export it as 16-bit PCM WAV"
                )
            mixed: npt.NDArray[Any] = (
                block[:, 0] if channels == 1 else block.mean(axis=1, dtype=np.float32)
            )
            return mixed
        if as_float:
            total = (
                np.empty(len(block), dtype=np.float32) if scratch is None else scratch[: len(block)]
            )
            # Column by column: ``sum(axis=1)`` over an interleaved block is ~10x slower.
            if channels == 1:
                np.copyto(total, block[:, 0])
                return total
            np.add(block[:, 0], block[:, 1], out=total, dtype=np.float32)
            for c in range(2, channels):
                np.add(total, block[:, c], out=total, dtype=np.float32)
            return total
        if channels == 1:
            one: npt.NDArray[Any] = block[:, 0]
            return one
        # Sum in int32 so loud channels cannot overflow.
        acc: npt.NDArray[np.int32] = np.add(block[:, 0], block[:, 1], dtype=np.int32)
        for c in range(2, channels):
            np.add(acc, block[:, c], out=acc)
        halved: npt.NDArray[np.int16] = (acc // channels).astype(np.int16)
        return halved

    def _to_wire(self, mono: npt.NDArray[Any], *, owned: bool = False) -> _Buffer:
        """Wire audio of int16 samples, or of float samples on the scale :meth:`_mono` made.

        ``owned`` says ``mono`` is a scratch array (the resampler's output) that may be
        overwritten, saving a copy. PCM16 comes back as a view of a fresh little-endian int16
        array (copying it into ``bytes`` would be one more pass), G.711 as bytes.
        """
        pcm: _Buffer
        if mono.dtype == np.int16:
            # A copy: ``mono`` may be a view of the read buffer, which the next block overwrites.
            pcm = np.array(mono, dtype="<i2", order="C").data
        elif len(mono) == 0:
            pcm = b""
        else:
            # 16-bit input arrives as the resampled sum of its channels, whose average is the
            # sum / channels; float files use 32767, libsndfile's own float->PCM16 scale.
            scale = 1.0 / self.info.channels if self._int16_input else 32767.0
            if not owned:
                y = mono * np.float32(scale)
            else:
                y = mono
                if scale != 1.0:
                    y *= np.float32(scale)
            # Two reductions find out whether anything needs clipping; counting is rare.
            if y.max() > 32767.0 or y.min() < -32768.0:
                self.clipped += int(np.count_nonzero((y > 32767.0) | (y < -32768.0)))
                np.clip(y, -32768.0, 32767.0, out=y)
            np.rint(y, out=y)
            pcm = y.astype("<i2").data
        if self.fmt is AudioFormat.G711_ULAW:
            return ulaw_encode(bytes(pcm))
        if self.fmt is AudioFormat.G711_ALAW:
            return alaw_encode(bytes(pcm))
        return pcm

    def wire_blocks(self) -> Iterator[bytes]:
        """Wire-format audio in large blocks (not chunk-aligned), padding included."""
        for buffer in self._wire_buffers():
            yield bytes(buffer)

    def _wire_buffers(self) -> Iterator[_Buffer]:
        """:meth:`wire_blocks` as buffers (``bytes``, or views of int16 arrays), each one new.

        Resampling runs in float32: soxr's int16 output path dithers differently depending on
        block boundaries, while float32 streaming equals a one-shot resample bit for bit.
        """
        self.clipped = 0
        if self.pad_start_ms:
            yield silence(self.pad_start_ms, self.fmt)
        resample = self.info.rate != self.fmt.rate
        rs = (
            soxr.ResampleStream(
                self.info.rate, self.fmt.rate, 1, dtype="float32", quality=RESAMPLE_QUALITY
            )
            if resample
            else None
        )
        scratch = (
            np.empty(self._block_frames, dtype=np.float32)
            if resample and self._int16_input
            else None
        )
        offset = 0
        for block in self._blocks():
            mono = self._mono(block, offset, as_float=resample, scratch=scratch)
            offset += len(block)
            if rs is None:
                yield self._to_wire(mono)
                continue
            out = rs.resample_chunk(mono)
            if len(out):
                yield self._to_wire(out, owned=True)
        if rs is not None:
            tail = rs.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                yield self._to_wire(tail, owned=True)
        if self.pad_end_ms:
            yield silence(self.pad_end_ms, self.fmt)

    def _runs(self, size: int) -> Iterator[_Buffer]:
        """The wire audio as runs of whole ``size``-byte chunks, then the short tail if any.

        A chunk straddling two blocks is joined on its own; the rest of each block is passed
        through as a view, never concatenated with the previous block's remainder.
        """
        carry = b""
        for buffer in self._wire_buffers():
            view = memoryview(buffer).cast("B")
            start = 0
            if carry:
                start = min(size - len(carry), len(view))
                carry += view[:start]
                if len(carry) < size:
                    continue
                yield carry
                carry = b""
            whole = start + (len(view) - start) // size * size
            if whole > start:
                yield view[start:whole]
            carry = bytes(view[whole:])
        if carry:
            yield carry

    def chunks(self, chunk_ms: int = DEFAULT_CHUNK_MS) -> Iterator[bytes]:
        """Exact ``chunk_ms`` chunks of wire audio (4,800 bytes per 100 ms of PCM16).

        The last partial chunk is kept. Raises :class:`AudioError` mid-stream if a block holds
        NaN or infinite samples.
        """
        size = chunk_bytes(chunk_ms, self.fmt)
        for run in self._runs(size):
            view = memoryview(run)
            for start in range(0, len(view), size):
                yield bytes(view[start : start + size])

    def encoded_chunks(self, chunk_ms: int = DEFAULT_CHUNK_MS) -> Iterator[str]:
        """:meth:`chunks` as base64 text, ready for ``input_audio_buffer.append``.

        Each run of whole chunks is encoded at once (see :func:`_encode_chunks`).
        """
        size = chunk_bytes(chunk_ms, self.fmt)
        for run in self._runs(size):
            yield from _encode_chunks(run, size)

    def read_all(self) -> bytes:
        """All the wire audio at once (for short files)."""
        return b"".join(self._wire_buffers())


def open_audio(
    name_or_path: str | os.PathLike[str],
    *,
    fmt: str | AudioFormat = AudioFormat.PCM16,
    raw_rate: int | None = None,
    raw_width: int = 2,
    raw_channels: int = 1,
    pad_start_ms: int = 0,
    pad_end_ms: int = 0,
    min_ms: int = MIN_COMMIT_MS,
) -> AudioSource:
    """Check an audio file (or sample name) and return a streamable :class:`AudioSource`.

    ``raw_rate`` marks the file as headerless little-endian PCM of ``raw_width`` bytes per sample
    and ``raw_channels`` channels. ``min_ms`` is the shortest acceptable output (padding
    included); the default is the 100 ms the server needs for a commit.
    """
    info = file_info(
        name_or_path, raw_rate=raw_rate, raw_width=raw_width, raw_channels=raw_channels
    )
    return AudioSource(
        info, fmt=parse_format(fmt), pad_start_ms=pad_start_ms, pad_end_ms=pad_end_ms, min_ms=min_ms
    )


def iter_prepared_chunks(
    name_or_path: str | os.PathLike[str],
    chunk_ms: int = DEFAULT_CHUNK_MS,
    *,
    fmt: str | AudioFormat = AudioFormat.PCM16,
    raw_rate: int | None = None,
    raw_width: int = 2,
    raw_channels: int = 1,
    pad_start_ms: int = 0,
    pad_end_ms: int = 0,
    min_ms: int = MIN_COMMIT_MS,
) -> Iterator[bytes]:
    """Stream a file as exact wire-format chunks; options as for :func:`open_audio`.

    The file is checked before the first chunk is produced, so a bad file fails at the call.
    """
    return open_audio(
        name_or_path,
        fmt=fmt,
        raw_rate=raw_rate,
        raw_width=raw_width,
        raw_channels=raw_channels,
        pad_start_ms=pad_start_ms,
        pad_end_ms=pad_end_ms,
        min_ms=min_ms,
    ).chunks(chunk_ms)


def iter_encoded_chunks(
    name_or_path: str | os.PathLike[str],
    chunk_ms: int = DEFAULT_CHUNK_MS,
    *,
    fmt: str | AudioFormat = AudioFormat.PCM16,
    raw_rate: int | None = None,
    raw_width: int = 2,
    raw_channels: int = 1,
    pad_start_ms: int = 0,
    pad_end_ms: int = 0,
    min_ms: int = MIN_COMMIT_MS,
) -> Iterator[str]:
    """Stream a file as base64 chunks ready for ``input_audio_buffer.append``."""
    return open_audio(
        name_or_path,
        fmt=fmt,
        raw_rate=raw_rate,
        raw_width=raw_width,
        raw_channels=raw_channels,
        pad_start_ms=pad_start_ms,
        pad_end_ms=pad_end_ms,
        min_ms=min_ms,
    ).encoded_chunks(chunk_ms)


def load_audio(
    name_or_path: str | os.PathLike[str],
    *,
    fmt: str | AudioFormat = AudioFormat.PCM16,
    raw_rate: int | None = None,
    raw_width: int = 2,
    raw_channels: int = 1,
    pad_start_ms: int = 0,
    pad_end_ms: int = 0,
    min_ms: int = MIN_COMMIT_MS,
) -> PreparedAudio:
    """All of a short file (or a bundled sample, by name) as wire audio with conversion notes.

    Options as for :func:`open_audio`. For long files prefer :func:`iter_prepared_chunks`.
    """
    src = open_audio(
        name_or_path,
        fmt=fmt,
        raw_rate=raw_rate,
        raw_width=raw_width,
        raw_channels=raw_channels,
        pad_start_ms=pad_start_ms,
        pad_end_ms=pad_end_ms,
        min_ms=min_ms,
    )
    pcm = src.read_all()
    return PreparedAudio(
        pcm=pcm,
        source=str(src.info.path),
        duration_s=len(pcm) / (src.fmt.rate * src.fmt.sample_width),
        notes=list(src.notes),
        fmt=src.fmt,
    )


class OutputAudio:
    """Collects assistant audio deltas (base64 PCM16 or G.711) and writes them as a WAV file.

    G.711 deltas are decoded to PCM16 at 8 kHz as they arrive, so the WAV plays anywhere.
    """

    def __init__(self, fmt: str | AudioFormat = "pcm16") -> None:
        self.fmt = parse_format(fmt)
        self._parts: list[bytes] = []
        self._bytes = 0
        self.deltas = 0

    def add_delta(self, b64: str) -> int:
        """Add one ``delta`` field; returns its decoded byte count (wire format).

        Raises :class:`ValueError` for text that is not base64.
        """
        raw = decode_chunk(b64)
        self.deltas += 1
        self._bytes += len(raw)
        self._parts.append(raw)
        return len(raw)

    def add_bytes(self, raw: bytes) -> None:
        """Add already-decoded wire audio."""
        self._bytes += len(raw)
        self._parts.append(raw)

    @property
    def wire_bytes(self) -> int:
        """Bytes of wire audio received so far."""
        return self._bytes

    @property
    def duration_s(self) -> float:
        """Seconds of audio received so far."""
        return self._bytes / (self.fmt.rate * self.fmt.sample_width)

    def pcm16(self) -> bytes:
        """Everything received, as little-endian PCM16 at :attr:`fmt`'s rate.

        A trailing odd byte of PCM16 (a half sample cut by the server) is dropped.
        """
        raw = b"".join(self._parts)
        if self.fmt is AudioFormat.G711_ULAW:
            return ulaw_decode(raw)
        if self.fmt is AudioFormat.G711_ALAW:
            return alaw_decode(raw)
        return raw[: len(raw) - len(raw) % 2]

    def write_wav(self, path: str | os.PathLike[str]) -> Path:
        """Write a mono 16-bit WAV (24 kHz, or 8 kHz for G.711) and return its path.

        The parent directory is created if needed.
        """
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        samples = np.frombuffer(self.pcm16(), dtype="<i2")
        sf.write(str(p), samples, self.fmt.rate, subtype="PCM_16", format="WAV")
        return p
