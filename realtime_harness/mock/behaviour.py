"""Deprecated path: the mock's session behaviour now lives in :mod:`realtime_harness.mock.session`
(composed from ``schedule``, ``responses``, ``input``, ``items``, ``wire`` and ``faults``).

This module re-exports the names it used to define so that existing imports keep working.
"""

from __future__ import annotations

from realtime_harness.mock.config import BehaviourConfig, Latency
from realtime_harness.mock.schedule import (
    Action,
    Close,
    Drop,
    RecordFault,
    SendEvent,
    SendRaw,
    Stall,
)
from realtime_harness.mock.session import CLIENT_EVENT_TYPES, SessionBehaviour

__all__ = [
    "CLIENT_EVENT_TYPES",
    "Action",
    "BehaviourConfig",
    "Close",
    "Drop",
    "Latency",
    "RecordFault",
    "SendEvent",
    "SendRaw",
    "SessionBehaviour",
    "Stall",
]
