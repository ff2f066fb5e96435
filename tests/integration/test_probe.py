"""``run_probe`` end to end against the embedded mock server on 127.0.0.1, both dialects: clean
sessions through all four URL variants, every fault kind the mock offers classified with the
right ids and exit code, retries, and recordings that round-trip through ``validate`` and the
mock's replay."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio

from realtime_harness.mock import FaultKind, Latency, MockServer, parse_fault_spec
from realtime_harness.probe import ProbeOptions, ProbeResult, mock_target, run_probe
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.redact import forget_secrets
from realtime_harness.target import AuthMode, Target, resolve_target
from realtime_harness.validate import validate_file

KEY = "sk-probe-integration-key-0001"


def target_for(server: MockServer, dialect: Dialect) -> Target:
    headers = {"Authorization": f"Bearer {KEY}"}
    if dialect is Dialect.BETA:
        headers["OpenAI-Beta"] = "realtime=v1"
    return Target(
        url=f"{server.url}/v1/realtime?model=gpt-realtime",
        dialect=dialect,
        auth=AuthMode.BEARER,
        headers=headers,
    )


def fast_options(target: Target, **overrides: Any) -> ProbeOptions:
    base = ProbeOptions(
        target=target,
        speed=0,
        timeout=2.0,
        drain=0.05,
        retry_wait_initial=0.0,
        retry_wait_max=0.0,
        retry_jitter=0.0,
        max_retry_after=0.0,
    )
    return replace(base, **overrides)


@pytest.fixture(params=[Dialect.GA, Dialect.BETA], ids=["ga", "beta"])
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return Dialect(request.param)


@pytest_asyncio.fixture
async def mock(dialect: Dialect) -> AsyncIterator[MockServer]:
    async with MockServer(dialect=dialect, latency=Latency.fast()) as server:
        yield server
        server.check()


async def probe_with_faults(dialect: Dialect, *faults: str, **overrides: Any) -> ProbeResult:
    async with MockServer(dialect=dialect, faults=list(faults), latency=Latency.fast()) as server:
        result = await run_probe(fast_options(target_for(server, dialect), **overrides))
        server.check()
        return result


@pytest.mark.asyncio
async def test_clean_session_against_the_mock(mock: MockServer, dialect: Dialect) -> None:
    """A clean audio session: exit 0, the mock's session id, a completed response, timings."""
    result = await run_probe(fast_options(target_for(mock, dialect)))
    assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
    assert result.violations == []
    assert result.session_id is not None
    assert result.session_id.startswith("sess_")
    assert result.responses[0].status == "completed"
    timings = result.timings_ms
    for key in ("connect", "handshake", "session_created", "session_updated", "create_to_done"):
        assert key in timings
    session = result.sessions[0]
    assert session.transcripts[0]
    # the mock saw our session.update with VAD off, the appends, the commit and response.create
    types = [e["type"] for e in mock.received]
    assert types[0] == "session.update"
    assert types[-2:] == ["input_audio_buffer.commit", "response.create"]


@pytest.mark.asyncio
async def test_text_and_multi_turn_sessions(mock: MockServer, dialect: Dialect) -> None:
    """--text and --turns 2 both run clean against the mock."""
    target = target_for(mock, dialect)
    text = await run_probe(fast_options(target, text="Say hello."))
    assert text.outcome is Outcome.CLEAN
    two = await run_probe(fast_options(target, turns=2))
    assert two.outcome is Outcome.CLEAN
    assert [r.status for r in two.responses] == ["completed", "completed"]


@pytest.mark.asyncio
async def test_server_vad_turn(mock: MockServer, dialect: Dialect) -> None:
    """--turn-detection server_vad: no commit; the mock's VAD answers the padded sample."""
    result = await run_probe(
        fast_options(target_for(mock, dialect), turn_detection="server_vad", audio="silence-padded")
    )
    assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
    assert "input_audio_buffer.commit" not in [e["type"] for e in mock.received]
    assert result.responses[0].status == "completed"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("env_of", "variant_dialect"),
    [
        (lambda base: {"OPENAI_BASE_URL": f"{base}/v1", "OPENAI_API_KEY": KEY}, Dialect.GA),
        (
            lambda base: {
                "AZURE_OPENAI_ENDPOINT": base,
                "AZURE_OPENAI_API_KEY": KEY,
                "AZURE_OPENAI_DEPLOYMENT": "gpt-realtime",
            },
            Dialect.GA,
        ),
        (
            lambda base: {
                "AZURE_OPENAI_ENDPOINT": base,
                "AZURE_OPENAI_API_KEY": KEY,
                "AZURE_OPENAI_DEPLOYMENT": "gpt-realtime",
                "AZURE_OPENAI_API_VERSION": "2025-04-01-preview",
            },
            Dialect.BETA,
        ),
    ],
    ids=["openai", "azure", "azure-preview"],
)
async def test_url_variants_built_from_env_reach_the_mock(
    env_of: Any, variant_dialect: Dialect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URLs and auth headers built from env vars are accepted by the mock's real routes."""
    monkeypatch.chdir(tmp_path)
    async with MockServer(latency=Latency.fast(), require_key=KEY) as server:
        base = server.url.replace("ws://", "http://")
        target = resolve_target(env=env_of(base))
        assert target is not None
        assert target.dialect is variant_dialect
        result = await run_probe(fast_options(target))
        assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
        assert result.dialect is variant_dialect
    forget_secrets()


@pytest.mark.asyncio
async def test_openai_beta_variant_reaches_a_beta_mock(tmp_path: Path) -> None:
    """dialect=beta on an OpenAI-style URL sends OpenAI-Beta and speaks beta."""
    async with MockServer(dialect=Dialect.BETA, latency=Latency.fast()) as server:
        target = resolve_target(
            dialect=Dialect.BETA,
            env={"OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": KEY},
            env_file=None,
        )
        assert target is not None
        assert target.headers["OpenAI-Beta"] == "realtime=v1"
        result = await run_probe(fast_options(target))
        assert result.outcome is Outcome.CLEAN
    forget_secrets()


# Each fault kind of the mock → (outcome, what identifies it). ``kind:`` is a failure kind,
# ``rule:`` a violation rule.
FAULTS: list[tuple[str, Outcome, str]] = [
    ("server_error", Outcome.SERVER_FAILURE, "kind:response_failed"),
    ("rate_limit", Outcome.SERVER_FAILURE, "kind:response_failed"),
    ("error_event", Outcome.SERVER_FAILURE, "kind:error_event"),
    ("drop", Outcome.CONNECTION, "kind:close"),
    ("close", Outcome.CONNECTION, "kind:close"),
    ("close:code=1013", Outcome.CONNECTION, "kind:close"),
    ("stall", Outcome.CONNECTION, "kind:timeout"),
    ("malformed", Outcome.VIOLATION, "rule:bad-line"),
    ("duplicate", Outcome.VIOLATION, "rule:event-id-unique"),
    ("reorder", Outcome.VIOLATION, "rule:delta-after-stream-done"),
    # At the instant of session.created: the error and close 1001 always arrive while the probe
    # waits for session.updated, whatever the load (a send may then fail on the close first).
    ("expire:delay=0", Outcome.SERVER_FAILURE, "kind:error_event"),
    ("handshake_429:retry_after=0", Outcome.CONNECTION, "kind:handshake"),
    ("handshake_503", Outcome.CONNECTION, "kind:handshake"),
    ("error_event:phase=commit", Outcome.SERVER_FAILURE, "kind:error_event"),
    ("drop:phase=session", Outcome.CONNECTION, "kind:close"),
    ("close:phase=update", Outcome.CONNECTION, "kind:close"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("spec", "outcome", "marker"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_every_mock_fault_is_classified(
    dialect: Dialect, spec: str, outcome: Outcome, marker: str
) -> None:
    """Each injected fault gives the documented outcome, exit code and the failure's ids."""
    result = await probe_with_faults(dialect, spec, timeout=0.5)
    assert result.outcome is outcome, [f.summary() for f in result.failures] + [
        v.summary() for v in result.violations
    ]
    assert result.exit_code == outcome.exit_code
    what, name = marker.split(":")
    if what == "kind":
        failure = next(f for f in result.failures if f.kind == name)
        if name != "handshake":
            assert failure.session_id == result.session_id
            assert failure.session_id is not None
        else:
            assert result.handshake.status in (429, 503)
        if name == "close":
            assert failure.close_code in (1006, 1011, 1013)
        if name in ("response_failed",):
            assert failure.response_id is not None
            assert failure.event_id is not None
            assert failure.error is not None
    else:
        assert name in [v.rule for v in result.violations]


def test_every_fault_kind_of_the_mock_is_covered() -> None:
    """A fault kind added to the mock fails here until the probe's classification is tested."""
    covered = {spec.split(":")[0] for spec, _, _ in FAULTS} | {"slow_handshake"}
    assert {kind.value for kind in FaultKind} <= covered


@pytest.mark.asyncio
async def test_slow_handshake_is_timed_not_failed() -> None:
    """A slow upgrade shows in handshake time and the session is still clean."""
    result = await probe_with_faults(Dialect.GA, "slow_handshake:delay=0.3")
    assert result.outcome is Outcome.CLEAN
    assert result.timings_ms["handshake"] >= 250


@pytest.mark.asyncio
async def test_slow_handshake_beyond_the_timeout_is_a_connect_failure() -> None:
    """An upgrade slower than --timeout is a connection failure, exit 4."""
    result = await probe_with_faults(Dialect.GA, "slow_handshake:delay=0.6", timeout=0.2)
    assert result.outcome is Outcome.CONNECTION
    assert result.failures[0].kind == "connect"


@pytest.mark.asyncio
async def test_transient_failures_pass_on_a_later_attempt(dialect: Dialect) -> None:
    """A throttled handshake then a server_error, with --retries 2: clean on attempt 3."""
    result = await probe_with_faults(
        dialect,
        "handshake_429:count=1,retry_after=0",
        "server_error:count=1",
        retries=2,
    )
    assert result.outcome is Outcome.CLEAN
    assert [a.outcome for a in result.attempts] == [
        Outcome.CONNECTION,
        Outcome.SERVER_FAILURE,
        Outcome.CLEAN,
    ]
    assert result.verdict() == "transient: passed on attempt 3 of 3"
    assert len({a.session_id for a in result.attempts[1:]}) == 2  # each attempt a new session


@pytest.mark.asyncio
async def test_retry_after_is_honoured() -> None:
    """The next attempt waits the server's retry-after (here 0.4 s)."""
    start = time.monotonic()
    result = await probe_with_faults(
        Dialect.GA, "handshake_429:count=1,retry_after=0.4", retries=1, max_retry_after=5.0
    )
    assert result.outcome is Outcome.CLEAN
    assert time.monotonic() - start >= 0.4


@pytest.mark.asyncio
async def test_non_retryable_failure_stops_at_once() -> None:
    """A wrong key (Azure 401) is never retried; it is an auth failure (exit 1), as on the
    OpenAI route."""
    async with MockServer(latency=Latency.fast(), require_key="the-right-key-123") as server:
        target = Target(
            url=f"{server.url}/openai/v1/realtime?model=gpt-realtime",
            dialect=Dialect.GA,
            headers={"api-key": "the-wrong-key-456"},
        )
        result = await run_probe(fast_options(target, retries=3))
    assert result.outcome is Outcome.SERVER_FAILURE
    assert [f.kind for f in result.failures] == ["auth"]
    assert len(result.attempts) == 1
    assert result.handshake.status == 401
    assert result.handshake.headers.get("apim-request-id")


@pytest.mark.asyncio
async def test_openai_invalid_key_is_error_then_close_3000() -> None:
    """OpenAI's wrong-key answer (error, close 3000): a server failure, close on record."""
    async with MockServer(latency=Latency.fast(), require_key="the-right-key-123") as server:
        target = Target(
            url=f"{server.url}/v1/realtime?model=gpt-realtime",
            dialect=Dialect.GA,
            headers={"Authorization": "Bearer the-wrong-key-456"},
        )
        result = await run_probe(fast_options(target, retries=2))
    assert result.outcome is Outcome.SERVER_FAILURE
    assert len(result.attempts) == 1
    error = result.failures[0].error
    assert error is not None
    assert error.code == "invalid_api_key"
    assert result.sessions[0].close_code == 3000


@pytest.mark.asyncio
async def test_escalation_reports_the_first_failing_step() -> None:
    """--escalate: text passes, short audio hits the fault, long audio never runs."""
    result = await probe_with_faults(Dialect.GA, "server_error:skip=1,count=1", escalate=True)
    assert [a.step for a in result.attempts] == ["text", "short audio"]
    assert result.outcome is Outcome.SERVER_FAILURE
    assert "short audio" in result.verdict()


@pytest.mark.asyncio
async def test_recording_round_trips_through_validate_and_replay(
    dialect: Dialect, tmp_path: Path
) -> None:
    """A --record file validates clean and replays through the mock to a clean probe."""
    path = tmp_path / "probe.jsonl"
    async with MockServer(dialect=dialect, latency=Latency.fast()) as server:
        result = await run_probe(fast_options(target_for(server, dialect), record=path))
    assert result.outcome is Outcome.CLEAN
    report = validate_file(path)
    assert report.outcome is Outcome.CLEAN
    assert report.session_id == result.session_id
    async with MockServer(dialect=dialect, replay=path) as replay:
        again = await run_probe(fast_options(target_for(replay, dialect)))
    assert again.outcome is Outcome.CLEAN
    assert again.session_id == result.session_id


@pytest.mark.asyncio
async def test_failures_log_gets_one_record_per_failure(tmp_path: Path) -> None:
    """--failures-log appends a JSON record with the ids for each failure, across attempts."""
    log = tmp_path / "failures.jsonl"
    result = await probe_with_faults(
        Dialect.GA, "server_error:count=2", retries=1, failures_log=log
    )
    records = [orjson.loads(line) for line in log.read_text().splitlines()]
    assert [r["attempt"] for r in records] == [1, 2]
    assert {r["session_id"] for r in records} == {a.session_id for a in result.attempts}
    assert all(r["response_id"] and r["event_id"] and r["url"] for r in records)


@pytest.mark.asyncio
async def test_mock_target_points_at_a_running_mock(mock: MockServer, dialect: Dialect) -> None:
    """mock_target gives the route, placeholder key and dialect of a running mock."""
    target = mock_target(mock)
    assert target.dialect is dialect
    assert target.embedded
    result = await run_probe(fast_options(target, text="Hi"))
    assert result.outcome is Outcome.CLEAN


@pytest.mark.asyncio
async def test_replayed_failed_vad_trace_reports_its_server_error_without_vad(
    tmp_path: Path,
) -> None:
    """A server-VAD recording with a server_error, replayed to a probe that commits manually:
    the server_error is the outcome (exit 1), not the wait for a commit that never came."""
    path = tmp_path / "vad.jsonl"
    faults = [parse_fault_spec("server_error:rate=1")]
    async with MockServer(dialect=Dialect.GA, latency=Latency.fast(), faults=faults) as server:
        first = await run_probe(
            fast_options(target_for(server, Dialect.GA), turn_detection="server_vad", record=path)
        )
    assert first.outcome is Outcome.SERVER_FAILURE
    async with MockServer(dialect=Dialect.GA, replay=path) as replay:
        again = await run_probe(fast_options(target_for(replay, Dialect.GA)))
    assert again.outcome is Outcome.SERVER_FAILURE
    assert again.exit_code == 1
    assert any(f.error is not None and f.error.type == "server_error" for f in again.failures)


@pytest.mark.asyncio
async def test_two_server_vad_turns_against_the_mock_complete_with_barge_ins_reported() -> None:
    """--turns 2 --turn-detection server_vad: every turn reaches a completed response; the
    responses the probe's own audio cancelled are marked barge_in, and the verdict is clean."""
    async with MockServer(dialect=Dialect.GA, latency=Latency.fast()) as server:
        result = await run_probe(
            fast_options(target_for(server, Dialect.GA), turns=2, turn_detection="server_vad")
        )
    assert result.outcome is Outcome.CLEAN, [f.summary() for f in result.failures]
    completed = [r for r in result.responses if not r.barge_in]
    assert [r.status for r in completed] == ["completed", "completed"]
    assert all(r.status == "cancelled" for r in result.responses if r.barge_in)
