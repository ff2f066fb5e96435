"""The ordering validator: feed it every event of a session, get violations, failures, a report.

Sans-I/O: it takes parsed events (plain mappings, as decoded from the wire) with an optional line
number and timestamp, and keeps only the state the grammar needs, so a multi-hour recording is
checked in constant memory. The rules and the grammar's event roles are data in
:mod:`realtime_harness.protocol.rules`; this module implements them.

The hot path (audio and transcript deltas) reads a handful of fields from the mapping and never
builds a model: a typed model per 6 KB audio delta would cost more than every check here together
(``perf-limits.md`` §3).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from realtime_harness.protocol import rules as R
from realtime_harness.protocol import session_config as SC
from realtime_harness.protocol.audio import (
    BYTES_PER_MS,
    MAX_APPEND_BYTES,
    b64_decoded_length,
    elided_approx_length,
    elided_decoded_length,
)
from realtime_harness.protocol.catalog import SESSION_UPDATE, Dialect, dialect_of
from realtime_harness.protocol.failures import (
    Failure,
    failure_from_error_event,
    failure_from_response_done,
)
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.recording import is_elided
from realtime_harness.protocol.rules import Role, StreamKind

__all__ = ["Report", "Validator", "Violation", "validate_events"]

_FINAL_STATUSES = frozenset({"completed", "cancelled", "failed", "incomplete"})


class Violation(BaseModel):
    """A broken protocol rule, with where it happened and every id at hand."""

    model_config = ConfigDict(frozen=True)

    rule: str
    message: str
    side: Literal["server", "client"] = "server"
    line: int | None = None
    t: float | None = None
    event_type: str | None = None
    event_id: str | None = None
    response_id: str | None = None
    item_id: str | None = None

    def summary(self) -> str:
        """One human line naming the rule, the line, the event type and every id."""
        where = f"line {self.line}" if self.line is not None else f"t={self.t}"
        return (
            f"violation {self.rule} ({self.side}) {where} type={self.event_type} "
            f"event_id={self.event_id} response_id={self.response_id} item_id={self.item_id}: "
            f"{self.message}"
        )


class Report(BaseModel):
    """What a validated stream amounted to."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    dialect: Dialect | None
    session_id: str | None
    events: int
    failures: list[Failure]
    violations: list[Violation]
    incomplete: list[str]
    violations_dropped: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: outcome, dialect, session_id, events, failures, violations."""
        return {
            "outcome": self.outcome.value,
            "dialect": self.dialect.value if self.dialect else None,
            "session_id": self.session_id,
            "events": self.events,
            "failures": [f.model_dump(mode="json") for f in self.failures],
            "violations": [v.model_dump(mode="json") for v in self.violations],
            "incomplete": self.incomplete,
            "violations_dropped": self.violations_dropped,
        }


@dataclass(slots=True)
class _Part:
    item_id: str
    content_index: int
    done: bool = False
    streams_seen: set[StreamKind] = field(default_factory=set)
    streams_done: set[StreamKind] = field(default_factory=set)
    text: dict[StreamKind, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class _Item:
    item_id: str
    output_index: int | None
    response_id: str
    item_type: str | None
    parts: dict[int, _Part] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)
    arguments_done: bool = False


@dataclass(slots=True)
class _Response:
    response_id: str
    default_conversation: bool
    pcm_output: bool
    items: dict[str, _Item] = field(default_factory=dict)
    indexes: set[int] = field(default_factory=set)


class _Window:
    """A set that remembers only its most recent ``size`` members (bounded memory)."""

    __slots__ = ("_members", "_order", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: deque[str] = deque()
        self._members: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def add(self, key: str) -> None:
        self._members.add(key)
        self._order.append(key)
        if len(self._order) > self._size:
            self._members.discard(self._order.popleft())


class Validator:
    """Checks the ordering of one connection's events against the rules table.

    Feed server events with :meth:`server_event`, client events (when known, as in a live
    session) with :meth:`client_event`, unparseable input lines with :meth:`bad_line`, then call
    :meth:`finish` once. ``dialect`` is detected from the stream when not given.
    ``vad_expected=False`` declares that the client means to run without server VAD (the
    validator also infers it from a ``session.update`` that sets turn detection to null).
    """

    #: Remember this many recent server event ids for the uniqueness check.
    EVENT_ID_WINDOW = 65_536
    #: Keep at most this many violations (later ones are counted, not stored).
    MAX_VIOLATIONS = 1_000

    def __init__(self, dialect: Dialect | None = None, *, vad_expected: bool | None = None) -> None:
        self.dialect: Dialect | None = dialect
        self.session_id: str | None = None
        self.violations: list[Violation] = []
        self.failures: list[Failure] = []
        self.events = 0
        self.violations_dropped = 0
        self._server_events = 0
        self._first_seen = False
        self._session_created = False
        self._event_ids = _Window(self.EVENT_ID_WINDOW)
        self._responses: dict[str, _Response] = {}
        self._done_responses = _Window(4_096)
        self._items: dict[str, _Item] = {}
        self._parts: dict[tuple[str, int], _Part] = {}
        self._pcm_output = True
        self._input_bytes_per_ms = BYTES_PER_MS
        self._call_ids: set[str] = set()
        # client-side state
        self._buffer_ms = 0.0
        self._commits_pending = 0
        self._vad_off_requested = vad_expected is False
        self._session_updated = False
        self._append_before_updated_reported = False
        self._before_created_reported = False
        self._finished: Report | None = None

    # --- reporting -----------------------------------------------------------------------------
    def _violate(
        self,
        rule: R.Rule,
        message: str,
        event: Mapping[str, Any] | None,
        line: int | None,
        t: float | None,
        *,
        response_id: str | None = None,
        item_id: str | None = None,
    ) -> None:
        if len(self.violations) >= self.MAX_VIOLATIONS:
            self.violations_dropped += 1
            return
        event = event or {}
        etype = event.get("type")
        eid = event.get("event_id")
        rid = response_id or event.get("response_id")
        iid = item_id or event.get("item_id")
        self.violations.append(
            Violation(
                rule=rule.name,
                message=message,
                side=rule.side,
                line=line,
                t=t,
                event_type=etype if isinstance(etype, str) else None,
                event_id=eid if isinstance(eid, str) else None,
                response_id=rid if isinstance(rid, str) else None,
                item_id=iid if isinstance(iid, str) else None,
            )
        )

    def bad_line(self, line: int, reason: str) -> None:
        """Record an input line that is not a usable event (not JSON, no type, truncated)."""
        self._violate(R.BAD_LINE, reason, None, line, None)

    # --- server side ---------------------------------------------------------------------------
    def server_event(
        self, event: Mapping[str, Any], *, line: int | None = None, t: float | None = None
    ) -> None:
        """Check one event the server sent, in the order it was received."""
        self.events += 1
        etype = event.get("type")
        if not isinstance(etype, str):
            self._violate(R.BAD_LINE, "event has no string 'type'", event, line, t)
            return
        entry = R.SERVER_ROLES.get(etype)
        role = entry[0] if entry else None
        self._server_events += 1
        # A server that refuses the session (bad key, model or beta header) sends an error as
        # its first and only event, then closes (§1.4): errors before session.created are the
        # server's documented refusal, reported as failures, not as a broken first event.
        if not self._first_seen and role is not Role.ERROR:
            self._first_seen = True
            if role is not Role.SESSION_CREATED:
                self._violate(
                    R.FIRST_EVENT,
                    f"first server event is {etype}, not session.created",
                    event,
                    line,
                    t,
                )
        eid = event.get("event_id")
        if isinstance(eid, str):
            if eid in self._event_ids:
                self._violate(R.EVENT_ID_UNIQUE, f"event_id {eid} was used before", event, line, t)
            else:
                self._event_ids.add(eid)
        elif eid is not None or etype != "error":
            # One live Azure record shows an error event with a null outer event_id (§4.4).
            self._violate(R.EVENT_ID_MISSING, "event has no string event_id", event, line, t)
        own = dialect_of(etype)
        if own is not None and own is not self.dialect:
            if self.dialect is None:
                self.dialect = own
            else:
                self._violate(
                    R.DIALECT_MISMATCH,
                    f"{etype} is a {own.value} name in a {self.dialect.value} stream",
                    event,
                    line,
                    t,
                )
        if entry is None:
            return  # an event type we do not know: kept, counted, never a violation
        _HANDLERS[entry[0]](self, event, entry[1], line, t)

    def _session_created_event(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        if self._session_created:
            self._violate(R.SESSION_CREATED_ONCE, "second session.created", event, line, t)
        self._session_created = True
        session = event.get("session")
        if isinstance(session, Mapping):
            sid = session.get("id")
            if isinstance(sid, str) and self.session_id is None:
                self.session_id = sid
            self._apply_session(session)
        top = event.get("session_id")
        if self.session_id is None and isinstance(top, str):
            self.session_id = top

    def _session_updated_event(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        self._session_updated = True
        session = event.get("session")
        if isinstance(session, Mapping):
            self._apply_session(session)

    def _apply_session(self, session: Mapping[str, Any]) -> None:
        pcm = SC.output_is_pcm(session)
        if pcm is not None:
            self._pcm_output = pcm
        self._set_input_format(session)

    def _set_input_format(self, session: Mapping[str, Any]) -> None:
        size = SC.input_bytes_per_ms(session)
        if size is not None:
            self._input_bytes_per_ms = size

    def _response_of(
        self, event: Mapping[str, Any], line: int | None, t: float | None
    ) -> tuple[Mapping[str, Any], str] | None:
        """The response object and id of response.created/done, or None after reporting."""
        response = event.get("response")
        rid = response.get("id") if isinstance(response, Mapping) else None
        if not isinstance(response, Mapping) or not isinstance(rid, str):
            self._violate(R.BAD_LINE, f"{event.get('type')} without response.id", event, line, t)
            return None
        return response, rid

    def _response_created(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        found = self._response_of(event, line, t)
        if found is None:
            return
        response, rid = found
        if rid in self._responses or rid in self._done_responses:
            self._violate(
                R.RESPONSE_ID_REUSED, f"{rid} was created before", event, line, t, response_id=rid
            )
            return
        # conversation_id null means an out-of-band response (conversation "none"); a missing key
        # (older beta payloads) means the default conversation.
        default = response.get("conversation_id", "") is not None
        if default:
            for other in self._responses.values():
                if other.default_conversation:
                    self._violate(
                        R.ONE_ACTIVE_RESPONSE,
                        f"{rid} started while {other.response_id} is still active",
                        event,
                        line,
                        t,
                        response_id=rid,
                    )
                    break
        pcm = SC.output_is_pcm(response)
        self._responses[rid] = _Response(rid, default, self._pcm_output if pcm is None else pcm)

    def _response_done(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        found = self._response_of(event, line, t)
        if found is None:
            return
        response, rid = found
        state = self._responses.pop(rid, None)
        if state is None:
            if rid in self._done_responses:
                self._violate(
                    R.DONE_TWICE, f"second response.done for {rid}", event, line, t, response_id=rid
                )
            else:
                self._violate(
                    R.DONE_WITHOUT_CREATED,
                    f"{rid} was never created",
                    event,
                    line,
                    t,
                    response_id=rid,
                )
        self._done_responses.add(rid)
        status = response.get("status")
        details = response.get("status_details")
        if status not in _FINAL_STATUSES:
            self._violate(
                R.FINAL_STATUS, f"final status is {status!r}", event, line, t, response_id=rid
            )
        elif details is not None and (
            not isinstance(details, Mapping) or details.get("type") != status
        ):
            self._violate(
                R.FINAL_STATUS,
                f"status {status} with status_details {details!r}",
                event,
                line,
                t,
                response_id=rid,
            )
        if state is not None:
            open_items = [i.item_id for i in state.items.values()]
            if status == "completed" and open_items:
                self._violate(
                    R.DONE_WITH_OPEN_ITEMS,
                    f"completed with open item(s) {', '.join(open_items)}",
                    event,
                    line,
                    t,
                    response_id=rid,
                )
            # Cancelled and failed responses may leave items and parts open (real traffic).
            for item in state.items.values():
                self._close_item(item)
        failure = failure_from_response_done(event, session_id=self.session_id, line=line, t=t)
        if failure is not None:
            self.failures.append(failure)

    def _close_item(self, item: _Item) -> None:
        self._items.pop(item.item_id, None)
        for index in item.parts:
            self._parts.pop((item.item_id, index), None)

    def _active(
        self, event: Mapping[str, Any], line: int | None, t: float | None
    ) -> _Response | None:
        rid = event.get("response_id")
        state = self._responses.get(rid) if isinstance(rid, str) else None
        if state is None:
            if isinstance(rid, str) and rid in self._done_responses:
                self._violate(R.EVENT_AFTER_RESPONSE_DONE, f"{rid} is already done", event, line, t)
            else:
                self._violate(
                    R.RESPONSE_NOT_ACTIVE, f"response {rid} was not created", event, line, t
                )
        return state

    def _item_added(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        state = self._active(event, line, t)
        if state is None:
            return
        item = event.get("item")
        iid = item.get("id") if isinstance(item, Mapping) else None
        index = event.get("output_index")
        if not isinstance(item, Mapping) or not isinstance(iid, str):
            self._violate(R.BAD_LINE, "output_item.added without item.id", event, line, t)
            return
        if iid in self._items or (isinstance(index, int) and index in state.indexes):
            self._violate(
                R.ITEM_ADDED_TWICE,
                f"item {iid} / output_index {index} was already added",
                event,
                line,
                t,
                item_id=iid,
            )
            return
        kind = item.get("type")
        record = _Item(
            iid,
            index if isinstance(index, int) else None,
            state.response_id,
            kind if isinstance(kind, str) else None,
        )
        state.items[iid] = record
        if isinstance(index, int):
            state.indexes.add(index)
        self._items[iid] = record
        call_id = item.get("call_id")
        if isinstance(call_id, str):
            self._call_ids.add(call_id)

    def _item_done(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        state = self._active(event, line, t)
        if state is None:
            return
        item = event.get("item")
        iid = item.get("id") if isinstance(item, Mapping) else None
        record = state.items.get(iid) if isinstance(iid, str) else None
        if record is None:
            self._violate(
                R.ITEM_NOT_OPEN,
                f"output_item.done for item {iid} that is not open",
                event,
                line,
                t,
                item_id=iid if isinstance(iid, str) else None,
            )
            return
        index = event.get("output_index")
        if index != record.output_index:
            self._violate(
                R.ITEM_INDEX_MISMATCH,
                f"output_index {index} but item {iid} was added at {record.output_index}",
                event,
                line,
                t,
                item_id=record.item_id,
            )
        open_parts = [str(i) for i, part in record.parts.items() if not part.done]
        if open_parts:
            self._violate(
                R.ITEM_DONE_WITH_OPEN_PART,
                f"item {iid} done with content part(s) {', '.join(open_parts)} still open",
                event,
                line,
                t,
                item_id=record.item_id,
            )
        del state.items[record.item_id]
        self._close_item(record)

    def _open_item(
        self, event: Mapping[str, Any], state: _Response, line: int | None, t: float | None
    ) -> _Item | None:
        iid = event.get("item_id")
        record = state.items.get(iid) if isinstance(iid, str) else None
        if record is None:
            self._violate(R.ITEM_NOT_OPEN, f"item {iid} is not open", event, line, t)
            return None
        index = event.get("output_index")
        if index is not None and index != record.output_index:
            self._violate(
                R.ITEM_INDEX_MISMATCH,
                f"output_index {index} but item {iid} was added at {record.output_index}",
                event,
                line,
                t,
            )
        return record

    def _part_added(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        state = self._active(event, line, t)
        record = self._open_item(event, state, line, t) if state else None
        if record is None:
            return
        index = event.get("content_index")
        index = index if isinstance(index, int) else 0
        if index in record.parts:
            self._violate(
                R.PART_ADDED_TWICE,
                f"content part {index} of {record.item_id} added again",
                event,
                line,
                t,
            )
            return
        part = _Part(record.item_id, index)
        record.parts[index] = part
        self._parts[(record.item_id, index)] = part

    def _part(self, event: Mapping[str, Any], line: int | None, t: float | None) -> _Part | None:
        """The open part an event refers to, or None after reporting why it is not usable."""
        state = self._active(event, line, t)
        if state is None:
            return None
        iid = event.get("item_id")
        index = event.get("content_index")
        part = self._parts.get((iid, index)) if isinstance(iid, str) else None  # type: ignore[arg-type]
        if part is None:
            if isinstance(iid, str) and iid in state.items:
                self._violate(
                    R.PART_NOT_OPEN, f"content part {index} of {iid} was not added", event, line, t
                )
            else:
                self._violate(R.ITEM_NOT_OPEN, f"item {iid} is not open", event, line, t)
            return None
        if part.done:
            self._violate(
                R.DELTA_AFTER_PART_DONE,
                f"content part {index} of {iid} is already done",
                event,
                line,
                t,
            )
            return None
        return part

    def _part_done(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        part = self._part(event, line, t)
        if part is None:
            return
        unfinished = part.streams_seen - part.streams_done
        if unfinished:
            names = ", ".join(sorted(k.value for k in unfinished))
            self._violate(
                R.PART_DONE_BEFORE_STREAM_DONE,
                f"content_part.done before the .done of its {names} stream",
                event,
                line,
                t,
            )
        part.done = True

    def _stream_delta(
        self, event: Mapping[str, Any], kind: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        assert kind is not None
        part = self._part(event, line, t)
        if part is None:
            return
        if kind in part.streams_done:
            self._violate(
                R.DELTA_AFTER_STREAM_DONE, f"{kind.value} delta after its .done", event, line, t
            )
            return
        part.streams_seen.add(kind)
        delta = event.get("delta")
        if kind is StreamKind.AUDIO:
            if is_elided(delta):
                return
            size = b64_decoded_length(delta) if isinstance(delta, str) else None
            if size is None:
                self._violate(R.AUDIO_NOT_BASE64, "audio delta is not valid base64", event, line, t)
            elif size % 2 and self._responses[_rid(event)].pcm_output:
                self._violate(
                    R.AUDIO_PARTIAL_SAMPLE,
                    f"PCM16 audio delta of {size} bytes splits a sample",
                    event,
                    line,
                    t,
                )
        elif isinstance(delta, str):
            chunks = part.text.get(kind)
            if chunks is None:
                part.text[kind] = [delta]
            else:
                chunks.append(delta)

    def _stream_done(
        self, event: Mapping[str, Any], kind: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        assert kind is not None
        part = self._part(event, line, t)
        if part is None:
            return
        if kind in part.streams_done:
            self._violate(R.STREAM_DONE_TWICE, f"second {kind.value} .done", event, line, t)
            return
        part.streams_done.add(kind)
        part.streams_seen.add(kind)
        stream = R.STREAMS[kind]
        if stream.final_field is None or stream.mismatch is None:
            return
        final = event.get(stream.final_field)
        joined = "".join(part.text.pop(kind, ()))
        if isinstance(final, str) and final != joined:
            self._violate(
                stream.mismatch,
                f"deltas add up to {_clip(joined)!r} but .done has {_clip(final)!r}",
                event,
                line,
                t,
            )

    def _arguments_item(
        self, event: Mapping[str, Any], line: int | None, t: float | None, what: str
    ) -> _Item | None:
        """The open function-call item whose arguments are still streaming, or None."""
        state = self._active(event, line, t)
        record = self._open_item(event, state, line, t) if state else None
        if record is not None and record.arguments_done:
            self._violate(R.ARGUMENTS_NOT_OPEN, f"{what} after arguments .done", event, line, t)
            return None
        return record

    def _args_delta(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        record = self._arguments_item(event, line, t, "arguments delta")
        if record is None:
            return
        delta = event.get("delta")
        if isinstance(delta, str):
            record.arguments.append(delta)

    def _args_done(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        record = self._arguments_item(event, line, t, "second .done")
        if record is None:
            return
        record.arguments_done = True
        final = event.get("arguments")
        joined = "".join(record.arguments)
        if isinstance(final, str) and final != joined:
            self._violate(
                R.ARGUMENTS_MISMATCH,
                f"deltas add up to {_clip(joined)!r} but .done has {_clip(final)!r}",
                event,
                line,
                t,
            )

    def _error(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        error = event.get("error")
        if isinstance(error, Mapping) and error.get("code") == "input_audio_buffer_commit_empty":
            self._commits_pending = max(0, self._commits_pending - 1)
        active = [r.response_id for r in self._responses.values() if r.default_conversation]
        self.failures.append(
            failure_from_error_event(
                event,
                session_id=self.session_id,
                response_id=active[0] if len(active) == 1 else None,
                line=line,
                t=t,
            )
        )

    def _free(
        self, event: Mapping[str, Any], _: StreamKind | None, line: int | None, t: float | None
    ) -> None:
        etype = event.get("type")
        if etype == "input_audio_buffer.committed":
            if self._commits_pending:
                self._commits_pending -= 1
            else:  # the server VAD committed on its own: the buffer is empty now
                self._buffer_ms = 0.0
        elif etype == "input_audio_buffer.cleared":
            self._buffer_ms = 0.0

    # --- client side ---------------------------------------------------------------------------
    def client_event(
        self, event: Mapping[str, Any], *, line: int | None = None, t: float | None = None
    ) -> None:
        """Check one event the client sent, in the order it was sent relative to server events."""
        self.events += 1
        etype = event.get("type")
        if not self._session_created and not self._before_created_reported:
            self._before_created_reported = True
            self._violate(
                R.CLIENT_BEFORE_SESSION_CREATED,
                f"{etype} sent before session.created arrived",
                event,
                line,
                t,
            )
        if not isinstance(etype, str) or etype not in R.CLIENT_EVENT_TYPES:
            self._violate(
                R.CLIENT_UNKNOWN_TYPE, f"unknown client event type {etype!r}", event, line, t
            )
            return
        if etype in ("input_audio_buffer.append", "session.input_audio_buffer.append"):
            self._client_append(event, line, t)
        elif etype == "input_audio_buffer.commit":
            if self._buffer_ms < R.MIN_COMMIT_MS:
                self._violate(
                    R.CLIENT_COMMIT_TOO_SMALL,
                    f"commit after {self._buffer_ms:.2f} ms of audio (needs "
                    f"{R.MIN_COMMIT_MS:.0f} ms)",
                    event,
                    line,
                    t,
                )
            self._commits_pending += 1
            self._buffer_ms = 0.0
        elif etype == "input_audio_buffer.clear":
            self._buffer_ms = 0.0
        elif etype in ("session.update", "transcription_session.update"):
            self._client_session_update(event, line, t)
        elif etype == "response.create":
            params = event.get("response")
            out_of_band = isinstance(params, Mapping) and params.get("conversation") == "none"
            active = [r.response_id for r in self._responses.values() if r.default_conversation]
            if active and not out_of_band:
                self._violate(
                    R.CLIENT_RESPONSE_WHILE_ACTIVE,
                    f"response.create while {active[0]} is active",
                    event,
                    line,
                    t,
                    response_id=active[0],
                )
        elif etype == "response.cancel":
            if not self._responses:
                self._violate(
                    R.CLIENT_CANCEL_NOT_ACTIVE,
                    "response.cancel with no active response",
                    event,
                    line,
                    t,
                )
        elif etype == "conversation.item.create":
            item = event.get("item")
            if isinstance(item, Mapping) and item.get("type") == "function_call_output":
                call_id = item.get("call_id")
                if call_id not in self._call_ids:
                    self._violate(
                        R.CLIENT_UNKNOWN_CALL_ID,
                        f"function_call_output for call_id {call_id!r} the server never issued",
                        event,
                        line,
                        t,
                    )

    def _client_append(self, event: Mapping[str, Any], line: int | None, t: float | None) -> None:
        if (
            self._vad_off_requested
            and not self._session_updated
            and not self._append_before_updated_reported
        ):
            self._append_before_updated_reported = True
            self._violate(
                R.CLIENT_APPEND_BEFORE_UPDATED,
                "audio appended before session.updated confirmed turn_detection null; the "
                "default server VAD may act on it",
                event,
                line,
                t,
            )
        audio = event.get("audio")
        exact = True
        if isinstance(audio, Mapping) and is_elided(audio):
            # Recordings made before elided payloads carried "bytes" give only the base64
            # length: the decoded size is then known to within the padding, not its parity.
            exact = elided_decoded_length(audio) is not None
            size = elided_approx_length(audio)
        else:
            size_or_none = b64_decoded_length(audio) if isinstance(audio, str) else None
            if size_or_none is None:
                self._violate(
                    R.CLIENT_AUDIO_INVALID, "appended audio is not valid base64", event, line, t
                )
                return
            size = size_or_none
        if size > MAX_APPEND_BYTES:
            self._violate(
                R.CLIENT_AUDIO_INVALID, f"append of {size} bytes exceeds 15 MiB", event, line, t
            )
        elif exact and self._input_bytes_per_ms == BYTES_PER_MS and size % 2:
            self._violate(
                R.CLIENT_AUDIO_INVALID,
                f"PCM16 append of {size} bytes splits a sample",
                event,
                line,
                t,
            )
        self._buffer_ms += size / self._input_bytes_per_ms

    def _client_session_update(
        self, event: Mapping[str, Any], line: int | None, t: float | None
    ) -> None:
        session = event.get("session")
        if not isinstance(session, Mapping):
            return
        if (
            self.dialect is Dialect.GA
            and "type" not in session
            and event.get("type") == SESSION_UPDATE
        ):
            self._violate(
                R.CLIENT_MISSING_SESSION_TYPE, "GA session.update without type", event, line, t
            )
        wrong = SC.other_dialect_fields(self.dialect, session) if self.dialect else []
        if wrong:
            self._violate(
                R.CLIENT_DIALECT_MISMATCH,
                f"session field(s) {', '.join(wrong)} belong to the other dialect",
                event,
                line,
                t,
            )
        # Turn detection set to null (beta top level, GA audio.input) asks for manual commits.
        vad = SC.turn_detection_update(session)
        self._set_input_format(session)
        if vad is None:
            self._vad_off_requested = True
            self._session_updated = False
        elif vad is not ...:
            self._vad_off_requested = False

    # --- end of stream -------------------------------------------------------------------------
    def finish(self) -> Report:
        """The report of the stream; open responses are listed as incomplete, not as violations."""
        if self._finished is not None:
            return self._finished
        incomplete = [
            f"response {rid} has no response.done (the stream ended mid-response)"
            for rid in self._responses
        ]
        if self._server_events == 0:
            incomplete.append("no server events")
        real_failures = any(not f.benign for f in self.failures)
        self._finished = Report(
            outcome=Outcome.combine(violations=bool(self.violations), failures=real_failures),
            dialect=self.dialect,
            session_id=self.session_id,
            events=self.events,
            failures=list(self.failures),
            violations=list(self.violations),
            incomplete=incomplete,
            violations_dropped=self.violations_dropped,
        )
        return self._finished


def _rid(event: Mapping[str, Any]) -> str:
    rid = event.get("response_id")
    return rid if isinstance(rid, str) else ""


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_Handler = Callable[
    [Validator, Mapping[str, Any], StreamKind | None, int | None, float | None], None
]
_HANDLERS: dict[Role, _Handler] = {
    Role.SESSION_CREATED: Validator._session_created_event,
    Role.SESSION_UPDATED: Validator._session_updated_event,
    Role.RESPONSE_CREATED: Validator._response_created,
    Role.RESPONSE_DONE: Validator._response_done,
    Role.ITEM_ADDED: Validator._item_added,
    Role.ITEM_DONE: Validator._item_done,
    Role.PART_ADDED: Validator._part_added,
    Role.PART_DONE: Validator._part_done,
    Role.STREAM_DELTA: Validator._stream_delta,
    Role.STREAM_DONE: Validator._stream_done,
    Role.ARGS_DELTA: Validator._args_delta,
    Role.ARGS_DONE: Validator._args_done,
    Role.ERROR: Validator._error,
    Role.FREE: Validator._free,
}


def validate_events(events: Iterable[Mapping[str, Any]], dialect: Dialect | None = None) -> Report:
    """Validate a sequence of server events (as one connection received them)."""
    validator = Validator(dialect)
    for index, event in enumerate(events, start=1):
        validator.server_event(event, line=index)
    return validator.finish()
