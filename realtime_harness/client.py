"""Deprecated alias of :mod:`realtime_harness.probe`: import from there.

``from realtime_harness.client import ProbeOptions, run_probe_sync`` (the import earlier README
versions showed) keeps working, without a warning, so code run with ``-W error`` does not break;
the session loop now lives in :mod:`realtime_harness.probe` over
:class:`realtime_harness.protocol.session.ClientSession`.
"""

from __future__ import annotations

from realtime_harness.probe import *  # noqa: F403
from realtime_harness.probe import __all__  # noqa: F401
