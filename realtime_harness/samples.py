"""Deprecated alias of :mod:`realtime_harness.media.samples`: import from there."""

from __future__ import annotations

import warnings

from realtime_harness.media.samples import *  # noqa: F403
from realtime_harness.media.samples import __all__  # noqa: F401

warnings.warn(
    "realtime_harness.samples moved to realtime_harness.media.samples",
    DeprecationWarning,
    stacklevel=2,
)
