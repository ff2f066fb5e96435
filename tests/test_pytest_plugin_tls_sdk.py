"""The ``wss://`` mock (``mock-server --tls`` and the plugin's TLS mock) and the plugin's
official-SDK fixture, tested with real TLS clients on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme  # noqa: F401
import websockets

# Loaded before any in-process inner run (pytester drops modules an inner run imported, and
# numpy, under the mock, and cryptography, under trustme, cannot be imported twice).
from realtime_harness.mock import Latency, MockServer
from realtime_harness.mock.tls import temporary_tls
from realtime_harness.protocol.dialects import Dialect

pytest_plugins = ["pytester"]

PATH = "/v1/realtime?model=gpt-realtime"
AUTH = {"Authorization": "Bearer mock-key"}


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester) -> None:
    """Every inner run starts without credentials or targets, with a quiet asyncio config."""
    for name in (
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_DEPLOYMENT",
        "REALTIME_URL",
        "OPENAI_REALTIME_URL",
        "AZURE_OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )


async def first_event(url: str, context: ssl.SSLContext) -> str:
    async with websockets.connect(url, additional_headers=AUTH, ssl=context) as ws:
        return str(await asyncio.wait_for(ws.recv(), 5))


def test_tls_mock_serves_wss_to_a_client_that_trusts_its_ca() -> None:
    """The mock with a certificate from its throw-away CA: a client trusting that CA gets
    session.created over wss://; one with the system's trust only is refused."""
    with (
        temporary_tls() as tls,
        MockServer(
            Dialect.GA, latency=Latency.fast(), tls=tls.server_context
        ).run_in_thread() as server,
    ):
        assert server.url.startswith("wss://127.0.0.1:")
        assert tls.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
        text = asyncio.run(first_event(server.url + PATH, tls.client_context()))
        assert '"session.created"' in text
        with pytest.raises(ssl.SSLCertVerificationError):
            asyncio.run(first_event(server.url + PATH, ssl.create_default_context()))


def test_the_ca_file_is_removed_after_use() -> None:
    """The CA exists only while the block (the server) runs."""
    with temporary_tls() as tls:
        ca_file = tls.ca_file
        assert ca_file.is_file()
    assert not ca_file.exists()


def test_mock_server_cli_tls_prints_url_and_ca(tmp_path: Path) -> None:
    """``mock-server --tls`` prints the wss:// URL, then the CA file; a client trusting that
    file completes the handshake, and the file is gone after the server stops."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "realtime_harness", "mock-server", "--tls"]
    with subprocess.Popen(
        [*command, "--stop-after", "20"], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        try:
            url = proc.stdout.readline().strip()
            ca_line = proc.stdout.readline().strip()
            assert url.startswith("wss://127.0.0.1:")
            assert ca_line.startswith("CA certificate: ")
            ca_file = Path(ca_line.removeprefix("CA certificate: ").split(" ")[0])
            assert ca_file.is_file()
            context = ssl.create_default_context(cafile=str(ca_file))
            assert '"session.created"' in asyncio.run(first_event(url + PATH, context))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert proc.returncode == 0
    assert not ca_file.exists()


def test_plugin_tls_marker_and_probe_over_wss(pytester: pytest.Pytester) -> None:
    """``@pytest.mark.realtime_tls`` puts the test's mock on wss://: run_probe and
    realtime_session trust its CA, and ``realtime_mock_tls`` hands the CA to other clients."""
    pytester.makepyfile(
        """
        import ssl
        import pytest
        import websockets

        @pytest.mark.realtime_tls
        def test_probe(run_probe, realtime_target):
            assert realtime_target.url.startswith("wss://")
            run_probe(text="hi").assert_clean()

        @pytest.mark.realtime_tls
        @pytest.mark.asyncio
        async def test_session(realtime_session):
            async with realtime_session() as s:
                assert s.session_id.startswith("sess_")

        @pytest.mark.realtime_tls
        @pytest.mark.asyncio
        async def test_own_client(realtime_mock, realtime_mock_tls):
            url = realtime_mock.url + "/v1/realtime?model=gpt-realtime"
            headers = {"Authorization": "Bearer k"}
            ctx = realtime_mock_tls.client_context()
            async with websockets.connect(url, additional_headers=headers, ssl=ctx) as ws:
                assert "session.created" in await ws.recv()
            with pytest.raises(ssl.SSLCertVerificationError):
                await websockets.connect(url, additional_headers=headers,
                                         ssl=ssl.create_default_context())

        def test_plain(realtime_target):
            assert realtime_target.url.startswith("ws://")
        """
    )
    pytester.runpytest().assert_outcomes(passed=4)


def test_plugin_tls_option_for_the_whole_run(pytester: pytest.Pytester) -> None:
    """``--realtime-mock-tls`` puts every test's mock on wss:// and says so in the header."""
    pytester.makepyfile(
        """
        def test_probe(run_probe, realtime_mock_server):
            assert realtime_mock_server.url.startswith("wss://")
            run_probe(text="hi").assert_clean()
        """
    )
    result = pytester.runpytest("--realtime-mock-tls")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["realtime: embedded mock on wss://127.0.0.1*"])


def test_openai_client_fixture_runs_a_session_against_the_mock(pytester: pytest.Pytester) -> None:
    """``realtime_openai_client`` is an ``openai.AsyncOpenAI`` already pointed at the mock: the
    SDK's own realtime client runs a text turn to ``response.done``."""
    pytest.importorskip("openai")
    pytester.makepyfile(
        """
        import openai
        import pytest

        @pytest.mark.asyncio
        async def test_sdk(realtime_openai_client, realtime_model, realtime_mock):
            assert isinstance(realtime_openai_client, openai.AsyncOpenAI)
            client = realtime_openai_client
            async with client.realtime.connect(model=realtime_model) as conn:
                created = await conn.recv()
                assert created.type == "session.created"
                await conn.conversation.item.create(item={
                    "type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": "Say hello."}],
                })
                await conn.response.create()
                async for event in conn:
                    if event.type == "response.done":
                        assert event.response.status == "completed"
                        break
            (session,) = realtime_mock.sessions
            assert session.session_id == created.session.id
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_openai_client_fixture_points_at_a_live_target(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --realtime-live the client is built for the deployment: base URL, websocket URL
    and key from the target (nothing is sent: the test only inspects the client)."""
    pytest.importorskip("openai")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret-key-0002")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_live
        def test_client(realtime_openai_client, realtime_model):
            client = realtime_openai_client
            assert str(client.base_url).rstrip("/") == "https://example.openai.azure.com/openai/v1"
            assert str(client.websocket_base_url) == "wss://example.openai.azure.com/openai/v1"
            assert client.api_key == "azure-secret-key-0002"
            assert realtime_model == "gpt-realtime"
        """
    )
    url = "wss://example.openai.azure.com/openai/v1/realtime?model=gpt-realtime"
    result = pytester.runpytest("--realtime-live", f"--realtime-url={url}")
    result.assert_outcomes(passed=1)
    assert "azure-secret-key-0002" not in result.stdout.str()
