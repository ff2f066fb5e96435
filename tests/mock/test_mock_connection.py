"""The mock's WebSocket connection: batched writes are separate frames, messages keep their order.

Real loopback sockets (127.0.0.1), no timing: each test waits for what it expects.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from realtime_harness.mock.config import BehaviourConfig, Latency
from realtime_harness.mock.connection import BatchingConnection, send_texts
from realtime_harness.mock.schedule import DeltaStream, Stream
from realtime_harness.mock.session import SessionBehaviour
from realtime_harness.mock.voices import tone_voice
from realtime_harness.mock.wire import audio_chunks, split_words
from realtime_harness.protocol.dialects import Dialect

TIMEOUT = 5.0


async def _url(handler: Callable[[ServerConnection], Awaitable[None]]) -> AsyncIterator[str]:
    async with serve(
        handler, "127.0.0.1", 0, compression=None, create_connection=BatchingConnection
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


@pytest.mark.asyncio
async def test_a_batch_reaches_the_client_as_separate_text_messages_in_order() -> None:
    """send_texts writes several events at once; the client still reads one message each."""
    frames = [b'{"n":1}', b'{"n":2}', b'{"n":3,"pad":"' + b"x" * 70_000 + b'"}']

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, BatchingConnection)
        await send_texts(ws, frames)
        assert ws.can_write_now()
        ws.write_texts_now([b'{"n":4}', b'{"n":5}'])
        await ws.wait_closed()

    async for url in _url(handler):
        async with connect(url, compression=None, max_size=None) as client:
            got = [await asyncio.wait_for(client.recv(), TIMEOUT) for _ in range(5)]
    assert got == [f.decode() for f in frames] + ['{"n":4}', '{"n":5}']


@pytest.mark.asyncio
async def test_send_texts_falls_back_to_one_send_per_frame_on_a_plain_connection() -> None:
    """Any ServerConnection works with send_texts (no batching there)."""

    async def handler(ws: ServerConnection) -> None:
        await send_texts(ws, [b"a", b"b"])
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as client:
            got = [await asyncio.wait_for(client.recv(), TIMEOUT) for _ in range(2)]
    assert got == ["a", "b"]


@pytest.mark.asyncio
async def test_the_callback_gets_every_message_in_order_including_those_sent_before_it() -> None:
    """Messages that arrive before take_messages are given to the callback first."""
    seen: list[bytes] = []
    enough = asyncio.Event()

    def callback(message: bytes) -> None:
        seen.append(message)
        if len(seen) == 6:
            enough.set()

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, BatchingConnection)
        await ws.send("ready")  # the client sends its first three messages after this
        async with asyncio.timeout(TIMEOUT):
            # the three early messages have arrived (nothing to wait on but the list)
            while len(ws._early) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0)
        ws.take_messages(callback)
        await ws.send("taken")
        await asyncio.wait_for(enough.wait(), TIMEOUT)
        await ws.send("done")

    async for url in _url(handler):
        async with connect(url, compression=None) as client:
            assert await client.recv() == "ready"
            for n in range(3):
                await client.send(f"early {n}")
            assert await asyncio.wait_for(client.recv(), TIMEOUT) == "taken"
            for n in range(3):
                await client.send(f"late {n}".encode())  # binary frames too
            assert await asyncio.wait_for(client.recv(), TIMEOUT) == "done"
    assert seen == [b"early 0", b"early 1", b"early 2", b"late 0", b"late 1", b"late 2"]


@pytest.mark.asyncio
async def test_a_fragmented_message_and_all_that_follow_go_to_recv_in_order() -> None:
    """Once a message comes in fragments, recv() assembles it and reads the rest, in order."""
    direct: list[bytes] = []

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, BatchingConnection)
        ws.take_messages(direct.append)
        await ws.send("ready")
        got = [await asyncio.wait_for(ws.recv(decode=False), TIMEOUT) for _ in range(2)]
        await ws.send(repr(got))

    async for url in _url(handler):
        async with connect(url, compression=None) as client:
            assert await client.recv() == "ready"
            await client.send("whole")
            await client.send(["frag", "ments"])  # one message in two frames
            await client.send("after")
            assert await asyncio.wait_for(client.recv(), TIMEOUT) == repr([b"fragments", b"after"])
    assert direct == [b"whole"]


@pytest.mark.asyncio
async def test_queue_messages_hands_everything_back_to_recv() -> None:
    """After queue_messages the library's queue (and its flow control) gets every message."""
    direct: list[bytes] = []
    first = asyncio.Event()

    def callback(message: bytes) -> None:
        direct.append(message)
        first.set()

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, BatchingConnection)
        ws.take_messages(callback)
        await ws.send("ready")
        await asyncio.wait_for(first.wait(), TIMEOUT)
        ws.queue_messages()
        await ws.send("switched")
        assert await asyncio.wait_for(ws.recv(decode=False), TIMEOUT) == b"queued"
        await ws.send("ok")

    async for url in _url(handler):
        async with connect(url, compression=None) as client:
            assert await client.recv() == "ready"
            await client.send("direct")
            assert await asyncio.wait_for(client.recv(), TIMEOUT) == "switched"
            await client.send("queued")
            assert await asyncio.wait_for(client.recv(), TIMEOUT) == "ok"
    assert direct == [b"direct"]


Delta = tuple[float, str, str, int]


def _reference_layout(
    words: list[str], chunks: tuple[tuple[str, int], ...], at: float
) -> list[Delta]:
    """The per-chunk layout spelled out: each word just before the audio it is spoken in."""
    n = max(1, len(chunks))
    word_at = [min(n - 1, (j * n) // max(1, len(words))) for j in range(len(words))]
    out: list[Delta] = []
    offset = 0
    w = 0
    t = at
    for index, (b64, ms) in enumerate(chunks):
        t = at + offset / 1000.0
        while w < len(words) and word_at[w] <= index:
            out.append((t, "response.output_audio_transcript.delta", words[w], 0))
            w += 1
        out.append((t, "response.output_audio.delta", b64, ms))
        offset += ms
    out += [(t, "response.output_audio_transcript.delta", word, 0) for word in words[w:]]
    return out


@pytest.mark.parametrize("seconds", [0.05, 0.35, 1.25])
def test_an_audio_answer_is_laid_out_word_before_the_audio_it_is_spoken_in(
    seconds: float,
) -> None:
    """The (cached) layout of a voice: times at 1x from the first delta, words with their
    audio, leftover words with the last chunk; the same for every response."""
    voice = tone_voice(seconds, "One two three four five six seven.")
    config = BehaviourConfig(
        dialect=Dialect.GA,
        latency=Latency(response_s=0.0, first_delta_s=0.25, speed=1.0),
        voices=(voice,),
    )
    for _ in range(2):  # the second response uses the cached layout
        session = SessionBehaviour(config, rng=random.Random(7), now=10.0, wall_now=0.0)
        session.receive({"type": "response.create"}, 10.0)
        [stream] = [e.stream for _, _, e in session.scheduler._heap if isinstance(e, Stream)]
        assert isinstance(stream, DeltaStream)
        got = list(zip(stream.times, stream.types, stream.payloads, stream.audio_ms, strict=True))
        expected = _reference_layout(
            split_words(voice.text), audio_chunks(voice, "pcm16", 100), 10.25
        )
        assert got == expected
