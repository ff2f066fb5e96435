"""What the pytest plugin reports: short failures with every id, the header line, unique ids
under xdist, and JUnit properties in both ``junit_family`` forms (run through ``pytester``)."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET

import pytest

# Loaded here, before any in-process inner run: pytester drops modules an inner run imported,
# and numpy (under the mock) cannot be imported twice in one process.
import realtime_harness.mock  # noqa: F401
from realtime_harness.probe import ProbeResult
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import ErrorInfo, Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.session import ProbeHandshake, SessionResult

pytest_plugins = ["pytester"]

KEYS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_DEPLOYMENT",
    "REALTIME_URL",
    "OPENAI_REALTIME_URL",
    "AZURE_OPENAI_API_VERSION",
)
HAS_XDIST = importlib.util.find_spec("xdist") is not None


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester) -> None:
    """Every inner run starts without credentials or targets, with a quiet asyncio config."""
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    write_ini(pytester)


def write_ini(pytester: pytest.Pytester, extra: str = "") -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n" + extra
    )


# --- assert_clean / assert_failed --------------------------------------------------------------
LONG_MESSAGE = "The server had an error while processing your request. " * 8


def failure(**fields: object) -> Failure:
    base: dict[str, object] = {
        "kind": "response_failed",
        "session_id": "sess_C7xw9aQ2mN4pL0kYtR8s1",
        "response_id": "resp_Hq3ZbV9nW2cX5mK8pL1jT",
        "event_id": "event_Ab4Cd5Ef6Gh7Ij8Kl9Mn0",
        "item_id": "item_Zz9Yy8Xx7Ww6Vv5Uu4Tt3",
        "status": "failed",
        "error": ErrorInfo(type="server_error", code="server_error", message=LONG_MESSAGE),
    }
    base.update(fields)
    return Failure.model_validate(base)


def probe_result(outcome: Outcome, failures: list[Failure]) -> ProbeResult:
    return ProbeResult(
        outcome=outcome,
        dialect=Dialect.GA,
        session_id="sess_C7xw9aQ2mN4pL0kYtR8s1",
        attempts=[],
        responses=[],
        failures=failures,
        violations=[],
        timings_ms={},
        handshake=ProbeHandshake(),
    )


def session_result(outcome: Outcome, failures: list[Failure]) -> SessionResult:
    return SessionResult(
        outcome=outcome,
        dialect=Dialect.GA,
        url="ws://127.0.0.1:1/v1/realtime",
        session_id="sess_C7xw9aQ2mN4pL0kYtR8s1",
        started_at="2026-01-01T00:00:00Z",
        failures=failures,
    )


@pytest.mark.parametrize("make", [probe_result, session_result], ids=["probe", "session"])
def test_assert_clean_passes_on_a_clean_result(make: type[ProbeResult]) -> None:
    """A clean result passes ``assert_clean``."""
    make(Outcome.CLEAN, []).assert_clean()  # type: ignore[call-arg]


@pytest.mark.parametrize("make", [probe_result, session_result], ids=["probe", "session"])
def test_assert_clean_names_every_id_in_full(make: type[ProbeResult]) -> None:
    """The first line holds outcome, session, response and event ids; each failure follows on
    its own full line, however long its message."""
    result = make(Outcome.SERVER_FAILURE, [failure()])  # type: ignore[call-arg]
    with pytest.raises(AssertionError) as info:
        result.assert_clean()
    first, *rest = str(info.value).splitlines()
    assert first == (
        "not clean: outcome=server_failure session_id=sess_C7xw9aQ2mN4pL0kYtR8s1 "
        "response_id=resp_Hq3ZbV9nW2cX5mK8pL1jT event_id=event_Ab4Cd5Ef6Gh7Ij8Kl9Mn0"
    )
    assert rest == ["  " + failure().summary()]
    assert "item_id=item_Zz9Yy8Xx7Ww6Vv5Uu4Tt3" in rest[0]
    assert LONG_MESSAGE.strip() in rest[0]


def test_assert_failed_returns_the_failure_of_that_kind() -> None:
    """``assert_failed(kind=...)`` returns the first real failure of the kind (benign ones are
    not failures), optionally with an error code."""
    benign = failure(kind="error_event", benign=True)
    wanted = failure()
    result = probe_result(Outcome.SERVER_FAILURE, [benign, wanted])
    assert result.assert_failed() is wanted
    assert result.assert_failed(kind="response_failed") is wanted
    assert result.assert_failed(kind="response_failed", code="server_error") is wanted


def test_assert_failed_fails_with_the_ids_when_nothing_matches() -> None:
    """A missing failure kind, code, or a clean result fails, naming what was asked for."""
    result = probe_result(Outcome.SERVER_FAILURE, [failure()])
    with pytest.raises(AssertionError, match=r"^no failure of kind close: outcome=server_failure"):
        result.assert_failed(kind="close")
    with pytest.raises(AssertionError, match=r"^no failure with code rate_limit_exceeded: "):
        result.assert_failed(code="rate_limit_exceeded")
    with pytest.raises(AssertionError, match=r"^no failure: outcome=clean"):
        probe_result(Outcome.CLEAN, []).assert_failed()


def test_assert_clean_in_a_test_shows_the_ids_in_the_short_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the plugin: the short summary line names the session and response, the failure
    block has each failure's full line, and no frame of the helper is shown."""
    monkeypatch.setenv("COLUMNS", "200")  # the summary line is cut to the terminal's width
    pytester.makepyfile(
        test_a="""
        import pytest

        @pytest.mark.realtime_faults("server_error:rate=1,after_deltas=2")
        def test_fails(run_probe, realtime_mock):
            run_probe(text="Say hello.").assert_clean()

        @pytest.mark.realtime_faults("server_error:rate=1,after_deltas=2")
        def test_expected(run_probe, realtime_mock):
            failure = run_probe(text="Say hello.").assert_failed(kind="response_failed")
            assert failure.response_id.startswith("resp_")
        """
    )
    result = pytester.runpytest("-ra")
    result.assert_outcomes(failed=1, passed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "E    * failure response_failed * session_id=sess_* response_id=resp_* "
            "event_id=event_* item_id=item_*",
            "FAILED test_a.py::test_fails - AssertionError: not clean: "
            "outcome=server_failure session_id=sess_* response_id=resp_* event_id=event_*",
        ]
    )
    assert "assertions.py" not in out


# --- wait_for -----------------------------------------------------------------------------------
def test_a_failing_wait_for_is_short(pytester: pytest.Pytester) -> None:
    """A timed-out wait shows the test's line and one message (session id, last events): no
    CancelledError, no chained exception, no frame of the plugin."""
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
    out = result.stdout.str()
    block = out[out.index("_ test_wait _") : out.index("short test summary")]
    for noise in ("CancelledError", "During handling", "pytest_plugin.py", "Traceback"):
        assert noise not in block
    assert len(block.splitlines()) < 25, block
    result.stdout.fnmatch_lines(
        ["E * Failed: timed out after 0.2 s waiting for never.happens (session_id=sess_*"]
    )


def test_a_close_while_waiting_is_short(pytester: pytest.Pytester) -> None:
    """A socket the server closes fails with the close code, without the library's exception."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.realtime_faults("close:code=1011,count=1,after_deltas=0")
        async def test_closed(realtime_session, realtime_mock):
            async with realtime_session() as s:
                text = {"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": "hello"}]}
                await s.send({"type": "conversation.item.create", "item": text})
                await s.send({"type": "response.create"})
                await s.wait_for("response.done", max_wait=5)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "During handling" not in out
    assert "pytest_plugin.py" not in out
    result.stdout.fnmatch_lines(
        ["E * Failed: server closed the socket while waiting for response.done: code=1011*"]
    )


# --- the header -----------------------------------------------------------------------------------
def test_header_says_the_run_targets_the_mock(pytester: pytest.Pytester) -> None:
    """Without --realtime-live the header names the embedded mock and its dialect."""
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--realtime-dialect=beta")
    result.stdout.fnmatch_lines(
        ["realtime: embedded mock on ws://127.0.0.1 (dialect beta); no live deployment*"]
    )


def test_header_names_the_live_deployment_redacted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --realtime-live the header names the deployment's URL, never the key."""
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret-key-0001")
    pytester.makepyfile("def test_x():\n    pass\n")
    url = "wss://example.openai.azure.com/openai/v1/realtime?model=gpt-realtime"
    result = pytester.runpytest("--realtime-live", f"--realtime-url={url}")
    result.stdout.fnmatch_lines(
        ["realtime: LIVE deployment wss://example.openai.azure.com/openai/v1/realtime*(dialect ga*"]
    )
    assert "azure-secret-key-0001" not in result.stdout.str()


# --- ids across a run ---------------------------------------------------------------------------
SESSION_IDS_FILE = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_probe(run_probe, n):
    result = run_probe(text="hi")
    result.assert_clean()
    print("SESSION", result.session_id)
    with open(f"ids-{n}.txt", "w") as f:
        f.write(result.session_id)
"""


def _ids(pytester: pytest.Pytester) -> list[str]:
    return [(pytester.path / f"ids-{n}.txt").read_text() for n in range(4)]


def test_each_test_gets_its_own_session_ids(pytester: pytest.Pytester) -> None:
    """Each test's mock sessions are seeded by the test: four tests, four session ids, and the
    same four when the run is repeated."""
    pytester.makepyfile(SESSION_IDS_FILE)
    pytester.runpytest().assert_outcomes(passed=4)
    first = _ids(pytester)
    assert len(set(first)) == 4
    pytester.runpytest().assert_outcomes(passed=4)
    assert _ids(pytester) == first


@pytest.mark.skipif(not HAS_XDIST, reason="pytest-xdist is not installed")
def test_ids_are_unique_across_xdist_workers(pytester: pytest.Pytester) -> None:
    """Under pytest-xdist every worker's mock is seeded apart: no two tests share an id, and
    the xunit2 suite properties recorded on the workers reach the controller's report."""
    write_ini(pytester, "junit_family = xunit2\n")
    pytester.makepyfile(SESSION_IDS_FILE)
    result = pytester.runpytest_subprocess("-n", "2", "--junitxml=report.xml")
    result.assert_outcomes(passed=4)
    ids = _ids(pytester)
    assert len(set(ids)) == 4
    root = ET.parse(pytester.path / "report.xml").getroot()
    recorded = [
        p.get("value") or ""
        for p in root.iterfind(".//testsuite/properties/property")
        if p.get("name") == "realtime_session_id"
    ]
    assert sorted(value.split(" ")[0] for value in recorded) == sorted(ids)


# --- JUnit properties ---------------------------------------------------------------------------
JUNIT_FILE = """
def test_probe(run_probe):
    run_probe(text="hi").assert_clean()
"""


def _properties(root: ET.Element, path: str) -> dict[str, str]:
    return {p.get("name") or "": p.get("value") or "" for p in root.iterfind(path)}


@pytest.mark.parametrize("family", ["xunit1", "legacy"])
def test_xunit1_puts_properties_on_the_test_case(pytester: pytest.Pytester, family: str) -> None:
    """xunit1/legacy: the ids are properties of the test case."""
    write_ini(pytester, f"junit_family = {family}\n")
    pytester.makepyfile(JUNIT_FILE)
    pytester.runpytest("--junitxml=report.xml").assert_outcomes(passed=1)
    root = ET.parse(pytester.path / "report.xml").getroot()
    case = _properties(root, ".//testcase/properties/property")
    assert case["realtime_outcome"] == "clean"
    assert re.fullmatch(r"sess_\w+", case["realtime_session_id"])
    assert case["realtime_response_id"].startswith("resp_")


def test_xunit2_puts_properties_on_the_suite_named_by_test(pytester: pytest.Pytester) -> None:
    """xunit2 (pytest's default): no test-case properties (its schema has none) and no warning;
    the ids are suite properties whose values end with the test's node id."""
    write_ini(pytester, "junit_family = xunit2\n")
    pytester.makepyfile(JUNIT_FILE)
    pytester.runpytest("--junitxml=report.xml").assert_outcomes(passed=1)
    root = ET.parse(pytester.path / "report.xml").getroot()
    assert root.find(".//testcase/properties") is None
    suite = _properties(root, ".//testsuite/properties/property")
    assert re.fullmatch(
        r"sess_\w+ \(test_xunit2_puts_properties_on_the_suite_named_by_test\.py::test_probe\)",
        suite["realtime_session_id"],
    )
    assert suite["realtime_outcome"].startswith("clean (")
