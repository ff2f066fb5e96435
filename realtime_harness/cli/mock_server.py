"""``realtime-harness mock-server``: run the embedded mock Realtime server until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from realtime_harness.cli._app import app, fail, one_line_errors
from realtime_harness.mock.behaviour import Latency
from realtime_harness.mock.faults import FAULT_SPEC_HELP, FaultSpec, parse_fault_spec
from realtime_harness.mock.server import MockServer, SessionLog, tune_gc_for_serving
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome

__all__ = ["mock_server"]


def _print_session(record: SessionLog) -> None:
    print(record.summary(), flush=True)


def _print_line(line: str) -> None:
    print(line, flush=True)


async def _serve(server: MockServer, stop_after: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C and SIGTERM end the server cleanly (exit 0), not with a traceback
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except OSError as exc:
        fail(
            f"cannot listen on {server.host}:{server.port}: {exc.strerror or exc}; "
            "choose another --port (0 picks a free one)",
            Outcome.USAGE,
        )
    # This process only serves sessions: keep the collector's full passes short and rare.
    tune_gc_for_serving()
    # The URL is the first line of output, flushed, so scripts can read it and connect.
    print(server.url, flush=True)
    try:
        if stop_after is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), stop_after)
    finally:
        await server.stop()


@app.command("mock-server")
def mock_server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind; 0 picks a free one.")] = 0,
    dialect: Annotated[
        Dialect, typer.Option(help="Dialect served on /v1/realtime (Azure paths fix their own).")
    ] = Dialect.GA,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help=f"Inject a fault; repeatable. SPEC = {FAULT_SPEC_HELP}.",
            metavar="SPEC",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for ids, jitter and fault coins.")] = 0,
    ledger: Annotated[
        Path | None, typer.Option(help="Append every injected fault to this JSONL file.")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            help="Serve this recorded trace (JSONL of server events or a recording) to each "
            "client, released by its session.update / commit / response.create."
        ),
    ] = None,
    require_key: Annotated[
        str | None,
        typer.Option(
            help="Accept only this API key (else 401 on Azure paths, invalid_api_key on OpenAI).",
            envvar="REALTIME_HARNESS_MOCK_KEY",
            show_default=False,
        ),
    ] = None,
    max_seconds: Annotated[
        float,
        typer.Option(help="Session length before session_expired and close (real: 3600).", min=1),
    ] = 3600.0,
    speed: Annotated[
        float,
        typer.Option(
            help="Output pacing: 1 = real time, 2 = twice as fast, 0 = as fast as possible.",
            min=0,
        ),
    ] = 1.0,
    first_delta_ms: Annotated[
        float,
        typer.Option(help="Time from response.created to the first delta, in ms.", min=0),
    ] = 250.0,
    jitter_ms: Annotated[
        float,
        typer.Option(help="Extra random (seeded) delay of up to this many ms per delta.", min=0),
    ] = 0.0,
    stop_after: Annotated[
        float | None,
        typer.Option(help="Stop the server after this many seconds (default: run until Ctrl-C)."),
    ] = None,
) -> None:
    """Run the embedded mock Realtime server: prints its URL, then one line per session.

    Serves /v1/realtime?model=… (OpenAI), /openai/realtime?api-version=…&deployment=… (Azure
    preview, beta dialect) and /openai/v1/realtime?model=… (Azure GA). Ctrl-C stops it (exit 0);
    a bad option or fault SPEC exits 2.
    """
    with one_line_errors():
        specs: list[FaultSpec] = [parse_fault_spec(text) for text in fault or []]
        if replay is not None and not replay.is_file():
            fail(f"replay file {replay} does not exist; pass a JSONL trace of server events")
        server = MockServer(
            dialect=dialect,
            faults=specs,
            seed=seed,
            host=host,
            port=port,
            latency=Latency(
                speed=speed, first_delta_s=first_delta_ms / 1000, jitter_s=jitter_ms / 1000
            ),
            max_session_s=max_seconds,
            require_key=require_key,
            ledger_path=ledger,
            replay=replay,
            validate=True,
            on_session_end=_print_session,
            on_reject=_print_line,
        )
        asyncio.run(_serve(server, stop_after))
    sys.stdout.flush()
