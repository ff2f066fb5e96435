"""``doctor``: name the cause of a session that fails at once, check by check, with the fix.

:mod:`~realtime_harness.doctor.checks` holds the verdict types and their rendering,
:mod:`~realtime_harness.doctor.config` the checks that need no traffic, and
:mod:`~realtime_harness.doctor.advice` the table from what a session showed to a named cause.
"""

from __future__ import annotations

from realtime_harness.doctor.advice import (
    Attempt,
    Cause,
    Diagnosis,
    Observation,
    check_clock,
    classify,
    classify_attempts,
)
from realtime_harness.doctor.checks import Check, Report, Stage, Status, print_report
from realtime_harness.doctor.config import ConfigInputs, UrlForm, check_config, classify_url

__all__ = [
    "Attempt",
    "Cause",
    "Check",
    "ConfigInputs",
    "Diagnosis",
    "Observation",
    "Report",
    "Stage",
    "Status",
    "UrlForm",
    "check_clock",
    "check_config",
    "classify",
    "classify_attempts",
    "classify_url",
    "print_report",
]
