"""What a probe writes, each as a :class:`~realtime_harness.protocol.session.SessionObserver`:
the ERROR line of each failure, the ``--failures-log`` record, the ``--record`` JSONL, the
``--save-audio`` WAV and transcript files, and the progress line.

Failures are written the moment the session sees them, each record appended and flushed on its
own, so a process killed mid-session keeps every failure already seen. None of this is attached
unless asked (only the log lines are always on for the probe), so a soak runner's sessions
write nothing per frame.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.recording import AUDIO_FIELDS, elide_audio, frame, header
from realtime_harness.protocol.session import ClientSession, Direction, SessionResult
from realtime_harness.redact import contains_secret, redact_text

if TYPE_CHECKING:
    from realtime_harness.media.audio import OutputAudio

__all__ = [
    "FAILURE_RECORD",
    "AudioSaver",
    "FailureLines",
    "FailuresFile",
    "Progress",
    "Recorder",
    "attempt_path",
    "check_outputs",
    "check_writable",
    "failure_record",
    "utc",
]

log = logging.getLogger("realtime_harness.probe")

#: A broken stream can break one rule hundreds of times; the log shows the first few.
MAX_VIOLATION_LINES = 5
REQUEST_ID_HEADERS = ("apim-request-id", "x-request-id", "x-ms-request-id", "x-ms-region")
#: Set on the log records that repeat a failure the result also carries, so a front end that
#: prints the result (the CLI's failure block) can leave them out of the terminal.
FAILURE_RECORD = {"realtime_harness_failure": True}


def utc(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``."""
    from datetime import UTC

    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Base:
    """Observer defaults: do nothing."""

    def on_frame(self, direction: Direction, t: float, event: Mapping[str, Any] | str) -> None:
        """Nothing per frame."""

    def on_failure(self, failure: Failure) -> None:
        """Nothing per failure."""

    def on_finish(self, result: SessionResult) -> None:
        """Nothing at the end."""


def _context(session: ClientSession, wall0: datetime, failure: Failure) -> tuple[str, str]:
    """The failure's wall-clock time and the ids every failure line carries."""
    ctx = session.context
    hs = session.handshake_info
    at = utc(wall0 + timedelta(seconds=failure.t or 0.0))
    request_ids = {k: v for k, v in hs.headers.items() if k.lower() in REQUEST_ID_HEADERS}
    line = (
        f"url={ctx.url} dialect={ctx.dialect.value} attempt={ctx.attempt}"
        + (f" step={ctx.step!r}" if ctx.step else "")
        + f" handshake_status={hs.status}"
        + "".join(f" {k}={v}" for k, v in request_ids.items())
        + f" client_request_id={hs.client_request_id}"
        + f" conn_close={session.close_code} {session.close_reason or ''}".rstrip()
        + f" started_at={ctx.started_at} at={at}"
    )
    return at, line


class FailureLines(_Base):
    """One ERROR line per failure (WARNING for benign ones) as it is seen; the first violations
    at the end."""

    def __init__(self, session: ClientSession, wall0: datetime) -> None:
        self._session = session
        self._wall0 = wall0

    def on_failure(self, failure: Failure) -> None:
        """Log the failure with every id, now."""
        _, context = _context(self._session, self._wall0, failure)
        line = redact_text(f"probe {failure.summary()} {context}")
        log.log(
            logging.WARNING if failure.benign else logging.ERROR, "%s", line, extra=FAILURE_RECORD
        )

    def on_finish(self, result: SessionResult) -> None:
        """Log the first few violations."""
        for violation in result.violations[:MAX_VIOLATION_LINES]:
            log.error(
                "%s",
                redact_text(f"probe {violation.summary()} session_id={result.session_id}"),
                extra=FAILURE_RECORD,
            )
        if len(result.violations) > MAX_VIOLATION_LINES:
            log.error(
                "probe: %d more violations in session %s (see --json or --record)",
                len(result.violations) - MAX_VIOLATION_LINES,
                result.session_id,
                extra=FAILURE_RECORD,
            )


def failure_record(session: ClientSession, wall0: datetime, failure: Failure) -> dict[str, Any]:
    """The failure's JSON record with every id: the failure, where the session ran, its
    handshake (status and redacted headers), the connection's close and the last events before
    it (the ``--failures-log`` line, and a soak's ``failures.jsonl`` line)."""
    ctx = session.context
    at, _ = _context(session, wall0, failure)
    notes = session.last_events(64)
    before = [n for n in notes if failure.t is None or n.t <= failure.t]
    return {
        "at": at,
        **failure.model_dump(mode="json"),
        "url": ctx.url,
        "dialect": ctx.dialect.value,
        "variant": ctx.variant,
        "attempt": ctx.attempt,
        "step": ctx.step,
        "started_at": ctx.started_at,
        "handshake": session.handshake_info.model_dump(mode="json"),
        "connection_close": {"code": session.close_code, "reason": session.close_reason},
        "last_events": [n.model_dump(mode="json") for n in before[-10:]],
    }


class FailuresFile(_Base):
    """``--failures-log``: one JSON record per non-benign failure, appended and flushed as seen."""

    def __init__(self, path: Path, session: ClientSession, wall0: datetime) -> None:
        self.path = path
        self.error: str | None = None
        self._session = session
        self._wall0 = wall0

    def on_failure(self, failure: Failure) -> None:
        """Append the failure's record now (open, write, close: nothing waits in a buffer)."""
        if failure.benign:
            return
        record = failure_record(self._session, self._wall0, failure)
        line = redact_text(orjson.dumps(record).decode()) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            self.error = f"cannot append to --failures-log {self.path}: {exc.strerror or exc}"
            log.error("%s", self.error)

    def on_finish(self, result: SessionResult) -> None:
        """Say in the result when a failure record could not be written."""
        if self.error is not None:
            result.output_errors.append(self.error)


class Recorder(_Base):
    """``--record``: the JSONL of every frame, written as frames happen.

    A write that fails once the session runs (a full disk, a removed directory) stops the
    recording with one ERROR line and an entry in the result's ``output_errors``; the session
    itself goes on, and what was written so far stays valid JSONL.
    """

    def __init__(self, path: Path, session: ClientSession, *, keep_audio: bool) -> None:
        ctx = session.context
        hs = session.handshake_info
        head = header(
            started_at=ctx.started_at,
            url=ctx.url,
            dialect=ctx.dialect.value,
            variant=ctx.variant,
            client_request_id=ctx.client_request_id,
            handshake={"status": hs.status, "headers": hs.headers},
        )
        self.path = path
        self.error: str | None = None
        self._keep_audio = keep_audio
        self._file: IO[bytes] | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("wb")
        except OSError as exc:
            self._failed(exc)
            return
        self._write(redact_text(orjson.dumps(head).decode()).encode())

    def _failed(self, exc: OSError) -> None:
        self.error = f"cannot write --record {self.path}: {exc.strerror or exc}; recording stopped"
        log.error("%s", self.error)
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _write(self, line: bytes) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line + b"\n")
        except OSError as exc:
            self._failed(exc)

    def on_frame(self, direction: Direction, t: float, event: Mapping[str, Any] | str) -> None:
        """One line per frame (audio elided unless kept; a non-JSON frame as its text)."""
        if self._file is None:
            return
        if isinstance(event, str):
            self._write(redact_text(event).replace("\n", " ").encode())
            return
        line = orjson.dumps(frame(t, direction, event if self._keep_audio else elide_audio(event)))
        # Server frames were scrubbed of registered secrets on arrival; the exact check keeps
        # the hot path cheap (the regex safety net costs as much as the socket send).
        text = line.decode()
        if contains_secret(text):
            line = redact_text(text).encode()
        self._write(line)

    def on_finish(self, result: SessionResult) -> None:
        """Close the file and name it in the result (or say why it is not complete)."""
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError as exc:  # the last buffered bytes did not fit
                self._failed(exc)
        if self.error is not None:
            result.output_errors.append(self.error)
        result.recording = str(self.path)


class AudioSaver(_Base):
    """``--save-audio``: each response's audio as WAV and its transcript as text."""

    def __init__(self, directory: Path, session: ClientSession) -> None:
        self.directory = directory
        self._session = session
        self._outputs: dict[int, OutputAudio] = {}

    def on_frame(self, direction: Direction, t: float, event: Mapping[str, Any] | str) -> None:
        """Collect the audio deltas of the current response."""
        if direction != "server" or isinstance(event, str):
            return
        etype = event.get("type")
        if not isinstance(etype, str) or AUDIO_FIELDS.get(etype) != "delta":
            return
        delta = event.get("delta")
        if not isinstance(delta, str):
            return
        from realtime_harness.media.audio import OutputAudio

        index = max(0, len(self._session.script.responses) - 1)
        audio = self._outputs.setdefault(index, OutputAudio())
        with contextlib.suppress(ValueError):
            audio.add_delta(delta)

    def on_finish(self, result: SessionResult) -> None:
        """Write ``<session>-turn<N>.wav`` and ``.txt`` per response."""
        try:
            self._write(result)
        except OSError as exc:
            error = f"cannot write --save-audio {self.directory}: {exc.strerror or exc}"
            log.error("%s", error)
            result.output_errors.append(error)

    def _write(self, result: SessionResult) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = result.session_id or "session"
        for index, transcript in enumerate(result.transcripts):
            base = self.directory / f"{stem}-turn{index + 1}"
            if index in self._outputs:
                written = self._outputs[index].write_wav(base.with_suffix(".wav"))
                result.audio_files.append(str(written))
            base.with_suffix(".txt").write_text(transcript + "\n", encoding="utf-8")
            result.audio_files.append(str(base.with_suffix(".txt")))


class Progress(_Base):
    """Calls ``callback("stream", sent, total)`` when the audio progress changes.

    A callback with a ``watch`` method is also handed each session as it starts, so a front end
    can say what the session had seen when the user interrupts it.
    """

    def __init__(self, callback: Callable[[str, int, int], None], session: ClientSession) -> None:
        self._callback = callback
        self._session = session
        self._shown = (0, 0)
        watch = getattr(callback, "watch", None)
        if callable(watch):
            watch(session)

    def on_frame(self, direction: Direction, t: float, event: Mapping[str, Any] | str) -> None:
        """Report the chunks sent after each client frame."""
        if direction != "client":
            return
        progress = self._session.progress()
        if progress[1] and progress != self._shown:
            self._shown = progress
            self._callback("stream", *progress)


def attempt_path(path: Path | None, attempt: int, step: str | None) -> Path | None:
    """``--record FILE`` for the first session; later sessions get ``FILE.<step>.<n>.jsonl``."""
    if path is None:
        return None
    if attempt == 1 and not step:
        return path
    tag = (step or "").replace(" ", "-")
    suffix = ".".join(p for p in (tag, str(attempt)) if p)
    return path.with_name(f"{path.stem}.{suffix}{path.suffix or '.jsonl'}")


def check_writable(flag: str, path: Path, *, is_dir: bool = False) -> None:
    """Raise a one-line :class:`~realtime_harness.exceptions.UsageError` (exit 2) when ``path``
    (a file, or a directory with ``is_dir``) cannot be written: checked before anything starts,
    so a long run never discovers it at the end."""
    from realtime_harness.exceptions import UsageError

    directory = path if is_dir else path.parent
    if is_dir and path.exists() and not path.is_dir():
        raise UsageError(f"cannot write {flag} {path}: it is a file; {flag} takes a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not is_dir and path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        if not os.access(directory, os.W_OK):
            raise PermissionError(13, "not writable")
    except OSError as exc:
        raise UsageError(
            f"cannot write {flag} {path}: {exc.strerror or exc.__class__.__name__}; "
            "choose a writable path"
        ) from None


def check_outputs(record: Path | None, failures_log: Path | None, save_audio: Path | None) -> None:
    """Fail before connecting when an output path cannot be written (one line, exit 2)."""
    for flag, path, is_dir in (
        ("--record", record, False),
        ("--failures-log", failures_log, False),
        ("--save-audio", save_audio, True),
    ):
        if path is not None:
            check_writable(flag, path, is_dir=is_dir)
