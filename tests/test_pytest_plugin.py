"""The pytest plugin, tested as a user meets it: through ``pytester`` runs of small test files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from realtime_harness.mock import Latency, MockServer
from realtime_harness.protocol.dialects import Dialect

pytest_plugins = ["pytester"]

KEYS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_DEPLOYMENT",
)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester) -> None:
    """Every inner run starts without credentials or targets, with a quiet asyncio config."""
    for name in (*KEYS, "REALTIME_URL", "OPENAI_REALTIME_URL", "AZURE_OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    write_ini(pytester)


def write_ini(pytester: pytest.Pytester, extra: str = "") -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n" + extra
    )


@pytest.fixture
def live_server() -> Iterator[MockServer]:
    """A loopback server standing in for a live deployment (the outer test owns it)."""
    with MockServer(Dialect.GA, latency=Latency.fast()).run_in_thread() as server:
        yield server


def test_options_and_ini_keys_are_registered(pytester: pytest.Pytester) -> None:
    """--help lists every --realtime-* option and its ini key."""
    result = pytester.runpytest("--help")
    for text in (
        "--realtime-url",
        "--realtime-endpoint",
        "--realtime-deployment",
        "--realtime-api-version",
        "--realtime-dialect",
        "--realtime-live",
        "realtime_url",
        "realtime_live",
    ):
        result.stdout.fnmatch_lines([f"*{text}*"])


def test_live_tests_skip_without_the_flag(pytester: pytest.Pytester) -> None:
    """A realtime_live test is skipped with a one-line reason when --realtime-live is absent."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_live
        def test_live(run_probe):
            raise AssertionError("must not run")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*pass --realtime-live to run it against a deployment*"])


def test_explicit_live_flag_without_a_target_stops_the_run(pytester: pytest.Pytester) -> None:
    """--realtime-live with no target is a usage error naming what to configure: nothing runs
    against the mock, so a CI job meant for a deployment cannot go green."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_live
        def test_live():
            raise AssertionError("must not run")

        def test_other():
            raise AssertionError("must not run either")
        """
    )
    result = pytester.runpytest("-rs", "--realtime-live")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--realtime-live: no realtime target configured*"])
    assert "must not run" not in result.stdout.str()


def test_explicit_live_flag_without_a_key_stops_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--realtime-live with a URL but no key: a usage error naming the missing key."""
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile("def test_other():\n    pass\n")
    url = "wss://example.openai.azure.com/openai/v1/realtime?model=gpt-realtime"
    result = pytester.runpytest("--realtime-live", f"--realtime-url={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--realtime-live: realtime target not usable*"])


def test_live_tests_skip_without_credentials(pytester: pytest.Pytester) -> None:
    """A target from the ini file without a key in the environment skips cleanly."""
    write_ini(
        pytester,
        "realtime_url = wss://example.openai.azure.com/openai/v1/realtime?model=gpt-realtime\n"
        "realtime_live = true\n",
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_live
        def test_live():
            raise AssertionError("must not run")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*realtime target not usable*"])


def test_plain_tests_get_no_realtime_fixtures(pytester: pytest.Pytester) -> None:
    """Nothing is autouse: a plain test sets up none of the plugin's fixtures."""
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest("--setup-plan")
    used = [line for line in result.stdout.lines if "fixtures used" in line]
    assert used
    assert not any("realtime" in line for line in used)


def test_run_probe_against_the_mock_records_junit_properties(pytester: pytest.Pytester) -> None:
    """run_probe works in sync and async tests and attaches ids and timings to JUnit XML."""
    pytester.makepyfile(
        """
        import pytest

        def test_sync(run_probe):
            result = run_probe(text="Say hello.")
            assert result.outcome.value == "clean", result.failures
            assert result.session_id.startswith("sess_")

        @pytest.mark.asyncio
        async def test_async(run_probe):
            result = run_probe()
            assert result.outcome.value == "clean"
            assert result.responses[0].response_id.startswith("resp_")
        """
    )
    result = pytester.runpytest("--junitxml=report.xml")
    result.assert_outcomes(passed=2)
    tree = ET.parse(pytester.path / "report.xml")
    names = {p.get("name") for p in tree.iter("property")}
    assert {"realtime_session_id", "realtime_response_id", "realtime_outcome"} <= names
    assert any(name.startswith("realtime_ms_") for name in names if name)
    values = [p.get("value") or "" for p in tree.iter("property")]
    assert any(v.startswith("sess_") for v in values)


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_session_helper_in_both_asyncio_modes(pytester: pytest.Pytester, mode: str) -> None:
    """The async session helper works under pytest-asyncio strict and auto modes, both dialects."""
    marker = "@pytest.mark.asyncio" if mode == "strict" else ""
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.parametrize("realtime_dialect", ["ga", "beta"])
        {marker}
        async def test_text_turn(realtime_session, realtime_dialect):
            async with realtime_session() as s:
                assert s.session_id.startswith("sess_")
                text = {{"type": "message", "role": "user",
                         "content": [{{"type": "input_text", "text": "hello"}}]}}
                await s.send({{"type": "conversation.item.create", "item": text}})
                await s.send({{"type": "response.create"}})
                done = await s.wait_for("response.done", max_wait=5)
                assert done["response"]["status"] == "completed"
        """
    )
    result = pytester.runpytest(f"--asyncio-mode={mode}")
    result.assert_outcomes(passed=2)


def test_wait_for_timeout_names_session_and_last_events(pytester: pytest.Pytester) -> None:
    """A wait that times out fails with the session id and the last events received."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_wait(realtime_session):
            async with realtime_session() as s:
                await s.wait_for("never.happens", max_wait=0.2)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*timed out after 0.2 s waiting for never.happens*session_id=sess_*last events: "
            "session.created[[]event_*"
        ]
    )


def test_faults_by_marker_and_by_call(pytester: pytest.Pytester) -> None:
    """Faults set by marker or set_faults reach the mock for that test only, as the ledger shows."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_faults("server_error:rate=1,after_deltas=1")
        def test_marker(run_probe, realtime_mock):
            result = run_probe(text="hi")
            assert result.outcome.value == "server_failure"
            (failure,) = [f for f in result.failures if not f.benign]
            (record,) = realtime_mock.ledger
            assert failure.response_id == record.response_id
            assert failure.session_id == record.session_id

        def test_call(run_probe, realtime_mock):
            realtime_mock.set_faults(["close:code=1011,count=1"])
            assert run_probe(text="hi").outcome.value == "connection_failure"

        def test_clean_again(run_probe, realtime_mock):
            assert run_probe(text="hi").outcome.value == "clean"
            assert realtime_mock.ledger == []
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_the_mock_fixture_knows_todays_realtime_names(pytester: pytest.Pytester) -> None:
    """realtime_mock serves today's realtime model names and refuses others, as the services do."""
    pytester.makepyfile(
        """
        import json

        from websockets.sync.client import connect

        from realtime_harness.mock import REALTIME_MODELS

        def test_names(realtime_mock):
            assert realtime_mock.models == frozenset(REALTIME_MODELS)
            assert realtime_mock.deployments == frozenset(REALTIME_MODELS)
            headers = {"Authorization": "Bearer sk-test-key-123456"}
            url = realtime_mock.url + "/v1/realtime?model=gpt-4o"
            with connect(url, additional_headers=headers, open_timeout=10) as ws:
                event = json.loads(ws.recv(timeout=10))
            assert event["error"]["code"] == "invalid_model"
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_live_target_is_used_when_allowed(
    pytester: pytest.Pytester, live_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --realtime-live, a URL and a key, tests run against that target, not the mock."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-test-key-0001")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_live
        def test_live(run_probe, realtime_target):
            assert not realtime_target.embedded
            assert run_probe(text="hi").outcome.value == "clean"

        def test_needs_mock(realtime_mock):
            raise AssertionError("skipped: faults need the mock")
        """
    )
    url = f"{live_server.url}/v1/realtime?model=gpt-realtime"
    result = pytester.runpytest("-rs", "--realtime-live", f"--realtime-url={url}")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs the embedded mock*"])
    assert "sk-live-test-key-0001" not in result.stdout.str()
    assert len(live_server.sessions) >= 1


def test_bad_dialect_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An unknown --realtime-dialect stops the run with a one-line usage error."""
    pytester.makepyfile("def test_x(realtime_dialect):\n    pass\n")
    result = pytester.runpytest("--realtime-dialect=v2")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--realtime-dialect 'v2' is not a dialect; use ga or beta*"])


def test_readme_shows_the_example_file_verbatim() -> None:
    """README's pytest example is the file the suite runs, so it cannot rot."""
    root = Path(__file__).resolve().parents[1]
    example = (root / "tests" / "integration" / "test_readme_example.py").read_text()
    assert example in (root / "README.md").read_text()
