"""Validate JSONL files of server events (or project recordings) as a stream, in bounded memory.

The reader, not the validator, decides what a file *is* before its events are judged:

* ``ok``: at least one line is an event (or a recording header) and the last line is whole;
* ``empty``: no line holds an event (0 bytes, blank lines, a recording header alone);
* ``truncated``: the last line has no newline and is not JSON (a recording cut by ``kill -9``),
  reported as a ``bad-line`` violation on that line;
* ``not-jsonl``: no line at all is a JSON event: a pretty-printed JSON document, a JSON array, a
  binary file. Validating it would only list every line as ``bad-line``; the command reports it
  as a usage error with a hint instead.

A recorded Assistants API run stream (SSE text or JSONL of ``thread.*`` events, told apart by
its first non-blank line with :func:`~realtime_harness.protocol.runs_sse.looks_like_run_stream`) is
checked by :func:`~realtime_harness.protocol.runs.validate_run_stream` instead; its report is
:attr:`FileCheck.runs`.

Lines longer than :data:`MAX_LINE_BYTES` are a ``bad-line`` violation and are skipped in chunks,
so one huge line never has to fit in memory. A UTF-8 byte order mark before the first line is
ignored. An event the validator cannot check at all (it raised instead of reporting) is a
``bad-line`` violation too: the command gives a verdict, never a traceback.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson
from orjson import JSONDecodeError

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome, verdict_of
from realtime_harness.protocol.recording import HEADER_KEY, classify_line
from realtime_harness.protocol.runs_sse import looks_like_run_stream
from realtime_harness.protocol.validator import Report, Validator

if TYPE_CHECKING:
    # The run validator's reports are pydantic models: imported only for a run stream, so
    # checking Realtime JSONL never loads pydantic (docs/benchmarks.md, bench_startup).
    from realtime_harness.protocol.runs import RunReport

__all__ = [
    "MAX_LINE_BYTES",
    "READ_BUFFER_BYTES",
    "STDIN",
    "FileCheck",
    "InputState",
    "check_file",
    "check_run_stream",
    "check_stream",
    "display_name",
    "feed_line",
    "validate_file",
]

#: The longest line read as an event. A real frame is at most a few MB (a 15 MiB audio append is
#: about 20 MB of base64 in JSON); a longer line is a ``bad-line`` violation and is skipped.
MAX_LINE_BYTES = 32 * 1024 * 1024
#: Read buffer: large reads keep the per-line cost at the parse and the rules.
READ_BUFFER_BYTES = 1024 * 1024
#: The file name that means standard input.
STDIN = "-"

_BOM = b"\xef\xbb\xbf"
_NEWLINE = ord("\n")
_SKIP_CHUNK = 1024 * 1024
_CONVERT_HINT = (
    "it looks like one JSON document (pretty-printed, or an array), not JSON Lines; convert it "
    "with `jq -c '.[]' FILE` (an array of events) or `jq -c . FILE` (one event)"
)
_NOT_UTF8_HINT = (
    "its first line is not UTF-8 text: JSON Lines are UTF-8 (RFC 8259 section 8.1); save or "
    "convert the file as UTF-8"
)
_NOT_EVENTS_HINT = (
    "no line is an event: expected JSON Lines with one server event (a JSON object with a "
    "string 'type') per line, or a realtime-harness recording"
)


_UNCHECKABLE = (
    "this event could not be checked: a field holds a value of an unexpected type "
    "(a realtime-harness bug too: please report it)"
)


class InputState(enum.StrEnum):
    """What the file held, before any protocol rule is applied."""

    OK = "ok"
    EMPTY = "empty"
    TRUNCATED = "truncated"
    NOT_JSONL = "not-jsonl"


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The result of checking one input: the validator's report and what the input was."""

    name: str
    report: Report
    state: InputState
    #: For ``empty`` and ``not-jsonl``: one sentence saying what was wrong and what to do.
    problem: str = ""
    #: For an Assistants run stream: its report (``report`` is then an empty Realtime one).
    runs: RunReport | None = None

    @property
    def outcome(self) -> Outcome:
        """An input with nothing to validate is a usage error; otherwise the report's outcome."""
        if self.state in (InputState.EMPTY, InputState.NOT_JSONL):
            return Outcome.USAGE
        return self.runs.outcome if self.runs is not None else self.report.outcome

    @property
    def verdict(self) -> str:
        """The status word printed and in ``--json``: the outcome's value, except ``incomplete``
        (never ``clean``) when something did not finish: a response with no ``response.done``,
        a run with no terminal event, a run stream with no ``done``. The exit code is the
        outcome's (0 for an incomplete stream)."""
        notes = self.runs.incomplete if self.runs is not None else self.report.incomplete
        return verdict_of(self.outcome, incomplete=bool(notes))

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` object: ``file``, the report's keys, ``outcome`` (the exit code's class),
        ``verdict`` (the status word), ``input`` and (if any) ``error``.

        For a run stream the report's keys are the run report's (``kind`` tells them apart)."""
        keys = self.runs.to_json_dict() if self.runs is not None else self.report.to_json_dict()
        payload: dict[str, Any] = {"file": self.name, **keys}
        payload["outcome"] = self.outcome.value
        payload["verdict"] = self.verdict
        payload["input"] = self.state.value
        if self.problem:
            payload["error"] = self.problem
        return payload


def display_name(path: str | os.PathLike[str]) -> str:
    """``path`` as printable text: bytes that are not UTF-8 are shown as escapes."""
    return os.fsdecode(path).encode("utf-8", "backslashreplace").decode("utf-8")


def feed_line(validator: Validator, raw: bytes, line: int, *, last: bool = False) -> bool | None:
    """Feed one JSONL line (plain server event, or recording header/frame) to ``validator``.

    Blank lines are skipped (None); anything unusable becomes a ``bad-line`` violation with its
    number (False); an event or a recording header returns True.
    """
    if not raw.strip():
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if last and not raw.endswith(b"\n"):
            validator.bad_line(line, f"truncated last line ({len(raw)} bytes): {exc}")
        else:
            validator.bad_line(line, f"not JSON: {exc}")
        return False
    kind, event = classify_line(obj)
    if kind == "header":
        declared = obj.get("dialect") if isinstance(obj, dict) else None
        if validator.dialect is None and declared in ("ga", "beta"):
            validator.dialect = Dialect(declared)
    elif kind == "client" and event is not None:
        t = obj.get("t") if isinstance(obj, dict) else None
        validator.client_event(event, line=line, t=t if isinstance(t, float | int) else None)
    elif event is not None:
        t = obj.get("t") if kind == "server" and isinstance(obj, dict) else None
        validator.server_event(event, line=line, t=t if isinstance(t, float | int) else None)
    else:
        validator.bad_line(line, "not an event: a JSON object with a string 'type' is expected")
        return False
    return True


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_jsonl_problem(first: bytes, first_is_text: bool) -> str:
    """What to tell of an input in which no line is an event, from its first non-blank line:
    the start of one JSON document (``[``, or ``{`` alone on its line, as ``jq .`` and
    ``json.dumps(indent=...)`` print), JSON that is not UTF-8, or anything else."""
    if first[:1] == b"[" or first.rstrip() == b"{":
        return _CONVERT_HINT
    if first[:1] == b"{" and not first_is_text:
        return _NOT_UTF8_HINT
    return _NOT_EVENTS_HINT


def _cut_short(raw: bytes) -> bool:
    """Whether an unterminated last line is half a JSON value (not a whole one that is no event)."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    return False


def check_stream(
    stream: IO[bytes],
    name: str = STDIN,
    dialect: Dialect | None = None,
    *,
    max_line: int = MAX_LINE_BYTES,
) -> FileCheck:
    """Validate one connection's JSONL from a binary stream, line by line, in bounded memory.

    Raises :class:`UsageError` if the stream cannot be read.
    """
    validator = Validator(dialect)
    server, client, loads = validator.server_event, validator.client_event, orjson.loads
    readline = stream.readline
    limit = max_line + 1
    skip = min(_SKIP_CHUNK, limit)
    number = usable = nonblank = oversized = 0
    first = b""
    first_is_text = True
    truncated = False
    try:
        raw = readline(limit)
        if raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        while raw:
            number += 1
            if raw[-1] == _NEWLINE:
                # The fast path of a long file: a whole line holding a plain event or a recording
                # frame goes straight to the validator; every other line (blank, not JSON, a
                # header, an odd shape) takes feed_line below, which parses it again and says
                # what is wrong. A line checked here is counted in `usable` only: `nonblank` and
                # `first` matter only when no line was usable (see the end).
                try:
                    obj = loads(raw)
                except JSONDecodeError:
                    obj = None
                if obj.__class__ is dict and HEADER_KEY not in obj:
                    direction = obj.get("dir")
                    t = None
                    check = server
                    if direction is None:
                        event = obj if "type" in obj else None
                    elif direction == "server" or direction == "client":
                        event = obj.get("event")
                        t = obj.get("t")
                        if not isinstance(t, (float, int)):
                            t = None
                        if direction == "client":
                            check = client
                    else:
                        event = None
                    if event.__class__ is dict:
                        try:
                            check(event, line=number, t=t)
                        except Exception as exc:  # a verdict, never a traceback
                            validator.bad_line(
                                number, f"{_UNCHECKABLE} ({type(exc).__name__}: {exc})"
                            )
                            nonblank += 1
                            if nonblank == 1:
                                first = raw[:64].lstrip()
                        else:
                            usable += 1
                        raw = readline(limit)
                        continue
                last = False
            elif len(raw) == limit:
                # Too long to be an event: skip to the end of the line without keeping it.
                size = len(raw)
                while raw and not raw.endswith(b"\n"):
                    raw = readline(skip)
                    size += len(raw)
                validator.bad_line(
                    number,
                    f"line of {size} bytes is longer than the maximum of {max_line} bytes "
                    "(skipped)",
                )
                nonblank += 1
                oversized += 1
                raw = readline(limit)
                continue
            else:
                last = True  # the input ends without a newline
            try:
                fed = feed_line(validator, raw, number, last=last)
            except Exception as exc:  # the last line of defence: a verdict, never a traceback
                validator.bad_line(number, f"{_UNCHECKABLE} ({type(exc).__name__}: {exc})")
                fed = False
            if fed is not None:
                nonblank += 1
                if fed:
                    usable += 1
                elif last:
                    truncated = _cut_short(raw)
                if nonblank == 1:
                    first = raw[:64].lstrip()
                    first_is_text = _is_utf8(raw)
            raw = readline(limit)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    report = validator.finish()
    if usable == 0 and oversized == 0 and nonblank > (1 if truncated else 0):
        problem = _not_jsonl_problem(first, first_is_text)
        return FileCheck(name, report, InputState.NOT_JSONL, problem)
    if truncated:
        return FileCheck(name, report, InputState.TRUNCATED)
    if report.events == 0 and not report.violations:
        what = "the file is empty" if nonblank == 0 else "no events, only a recording header"
        return FileCheck(name, report, InputState.EMPTY, f"{what}: nothing to validate")
    return FileCheck(name, report, InputState.OK)


def check_file(path: str | os.PathLike[str], dialect: Dialect | None = None) -> FileCheck:
    """Validate one JSONL file (``-`` is standard input); never loads the whole file.

    Raises :class:`UsageError` naming the file if it cannot be opened or read.
    """
    name = display_name(path)
    if os.fspath(path) == STDIN:
        stdin = sys.stdin
        if stdin is None:
            raise UsageError("cannot read standard input: it is closed")
        if _is_run_stream(stdin.buffer):
            return check_run_stream(stdin.buffer, "<stdin>")
        return check_stream(stdin.buffer, "<stdin>", dialect)
    try:
        handle = open(path, "rb", buffering=READ_BUFFER_BYTES)  # noqa: SIM115 - closed below
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"cannot read {name}: {reason}; pass the path of a JSONL file with one server "
            "event per line (or a realtime-harness recording)"
        ) from None
    with handle:
        if _is_run_stream(handle):
            return check_run_stream(handle, name)
        return check_stream(handle, name, dialect)


def _is_run_stream(stream: IO[bytes]) -> bool:
    """Whether the stream's first non-blank line starts an Assistants run stream (read ahead with
    ``peek``, nothing consumed; a stream that cannot peek is taken as Realtime JSONL)."""
    peek = getattr(stream, "peek", None)
    if peek is None:
        return False
    try:
        ahead = bytes(peek(64 * 1024))
    except OSError:
        return False
    # peek returns the whole read buffer (up to 1 MiB): cut out the first non-blank line only,
    # rather than splitting all of it into lines
    ahead = ahead.removeprefix(_BOM).lstrip()
    ends = [i for i in (ahead.find(b"\n"), ahead.find(b"\r")) if i >= 0]
    return bool(ahead) and looks_like_run_stream(ahead[: min(ends)] if ends else ahead)


def check_run_stream(stream: IO[bytes], name: str = STDIN) -> FileCheck:
    """Validate a recorded Assistants run stream (SSE text or JSONL) from a binary stream.

    Raises :class:`UsageError` if the stream cannot be read.
    """

    def lines() -> Iterator[bytes]:
        first = True
        for raw in stream:
            if first:
                raw = raw.removeprefix(_BOM)
                first = False
            yield raw

    from realtime_harness.protocol.runs import validate_run_stream

    try:
        runs = validate_run_stream(lines())
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    empty = Validator(None).finish()
    if runs.events == 0 and not runs.violations:
        return FileCheck(name, empty, InputState.EMPTY, "no run events: nothing to validate", runs)
    return FileCheck(name, empty, InputState.OK, runs=runs)


def validate_file(path: str | Path, dialect: Dialect | None = None) -> Report:
    """Validate one JSONL file (one connection) line by line; never loads the whole file.

    Returns the validator's report whatever the input was; :func:`check_file` also says whether
    the file was empty, truncated or not JSON Lines at all. An Assistants run stream has no
    Realtime report: it raises :class:`UsageError` pointing at :func:`check_file`.
    """
    check = check_file(path, dialect)
    if check.runs is not None:
        raise UsageError(
            f"{check.name} is an Assistants run stream; use check_file (its .runs report) or "
            "realtime_harness.protocol.runs.validate_run_stream"
        )
    return check.report
