"""Bad inputs on the command line, in the environment and in files: each is one ``error:``
line and exit 2, before any connection, never a traceback and never a silent fallback to the
embedded mock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.target import ENV_VARS

AZ = "https://res.openai.azure.com"
KEY = {"AZURE_OPENAI_API_KEY": "azkey-0123456789"}
BAD = os.fsdecode(b"dep\xff")  # how Python hands undecodable argv bytes to a program
PROXIES = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")

runner = CliRunner()

#: (argv after the command, environment added to a clean one, file contents by name)
PROBE_CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "url-empty": (["--url", ""], {}),
    "url-blank": (["--url", "   "], {}),
    "endpoint-empty": (["--endpoint", ""], KEY),
    "deployment-empty": (["--endpoint", AZ, "--deployment", ""], KEY),
    "model-empty": (["--model", ""], {}),
    "api-version-empty": (["--endpoint", AZ, "--deployment", "d", "--api-version", ""], KEY),
    "url-bad-ipv6": (["--url", "http://[::1"], {}),
    "url-port-out-of-range": (["--url", "ws://h.example:99999/v1/realtime"], {}),
    "url-wrong-scheme": (["--url", "ftp://h.example/x"], {}),
    "url-undecodable": (["--url", "wss://h.example/v1/realtime?model=m\udcff"], KEY),
    "url-newline": (["--url", "wss://h.example/v1/realtime\n"], KEY),
    "deployment-undecodable": (["--endpoint", AZ, "--deployment", "d\udcff"], KEY),
    "endpoint-undecodable": (["--endpoint", "https://r\udce9s.openai.azure.com"], KEY),
    "env-url-empty": ([], {"REALTIME_HARNESS_URL": ""}),
    "env-endpoint-empty-with-key": ([], {"AZURE_OPENAI_ENDPOINT": "", **KEY}),
    "env-auth-bogus": ([], {"AZURE_OPENAI_AUTH": "bogus", "OPENAI_API_KEY": "sk-x-0123456789"}),
    "proxy-socks-no-host": (
        ["--endpoint", AZ, "--deployment", "d"],
        {"https_proxy": "socks5://", **KEY},
    ),
    "proxy-bad-ipv6": (
        ["--endpoint", AZ, "--deployment", "d"],
        {"https_proxy": "http://[::1", **KEY},
    ),
    "proxy-port-out-of-range": (
        ["--endpoint", AZ, "--deployment", "d"],
        {"HTTPS_PROXY": "http://proxy.example:70000", **KEY},
    ),
    "ws-remote-no-key": (["--url", "ws://gateway.example.com/v1/realtime?model=m"], {}),
    "wss-remote-no-key": (["--url", "wss://gateway.example.com/v1/realtime?model=m"], {}),
    "env-file-missing": (["--env-file", "nope.env"], {}),
}


def clean_env(extra: dict[str, str]) -> dict[str, str | None]:
    """os.environ without any target or proxy variable, plus ``extra`` (for the CliRunner)."""
    env: dict[str, str | None] = {k: None for k in (*ENV_VARS, *PROXIES) if k in os.environ}
    env.update(extra)
    return env


@pytest.mark.parametrize("case", list(PROBE_CASES))
def test_probe_refuses_bad_input_in_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 2, one ``error:`` line, no traceback, and no probe of the embedded mock."""
    monkeypatch.chdir(tmp_path)
    args, env = PROBE_CASES[case]
    result = runner.invoke(app, ["probe", *args], env=clean_env(env))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert "probing the embedded mock" not in result.output
    assert "\udcff" not in result.output


VALIDATE_CASES: dict[str, tuple[list[str], dict[str, bytes]]] = {
    "missing": (["nope.jsonl"], {}),
    "directory": (["."], {}),
    "empty": (["f.jsonl"], {"f.jsonl": b""}),
    "blank-lines": (["f.jsonl"], {"f.jsonl": b"\n \n\t\n"}),
    "pretty-json": (["f.json"], {"f.json": b'{\n  "type": "session.created"\n}\n'}),
    "json-array": (["f.json"], {"f.json": b'[{"type": "session.created"}]'}),
    "binary": (["f.bin"], {"f.bin": bytes(range(256))}),
    "utf16": (["f.jsonl"], {"f.jsonl": '{"type": "session.created"}\n'.encode("utf-16")}),
    "objects-without-type": (["f.jsonl"], {"f.jsonl": b'{"a": 1}\n{"b": 2}\n'}),
    "header-only": (["f.jsonl"], {"f.jsonl": b'{"realtime_harness_recording": 1}\n'}),
    "bad-dialect": (["--dialect", "xx", "f.jsonl"], {"f.jsonl": b""}),
    "no-files": ([], {}),
}


@pytest.mark.parametrize("case", list(VALIDATE_CASES))
def test_validate_refuses_unusable_input(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing, empty, not JSON Lines, or a bad option: exit 2, no traceback."""
    monkeypatch.chdir(tmp_path)
    args, files = VALIDATE_CASES[case]
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    result = runner.invoke(app, ["validate", *args])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_undecodable_argv_bytes_as_a_real_process(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 on a real command line: one line, exit 2."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and k not in PROXIES}
    env.update(KEY)
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "probe", "--endpoint", AZ, "--deployment", BAD],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count(b"\n") == 1
    assert b"--deployment contains bytes that are not UTF-8" in done.stderr


@pytest.mark.parametrize("flag", ["--text", "--instructions", "--voice"])
def test_undecodable_free_text_is_one_line_and_exit_2(tmp_path: Path, flag: str) -> None:
    """--text, --instructions or --voice with bytes that are not UTF-8: refused before anything
    connects (they would be sent as JSON), one line, exit 2, never a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and k not in PROXIES}
    args = [sys.executable, "-m", "realtime_harness", "probe", flag, BAD]
    if flag != "--text":
        args += ["--text", "hello"]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert b"Traceback" not in done.stderr
    assert f"{flag} contains bytes that are not UTF-8".encode() in done.stderr
