"""An incremental Server-Sent Events parser that remembers where each event started.

The Assistants API streams runs as SSE (``event: thread.run.created`` / ``data: {…}`` blocks
separated by blank lines, https://platform.openai.com/docs/api-reference/assistants-streaming).
This follows the WHATWG event-stream rules (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
``field: value`` lines, one optional space after the colon, ``:`` comments, ``data`` lines
joined with newlines, a blank line dispatching. It also keeps the number of each event's first
line, which no SSE library reports and which every violation needs, so it is written here
rather than borrowed. Sans-I/O: lines in, events out.

One leniency on purpose: a logged stream often lacks the blank line after its last event
(``done``), so :meth:`SseParser.finish` dispatches a pending event instead of discarding it.

:func:`looks_like_run_stream` tells a run stream (SSE or JSONL) from Realtime JSONL by its first
line. It lives here, beside the parser and away from the run validator's models, so ``validate``
routes every file without loading pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

__all__ = ["DONE", "ERROR", "SseEvent", "SseParser", "looks_like_run_stream"]

#: The event that ends a run stream, and the one that reports a stream-level error.
DONE = "done"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its name (``message`` when unnamed), data, id and first line."""

    event: str
    data: str
    line: int
    id: str | None = None


class SseParser:
    """Feed lines with :meth:`feed` (each returns the event a blank line completes, if any),
    then call :meth:`finish` once for a trailing event."""

    __slots__ = ("_data", "_event", "_id", "_start")

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._start: int | None = None

    def feed(self, line: str, number: int) -> SseEvent | None:
        """Take one line (its end-of-line characters optional) numbered ``number`` (1-based)."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment (servers use them as keep-alives)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if self._start is None:
            self._start = number
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields are ignored, as the standard says.
        return None

    def finish(self) -> SseEvent | None:
        """The event still pending at the end of input (see the module note), if any."""
        return self._dispatch()

    def _dispatch(self) -> SseEvent | None:
        start, event, data = self._start, self._event, self._data
        self._start, self._event, self._data = None, None, []
        if start is None or not data:
            return None  # the standard drops an event with no data lines
        return SseEvent(event=event or "message", data="\n".join(data), line=start, id=self._id)


def _decode(raw: str | bytes) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def looks_like_run_stream(first_line: str | bytes) -> bool:
    """Whether the first non-blank line of a file starts an Assistants run stream (SSE or JSONL),
    so ``validate`` can route a file to the run validator rather than the Realtime one."""
    text = _decode(first_line).strip()
    if text.startswith(("event:", "data:", ":")):
        return True
    if not text.startswith("{"):
        return False
    try:
        obj = orjson.loads(text)
    except ValueError:
        return False
    if not isinstance(obj, Mapping):
        return False
    name = obj.get("event")
    if isinstance(name, str):
        return name.startswith("thread.") or name in (ERROR, DONE)
    kind = obj.get("object")
    return isinstance(kind, str) and (kind == "thread" or kind.startswith("thread."))
