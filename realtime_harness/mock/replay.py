"""Replay: serve a recorded server-event trace to each client, released by the client's actions.

A trace is either a plain JSONL of server events (one per line, as users log them) or a
realtime-harness recording (header plus ``{"t", "dir", "event"}`` frames; client frames are
skipped). The trace is cut into segments, each opened by the event that answers a client action:

=====================================  ===========================================================
segment starts with                    released when the client sends
=====================================  ===========================================================
(the start: ``session.created`` …)     nothing: sent on connect
``session.updated``                    ``session.update``
``input_audio_buffer.speech_started``  ``input_audio_buffer.append`` (a server-VAD turn, including
                                       its ``committed`` and the response VAD starts)
``input_audio_buffer.committed``       ``input_audio_buffer.commit``
user ``conversation.item.created/added`` ``conversation.item.create``
``response.created``                   ``response.create``
=====================================  ===========================================================

Segments are released in order; events inside a segment keep their recorded spacing (scaled by the
latency model's ``speed``) when the trace has timestamps, else they go out at once. Ids are kept
verbatim, so a production failure reproduces with the ids of the original report.

Sans-I/O except :func:`load_trace`, which reads the file.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from realtime_harness.exceptions import UsageError
from realtime_harness.mock.config import BehaviourConfig
from realtime_harness.mock.schedule import Action, SendEvent
from realtime_harness.protocol import catalog as C
from realtime_harness.protocol.dialects import Dialect, detect_dialect
from realtime_harness.protocol.ids import new_id
from realtime_harness.protocol.recording import classify_line

__all__ = ["ReplaySession", "Segment", "Trace", "load_trace", "segment_trace"]


@dataclass(frozen=True, slots=True)
class Segment:
    """Events released together, after the client sends ``gate`` (None: on connect)."""

    gate: str | None
    events: tuple[tuple[float | None, dict[str, Any]], ...]


@dataclass(frozen=True, slots=True)
class Trace:
    """A parsed trace: its segments, detected dialect and session id."""

    segments: tuple[Segment, ...]
    dialect: Dialect | None
    session_id: str | None
    source: str


def _is_user_item(event: Mapping[str, Any]) -> bool:
    item = event.get("item")
    return isinstance(item, Mapping) and item.get("role") == "user"


def segment_trace(events: list[tuple[float | None, dict[str, Any]]]) -> list[Segment]:
    """Cut a trace's server events into segments opened by client actions (table above)."""
    segments: list[Segment] = []
    gate: str | None = None
    current: list[tuple[float | None, dict[str, Any]]] = []
    for t, event in events:
        etype = event.get("type")
        new_gate: str | None = None
        if etype == C.SESSION_UPDATED:
            new_gate = C.SESSION_UPDATE
        elif etype == C.INPUT_AUDIO_BUFFER_SPEECH_STARTED:
            new_gate = C.INPUT_AUDIO_BUFFER_APPEND
        elif etype == C.INPUT_AUDIO_BUFFER_COMMITTED and gate != C.INPUT_AUDIO_BUFFER_APPEND:
            new_gate = C.INPUT_AUDIO_BUFFER_COMMIT
        elif (
            etype in (C.CONVERSATION_ITEM_CREATED, C.CONVERSATION_ITEM_ADDED)
            and _is_user_item(event)
            and gate not in (C.INPUT_AUDIO_BUFFER_APPEND, C.INPUT_AUDIO_BUFFER_COMMIT)
        ):
            new_gate = C.CONVERSATION_ITEM_CREATE
        elif etype == C.RESPONSE_CREATED and gate != C.INPUT_AUDIO_BUFFER_APPEND:
            new_gate = C.RESPONSE_CREATE
        if new_gate is not None and (current or segments):
            segments.append(Segment(gate, tuple(current)))
            gate, current = new_gate, []
        elif new_gate is not None:
            gate = new_gate
        current.append((t, event))
        # A VAD turn's segment ends with its response; later segments need new client actions.
        if etype == C.RESPONSE_DONE and gate == C.INPUT_AUDIO_BUFFER_APPEND:
            segments.append(Segment(gate, tuple(current)))
            gate, current = C.INPUT_AUDIO_BUFFER_APPEND, []
    if current:
        segments.append(Segment(gate, tuple(current)))
    return segments


def load_trace(path: str | Path) -> Trace:
    """Read a trace file for replay.

    Raises:
        UsageError: the file is missing, unreadable, or holds no server events.
    """
    file = Path(path)
    try:
        lines = file.read_bytes().splitlines()
    except OSError as exc:
        raise UsageError(
            f"cannot read replay file {file}: {exc.strerror or exc}; pass a JSONL trace of "
            "server events or a realtime-harness recording"
        ) from None
    events: list[tuple[float | None, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise UsageError(
                f"replay file {file} line {number} is not JSON; pass a JSONL trace (one server "
                "event per line) or a realtime-harness recording"
            ) from None
        kind, event = classify_line(obj)
        if kind in ("server", "event") and event is not None:
            t = obj.get("t") if kind == "server" else None
            events.append((float(t) if isinstance(t, int | float) else None, dict(event)))
    if not events:
        raise UsageError(
            f"replay file {file} holds no server events; pass a JSONL trace of server events "
            "or a realtime-harness recording"
        )
    session_id = None
    for _, event in events:
        session = event.get("session")
        if event.get("type") == C.SESSION_CREATED and isinstance(session, Mapping):
            session_id = session.get("id") if isinstance(session.get("id"), str) else None
            break
    return Trace(
        segments=tuple(segment_trace(events)),
        dialect=detect_dialect(str(e.get("type")) for _, e in events),
        session_id=session_id,
        source=str(file),
    )


class ReplaySession:
    """Serves one trace to one client (same driving interface as ``SessionBehaviour``)."""

    def __init__(
        self, trace: Trace, *, config: BehaviourConfig, now: float, rng: random.Random
    ) -> None:
        self.trace = trace
        self.dialect = trace.dialect or config.dialect
        self.session_id = trace.session_id or new_id("sess", rng)
        self.speed = config.latency.speed
        self.closed = False
        self._next = 0
        self._queue: list[tuple[float, dict[str, Any]]] = []
        if trace.segments and trace.segments[0].gate is None:
            self._release(now)

    def _release(self, now: float) -> None:
        segment = self.trace.segments[self._next]
        self._next += 1
        first = segment.events[0][0] if segment.events else None
        last = now
        for t, event in segment.events:
            at = now
            if self.speed > 0 and t is not None and first is not None:
                at = now + max(0.0, t - first) / self.speed
            last = max(last, at)  # keep order even if the recording's clock stepped back
            self._queue.append((last, event))

    def receive(
        self,
        event: Mapping[str, Any] | None,
        now: float,
        *,
        raw: str = "",
        audio_bytes: int | None = None,
    ) -> None:
        """Release the next segment when this client event is its gate."""
        if event is None or self._next >= len(self.trace.segments):
            return
        if event.get("type") == self.trace.segments[self._next].gate:
            self._release(now)

    def poll(self, now: float) -> list[Action]:
        """The recorded events now due."""
        due = 0
        while due < len(self._queue) and self._queue[due][0] <= now:
            due += 1
        out: list[Action] = [SendEvent(event, at) for at, event in self._queue[:due]]
        del self._queue[:due]
        return out

    def next_deadline(self) -> float | None:
        """When the next recorded event is due."""
        return self._queue[0][0] if self._queue else None

    @property
    def backlog(self) -> int:
        """Recorded events released and not yet sent."""
        return len(self._queue)
