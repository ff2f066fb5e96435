"""The two wire dialects of the Realtime API and the table that maps their event names.

Kept for its public names; everything here is derived from
:mod:`realtime_harness.protocol.catalog`, the one table of event types.
"""

from __future__ import annotations

from realtime_harness.protocol.catalog import (
    BETA_ONLY,
    BETA_TO_GA,
    GA_ONLY,
    GA_TO_BETA,
    Dialect,
    detect_dialect,
    dialect_of,
    to_dialect,
)

__all__ = [
    "BETA_ONLY",
    "BETA_TO_GA",
    "GA_ONLY",
    "GA_TO_BETA",
    "Dialect",
    "detect_dialect",
    "dialect_of",
    "to_dialect",
]
