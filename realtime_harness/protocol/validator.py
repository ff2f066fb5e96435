"""The ordering validator: feed it every event of a session, get violations, failures, a report.

Sans-I/O: it takes parsed events (plain mappings, as decoded from the wire) with an optional line
number and timestamp, and keeps only the state the grammar needs, so a multi-hour recording is
checked in constant memory. The rules and the grammar's event roles are data in
:mod:`realtime_harness.protocol.rules`; this module implements them.

The validator holds the position of the event it is checking (line, time, the event itself), so
every check reports a violation with one call naming the rule. Each side dispatches through one
table built from the catalog: event type → handler (and, for server events, the delta stream
and the dialect the name belongs to), looked up once per event.

Every field of every event may hold any JSON type: a wrong type is reported as a violation (or
treated as absent), never raised. The hot path (audio and transcript deltas) reads a handful of
fields from the mapping and never builds a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeGuard

from realtime_harness.protocol import rules as R
from realtime_harness.protocol import session_config as SC
from realtime_harness.protocol.audio import (
    BYTES_PER_MS,
    MAX_APPEND_BYTES,
    b64_decoded_length,
    elided_approx_length,
    elided_decoded_length,
)
from realtime_harness.protocol.catalog import (
    APPEND_TYPES,
    INPUT_AUDIO_BUFFER_APPEND,
    INPUT_AUDIO_BUFFER_CLEARED,
    INPUT_AUDIO_BUFFER_COMMITTED,
    SESSION_UPDATE,
    ClientRole,
    Dialect,
    dialect_of,
)
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.recording import is_elided
from realtime_harness.protocol.rules import Role

if TYPE_CHECKING:
    # Failures are pydantic models (the probe, the soak and the pytest plugin build and copy
    # them); the validator imports that module only when a stream reports one, so checking a
    # clean file never loads pydantic.
    from realtime_harness.protocol.failures import Failure

__all__ = ["Report", "Validator", "Violation", "validate_events"]

_FINAL_STATUSES = frozenset({"completed", "cancelled", "failed", "incomplete"})
_COMMIT_EMPTY = "input_audio_buffer_commit_empty"
_NO_EVENT: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken protocol rule, with where it happened and every id at hand."""

    # A plain dataclass, not a pydantic model: the validator makes one per broken rule (a broken
    # stream can break one on every line) and ``validate`` must start without pydantic. Models
    # that hold violations (probe and session results, the --json schemas) still validate,
    # dump and describe it: pydantic reads stdlib dataclasses, docstring included.

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

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` object: every field by name, in declaration order."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Report:
    """What a validated stream amounted to."""

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
            "violations": [v.to_json_dict() for v in self.violations],
            "incomplete": self.incomplete,
            "violations_dropped": self.violations_dropped,
        }


# The validator's own state records are plain slotted classes, not dataclasses: generating a
# dataclass's methods costs about 1.5 ms each at import, and every `validate` start pays it.


class _Part:
    __slots__ = (
        "content_index",
        "done",
        "item_id",
        "response_id",
        "streams_done",
        "streams_seen",
        "text",
    )

    def __init__(self, item_id: str, content_index: int, response_id: str) -> None:
        self.item_id = item_id
        self.content_index = content_index
        self.response_id = response_id
        self.done = False
        # stream kinds by their value ("text", "audio", "transcript"): plain strings hash in C
        self.streams_seen: set[str] = set()
        self.streams_done: set[str] = set()
        self.text: dict[str, list[str]] = {}


class _Item:
    __slots__ = (
        "arguments",
        "arguments_done",
        "item_id",
        "item_type",
        "output_index",
        "parts",
        "response_id",
    )

    def __init__(
        self, item_id: str, output_index: int | None, response_id: str, item_type: str | None
    ) -> None:
        self.item_id = item_id
        self.output_index = output_index
        self.response_id = response_id
        self.item_type = item_type
        self.parts: dict[int, _Part] = {}
        self.arguments: list[str] = []
        self.arguments_done = False


class _Response:
    __slots__ = ("default_conversation", "indexes", "items", "pcm_output", "response_id")

    def __init__(self, response_id: str, default_conversation: bool, pcm_output: bool) -> None:
        self.response_id = response_id
        self.default_conversation = default_conversation
        self.pcm_output = pcm_output
        self.items: dict[str, _Item] = {}
        self.indexes: set[int] = set()


class _Window:
    """A set that remembers at least its ``size`` most recent members (bounded memory).

    Two generations of at most ``size`` members each: adding is one ``set.add``; when the young
    generation is full it becomes the old one and the previous old one is dropped. The
    validator's hot path reads ``_young``/``_old`` directly rather than calling methods.
    """

    __slots__ = ("_old", "_size", "_young")

    def __init__(self, size: int) -> None:
        self._size = size
        self._young: set[str] = set()
        self._old: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._young or key in self._old

    def add(self, key: str) -> None:
        young = self._young
        young.add(key)
        if len(young) >= self._size:
            self._old = young
            self._young = set()


class _StreamInfo:
    """What the delta and .done handlers need about a stream, resolved once per event type."""

    __slots__ = ("audio", "final_field", "key", "mismatch")

    def __init__(
        self, key: str, audio: bool, final_field: str | None, mismatch: R.Rule | None
    ) -> None:
        self.key = key  # the stream kind's value: "text", "audio", "transcript"
        self.audio = audio
        self.final_field = final_field
        self.mismatch = mismatch


_STREAM_INFO: Final[dict[object, _StreamInfo]] = {
    kind: _StreamInfo(kind.value, stream.final_field is None, stream.final_field, stream.mismatch)
    for kind, stream in R.STREAMS.items()
}


def _is_map(value: object) -> TypeGuard[Mapping[str, Any]]:
    # Events decoded from JSON hold dicts: the exact type is tested first, the ABC only after.
    return isinstance(value, (dict, Mapping))


def _time(value: object) -> float | None:
    # a time that is not a number (a hand-edited file) is left out rather than trusted
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Validator:
    """Checks the ordering of one connection's events against the rules table.

    Feed server events with :meth:`server_event`, client events (when known, as in a live
    session) with :meth:`client_event`, unparseable input lines with :meth:`bad_line`, then call
    :meth:`finish` once. ``dialect`` is detected from the stream when not given.
    ``vad_expected=False`` declares that the client means to run without server VAD (the
    validator also infers it from a ``session.update`` that sets turn detection to null).
    ``deltas=False`` declares that the caller does not feed the server's ``*.delta`` events (the
    mock server checks the client's side, which they do not affect): the rules that compare
    deltas with their ``.done`` are off.
    """

    #: Remember at least this many recent server event ids for the uniqueness check.
    EVENT_ID_WINDOW = 65_536
    #: Keep at most this many violations (later ones are counted, not stored).
    MAX_VIOLATIONS = 1_000

    def __init__(
        self,
        dialect: Dialect | None = None,
        *,
        vad_expected: bool | None = None,
        deltas: bool = True,
    ) -> None:
        self.dialect: Dialect | None = dialect
        self.session_id: str | None = None
        self.violations: list[Violation] = []
        self.failures: list[Failure] = []
        self.events = 0
        self.violations_dropped = 0
        # the position of the event being checked, for every violation it causes
        self._event: Mapping[str, Any] = _NO_EVENT
        self._line: int | None = None
        self._t: float | None = None
        self._any_server_event = False
        self._first_seen = False
        self._session_created = False
        self._event_ids = _Window(self.EVENT_ID_WINDOW)
        # The last audio delta checked and its decoded size: servers (and the mock) often repeat
        # a delta byte for byte (silence, a looped sample), and comparing is cheaper than decoding.
        self._last_delta = ""
        self._last_delta_size: int | None = 0
        self._responses: dict[str, _Response] = {}
        self._done_responses = _Window(4_096)
        self._items: dict[str, _Item] = {}
        self._parts: dict[tuple[str, int], _Part] = {}
        # The part the last delta went to: deltas come in runs to one part, and comparing two
        # short strings is cheaper than hashing a new (item_id, content_index) key per event.
        self._hot: _Part | None = None
        self._pcm_output = True
        self._input_bytes_per_ms: int = BYTES_PER_MS
        self._call_ids: set[str] = set()
        # client-side state
        self._buffer_ms = 0.0
        self._commits_pending = 0
        self._vad_off_requested = vad_expected is False
        self._deltas = deltas
        self._session_updated = False
        self._append_before_updated_reported = False
        self._before_created_reported = False
        self._finished: Report | None = None

    # --- reporting -----------------------------------------------------------------------------
    def _violate(
        self,
        rule: R.Rule,
        message: str,
        *,
        response_id: str | None = None,
        item_id: str | None = None,
    ) -> None:
        """Record a broken rule at the current event's position."""
        if len(self.violations) >= self.MAX_VIOLATIONS:
            self.violations_dropped += 1
            return
        event = self._event
        self.violations.append(
            Violation(
                rule=rule.name,
                message=message,
                side=rule.side,
                line=self._line,
                t=_time(self._t),
                event_type=_str(event.get("type")),
                event_id=_str(event.get("event_id")),
                response_id=response_id or _str(event.get("response_id")),
                item_id=item_id or _str(event.get("item_id")),
            )
        )

    def bad_line(self, line: int, reason: str) -> None:
        """Record an input line that is not a usable event (not JSON, no type, truncated)."""
        self._event = _NO_EVENT
        self._line = line
        self._t = None
        self._violate(R.BAD_LINE, reason)

    # --- server side ---------------------------------------------------------------------------
    def server_event(
        self, event: Mapping[str, Any], *, line: int | None = None, t: float | None = None
    ) -> None:
        """Check one event the server sent, in the order it was received."""
        self.events += 1
        self._event = event
        self._line = line
        self._t = t
        etype: Any = event.get("type")
        try:
            entry = _SERVER.get(etype)
        except TypeError:  # a type of an unhashable JSON type (a list, an object)
            entry = None
        if entry is None:
            if not isinstance(etype, str):
                self._violate(R.BAD_LINE, "event has no string 'type'")
                return
            self._common(event, etype, None, False)
            return  # an event type we do not know: kept, counted, never a violation
        handler, stream, own, role = entry
        if self._first_seen and (own is None or own is self.dialect):
            # the hot path: after the first event, in the stream's dialect: only the id is new
            eid = event.get("event_id")
            if eid.__class__ is str:
                ids = self._event_ids
                young = ids._young
                if eid in young or eid in ids._old:
                    self._violate(R.EVENT_ID_UNIQUE, f"event_id {eid} was used before")
                else:
                    young.add(eid)
                    if len(young) >= ids._size:
                        ids.add(eid)  # rolls the generations
            elif not isinstance(eid, str) and (eid is not None or role is not Role.ERROR):
                self._violate(R.EVENT_ID_MISSING, "event has no string event_id")
        else:
            self._common(event, etype, own, role is Role.ERROR, role is Role.SESSION_CREATED)
        handler(self, event, stream)

    def _common(
        self,
        event: Mapping[str, Any],
        etype: str,
        own: Dialect | None,
        is_error: bool,
        is_session_created: bool = False,
    ) -> None:
        """The checks every server event gets: first event, event id, dialect."""
        self._any_server_event = True
        # A server that refuses the session (bad key, model or beta header) sends an error as
        # its first and only event, then closes: errors before session.created are the
        # server's documented refusal, reported as failures, not as a broken first event.
        if not self._first_seen and not is_error:
            self._first_seen = True
            if not is_session_created:
                self._violate(R.FIRST_EVENT, f"first server event is {etype}, not session.created")
        eid = event.get("event_id")
        if isinstance(eid, str):
            if eid in self._event_ids:
                self._violate(R.EVENT_ID_UNIQUE, f"event_id {eid} was used before")
            else:
                self._event_ids.add(eid)
        elif eid is not None or not is_error:
            # One live Azure record shows an error event with a null outer event_id.
            self._violate(R.EVENT_ID_MISSING, "event has no string event_id")
        if own is not None and own is not self.dialect:
            if self.dialect is None:
                self.dialect = own
            else:
                self._violate(
                    R.DIALECT_MISMATCH,
                    f"{etype} is a {own.value} name in a {self.dialect.value} stream",
                )

    def _session_created_event(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        if self._session_created:
            self._violate(R.SESSION_CREATED_ONCE, "second session.created")
        self._session_created = True
        session = event.get("session")
        if _is_map(session):
            sid = session.get("id")
            if isinstance(sid, str) and self.session_id is None:
                self.session_id = sid
            self._apply_session(session)
        top = event.get("session_id")
        if self.session_id is None and isinstance(top, str):
            self.session_id = top

    def _session_updated_event(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        self._session_updated = True
        session = event.get("session")
        if _is_map(session):
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

    def _response_of(self, event: Mapping[str, Any]) -> tuple[Mapping[str, Any], str] | None:
        """The response object and id of response.created/done, or None after reporting."""
        response = event.get("response")
        if _is_map(response):
            rid = response.get("id")
            if isinstance(rid, str):
                return response, rid
        self._violate(R.BAD_LINE, f"{event.get('type')} without response.id")
        return None

    def _response_created(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        found = self._response_of(event)
        if found is None:
            return
        response, rid = found
        if rid in self._responses or rid in self._done_responses:
            self._violate(R.RESPONSE_ID_REUSED, f"{rid} was created before", response_id=rid)
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
                        response_id=rid,
                    )
                    break
        pcm = SC.output_is_pcm(response)
        self._responses[rid] = _Response(rid, default, self._pcm_output if pcm is None else pcm)

    def _response_done(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        found = self._response_of(event)
        if found is None:
            return
        response, rid = found
        state = self._responses.pop(rid, None)
        if state is None:
            if rid in self._done_responses:
                self._violate(R.DONE_TWICE, f"second response.done for {rid}", response_id=rid)
            else:
                self._violate(R.DONE_WITHOUT_CREATED, f"{rid} was never created", response_id=rid)
        self._done_responses.add(rid)
        status = response.get("status")
        details = response.get("status_details")
        if not isinstance(status, str) or status not in _FINAL_STATUSES:
            self._violate(R.FINAL_STATUS, f"final status is {status!r}", response_id=rid)
        elif details is not None and (not _is_map(details) or details.get("type") != status):
            self._violate(
                R.FINAL_STATUS,
                f"status {status} with status_details {details!r}",
                response_id=rid,
            )
        if state is not None:
            open_items = [i.item_id for i in state.items.values()]
            if status == "completed" and open_items:
                self._violate(
                    R.DONE_WITH_OPEN_ITEMS,
                    f"completed with open item(s) {', '.join(open_items)}",
                    response_id=rid,
                )
            # Cancelled and failed responses may leave items and parts open (real traffic).
            for item in state.items.values():
                self._close_item(item)
        if status in R.FAILED_STATUSES:
            from realtime_harness.protocol.failures import failure_from_response_done

            failure = failure_from_response_done(
                event, session_id=self.session_id, line=self._line, t=self._t
            )
            if failure is not None:
                self.failures.append(failure)

    def _close_item(self, item: _Item) -> None:
        self._items.pop(item.item_id, None)
        for index in item.parts:
            self._parts.pop((item.item_id, index), None)
        self._hot = None

    def _active(self, event: Mapping[str, Any]) -> _Response | None:
        rid = event.get("response_id")
        state = self._responses.get(rid) if isinstance(rid, str) else None
        if state is None:
            if isinstance(rid, str) and rid in self._done_responses:
                self._violate(R.EVENT_AFTER_RESPONSE_DONE, f"{rid} is already done")
            else:
                self._violate(R.RESPONSE_NOT_ACTIVE, f"response {rid} was not created")
        return state

    def _item_added(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        state = self._active(event)
        if state is None:
            return
        item = event.get("item")
        if not _is_map(item):
            item = _NO_EVENT
        iid = item.get("id")
        index = event.get("output_index")
        if not isinstance(iid, str):
            self._violate(R.BAD_LINE, "output_item.added without item.id")
            return
        if not isinstance(index, int):
            index = None
        if iid in self._items or (index is not None and index in state.indexes):
            self._violate(
                R.ITEM_ADDED_TWICE,
                f"item {iid} / output_index {index} was already added",
                item_id=iid,
            )
            return
        record = _Item(iid, index, state.response_id, _str(item.get("type")))
        state.items[iid] = record
        if index is not None:
            state.indexes.add(index)
        self._items[iid] = record
        call_id = item.get("call_id")
        if isinstance(call_id, str):
            self._call_ids.add(call_id)

    def _item_done(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        state = self._active(event)
        if state is None:
            return
        item = event.get("item")
        iid = item.get("id") if _is_map(item) else None
        record = state.items.get(iid) if isinstance(iid, str) else None
        if record is None:
            self._violate(
                R.ITEM_NOT_OPEN,
                f"output_item.done for item {iid} that is not open",
                item_id=_str(iid),
            )
            return
        index = event.get("output_index")
        if index != record.output_index:
            self._violate(
                R.ITEM_INDEX_MISMATCH,
                f"output_index {index} but item {iid} was added at {record.output_index}",
                item_id=record.item_id,
            )
        open_parts = [str(i) for i, part in record.parts.items() if not part.done]
        if open_parts:
            self._violate(
                R.ITEM_DONE_WITH_OPEN_PART,
                f"item {iid} done with content part(s) {', '.join(open_parts)} still open",
                item_id=record.item_id,
            )
        del state.items[record.item_id]
        self._close_item(record)

    def _open_item(self, event: Mapping[str, Any], state: _Response) -> _Item | None:
        iid = event.get("item_id")
        record = state.items.get(iid) if isinstance(iid, str) else None
        if record is None:
            self._violate(R.ITEM_NOT_OPEN, f"item {iid} is not open")
            return None
        index = event.get("output_index")
        if index is not None and index != record.output_index:
            self._violate(
                R.ITEM_INDEX_MISMATCH,
                f"output_index {index} but item {iid} was added at {record.output_index}",
            )
        return record

    def _part_added(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        state = self._active(event)
        record = self._open_item(event, state) if state else None
        if record is None:
            return
        index = event.get("content_index")
        index = index if isinstance(index, int) else 0
        if index in record.parts:
            self._violate(
                R.PART_ADDED_TWICE, f"content part {index} of {record.item_id} added again"
            )
            return
        part = _Part(record.item_id, index, record.response_id)
        record.parts[index] = part
        self._parts[(record.item_id, index)] = part

    def _part(self, event: Mapping[str, Any]) -> _Part | None:
        """The open part an event refers to, or None after reporting why it is not usable."""
        iid = event.get("item_id")
        index = event.get("content_index")
        part = None
        if isinstance(iid, str):
            try:
                part = self._parts.get((iid, index))  # type: ignore[arg-type]
            except TypeError:  # content_index of an unhashable JSON type (a list, an object)
                part = None
        if part is not None and not part.done and part.response_id == event.get("response_id"):
            # the hot path: the part is open, so its item and its response are active
            return part
        state = self._active(event)
        if state is None:
            return None
        if part is None:
            if isinstance(iid, str) and iid in state.items:
                self._violate(R.PART_NOT_OPEN, f"content part {index} of {iid} was not added")
            else:
                self._violate(R.ITEM_NOT_OPEN, f"item {iid} is not open")
            return None
        self._violate(R.DELTA_AFTER_PART_DONE, f"content part {index} of {iid} is already done")
        return None

    def _part_done(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        part = self._part(event)
        if part is None:
            return
        unfinished = part.streams_seen - part.streams_done
        if unfinished:
            names = ", ".join(sorted(unfinished))
            self._violate(
                R.PART_DONE_BEFORE_STREAM_DONE,
                f"content_part.done before the .done of its {names} stream",
            )
        part.done = True

    def _stream_delta(self, event: Mapping[str, Any], stream: _StreamInfo | None) -> None:
        assert stream is not None
        part = self._hot
        if (
            part is None
            or part.item_id != event.get("item_id")
            or part.content_index != event.get("content_index")
            or part.done
            or part.response_id != event.get("response_id")
        ):
            try:
                part = self._parts.get((event.get("item_id"), event.get("content_index")))  # type: ignore[arg-type]
            except TypeError:  # an id or index of an unhashable JSON type: the slow path says so
                part = None
            if part is None or part.done or part.response_id != event.get("response_id"):
                part = self._part(event)
                if part is None:
                    return
            self._hot = part
        key = stream.key
        if key in part.streams_done:
            self._violate(R.DELTA_AFTER_STREAM_DONE, f"{key} delta after its .done")
            return
        part.streams_seen.add(key)
        delta = event.get("delta")
        if stream.audio:
            if isinstance(delta, str):
                if delta == self._last_delta:
                    size = self._last_delta_size
                else:
                    size = b64_decoded_length(delta)
                    self._last_delta, self._last_delta_size = delta, size
            elif is_elided(delta):
                return
            else:
                size = None
            if size is None:
                self._violate(R.AUDIO_NOT_BASE64, "audio delta is not valid base64")
            elif size % 2 and self._pcm_output_of(event):
                self._violate(
                    R.AUDIO_PARTIAL_SAMPLE, f"PCM16 audio delta of {size} bytes splits a sample"
                )
        elif isinstance(delta, str):
            chunks = part.text.get(key)
            if chunks is None:
                part.text[key] = [delta]
            else:
                chunks.append(delta)

    def _pcm_output_of(self, event: Mapping[str, Any]) -> bool:
        rid = event.get("response_id")
        state = self._responses.get(rid) if isinstance(rid, str) else None
        return state.pcm_output if state is not None else self._pcm_output

    def _stream_done(self, event: Mapping[str, Any], stream: _StreamInfo | None) -> None:
        assert stream is not None
        part = self._part(event)
        if part is None:
            return
        key = stream.key
        if key in part.streams_done:
            self._violate(R.STREAM_DONE_TWICE, f"second {key} .done")
            return
        part.streams_done.add(key)
        part.streams_seen.add(key)
        if stream.final_field is None or stream.mismatch is None or not self._deltas:
            return
        final = event.get(stream.final_field)
        joined = "".join(part.text.pop(key, ()))
        if isinstance(final, str) and final != joined:
            self._violate(
                stream.mismatch,
                f"deltas add up to {_clip(joined)!r} but .done has {_clip(final)!r}",
            )

    def _arguments_item(self, event: Mapping[str, Any], what: str) -> _Item | None:
        """The open function-call item whose arguments are still streaming, or None."""
        state = self._active(event)
        record = self._open_item(event, state) if state else None
        if record is not None and record.arguments_done:
            self._violate(R.ARGUMENTS_NOT_OPEN, f"{what} after arguments .done")
            return None
        return record

    def _args_delta(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        record = self._arguments_item(event, "arguments delta")
        if record is None:
            return
        delta = event.get("delta")
        if isinstance(delta, str):
            record.arguments.append(delta)

    def _args_done(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        record = self._arguments_item(event, "second .done")
        if record is None:
            return
        record.arguments_done = True
        final = event.get("arguments")
        joined = "".join(record.arguments)
        if isinstance(final, str) and final != joined:
            self._violate(
                R.ARGUMENTS_MISMATCH,
                f"deltas add up to {_clip(joined)!r} but .done has {_clip(final)!r}",
            )

    def _error(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        error = event.get("error")
        if _is_map(error) and error.get("code") == _COMMIT_EMPTY:
            self._commits_pending = max(0, self._commits_pending - 1)
        active = [r.response_id for r in self._responses.values() if r.default_conversation]
        from realtime_harness.protocol.failures import failure_from_error_event

        self.failures.append(
            failure_from_error_event(
                event,
                session_id=self.session_id,
                response_id=active[0] if len(active) == 1 else None,
                line=self._line,
                t=_time(self._t),
            )
        )

    def _free(self, event: Mapping[str, Any], _: _StreamInfo | None) -> None:
        etype = event.get("type")
        if etype == INPUT_AUDIO_BUFFER_COMMITTED:
            if self._commits_pending:
                self._commits_pending -= 1
            else:  # the server VAD committed on its own: the buffer is empty now
                self._buffer_ms = 0.0
        elif etype == INPUT_AUDIO_BUFFER_CLEARED:
            self._buffer_ms = 0.0

    # --- client side ---------------------------------------------------------------------------
    def client_event(
        self, event: Mapping[str, Any], *, line: int | None = None, t: float | None = None
    ) -> None:
        """Check one event the client sent, in the order it was sent relative to server events."""
        self.events += 1
        self._event = event
        self._line = line
        self._t = t
        etype = event.get("type")
        if not self._session_created and not self._before_created_reported:
            self._before_created_reported = True
            self._violate(
                R.CLIENT_BEFORE_SESSION_CREATED, f"{etype} sent before session.created arrived"
            )
        handler = _CLIENT.get(etype) if isinstance(etype, str) else None
        if handler is None:
            self._violate(R.CLIENT_UNKNOWN_TYPE, f"unknown client event type {etype!r}")
            return
        handler(self, event)

    def own_append(self, event_id: str, size: int, t: float) -> None:
        """An append the client built itself from checked PCM16, ``size`` bytes decoded.

        The same checks as :meth:`client_event` on the append's elided form (order, size,
        buffered duration); the common case, nothing to report, builds no event. This is the
        paced hot path of every session (ten calls a second per session).
        """
        if self._counted_append(size):
            return
        chars = -(-size // 3) * 4
        audio = {"elided": True, "chars": chars, "bytes": size}
        event = {"type": INPUT_AUDIO_BUFFER_APPEND, "event_id": event_id, "audio": audio}
        self.client_event(event, t=t)

    def checked_append(self, event: Mapping[str, Any], size: int) -> None:
        """:meth:`client_event` for an append the caller has already decoded: ``size`` bytes,
        and ``event`` carries them elided (``{"elided": true, "chars": …, "bytes": size}``).

        The same verdicts and counts as :meth:`client_event`; the common case, nothing to
        report, skips the type lookup and the payload checks. A mock server's hot path: it
        checks each append's base64 once and hands the size on (ten appends a second per
        session).
        """
        if _is_append(event.get("type")) and self._counted_append(size):
            return
        self.client_event(event)

    def _counted_append(self, size: int) -> bool:
        """Count an append of ``size`` bytes that breaks no rule now (the common case of both
        fast paths above); False when the full check must run to say what it breaks."""
        if (
            self._session_created
            and (self._session_updated or not self._vad_off_requested)
            and size <= MAX_APPEND_BYTES
            and not (size % 2 and self._input_bytes_per_ms == BYTES_PER_MS)
        ):
            self.events += 1
            self._buffer_ms += size / self._input_bytes_per_ms
            return True
        return False

    def _client_other(self, event: Mapping[str, Any]) -> None:
        """An accepted client event no rule tracks."""

    def _client_commit(self, event: Mapping[str, Any]) -> None:
        if self._buffer_ms < R.MIN_COMMIT_MS:
            self._violate(
                R.CLIENT_COMMIT_TOO_SMALL,
                f"commit after {self._buffer_ms:.2f} ms of audio (needs {R.MIN_COMMIT_MS:.0f} ms)",
            )
        self._commits_pending += 1
        self._buffer_ms = 0.0

    def _client_clear(self, event: Mapping[str, Any]) -> None:
        self._buffer_ms = 0.0

    def _client_response_create(self, event: Mapping[str, Any]) -> None:
        params = event.get("response")
        out_of_band = _is_map(params) and params.get("conversation") == "none"
        active = [r.response_id for r in self._responses.values() if r.default_conversation]
        if active and not out_of_band:
            self._violate(
                R.CLIENT_RESPONSE_WHILE_ACTIVE,
                f"response.create while {active[0]} is active",
                response_id=active[0],
            )

    def _client_response_cancel(self, event: Mapping[str, Any]) -> None:
        if not self._responses:
            self._violate(R.CLIENT_CANCEL_NOT_ACTIVE, "response.cancel with no active response")

    def _client_item_create(self, event: Mapping[str, Any]) -> None:
        item = event.get("item")
        if _is_map(item) and item.get("type") == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or call_id not in self._call_ids:
                self._violate(
                    R.CLIENT_UNKNOWN_CALL_ID,
                    f"function_call_output for call_id {call_id!r} the server never issued",
                )

    def _client_append(self, event: Mapping[str, Any]) -> None:
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
            )
        audio = event.get("audio")
        exact = True
        if isinstance(audio, str):
            size_or_none = b64_decoded_length(audio)
            if size_or_none is None:
                self._violate(R.CLIENT_AUDIO_INVALID, "appended audio is not valid base64")
                return
            size = size_or_none
        elif is_elided(audio):
            # Recordings made before elided payloads carried "bytes" give only the base64
            # length: the decoded size is then known to within the padding, not its parity.
            exact = elided_decoded_length(audio) is not None
            size = elided_approx_length(audio)
        else:
            self._violate(R.CLIENT_AUDIO_INVALID, "appended audio is not valid base64")
            return
        if size > MAX_APPEND_BYTES:
            self._violate(R.CLIENT_AUDIO_INVALID, f"append of {size} bytes exceeds 15 MiB")
        elif exact and self._input_bytes_per_ms == BYTES_PER_MS and size % 2:
            self._violate(R.CLIENT_AUDIO_INVALID, f"PCM16 append of {size} bytes splits a sample")
        self._buffer_ms += size / self._input_bytes_per_ms

    def _client_session_update(self, event: Mapping[str, Any]) -> None:
        session = event.get("session")
        if not _is_map(session):
            return
        if (
            self.dialect is Dialect.GA
            and "type" not in session
            and event.get("type") == SESSION_UPDATE
        ):
            self._violate(R.CLIENT_MISSING_SESSION_TYPE, "GA session.update without type")
        wrong = SC.other_dialect_fields(self.dialect, session) if self.dialect else []
        if wrong:
            self._violate(
                R.CLIENT_DIALECT_MISMATCH,
                f"session field(s) {', '.join(wrong)} belong to the other dialect",
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
        if not self._any_server_event:
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


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ServerHandler = Callable[[Validator, Mapping[str, Any], _StreamInfo | None], None]
_ClientHandler = Callable[[Validator, Mapping[str, Any]], None]

#: The server side's role table: what each role of the grammar does.
_SERVER_HANDLERS: Final[dict[Role, _ServerHandler]] = {
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
#: The client side's role table.
_CLIENT_HANDLERS: Final[dict[ClientRole, _ClientHandler]] = {
    ClientRole.SESSION_UPDATE: Validator._client_session_update,
    ClientRole.APPEND: Validator._client_append,
    ClientRole.COMMIT: Validator._client_commit,
    ClientRole.CLEAR: Validator._client_clear,
    ClientRole.ITEM_CREATE: Validator._client_item_create,
    ClientRole.RESPONSE_CREATE: Validator._client_response_create,
    ClientRole.RESPONSE_CANCEL: Validator._client_response_cancel,
    ClientRole.OTHER: Validator._client_other,
}

# Resolved once per event type, so each event costs one dict lookup: handler, stream, the
# dialect the name belongs to exclusively (None when shared), role.
_SERVER: Final[dict[str, tuple[_ServerHandler, _StreamInfo | None, Dialect | None, Role]]] = {
    name: (
        _SERVER_HANDLERS[role],
        _STREAM_INFO[stream] if stream is not None else None,
        dialect_of(name),
        role,
    )
    for name, (role, stream) in R.SERVER_ROLES.items()
}
_CLIENT: Final[dict[str, _ClientHandler]] = {
    name: _CLIENT_HANDLERS[role] for name, role in R.CLIENT_ROLES.items()
}


def _is_append(etype: object) -> bool:
    return isinstance(etype, str) and etype in APPEND_TYPES


def validate_events(events: Iterable[Mapping[str, Any]], dialect: Dialect | None = None) -> Report:
    """Validate a sequence of server events (as one connection received them)."""
    validator = Validator(dialect)
    for index, event in enumerate(events, start=1):
        validator.server_event(event, line=index)
    return validator.finish()
