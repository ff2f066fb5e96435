"""pytest plugin: Realtime API checks in any team's test run (loaded through ``pytest11``).

Fixtures and options only; nothing is autouse and nothing touches the network unless the user
opts in with ``--realtime-live`` and a configured target. Each option is also an ini key
(``realtime_url``, ``realtime_endpoint``, ``realtime_deployment``, ``realtime_api_version``,
``realtime_dialect``, ``realtime_live``); credentials come from the environment only
(``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``, … — see README), never from ini files.

Fixtures:

``realtime_mock_server``
    The embedded mock Realtime server, started once per test session on its own thread.
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
    returns the :class:`~realtime_harness.probe.ProbeResult`.

Session, response and event ids and the key timings of every session a test runs are attached
to the test as JUnit XML properties (``record_property``), so a CI report names the failing
session.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
import pytest

# The package is imported lazily (inside hooks and fixtures): pytest loads this plugin before
# coverage measurement starts, and a module imported here would look unexecuted to pytest-cov.
if TYPE_CHECKING:
    from realtime_harness.mock import MockServer
    from realtime_harness.probe import ProbeResult
    from realtime_harness.protocol.dialects import Dialect
    from realtime_harness.target import Target
    from realtime_harness.transport.base import Transport

__all__ = ["RealtimeTestSession"]

_OPTIONS: dict[str, str] = {
    "url": "Full wss:// URL of the Realtime deployment to test (live tests only).",
    "endpoint": "Resource endpoint, e.g. https://NAME.openai.azure.com (with a deployment).",
    "deployment": "Azure deployment name or OpenAI model.",
    "api_version": "Azure preview api-version (selects the preview URL and the beta dialect).",
    "dialect": "Dialect of the target and of the mock: ga (default) or beta.",
}
_LIVE_HELP = "Allow tests marked realtime_live to talk to the configured deployment."


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--realtime-*`` options and their ini twins."""
    group = parser.getgroup("realtime", "Realtime API checks (realtime-harness)")
    for name, text in _OPTIONS.items():
        flag = "--realtime-" + name.replace("_", "-")
        group.addoption(flag, dest=f"realtime_{name}", default=None, help=text)
        parser.addini(f"realtime_{name}", text, default=None)
    group.addoption("--realtime-live", dest="realtime_live", action="store_true", help=_LIVE_HELP)
    parser.addini("realtime_live", _LIVE_HELP, type="bool", default=False)


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


# --- fixtures ----------------------------------------------------------------------------------
class _MockPool:
    """Mock servers on their own threads, one per dialect, started on first use."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._servers: dict[Dialect, MockServer] = {}
        self._lock = threading.Lock()

    def get(self, dialect: Dialect) -> MockServer:
        from realtime_harness.mock import Latency, MockServer

        with self._lock:
            if dialect not in self._servers:
                server = MockServer(dialect=dialect, seed=0, latency=Latency.fast())
                self._servers[dialect] = self._stack.enter_context(server.run_in_thread())
            return self._servers[dialect]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def realtime_mock_pool() -> Iterator[_MockPool]:
    """Embedded mock servers (one per dialect, on their own threads) for the whole session."""
    pool = _MockPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def realtime_mock_server(realtime_mock_pool: _MockPool, pytestconfig: pytest.Config) -> MockServer:
    """The embedded mock on 127.0.0.1 in the configured dialect, started once per session."""
    from realtime_harness.protocol.dialects import Dialect

    return realtime_mock_pool.get(_dialect(pytestconfig) or Dialect.GA)


@pytest.fixture
def realtime_dialect(pytestconfig: pytest.Config) -> Dialect:
    """The dialect of this test's mock: ``--realtime-dialect`` (default ga).

    Override per test with ``@pytest.mark.parametrize("realtime_dialect", list(Dialect))``.
    """
    from realtime_harness.protocol.dialects import Dialect

    return _dialect(pytestconfig) or Dialect.GA


def _live_active(config: pytest.Config) -> bool:
    return _live_allowed(config) and _live_target(config)[0] is not None


@pytest.fixture
def realtime_mock(
    realtime_mock_pool: _MockPool, realtime_dialect: Dialect | str, request: pytest.FixtureRequest
) -> Iterator[MockServer]:
    """The mock server for this test, reset (ledger, log, faults); faults and latency set here
    end with the test, and an error inside the mock itself fails it.

    Faults come from ``realtime_mock.set_faults([...])`` or the marker
    ``@pytest.mark.realtime_faults("server_error:rate=1,after_deltas=2", ...)``. A test that
    needs the mock is skipped when a live target is in use (faults cannot be injected there).
    """
    if _live_active(request.config):
        pytest.skip("needs the embedded mock (faults, ledger); a live target is in use")
    from realtime_harness.protocol.dialects import Dialect

    server = realtime_mock_pool.get(Dialect(realtime_dialect))
    server.reset()
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


def _record(node: pytest.Item, name: str, value: object) -> None:
    """Attach one JUnit XML property to the test (what ``record_property`` does)."""
    node.user_properties.append((name, value))


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

    async def _next(self, wait: float, waiting_for: str) -> dict[str, Any]:
        from realtime_harness.exceptions import ConnectionClosed
        from realtime_harness.protocol import catalog

        try:
            text = await self.transport.recv(wait)
        except ConnectionClosed as exc:
            pytest.fail(
                f"server closed the socket while waiting for {waiting_for}: code={exc.code} "
                f"reason={exc.reason!r} ({self._context()})"
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
        wait = self.timeout if max_wait is None else max_wait
        try:
            return await self._next(wait, "any event")
        except TimeoutError:
            pytest.fail(f"no server event within {wait:g} s ({self._context()})")

    async def wait_for(self, event_type: str, max_wait: float | None = None) -> dict[str, Any]:
        """Receive until an event of ``event_type`` arrives; fail the test after ``max_wait``."""
        wait = self.timeout if max_wait is None else max_wait
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        try:
            while True:
                event = await self._next(max(0.0, deadline - loop.time()), event_type)
                if event.get("type") == event_type:
                    return event
        except TimeoutError:
            pytest.fail(f"timed out after {wait:g} s waiting for {event_type} ({self._context()})")

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

    @contextlib.asynccontextmanager
    async def connect(max_wait: float = 10.0) -> AsyncIterator[RealtimeTestSession]:
        transport = await open_websocket(
            realtime_target.url, dict(realtime_target.request_headers())
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
    (the probe runs on its own thread and event loop).
    """
    from realtime_harness.probe import ProbeOptions, run_probe_sync

    def run(**options: Any) -> ProbeResult:
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
