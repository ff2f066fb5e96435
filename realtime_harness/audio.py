"""Deprecated alias of :mod:`realtime_harness.media.audio`: import from there."""

from __future__ import annotations

import warnings

from realtime_harness.media.audio import *  # noqa: F403
from realtime_harness.media.audio import __all__  # noqa: F401

warnings.warn(
    "realtime_harness.audio moved to realtime_harness.media.audio",
    DeprecationWarning,
    stacklevel=2,
)
