"""The driver loop: one :class:`~realtime_harness.protocol.session.ClientSession` over one
:class:`~realtime_harness.transport.base.Transport`. It owns the socket and the clock and nothing
else: no options, no files (observers attached to the session do that).

Pacing is an absolute schedule: the session names its next wake-up (an audio chunk or a
deadline), the loop receives until then and polls when it is due, even while frames keep coming.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from realtime_harness.exceptions import ConnectError, ConnectionClosed, HandshakeRejected
from realtime_harness.protocol.session import ClientSession, SessionResult
from realtime_harness.redact import contains_secret, redact_text
from realtime_harness.transport.base import Transport

__all__ = ["drive"]


async def drive(
    session: ClientSession,
    open_transport: Callable[[], Awaitable[Transport]],
    clock: Callable[[], float],
) -> SessionResult:
    """Connect, run ``session`` to its end, close, and return its result (never raises for
    remote trouble: a refused connection or upgrade, a close, a timeout are in the result)."""
    try:
        transport = await open_transport()
    except HandshakeRejected as exc:
        session.connect_failed(
            clock(), str(exc), status=exc.status, headers=exc.headers, body=exc.body
        )
        return session.result(clock())
    except ConnectError as exc:
        session.connect_failed(clock(), str(exc))
        return session.result(clock())
    info = transport.handshake
    session.handshake(
        info.status, info.headers, connect_ms=info.connect_ms, handshake_ms=info.handshake_ms
    )
    actions = session.start(clock())
    try:
        while True:
            for text in actions.send:
                await transport.send(text)
            if actions.finished:
                break
            now = clock()
            wake = actions.wakeup
            if wake is not None and wake <= now:
                actions = session.poll(now)
                continue
            try:
                text = await transport.recv(None if wake is None else wake - now)
            except TimeoutError:
                actions = session.poll(clock())
                continue
            if contains_secret(text):
                # A gateway that echoes the key must not put it into results, logs or files.
                text = redact_text(text)
            actions = session.receive(text, clock())
    except ConnectionClosed as exc:
        session.closed(exc.code, exc.reason, clock())
    finally:
        if session.closed_by is None:
            await transport.close(1000, "")
            session.closed_by_client(transport.close_code, transport.close_reason)
    return session.result(clock())
