"""Every event type of the Realtime API, client and server, in one table: the only place a wire
event type name is written.

Each row (:class:`EventSpec`) gives an event's GA name, its beta name (``None`` when the event
does not exist in that dialect), the side that sends it, its role (in the response grammar for
server events, in the client rules for client events), the delta stream it belongs to, and the
fields that carry its audio or text. Names follow the OpenAI Realtime API reference
(https://platform.openai.com/docs/api-reference/realtime-client-events and
``realtime-server-events``) and its beta-to-GA migration guide
(https://platform.openai.com/docs/guides/realtime#beta-to-ga-migration); the beta shape is also
Azure OpenAI's preview protocol (``/openai/realtime?api-version=…-preview``).

Consumers compare against the module-level constants (plain ``str``: ``etype ==
RESPONSE_OUTPUT_AUDIO_DELTA`` costs one string comparison) and look rows up with :func:`spec`,
:func:`to_dialect`, :func:`names` and :func:`dialect_of`. Each constant is named after its wire
name (dots become underscores, upper case).

This module is plain data: it imports nothing but :mod:`enum`, so the CLI can load it at start-up.
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only; keeps the runtime import to enum alone
    from collections.abc import Iterable
    from typing import Final, Literal

    Side = Literal["server", "client"]

__all__ = [
    "AUDIO_DELTAS",
    "AUDIO_FIELDS",
    "BETA_ONLY",
    "BETA_TO_GA",
    "CLIENT_TYPES",
    "EVENTS",
    "GA_ONLY",
    "GA_TO_BETA",
    "LIVE_CLIENT_TYPES",
    "SERVER_TYPES",
    "ClientRole",
    "Dialect",
    "EventSpec",
    "Role",
    "StreamKind",
    "detect_dialect",
    "dialect_of",
    "names",
    "spec",
    "to_dialect",
]


class Dialect(enum.StrEnum):
    """A wire dialect of the Realtime API.

    ``GA`` is the current OpenAI shape and Azure's ``/openai/v1/realtime``; ``BETA`` is the
    retired OpenAI ``OpenAI-Beta: realtime=v1`` shape, which is also Azure's preview protocol.
    """

    GA = "ga"
    BETA = "beta"


class Role(enum.Enum):
    """The role of a server event type in the response grammar."""

    SESSION_CREATED = enum.auto()
    SESSION_UPDATED = enum.auto()
    RESPONSE_CREATED = enum.auto()
    RESPONSE_DONE = enum.auto()
    ITEM_ADDED = enum.auto()
    ITEM_DONE = enum.auto()
    PART_ADDED = enum.auto()
    PART_DONE = enum.auto()
    STREAM_DELTA = enum.auto()
    STREAM_DONE = enum.auto()
    ARGS_DELTA = enum.auto()
    ARGS_DONE = enum.auto()
    ERROR = enum.auto()
    #: May appear anywhere after session.created: rate limits, VAD, transcription, conversation
    #: item events, WebRTC output buffer, MCP listing.
    FREE = enum.auto()


class ClientRole(enum.Enum):
    """What a client event does to the state the client rules check."""

    SESSION_UPDATE = enum.auto()
    APPEND = enum.auto()
    COMMIT = enum.auto()
    CLEAR = enum.auto()
    ITEM_CREATE = enum.auto()
    RESPONSE_CREATE = enum.auto()
    RESPONSE_CANCEL = enum.auto()
    #: Accepted by the server and not tracked by any rule.
    OTHER = enum.auto()


class StreamKind(enum.Enum):
    """The delta streams of a content part."""

    TEXT = "text"
    AUDIO = "audio"
    TRANSCRIPT = "transcript"


class EventSpec:
    """One event type: its names in both dialects and what the harness needs to know about it.

    ``ga``/``beta`` are the names in each dialect (``None``: absent there). ``to_ga`` is set on
    the beta-only events that GA folded into another event (``transcription_session.created``
    became ``session.created`` with ``type: "transcription"``). ``role`` is a :class:`Role` for
    server events and a :class:`ClientRole` for client events. ``audio_field``/``text_field``
    name the field holding base64 audio or text (a delta's ``delta``, a done's ``text``…).
    ``live`` marks client events in the live GA server's list of accepted types; ``detects``
    is False for single-dialect events too new to prove a stream's dialect wrong.
    """

    __slots__ = (
        "audio_field",
        "beta",
        "detects",
        "ga",
        "live",
        "role",
        "side",
        "stream",
        "text_field",
        "to_ga",
    )

    def __init__(
        self,
        side: Side,
        ga: str | None,
        beta: str | None,
        role: Role | ClientRole,
        *,
        stream: StreamKind | None = None,
        audio_field: str | None = None,
        text_field: str | None = None,
        to_ga: str | None = None,
        live: bool = False,
        detects: bool = True,
    ) -> None:
        self.side: Side = side
        self.ga = ga
        self.beta = beta
        self.role = role
        self.stream = stream
        self.audio_field = audio_field
        self.text_field = text_field
        self.to_ga = to_ga
        self.live = live
        self.detects = detects

    @property
    def names(self) -> tuple[str, ...]:
        """Every wire name of this event (GA first)."""
        if self.ga is None or self.beta is None or self.ga == self.beta:
            return tuple(n for n in (self.ga, self.beta) if n is not None)[:1]
        return (self.ga, self.beta)

    def name(self, dialect: Dialect) -> str | None:
        """The name in ``dialect``, or None when the event does not exist there."""
        return self.ga if dialect is Dialect.GA else self.beta

    def __repr__(self) -> str:
        return f"EventSpec({self.side}, ga={self.ga!r}, beta={self.beta!r}, {self.role})"


# --- client events (in the order the live GA server lists the types it accepts) ---------------
SESSION_UPDATE = "session.update"
SESSION_CLOSE = "session.close"
INPUT_AUDIO_BUFFER_APPEND = "input_audio_buffer.append"
SESSION_INPUT_AUDIO_BUFFER_APPEND = "session.input_audio_buffer.append"
INPUT_AUDIO_BUFFER_COMMIT = "input_audio_buffer.commit"
INPUT_AUDIO_BUFFER_CLEAR = "input_audio_buffer.clear"
CONVERSATION_ITEM_CREATE = "conversation.item.create"
CONVERSATION_ITEM_TRUNCATE = "conversation.item.truncate"
CONVERSATION_ITEM_DELETE = "conversation.item.delete"
CONVERSATION_ITEM_RETRIEVE = "conversation.item.retrieve"
RESPONSE_CREATE = "response.create"
RESPONSE_CANCEL = "response.cancel"
OUTPUT_AUDIO_BUFFER_CLEAR = "output_audio_buffer.clear"
TRANSCRIPTION_SESSION_UPDATE = "transcription_session.update"

# --- server events -----------------------------------------------------------------------------
SESSION_CREATED = "session.created"
SESSION_UPDATED = "session.updated"
TRANSCRIPTION_SESSION_CREATED = "transcription_session.created"
TRANSCRIPTION_SESSION_UPDATED = "transcription_session.updated"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_ITEM_ADDED = "conversation.item.added"
CONVERSATION_ITEM_CREATED = "conversation.item.created"
CONVERSATION_ITEM_DONE = "conversation.item.done"
CONVERSATION_ITEM_RETRIEVED = "conversation.item.retrieved"
CONVERSATION_ITEM_TRUNCATED = "conversation.item.truncated"
CONVERSATION_ITEM_DELETED = "conversation.item.deleted"
INPUT_TRANSCRIPTION_DELTA = "conversation.item.input_audio_transcription.delta"
INPUT_TRANSCRIPTION_COMPLETED = "conversation.item.input_audio_transcription.completed"
INPUT_TRANSCRIPTION_FAILED = "conversation.item.input_audio_transcription.failed"
INPUT_TRANSCRIPTION_SEGMENT = "conversation.item.input_audio_transcription.segment"
INPUT_AUDIO_BUFFER_COMMITTED = "input_audio_buffer.committed"
INPUT_AUDIO_BUFFER_CLEARED = "input_audio_buffer.cleared"
INPUT_AUDIO_BUFFER_SPEECH_STARTED = "input_audio_buffer.speech_started"
INPUT_AUDIO_BUFFER_SPEECH_STOPPED = "input_audio_buffer.speech_stopped"
INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED = "input_audio_buffer.timeout_triggered"
INPUT_AUDIO_BUFFER_DTMF_EVENT_RECEIVED = "input_audio_buffer.dtmf_event_received"
OUTPUT_AUDIO_BUFFER_STARTED = "output_audio_buffer.started"
OUTPUT_AUDIO_BUFFER_STOPPED = "output_audio_buffer.stopped"
OUTPUT_AUDIO_BUFFER_CLEARED = "output_audio_buffer.cleared"
RATE_LIMITS_UPDATED = "rate_limits.updated"
RESPONSE_CREATED = "response.created"
RESPONSE_DONE = "response.done"
RESPONSE_OUTPUT_ITEM_ADDED = "response.output_item.added"
RESPONSE_OUTPUT_ITEM_DONE = "response.output_item.done"
RESPONSE_CONTENT_PART_ADDED = "response.content_part.added"
RESPONSE_CONTENT_PART_DONE = "response.content_part.done"
RESPONSE_OUTPUT_TEXT_DELTA = "response.output_text.delta"
RESPONSE_OUTPUT_TEXT_DONE = "response.output_text.done"
RESPONSE_TEXT_DELTA = "response.text.delta"
RESPONSE_TEXT_DONE = "response.text.done"
RESPONSE_OUTPUT_AUDIO_DELTA = "response.output_audio.delta"
RESPONSE_OUTPUT_AUDIO_DONE = "response.output_audio.done"
RESPONSE_AUDIO_DELTA = "response.audio.delta"
RESPONSE_AUDIO_DONE = "response.audio.done"
RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA = "response.output_audio_transcript.delta"
RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE = "response.output_audio_transcript.done"
RESPONSE_AUDIO_TRANSCRIPT_DELTA = "response.audio_transcript.delta"
RESPONSE_AUDIO_TRANSCRIPT_DONE = "response.audio_transcript.done"
RESPONSE_FUNCTION_CALL_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE = "response.function_call_arguments.done"
MCP_LIST_TOOLS_IN_PROGRESS = "mcp_list_tools.in_progress"
MCP_LIST_TOOLS_COMPLETED = "mcp_list_tools.completed"
MCP_LIST_TOOLS_FAILED = "mcp_list_tools.failed"
RESPONSE_MCP_CALL_ARGUMENTS_DELTA = "response.mcp_call_arguments.delta"
RESPONSE_MCP_CALL_ARGUMENTS_DONE = "response.mcp_call_arguments.done"
RESPONSE_MCP_CALL_IN_PROGRESS = "response.mcp_call.in_progress"
RESPONSE_MCP_CALL_COMPLETED = "response.mcp_call.completed"
RESPONSE_MCP_CALL_FAILED = "response.mcp_call.failed"
ERROR = "error"

#: Short names for the names hot paths compare against most.
AUDIO_DELTA_GA = RESPONSE_OUTPUT_AUDIO_DELTA
AUDIO_DELTA_BETA = RESPONSE_AUDIO_DELTA
TEXT_DELTA_GA = RESPONSE_OUTPUT_TEXT_DELTA
TEXT_DELTA_BETA = RESPONSE_TEXT_DELTA
TRANSCRIPT_DELTA_GA = RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA
TRANSCRIPT_DELTA_BETA = RESPONSE_AUDIO_TRANSCRIPT_DELTA


def _client(
    ga: str | None,
    beta: str | None,
    role: ClientRole,
    *,
    live: bool = True,
    to_ga: str | None = None,
    audio_field: str | None = None,
) -> EventSpec:
    return EventSpec("client", ga, beta, role, live=live, to_ga=to_ga, audio_field=audio_field)


def _server(
    ga: str | None,
    beta: str | None,
    role: Role = Role.FREE,
    *,
    stream: StreamKind | None = None,
    audio_field: str | None = None,
    text_field: str | None = None,
    to_ga: str | None = None,
    detects: bool = True,
) -> EventSpec:
    return EventSpec(
        "server",
        ga,
        beta,
        role,
        stream=stream,
        audio_field=audio_field,
        text_field=text_field,
        to_ga=to_ga,
        detects=detects,
    )


_C = ClientRole
_S = StreamKind

#: The table. Client rows come in the order the live GA server lists the types it accepts
#: (the mock quotes that list in its ``invalid_value`` error, as the real server does).
EVENTS: Final[tuple[EventSpec, ...]] = (
    _client(SESSION_UPDATE, SESSION_UPDATE, _C.SESSION_UPDATE),
    _client(SESSION_CLOSE, None, _C.OTHER),
    _client(INPUT_AUDIO_BUFFER_APPEND, INPUT_AUDIO_BUFFER_APPEND, _C.APPEND, audio_field="audio"),
    _client(SESSION_INPUT_AUDIO_BUFFER_APPEND, None, _C.APPEND, audio_field="audio"),
    _client(INPUT_AUDIO_BUFFER_COMMIT, INPUT_AUDIO_BUFFER_COMMIT, _C.COMMIT),
    _client(INPUT_AUDIO_BUFFER_CLEAR, INPUT_AUDIO_BUFFER_CLEAR, _C.CLEAR),
    _client(CONVERSATION_ITEM_CREATE, CONVERSATION_ITEM_CREATE, _C.ITEM_CREATE),
    _client(CONVERSATION_ITEM_TRUNCATE, CONVERSATION_ITEM_TRUNCATE, _C.OTHER),
    _client(CONVERSATION_ITEM_DELETE, CONVERSATION_ITEM_DELETE, _C.OTHER),
    _client(CONVERSATION_ITEM_RETRIEVE, CONVERSATION_ITEM_RETRIEVE, _C.OTHER),
    _client(RESPONSE_CREATE, RESPONSE_CREATE, _C.RESPONSE_CREATE),
    _client(RESPONSE_CANCEL, RESPONSE_CANCEL, _C.RESPONSE_CANCEL),
    # WebRTC/SIP only; absent from the WebSocket lists.
    _client(OUTPUT_AUDIO_BUFFER_CLEAR, OUTPUT_AUDIO_BUFFER_CLEAR, _C.OTHER, live=False),
    # Beta transcription sessions; GA sends session.update with session.type "transcription".
    _client(
        None,
        TRANSCRIPTION_SESSION_UPDATE,
        _C.SESSION_UPDATE,
        live=False,
        to_ga=SESSION_UPDATE,
    ),
    # --- server -----------------------------------------------------------------------------
    _server(SESSION_CREATED, SESSION_CREATED, Role.SESSION_CREATED),
    _server(SESSION_UPDATED, SESSION_UPDATED, Role.SESSION_UPDATED),
    _server(None, TRANSCRIPTION_SESSION_CREATED, Role.SESSION_CREATED, to_ga=SESSION_CREATED),
    _server(None, TRANSCRIPTION_SESSION_UPDATED, Role.SESSION_UPDATED, to_ga=SESSION_UPDATED),
    _server(CONVERSATION_CREATED, CONVERSATION_CREATED),
    # GA replaced conversation.item.created by the pair .added + .done; .created maps to .added,
    # the event that takes its place. It stays in the GA SDK union but GA servers do not send it.
    _server(CONVERSATION_ITEM_ADDED, CONVERSATION_ITEM_CREATED),
    _server(CONVERSATION_ITEM_DONE, None),
    _server(CONVERSATION_ITEM_RETRIEVED, CONVERSATION_ITEM_RETRIEVED),
    _server(CONVERSATION_ITEM_TRUNCATED, CONVERSATION_ITEM_TRUNCATED),
    _server(CONVERSATION_ITEM_DELETED, CONVERSATION_ITEM_DELETED),
    _server(INPUT_TRANSCRIPTION_DELTA, INPUT_TRANSCRIPTION_DELTA, text_field="delta"),
    _server(INPUT_TRANSCRIPTION_COMPLETED, INPUT_TRANSCRIPTION_COMPLETED, text_field="transcript"),
    _server(INPUT_TRANSCRIPTION_FAILED, INPUT_TRANSCRIPTION_FAILED),
    _server(INPUT_TRANSCRIPTION_SEGMENT, INPUT_TRANSCRIPTION_SEGMENT, text_field="text"),
    _server(INPUT_AUDIO_BUFFER_COMMITTED, INPUT_AUDIO_BUFFER_COMMITTED),
    _server(INPUT_AUDIO_BUFFER_CLEARED, INPUT_AUDIO_BUFFER_CLEARED),
    _server(INPUT_AUDIO_BUFFER_SPEECH_STARTED, INPUT_AUDIO_BUFFER_SPEECH_STARTED),
    _server(INPUT_AUDIO_BUFFER_SPEECH_STOPPED, INPUT_AUDIO_BUFFER_SPEECH_STOPPED),
    _server(INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED, None),
    _server(INPUT_AUDIO_BUFFER_DTMF_EVENT_RECEIVED, None),
    _server(OUTPUT_AUDIO_BUFFER_STARTED, OUTPUT_AUDIO_BUFFER_STARTED),
    _server(OUTPUT_AUDIO_BUFFER_STOPPED, OUTPUT_AUDIO_BUFFER_STOPPED),
    _server(OUTPUT_AUDIO_BUFFER_CLEARED, OUTPUT_AUDIO_BUFFER_CLEARED),
    _server(RATE_LIMITS_UPDATED, RATE_LIMITS_UPDATED),
    _server(RESPONSE_CREATED, RESPONSE_CREATED, Role.RESPONSE_CREATED),
    _server(RESPONSE_DONE, RESPONSE_DONE, Role.RESPONSE_DONE),
    _server(RESPONSE_OUTPUT_ITEM_ADDED, RESPONSE_OUTPUT_ITEM_ADDED, Role.ITEM_ADDED),
    _server(RESPONSE_OUTPUT_ITEM_DONE, RESPONSE_OUTPUT_ITEM_DONE, Role.ITEM_DONE),
    _server(RESPONSE_CONTENT_PART_ADDED, RESPONSE_CONTENT_PART_ADDED, Role.PART_ADDED),
    _server(RESPONSE_CONTENT_PART_DONE, RESPONSE_CONTENT_PART_DONE, Role.PART_DONE),
    _server(
        RESPONSE_OUTPUT_TEXT_DELTA,
        RESPONSE_TEXT_DELTA,
        Role.STREAM_DELTA,
        stream=_S.TEXT,
        text_field="delta",
    ),
    _server(
        RESPONSE_OUTPUT_TEXT_DONE,
        RESPONSE_TEXT_DONE,
        Role.STREAM_DONE,
        stream=_S.TEXT,
        text_field="text",
    ),
    _server(
        RESPONSE_OUTPUT_AUDIO_DELTA,
        RESPONSE_AUDIO_DELTA,
        Role.STREAM_DELTA,
        stream=_S.AUDIO,
        audio_field="delta",
    ),
    _server(RESPONSE_OUTPUT_AUDIO_DONE, RESPONSE_AUDIO_DONE, Role.STREAM_DONE, stream=_S.AUDIO),
    _server(
        RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA,
        RESPONSE_AUDIO_TRANSCRIPT_DELTA,
        Role.STREAM_DELTA,
        stream=_S.TRANSCRIPT,
        text_field="delta",
    ),
    _server(
        RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE,
        RESPONSE_AUDIO_TRANSCRIPT_DONE,
        Role.STREAM_DONE,
        stream=_S.TRANSCRIPT,
        text_field="transcript",
    ),
    _server(
        RESPONSE_FUNCTION_CALL_ARGUMENTS_DELTA,
        RESPONSE_FUNCTION_CALL_ARGUMENTS_DELTA,
        Role.ARGS_DELTA,
        text_field="delta",
    ),
    _server(
        RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE,
        RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE,
        Role.ARGS_DONE,
        text_field="arguments",
    ),
    # MCP tool events exist in the GA types only; too new to prove a beta stream wrong.
    _server(MCP_LIST_TOOLS_IN_PROGRESS, None, detects=False),
    _server(MCP_LIST_TOOLS_COMPLETED, None, detects=False),
    _server(MCP_LIST_TOOLS_FAILED, None, detects=False),
    _server(RESPONSE_MCP_CALL_ARGUMENTS_DELTA, None, detects=False),
    _server(RESPONSE_MCP_CALL_ARGUMENTS_DONE, None, detects=False),
    _server(RESPONSE_MCP_CALL_IN_PROGRESS, None, detects=False),
    _server(RESPONSE_MCP_CALL_COMPLETED, None, detects=False),
    _server(RESPONSE_MCP_CALL_FAILED, None, detects=False),
    _server(ERROR, ERROR, Role.ERROR),
)

# --- derived lookups (computed once at import) ------------------------------------------------
_BY_NAME: dict[str, EventSpec] = {}
for _row in EVENTS:
    for _name in _row.names:
        _BY_NAME[_name] = _row

#: Every server / client event type name, in either dialect.
SERVER_TYPES: Final[frozenset[str]] = frozenset(
    n for r in EVENTS if r.side == "server" for n in r.names
)
CLIENT_TYPES: Final[frozenset[str]] = frozenset(
    n for r in EVENTS if r.side == "client" for n in r.names
)
#: Client event types the live OpenAI GA server lists as supported, in its order.
LIVE_CLIENT_TYPES: Final[tuple[str, ...]] = tuple(
    r.ga for r in EVENTS if r.side == "client" and r.live and r.ga is not None
)

#: The rename table: beta name → the GA name that takes its place.
BETA_TO_GA: Final[dict[str, str]] = {
    r.beta: (r.ga or r.to_ga)  # type: ignore[misc]
    for r in EVENTS
    if r.beta is not None and (r.ga or r.to_ga) not in (None, r.beta)
}
#: GA name → beta name, for events that exist in both under different names.
GA_TO_BETA: Final[dict[str, str]] = {
    r.ga: r.beta for r in EVENTS if r.ga is not None and r.beta is not None and r.ga != r.beta
}
#: Server event types that exist only in one dialect: seeing one identifies the dialect.
BETA_ONLY: Final[frozenset[str]] = frozenset(
    r.beta
    for r in EVENTS
    if r.side == "server" and r.detects and r.beta is not None and r.ga != r.beta
)
GA_ONLY: Final[frozenset[str]] = frozenset(
    r.ga for r in EVENTS if r.side == "server" and r.detects and r.ga is not None and r.ga != r.beta
)
_DIALECT_OF: dict[str, Dialect] = {
    **dict.fromkeys(GA_ONLY, Dialect.GA),
    **dict.fromkeys(BETA_ONLY, Dialect.BETA),
}
_NAMES: dict[tuple[str, Dialect | None], frozenset[str]] = {}
for _side in ("server", "client"):
    _NAMES[(_side, None)] = SERVER_TYPES if _side == "server" else CLIENT_TYPES
    for _d in Dialect:
        _NAMES[(_side, _d)] = frozenset(
            n for r in EVENTS if r.side == _side for n in (r.name(_d),) if n is not None
        )

#: Event type → the field that carries base64 audio (audio deltas and appends).
AUDIO_FIELDS: Final[dict[str, str]] = {
    n: r.audio_field for r in EVENTS if r.audio_field is not None for n in r.names
}
#: Both names of the server's audio delta.
AUDIO_DELTAS: Final[frozenset[str]] = frozenset((AUDIO_DELTA_GA, AUDIO_DELTA_BETA))
#: The client event types that append input audio (both dialects): the paced hot path.
APPEND_TYPES: Final[frozenset[str]] = frozenset(
    n for r in EVENTS if r.side == "client" and r.role is ClientRole.APPEND for n in r.names
)


def spec(event_type: object) -> EventSpec | None:
    """The row of an event type name (either dialect), or None for names not in the table."""
    return _BY_NAME.get(event_type) if isinstance(event_type, str) else None


def names(side: Side, dialect: Dialect | None = None) -> frozenset[str]:
    """Every event type name ``side`` sends in ``dialect`` (both dialects when None)."""
    return _NAMES[(side, dialect)]


def dialect_of(event_type: str) -> Dialect | None:
    """The dialect a server event type belongs to exclusively, or None for shared names."""
    return _DIALECT_OF.get(event_type)


def detect_dialect(event_types: Iterable[str]) -> Dialect | None:
    """The dialect of a stream: the first dialect-specific event type decides."""
    for event_type in event_types:
        found = _DIALECT_OF.get(event_type)
        if found is not None:
            return found
    return None


def to_dialect(event_type: str, dialect: Dialect) -> str:
    """The name of ``event_type`` in ``dialect`` (unchanged when shared or already there)."""
    if dialect is Dialect.GA:
        return BETA_TO_GA.get(event_type, event_type)
    return GA_TO_BETA.get(event_type, event_type)


del _row, _name, _side, _d
