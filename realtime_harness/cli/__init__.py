"""Command-line interface: ``realtime-harness`` and ``python -m realtime_harness``.

A thin shell over the library: each command module parses options, calls library functions and
maps the result to the documented exit codes (0 clean, 1 server failure, 2 usage, 3 violation,
4 connection/handshake/timeout).
"""

from __future__ import annotations

# Importing the command modules registers their commands on ``app``.
from realtime_harness.cli import mock_server, probe, samples, validate  # noqa: F401
from realtime_harness.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``realtime-harness`` console script."""
    app()
