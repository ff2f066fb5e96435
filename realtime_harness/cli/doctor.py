"""``realtime-harness doctor``: check a deployment step by step and name the cause of a failure.

A thin shell over :func:`realtime_harness.doctor.live.run_doctor`: the probe's target options
in (the same definitions and the same resolution), a table (or ``--json``) out, and the report's
exit code (0 nothing fails, 1 a check fails, 2 usage, 4 nothing could be reached).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from realtime_harness.cli._app import app, fail, one_line_errors
from realtime_harness.cli.probe import (
    ApiVersionOption,
    AuthOption,
    DeploymentOption,
    DialectOption,
    EndpointOption,
    EnvFileOption,
    ModelOption,
    UrlOption,
    configure_logging,
)
from realtime_harness.doctor.checks import Check, print_report
from realtime_harness.doctor.config import NOTHING_CONFIGURED, resolve_inputs
from realtime_harness.doctor.live import MAX_REPEAT, DoctorOptions, run_doctor
from realtime_harness.probe.outputs import check_outputs
from realtime_harness.redact import redact_text

__all__ = ["doctor"]


@app.command()
def doctor(
    url: UrlOption = None,
    endpoint: EndpointOption = None,
    deployment: DeploymentOption = None,
    model: ModelOption = None,
    api_version: ApiVersionOption = None,
    dialect: DialectOption = None,
    auth: AuthOption = None,
    env_file: EnvFileOption = None,
    audio: Annotated[
        str | None,
        typer.Option(
            help="The audio you plan to send (sample name or file): tried last, converted as "
            "the probe converts it."
        ),
    ] = None,
    repeat: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_REPEAT,
            help="Run a step that fails with a service error this many times in all, to tell "
            "a transient failure from a persistent one.",
        ),
    ] = 1,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds each wait may take (per phase).")
    ] = 10.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    failures_log: Annotated[
        Path | None, typer.Option(help="Append one JSON record per failure to this file.")
    ] = None,
    mock_fault: Annotated[
        list[str] | None,
        typer.Option(help="Embedded mock only: inject this fault (e.g. server_error:rate=1)."),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug logs.")
    ] = 0,
) -> None:
    """Check a deployment step by step and name the cause of a failure, with the fix.

    Configuration, then DNS/TCP/TLS and the handshake, the session, a text turn, a short audio
    turn and your --audio, transient or persistent (--repeat N), and the clock. Exit 0 nothing
    fails, 1 a check fails, 2 usage error, 4 nothing could be reached.
    """
    configure_logging(verbose)
    if verbose <= 0:
        # Each failing session is a row of the report; the probe's own error lines would repeat it.
        logging.getLogger("realtime_harness.probe").setLevel(logging.CRITICAL)
    with one_line_errors():
        check_outputs(None, failures_log, None)
        resolved = resolve_inputs(
            url=url,
            endpoint=endpoint,
            deployment=deployment,
            model=model,
            api_version=api_version,
            dialect=dialect,
            auth=auth,
            env_file=env_file,
        )
        embedded = isinstance(resolved, Check) and resolved.evidence == NOTHING_CONFIGURED
        if embedded:
            print(
                "no target configured: diagnosing the embedded mock server on 127.0.0.1 "
                "(set --url, AZURE_OPENAI_ENDPOINT or OPENAI_API_KEY to diagnose a deployment)",
                file=sys.stderr,
            )
        elif mock_fault:
            fail("--mock-fault applies only to the embedded mock")
        options = DoctorOptions(
            inputs=None if embedded else resolved,
            audio=audio,
            repeat=repeat,
            timeout=timeout,
            failures_log=failures_log,
            mock_faults=tuple(mock_fault or ()),
        )
        try:
            report = asyncio.run(run_doctor(options))
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
    if json_output:
        sys.stdout.write(redact_text(orjson.dumps(report.to_json_dict()).decode()) + "\n")
    else:
        print_report(report, sys.stdout)
    raise typer.Exit(report.exit_code)
