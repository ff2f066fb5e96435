"""What the commands print for people: the probe timeline, the failure block, the progress bar
and the interrupted summary, in colour on a terminal and as plain lines otherwise.

Each rendering exists once, as plain text lines; on a terminal the same content goes through
``rich`` (a table for the timeline, coloured labels for a failure). Colour follows rich's own
rules: none when the stream is not a terminal or ``NO_COLOR`` is set (https://no-color.org).
Every string printed goes through :func:`~realtime_harness.redact.redact_text`.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from realtime_harness.protocol.catalog import INPUT_AUDIO_BUFFER_APPEND
from realtime_harness.redact import redact_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    from realtime_harness.probe import ProbeResult
    from realtime_harness.protocol.failures import Failure
    from realtime_harness.protocol.session import ClientSession, SessionResult

__all__ = [
    "HEADERS_SHOWN",
    "LiveView",
    "failure_block",
    "interrupted_lines",
    "is_terminal",
    "make_console",
    "print_result",
    "render_result",
    "timeline_rows",
]

#: Response headers a support ticket needs: the request ids and the region that served it.
HEADERS_SHOWN = ("apim-request-id", "x-request-id", "x-ms-request-id", "x-ms-region", "retry-after")
#: Ids in the order support asks for them.
_IDS = ("session_id", "response_id", "event_id", "item_id")
_MAX_VIOLATIONS = 20
_BARGE_IN = (
    "the probe's own audio went on while the server answered (server VAD, turn_detected); "
    "the turn waits for the next response"
)
#: Rows that carry text, not a duration: plain output shows them as ``label: text``.
_TEXT_ROWS = ("response ", "barge-in", "output audio", "transcript", "closed by")


def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is an interactive terminal (tables, colour and progress bars)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(callable(isatty) and isatty())
    except ValueError:  # a closed stream
        return False


def make_console(stream: IO[str], *, color: bool | None = None) -> Console:
    """A rich console on ``stream``: colour only on a terminal and without ``NO_COLOR``."""
    from rich.console import Console

    if color is None:
        color = is_terminal(stream) and not os.environ.get("NO_COLOR")
    return Console(
        file=stream,
        no_color=not color,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=False,
        force_terminal=color or None,
    )


def _utc_at(started_at: str, t: float | None) -> str | None:
    """``started_at`` plus the failure's offset, ISO 8601 UTC with a ``Z``."""
    try:
        start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = start + timedelta(seconds=t or 0.0)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _headers(headers: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in headers.items() if k.lower() in HEADERS_SHOWN)


def failure_block(failure: Failure, session: SessionResult) -> list[tuple[str, str]]:
    """The support-ticket block of one failure as (label, value) rows.

    Ids first (absent ones are left out, never printed as ``None``), then the error's type,
    code, message and param, the close code and reason, the handshake status with the request-id
    and region headers, where it ran, and the UTC time.
    """
    rows: list[tuple[str, str]] = []
    for name in _IDS:
        value = getattr(failure, name, None)
        if name == "session_id" and not value:
            value = session.session_id
        if value:
            rows.append((name, str(value)))
    if failure.status:
        rows.append(("status", failure.status))
    if failure.reason:
        rows.append(("reason", failure.reason))
    error = failure.error
    if error is not None:
        rows.append(("error", " ".join(x for x in (error.type, error.code) if x) or "(no type)"))
        if error.message:
            rows.append(("message", error.message))
        if error.param:
            rows.append(("param", error.param))
        if error.event_id:
            rows.append(("error.event_id", error.event_id))
    if failure.detail:
        rows.append(("detail", failure.detail))
    close_code = failure.close_code if failure.close_code is not None else session.close_code
    if close_code is not None:
        reason = failure.close_reason or session.close_reason or ""
        rows.append(("close", f"{close_code} {reason}".rstrip()))
    hs = session.handshake
    if hs.status is not None or hs.headers:
        status = f"HTTP {hs.status}" if hs.status is not None else "no answer"
        rows.append(("handshake", f"{status} {_headers(hs.headers)}".rstrip()))
    if hs.client_request_id:
        rows.append(("client_request_id", hs.client_request_id))
    where = f"{session.url} ({session.dialect.value}, attempt {session.attempt}"
    where += f", step {session.step})" if session.step else ")"
    rows.append(("url", where))
    if failure.line is not None:
        rows.append(("line", str(failure.line)))
    at = _utc_at(session.started_at, failure.t)
    if at:
        rows.append(("at", at))
    return rows


def _failure_title(failure: Failure) -> str:
    return f"✗ {failure.kind}" + (" (benign)" if failure.benign else "")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def _expires(expires_at: int | None) -> str:
    if expires_at is None:
        return ""
    moment = datetime.fromtimestamp(expires_at, UTC)
    return f"expires_at {moment.isoformat(timespec='seconds').replace('+00:00', 'Z')}"


def timeline_rows(session: SessionResult) -> list[tuple[int, str, float | None, str]]:
    """The phases of one session as (indent, label, ms, note) rows, in order."""
    t = session.timings_ms
    hs = session.handshake
    rows: list[tuple[int, str, float | None, str]] = [
        (0, "connect (DNS+TCP)", t.get("connect"), ""),
        (
            0,
            "handshake (TLS+upgrade)",
            t.get("handshake"),
            f"HTTP {hs.status} {_headers(hs.headers)}",
        ),
        (0, "→ session.created", t.get("session_created"), _expires(session.expires_at)),
        (0, "session.update → updated", t.get("session_updated"), ""),
    ]
    if "audio_stream" in t:
        rows.append((0, "audio streamed", t.get("audio_stream"), ""))
    if "commit_to_committed" in t:
        rows.append((0, "commit → committed", t.get("commit_to_committed"), ""))
    for index, response in enumerate(session.responses):
        rt = response.timings_ms
        rows.append(
            (0, f"response {index + 1}", None, f"{response.response_id}  status={response.status}")
        )
        if response.barge_in:
            rows.append((2, "barge-in", None, _BARGE_IN))
        rows.append((2, "create → response.created", rt.get("created"), ""))
        for key, label in (
            ("first_audio", "→ first audio delta"),
            ("first_transcript", "→ first transcript delta"),
            ("first_text", "→ first text delta"),
            ("done", "→ response.done"),
        ):
            if key in rt:
                rows.append((2, label, rt[key], ""))
        if "output_audio" in rt:
            note = (
                f"{rt['output_audio'] / 1000:.2f} s, real-time factor "
                f"{rt.get('real_time_factor', 0):.2f}, largest gap between audio deltas "
                f"{rt.get('max_audio_gap', 0):.0f} ms"
            )
            rows.append((2, "output audio", None, note))
        if index < len(session.transcripts) and session.transcripts[index]:
            rows.append((2, "transcript", None, repr(session.transcripts[index])))
    if session.close_code is not None:
        reason = f" {session.close_reason}" if session.close_reason else ""
        rows.append(
            (0, f"closed by the {session.closed_by}", None, f"{session.close_code}{reason}")
        )
    rows.append((0, "total", t.get("total"), ""))
    return rows


def _head(session: SessionResult) -> str:
    head = f"session {session.session_id or '(none)'}  {session.url}  {session.dialect.value}"
    if session.step:
        head += f"  step={session.step}"
    return head + f"  attempt {session.attempt}  started {session.started_at}"


def _trailer(session: SessionResult) -> list[str]:
    """Violations, incomplete turns, last events and saved files (the same plain or rich)."""
    lines = [f"✗ {violation.summary()}" for violation in session.violations[:_MAX_VIOLATIONS]]
    if len(session.violations) > _MAX_VIOLATIONS:
        lines.append(
            f"… and {len(session.violations) - _MAX_VIOLATIONS} more violations (see --json)"
        )
    lines += [f"incomplete: {note}" for note in session.incomplete]
    if session.last_events and (any(not f.benign for f in session.failures) or session.violations):
        lines.append("last events:")
        lines += [f"  {n.summary()}" for n in session.last_events]
    lines += [f"saved {path}" for path in session.audio_files]
    if session.recording:
        lines.append(f"recording {session.recording}")
    return lines


def _plain_problems(session: SessionResult) -> list[str]:
    """Each failure's block, then violations, incomplete turns, last events and saved files."""
    lines: list[str] = []
    for failure in session.failures:
        lines.append(f"  {_failure_title(failure)}")
        lines += [f"    {label:<18}{value}" for label, value in failure_block(failure, session)]
    return lines + [f"  {line}" for line in _trailer(session)]


def _plain_session(session: SessionResult) -> list[str]:
    """The session's head and timeline rows (plain text)."""
    lines = [_head(session)]
    handshake_ok = session.handshake.status == 101
    if handshake_ok:
        for indent, label, value, note in timeline_rows(session):
            pad = 2 + indent
            if value is None and label.startswith(_TEXT_ROWS):
                sep = " " if label == "output audio" else ": "
                lines.append((" " * pad + f"{label}{sep}{note}").rstrip())
            else:
                ms = "        —" if value is None else f"{value:9.1f} ms"
                lines.append((" " * pad + f"{label:<{30 - pad}}{ms}  {note}").rstrip())
    elif session.handshake.status is not None:
        status = session.handshake.status
        lines.append(
            f"  handshake rejected: HTTP {status} {_headers(session.handshake.headers)}".rstrip()
        )
    return lines


def _verdict(result: ProbeResult) -> str:
    verdict = result.verdict()
    detail = "" if verdict == result.outcome.value else f" ({verdict})"
    session_id = f" session_id={result.session_id}" if result.session_id else ""
    return f"verdict: {result.outcome.value}{detail} exit={result.exit_code}{session_id}"


def render_result(result: ProbeResult) -> str:
    """The plain timeline (for pipes and files): one block per session, then the verdict."""
    lines: list[str] = []
    for session in result.sessions:
        lines.extend(_plain_session(session))
        lines.extend(_plain_problems(session))
        lines.append("")
    lines.append(_verdict(result))
    return redact_text("\n".join(lines))


def _rich_timeline(console: Console, session: SessionResult) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(Text(redact_text(_head(session)), style="bold"))
    if session.handshake.status == 101:
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column("phase", no_wrap=True)
        table.add_column("ms", justify="right", no_wrap=True)
        table.add_column("note", overflow="fold")
        for indent, label, value, note in timeline_rows(session):
            ms = "" if value is None else _fmt(value)
            table.add_row("  " + " " * indent + label, ms, Text(redact_text(note), style="dim"))
        console.print(table)
    elif session.handshake.status is not None:
        text = f"  handshake rejected: HTTP {session.handshake.status} "
        console.print(Text(redact_text(text + _headers(session.handshake.headers)), style="red"))


def _rich_problems(console: Console, session: SessionResult) -> None:
    from rich.table import Table
    from rich.text import Text

    for failure in session.failures:
        style = "yellow" if failure.benign else "bold red"
        console.print(Text("  " + _failure_title(failure), style=style))
        grid = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        grid.add_column("label", style="cyan", no_wrap=True)
        grid.add_column("value", overflow="fold")
        for label, value in failure_block(failure, session):
            grid.add_row("    " + label, redact_text(value))
        console.print(grid)
    for line in _trailer(session):
        console.print(Text(redact_text("  " + line), style="red" if line.startswith("✗") else ""))


def print_result(
    result: ProbeResult, stream: IO[str] | None = None, errors: IO[str] | None = None
) -> None:
    """Print the result: each session's timeline on ``stream`` (stdout), its failure blocks,
    violations and last events on ``errors`` (stderr), then the verdict on ``stream``.

    On a terminal each part goes through rich (a table, colour); otherwise it is the plain
    lines of :func:`render_result`. Each failure is printed once.
    """
    out = stream if stream is not None else sys.stdout
    err = errors if errors is not None else sys.stderr
    if is_terminal(out) or is_terminal(err):
        from rich.text import Text

        console, problems = make_console(out), make_console(err)
        for session in result.sessions:
            _rich_timeline(console, session)
            out.flush()
            _rich_problems(problems, session)
            err.flush()
            console.print()
        style = "bold green" if result.exit_code == 0 else "bold red"
        console.print(Text(redact_text(_verdict(result)), style=style))
        return
    for session in result.sessions:
        out.write(redact_text("\n".join(_plain_session(session))) + "\n")
        out.flush()
        problems_text = _plain_problems(session)
        if problems_text:
            err.write(redact_text("\n".join(problems_text)) + "\n")
            err.flush()
        out.write("\n")
    out.write(redact_text(_verdict(result)) + "\n")


def interrupted_lines(session: ClientSession | None, limit: int = 8) -> list[str]:
    """What a probe interrupted by Ctrl-C had seen: the session id and the last events."""
    if session is None:
        return ["interrupted before any session started"]
    ctx = session.context
    sid = session.script.session_id
    where = f"{ctx.url} ({ctx.dialect.value}, attempt {ctx.attempt}" + (
        f", step {ctx.step})" if ctx.step else ")"
    )
    lines = [
        f"interrupted: session {sid}" if sid else "interrupted before session.created",
        f"  url {where}",
        f"  started_at {ctx.started_at}",
    ]
    sent, total = session.progress()
    if total:
        lines.append(f"  audio sent {sent}/{total} chunks")
    # The audio appends would crowd out everything else: the progress line stands for them.
    events = [n for n in session.last_events(64) if n.type != INPUT_AUDIO_BUFFER_APPEND]
    if events:
        lines.append("  last events:")
        lines += [f"    {note.summary()}" for note in events[-limit:]]
    return [redact_text(line) for line in lines]


class LiveView:
    """The probe's view of the running session: a progress bar while audio streams (on a
    terminal only) and the session to summarise if the user presses Ctrl-C."""

    def __init__(self, stream: IO[str], *, bar: bool) -> None:
        self.session: ClientSession | None = None
        self._stream = stream
        self._bar = bar
        self._progress: RichProgress | None = None
        self._task: Any = None

    def watch(self, session: ClientSession) -> None:
        """Remember the session now running (each attempt or step starts a new one)."""
        self.session = session

    def __call__(self, kind: str, sent: int, total: int) -> None:
        """Advance the bar: ``sent`` of ``total`` audio chunks streamed."""
        if not self._bar or not total:
            return
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("  streaming audio"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("chunks"),
                console=make_console(self._stream),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(kind, total=total)
        self._progress.update(self._task, completed=sent, total=total)
        if sent >= total:
            self.stop()

    def stop(self) -> None:
        """Remove the bar (done, interrupted, or the session ended early)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
