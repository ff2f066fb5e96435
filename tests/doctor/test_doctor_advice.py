"""The advice table: what a session showed → one named cause with its fix, and no other."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest

from realtime_harness.doctor.advice import (
    ADVICE,
    Attempt,
    Cause,
    Observation,
    check_clock,
    classify,
    classify_attempts,
    matching_rows,
)
from realtime_harness.doctor.checks import Report, Stage, Status

AZURE_GA = "wss://res.openai.azure.com/openai/v1/realtime?model=rt"
AZURE_PREVIEW = (
    "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=rt"
)
OPENAI = "wss://api.openai.com/v1/realtime?model=gpt-realtime"
AZURE_HEADERS = {"apim-request-id": "b7e1-42", "x-ms-region": "Sweden Central"}


def error_event(
    code: str | None,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    message: str = "",
) -> dict[str, object]:
    return {
        "type": "error",
        "event_id": "event_A1",
        "error": {
            "type": type_,
            "code": code,
            "param": param,
            "message": message,
            "event_id": None,
        },
    }


#: One row per cause: what the real service shows in that case.
CASES = [
    pytest.param(
        Observation(
            url=AZURE_GA + "&api-version=2025-04-01-preview", status=401, headers=AZURE_HEADERS
        ),
        Cause.API_VERSION_ON_GA_URL,
        id="401-api-version-on-ga-url",
    ),
    pytest.param(
        Observation(url=AZURE_GA, status=401, headers=AZURE_HEADERS), Cause.UNAUTHORIZED, id="401"
    ),
    pytest.param(
        Observation(url=OPENAI, status=403, headers={"x-request-id": "req_1"}),
        Cause.FORBIDDEN,
        id="403",
    ),
    pytest.param(
        Observation(
            url=AZURE_GA,
            status=404,
            headers=AZURE_HEADERS,
            body=json.dumps(
                {
                    "error": {
                        "code": "DeploymentNotFound",
                        "message": "The API deployment for this resource does not exist.",
                    }
                }
            ),
        ),
        Cause.DEPLOYMENT_NOT_FOUND,
        id="404-deployment-not-found",
    ),
    pytest.param(
        Observation(
            url="wss://res.openai.azure.com/openai/deployments/rt/realtime",
            status=404,
            body="Resource not found",
        ),
        Cause.ROUTE_NOT_FOUND,
        id="404-route",
    ),
    pytest.param(
        Observation(
            url=AZURE_GA,
            status=400,
            headers=AZURE_HEADERS,
            body={
                "error": {
                    "code": "OpperationNotSupported",
                    "message": "The realtime operation does not work with the specified model.",
                }
            },
        ),
        Cause.NOT_A_REALTIME_MODEL,
        id="400-operation-not-supported",
    ),
    pytest.param(
        Observation(url=AZURE_GA, status=400, body={"error": {"code": "BadRequest"}}),
        Cause.HANDSHAKE_REFUSED,
        id="400-other",
    ),
    pytest.param(
        Observation(
            url=AZURE_PREVIEW.replace("2025-04-01-preview", "2024-10-01-preview"),
            status=400,
            body={"error": {"code": "BadRequest", "message": "API version not supported"}},
            headers=AZURE_HEADERS,
        ),
        Cause.API_VERSION_UNSUPPORTED,
        id="400-api-version-not-supported",
    ),
    pytest.param(
        Observation(url=AZURE_GA, status=429, headers={**AZURE_HEADERS, "Retry-After": "12"}),
        Cause.THROTTLED,
        id="429",
    ),
    pytest.param(
        Observation(url=AZURE_GA, status=503, headers=AZURE_HEADERS),
        Cause.SERVICE_UNAVAILABLE,
        id="503",
    ),
    pytest.param(
        Observation(
            url=OPENAI,
            status=101,
            error=error_event("invalid_api_key", message="Incorrect API key provided: sk-…XXXX."),
            close_code=3000,
            close_reason="invalid_request_error.invalid_api_key",
        ),
        Cause.INVALID_API_KEY,
        id="invalid-api-key",
    ),
    pytest.param(
        Observation(
            url=OPENAI,
            status=101,
            error=error_event(
                "beta_api_shape_disabled", message="The Realtime Beta API is no longer supported."
            ),
            close_code=4000,
            close_reason="invalid_request_error.beta_api_shape_disabled",
        ),
        Cause.BETA_SHAPE_DISABLED,
        id="beta-api-shape-disabled",
    ),
    pytest.param(
        Observation(
            url="wss://api.openai.com/v1/realtime",
            status=101,
            error=error_event("missing_model"),
            close_code=4000,
        ),
        Cause.MISSING_MODEL,
        id="missing-model",
    ),
    pytest.param(
        Observation(
            url=OPENAI.replace("gpt-realtime", "gpt-4o"),
            status=101,
            error=error_event(
                "invalid_model", message='Model "gpt-4o" is not supported in realtime mode.'
            ),
            close_code=4000,
        ),
        Cause.INVALID_MODEL,
        id="invalid-model",
    ),
    pytest.param(
        Observation(
            url=OPENAI,
            status=101,
            close_code=4004,
            close_reason="invalid_request_error.model_not_found",
        ),
        Cause.MODEL_NOT_FOUND,
        id="model-not-found-close",
    ),
    pytest.param(
        Observation(
            url=AZURE_PREVIEW,
            status=101,
            session_id="sess_1",
            error=error_event(
                "unknown_parameter",
                param="session.type",
                message="Unknown parameter: 'session.type'.",
            ),
        ),
        Cause.GA_EVENTS_ON_PREVIEW_ROUTE,
        id="sdk-trap-unknown-parameter-session-type",
    ),
    pytest.param(
        Observation(
            url=AZURE_GA,
            status=101,
            error=error_event(
                "missing_required_parameter",
                param="session.type",
                message="Missing required parameter: 'session.type'.",
            ),
        ),
        Cause.DIALECT_MISMATCH,
        id="beta-update-on-ga-route",
    ),
    pytest.param(
        Observation(
            url=AZURE_GA,
            status=101,
            error=error_event("unknown_parameter", param="session.modalities"),
        ),
        Cause.DIALECT_MISMATCH,
        id="beta-field-on-ga-route",
    ),
    pytest.param(
        Observation(
            url=AZURE_GA,
            status=101,
            session_id="sess_9",
            error=error_event(
                None,
                type_="server_error",
                message="The server had an error while processing your request.",
            ),
        ),
        Cause.SERVER_ERROR,
        id="server-error",
    ),
    pytest.param(
        Observation(
            url=AZURE_GA,
            status=101,
            error={
                "type": "response.done",
                "event_id": "event_DICHED8JCp84nZTAtpUbw",
                "response": {
                    "object": "realtime.response",
                    "id": "resp_DICHBbtv1ecrxAa1RL8dW",
                    "status": "failed",
                    "status_details": {
                        "type": "failed",
                        "error": {
                            "type": "server_error",
                            "code": None,
                            "message": "The server had an error while processing your request.",
                        },
                    },
                },
            },
        ),
        Cause.SERVER_ERROR,
        id="server-error-in-a-failed-response-done",
    ),
]


@pytest.mark.parametrize(("obs", "cause"), CASES)
def test_each_observation_names_its_cause_and_no_other(obs: Observation, cause: Cause) -> None:
    """Exactly one row of the table applies, and classify names it."""
    assert matching_rows(obs) == [cause]
    diagnosis = classify(obs)
    assert diagnosis is not None
    assert diagnosis.cause is cause
    assert diagnosis.evidence
    assert diagnosis.fix


def test_every_row_of_the_table_is_exercised() -> None:
    """The table and the cases above cover each other (the two clock/attempt causes aside)."""
    covered = {param.values[1] for param in CASES}
    assert {row.cause for row in ADVICE} == covered
    assert len({row.cause for row in ADVICE}) == len(ADVICE)


def test_the_ids_and_region_headers_are_kept() -> None:
    """apim-request-id, x-ms-region, status and the session id travel with the diagnosis."""
    diagnosis = classify(
        Observation(
            url=AZURE_GA,
            status=503,
            headers={"APIM-Request-Id": "b7e1", "X-MS-Region": "France Central", "Server": "x"},
            session_id="sess_1",
        )
    )
    assert diagnosis is not None
    assert diagnosis.seen == {
        "apim-request-id": "b7e1",
        "x-ms-region": "France Central",
        "session_id": "sess_1",
        "status": "503",
    }


def test_the_sdk_trap_names_the_websocket_base_url_fix() -> None:
    """The openai package trap gets the websocket_base_url fix."""
    obs = Observation(
        url=AZURE_PREVIEW, status=101, error=error_event("unknown_parameter", param="session.type")
    )
    diagnosis = classify(obs)
    assert diagnosis is not None
    assert "websocket_base_url=https://NAME.openai.azure.com/openai/v1" in diagnosis.fix
    check = diagnosis.to_check("session-update", Stage.SESSION)
    assert check.status is Status.FAIL
    assert check.evidence.startswith("ga-events-on-preview-route: ")


@pytest.mark.parametrize(
    "obs",
    [
        Observation(),
        Observation(url=OPENAI, status=101),
        Observation(url=OPENAI, status=101, close_code=1000, close_reason="bye"),
        Observation(url=AZURE_GA, status=101, error=error_event("response_cancel_not_active")),
        Observation(url="::", status="500", body=b"\xff", error={"error": 7}, close_code="x"),  # type: ignore[arg-type]
        Observation(url=AZURE_GA, status=200, body=[1, 2], error={"type": "error", "error": None}),
    ],
)
def test_nothing_known_names_no_cause_and_odd_types_never_crash(obs: Observation) -> None:
    """A clean or unrecognised session gets no cause; any JSON type anywhere is survived."""
    assert classify(obs) is None


class TestAttempts:
    def ids(self, n: int, ok: bool) -> Attempt:
        return Attempt(
            ok=ok,
            at=f"2026-11-30T05:0{n}:00Z",
            session_id=f"sess_{n}",
            request_id=f"req_{n}",
            region="Sweden Central",
            error_code=None if ok else "server_error",
        )

    def test_no_failure_is_no_diagnosis(self) -> None:
        """All attempts fine: nothing to say."""
        assert classify_attempts([self.ids(1, True), self.ids(2, True)]) is None

    def test_one_failed_attempt_cannot_tell(self) -> None:
        """A single failure asks for --repeat."""
        diagnosis = classify_attempts([self.ids(1, False)])
        assert diagnosis is not None
        assert diagnosis.cause is Cause.SERVER_ERROR
        assert "--repeat" in diagnosis.fix

    def test_some_failing_is_transient_with_the_rate_and_every_id(self) -> None:
        """2 of 5 failing: transient, with the failure rate and each attempt's ids."""
        attempts = [self.ids(i, i not in (2, 4)) for i in range(1, 6)]
        diagnosis = classify_attempts(attempts)
        assert diagnosis is not None
        assert diagnosis.cause is Cause.SERVER_ERROR_TRANSIENT
        assert diagnosis.evidence == "2 of 5 attempts failed (40%)"
        assert list(diagnosis.seen) == [f"attempt-{i}" for i in range(1, 6)]
        assert diagnosis.seen["attempt-2"] == (
            "failed(server_error) at=2026-11-30T05:02:00Z session=sess_2 request=req_2 "
            "region=Sweden Central"
        )
        assert diagnosis.seen["attempt-1"].startswith("ok ")

    def test_all_failing_is_persistent(self) -> None:
        """Every attempt failing: persistent, with the ticket advice."""
        diagnosis = classify_attempts([self.ids(i, False) for i in range(1, 4)])
        assert diagnosis is not None
        assert diagnosis.cause is Cause.SERVER_ERROR_PERSISTENT
        assert diagnosis.evidence == "3 of 3 attempts failed (100%)"
        assert "support" in diagnosis.fix


class TestClock:
    NOW = 1_796_000_000.0

    def test_a_clock_in_step_is_no_diagnosis(self) -> None:
        """A Date header within the tolerance and an expires_at within the hour are fine."""
        assert (
            check_clock(
                self.NOW,
                date_header=formatdate(self.NOW + 2, usegmt=True),
                expires_at=self.NOW + 3599,
            )
            is None
        )

    @pytest.mark.parametrize(
        ("date_offset", "expires_offset", "needle"),
        [
            (-120, None, "120 s ahead of the server's Date"),
            (300, None, "300 s behind the server's Date"),
            (None, -60, "local past: the local clock is ahead"),
            (None, 3600 + 900, "the local clock is behind"),
        ],
    )
    def test_skew_is_named_from_the_date_header_or_expires_at(
        self, date_offset: float | None, expires_offset: float | None, needle: str
    ) -> None:
        """Either evidence alone names clock-skew, with the direction."""
        diagnosis = check_clock(
            self.NOW,
            date_header=None
            if date_offset is None
            else formatdate(self.NOW + date_offset, usegmt=True),
            expires_at=None if expires_offset is None else int(self.NOW + expires_offset),
        )
        assert diagnosis is not None
        assert diagnosis.cause is Cause.CLOCK_SKEW
        assert needle in diagnosis.evidence
        assert "NTP" in diagnosis.fix

    @pytest.mark.parametrize("date_header", ["not a date", "", "Mon, 99 Foo 2026 99:99:99 GMT"])
    def test_an_unreadable_date_or_expires_at_is_ignored(self, date_header: str) -> None:
        """Odd values are never a crash and never a diagnosis by themselves."""
        assert check_clock(self.NOW, date_header=date_header, expires_at="soon") is None
        assert check_clock(self.NOW, expires_at=True) is None


def test_a_diagnosis_fits_in_a_report() -> None:
    """Diagnoses become report rows with their ids."""
    diagnosis = classify(Observation(url=AZURE_GA, status=429, headers={"retry-after": "3"}))
    assert diagnosis is not None
    assert "retry-after 3" in diagnosis.evidence
    report = Report(checks=[diagnosis.to_check("handshake", Stage.HANDSHAKE)])
    assert report.exit_code == 1
    assert report.checks[0].seen["retry-after"] == "3"
