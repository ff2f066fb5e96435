"""pytest plugin: Realtime API checks in any team's test run (loaded through ``pytest11``).

Fixtures and options only; nothing is autouse and nothing touches the network unless the user
opts in with ``--realtime-live`` and a configured target. Each option is also an ini key
(``realtime_url``, ``realtime_endpoint``, ``realtime_deployment``, ``realtime_api_version``,
``realtime_dialect``, ``realtime_live``); credentials come from the environment only
(``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``, … — see README), never from ini files.

Fixtures:

``realtime_mock_server``
    The embedded mock Realtime server, started once per test session on its own thread
    (``wss://`` with ``--realtime-mock-tls``).
``realtime_mock``
    The mock for this test in ``realtime_dialect``, reset (ledger, received events, faults);
    set faults with ``realtime_mock.set_faults(["server_error:rate=1,after_deltas=2"])`` or
    the ``realtime_faults`` marker.
``realtime_dialect``
    ``ga`` unless ``--realtime-dialect`` says otherwise; parametrize it to cover both.
``realtime_target``
    Where sessions go: the mock, or the live deployment when one is configured and allowed.
``realtime_session``
    ``async with realtime_session() as s:`` connects, ``await s.send({...})`` and
    ``await s.wait_for("response.done", max_wait=10)``: a timeout's failure message names the
    session id and the last events.
``run_probe``
    ``run_probe(text="hi")`` runs the scripted probe session against ``realtime_target`` and
    returns the :class:`~realtime_harness.probe.ProbeResult`; ``result.assert_clean()`` and
    ``result.assert_failed(kind=...)`` fail with every id in full.
``realtime_mock_tls``
    The certificate authority of the ``wss://`` mock (``ca_file``, ``client_context()``); the
    ``realtime_tls`` marker or ``--realtime-mock-tls`` puts the test's mock on TLS.
``realtime_openai_client`` / ``realtime_model``
    An official ``openai.AsyncOpenAI`` pointed at the target (the mock or the live deployment),
    and the model to pass to ``client.realtime.connect(model=...)``.

Session, response and event ids and the key timings of every session a test runs are attached
to the JUnit XML report: as test-case properties (``record_property``) with ``junit_family``
``xunit1``/``legacy``, as suite properties whose values end with the test's node id
(``record_testsuite_property``) with ``xunit2``, whose schema has no test-case properties. The
report header says whether the run targets the mock or a live deployment.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
import pytest

# The package is imported lazily (inside hooks and fixtures): pytest loads this plugin before
# coverage measurement starts, and a module imported here would look unexecuted to pytest-cov.
if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from realtime_harness.mock import MockServer
    from realtime_harness.mock.tls import MockTLS
    from realtime_harness.probe import ProbeResult
    from realtime_harness.protocol.dialects import Dialect
    from realtime_harness.target import Target
    from realtime_harness.transport.base import Transport
    from realtime_harness.transport.websocket import WebSocketOptions

__all__ = ["RealtimeTestSession"]

_OPTIONS: dict[str, str] = {
    "url": "Full wss:// URL of the Realtime deployment to test (live tests only).",
    "endpoint": "Resource endpoint, e.g. https://NAME.openai.azure.com (with a deployment).",
    "deployment": "Azure deployment name or OpenAI model.",
    "api_version": "Azure preview api-version (selects the preview URL and the beta dialect).",
    "dialect": "Dialect of the target and of the mock: ga (default) or beta.",
}
_LIVE_HELP = "Allow tests marked realtime_live to talk to the configured deployment."
_TLS_HELP = "Serve the embedded mock over wss:// with a throw-away CA (see realtime_mock_tls)."
#: JUnit suite properties recorded by a test under xunit2, until its report carries them.
_SUITE_KEY = pytest.StashKey["list[tuple[str, object]]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--realtime-*`` options and their ini twins."""
    group = parser.getgroup("realtime", "Realtime API checks (realtime-harness)")
    for name, text in _OPTIONS.items():
        flag = "--realtime-" + name.replace("_", "-")
        group.addoption(flag, dest=f"realtime_{name}", default=None, help=text)
        parser.addini(f"realtime_{name}", text, default=None)
    group.addoption("--realtime-live", dest="realtime_live", action="store_true", help=_LIVE_HELP)
    parser.addini("realtime_live", _LIVE_HELP, type="bool", default=False)
    group.addoption(
        "--realtime-mock-tls", dest="realtime_mock_tls", action="store_true", help=_TLS_HELP
    )
    parser.addini("realtime_mock_tls", _TLS_HELP, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers; reject a bad ``--realtime-dialect``, and an explicit
    ``--realtime-live`` that cannot be honoured (no target, no key), before any test runs: a CI
    job meant for a deployment must not go green against the mock."""
    _dialect(config)
    if config.getoption("realtime_live", default=False):
        target, reason = _live_target(config)
        if target is None:
            raise pytest.UsageError(f"--realtime-live: {reason}")
    config.addinivalue_line(
        "markers",
        "realtime_live: needs a real Realtime deployment; skipped unless --realtime-live is "
        "given and a target with credentials is configured",
    )
    config.addinivalue_line(
        "markers",
        "realtime_faults(*specs): fault specs the embedded mock injects during this test "
        "(e.g. 'server_error:rate=1,after_deltas=2')",
    )
    config.addinivalue_line(
        "markers",
        "realtime_tls: this test's embedded mock serves wss:// (its CA: realtime_mock_tls)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    """One header line: does this run talk to the embedded mock or to a deployment (which)."""
    dialect = _dialect(config)
    if _live_allowed(config):
        target, reason = _live_target(config)
        if target is not None:
            return (
                f"realtime: LIVE deployment {target.redacted_url} "
                f"(dialect {target.dialect.value}, {target.variant.value})"
            )
        return f"realtime: embedded mock ({reason})"
    # Without --realtime-live no target is resolved: that could fetch an Entra ID token.
    scheme = "wss" if _mock_tls(config) else "ws"
    return (
        f"realtime: embedded mock on {scheme}://127.0.0.1 (dialect {_name(dialect)}); "
        "no live deployment (--realtime-live not given)"
    )


def _name(dialect: Dialect | None) -> str:
    return dialect.value if dialect is not None else "ga"


def _mock_tls(config: pytest.Config) -> bool:
    return bool(config.getoption("realtime_mock_tls") or config.getini("realtime_mock_tls"))


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"realtime_{name}")
    if value is None:
        ini = config.getini(f"realtime_{name}")
        value = ini or None
    return str(value) if value is not None else None


def _live_allowed(config: pytest.Config) -> bool:
    return bool(config.getoption("realtime_live") or config.getini("realtime_live"))


def _dialect(config: pytest.Config) -> Dialect | None:
    from realtime_harness.protocol.dialects import Dialect

    value = _setting(config, "dialect")
    if value is None:
        return None
    try:
        return Dialect(value.lower())
    except ValueError:
        raise pytest.UsageError(
            f"--realtime-dialect {value!r} is not a dialect; use ga or beta"
        ) from None


def _live_target(config: pytest.Config) -> tuple[Target | None, str]:
    """The configured live target, or None with the one-line reason it cannot be used."""
    from realtime_harness.exceptions import ConfigError
    from realtime_harness.target import resolve_target

    try:
        target = resolve_target(
            url=_setting(config, "url"),
            endpoint=_setting(config, "endpoint"),
            deployment=_setting(config, "deployment"),
            api_version=_setting(config, "api_version"),
            dialect=_dialect(config),
            env=os.environ,
            env_file=None,
        )
    except ConfigError as exc:
        return None, f"realtime target not usable: {exc}"
    if target is None:
        return None, (
            "no realtime target configured (set --realtime-url, or --realtime-endpoint and "
            "--realtime-deployment, or the environment variables in README)"
        )
    return target, ""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``realtime_live`` tests, with a one-line reason, unless live traffic is allowed."""
    if item.get_closest_marker("realtime_live") is None:
        return
    if not _live_allowed(item.config):
        pytest.skip("realtime_live test: pass --realtime-live to run it against a deployment")
    target, reason = _live_target(item.config)
    if target is None:
        pytest.skip(reason)


# --- seeds -------------------------------------------------------------------------------------
def _worker(config: pytest.Config) -> str:
    """The pytest-xdist worker id (``gw0``…), or ``main`` without xdist."""
    workerinput = getattr(config, "workerinput", None)
    if isinstance(workerinput, dict) and "workerid" in workerinput:
        return str(workerinput["workerid"])
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _seed(*parts: str) -> int:
    """A 32-bit seed from names: every xdist worker and every test gets its own, so the mock's
    ids (``sess_…``, ``resp_…``) differ across the whole run, yet repeat when it is re-run."""
    return zlib.crc32(":".join(parts).encode())


# --- fixtures ----------------------------------------------------------------------------------
class _MockPool:
    """Mock servers on their own threads, one per dialect and scheme, started on first use."""

    def __init__(self, worker: str) -> None:
        self._stack = contextlib.ExitStack()
        self._servers: dict[tuple[Dialect, bool], MockServer] = {}
        self._tls: MockTLS | None = None
        self._lock = threading.Lock()
        self.worker = worker

    def tls(self) -> MockTLS:
        """The run's throw-away CA and server certificate (made on first use)."""
        from realtime_harness.mock.tls import temporary_tls

        with self._lock:
            if self._tls is None:
                self._tls = self._stack.enter_context(temporary_tls())
            return self._tls

    def get(self, dialect: Dialect, *, tls: bool = False) -> MockServer:
        from realtime_harness.mock import Latency, MockServer

        context = self.tls().server_context if tls else None
        with self._lock:
            if (dialect, tls) not in self._servers:
                server = MockServer(
                    dialect=dialect,
                    seed=_seed(self.worker, dialect.value, str(tls)),
                    latency=Latency.fast(),
                    tls=context,
                )
                self._servers[dialect, tls] = self._stack.enter_context(server.run_in_thread())
            return self._servers[dialect, tls]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def realtime_mock_pool(pytestconfig: pytest.Config) -> Iterator[_MockPool]:
    """Embedded mock servers (one per dialect, on their own threads) for the whole session."""
    pool = _MockPool(_worker(pytestconfig))
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def realtime_mock_server(realtime_mock_pool: _MockPool, pytestconfig: pytest.Config) -> MockServer:
    """The embedded mock on 127.0.0.1 in the configured dialect, started once per session
    (``wss://`` with ``--realtime-mock-tls``)."""
    from realtime_harness.protocol.dialects import Dialect

    return realtime_mock_pool.get(_dialect(pytestconfig) or Dialect.GA, tls=_mock_tls(pytestconfig))


@pytest.fixture(scope="session")
def realtime_mock_tls(realtime_mock_pool: _MockPool) -> MockTLS:
    """The CA of the ``wss://`` mock: ``ca_file`` (a PEM file, for ``SSL_CERT_FILE`` or
    ``NODE_EXTRA_CA_CERTS``) and ``client_context()`` (an :class:`ssl.SSLContext` trusting it)."""
    return realtime_mock_pool.tls()


@pytest.fixture
def realtime_dialect(pytestconfig: pytest.Config) -> Dialect:
    """The dialect of this test's mock: ``--realtime-dialect`` (default ga).

    Override per test with ``@pytest.mark.parametrize("realtime_dialect", list(Dialect))``.
    """
    from realtime_harness.protocol.dialects import Dialect

    return _dialect(pytestconfig) or Dialect.GA


def _live_active(config: pytest.Config) -> bool:
    return _live_allowed(config) and _live_target(config)[0] is not None


def _wants_tls(request: pytest.FixtureRequest) -> bool:
    return _mock_tls(request.config) or request.node.get_closest_marker("realtime_tls") is not None


@pytest.fixture
def realtime_mock(
    realtime_mock_pool: _MockPool, realtime_dialect: Dialect | str, request: pytest.FixtureRequest
) -> Iterator[MockServer]:
    """The mock server for this test, reset (ledger, log, faults); faults and latency set here
    end with the test, and an error inside the mock itself fails it.

    Faults come from ``realtime_mock.set_faults([...])`` or the marker
    ``@pytest.mark.realtime_faults("server_error:rate=1,after_deltas=2", ...)``. A test that
    needs the mock is skipped when a live target is in use (faults cannot be injected there).
    Its sessions are seeded by worker and test, so ids never repeat across a run.
    """
    if _live_active(request.config):
        pytest.skip("needs the embedded mock (faults, ledger); a live target is in use")
    from realtime_harness.protocol.dialects import Dialect

    server = realtime_mock_pool.get(Dialect(realtime_dialect), tls=_wants_tls(request))
    server.reset()
    server.seed = _seed(realtime_mock_pool.worker, request.node.nodeid)
    latency = server.config.latency
    marker = request.node.get_closest_marker("realtime_faults")
    if marker is not None:
        server.set_faults([str(spec) for spec in marker.args])
    yield server
    server.set_faults([])
    server.set_latency(latency)
    server.check()  # a bug in the mock itself fails the test that met it


@pytest.fixture
def realtime_target(request: pytest.FixtureRequest, realtime_dialect: Dialect | str) -> Target:
    """The target of this test: the live deployment when configured and allowed, else the mock
    in ``realtime_dialect`` (requested here so that parametrizing it covers both dialects)."""
    config = request.config
    if _live_allowed(config):
        target, _ = _live_target(config)
        if target is not None:
            return target
    if request.node.get_closest_marker("realtime_live") is not None:
        pytest.skip("realtime_live test without a usable live target")
    from realtime_harness.probe import mock_target

    mock: MockServer = request.getfixturevalue("realtime_mock")
    return mock_target(mock)


def _trust(request: pytest.FixtureRequest, target: Target) -> WebSocketOptions | None:
    """Connection options trusting the mock's CA when the target is the ``wss://`` mock."""
    from realtime_harness.transport.websocket import WebSocketOptions

    if not (target.embedded and target.url.startswith("wss://")):
        return None
    tls: MockTLS = request.getfixturevalue("realtime_mock_tls")
    return WebSocketOptions(ssl_context=tls.client_context())


# --- JUnit properties --------------------------------------------------------------------------
def _record(node: pytest.Item, name: str, value: object) -> None:
    """Attach one JUnit XML property to the test.

    ``xunit1``/``legacy``: a test-case property (what ``record_property`` does). ``xunit2``'s
    schema has no test-case properties (``record_property`` warns there), so the property goes
    to the suite (what ``record_testsuite_property`` does) with the test's node id after the
    value; it travels in the test's report, so it survives pytest-xdist's workers.
    """
    if node.config.getini("junit_family") in ("xunit1", "legacy"):
        node.user_properties.append((name, value))
    else:
        node.stash.setdefault(_SUITE_KEY, []).append((name, f"{value} ({node.nodeid})"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """Move the suite properties recorded so far onto the phase's report."""
    report = yield
    pending = item.stash.get(_SUITE_KEY, [])
    if pending:
        report.realtime_suite_properties = list(pending)  # type: ignore[attr-defined]
        pending.clear()
    return report


class _SuiteProperties:
    """Writes the suite properties a report carries (from this process or an xdist worker)
    into this run's ``--junitxml`` report (registered only when there is one)."""

    def __init__(self, add: Callable[[str, object], None]) -> None:
        self._add = add

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in getattr(report, "realtime_suite_properties", None) or ():
            self._add(str(name), value)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Hook :class:`_SuiteProperties` to the JUnit report's ``add_global_property`` (the
    function behind the ``record_testsuite_property`` fixture, which hooks cannot request)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without it gets no suite properties
        return
    xml = session.config.stash.get(xml_key, None)
    if xml is not None:
        session.config.pluginmanager.register(
            _SuiteProperties(xml.add_global_property), "realtime-harness-suite-properties"
        )


# --- sessions ----------------------------------------------------------------------------------
class RealtimeTestSession:
    """A connected Realtime session for tests: send events, wait for event types.

    Every received event is kept (``events``); ``session_id`` comes from ``session.created``.
    ``wait_for`` fails the test with the session id and the last events when the wait times
    out or the server closes the socket.
    """

    def __init__(self, transport: Transport, target: Target, timeout: float) -> None:
        self.transport = transport
        self.target = target
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self.session_id: str | None = None
        self._recent: collections.deque[str] = collections.deque(maxlen=10)
        self._ids = 0

    def _context(self) -> str:
        last = ", ".join(self._recent) or "none"
        return f"session_id={self.session_id} url={self.target.redacted_url}; last events: {last}"

    async def send(self, event: dict[str, Any]) -> str:
        """Send one client event (an ``event_id`` is added when missing); returns its id."""
        if "event_id" not in event:
            self._ids += 1
            event = {**event, "event_id": f"evt_test_{self._ids}"}
        await self.transport.send(orjson.dumps(event).decode())
        return str(event["event_id"])

    async def _next(self, wait: float, waiting_for: str) -> dict[str, Any] | None:
        """The next event; None on timeout. A close fails the test (outside any ``except``, so
        pytest shows no chain of library exceptions)."""
        __tracebackhide__ = True
        from realtime_harness.exceptions import ConnectionClosed
        from realtime_harness.protocol import catalog

        closed: ConnectionClosed | None = None
        try:
            text = await self.transport.recv(wait)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            closed = exc
        if closed is not None:
            pytest.fail(
                f"server closed the socket while waiting for {waiting_for}: code={closed.code} "
                f"reason={closed.reason!r} ({self._context()})"
            )
        event: dict[str, Any] = orjson.loads(text)
        self.events.append(event)
        etype = str(event.get("type"))
        self._recent.append(f"{etype}[{event.get('event_id')}]")
        if etype == catalog.SESSION_CREATED and isinstance(event.get("session"), dict):
            self.session_id = event["session"].get("id")
        return event

    async def receive(self, max_wait: float | None = None) -> dict[str, Any]:
        """The next server event, failing the test on timeout or close."""
        __tracebackhide__ = True
        wait = self.timeout if max_wait is None else max_wait
        event = await self._next(wait, "any event")
        if event is None:
            pytest.fail(f"no server event within {wait:g} s ({self._context()})")
        return event

    async def wait_for(self, event_type: str, max_wait: float | None = None) -> dict[str, Any]:
        """Receive until an event of ``event_type`` arrives; fail the test after ``max_wait``."""
        __tracebackhide__ = True
        wait = self.timeout if max_wait is None else max_wait
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            event = await self._next(max(0.0, deadline - loop.time()), event_type)
            if event is None:
                pytest.fail(
                    f"timed out after {wait:g} s waiting for {event_type} ({self._context()})"
                )
            if event.get("type") == event_type:
                return event

    async def close(self) -> None:
        """Close the socket normally."""
        await self.transport.close(1000, "test done")


@pytest.fixture
def realtime_session(
    realtime_target: Target, request: pytest.FixtureRequest
) -> Callable[..., contextlib.AbstractAsyncContextManager[RealtimeTestSession]]:
    """Factory of connected sessions: ``async with realtime_session() as s: ...``."""
    from realtime_harness.protocol import catalog
    from realtime_harness.transport.websocket import open_websocket

    options = _trust(request, realtime_target)

    @contextlib.asynccontextmanager
    async def connect(max_wait: float = 10.0) -> AsyncIterator[RealtimeTestSession]:
        __tracebackhide__ = True
        transport = await open_websocket(
            realtime_target.url, dict(realtime_target.request_headers()), options=options
        )
        session = RealtimeTestSession(transport, realtime_target, max_wait)
        try:
            await session.wait_for(catalog.SESSION_CREATED)
            yield session
        finally:
            _record(request.node, "realtime_session_id", session.session_id)
            _record(request.node, "realtime_events", len(session.events))
            await session.close()

    return connect


def _run_in_thread(fn: Callable[[], ProbeResult]) -> ProbeResult:
    """Run ``fn`` on a fresh thread: it owns its event loop even inside an async test."""
    __tracebackhide__ = True
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="realtime-probe", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: ProbeResult = box["result"]
    return result


@pytest.fixture
def run_probe(
    realtime_target: Target, request: pytest.FixtureRequest
) -> Callable[..., ProbeResult]:
    """Run the probe against ``realtime_target``: ``result = run_probe(text="hello")``.

    Keyword arguments are :class:`~realtime_harness.probe.ProbeOptions` fields. The result's
    ids and timings are attached to the test as JUnit properties. Works in sync and async tests
    (the probe runs on its own thread and event loop). ``result.assert_clean()`` fails with
    every failure's ids in full.
    """
    from realtime_harness.probe import ProbeOptions, run_probe_sync

    trust = _trust(request, realtime_target)

    def run(**options: Any) -> ProbeResult:
        __tracebackhide__ = True
        if trust is not None and "connect" not in options:
            timeout = float(options.get("timeout", 10.0))
            options["connect"] = _trusting_connect(replace(trust, open_timeout=timeout))
        probe_options = ProbeOptions(target=realtime_target, **options)
        result = _run_in_thread(lambda: run_probe_sync(probe_options))
        node = request.node
        _record(node, "realtime_outcome", result.outcome.value)
        _record(node, "realtime_session_id", result.session_id)
        for response in result.responses:
            _record(node, "realtime_response_id", response.response_id)
        for failure in result.failures:
            _record(node, "realtime_failure", failure.summary())
        for name, value in result.timings_ms.items():
            if value is not None:
                _record(node, f"realtime_ms_{name}", round(value, 1))
        return result

    return run


def _trusting_connect(options: WebSocketOptions) -> Callable[[Target, str], Any]:
    """The probe's connection factory with these options (the ``wss://`` mock's CA)."""
    from realtime_harness.transport.websocket import open_websocket

    async def connect(target: Target, client_request_id: str) -> Transport:
        return await open_websocket(
            target.url,
            target.request_headers(client_request_id),
            options=options,
            client_request_id=client_request_id,
        )

    return connect


# --- the official SDK ----------------------------------------------------------------------------
@pytest.fixture
def realtime_model(realtime_target: Target) -> str:
    """The model (or Azure deployment) of ``realtime_target``, for ``connect(model=...)``."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(realtime_target.url).query)
    for key in ("model", "deployment"):
        if query.get(key):
            return query[key][-1]
    return "gpt-realtime"


@pytest.fixture
def realtime_openai_client(realtime_target: Target, realtime_model: str) -> AsyncOpenAI:
    """An official ``openai.AsyncOpenAI`` pointed at ``realtime_target`` (the mock, or the live
    deployment with ``--realtime-live``), for code that speaks through the SDK::

        async with realtime_openai_client.realtime.connect(model=realtime_model) as conn: ...

    Azure's preview route (``/openai/realtime?api-version=…``) gets an ``AsyncAzureOpenAI``.
    The ``wss://`` mock is not supported here (the SDK takes its CA per connection: pass
    ``websocket_connection_options={"ssl": realtime_mock_tls.client_context()}``).
    """
    try:
        import openai
    except ImportError:
        pytest.fail(
            "realtime_openai_client needs the openai package: "
            "pip install 'realtime-harness[pytest]'",
            pytrace=False,
        )
    from urllib.parse import parse_qs, urlsplit

    from realtime_harness.endpoints import AZURE_PREVIEW, form_for_path

    parts = urlsplit(realtime_target.url)
    headers = dict(realtime_target.request_headers())
    bearer = headers.pop("Authorization", "")
    key = bearer.removeprefix("Bearer ").strip() or headers.get("api-key") or "unused"
    http = "https" if parts.scheme == "wss" else "http"
    root = f"{http}://{parts.netloc}"
    ws_root = f"{parts.scheme}://{parts.netloc}"
    query = parse_qs(parts.query)
    if form_for_path(parts.path) is AZURE_PREVIEW and query.get("api-version"):
        # Azure's preview route: the SDK builds it from the endpoint, version and deployment.
        return openai.AsyncAzureOpenAI(
            azure_endpoint=root,
            api_version=query["api-version"][-1],
            azure_deployment=realtime_model,
            api_key=key,
            default_headers=headers,
        )
    base = parts.path.rstrip("/").removesuffix("/realtime")  # /v1 or /openai/v1
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=root + base,
        websocket_base_url=ws_root + base,
        default_headers=headers,
    )
