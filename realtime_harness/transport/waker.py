"""One connection's bounded wait for its next message: the paced path of every session.

A session waits once per 100 ms audio chunk for "a message arrived, or the chunk is due". The
wait is a future that the connection wakes when a whole message is queued and that a timer
wakes at the deadline, never a cancelled ``recv()`` (cancelling costs more than the wait).

Everything a wait allocates is alive, at any instant, in every session at once, and so sits in
the garbage collector's youngest generation: a young-generation pass walks it all. Among a
thousand paced sessions each object per wait adds about 0.4 ms to every such pass
(docs/benchmarks.md). The waker therefore keeps what can be kept across waits: the timer's
callback is one bound method made once, and its context is one empty ``contextvars.Context``
(the callback reads no context variable), so a wait costs its future and its timer handle only.

A wait may also carry ``on_due`` (:class:`~realtime_harness.transport.base.PacedTransport`):
the timer then calls it, and the session sends its due chunk from there and goes on waiting
on the same future, without its task being resumed at all.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

from realtime_harness.transport.base import OnDue


class Waker:
    """The pending wait of one connection; ``wake()`` ends it early."""

    __slots__ = ("_context", "_expire", "_on_due", "_timer", "expired", "waiter")

    def __init__(self) -> None:
        #: The pending wait, woken by a whole message, the end of the connection or the timer.
        self.waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._on_due: OnDue | None = None
        #: The wait ended because its time was up (the transport then raises TimeoutError,
        #: even when a frame came meanwhile: it stays queued for the next receive).
        self.expired = False
        # Bound once: passing a fresh bound method and an argument tuple per wait would add
        # two young objects per session (and a copy of the current context a third).
        self._expire: Callable[[], None] | None = self._fire
        self._context = contextvars.Context()

    def wake(self) -> None:
        """End the pending wait, if any (a message is queued or the connection ended)."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def arm(self, max_wait: float | None, on_due: OnDue | None = None) -> asyncio.Future[None]:
        """A new wait that ends on ``wake()`` or after ``max_wait`` seconds (None: no bound).

        With ``on_due``, the time being up calls it first: a number of seconds goes on waiting
        (the same future, a new timer), None ends the wait. Await the returned future, then
        call :meth:`disarm` (in a ``finally``).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiter = waiter
        self._on_due = on_due
        self.expired = False
        if max_wait is not None:
            self._start(loop, max_wait)
        return waiter

    async def wait(self, max_wait: float | None, on_due: OnDue | None = None) -> bool:
        """Wait (see :meth:`arm`) until woken or the time is up; True when the time was up.

        One coroutine per wait of the task; in a stream the wait lasts the whole stream (the
        timer sends the chunks), so it is not among what each young-generation pass walks.
        """
        waiter = self.arm(max_wait, on_due)
        try:
            await waiter
        finally:
            self.disarm()
        return self.expired

    def _start(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._timer = loop.call_at(
            loop.time() + max(0.0, seconds), self._expire or self._fire, context=self._context
        )

    def _fire(self) -> None:
        self._timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            return  # woken by a frame first
        on_due = self._on_due
        if on_due is not None:
            try:
                more = on_due()
            except Exception as exc:  # the waiting task raises it: a wait never hangs on it
                self.expired = True
                if not waiter.done():
                    waiter.set_exception(exc)
                return
            if more is not None:
                if not waiter.done():
                    self._start(asyncio.get_running_loop(), more)
                return
        # None from on_due hands a step to the waiting task: it must see the time up, not a
        # frame that arrived meanwhile, or the step would be lost.
        self.expired = True
        if not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        """The connection is over: end any wait, and drop the timer callback bound to this
        waker (a reference cycle, otherwise left to a full garbage collection)."""
        self.wake()
        self._expire = None

    def disarm(self) -> None:
        """The wait is over: forget it and cancel its timer."""
        self.waiter = None
        self._on_due = None
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
