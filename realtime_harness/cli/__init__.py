"""Command-line interface: ``realtime-harness`` and ``python -m realtime_harness``.

A thin shell over the library: each command module parses options, calls library functions and
maps the result to the documented exit codes (0 clean, 1 server failure, 2 usage, 3 violation,
4 connection/handshake/timeout). Command modules are imported only when their command is used
(see :class:`realtime_harness.cli._app.LazyCommandGroup`), so ``--help`` and ``validate`` start
without numpy, soundfile, soxr, websockets or the mock.
"""

from __future__ import annotations

from realtime_harness.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``realtime-harness`` console script."""
    app()
