"""Deprecated alias of :mod:`realtime_harness.probe`: import from there.

``from realtime_harness.client import ProbeOptions, run_probe_sync`` keeps working; the session
loop now lives in :mod:`realtime_harness.probe` over
:class:`realtime_harness.protocol.session.ClientSession`.
"""

from __future__ import annotations

import warnings

from realtime_harness.probe import *  # noqa: F403
from realtime_harness.probe import __all__  # noqa: F401

warnings.warn(
    "realtime_harness.client moved to realtime_harness.probe",
    DeprecationWarning,
    stacklevel=2,
)
