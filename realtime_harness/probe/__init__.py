"""The probe: one scripted session (or a ladder of them, with retries) against a deployment or
the embedded mock, driven through :class:`~realtime_harness.protocol.session.ClientSession`.

``options`` says what to do, ``plan`` builds the turns, ``run`` is the driver loop over a
transport, ``outputs`` are the observers that write files and log lines, ``retry`` holds the
attempts and the escalation ladder, ``mock`` the embedded mock, ``api`` puts them together.
"""

from __future__ import annotations

from realtime_harness.probe.api import run_probe, run_probe_sync, run_session
from realtime_harness.probe.mock import embedded_mock, mock_target
from realtime_harness.probe.options import (
    ConnectionOptions,
    MockOptions,
    OutputOptions,
    ProbeOptions,
    RetryPolicy,
    SessionOptions,
    TransportFactory,
)
from realtime_harness.probe.plan import VAD_TRAILING_SILENCE_MS, build_turns
from realtime_harness.probe.results import AttemptRecord, ProbeResult
from realtime_harness.probe.retry import ESCALATION_LADDER, RECOVERABLE_CLOSE_CODES
from realtime_harness.protocol.session import (
    EventNote,
    ProbeHandshake,
    ResponseResult,
    SessionResult,
)

__all__ = [
    "ESCALATION_LADDER",
    "RECOVERABLE_CLOSE_CODES",
    "VAD_TRAILING_SILENCE_MS",
    "AttemptRecord",
    "ConnectionOptions",
    "EventNote",
    "MockOptions",
    "OutputOptions",
    "ProbeHandshake",
    "ProbeOptions",
    "ProbeResult",
    "ResponseResult",
    "RetryPolicy",
    "SessionOptions",
    "SessionResult",
    "TransportFactory",
    "build_turns",
    "embedded_mock",
    "mock_target",
    "run_probe",
    "run_probe_sync",
    "run_session",
]
