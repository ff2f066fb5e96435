"""The ordering rules of the Realtime protocol, as data: one table, one place.

Each :class:`Rule` has a short stable name that appears in every report (``validate``, ``probe``,
the mock's client checks, the pytest plugin), the side it judges (what the server sends, or what
the client sends), a one-line statement, and the public reference it comes from. The validator
(:mod:`realtime_harness.protocol.validator`) implements them; this module also holds the
classification of every server event type into its role in the response grammar, so that both
dialects share one grammar: beta names are mapped through the dialect table.

What real servers do that the documentation does not say is tolerated here on purpose (see the
real traces): ``conversation.created`` may be absent; ``rate_limits.updated``, ``error``, input
transcription, VAD and WebRTC ``output_audio_buffer.*`` events are position-free; a cancelled or
failed response may end with items still open; a recording may stop mid-stream (reported as
incomplete, not as a violation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from realtime_harness.protocol import catalog
from realtime_harness.protocol.audio import MIN_COMMIT_MS
from realtime_harness.protocol.catalog import ClientRole, Role, StreamKind

__all__ = [
    "CLIENT_EVENT_TYPES",
    "CLIENT_ROLES",
    "FAILED_STATUSES",
    "LIVE_CLIENT_EVENT_TYPES",
    "MIN_COMMIT_MS",
    "RULES",
    "SERVER_ROLES",
    "STREAMS",
    "ClientRole",
    "Role",
    "Rule",
    "Stream",
    "StreamKind",
]

Side = Literal["server", "client"]

#: The final statuses of a ``response.done`` that are the server reporting a failure (a failed
#: or incomplete response), not a broken rule: they become failure records with every id.
FAILED_STATUSES: Final = ("failed", "incomplete")


@dataclass(frozen=True, slots=True)
class Rule:
    """One checkable rule: its stable name, the side it judges, what it says, its source."""

    name: str
    side: Side
    summary: str
    reference: str


# Where each rule comes from: the public API references (the ordering rules follow from the
# server events' descriptions there; docs/validate.md explains each rule).
_WS_GUIDE = "https://platform.openai.com/docs/guides/realtime-websocket"
_SERVER_EVENTS = "https://platform.openai.com/docs/api-reference/realtime-server-events"
_CLIENT_EVENTS = "https://platform.openai.com/docs/api-reference/realtime-client-events"
_JSONL = "https://jsonlines.org"

_TABLE: dict[str, Rule] = {}


def _rule(name: str, side: Side, summary: str, reference: str) -> Rule:
    rule = Rule(name, side, summary, reference)
    if name in _TABLE:  # pragma: no cover - guards the table itself at import time
        raise ValueError(f"duplicate rule name {name}")
    _TABLE[name] = rule
    return rule


# --- input: lines of a file --------------------------------------------------------------------
BAD_LINE = _rule(
    "bad-line", "server", "Every line is one JSON object with a string 'type'.", _JSONL
)

# --- session -----------------------------------------------------------------------------------
FIRST_EVENT = _rule(
    "first-event-session-created",
    "server",
    "The first server event is session.created (errors refusing the session may precede it).",
    _WS_GUIDE,
)
SESSION_CREATED_ONCE = _rule(
    "session-created-once", "server", "session.created is sent once per connection.", _SERVER_EVENTS
)
EVENT_ID_UNIQUE = _rule(
    "event-id-unique",
    "server",
    "Every server event_id is unique within the connection (checked over a bounded window).",
    _SERVER_EVENTS,
)
EVENT_ID_MISSING = _rule(
    "event-id-missing", "server", "Every server event carries a string event_id.", _SERVER_EVENTS
)
DIALECT_MISMATCH = _rule(
    "dialect-mismatch",
    "server",
    "A beta stream never uses GA-only names and a GA stream never uses beta-only names.",
    _SERVER_EVENTS,
)

# --- responses ---------------------------------------------------------------------------------
RESPONSE_ID_REUSED = _rule(
    "response-id-reused", "server", "response.created introduces a new response id.", _SERVER_EVENTS
)
RESPONSE_NOT_ACTIVE = _rule(
    "response-not-active",
    "server",
    "Every response.* event refers to a response that was created and is not yet done.",
    _SERVER_EVENTS,
)
EVENT_AFTER_RESPONSE_DONE = _rule(
    "event-after-response-done",
    "server",
    "No response.* event for a response follows its response.done.",
    _SERVER_EVENTS,
)
DONE_WITHOUT_CREATED = _rule(
    "done-without-created",
    "server",
    "response.done refers to a response that response.created introduced.",
    _SERVER_EVENTS,
)
DONE_TWICE = _rule(
    "done-twice", "server", "One response.done per response.created.", _SERVER_EVENTS
)
ONE_ACTIVE_RESPONSE = _rule(
    "one-active-response",
    "server",
    "At most one response writes to the default conversation at a time.",
    _SERVER_EVENTS,
)
FINAL_STATUS = _rule(
    "final-status",
    "server",
    "response.done has status completed, cancelled, failed or incomplete, and status_details "
    "is null or matches that status.",
    _SERVER_EVENTS,
)
DONE_WITH_OPEN_ITEMS = _rule(
    "completed-with-open-items",
    "server",
    "A completed response closes every item and part before response.done.",
    _SERVER_EVENTS,
)

# --- items and content parts ------------------------------------------------------------------
ITEM_ADDED_TWICE = _rule(
    "item-added-twice",
    "server",
    "Each (response_id, output_index) and each item id is added once.",
    _SERVER_EVENTS,
)
ITEM_NOT_OPEN = _rule(
    "item-not-open",
    "server",
    "Parts, deltas and output_item.done refer to an item that output_item.added opened and "
    "output_item.done has not closed.",
    _SERVER_EVENTS,
)
ITEM_INDEX_MISMATCH = _rule(
    "item-index-mismatch",
    "server",
    "An event's output_index and item_id agree with the item's output_item.added.",
    _SERVER_EVENTS,
)
ITEM_DONE_WITH_OPEN_PART = _rule(
    "item-done-with-open-part",
    "server",
    "output_item.done follows content_part.done of every part of the item.",
    _SERVER_EVENTS,
)
PART_ADDED_TWICE = _rule(
    "part-added-twice", "server", "Each (item_id, content_index) is added once.", _SERVER_EVENTS
)
PART_NOT_OPEN = _rule(
    "part-not-open",
    "server",
    "Deltas, stream .done and content_part.done refer to a part that content_part.added opened.",
    _SERVER_EVENTS,
)
DELTA_AFTER_STREAM_DONE = _rule(
    "delta-after-stream-done",
    "server",
    "No delta of a stream follows that stream's .done.",
    _SERVER_EVENTS,
)
DELTA_AFTER_PART_DONE = _rule(
    "delta-after-part-done",
    "server",
    "No delta or stream .done follows the part's content_part.done.",
    _SERVER_EVENTS,
)
STREAM_DONE_TWICE = _rule(
    "stream-done-twice", "server", "Each stream of a part has one .done.", _SERVER_EVENTS
)
PART_DONE_BEFORE_STREAM_DONE = _rule(
    "part-done-before-stream-done",
    "server",
    "content_part.done follows the .done of every stream that sent deltas in the part.",
    _SERVER_EVENTS,
)
TEXT_MISMATCH = _rule(
    "text-mismatch",
    "server",
    "Concatenated output text deltas equal the text of output_text.done.",
    _SERVER_EVENTS,
)
TRANSCRIPT_MISMATCH = _rule(
    "transcript-mismatch",
    "server",
    "Concatenated audio transcript deltas equal the transcript of output_audio_transcript.done.",
    _SERVER_EVENTS,
)
ARGUMENTS_MISMATCH = _rule(
    "arguments-mismatch",
    "server",
    "Concatenated function_call_arguments deltas equal the arguments of .done.",
    _SERVER_EVENTS,
)
ARGUMENTS_NOT_OPEN = _rule(
    "arguments-not-open",
    "server",
    "Function-call argument events refer to an open function_call item and stop at .done.",
    _SERVER_EVENTS,
)
AUDIO_NOT_BASE64 = _rule(
    "audio-not-base64", "server", "Audio deltas are valid base64.", _SERVER_EVENTS
)
AUDIO_PARTIAL_SAMPLE = _rule(
    "audio-partial-sample",
    "server",
    "PCM16 audio deltas hold whole 16-bit samples (an even number of bytes).",
    _CLIENT_EVENTS,
)

# --- client side -------------------------------------------------------------------------------
CLIENT_BEFORE_SESSION_CREATED = _rule(
    "client-before-session-created",
    "client",
    "The client waits for session.created before sending events.",
    _CLIENT_EVENTS,
)
CLIENT_UNKNOWN_TYPE = _rule(
    "client-unknown-type",
    "client",
    "Client events use a type the server accepts (else error invalid_value).",
    _CLIENT_EVENTS,
)
CLIENT_MISSING_SESSION_TYPE = _rule(
    "client-missing-session-type",
    "client",
    "A GA session.update carries session.type (else missing_required_parameter).",
    _CLIENT_EVENTS,
)
CLIENT_DIALECT_MISMATCH = _rule(
    "client-dialect-mismatch",
    "client",
    "Client events and session fields use the session's dialect (beta 'modalities' on GA is "
    "unknown_parameter).",
    _CLIENT_EVENTS,
)
CLIENT_COMMIT_TOO_SMALL = _rule(
    "client-commit-too-small",
    "client",
    "A commit follows at least 100 ms of audio appended since the previous commit "
    "(else input_audio_buffer_commit_empty).",
    _CLIENT_EVENTS,
)
CLIENT_RESPONSE_WHILE_ACTIVE = _rule(
    "client-response-while-active",
    "client",
    "response.create for the default conversation waits until the active response is done "
    "(else conversation_already_has_active_response).",
    _CLIENT_EVENTS,
)
CLIENT_CANCEL_NOT_ACTIVE = _rule(
    "client-cancel-not-active",
    "client",
    "response.cancel is sent only while a response is active (else response_cancel_not_active).",
    _CLIENT_EVENTS,
)
CLIENT_APPEND_BEFORE_UPDATED = _rule(
    "client-append-before-session-updated",
    "client",
    "When the session is meant to run without VAD, audio is appended only after "
    "session.updated (default VAD is on until then).",
    _CLIENT_EVENTS,
)
CLIENT_AUDIO_INVALID = _rule(
    "client-audio-invalid",
    "client",
    "Appended audio is base64 of whole samples in the input format, at most 15 MiB per event.",
    _CLIENT_EVENTS,
)
CLIENT_UNKNOWN_CALL_ID = _rule(
    "client-unknown-call-id",
    "client",
    "A function_call_output answers a call_id the server issued.",
    _CLIENT_EVENTS,
)

#: Every rule by name.
RULES: Final[dict[str, Rule]] = dict(_TABLE)


# --- the grammar: every server event type's role, from the catalog ---------------------------


@dataclass(frozen=True, slots=True)
class Stream:
    """How a stream's deltas and .done carry their content, and which rule checks equality."""

    kind: StreamKind
    final_field: str | None  # the .done field that must equal the concatenated deltas
    mismatch: Rule | None


STREAMS: Final[dict[StreamKind, Stream]] = {
    StreamKind.TEXT: Stream(StreamKind.TEXT, "text", TEXT_MISMATCH),
    StreamKind.TRANSCRIPT: Stream(StreamKind.TRANSCRIPT, "transcript", TRANSCRIPT_MISMATCH),
    StreamKind.AUDIO: Stream(StreamKind.AUDIO, None, None),
}

#: Every known server event type (both dialects) → its role and stream kind.
SERVER_ROLES: Final[dict[str, tuple[Role, StreamKind | None]]] = {
    name: (row.role, row.stream)
    for row in catalog.EVENTS
    if row.side == "server" and isinstance(row.role, Role)
    for name in row.names
}
#: Every known client event type (both dialects) → what it does to the client-side state.
CLIENT_ROLES: Final[dict[str, ClientRole]] = {
    name: row.role
    for row in catalog.EVENTS
    if row.side == "client" and isinstance(row.role, ClientRole)
    for name in row.names
}

#: Client event types the live OpenAI GA server lists as supported, in its order; the mock
#: quotes this list in its invalid_value error, as the real server does.
LIVE_CLIENT_EVENT_TYPES: Final[tuple[str, ...]] = catalog.LIVE_CLIENT_TYPES

#: Client event types some server accepts: the live list, WebRTC/SIP's output buffer clear and
#: beta/Azure's transcription session update.
CLIENT_EVENT_TYPES: Final[frozenset[str]] = catalog.CLIENT_TYPES
