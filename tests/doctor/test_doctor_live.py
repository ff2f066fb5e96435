"""``doctor`` against the mock behaving as the real services do: one row per cause, and doctor
names that cause and no other.

Every row starts an in-process mock on 127.0.0.1 configured for one mistake (an unknown
deployment, a retired api-version, GA events on the preview route, a regional incident…), points
doctor at the route a user would use, and checks the named causes, the exit code and where the
first failure sits.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from realtime_harness.doctor import Cause
from realtime_harness.doctor.checks import Report, Status, render_plain
from realtime_harness.doctor.config import ConfigInputs, resolve_inputs
from realtime_harness.doctor.live import DoctorOptions, run_doctor
from realtime_harness.mock import Latency, MockServer
from realtime_harness.mock.config import REALTIME_MODELS
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.target import AuthMode, Target, Variant

AZURE_KEY = {"api-key": "0123456789abcdef0123456789abcdef"}
BEARER = {"Authorization": "Bearer sk-test-key"}
PREVIEW = "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime"


@dataclass(frozen=True)
class Row:
    """One cause: how the mock is set up, what the client asks for, what doctor must say."""

    path: str
    cause: Cause | None
    dialect: Dialect = Dialect.GA
    headers: dict[str, str] = field(default_factory=lambda: dict(AZURE_KEY))
    server: dict[str, Any] = field(default_factory=dict)
    repeat: int = 1
    exit_code: int = 1
    first_failure: str | None = None
    clock_offset_s: float = 0.0


ROWS = {
    "healthy": Row("/openai/v1/realtime?model=gpt-realtime", None, exit_code=0),
    "deployment-not-found": Row(
        "/openai/v1/realtime?model=my-gpt4o",
        Cause.DEPLOYMENT_NOT_FOUND,
        server={"deployments": ("gpt-realtime",)},
        first_failure="handshake",
    ),
    "invalid-model": Row(
        "/v1/realtime?model=gpt-4o",
        Cause.INVALID_MODEL,
        headers=BEARER,
        server={"models": REALTIME_MODELS},
        first_failure="session-created",
    ),
    "missing-model": Row(
        "/v1/realtime", Cause.MISSING_MODEL, headers=BEARER, first_failure="session-created"
    ),
    "not-a-realtime-model": Row(
        "/openai/v1/realtime?model=gpt-realtime-whisper",
        Cause.NOT_A_REALTIME_MODEL,
        server={"deployments": ("gpt-realtime-whisper",)},  # it exists, but is no realtime model
        first_failure="handshake",
    ),
    "ga-events-on-preview-route": Row(
        PREVIEW, Cause.GA_EVENTS_ON_PREVIEW_ROUTE, first_failure="session-update"
    ),
    "preview-route-refuses-ga-clients": Row(
        PREVIEW,
        Cause.GA_EVENTS_ON_PREVIEW_ROUTE,
        dialect=Dialect.BETA,
        exit_code=0,
    ),
    "dialect-mismatch": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.DIALECT_MISMATCH,
        dialect=Dialect.BETA,
        first_failure="session-update",
    ),
    "api-version-unsupported": Row(
        PREVIEW.replace("2025-04-01-preview", "2024-10-01-preview"),
        Cause.API_VERSION_UNSUPPORTED,
        dialect=Dialect.BETA,
        first_failure="handshake",
    ),
    "api-version-on-ga-url": Row(
        "/openai/v1/realtime?model=gpt-realtime&api-version=2025-04-01-preview",
        Cause.API_VERSION_ON_GA_URL,
        first_failure="handshake",
    ),
    "unauthorized": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.UNAUTHORIZED,
        server={"require_key": "fedcba9876543210fedcba9876543210"},
        first_failure="handshake",
    ),
    "invalid-api-key": Row(
        "/v1/realtime?model=gpt-realtime",
        Cause.INVALID_API_KEY,
        headers=BEARER,
        server={"require_key": "sk-the-right-one"},
        first_failure="session-created",
    ),
    "beta-shape-disabled": Row(
        "/v1/realtime?model=gpt-realtime",
        Cause.BETA_SHAPE_DISABLED,
        dialect=Dialect.BETA,
        headers={**BEARER, "OpenAI-Beta": "realtime=v1"},
        first_failure="session-created",
    ),
    "route-not-found": Row(
        "/openai/deployments/gpt-realtime/realtime",
        Cause.ROUTE_NOT_FOUND,
        first_failure="handshake",
    ),
    "throttled": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.THROTTLED,
        server={"faults": ["handshake_429:retry_after=7"]},
        first_failure="handshake",
    ),
    "regional-incident-503": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.SERVICE_UNAVAILABLE,
        server={"faults": ["handshake_503"]},
        repeat=2,
        first_failure="handshake",
    ),
    "server-error-once": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.SERVER_ERROR,
        server={"faults": ["server_error:rate=1"]},
        first_failure="text-turn",
    ),
    "server-error-persistent": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.SERVER_ERROR_PERSISTENT,
        server={"faults": ["server_error:rate=1"]},
        repeat=3,
        first_failure="text-turn",
    ),
    "server-error-transient": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.SERVER_ERROR_TRANSIENT,
        server={"faults": ["server_error:count=1"]},
        repeat=3,
        first_failure="text-turn",
    ),
    "clock-skew": Row(
        "/openai/v1/realtime?model=gpt-realtime",
        Cause.CLOCK_SKEW,
        exit_code=0,
        clock_offset_s=600.0,
    ),
}


async def _doctor(row: Row) -> Report:
    server_kwargs: dict[str, Any] = {"latency": Latency.fast(), "seed": 7, **row.server}
    async with MockServer(**server_kwargs) as server:
        target = Target(
            url=server.url + row.path,
            dialect=row.dialect,
            variant=Variant.CUSTOM,
            auth=AuthMode.API_KEY,
            headers=row.headers,
        )
        options = DoctorOptions(
            inputs=ConfigInputs.from_target(target),
            repeat=row.repeat,
            timeout=3.0,
            speed=0.0,
            rng=random.Random(1),
            wall=lambda: time.time() + row.clock_offset_s,
        )
        return await run_doctor(options)


@pytest.mark.parametrize("name", list(ROWS))
def test_doctor_names_the_cause_and_no_other(name: str) -> None:
    """The mock makes one mistake as the real service does; doctor names exactly that one."""
    row = ROWS[name]
    report = asyncio.run(_doctor(row))
    text = render_plain(report)
    expected = [] if row.cause is None else [row.cause.value]
    assert report.causes() == expected, text
    assert report.exit_code == row.exit_code, text
    failed = report.failed()
    if row.first_failure is None:
        assert failed == [], text
    else:
        assert failed[0].name == row.first_failure, text


def test_the_rows_cover_the_causes_a_session_can_show() -> None:
    """Every cause a live session can produce has a row, but three the mock never shows:
    403 (an account without realtime access), any other 4xx, and OpenAI's close 4004
    ``model_not_found`` (one source only; the advice table's own tests cover them)."""
    covered = {row.cause for row in ROWS.values()}
    assert set(Cause) - covered == {
        Cause.FORBIDDEN,
        Cause.HANDSHAKE_REFUSED,
        Cause.MODEL_NOT_FOUND,
    }


@pytest.fixture(scope="module")
def embedded_report() -> Report:
    """doctor with no target: the embedded mock."""
    return asyncio.run(run_doctor(DoctorOptions(rng=random.Random(3))))


def test_the_embedded_mock_passes_every_check(embedded_report: Report) -> None:
    """With no target doctor diagnoses the embedded mock: nothing fails or warns, exit 0."""
    report = embedded_report
    assert report.exit_code == 0
    assert {c.status for c in report.checks} <= {Status.PASS, Status.SKIPPED}
    names = [c.name for c in report.checks]
    assert names.index("handshake") < names.index("session-created") < names.index("text-turn")
    assert names.index("text-turn") < names.index("short-audio") < names.index("clock")


def test_each_step_prints_its_ids(embedded_report: Report) -> None:
    """The minimal-request steps carry the session and response ids they produced."""
    report = embedded_report
    for name in ("text-turn", "short-audio"):
        check = report.check(name)
        assert check is not None
        assert check.seen["session_id"].startswith("sess_")
        assert check.seen["response_ids"].startswith("resp_")


def test_repeat_reports_every_attempts_ids_and_region() -> None:
    """--repeat N: the failure rate, and per attempt the time, session, request id and region."""
    row = ROWS["server-error-persistent"]
    report = asyncio.run(_doctor(row))
    transient = report.check("transient")
    assert transient is not None
    assert transient.status is Status.FAIL
    assert "3 of 3 attempts failed" in transient.evidence
    assert sorted(transient.seen) == ["attempt-1", "attempt-2", "attempt-3"]
    for line in transient.seen.values():
        assert "session=sess_" in line
        assert "region=Mock Region" in line
        assert "request=" in line


def test_the_users_audio_is_tried_last_and_described() -> None:
    """--audio: the third step, with its format, rate, channels and length."""
    report = asyncio.run(run_doctor(DoctorOptions(audio="greeting", rng=random.Random(3))))
    check = report.check("your-audio")
    assert check is not None
    assert check.status is Status.PASS
    assert "Hz" in check.evidence
    assert "ms" in check.evidence


def test_an_assistants_url_is_retired_and_nothing_is_sent() -> None:
    """doctor at an Assistants route says the API was retired and names the replacement."""
    inputs = resolve_inputs(
        url="wss://res.openai.azure.com/openai/threads/runs?api-version=2024-06-01-preview",
        env={"AZURE_OPENAI_API_KEY": AZURE_KEY["api-key"]},
    )
    assert isinstance(inputs, ConfigInputs)
    report = asyncio.run(run_doctor(DoctorOptions(inputs=inputs)))
    check = report.check("assistants-api")
    assert check is not None
    assert check.status is Status.FAIL
    assert "2026-08-26" in check.evidence
    assert "Responses API" in check.fix
    assert report.check("handshake") is not None
    assert report.check("handshake").status is Status.SKIPPED  # type: ignore[union-attr]


def test_nothing_reachable_exits_4() -> None:
    """A host that does not resolve: DNS fails, everything after it is skipped, exit 4."""
    target = Target(
        url="wss://doctor-test.invalid/openai/v1/realtime?model=gpt-realtime",
        dialect=Dialect.GA,
        variant=Variant.CUSTOM,
        headers=AZURE_KEY,
    )
    report = asyncio.run(
        run_doctor(DoctorOptions(inputs=ConfigInputs.from_target(target), timeout=5))
    )
    assert report.exit_code == 4
    assert report.failed()[0].name == "dns"
    assert report.check("clock").status is Status.SKIPPED  # type: ignore[union-attr]


def test_behind_a_proxy_the_hop_to_the_proxy_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a proxy in the environment DNS and TCP are checked against the proxy, as the
    connection goes there; a proxy that refuses connections is unreachable (exit 4)."""
    import socket

    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        closed_port = probe_socket.getsockname()[1]
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = Target(
        url="wss://res.openai.azure.com/openai/v1/realtime?model=gpt-realtime",
        dialect=Dialect.GA,
        variant=Variant.AZURE,
        headers=AZURE_KEY,
    )
    report = asyncio.run(
        run_doctor(DoctorOptions(inputs=ConfigInputs.from_target(target), timeout=5))
    )
    dns, tcp = report.check("dns"), report.check("tcp")
    assert dns is not None
    assert dns.status is Status.PASS
    assert "the proxy for res.openai.azure.com" in dns.evidence
    assert tcp is not None
    assert tcp.status is Status.FAIL
    assert report.exit_code == 4
