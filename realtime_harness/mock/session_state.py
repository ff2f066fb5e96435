"""Deprecated path: the session object of each dialect (defaults, ``session.update`` checks and
their error codes, the effective settings) is :mod:`realtime_harness.protocol.session_config`.

This module re-exports the names the mock used from here.
"""

from __future__ import annotations

from realtime_harness.protocol.session_config import (
    DEFAULT_INSTRUCTIONS,
    SessionError,
    apply_update,
    default_session,
    input_format,
    output_format,
    transcription_enabled,
    turn_detection,
)

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "SessionError",
    "apply_update",
    "default_session",
    "input_format",
    "output_format",
    "transcription_enabled",
    "turn_detection",
]
