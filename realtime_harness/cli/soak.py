"""``realtime-harness soak``, ``report`` and ``merge``: many paced sessions for a while, their
results directory, its report rebuilt, shard directories merged.

A thin shell over :func:`realtime_harness.soak.runner.run_soak` (one process) and
:func:`realtime_harness.soak.worker.run_workers` (``--workers P``). The target options are the
probe's own. Exit 0 when no ``--fail-if`` threshold was crossed, 1 when one was, 2 for a usage
error.
"""

from __future__ import annotations

import enum
import os
import random
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from realtime_harness.cli._app import app, fail, one_line_errors
from realtime_harness.cli.probe import (
    ApiVersionOption,
    AuthOption,
    CompressionOption,
    DeploymentOption,
    DialectOption,
    EndpointOption,
    EnvFileOption,
    InstructionsOption,
    MaxResponseTimeOption,
    MockFaultOption,
    ModelOption,
    TextOption,
    TimeoutOption,
    TurnDetection,
    TurnDetectionOption,
    TurnsOption,
    UrlOption,
    VerboseOption,
    VoiceOption,
    configure_logging,
    target_from_options,
)
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.script import DEFAULT_INSTRUCTIONS, DEFAULT_RESPONSE_MAX_S

__all__ = ["Engine", "merge", "report", "soak"]


class Engine(enum.StrEnum):
    """Where the shards run."""

    LOCAL = "local"
    RAY = "ray"


class WsLibrary(enum.StrEnum):
    """The WebSocket library of each session (docs/soak.md)."""

    AUTO = "auto"
    WEBSOCKETS = "websockets"
    PICOWS = "picows"


@app.command()
def soak(
    url: UrlOption = None,
    endpoint: EndpointOption = None,
    deployment: DeploymentOption = None,
    model: ModelOption = None,
    api_version: ApiVersionOption = None,
    dialect: DialectOption = None,
    auth: AuthOption = None,
    env_file: EnvFileOption = None,
    out: Annotated[
        Path, typer.Option(help="Results directory (must not hold results yet).")
    ] = Path("soak-results"),
    sessions: Annotated[
        int | None, typer.Option(min=1, help="Closed loop: this many concurrent users.")
    ] = None,
    rate: Annotated[
        str | None, typer.Option(help="Open loop: new sessions per time, e.g. 60/min.")
    ] = None,
    ramp: Annotated[
        str | None,
        typer.Option(help="Load stages, e.g. '0->500 over 5m, hold 1h' (users or rates)."),
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="How long to run, e.g. 90s, 10m, 2h (default: until Ctrl-C).")
    ] = None,
    max_sessions: Annotated[
        int | None, typer.Option(min=1, help="Stop starting sessions after this many.")
    ] = None,
    think: Annotated[
        str, typer.Option(help="Closed loop: pause of a user between two sessions.")
    ] = "1s",
    recycle_after: Annotated[
        str,
        typer.Option(
            help="End a session on purpose at this age (before the server's maximum session "
            "length; not a failure)."
        ),
    ] = "25m",
    audio: Annotated[
        list[str] | None,
        typer.Option(help="Sample name or audio file; repeat to vary audio between sessions."),
    ] = None,
    text: TextOption = None,
    turns: TurnsOption = 1,
    turn_detection: TurnDetectionOption = TurnDetection.NONE,
    voice: VoiceOption = "alloy",
    instructions: InstructionsOption = DEFAULT_INSTRUCTIONS,
    timeout: TimeoutOption = 10.0,
    max_response_time: MaxResponseTimeOption = DEFAULT_RESPONSE_MAX_S,
    speed: Annotated[
        float,
        typer.Option(min=0.0, help="Audio pacing: 1 real time (default), 0 as fast as possible."),
    ] = 1.0,
    compression: CompressionOption = False,
    ws_library: Annotated[
        WsLibrary,
        typer.Option(
            help="WebSocket library: auto (picows when installed, from the speed extra, and no "
            "proxy or compression is needed), websockets or picows."
        ),
    ] = WsLibrary.AUTO,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(help="Fail (exit 1) when this holds, e.g. 'failure_rate>0.01'."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Shards: local worker processes or Ray actors (default: cores)."),
    ] = None,
    engine: Annotated[
        Engine, typer.Option(help="local: worker processes here; ray: Ray actors (ray extra).")
    ] = Engine.LOCAL,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (default: a local Ray instance).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve the live figures as Prometheus metrics here."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address the metrics listen on (0.0.0.0 for a remote scraper).")
    ] = "127.0.0.1",
    mock_fault: MockFaultOption = None,
    mock_speed: Annotated[
        float, typer.Option(min=0.0, help="Embedded mock only: its streaming speed (0: at once).")
    ] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the session ids and choices.")] = None,
    verbose: VerboseOption = 0,
) -> None:
    """Run many paced sessions for a while; write sessions, failures, summary and report.

    Exit 0 clean, 1 when a --fail-if threshold was crossed, 2 usage error.
    """
    from realtime_harness.probe.options import ProbeOptions
    from realtime_harness.soak.live import live_view
    from realtime_harness.soak.results import REPORT_FILE, SUMMARY_MD_FILE
    from realtime_harness.soak.runner import LiveFigures, SoakOptions, run_in_loop, run_soak
    from realtime_harness.soak.shape import build_shape, parse_duration
    from realtime_harness.soak.thresholds import parse_thresholds
    from realtime_harness.soak.worker import run_workers

    configure_logging(verbose)
    with one_line_errors():
        shape = build_shape(ramp=ramp, sessions=sessions, rate=rate, duration=duration)
        thresholds = tuple(fail_if or ())
        parse_thresholds(thresholds)
        think_s = parse_duration(think, what="--think")
        recycle_s = parse_duration(recycle_after, what="--recycle-after")
        if recycle_s <= 0:
            fail("--recycle-after must be longer than 0s")
        target = target_from_options(
            url=url,
            endpoint=endpoint,
            deployment=deployment,
            model=model,
            api_version=api_version,
            dialect=dialect,
            auth=auth,
            env_file=env_file,
            mock_fault=mock_fault,
            verb="soak-testing",
            purpose="soak-test",
        )
        audios = tuple(audio or ("greeting",))
        shards = workers or os.cpu_count() or 1
        probe_options = ProbeOptions(
            target=target,
            audio=audios[0],
            text=text,
            turns=turns,
            turn_detection=None if turn_detection is TurnDetection.NONE else turn_detection.value,
            voice=voice,
            instructions=instructions,
            timeout=timeout,
            max_response_time=max_response_time,
            max_session_time=recycle_s + timeout,
            speed=speed,
            compression=compression,
            ws_library=ws_library.value,
            mock_dialect=dialect or Dialect.GA,
            mock_faults=tuple(mock_fault or ()),
            mock_speed=mock_speed,
            rng=random.Random(seed),
        )
        config = {
            "target": target.to_json_dict() if target is not None else "embedded mock",
            "shape": shape.describe(),
            "shape_kind": shape.kind,
            "duration": duration,
            "max_sessions": max_sessions,
            "think": think,
            "recycle_after": recycle_after,
            "audio": list(audios),
            "text": text,
            "turns": turns,
            "turn_detection": turn_detection.value,
            "speed": speed,
            "timeout": timeout,
            "compression": compression,
            "ws_library": ws_library.value,
            "workers": shards,
            "engine": engine.value,
            "mock_faults": list(mock_fault or ()),
            "seed": seed,
        }
        used = ""
        if engine is not Engine.RAY:
            # What "auto" became here (Ray's workers decide on their own machines).
            from realtime_harness.transport.loop import loop_name
            from realtime_harness.transport.websocket import WebSocketOptions, library_for

            config["ws_library_used"] = library = library_for(
                WebSocketOptions(library=ws_library.value, compression=compression),
                target.url if target is not None else "ws://127.0.0.1/",
            )
            config["event_loop"] = loop = loop_name()
            used = f"{library} on {loop}; "
        options = SoakOptions(
            probe=probe_options,
            shape=shape,
            out_dir=out,
            audio=audios,
            think_s=think_s,
            max_sessions=max_sessions,
            recycle_s=recycle_s,
            fail_if=thresholds,
            config=config,
            shard=None if shards == 1 else os.uname().nodename,
        )
        print(
            f"soak: {shape.describe() or 'until stopped'} → {out} "
            f"({used}Ctrl-C drains, a second Ctrl-C stops at once)",
            file=sys.stderr,
        )
        exporter = None
        if metrics_port is not None:
            from realtime_harness.soak.metrics import MetricsExporter

            exporter = MetricsExporter(metrics_port, metrics_host)
            print(f"metrics: http://{metrics_host}:{exporter.port}/metrics", file=sys.stderr)
        try:
            with live_view() as show:

                def on_update(figures: LiveFigures) -> None:
                    show(figures)
                    if exporter is not None:
                        exporter.update(figures)

                if engine is Engine.RAY:
                    from realtime_harness.soak.ray_engine import run_ray

                    outcome = run_in_loop(
                        run_ray(options, shards, address=ray_address, on_update=on_update)
                    )
                elif shards > 1:
                    outcome = run_in_loop(run_workers(options, shards, on_update=on_update))
                else:
                    outcome = run_in_loop(
                        run_soak(options, on_update=on_update, handle_signals=True)
                    )
        finally:
            if exporter is not None:
                exporter.close()
        from realtime_harness.soak.report import write_report

        write_report(out, outcome.results)
    summary = outcome.results.summary()
    print((out / SUMMARY_MD_FILE).read_text(encoding="utf-8"))
    print(f"report: {out / REPORT_FILE}  (stopped by {outcome.stopped_by})")
    crossed = summary.get("failed_thresholds") or []
    if crossed:
        print(f"fail-if crossed: {', '.join(crossed)}", file=sys.stderr)
    none_clean = None if thresholds else _none_clean(summary)
    if none_clean is not None:
        outcomes = summary["totals"]["outcomes"]
        counts = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
        print(
            f"verdict: not one session was clean ({counts}) exit={none_clean.exit_code}",
            file=sys.stderr,
        )
        raise typer.Exit(none_clean.exit_code)
    if crossed:
        raise typer.Exit(Outcome.SERVER_FAILURE.exit_code)


def _none_clean(summary: Mapping[str, Any]) -> Outcome | None:
    """The outcome to exit with when sessions ran and not one was clean; None otherwise.

    Failures are what a soak measures, so with ``--fail-if`` the thresholds alone set the exit
    code. Without any, a run in which no session worked measured nothing of a working service
    and must not exit 0: its code is that of the sessions' worst outcome, in the precedence of
    the exit codes (violation, then connection failure, then server failure).
    """
    totals = summary.get("totals")
    outcomes = totals.get("outcomes") if isinstance(totals, Mapping) else None
    if not isinstance(outcomes, Mapping) or not outcomes or outcomes.get(Outcome.CLEAN.value):
        return None
    for outcome in (Outcome.VIOLATION, Outcome.CONNECTION, Outcome.SERVER_FAILURE):
        if outcomes.get(outcome.value):
            return outcome
    return Outcome.SERVER_FAILURE


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="A soak results directory.")],
) -> None:
    """Rebuild report.html (and summary.md) from a soak directory, also a killed or merged run."""
    from realtime_harness.soak.merge import merge_dirs
    from realtime_harness.soak.report import write_report
    from realtime_harness.soak.results import (
        SESSIONS_FILE,
        SHARDS_DIR,
        SUMMARY_MD_FILE,
        load_results,
        write_summary,
    )

    with one_line_errors():
        shards = sorted((directory / SHARDS_DIR).glob(f"*/{SESSIONS_FILE}"))
        if shards and not (directory / SESSIONS_FILE).exists():
            # A multi-worker run stopped before it merged its shards: merge them now.
            merge_dirs([p.parent for p in shards], directory)
        results = load_results(directory)
        if results.partial:
            write_summary(directory, results)
        path = write_report(directory, results)
    print((directory / SUMMARY_MD_FILE).read_text(encoding="utf-8"))
    print(f"report: {path}")


@app.command()
def merge(
    directories: Annotated[list[Path], typer.Argument(help="Soak directories (shards) to merge.")],
    out: Annotated[Path, typer.Option(help="Directory for the merged results.")],
) -> None:
    """Merge soak directories from several processes or machines into one, with its report."""
    from realtime_harness.soak.merge import merge_dirs
    from realtime_harness.soak.results import REPORT_FILE, SUMMARY_MD_FILE

    with one_line_errors():
        merge_dirs(directories, out)
    print((out / SUMMARY_MD_FILE).read_text(encoding="utf-8"))
    print(f"report: {out / REPORT_FILE}")
