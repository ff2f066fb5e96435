"""Command-line interface: ``realtime-harness`` and ``python -m realtime_harness``.

A thin shell over the library: each command module parses options, calls library functions and
maps the result to the documented exit codes (0 clean, 1 server failure, 2 usage, 3 violation,
4 connection/handshake/timeout).
"""

from __future__ import annotations

from realtime_harness.cli._app import app

# Importing the command modules registers their commands on ``app``.
from realtime_harness.cli import mock_server, probe, samples, validate  # noqa: E402, F401, I001

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``realtime-harness`` console script."""
    app()
