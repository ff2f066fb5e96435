"""The embedded mock Realtime server: faithful GA and beta sessions, composable faults, a ledger.

``MockServer`` is the entry point (in-loop with ``async with``, or ``run_in_thread()``); the
session logic is the sans-I/O :class:`SessionBehaviour` (``mock.session``); faults are parsed by
:func:`parse_fault_spec` and every injected one lands in the server's ``ledger``.
"""

from __future__ import annotations

from realtime_harness.mock.config import ANY, REALTIME_MODELS, BehaviourConfig, Latency
from realtime_harness.mock.fault_spec import (
    FAULT_SPEC_HELP,
    FaultKind,
    FaultPhase,
    FaultPlan,
    FaultRecord,
    FaultSpec,
    parse_fault_spec,
)
from realtime_harness.mock.ledger import Ledger
from realtime_harness.mock.server import (
    MockServer,
    PacedCollector,
    SessionLog,
    default_voices,
    tune_gc_for_serving,
)
from realtime_harness.mock.session import SessionBehaviour
from realtime_harness.mock.voices import Voice, tone_voice

__all__ = [
    "ANY",
    "FAULT_SPEC_HELP",
    "REALTIME_MODELS",
    "BehaviourConfig",
    "FaultKind",
    "FaultPhase",
    "FaultPlan",
    "FaultRecord",
    "FaultSpec",
    "Latency",
    "Ledger",
    "MockServer",
    "PacedCollector",
    "SessionBehaviour",
    "SessionLog",
    "Voice",
    "default_voices",
    "parse_fault_spec",
    "tone_voice",
    "tune_gc_for_serving",
]
