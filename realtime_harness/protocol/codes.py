"""Error codes, close codes and handshake statuses of the Realtime API, and what each means.

Every failure the harness sees falls in one :class:`CodeClass`:

* ``AUTH``: the credential was refused. Azure answers the WebSocket upgrade with HTTP 401 (or
  403); OpenAI accepts the upgrade, sends one ``error`` with code ``invalid_api_key`` and closes
  with code 3000, reason ``invalid_request_error.invalid_api_key``. Both routes are the same
  mistake and get the same class.
* ``FATAL``: the server refuses the session or ends it and closes (``beta_api_shape_disabled``,
  ``missing_model``, ``invalid_model`` then close 4000; ``model_not_found`` then close 4004;
  ``session_expired``). Retrying changes nothing.
* ``TRANSIENT``: worth another attempt (HTTP 429/503, ``rate_limit_exceeded``, a
  ``server_error``, the close codes openai-python's client treats as recoverable).
* ``BENIGN``: a harmless race reported by the server (``response_cancel_not_active``); recorded
  and marked benign, never hidden.

Sources: the OpenAI Realtime API reference (server ``error`` event,
https://platform.openai.com/docs/api-reference/realtime-server-events/error), the close codes
OpenAI's servers send (``<error.type>.<error.code>`` as the close reason: 3000 for a refused
credential, 4000 for a bad request) and the Azure OpenAI Realtime page
(https://learn.microsoft.com/azure/ai-foundry/openai/how-to/realtime-audio-websockets), whose
gateway answers a missing or wrong key with HTTP 401 before the upgrade.
"""

from __future__ import annotations

import enum

__all__ = [
    "AUTH_CLOSE_CODES",
    "AUTH_ERROR_CODES",
    "AUTH_STATUSES",
    "BENIGN_ERROR_CODES",
    "CLOSE_AUTH",
    "CLOSE_BAD_REQUEST",
    "CLOSE_MODEL_NOT_FOUND",
    "FATAL_CLOSE_CODES",
    "FATAL_ERROR_CODES",
    "RECOVERABLE_CLOSE_CODES",
    "RETRY_STATUSES",
    "TRANSIENT_ERROR_CODES",
    "TRANSIENT_ERROR_TYPES",
    "CodeClass",
    "classify_close",
    "classify_error",
    "classify_status",
    "close_code_for",
    "is_auth_failure",
]


class CodeClass(enum.StrEnum):
    """What a failure means for the run: see the module docstring."""

    BENIGN = "benign"
    TRANSIENT = "transient"
    FATAL = "fatal"
    AUTH = "auth"


#: OpenAI closes with this code after an ``invalid_api_key`` error.
CLOSE_AUTH = 3000
#: OpenAI closes with this code after a refused request (beta shape, missing or invalid model).
CLOSE_BAD_REQUEST = 4000
#: OpenAI closes with this code when the model does not exist.
CLOSE_MODEL_NOT_FOUND = 4004

#: Error codes that report a harmless race rather than a broken deployment.
BENIGN_ERROR_CODES: frozenset[str] = frozenset({"response_cancel_not_active"})
#: Error codes inside an ``error`` event or a failed ``response.done`` that are transient.
TRANSIENT_ERROR_CODES: frozenset[str] = frozenset({"rate_limit_exceeded"})
#: Error types that are transient whatever their code.
TRANSIENT_ERROR_TYPES: frozenset[str] = frozenset({"server_error"})
#: Error codes that say the credential was refused.
AUTH_ERROR_CODES: frozenset[str] = frozenset({"invalid_api_key"})
#: Error code → the close code the server follows it with.
FATAL_CLOSE_CODES: dict[str, int] = {
    "invalid_api_key": CLOSE_AUTH,
    "beta_api_shape_disabled": CLOSE_BAD_REQUEST,
    "missing_model": CLOSE_BAD_REQUEST,
    "invalid_model": CLOSE_BAD_REQUEST,
    "model_not_found": CLOSE_MODEL_NOT_FOUND,
}
#: Error codes the server follows with a close: the session is over.
FATAL_ERROR_CODES: frozenset[str] = frozenset({*FATAL_CLOSE_CODES, "session_expired"})

#: Close codes openai-python's GA client treats as recoverable (it reconnects after them).
RECOVERABLE_CLOSE_CODES: frozenset[int] = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1015})
#: Close codes that say the credential was refused.
AUTH_CLOSE_CODES: frozenset[int] = frozenset({CLOSE_AUTH})

#: Handshake statuses worth another attempt (throttled, unavailable).
RETRY_STATUSES: frozenset[int] = frozenset({429, 503})
#: Handshake statuses that say the credential was refused.
AUTH_STATUSES: frozenset[int] = frozenset({401, 403})


def classify_error(error_type: object, code: object) -> CodeClass | None:
    """The class of an ``error`` object's ``type`` and ``code`` (any JSON values), or None when
    it is an ordinary request error that leaves the session usable."""
    if isinstance(code, str):
        if code in AUTH_ERROR_CODES:
            return CodeClass.AUTH
        if code in FATAL_ERROR_CODES:
            return CodeClass.FATAL
        if code in BENIGN_ERROR_CODES:
            return CodeClass.BENIGN
        if code in TRANSIENT_ERROR_CODES:
            return CodeClass.TRANSIENT
    if isinstance(error_type, str) and error_type in TRANSIENT_ERROR_TYPES:
        return CodeClass.TRANSIENT
    return None


def classify_close(code: object) -> CodeClass | None:
    """The class of a WebSocket close code, or None for a normal close (1000) and unknown ones."""
    if not isinstance(code, int):
        return None
    if code in AUTH_CLOSE_CODES:
        return CodeClass.AUTH
    if code in RECOVERABLE_CLOSE_CODES:
        return CodeClass.TRANSIENT
    if code in (CLOSE_BAD_REQUEST, CLOSE_MODEL_NOT_FOUND):
        return CodeClass.FATAL
    return None


def classify_status(status: object) -> CodeClass | None:
    """The class of an HTTP status answering the upgrade (None for 101 and unknown ones)."""
    if not isinstance(status, int):
        return None
    if status in AUTH_STATUSES:
        return CodeClass.AUTH
    if status in RETRY_STATUSES:
        return CodeClass.TRANSIENT
    if 400 <= status < 500:
        return CodeClass.FATAL
    return CodeClass.TRANSIENT if status >= 500 else None


def close_code_for(error_code: str) -> int | None:
    """The close code the server sends after a fatal ``error_code`` (None when it stays open)."""
    return FATAL_CLOSE_CODES.get(error_code)


def is_auth_failure(
    *, status: object = None, error_code: object = None, close_code: object = None
) -> bool:
    """Whether any of a handshake status, error code or close code says the key was refused."""
    return (
        classify_status(status) is CodeClass.AUTH
        or (isinstance(error_code, str) and error_code in AUTH_ERROR_CODES)
        or classify_close(close_code) is CodeClass.AUTH
    )
