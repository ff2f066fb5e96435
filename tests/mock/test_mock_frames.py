"""The mock connection's own parsing of client frames: what the callback and the library see.

The client frames are built by the library's serialiser and fed to the server connection's
``data_received`` in every way TCP may cut them; a real client on loopback (127.0.0.1) holds the
connection open and receives what the server answers (pongs, close frames).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from realtime_harness.mock.connection import BatchingConnection

TIMEOUT = 5.0


def client_frame(
    payload: bytes, opcode: Opcode = Opcode.TEXT, *, fin: bool = True, mask: bool = True
) -> bytes:
    """A client frame as the library writes it (masked, RFC 6455 section 5.3)."""
    return Frame(opcode, payload, fin).serialize(mask=mask)


@dataclass
class Pair:
    """The server side of one connection (messages to ``seen``) and its client."""

    server: BatchingConnection
    client: ClientConnection
    seen: list[bytes] = field(default_factory=list)

    def feed(self, data: bytes, cuts: list[int] | None = None) -> None:
        """Give ``data`` to the server connection as reads cut at ``cuts``."""
        bounds = [0, *(cuts or []), len(data)]
        for start, stop in itertools.pairwise(bounds):
            if stop > start:
                self.server.data_received(data[start:stop])


@asynccontextmanager
async def pair(*, take: bool = True, max_size: int | None = 2**20) -> AsyncIterator[Pair]:
    """A connected client and the server's connection, messages to a callback (``take``)."""
    connections: asyncio.Queue[BatchingConnection] = asyncio.Queue()
    release = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, BatchingConnection)
        await connections.put(ws)
        await release.wait()

    async with serve(
        handler,
        "127.0.0.1",
        0,
        compression=None,
        max_size=max_size,
        create_connection=BatchingConnection,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as client:
            ws = await asyncio.wait_for(connections.get(), TIMEOUT)
            made = Pair(ws, client)
            if take:
                ws.take_messages(made.seen.append)
            try:
                yield made
            finally:
                release.set()


PAYLOADS = [
    b'{"type":"input_audio_buffer.commit"}',
    b"",  # an empty message
    b'{"a":"' + b"x" * 200 + b'"}',  # a 16-bit length
    b'{"audio":"' + b"A" * 70_000 + b'"}',  # a 64-bit length
    bytes(range(256)),  # a binary message: any bytes
]


def _frames() -> tuple[bytes, list[bytes]]:
    data = b"".join(
        client_frame(p, Opcode.BINARY if i == 4 else Opcode.TEXT) for i, p in enumerate(PAYLOADS)
    )
    return data, PAYLOADS


@pytest.mark.asyncio
async def test_whole_frames_in_one_read_reach_the_callback_parsed_here() -> None:
    data, expected = _frames()
    async with pair() as p:
        p.feed(data)
        assert p.seen == expected
        assert p.server._direct  # not the library's parser


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", range(6))
async def test_frames_cut_anywhere_arrive_whole_and_in_order(seed: int) -> None:
    """TCP cuts reads anywhere: inside a header, its length, its mask or its payload."""
    data, expected = _frames()
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), 40))
    async with pair() as p:
        p.feed(data, cuts)
        assert p.seen == expected


@pytest.mark.asyncio
async def test_frames_fed_one_byte_at_a_time_arrive_whole() -> None:
    data = b"".join(client_frame(p) for p in PAYLOADS[:3])
    async with pair() as p:
        p.feed(data, list(range(1, len(data))))
        assert p.seen == PAYLOADS[:3]


@pytest.mark.asyncio
async def test_a_ping_between_messages_is_answered_by_the_library() -> None:
    async with pair() as p:
        protocol = p.server.protocol
        sent: list[Frame] = []
        send_frame = protocol.send_frame

        def spy(frame: Frame) -> None:
            sent.append(frame)
            send_frame(frame)

        protocol.send_frame = spy  # type: ignore[method-assign]
        p.feed(client_frame(b"one") + client_frame(b"hi", Opcode.PING) + client_frame(b"two"))
        assert p.seen == [b"one", b"two"]
        assert p.server._direct
        assert [(f.opcode, f.data) for f in sent] == [(Opcode.PONG, b"hi")]


@pytest.mark.asyncio
async def test_a_fragmented_message_and_what_follows_go_to_recv() -> None:
    data = (
        client_frame(b"whole")
        + client_frame(b"frag", fin=False)
        + client_frame(b"ments", Opcode.CONT)
        + client_frame(b"after")
    )
    async with pair() as p:
        p.feed(data, [3, 20])
        assert p.seen == [b"whole"]
        assert not p.server._direct
        got = [await asyncio.wait_for(p.server.recv(decode=False), TIMEOUT) for _ in range(2)]
        assert got == [b"fragments", b"after"]


@pytest.mark.asyncio
async def test_queue_messages_from_the_callback_hands_the_rest_of_the_read_to_recv() -> None:
    async with pair(take=False) as p:

        def callback(message: bytes) -> None:
            p.seen.append(message)
            p.server.queue_messages()  # as the mock does for a client that broke the bounds

        p.server.take_messages(callback)
        p.feed(client_frame(b"first") + client_frame(b"second") + client_frame(b"thi"))
        assert p.seen == [b"first"]
        assert await asyncio.wait_for(p.server.recv(decode=False), TIMEOUT) == b"second"
        assert await asyncio.wait_for(p.server.recv(decode=False), TIMEOUT) == b"thi"


@pytest.mark.asyncio
async def test_what_came_before_the_callback_is_finished_by_the_library() -> None:
    """Half a frame read before the callback is set: the library completes it, and parsing
    moves here only once the library waits at the start of a frame."""
    first, then = client_frame(b"x" * 300), client_frame(b"next")  # each with its own mask
    async with pair(take=False) as p:
        p.feed(first[:5])  # the header and part of the mask: the library holds it
        p.server.take_messages(p.seen.append)
        p.feed(first[5:] + then[:3])
        assert p.seen == [b"x" * 300]
        assert not p.server._direct  # the library is inside a frame
        p.feed(then[3:])
        assert p.seen == [b"x" * 300, b"next"]
        p.feed(client_frame(b"here"))
        assert p.server._direct
        assert p.seen[-1] == b"here"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(b"not masked", mask=False), 1002),  # RFC 6455 5.1: a server must close
        (bytes([0xC1]) + client_frame(b"rsv1")[1:], 1002),  # reserved bit, no extension
        (client_frame(b"x" * 2_000), 1009),  # over max_size
        (bytes([0x83]) + client_frame(b"op")[1:], 1002),  # opcode 3 is reserved
    ],
    ids=["unmasked", "reserved-bit", "too-big", "reserved-opcode"],
)
async def test_frames_the_library_refuses_still_fail_the_connection(
    frame: bytes, code: int
) -> None:
    async with pair(max_size=1_000) as p:
        p.feed(client_frame(b"before") + frame + client_frame(b"after"))
        assert p.seen == [b"before"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(p.client.recv(), TIMEOUT)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == code


@pytest.mark.asyncio
async def test_a_close_frame_closes_and_later_frames_are_not_given() -> None:
    async with pair() as p:
        close = Frame(Opcode.CLOSE, b"\x03\xe8bye").serialize(mask=True)
        p.feed(client_frame(b"last") + close + client_frame(b"too late"))
        assert p.seen == [b"last"]
        await asyncio.wait_for(p.server.wait_closed(), TIMEOUT)
        assert p.server.close_code == 1000


@pytest.mark.asyncio
async def test_the_pure_python_unmasking_gives_the_same_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the library's C extension its Python ``apply_mask`` is used, with the same
    arguments."""
    from websockets.utils import apply_mask

    from realtime_harness.mock import connection

    monkeypatch.setattr(connection, "apply_mask", apply_mask)
    data, expected = _frames()
    async with pair() as p:
        p.feed(data, [7, 300, 5000])
        assert p.seen == expected


@pytest.mark.asyncio
async def test_a_library_laid_out_otherwise_parses_every_frame_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the connection reads of websockets is not its public interface: when the parser's
    code is not where it was looked for, or the protocol lacks an attribute, frames go the
    library's way and nothing fails."""
    from types import SimpleNamespace

    from websockets.protocol import State

    from realtime_harness.mock import connection

    monkeypatch.setattr(connection, "_AT_EOF_CODE", None)
    data, expected = _frames()
    async with pair() as p:
        p.feed(data, [9, 500])
        assert p.seen == expected
        assert not p.server._direct
        monkeypatch.undo()
        protocol = p.server.protocol
        # an open protocol without the reader this version has
        p.server.protocol = SimpleNamespace(  # type: ignore[assignment]
            state=State.OPEN, extensions=[], debug=False
        )
        try:
            assert not p.server._may_parse_directly()
        finally:
            p.server.protocol = protocol
        p.feed(client_frame(b"then"))
        assert p.server._direct
        assert p.seen[-1] == b"then"
