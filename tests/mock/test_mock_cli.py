"""``realtime-harness mock-server``: URL first, one line per session, clean stop, usage errors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from mock_testkit import Client, open_client
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus

from realtime_harness.cli import app
from realtime_harness.mock.server import MAX_INVALID_FRAMES


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the CLI server and read the URL from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_harness", "mock-server", "--speed", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def one_session(url: str) -> str:
    async with open_client(url) as ws:
        client = Client(ws)
        created = await client.recv()
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        await client.until("session.updated")
    return str(created["session"]["id"])  # type: ignore[index]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_prints_the_url_first_logs_sessions_and_stops_cleanly(signum: int) -> None:
    """The URL is line one, each session gets a log line, and SIGINT/SIGTERM exit 0."""
    proc, url = start("--seed", "3")
    try:
        assert url.startswith("ws://127.0.0.1:")
        session_id = asyncio.run(one_session(url))
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"session {session_id} dialect=ga path=/v1/realtime")
        assert " received=1 " in line  # counted, though this server keeps no log of them
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_cli_stop_after_ends_the_server() -> None:
    """--stop-after S stops the server by itself with exit 0."""
    proc, url = start("--stop-after", "0.3")
    try:
        assert url.startswith("ws://")
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "explode"], "bad fault spec 'explode': unknown kind"),
        (["--fault", "drop:rate=9"], "rate must be between 0 and 1"),
        (["--replay", "/nonexistent/trace.jsonl"], "replay file /nonexistent/trace.jsonl"),
        (["--fault", "close:code=2000"], "code must be a sendable close code"),
        (["--fault", "close:code=1005"], "code must be a sendable close code"),
        (["--port", "-1"], "--port -1 is out of range"),
        (["--port", "70000"], "--port 70000 is out of range"),
        (["--host", ""], "--host is empty"),
        (["--host", "   "], "--host is empty"),
        (["--host", "a..b"], "is not an IP address or a valid host name"),
        (["--host", "x" * 70 + ".example"], "is not an IP address or a valid host name"),
    ],
)
def test_cli_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    """A bad --fault SPEC, --host or --port, or a missing --replay file, is one error line and
    exit code 2, before anything is bound."""
    result = CliRunner().invoke(app, ["mock-server", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


async def _first_event(url: str, path: str, headers: dict[str, str] | None = None) -> str:
    """The type of the first event a client gets on ``path``, or ``HTTP <status>``."""
    try:
        async with open_client(url, path, headers=headers) as ws:
            event = await Client(ws).recv()
    except InvalidStatus as exc:
        return f"HTTP {exc.response.status_code}"
    error = event.get("error")
    return f"error {error['code']}" if isinstance(error, dict) else str(event["type"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["session.created", "session.created", "error invalid_model", "HTTP 404"]),
        (
            ["--models", "default", "--deployments", "default"],
            ["session.created", "session.created", "error invalid_model", "HTTP 404"],
        ),
        (
            ["--models", "any", "--deployments", "any"],
            ["session.created", "session.created", "session.created", "session.created"],
        ),
        (
            ["--models", "my-model", "--deployments", "my-dep"],
            ["error invalid_model", "HTTP 404", "error invalid_model", "session.created"],
        ),
    ],
    ids=["default", "models-default", "any", "listed"],
)
def test_cli_knows_todays_realtime_names_by_default_and_any_serves_every_name(
    args: list[str], expected: list[str]
) -> None:
    """mock-server refuses unknown model and deployment names unless --models/--deployments
    say otherwise: gpt-realtime (OpenAI), gpt-realtime (Azure), gpt-4o (OpenAI), my-dep
    (Azure)."""
    proc, url = start(*args)
    azure = {"api-key": "sk-test-key-123456"}
    paths: list[tuple[str, dict[str, str] | None]] = [
        ("/v1/realtime?model=gpt-realtime", None),
        ("/openai/v1/realtime?model=gpt-realtime", azure),
        ("/v1/realtime?model=gpt-4o", None),
        ("/openai/v1/realtime?model=my-dep", azure),
    ]

    async def firsts() -> list[str]:
        return [await _first_event(url, path, headers) for path, headers in paths]

    try:
        seen = asyncio.run(firsts())
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert seen == expected


def test_cli_help_says_any_serves_every_name() -> None:
    """--help names the 'default' and 'any' values of --models and --deployments."""
    result = CliRunner().invoke(app, ["mock-server", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert "'any' (every name)" in text
    assert "DeploymentNotFound" in text
    assert "Default: default" in text


def test_cli_help_documents_the_fault_spec() -> None:
    """--help explains the SPEC format with an example."""
    result = CliRunner().invoke(app, ["mock-server", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "server_error:rate=0.1,after_deltas=3" in result.output
    assert "--require-key" in result.output


def test_cli_help_says_how_the_answer_is_chosen() -> None:
    """--help says which sample an answer speaks."""
    result = CliRunner().invoke(app, ["mock-server", "--help"], env={"COLUMNS": "200"})
    assert "short one" in result.output
    assert "instructions" in result.output


def _has_ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_cli_prints_an_ipv6_url_in_brackets_that_clients_accept() -> None:
    """--host ::1 prints ws://[::1]:PORT, a URL a client connects to as it is."""
    proc, url = start("--host", "::1", "--seed", "4")
    try:
        assert url.startswith("ws://[::1]:")
        assert asyncio.run(one_session(url)).startswith("sess_")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_cli_with_stdout_closed_after_the_url_keeps_serving_without_tracebacks() -> None:
    """`mock-server | head -1`: once the reader has gone, session lines are dropped quietly
    and the server still serves and stops with exit 0."""
    proc, url = start()
    try:
        assert proc.stdout is not None
        proc.stdout.close()  # what `head -1` does after the URL line
        for _ in range(3):
            assert asyncio.run(one_session(url)).startswith("sess_")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "BrokenPipe" not in err


def test_cli_with_nobody_reading_stdout_never_freezes() -> None:
    """With a full stdout pipe that nobody reads, sessions are still served and SIGTERM still
    ends the server at once: session lines never block the event loop."""
    import fcntl

    read_end, write_end = os.pipe()
    # a small pipe fills after a few dozen session lines instead of ~400
    fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_harness", "mock-server", "--speed", "0"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb", buffering=0) as reader:
            url = reader.readline().decode().strip()

            async def many() -> list[str]:
                return [await one_session(url) for _ in range(80)]

            assert len(set(asyncio.run(many()))) == 80
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err


SENTINEL = "sk-proj-SENTINEL0key0that0must0never0print"


def test_cli_never_prints_a_key_from_the_path_the_model_or_its_own_require_key() -> None:
    """Keys a client puts in the URL path, the model or the query, and the server's own
    --require-key, appear in no line the server prints."""
    proc, url = start("--require-key", SENTINEL)

    async def clients() -> None:
        for path, key in (
            ("/v1/realtime?model=gpt-realtime", SENTINEL),  # accepted
            (f"/v1/realtime?model={SENTINEL}", SENTINEL),  # a key pasted as the model
            (f"/v1/realtime/{SENTINEL}?model=gpt-realtime", SENTINEL),  # in the path
            (f"/openai/v1/realtime?model=gpt-realtime&api-key={SENTINEL}x", "wrong"),
            ("/v1/realtime?model=0123456789abcdef0123456789abcdef", "sk-other-wrong-key-1"),
        ):
            try:
                async with open_client(url, path, headers={"Authorization": f"Bearer {key}"}) as ws:
                    await Client(ws).recv()
            except Exception:  # rejected handshakes are part of the test
                pass

    try:
        asyncio.run(clients())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert out.count("\n") >= 4  # the URL, sessions and rejections were printed
    assert "SENTINEL" not in out + err
    assert "0123456789abcdef0123456789abcdef" not in out + err


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_abusive_clients_are_closed_and_memory_returns_near_its_start() -> None:
    """Clients that flood invalid JSON without reading are closed with 1008, and once they have
    left the server's memory is back near where it started (every per-connection buffer and
    every log is bounded)."""
    from websockets.exceptions import ConnectionClosed

    proc, url = start()
    seen: list[int | None] = []

    async def drain(ws: Any) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _message in ws:
                pass

    async def flood(reads: bool) -> None:
        async with open_client(url) as ws:
            reader = asyncio.create_task(drain(ws) if reads else asyncio.sleep(0))
            try:
                for _ in range(MAX_INVALID_FRAMES + 200):
                    await ws.send("{not json " + "x" * 8000)
                # a client that reads sees the close; one that does not has paused its socket
                await asyncio.wait_for(ws.wait_closed(), 4)
            except (ConnectionClosed, TimeoutError):
                pass
            await reader
            seen.append(ws.close_code if reads else None)
            ws.transport.abort()

    async def abuse() -> None:
        await asyncio.gather(*(flood(reads=i % 2 == 0) for i in range(12)))

    try:
        asyncio.run(one_session(url))
        assert proc.stdout is not None
        proc.stdout.readline()
        before = rss_mb(proc.pid)
        asyncio.run(abuse())
        closes = [proc.stdout.readline() for _ in range(12)]
        asyncio.run(one_session(url))  # still serving
        after = rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    print(f"mock RSS before abuse {before:.0f} MB, after {after:.0f} MB")
    assert sorted(seen, key=str) == [1008] * 6 + [None] * 6
    assert all("close=1008" in line for line in closes), closes
    assert after - before < 40, f"RSS {before:.0f} MB before, {after:.0f} MB after"
