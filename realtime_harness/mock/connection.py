"""The mock's WebSocket connection: several text frames written with one socket write.

A mock session often has several events due at the same instant (a transcript delta with the
audio it is spoken in, the events that open and close a response). Sent one ``send`` each, every
frame costs its own pass through the library's send path and its own ``send()`` system call, the
largest part of a busy mock's CPU (``scripts/bench_mock.py``, docs/benchmarks.md). Each event is
still its own complete text frame on the wire (RFC 6455 section 5.6, no fragmentation), so a
client sees exactly what it would see from separate sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable, Sequence
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import DATA_OPCODES, Frame, Opcode
from websockets.protocol import Event, Protocol, State
from websockets.streams import StreamReader

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover  # the library built without its C extension
    from websockets.utils import apply_mask

__all__ = ["BatchingConnection", "send_texts", "text_frame_header"]


_WHOLE = (Opcode.TEXT, Opcode.BINARY)
#: Messages kept for the callback before it is set; past this, the library's queue takes over.
_EARLY_CAP = 64
#: The header of an unmasked, unfragmented text frame (RFC 6455 section 5.2: FIN and opcode 1,
#: then the payload length in 7 bits, or 126 and 16 bits, or 127 and 64 bits; a server does not
#: mask), by payload length.
_TEXT = 0x81
_HEAD_16 = struct.Struct("!BBH").pack
_HEAD_64 = struct.Struct("!BBQ").pack
_LENGTH_64 = struct.Struct("!Q").unpack_from
#: The library's frame parser, and where it waits for the first byte of the next frame (None
#: when this library version has neither: its own parser then reads every frame).
_PARSE_CODE = getattr(getattr(Protocol, "parse", None), "__code__", None)
_AT_EOF_CODE = getattr(getattr(StreamReader, "at_eof", None), "__code__", None)


def text_frame_header(length: int) -> bytes:
    """The header of a server's text frame of ``length`` payload bytes, as the library
    serialises it (no extension, no mask)."""
    if length < 126:
        return bytes((_TEXT, length))
    if length < 65536:
        return _HEAD_16(_TEXT, 126, length)
    return _HEAD_64(_TEXT, 127, length)


class BatchingConnection(ServerConnection):
    """A :class:`~websockets.asyncio.server.ServerConnection` that sends a batch of text frames
    in one write (``serve(..., create_connection=BatchingConnection)``), and can hand each
    received message to a callback instead of queueing it for ``recv()``.

    The callback (:meth:`take_messages`) runs as the frames are parsed: no task switch per
    client message. Messages that arrive before it is set are kept and given to it first; a
    fragmented message, and everything after it, goes the library's way (``recv()``), so the
    order of the client's messages is kept either way.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_message: Callable[[bytes], None] | None = None
        self._after_read: Callable[[], None] | None = None
        self._early: list[Frame] = []
        self._queued = False
        #: Whole client frames are parsed here (see :meth:`_parse`), the library's parser left
        #: waiting at the start of a frame.
        self._direct = False
        #: The start of a frame not yet whole (direct parsing), and how many bytes make it whole
        #: (or its header readable).
        self._partial = bytearray()
        self._need = 0

    def take_messages(
        self,
        callback: Callable[[bytes], None] | None,
        after_read: Callable[[], None] | None = None,
    ) -> None:
        """Give each whole received message to ``callback`` (None: keep them for later), those
        received so far first; call ``after_read`` once the messages of each read from the socket
        have all been given (the moment to answer them: whatever the client had sent by then
        has been handled)."""
        self._on_message = callback
        self._after_read = after_read if callback is not None else None
        while callback is not None and self._early and self._on_message is callback:
            callback(bytes(self._early.pop(0).data))

    def queue_messages(self) -> None:
        """From now on every message goes the library's way: queued for ``recv()``, whose flow
        control stops reading from a client that sends faster than it is read."""
        self._on_message = None
        self._after_read = None
        self._queued = True
        early, self._early = self._early, []
        for frame in early:
            self.recv_messages.put(frame)

    def data_received(self, data: bytes) -> None:
        """Parse what was read (each whole message to the callback), then run the
        ``after_read`` hook."""
        if self._direct or self._may_parse_directly():
            self._parse(data)
        else:
            super().data_received(data)
        after_read = self._after_read
        if after_read is not None:
            after_read()

    def _may_parse_directly(self) -> bool:
        """Whether whole client frames can be parsed here from now on: messages go to the
        callback, the connection is open with no extension, and the library's parser is waiting
        for the first byte of a frame with nothing buffered (what it has been given ended with
        a whole frame), so what it is given later starts with one.

        What it reads of the library is not its public interface: a version that lays it out
        otherwise is left to parse every frame itself."""
        if self._on_message is None or self._queued or self.request is None:
            return False
        if _PARSE_CODE is None or _AT_EOF_CODE is None:
            return False
        protocol = self.protocol
        try:
            if (
                protocol.state is not State.OPEN
                or protocol.extensions
                or protocol.debug
                or protocol.reader.buffer
                # the size limits this parser applies, by this library version's names
                or protocol.max_fragment_size is not None
                or not isinstance(protocol.max_message_size, int | None)
            ):
                return False
            generator: Any = protocol.parser
        except AttributeError:
            return False
        parsing = False
        while generator is not None:
            code = getattr(generator, "gi_code", None)
            parsing = parsing or code is _PARSE_CODE
            inner = getattr(generator, "gi_yieldfrom", None)
            if inner is None:
                self._direct = parsing and code is _AT_EOF_CODE
                return self._direct
            generator = inner
        return False

    def _parse(self, data: bytes) -> None:
        """Parse client frames here, without the library's generator-based parser: the
        common frame (a whole, masked text or binary message within the size limit) is unmasked
        and given to the callback. Any other frame goes to the library whole: a control frame
        (ping, close), a fragment, or one the library must refuse (unmasked, reserved bits, too
        big; RFC 6455 sections 5.1-5.5), and once the callback is unset or the connection is no
        longer open, all that follows does.

        The library's parser took about a sixth of a busy mock's CPU, and its generators were
        most of the objects each session renews per message (docs/benchmarks.md).
        """
        partial = self._partial
        if partial:
            partial += data
            if len(partial) < self._need:
                return
            data = bytes(partial)
            partial.clear()
        protocol = self.protocol
        max_size = protocol.max_message_size
        open_ = State.OPEN
        end = len(data)
        view = memoryview(data)
        pos = 0
        need = 2
        while end - pos >= 2:
            head1 = data[pos]
            head2 = data[pos + 1]
            length = head2 & 0x7F
            start = pos + 6  # 2 header bytes, the 4-byte mask
            if length == 126:
                if end - pos < 4:
                    need = 4
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 8
            elif length == 127:
                if end - pos < 10:
                    need = 10
                    break
                length = _LENGTH_64(data, pos + 2)[0]
                start = pos + 14
            if not head2 & 0x80 or head1 & 0x70 or (max_size is not None and length > max_size):
                self._leave_direct(data[pos:])
                return
            stop = start + length
            if stop > end:
                need = stop - pos
                break
            opcode = head1 & 0x0F
            callback = self._on_message
            if (
                head1 & 0x80
                and (opcode == 1 or opcode == 2)
                and callback is not None
                and protocol.state is open_
            ):
                callback(apply_mask(view[start:stop], data[start - 4 : start]))
            else:
                # whole, so the library's parser is at the start of a frame again after it
                super().data_received(data[pos:stop])
                if self._queued or self._on_message is None or protocol.state is not open_:
                    self._leave_direct(data[stop:])
                    return
            pos = stop
        if pos < end:
            partial += view[pos:]
            self._need = need
        view.release()

    def _leave_direct(self, rest: bytes) -> None:
        """From now on the library parses everything, starting with ``rest`` (which begins
        with a frame's first byte)."""
        self._direct = False
        self._partial.clear()
        if rest:
            super().data_received(rest)

    def process_event(self, event: Event) -> None:
        """A whole data message goes to the callback; the rest to the library."""
        if (
            isinstance(event, Frame)
            and event.opcode in DATA_OPCODES
            and not self._queued
            and self.request is not None
        ):
            if event.opcode in _WHOLE and event.fin:
                callback = self._on_message
                if callback is not None:
                    callback(bytes(event.data))
                    return
                if len(self._early) < _EARLY_CAP:
                    self._early.append(event)
                    return
            # a fragmented message, or a flood before the callback is set: recv() gets this
            # and everything that follows
            self.queue_messages()
        super().process_event(event)

    async def send_texts(self, frames: Sequence[bytes]) -> None:
        """Send each UTF-8 payload of ``frames`` as its own text frame, in order, with one write.

        Raises :exc:`~websockets.exceptions.ConnectionClosed` like ``send`` when the connection
        is closed, and waits like ``send`` while the client is not reading (write buffer full).
        """
        if len(frames) == 1:
            await self.send(frames[0], text=True)
            return
        # the library's own rule: never interleave with a fragmented message being sent
        while self.send_in_progress is not None:
            await asyncio.shield(self.send_in_progress)
        async with self.send_context():
            for frame in frames:
                self.protocol.send_text(frame)

    def can_write_now(self) -> bool:
        """Whether :meth:`write_texts_now` would send at once: open, and not waiting for the
        client to read (nor in the middle of another send)."""
        return (
            self.send_in_progress is None
            and self.protocol.state is State.OPEN
            and not self.paused
            and not self.transport.is_closing()
        )

    def write_texts_now(self, frames: Sequence[bytes]) -> None:
        """Send text frames from a callback, without waiting: only when :meth:`can_write_now`.

        What ``send`` does when nothing makes it wait, minus its coroutine: the frames go out in
        one write. A failing write fails the connection, as in ``send``.
        """
        protocol = self.protocol
        data: list[bytes] | None = None
        if (
            protocol.debug
            or protocol.extensions
            or protocol.writes
            or protocol.expect_continuation_frame
            or protocol.state is not State.OPEN
        ):
            # the library's path: it logs each frame, an extension encodes it, data is waiting
            # to go out first, or the state is not one to send in (send_text raises)
            for frame in frames:
                protocol.send_text(frame)
        else:
            # Framing each payload here writes the bytes the library's send_text would (a
            # header and the payload, checked against it in tests/mock), without building
            # and serialising a Frame object and copying the payload twice per event, which
            # took about 4 % of a busy mock's CPU (docs/benchmarks.md, bench_mock).
            data = []
            for frame in frames:
                data.append(text_frame_header(len(frame)))
                data.append(frame)
        try:
            if data is None:
                self.send_data()
            else:
                self.transport.write(b"".join(data))
        except Exception as exc:
            self.set_connection_exc(exc)
            self.transport.abort()

    def send_data(self) -> None:
        """Write what the protocol has to send, joined into one write when it is several frames
        (the library writes each frame separately)."""
        writes = self.protocol.data_to_send()
        if len(writes) > 1 and b"" not in writes:
            self.transport.write(b"".join(writes))
            return
        for data in writes:
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                # the protocol asks to half-close the TCP connection (end of the closing handshake)
                with contextlib.suppress(Exception):
                    self.transport.write_eof()
            else:
                self.transport.close()


async def send_texts(ws: ServerConnection, frames: Sequence[bytes]) -> None:
    """Send text frames, batched when ``ws`` is a :class:`BatchingConnection`."""
    if isinstance(ws, BatchingConnection):
        await ws.send_texts(frames)
        return
    for frame in frames:
        await ws.send(frame, text=True)
