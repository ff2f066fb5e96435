"""The driver loop: one :class:`~realtime_harness.protocol.session.ClientSession` over one
:class:`~realtime_harness.transport.base.Transport`. It owns the socket and the clock and nothing
else: no options, no files (observers attached to the session do that).

Pacing is an absolute schedule: the session names its next wake-up (an audio chunk or a
deadline), the loop receives until then and polls when it is due, even while frames keep coming.
A soak runner passes ``on_paced`` to learn how late each paced send went out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from realtime_harness.exceptions import ConnectError, ConnectionClosed, HandshakeRejected
from realtime_harness.protocol.session import Actions, ClientSession, SessionResult
from realtime_harness.redact import contains_secret, redact_text
from realtime_harness.transport.base import OnDue, PacedTransport, Transport

__all__ = ["drive"]


async def drive(
    session: ClientSession,
    open_transport: Callable[[], Awaitable[Transport]],
    clock: Callable[[], float],
    on_paced: Callable[[float, float], None] | None = None,
) -> SessionResult:
    """Connect, run ``session`` to its end, close, and return its result (never raises for
    remote trouble: a refused connection or upgrade, a close, a timeout are in the result).

    ``on_paced(due, sent)`` is called after the frames of each scheduled wake-up (the paced
    audio appends) went out: ``due`` is when they were scheduled, ``sent`` the clock after the
    last send returned.
    """
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
    due: float | None = None
    send, recv, poll = transport.send, transport.recv, session.poll
    pacer = (
        _Pacer(session, transport, clock, on_paced)
        if isinstance(transport, PacedTransport)
        else None
    )
    try:
        while True:
            if actions.send:
                for text in actions.send:
                    await send(text)
                if due is not None and on_paced is not None:
                    on_paced(due, clock())
            if actions.finished:
                break
            wake = actions.wakeup
            now = clock()
            if wake is not None and wake <= now:
                due = wake
                actions = poll(now)
                continue
            # Nothing of the last step is kept over the wait: what a session holds while it
            # waits is alive in every session at once, so each garbage-collection pass of the
            # youngest generation walks it (docs/benchmarks.md).
            del actions
            try:
                if pacer is not None and wake is not None:
                    text = await pacer.transport.recv(wake - now, pacer.arm(wake))
                else:
                    text = await recv(None if wake is None else wake - now)
            except TimeoutError:
                if pacer is not None and wake is not None:
                    left = pacer.take()
                    if left is not None:
                        due, actions = left
                        continue
                    wake = pacer.wake
                # The wake-up's timer fired, so it is due, even when the clock still reads a
                # little before it: uvloop (libuv) counts timers in whole milliseconds and
                # fires up to 1 ms early. Polling at the clock would find nothing due and wait
                # again, spinning through the loop until the millisecond passes (a third of a
                # soak's polls did, docs/benchmarks.md).
                due = wake
                now = clock()
                actions = poll(now if wake is None or now >= wake else wake)
                continue
            due = None
            actions = session.receive(_safe(text), clock())
            if actions.wakeup is not None and not actions.send:
                # A burst of frames (a response streaming in) is taken one frame per turn of
                # the event loop, so other sessions' paced sends that fall due in between go
                # out on time instead of after this session's whole burst (docs/soak.md).
                await asyncio.sleep(0)
    except ConnectionClosed as exc:
        await _received_before(session, transport, clock)
        session.closed(exc.code, exc.reason, clock())
    finally:
        if session.closed_by is None:
            await transport.close(1000, "")
            session.closed_by_client(transport.close_code, transport.close_reason)
    return session.result(clock())


class _Pacer:
    """The paced part of a session run from the loop's timer while the driving task waits.

    Every 100 ms a streaming session has one chunk to send. Resuming the task for it (end the
    wait, raise its timeout, poll, send, wait again) costs more than the chunk itself, so on a
    :class:`PacedTransport` the wait's timer calls :meth:`on_due`, which polls the session and
    sends what is due with ``send_now``, then waits on for the next wake-up. The task resumes
    only for what needs it: a frame received, a step that is not only frames to send (the end,
    a wait for frames alone), a send that would have to wait, or an error, which the task
    raises. Polls and sends are the task's own calls, in the same order: the session cannot
    tell the two paths apart (docs/architecture.md).
    """

    __slots__ = ("clock", "error", "left", "on_paced", "session", "transport", "wake")

    def __init__(
        self,
        session: ClientSession,
        transport: PacedTransport,
        clock: Callable[[], float],
        on_paced: Callable[[float, float], None] | None,
    ) -> None:
        self.session = session
        self.transport = transport
        self.clock = clock
        self.on_paced = on_paced
        #: The wake-up the current timer is for.
        self.wake = 0.0
        #: A step polled here that the task must carry out (due, actions).
        self.left: tuple[float, Actions] | None = None
        #: What went wrong here, for the task to raise.
        self.error: Exception | None = None

    def arm(self, wake: float) -> OnDue:
        """The ``on_due`` of a wait for ``wake`` (the task's receive, which sends what falls
        due on the way until a frame or a step for the task)."""
        self.wake = wake
        # A bound method per wait of the task, not one kept on the pacer: that would be a
        # reference cycle holding the whole session until a full garbage collection. No
        # coroutine of its own either: every object a waiting session holds is walked once by
        # the next young-generation pass (docs/benchmarks.md).
        return self.on_due

    def on_due(self) -> float | None:
        """The wake-up is due: poll, send, and return the seconds to the next one; None when
        the task must take over (see :meth:`take`)."""
        try:
            clock = self.clock
            wake = self.wake
            now = clock()
            # A fired timer's wake-up is due even a little before it (see drive).
            actions = self.session.poll(now if now >= wake else wake)
            texts = actions.send
            sent = 0
            if not actions.finished and actions.wakeup is not None:
                send_now = self.transport.send_now
                for text in texts:
                    if not send_now(text):
                        break
                    sent += 1
                else:
                    if texts and self.on_paced is not None:
                        self.on_paced(wake, clock())
                    self.wake = actions.wakeup
                    return actions.wakeup - clock()
            actions.send = texts[sent:]
            self.left = (wake, actions)
        except Exception as exc:  # raised by the task, where the session's errors belong
            self.error = exc
        return None

    def take(self) -> tuple[float, Actions] | None:
        """After the wait: the step left to the task (its wake-up and what is still to do),
        or None; raises what went wrong in :meth:`on_due`."""
        error, self.error = self.error, None
        if error is not None:
            raise error
        left, self.left = self.left, None
        return left


def _safe(text: str) -> str:
    # A gateway that echoes the key must not put it into results, logs or files.
    return redact_text(text) if contains_secret(text) else text


async def _received_before(
    session: ClientSession,
    transport: Transport,
    clock: Callable[[], float],
) -> int:
    """Hand the session the frames the server sent before its close, in order; how many.

    A send can fail on the close while frames that came before it are still queued (an error,
    then close 1001): they explain the close, so the session must see them first. Bounded by
    the plan's drain time.
    """
    end = clock() + session.plan.timeouts.drain
    seen = 0
    while True:
        try:
            text = await transport.recv(max(0.0, end - clock()))
        except (ConnectionClosed, TimeoutError):
            return seen
        session.receive(_safe(text), clock())
        seen += 1
