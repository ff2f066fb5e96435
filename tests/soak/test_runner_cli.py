"""The ``soak``, ``report`` and ``merge`` commands, and ``--metrics-port`` scraped on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import random
import urllib.request
from pathlib import Path

import pytest
from soak_testkit import session, write_run
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.mock import MockServer
from realtime_harness.mock.config import Latency
from realtime_harness.probe.mock import mock_target
from realtime_harness.probe.options import ProbeOptions
from realtime_harness.soak.runner import SoakOptions, run_soak
from realtime_harness.soak.shape import build_shape
from realtime_harness.target import ENV_VARS

runner = CliRunner()
FAST = ["--speed", "0", "--mock-speed", "0", "--think", "0s", "--timeout", "2", "--workers", "1"]


def scrape(port: int) -> str:
    """The metrics page, as a Prometheus server would read it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def clean_env() -> dict[str, str | None]:
    """No target in the environment: the commands use the embedded mock."""
    return {k: None for k in ENV_VARS if k in os.environ}


@pytest.mark.parametrize(("threshold", "code"), [("failure_rate>0.5", 1), ("failure_rate>1.5", 0)])
def test_fail_if_sets_the_exit_code_and_the_summary_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: str, code: int
) -> None:
    """Every response fails: a 50 % threshold is crossed (exit 1), an impossible one is not."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "soak"
    result = runner.invoke(
        app,
        [
            "soak",
            "--sessions",
            "2",
            "--max-sessions",
            "4",
            *FAST,
            "--out",
            str(out),
            "--mock-fault",
            "server_error:rate=1",
            "--fail-if",
            threshold,
        ],
        env=clean_env(),
    )
    assert result.exit_code == code, result.output
    summary = json.loads((out / "summary.json").read_text())
    # what --ws-library auto became here, and the loop
    assert summary["config"]["ws_library"] == "auto"
    assert summary["config"]["ws_library_used"] in {"websockets", "picows"}
    assert summary["config"]["event_loop"] in {"uvloop", "asyncio"}
    assert summary["totals"]["sessions"] == 4
    assert summary["totals"]["failed"] == 4
    assert summary["failed_thresholds"] == ([threshold] if code else [])
    markdown = (out / "summary.md").read_text()
    assert f"`{threshold}`" in markdown
    assert ("**crossed**" in markdown) == bool(code)
    html = (out / "report.html").read_text()
    assert threshold.replace(">", "&gt;") in html


@pytest.mark.parametrize(
    "args",
    [
        ["--duration", "ten minutes"],
        ["--sessions", "2", "--rate", "60/min"],
        ["--fail-if", "latency>5"],
        ["--think", "soon"],
        ["--url", "ws://127.0.0.1:9/v1/realtime", "--mock-fault", "drop"],
        ["--audio", "no-such-sample", "--max-sessions", "1"],
        ["--audio", "/no/such/file.wav", "--max-sessions", "1"],
        ["--mock-fault", "server_error:0.2", "--max-sessions", "1"],
        ["--text", " ", "--max-sessions", "1"],
    ],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_soak_refuses_bad_options_with_exit_2_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], workers: str
) -> None:
    """A usage error is one ``error:`` line naming the problem and exit 2, before any session
    runs: with worker processes too, where each worker would otherwise fail on it."""
    monkeypatch.chdir(tmp_path)
    env = (
        {**clean_env(), "OPENAI_API_KEY": "sk-test-0123456789"} if "--url" in args else clean_env()
    )
    result = runner.invoke(
        app, ["soak", *args, "--workers", workers, "--out", str(tmp_path / "o")], env=env
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "no worker wrote" not in errors[0]  # the problem itself, not its consequence
    assert "Traceback" not in result.output
    assert not (tmp_path / "o" / "summary.json").exists()


def test_report_and_merge_commands(tmp_path: Path) -> None:
    """``report DIR`` rebuilds an unfinished run's report; ``merge`` joins two shards."""
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a, [session(i, failed=i == 4) for i in range(5)], finish=False, shard="a")
    write_run(b, [session(i, failed=True) for i in range(5, 8)], shard="b")
    done = runner.invoke(app, ["report", str(a)])
    assert done.exit_code == 0, done.output
    assert "sess_4" in (a / "report.html").read_text()
    merged = runner.invoke(app, ["merge", str(a), str(b), "--out", str(tmp_path / "m")])
    assert merged.exit_code == 0, merged.output
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    assert (summary["totals"]["sessions"], summary["totals"]["failed"]) == (8, 4)
    bad = runner.invoke(app, ["report", str(tmp_path / "nothing-here")])
    assert bad.exit_code == 2


@pytest.mark.asyncio
async def test_metrics_port_serves_the_live_figures(tmp_path: Path) -> None:
    """Scraped on 127.0.0.1 after a short soak: the counters equal the run's own."""
    pytest.importorskip("prometheus_client")
    from realtime_harness.soak.metrics import MetricsExporter

    exporter = MetricsExporter(0)
    try:
        async with MockServer(latency=Latency.fast(), faults=["server_error:rate=1"]) as server:
            options = SoakOptions(
                probe=ProbeOptions(target=mock_target(server), speed=0.0, rng=random.Random(1)),
                shape=build_shape(sessions=2, duration="30s"),
                out_dir=tmp_path / "soak",
                max_sessions=5,
                think_s=0.0,
            )
            outcome = await run_soak(options, on_update=exporter.update)
        text = await asyncio.to_thread(scrape, exporter.port)
    finally:
        exporter.close()
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert outcome.results.stats.sessions == 5
    assert values["realtime_harness_soak_sessions_completed_total"] == 5
    assert values["realtime_harness_soak_sessions_failed_total"] == 5
    assert values["realtime_harness_soak_failure_ratio"] == 1.0
    assert values["realtime_harness_soak_draining"] == 1.0
    assert values['realtime_harness_soak_failures_total{group="response_failed server_error"}'] == 5
    assert values['realtime_harness_soak_ttfa_milliseconds{quantile="0.99"}'] >= 0


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("case", ["results", "file", "shards"])
def test_soak_refuses_an_output_directory_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str, case: str
) -> None:
    """An --out that holds results, is a file, or holds an earlier run's shards is refused in
    one line before any session runs: with worker processes the merged results are written
    only at the end, and a soak of hours must not end with nowhere to write."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "o"
    if case == "file":
        out.write_text("x")
    else:
        held = out / "shards" / "1" if case == "shards" else out
        held.mkdir(parents=True)
        (held / "sessions.jsonl").write_text('{"record": "run"}\n')
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = runner.invoke(
        app,
        ["soak", "--sessions", "1", "--duration", "30s", "--workers", workers, "--out", str(out)],
        env=clean_env(),
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert f"--out {out}" in errors[0]
    if case == "shards":
        assert f"realtime-harness report {out}" in errors[0]
    # nothing ran, nothing was written or removed
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("args", "code", "counts"),
    [
        (["--mock-fault", "server_error:rate=1"], 1, "server_failure 4"),
        (["--url", "ws://127.0.0.1:9/v1/realtime?model=m"], 4, "connection_failure 4"),
    ],
)
def test_a_soak_without_thresholds_where_no_session_was_clean_does_not_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, counts: str
) -> None:
    """Without --fail-if, failures do not set the exit code, but a run in which not one session
    worked (every response failed, or the service was never reached) measured nothing of a
    working service: it exits with the code of the sessions' worst outcome and says why."""
    monkeypatch.chdir(tmp_path)
    env = clean_env()
    if "--url" in args:
        env["OPENAI_API_KEY"] = "sk-test-0123456789"
    out = tmp_path / "soak"
    result = runner.invoke(
        app,
        ["soak", "--sessions", "2", "--max-sessions", "4", *FAST, "--out", str(out), *args],
        env=env,
    )
    assert result.exit_code == code, result.output
    assert f"verdict: not one session was clean ({counts}) exit={code}" in result.output
    # everything was written all the same
    assert json.loads((out / "summary.json").read_text())["totals"]["sessions"] == 4
    assert (out / "report.html").exists()
