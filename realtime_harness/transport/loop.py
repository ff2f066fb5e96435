"""The event loop the long-running commands run on: uvloop's when it is installed (the ``speed``
extra), asyncio's otherwise.

uvloop's loop (libuv, in Cython) costs less per timer, socket read and write than asyncio's:
among hundreds of paced sessions that is the difference between sends on time and late ones
(docs/benchmarks.md). The soak runner and the mock server use it; short commands do not need it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["loop_name", "run_in_loop"]

_T = TypeVar("_T")


def run_in_loop(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` in a new event loop: uvloop's when it is installed, asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def loop_name() -> str:
    """Which loop :func:`run_in_loop` uses here: ``"uvloop"`` or ``"asyncio"``."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
