"""Failure records: what the server (or the connection) reported as going wrong, with every id.

A failure is not a protocol violation: a failed ``response.done`` or an ``error`` event is the
server telling the truth about a problem. Each record carries what a support ticket needs:
``session_id``, ``response_id``, ``event_id``, ``item_id`` and the error's ``type``, ``code``,
``message``, ``param`` and inner ``event_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from realtime_harness.protocol.codes import BENIGN_ERROR_CODES
from realtime_harness.protocol.ids import find_session_id
from realtime_harness.protocol.rules import FAILED_STATUSES

__all__ = [
    "BENIGN_ERROR_CODES",
    "ErrorInfo",
    "Failure",
    "FailureKind",
    "failure_from_error_event",
    "failure_from_response_done",
]

FailureKind = Literal[
    "response_failed",
    "response_incomplete",
    "error_event",
    "close",
    "timeout",
    "handshake",
    "connect",
    "auth",
    "turns_incomplete",
]


class ErrorInfo(BaseModel):
    """The ``error`` object of an ``error`` event or of a failed response's ``status_details``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None
    event_id: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ErrorInfo | None:
        """Build from a wire ``error`` object, keeping undeclared fields; None stays None."""
        if not isinstance(data, Mapping):
            return None
        return cls.model_validate(
            {
                k: (v if v is None or isinstance(v, str) or k not in _STR_FIELDS else str(v))
                for k, v in data.items()
            }
        )


_STR_FIELDS = frozenset({"type", "code", "message", "param", "event_id"})


class Failure(BaseModel):
    """One failure, with every id known when it was seen. ``line`` is 1-based in a file."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    session_id: str | None = None
    response_id: str | None = None
    event_id: str | None = None
    item_id: str | None = None
    status: str | None = None
    reason: str | None = None
    error: ErrorInfo | None = None
    benign: bool = False
    line: int | None = None
    t: float | None = None
    close_code: int | None = None
    close_reason: str | None = None
    detail: str | None = None

    def summary(self) -> str:
        """One human line naming the failure and every id (for logs and terminal output)."""
        parts = [f"failure {self.kind}"]
        if self.benign:
            parts.append("(benign)")
        if self.line is not None:
            parts.append(f"line={self.line}")
        for name in ("status", "reason"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        if self.error is not None:
            parts.append(f"error.type={self.error.type}")
            parts.append(f"error.code={self.error.code}")
            if self.error.param:
                parts.append(f"error.param={self.error.param}")
            if self.error.event_id:
                parts.append(f"error.event_id={self.error.event_id}")
        if self.close_code is not None:
            parts.append(f"close={self.close_code} {self.close_reason or ''}".rstrip())
        parts.append(f"session_id={self.session_id}")
        parts.append(f"response_id={self.response_id}")
        parts.append(f"event_id={self.event_id}")
        parts.append(f"item_id={self.item_id}")
        if self.error is not None and self.error.message:
            parts.append(f"message={self.error.message!r}")
        if self.detail:
            parts.append(f"detail={self.detail!r}")
        return " ".join(parts)


def _session_id(event: Mapping[str, Any], known: str | None, message: str | None) -> str | None:
    top = event.get("session_id")
    if isinstance(top, str) and top:
        return top
    return known or find_session_id(message)


def failure_from_error_event(
    event: Mapping[str, Any],
    *,
    session_id: str | None,
    response_id: str | None = None,
    line: int | None = None,
    t: float | None = None,
) -> Failure:
    """The failure record of an ``error`` server event."""
    error = ErrorInfo.from_mapping(event.get("error"))
    message = error.message if error else None
    return Failure(
        kind="error_event",
        session_id=_session_id(event, session_id, message),
        response_id=response_id,
        event_id=_str_or_none(event.get("event_id")),
        error=error,
        benign=bool(error and error.code in BENIGN_ERROR_CODES),
        line=line,
        t=t,
    )


def failure_from_response_done(
    event: Mapping[str, Any],
    *,
    session_id: str | None,
    line: int | None = None,
    t: float | None = None,
) -> Failure | None:
    """The failure record of a failed or incomplete ``response.done``; None for other statuses."""
    response = event.get("response")
    if not isinstance(response, Mapping):
        return None
    status = response.get("status")
    if status not in FAILED_STATUSES:
        return None
    details = response.get("status_details")
    details = details if isinstance(details, Mapping) else {}
    error = ErrorInfo.from_mapping(details.get("error"))
    output = response.get("output")
    item_id = None
    if isinstance(output, list) and output and isinstance(output[-1], Mapping):
        item_id = _str_or_none(output[-1].get("id"))
    return Failure(
        kind="response_failed" if status == "failed" else "response_incomplete",
        session_id=_session_id(event, session_id, error.message if error else None),
        response_id=_str_or_none(response.get("id")),
        event_id=_str_or_none(event.get("event_id")),
        item_id=item_id,
        status=str(status),
        reason=_str_or_none(details.get("reason")),
        error=error,
        line=line,
        t=t,
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
