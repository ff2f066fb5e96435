"""Error and close code classes: one authentication class for both routes."""

from __future__ import annotations

import pytest

from realtime_harness.protocol import codes
from realtime_harness.protocol.codes import CodeClass


def test_a_refused_key_is_auth_on_both_routes() -> None:
    """Azure answers the upgrade with 401; OpenAI sends invalid_api_key, then closes 3000."""
    assert codes.classify_status(401) is CodeClass.AUTH
    assert codes.classify_status(403) is CodeClass.AUTH
    assert codes.classify_error("invalid_request_error", "invalid_api_key") is CodeClass.AUTH
    assert codes.classify_close(3000) is CodeClass.AUTH
    assert codes.close_code_for("invalid_api_key") == 3000
    assert codes.is_auth_failure(status=401)
    assert codes.is_auth_failure(error_code="invalid_api_key")
    assert codes.is_auth_failure(close_code=3000)
    assert not codes.is_auth_failure(status=429, error_code="rate_limit_exceeded", close_code=1006)


@pytest.mark.parametrize(
    ("error_type", "code", "expected"),
    [
        ("invalid_request_error", "beta_api_shape_disabled", CodeClass.FATAL),
        ("invalid_request_error", "missing_model", CodeClass.FATAL),
        ("invalid_request_error", "session_expired", CodeClass.FATAL),
        ("invalid_request_error", "response_cancel_not_active", CodeClass.BENIGN),
        ("tokens", "rate_limit_exceeded", CodeClass.TRANSIENT),
        ("server_error", None, CodeClass.TRANSIENT),
        ("invalid_request_error", "invalid_value", None),
        ([], {}, None),  # any JSON type: never an exception
    ],
)
def test_error_classes(error_type: object, code: object, expected: CodeClass | None) -> None:
    assert codes.classify_error(error_type, code) is expected


def test_close_and_status_classes() -> None:
    assert codes.classify_close(1006) is CodeClass.TRANSIENT
    assert codes.classify_close(4000) is CodeClass.FATAL
    assert codes.classify_close(1000) is None
    assert codes.classify_close("1006") is None
    assert codes.classify_status(429) is CodeClass.TRANSIENT
    assert codes.classify_status(503) is CodeClass.TRANSIENT
    assert codes.classify_status(404) is CodeClass.FATAL
    assert codes.classify_status(101) is None


def test_the_client_keeps_its_names_from_the_one_table() -> None:
    from realtime_harness import client
    from realtime_harness.protocol import failures

    assert client.RECOVERABLE_CLOSE_CODES is codes.RECOVERABLE_CLOSE_CODES
    assert failures.BENIGN_ERROR_CODES is codes.BENIGN_ERROR_CODES
    assert codes.AUTH_ERROR_CODES <= codes.FATAL_ERROR_CODES
