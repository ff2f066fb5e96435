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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from realtime_harness.cli._app import app, exit_with, one_line_errors
from realtime_harness.probe import ProbeOptions, ProbeResult, SessionResult, run_probe
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.script import (
    DEFAULT_INSTRUCTIONS,
    DEFAULT_RESPONSE_MAX_S,
    DEFAULT_SESSION_MAX_S,
)
from realtime_harness.redact import RedactingFilter, redact_text
from realtime_harness.target import AuthMode, Target, resolve_target

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
    str | None, typer.Option(help="Full ws:// or wss:// URL of the realtime endpoint.")
]
EndpointOption = Annotated[
    str | None,
    typer.Option(help="Azure resource endpoint (https://NAME.openai.azure.com)."),
]
DeploymentOption = Annotated[str | None, typer.Option(help="Azure deployment name.")]
ModelOption = Annotated[str | None, typer.Option(help="OpenAI model (default gpt-realtime).")]
ApiVersionOption = Annotated[
    str | None,
    typer.Option(help="Azure preview api-version (selects the preview/beta protocol)."),
]
DialectOption = Annotated[
    Dialect | None,
    typer.Option(help="Wire dialect; follows from the URL when omitted."),
]
AuthOption = Annotated[
    AuthMode | None,
    typer.Option(help="api-key header, bearer key, or entra (needs the azure extra)."),
]
EnvFileOption = Annotated[
    Path | None, typer.Option(help="Read settings from this .env file (default ./.env).")
]


class TurnDetection(enum.StrEnum):
    """Who ends a user turn: the client (``none``: manual commit) or the server's VAD."""

    NONE = "none"
    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"


def configure_logging(verbosity: int) -> None:
    """Log to stderr through the redacting filter: WARNING by default, -v INFO, -vv DEBUG."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("realtime_harness")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # websockets logs every connection at INFO; only -vv wants that.
    logging.getLogger("websockets").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    # stamina announces each scheduled retry; the client logs its own line with the ids.
    logging.getLogger("stamina").setLevel(logging.ERROR if verbosity <= 0 else logging.INFO)


def _fmt(value: float | None) -> str:
    return "        —" if value is None else f"{value:9.1f} ms"


def _row(label: str, value: float | None, note: str = "", indent: int = 2) -> str:
    return (" " * indent + f"{label:<{30 - indent}}{_fmt(value)}  {note}").rstrip()


def _expires(expires_at: int | None) -> str:
    if expires_at is None:
        return ""
    moment = datetime.fromtimestamp(expires_at, UTC)
    return f"expires_at {moment.isoformat(timespec='seconds').replace('+00:00', 'Z')}"


def _session_lines(session: SessionResult) -> list[str]:
    """One line per phase with its duration, then the responses, failures and ids."""
    t = session.timings_ms
    hs = session.handshake
    ids = " ".join(
        f"{k}={v}"
        for k, v in hs.headers.items()
        if k.lower() in ("apim-request-id", "x-request-id", "x-ms-region", "retry-after")
    )
    head = f"session {session.session_id or '(none)'}  {session.url}  {session.dialect.value}"
    if session.step:
        head += f"  step={session.step}"
    lines = [head + f"  attempt {session.attempt}  started {session.started_at}"]
    if hs.status != 101:
        # No session: the phase rows would all be empty; say what the upgrade answered.
        if hs.status is not None:
            lines.append(f"  handshake rejected: HTTP {hs.status} {ids}".rstrip())
        lines.extend(f"  ✗ {failure.summary()}" for failure in session.failures)
        return lines
    lines += [
        _row("connect (DNS+TCP)", t.get("connect")),
        _row("handshake (TLS+upgrade)", t.get("handshake"), f"HTTP {hs.status} {ids}"),
        _row("→ session.created", t.get("session_created"), _expires(session.expires_at)),
        _row("session.update → updated", t.get("session_updated")),
    ]
    if "audio_stream" in t:
        lines.append(_row("audio streamed", t.get("audio_stream")))
    if "commit_to_committed" in t:
        lines.append(_row("commit → committed", t.get("commit_to_committed")))
    for index, response in enumerate(session.responses):
        rt = response.timings_ms
        lines.append(f"  response {index + 1}: {response.response_id}  status={response.status}")
        if response.barge_in:
            lines.append(
                "    barge-in: the probe's own audio went on while the server answered "
                "(server VAD, turn_detected); the turn waits for the next response"
            )
        if response.status_details:
            lines.append(f"    status_details={response.status_details}")
        lines.append(_row("create → response.created", rt.get("created"), indent=4))
        for key, label in (
            ("first_audio", "→ first audio delta"),
            ("first_transcript", "→ first transcript delta"),
            ("first_text", "→ first text delta"),
            ("done", "→ response.done"),
        ):
            if key in rt:
                lines.append(_row(label, rt.get(key), indent=4))
        if "output_audio" in rt:
            lines.append(
                f"    output audio {rt['output_audio'] / 1000:.2f} s, real-time factor "
                f"{rt.get('real_time_factor', 0):.2f}, largest gap between audio deltas "
                f"{rt.get('max_audio_gap', 0):.0f} ms"
            )
        if index < len(session.transcripts) and session.transcripts[index]:
            lines.append(f"    transcript: {session.transcripts[index]!r}")
    if session.close_code is not None:
        reason = f" {session.close_reason}" if session.close_reason else ""
        lines.append(f"  closed by the {session.closed_by}: {session.close_code}{reason}")
    lines.append(_row("total", t.get("total")))
    for failure in session.failures:
        lines.append(f"  ✗ {failure.summary()}")
    for violation in session.violations[:20]:
        lines.append(f"  ✗ {violation.summary()}")
    if len(session.violations) > 20:
        lines.append(f"  … and {len(session.violations) - 20} more violations (see --json)")
    for note in session.incomplete:
        lines.append(f"  incomplete: {note}")
    if session.last_events and (any(not f.benign for f in session.failures) or session.violations):
        lines.append("  last events:")
        lines.extend(f"    {n.summary()}" for n in session.last_events)
    for path in session.audio_files:
        lines.append(f"  saved {path}")
    if session.recording:
        lines.append(f"  recording {session.recording}")
    return lines


def render_result(result: ProbeResult) -> str:
    """The human timeline: one block per session, then the verdict with the ids."""
    lines: list[str] = []
    for session in result.sessions:
        lines.extend(_session_lines(session))
        lines.append("")
    verdict = result.verdict()
    detail = "" if verdict == result.outcome.value else f" ({verdict})"
    lines.append(
        f"verdict: {result.outcome.value}{detail} exit={result.exit_code} "
        f"session_id={result.session_id}"
    )
    return redact_text("\n".join(lines))


def _progress(enabled: bool) -> Callable[[str, int, int], None] | None:
    def show(kind: str, sent: int, total: int) -> None:
        end = "\n" if sent == total else ""
        sys.stderr.write(f"\r  streaming audio {sent}/{total} chunks{end}")
        sys.stderr.flush()

    return show if enabled else None


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
    typer.Option(help="Embedded mock only: inject this fault (e.g. server_error:rate=1)."),
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
    the embedded mock (said on stderr). ``--mock-fault`` with a real target exits 2."""
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


@app.command()
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
        str, typer.Option(help="Sample name (see `samples`) or audio file path.")
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
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
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
    4 connection/handshake/timeout.
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
            on_progress=_progress(sys.stderr.isatty() and not json_output),
        )
        try:
            result = asyncio.run(run_probe(options))
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
    if json_output:
        sys.stdout.write(redact_text(orjson.dumps(result.to_json_dict()).decode()) + "\n")
    else:
        print(render_result(result))
    exit_with(result.outcome)
