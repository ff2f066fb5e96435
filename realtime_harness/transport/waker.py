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
"""

from __future__ import annotations

import asyncio
import contextvars


class Waker:
    """The pending wait of one connection; ``wake()`` ends it early."""

    __slots__ = ("_context", "_expire", "_timer", "waiter")

    def __init__(self) -> None:
        #: The pending wait, woken by a whole message, the end of the connection or the timer.
        self.waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        # Bound once: passing a fresh bound method and an argument tuple per wait would add
        # two young objects per session (and a copy of the current context a third).
        self._expire = self.wake
        self._context = contextvars.Context()

    def wake(self) -> None:
        """End the pending wait, if any (a message is queued or the connection ended)."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def arm(self, max_wait: float | None) -> asyncio.Future[None]:
        """A new wait that ends on ``wake()`` or after ``max_wait`` seconds (None: no bound).

        Await the returned future, then call :meth:`disarm` (in a ``finally``).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiter = waiter
        if max_wait is not None:
            self._timer = loop.call_at(
                loop.time() + max(0.0, max_wait), self._expire, context=self._context
            )
        return waiter

    def disarm(self) -> None:
        """The wait is over: forget it and cancel its timer."""
        self.waiter = None
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
