"""``realtime-harness probe``: one real session against a deployment, timed, validated, with every
id on failure. With no target configured it probes the embedded mock on 127.0.0.1.

A thin shell over :func:`realtime_harness.probe.run_probe`: options in, a timeline (or
``--json``) out, and the outcome's exit code (0 clean, 1 server failure, 2 usage, 3 violation,
4 connection/handshake/timeout).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from realtime_harness.cli._app import app, exit_with, one_line_errors
from realtime_harness.cli.render import (
    LiveView,
    interrupted_lines,
    is_terminal,
    print_result,
    render_result,
)
from realtime_harness.probe import ProbeOptions, run_probe
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.script import (
    DEFAULT_INSTRUCTIONS,
    DEFAULT_RESPONSE_MAX_S,
    DEFAULT_SESSION_MAX_S,
)
from realtime_harness.redact import RedactingFilter, redact_text
from realtime_harness.target import ENV_VARS, AuthMode, Target, resolve_target

__all__ = [
    "ApiVersionOption",
    "AuthOption",
    "CompressionOption",
    "DeploymentOption",
    "DialectOption",
    "EndpointOption",
    "EnvFileOption",
    "InstructionsOption",
    "MaxResponseTimeOption",
    "MaxSessionTimeOption",
    "MockFaultOption",
    "ModelOption",
    "SpeedOption",
    "TextOption",
    "TimeoutOption",
    "TurnDetection",
    "TurnDetectionOption",
    "TurnsOption",
    "UrlOption",
    "VerboseOption",
    "VoiceOption",
    "configure_logging",
    "probe",
    "render_result",
    "target_from_options",
]

# The target options, shared with every command that talks to a deployment (``doctor``).
UrlOption = Annotated[
    str | None,
    typer.Option(
        help="Full ws:// or wss:// URL of the realtime endpoint.",
        envvar="REALTIME_HARNESS_URL",
        show_envvar=True,
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        help="Azure resource endpoint (https://NAME.openai.azure.com); the key comes from "
        "AZURE_OPENAI_API_KEY.",
        envvar="AZURE_OPENAI_ENDPOINT",
        show_envvar=True,
    ),
]
DeploymentOption = Annotated[
    str | None,
    typer.Option(
        help="Azure deployment name (else AZURE_OPENAI_DEPLOYMENT, read with an endpoint)."
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        help="OpenAI model (else OPENAI_REALTIME_MODEL, default gpt-realtime); the key "
        "comes from OPENAI_API_KEY."
    ),
]
ApiVersionOption = Annotated[
    str | None,
    typer.Option(
        help="Azure preview api-version (selects the preview/beta protocol).",
        envvar="AZURE_OPENAI_API_VERSION",
        show_envvar=True,
    ),
]
DialectOption = Annotated[
    Dialect | None,
    typer.Option(help="Wire dialect; follows from the URL when omitted."),
]
AuthOption = Annotated[
    AuthMode | None,
    typer.Option(
        help="api-key header, bearer key, entra (needs the azure extra), or none "
        "(else AZURE_OPENAI_AUTH, checked with the rest of the target)."
    ),
]
EnvFileOption = Annotated[
    Path | None, typer.Option(help="Read settings from this .env file (default ./.env).")
]


class TurnDetection(enum.StrEnum):
    """Who ends a user turn: the client (``none``: manual commit) or the server's VAD."""

    NONE = "none"
    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"


def _not_repeated(record: logging.LogRecord) -> bool:
    """Drop the log lines that repeat a failure the printed result shows as its block."""
    return not getattr(record, "realtime_harness_failure", False)


def configure_logging(verbosity: int) -> None:
    """Log to stderr through the redacting filter: WARNING by default, -v INFO, -vv DEBUG.

    Without ``-v`` the failure lines the probe logs are left out: the result prints each
    failure once, as its block (``--failures-log`` still gets every record).
    """
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(RedactingFilter())
    if verbosity <= 0:
        handler.addFilter(_not_repeated)
    root = logging.getLogger("realtime_harness")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # websockets logs every connection at INFO; only -vv wants that.
    logging.getLogger("websockets").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    # stamina announces each scheduled retry; the client logs its own line with the ids.
    logging.getLogger("stamina").setLevel(logging.ERROR if verbosity <= 0 else logging.INFO)


def _progress(enabled: bool) -> LiveView:
    """The progress bar (on a terminal) and the session to summarise on Ctrl-C."""
    return LiveView(sys.stderr, bar=enabled)


def _environment_help() -> str:
    """The environment variables a target is read from, one per line (for the help's end)."""
    rows = "\n".join(f"  {name:<26}{meaning}" for name, meaning in ENV_VARS.items())
    return (
        "\b\nEnvironment (an option wins over its variable, a variable over ./.env or\n"
        "--env-file; values are never printed):\n" + rows
    )


# Session options shared with ``soak``: one definition each.
TextOption = Annotated[
    str | None, typer.Option(help="Send this text instead of audio (text-only turn).")
]

TurnsOption = Annotated[int, typer.Option(min=1, help="Number of turns in the session.")]

TurnDetectionOption = Annotated[
    TurnDetection, typer.Option(help="none: the probe commits; else the server's VAD.")
]

VoiceOption = Annotated[str, typer.Option(help="Assistant voice.")]

InstructionsOption = Annotated[str, typer.Option(help="Session instructions.")]

TimeoutOption = Annotated[
    float, typer.Option(min=0.1, help="Seconds each wait may take (per phase).")
]

MaxResponseTimeOption = Annotated[
    float,
    typer.Option(
        help="Wall-clock limit of one response in seconds, however busy the stream "
        "(reported as a timeout with the ids)."
    ),
]

MaxSessionTimeOption = Annotated[
    float,
    typer.Option(help="Wall-clock limit of the whole session in seconds."),
]

SpeedOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help="Audio pacing: 1 real time, 2 twice as fast, 0 as fast as possible "
        "(default: 1 for a deployment, 0 for the embedded mock).",
    ),
]

CompressionOption = Annotated[
    bool, typer.Option(help="Negotiate permessage-deflate (costs ~10x CPU per message).")
]

MockFaultOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Embedded mock only: inject a fault, repeatable; SPEC as for mock-server --fault "
        "(e.g. server_error:rate=1; 'realtime-harness mock-server --help' lists the kinds).",
        metavar="SPEC",
    ),
]

VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug logs.")
]


def target_from_options(
    *,
    url: str | None,
    endpoint: str | None,
    deployment: str | None,
    model: str | None,
    api_version: str | None,
    dialect: Dialect | None,
    auth: AuthMode | None,
    env_file: Path | None,
    mock_fault: list[str] | None,
    verb: str = "probing",
    purpose: str = "probe",
) -> Target | None:
    """The target the target options name (then the environment, then ``.env``), or None for
    the embedded mock (said on stderr). ``--mock-fault`` with a real target exits 2, and so does
    a fault spec that does not parse (``UsageError``), before anything starts: a soak's
    worker processes would each fail on it instead."""
    if mock_fault:
        from realtime_harness.mock.fault_spec import parse_fault_spec

        for spec in mock_fault:
            parse_fault_spec(spec)
    target = resolve_target(
        url=url,
        endpoint=endpoint,
        deployment=deployment,
        model=model,
        api_version=api_version,
        dialect=dialect,
        auth=auth,
        env_file=env_file,
    )
    if target is None:
        print(
            f"no target configured: {verb} the embedded mock server on 127.0.0.1 "
            f"(set --url, AZURE_OPENAI_ENDPOINT or OPENAI_API_KEY to {purpose} a deployment)",
            file=sys.stderr,
        )
    elif mock_fault:
        print("error: --mock-fault applies only to the embedded mock", file=sys.stderr)
        raise typer.Exit(2)
    return target


@app.command(epilog=_environment_help())
def probe(
    url: UrlOption = None,
    endpoint: EndpointOption = None,
    deployment: DeploymentOption = None,
    model: ModelOption = None,
    api_version: ApiVersionOption = None,
    dialect: DialectOption = None,
    auth: AuthOption = None,
    env_file: EnvFileOption = None,
    audio: Annotated[
        str,
        typer.Option(help="Sample name (see 'realtime-harness samples') or audio file path."),
    ] = "greeting",
    text: TextOption = None,
    turns: TurnsOption = 1,
    turn_detection: TurnDetectionOption = TurnDetection.NONE,
    voice: VoiceOption = "alloy",
    instructions: InstructionsOption = DEFAULT_INSTRUCTIONS,
    timeout: TimeoutOption = 10.0,
    max_response_time: MaxResponseTimeOption = DEFAULT_RESPONSE_MAX_S,
    max_session_time: MaxSessionTimeOption = DEFAULT_SESSION_MAX_S,
    speed: SpeedOption = None,
    retries: Annotated[
        int, typer.Option(min=0, help="Retry transient failures this many times.")
    ] = 0,
    escalate: Annotated[
        bool, typer.Option(help="Run text → short audio → long audio; stop at the first failure.")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the result as one JSON object (schema: 'realtime-harness schema probe').",
        ),
    ] = False,
    record: Annotated[
        Path | None, typer.Option(help="Write every frame (both directions) to this JSONL file.")
    ] = None,
    record_audio: Annotated[
        bool, typer.Option(help="Keep audio payloads in the recording (elided by default).")
    ] = False,
    save_audio: Annotated[
        Path | None, typer.Option(help="Save the assistant's audio (WAV) and transcript here.")
    ] = None,
    failures_log: Annotated[
        Path | None, typer.Option(help="Append one JSON record per failure to this file.")
    ] = None,
    compression: CompressionOption = False,
    mock_fault: MockFaultOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Run one scripted session, time every phase, validate both directions, report every id.

    Exit 0 clean, 1 server failure, 2 usage error, 3 protocol violation,
    4 connection/handshake/timeout, 130 interrupted (what was seen so far is printed).
    A failure prints once, as a block: ids, error, close, handshake headers, UTC time.
    On a terminal the timeline is a table with colour (none with NO_COLOR) and a progress bar
    while audio streams; piped, it is plain lines.
    """
    configure_logging(verbose)
    with one_line_errors():
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
        )
        options = ProbeOptions(
            target=target,
            audio=audio,
            text=text,
            turns=turns,
            turn_detection=None if turn_detection is TurnDetection.NONE else turn_detection.value,
            voice=voice,
            instructions=instructions,
            timeout=timeout,
            max_response_time=max_response_time,
            max_session_time=max_session_time,
            speed=speed,
            retries=retries,
            escalate=escalate,
            record=record,
            record_audio=record_audio,
            save_audio=save_audio,
            failures_log=failures_log,
            compression=compression,
            mock_dialect=dialect or Dialect.GA,
            mock_faults=tuple(mock_fault or ()),
            on_progress=_progress(is_terminal(sys.stderr) and not json_output),
        )
        live = options.on_progress
        assert isinstance(live, LiveView)
        try:
            result = asyncio.run(run_probe(options))
        except KeyboardInterrupt:
            # What was seen so far, then the shell's code for SIGINT (128 + 2).
            live.stop()
            print("\n".join(interrupted_lines(live.session)), file=sys.stderr)
            raise typer.Exit(130) from None
        finally:
            live.stop()
    if json_output:
        sys.stdout.write(redact_text(orjson.dumps(result.json_document()).decode()) + "\n")
    else:
        print_result(result)
    if result.outcome is Outcome.CLEAN and any(s.output_errors for s in result.sessions):
        # The session was clean but an output that was asked for is missing or cut short.
        exit_with(Outcome.USAGE)
    exit_with(result.outcome)
