"""``realtime-harness mock-server``: run the embedded mock Realtime server until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from realtime_harness.cli._app import app, fail, one_line_errors
from realtime_harness.mock.config import ANY, REALTIME_MODELS, AnyName, Latency
from realtime_harness.mock.fault_spec import FaultSpec, parse_fault_spec
from realtime_harness.mock.server import (
    MockServer,
    PacedCollector,
    SessionLog,
    tune_gc_for_serving,
)
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.redact import redact_text, register_secret
from realtime_harness.transport.loop import run_in_loop

__all__ = ["mock_server"]


class _Lines:
    """Session lines to stdout, written by a thread so the event loop never waits for a reader.

    Nobody reading the pipe must not freeze the server (a blocking write in the loop stops every
    session, and the signal handlers with it): lines queue up to a bound and the excess is
    dropped. A closed stdout (``| head -1`` after the URL line) ends the output, not the server.
    Every line is redacted, so the ``--require-key`` value never appears.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=limit)
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="mock-server-stdout", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        try:
            self._queue.put_nowait(redact_text(line))
        except queue.Full:
            self.dropped += 1

    def session(self, record: SessionLog) -> None:
        self.put(record.summary())

    def close(self, timeout: float = 1.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds) and stop."""
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)

    def _run(self) -> None:
        broken = False
        while True:
            line = self._queue.get()
            if line is None:
                return
            if broken:
                continue
            # os.write, not print: nothing is left in sys.stdout's buffer for the interpreter
            # to flush (and block on, or fail on) at exit
            broken = not _write_stdout(line + "\n")


def _write_stdout(text: str) -> bool:
    """Write to stdout unbuffered; False once stdout is gone (closed pipe, closed file)."""
    data = text.encode("utf-8", "replace")
    try:
        fd = sys.stdout.fileno()
        while data:
            data = data[os.write(fd, data) :]
    except (OSError, ValueError, AttributeError):
        _discard_stdout()
        return False
    return True


def _discard_stdout() -> None:
    """Point stdout at /dev/null so nothing later (exit-time flush included) fails on it."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _check_host(host: str) -> str:
    """The interface to bind, or a usage error: empty, or neither an IP address nor a name."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]  # [::1] as in a URL
    if not name:
        fail("--host is empty; give an interface such as 127.0.0.1, ::1 or localhost")
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    try:
        name.encode("idna")
    except UnicodeError:
        fail(f"--host {host!r} is not an IP address or a valid host name")
    return name


def _names(value: str | None, flag: str) -> tuple[str, ...] | AnyName:
    """A comma-separated list of names (unset or ``default``: today's realtime model names;
    ``any``: every name)."""
    if value is None or value.strip() == "default":
        return REALTIME_MODELS
    if value.strip() == "any":
        return ANY
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        fail(f"{flag} is empty; give names separated by commas, 'default' or 'any'")
    return names


async def _serve(
    server: MockServer, stop_after: float | None, lines: _Lines, ca_file: Path | None = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C and SIGTERM end the server cleanly (exit 0), not with a traceback
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except (OSError, OverflowError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        fail(
            f"cannot listen on {server.host}:{server.port}: {reason}; "
            "choose another --host or --port (0 picks a free one)",
            Outcome.USAGE,
        )
    # This process only serves sessions: keep the collector's passes short, full ones rare.
    tune_gc_for_serving()
    collector = PacedCollector()
    collector.start(loop)
    # The URL is the first line of output, written at once, so scripts can read it and connect;
    # if nobody can read it (stdout closed) the server still serves.
    _write_stdout(server.url + "\n")
    if ca_file is not None:
        # Second line: the CA that clients must trust (the certificate is made at start).
        _write_stdout(
            f"CA certificate: {ca_file} (trust it, e.g. NODE_EXTRA_CA_CERTS={ca_file} "
            f"or SSL_CERT_FILE={ca_file})\n"
        )
    try:
        if stop_after is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), stop_after)
    finally:
        collector.stop()
        await server.stop()
        lines.close()


def _fault_kinds_help() -> str:
    """One line per fault kind, from the kinds table in the fault spec module's docstring."""
    import re

    from realtime_harness.mock import fault_spec

    described: dict[str, str] = {}
    key = ""
    for line in (fault_spec.__doc__ or "").splitlines():
        match = re.match(r"``(\w+)``\s+(.*)", line)
        if match:
            key = match.group(1)
            described[key] = match.group(2).strip()
        elif key and line.startswith(" ") and line.strip():
            described[key] += " " + line.strip()
        else:
            key = ""
    rows = []
    for kind in fault_spec.FaultKind:
        text = getattr(kind, "description", None) or described.get(kind.value, "")
        rows.append(f"  {kind.value:<16}{text.replace('``', '')}")
    keys = ", ".join(f.name for f in dataclasses.fields(FaultSpec) if f.name != "kind")
    return (
        "\b\nFault kinds (--fault KIND[:key=value,...], for example\n"
        "server_error:rate=0.1,after_deltas=3):\n"
        + "\n".join(rows)
        + f"\n\nFault keys: {keys}. docs/mock.md explains each."
    )


@app.command("mock-server", epilog=_fault_kinds_help())
def mock_server(
    host: Annotated[str, typer.Option(help="Interface to bind.", metavar="HOST")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to bind (0-65535); 0 picks a free one.", metavar="PORT")
    ] = 0,
    dialect: Annotated[
        Dialect, typer.Option(help="Dialect served on /v1/realtime (Azure paths fix their own).")
    ] = Dialect.GA,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault; repeatable. SPEC = KIND[:key=value,...] (kinds and keys below).",
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
            help="Accept only this API key (else 401 on Azure paths, invalid_api_key on OpenAI); "
            "never printed.",
            envvar="REALTIME_HARNESS_MOCK_KEY",
            show_envvar=True,
            show_default=False,
            metavar="KEY",
        ),
    ] = None,
    deployments: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated Azure deployments that exist, 'default' (today's realtime "
            "model names) or 'any' (every name); any other is answered HTTP 404 "
            "DeploymentNotFound. Default: default.",
            show_default=False,
        ),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated models /v1/realtime serves, 'default' (today's realtime "
            "model names) or 'any' (every name); any other is answered invalid_model and "
            "close 4000. Default: default.",
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
        typer.Option(
            help="Time from response.created to the first delta, in ms (not scaled by --speed).",
            min=0,
            metavar="MS",
        ),
    ] = 250.0,
    jitter_ms: Annotated[
        float,
        typer.Option(
            help="Each delta late by a random 0 to this many ms, order kept (seeded by --seed).",
            min=0,
            metavar="MS",
        ),
    ] = 0.0,
    stop_after: Annotated[
        float | None,
        typer.Option(help="Stop the server after this many seconds (default: run until Ctrl-C)."),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve wss:// with a certificate made at start by a throw-away CA; the second "
            "line of output is the CA file to trust (removed when the server stops).",
        ),
    ] = False,
) -> None:
    """Run the embedded mock Realtime server: prints its URL, then one line per session.

    Serves /v1/realtime?model=… (OpenAI), /openai/realtime?api-version=…&deployment=… (Azure
    preview, beta dialect) and /openai/v1/realtime?model=… (Azure GA). Ctrl-C stops it (exit 0);
    a bad option or fault SPEC exits 2.

    Answers speak one of the bundled samples: the one whose name the session's or response's
    instructions mention (for example "long" for the 25-second sample), otherwise a short one
    chosen with --seed.
    """
    with one_line_errors():
        host = _check_host(host)
        if not 0 <= port <= 65535:
            fail(f"--port {port} is out of range; use 0-65535 (0 picks a free port)")
        specs: list[FaultSpec] = [parse_fault_spec(text) for text in fault or []]
        # the key this server accepts is a secret: no line it prints may show it
        register_secret(require_key)
        lines = _Lines()
        if ledger is not None:
            from realtime_harness.probe.outputs import check_writable

            check_writable("--ledger", ledger)
        if replay is not None and not replay.is_file():
            fail(f"replay file {replay} does not exist; pass a JSONL trace of server events")
        certificates = contextlib.ExitStack()
        ca_file: Path | None = None
        context = None
        if tls:
            from realtime_harness.mock.tls import temporary_tls

            made = certificates.enter_context(temporary_tls([host]))
            ca_file, context = made.ca_file, made.server_context
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
            deployments=_names(deployments, "--deployments"),
            models=_names(models, "--models"),
            ledger_path=ledger,
            replay=replay,
            validate=True,
            # nobody asks this process what its clients sent: its session lines count them
            keep_received=False,
            on_session_end=lines.session,
            on_reject=lines.put,
            tls=context,
        )
        with certificates:
            # uvloop when installed (the speed extra): more sessions served on time
            run_in_loop(_serve(server, stop_after, lines, ca_file))
