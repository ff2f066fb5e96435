"""Never leak: every command, with one sentinel key fed through every input path (options,
environment, ``.env``, URL query, subprotocol), writes the key nowhere: not to stdout or stderr,
not to recordings, failure logs, ledgers, nor (through the pytest plugin) to ``pytest -l``
output or JUnit XML. Loopback only: the mock stands in for the service."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime_harness.mock import MockServer
from realtime_harness.target import ENV_VARS

# Not shaped like an OpenAI key: only registration, not a pattern, can catch it.
SENTINEL = "SENTINELkey7f3a9c1e5b2d4a6c"
pytest_plugins = ["pytester"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.pop("REALTIME_HARNESS_MOCK_KEY", None)
    env.update(extra)
    return env


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "realtime_harness", *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def hits(*blobs: bytes, under: Path | None = None) -> int:
    """How many times the sentinel occurs in the blobs and in every file under ``under``."""
    needle = SENTINEL.encode()
    count = sum(blob.count(needle) for blob in blobs)
    if under is not None:
        count += sum(p.read_bytes().count(needle) for p in under.rglob("*") if p.is_file())
    return count


@pytest.fixture(scope="module")
def keyed_mock() -> Iterator[MockServer]:
    """A mock that accepts only the sentinel key, with one server_error to force a failure."""
    with MockServer(require_key=SENTINEL, seed=7).run_in_thread() as server:
        yield server


def test_probe_never_writes_the_key(keyed_mock: MockServer, tmp_path: Path) -> None:
    """Key in the environment, in .env, in the URL query; outputs: text, JSON, -vv logs,
    recording, failures log; a failing session (server_error, then a wrong key) included."""
    base = keyed_mock.url
    outputs: list[bytes] = []
    keyed_mock.set_faults(["server_error:rate=1,count=1"])
    runs = [
        (["--url", f"{base}/v1/realtime?model=gpt-realtime"], {"OPENAI_API_KEY": SENTINEL}),
        (["--url", f"{base}/openai/v1/realtime?model=gpt-realtime", "--json"], {}),
        (
            ["--url", f"{base}/openai/v1/realtime?model=gpt-realtime&api-key={SENTINEL}", "--json"],
            {},
        ),
    ]
    (tmp_path / ".env").write_text(f"AZURE_OPENAI_API_KEY={SENTINEL}\n")
    for index, (args, env) in enumerate(runs):
        common = ["--text", "Hi", "--speed", "0", "-vv", "--retries", "1"]
        files = ["--record", f"rec{index}.jsonl", "--failures-log", f"fail{index}.jsonl"]
        done = cli("probe", *args, *common, *files, cwd=tmp_path, env=clean_env(**env))
        assert done.returncode in (0, 1), done.stderr.decode()
        assert b"Traceback" not in done.stderr
        outputs += [done.stdout, done.stderr]
    assert (tmp_path / "fail0.jsonl").read_bytes().strip(), "the failure path was exercised"
    # A wrong key on the way in: the sentinel is what the client sends, the server refuses it.
    with MockServer(require_key="another-key-0123456789").run_in_thread() as other:
        done = cli(
            "probe",
            *("--url", f"{other.url}/v1/realtime?model=gpt-realtime", "--text", "Hi"),
            *("--failures-log", "wrong.jsonl", "--record", "wrong.rec.jsonl", "-vv"),
            cwd=tmp_path,
            env=clean_env(OPENAI_API_KEY=SENTINEL),
        )
    assert done.returncode not in (0, 2), done.stdout.decode()
    assert b"Traceback" not in done.stderr
    outputs += [done.stdout, done.stderr]
    (tmp_path / ".env").unlink()
    assert hits(*outputs, under=tmp_path) == 0


def test_validate_and_samples_never_write_the_key(tmp_path: Path) -> None:
    """Commands that take no key still run with one in the environment and in .env."""
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={SENTINEL}\n")
    env = clean_env(OPENAI_API_KEY=SENTINEL, AZURE_OPENAI_API_KEY=SENTINEL)
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"type": "session.created", "event_id": "e", "session": {"id": "s"}}\n')
    outputs: list[bytes] = []
    for args in (["validate", str(trace)], ["validate", "--json", "-"], ["samples"]):
        done = subprocess.run(
            [sys.executable, "-m", "realtime_harness", *args],
            cwd=tmp_path,
            env=env,
            input=trace.read_bytes(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert b"Traceback" not in done.stderr
        outputs += [done.stdout, done.stderr]
    (tmp_path / ".env").unlink()
    assert hits(*outputs, under=tmp_path) == 0


def test_mock_server_never_prints_its_key_or_a_clients(tmp_path: Path) -> None:
    """``mock-server --require-key`` (flag and environment variable), clients sending the key in
    a header, the query, a subprotocol, the model parameter and the path: no line shows it."""
    outputs: list[bytes] = []
    for args, env in (
        (["--require-key", SENTINEL], clean_env()),
        # every name served: the key pasted as a model opens a session (first run: refused)
        (
            ["--models", "any", "--deployments", "any"],
            clean_env(REALTIME_HARNESS_MOCK_KEY=SENTINEL),
        ),
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "realtime_harness", "mock-server", "--port", "0", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().decode().strip()
            assert url.startswith("ws://127.0.0.1:")
            attempts = [
                (f"{url}/v1/realtime?model=gpt-realtime", {"Authorization": f"Bearer {SENTINEL}"}),
                (f"{url}/openai/v1/realtime?model=gpt-realtime&api-key={SENTINEL}", {}),
                (f"{url}/openai/v1/realtime?model={SENTINEL}", {"api-key": SENTINEL}),
                (f"{url}/v1/realtime/{SENTINEL}?model=gpt-realtime", {"api-key": SENTINEL}),
                (f"{url}/v1/realtime?model=gpt-realtime", {"api-key": "wrong-key-0123456789"}),
            ]
            for target, headers in attempts:
                try:
                    with connect(target, additional_headers=headers, open_timeout=10) as ws:
                        ws.recv(timeout=10)
                except (InvalidStatus, OSError, TimeoutError):
                    pass
                except Exception:
                    pass
            protocols = ["realtime", f"openai-insecure-api-key.{SENTINEL}"]
            with connect(
                f"{url}/v1/realtime?model=gpt-realtime",
                subprotocols=protocols,  # type: ignore[arg-type]
                open_timeout=10,
            ) as ws:
                ws.recv(timeout=10)
            time.sleep(0.3)  # let the server print the session lines
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
        outputs += [out, err]
        assert b"Traceback" not in err
    assert b"session " in b"".join(outputs)
    assert hits(*outputs, under=tmp_path) == 0


def test_pytest_plugin_never_writes_the_key(
    pytester: pytest.Pytester, keyed_mock: MockServer
) -> None:
    """``--realtime-url '…?api-key=KEY'`` with a failing test, ``-l`` and JUnit XML."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.realtime_live
        def test_live(realtime_target, run_probe):
            target = realtime_target
            headers = dict(target.headers)
            assert target is None, repr(target)
        """
    )
    url = f"{keyed_mock.url}/openai/v1/realtime?model=gpt-realtime&api-key={SENTINEL}"
    result = pytester.runpytest_subprocess(
        "--realtime-live",
        f"--realtime-url={url}",
        "-l",
        "-vv",
        "--junitxml=junit.xml",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=1)
    output = "\n".join(result.outlines + result.errlines).encode()
    assert b"target = Target(url=" in output
    assert hits(output, under=pytester.path) == 0
