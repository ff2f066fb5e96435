"""Server → client events of both dialects (protocol §2.2), one frozen model per wire type.

Where GA and beta share a name and shape, one model serves both; renamed events have one model
per name (``ResponseOutputAudioDelta`` GA, ``ResponseAudioDelta`` beta). Each class's
``DIALECTS`` says which servers send it; parsing accepts every known type whatever the dialect,
because telling a stream's dialect apart is the validator's job (rule §3.7-10).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.events._common import (
    BETA,
    GA,
    ContentPart,
    Conversation,
    ConversationItem,
    ErrorInfo,
    RateLimit,
    RealtimeResponse,
    RealtimeSession,
    ServerEventBase,
    Usage,
)

__all__ = [
    "SERVER_EVENT_CLASSES",
    "ConversationCreated",
    "ConversationItemAdded",
    "ConversationItemCreated",
    "ConversationItemDeleted",
    "ConversationItemDone",
    "ConversationItemInputAudioTranscriptionCompleted",
    "ConversationItemInputAudioTranscriptionDelta",
    "ConversationItemInputAudioTranscriptionFailed",
    "ConversationItemInputAudioTranscriptionSegment",
    "ConversationItemRetrieved",
    "ConversationItemTruncated",
    "ErrorEvent",
    "InputAudioBufferCleared",
    "InputAudioBufferCommitted",
    "InputAudioBufferDtmfEventReceived",
    "InputAudioBufferSpeechStarted",
    "InputAudioBufferSpeechStopped",
    "InputAudioBufferTimeoutTriggered",
    "KnownServerEvent",
    "McpListToolsCompleted",
    "McpListToolsFailed",
    "McpListToolsInProgress",
    "OutputAudioBufferCleared",
    "OutputAudioBufferStarted",
    "OutputAudioBufferStopped",
    "RateLimitsUpdated",
    "ResponseAudioDelta",
    "ResponseAudioDone",
    "ResponseAudioTranscriptDelta",
    "ResponseAudioTranscriptDone",
    "ResponseContentPartAdded",
    "ResponseContentPartDone",
    "ResponseCreated",
    "ResponseDone",
    "ResponseFunctionCallArgumentsDelta",
    "ResponseFunctionCallArgumentsDone",
    "ResponseMcpCallArgumentsDelta",
    "ResponseMcpCallArgumentsDone",
    "ResponseMcpCallCompleted",
    "ResponseMcpCallFailed",
    "ResponseMcpCallInProgress",
    "ResponseOutputAudioDelta",
    "ResponseOutputAudioDone",
    "ResponseOutputAudioTranscriptDelta",
    "ResponseOutputAudioTranscriptDone",
    "ResponseOutputItemAdded",
    "ResponseOutputItemDone",
    "ResponseOutputTextDelta",
    "ResponseOutputTextDone",
    "ResponseTextDelta",
    "ResponseTextDone",
    "SessionCreated",
    "SessionUpdated",
    "TranscriptionSessionCreated",
    "TranscriptionSessionUpdated",
]


# ---------------------------------------------------------------------------------------------
# Shapes shared by several types (private bases; only concrete types are public).


class _SessionEvent(ServerEventBase):
    session: RealtimeSession


class _ItemEvent(ServerEventBase):
    item: ConversationItem
    previous_item_id: str | None = None


class _ItemIdEvent(ServerEventBase):
    item_id: str


class _ResponseEvent(ServerEventBase):
    response: RealtimeResponse


class _OutputItemEvent(ServerEventBase):
    response_id: str
    output_index: int
    item: ConversationItem


class _PartRef(ServerEventBase):
    """The four ids of a content stream: ``response_id``, ``item_id``, output and content index."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int


class _PartEvent(_PartRef):
    part: ContentPart


class _DeltaEvent(_PartRef):
    delta: str


class _ObfuscatedDeltaEvent(_DeltaEvent):
    # GA wire adds a random-length padding string to text deltas (length side channel defence).
    obfuscation: str | None = None


class _TextDoneEvent(_PartRef):
    text: str


class _TranscriptDoneEvent(_PartRef):
    transcript: str


class _OutputAudioBufferEvent(ServerEventBase):
    response_id: str


class _McpCallEvent(ServerEventBase):
    item_id: str
    output_index: int


# ---------------------------------------------------------------------------------------------
# Session and conversation.


class SessionCreated(_SessionEvent):
    """``session.created``: first server event, carrying the ``sess_…`` id (both dialects)."""

    type: Literal["session.created"] = "session.created"


class SessionUpdated(_SessionEvent):
    """``session.updated``: the full effective session after a ``session.update`` (both)."""

    type: Literal["session.updated"] = "session.updated"


class TranscriptionSessionCreated(_SessionEvent):
    """``transcription_session.created`` (beta only; GA uses ``session.created``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["transcription_session.created"] = "transcription_session.created"


class TranscriptionSessionUpdated(_SessionEvent):
    """``transcription_session.updated`` (beta only; GA uses ``session.updated``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["transcription_session.updated"] = "transcription_session.updated"


class ConversationCreated(ServerEventBase):
    """``conversation.created``: documented after session creation, never seen on the wire."""

    type: Literal["conversation.created"] = "conversation.created"
    conversation: Conversation


class ConversationItemCreated(_ItemEvent):
    """``conversation.item.created`` (beta; in the GA SDK union but not sent by GA servers)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["conversation.item.created"] = "conversation.item.created"


class ConversationItemAdded(_ItemEvent):
    """``conversation.item.added`` (GA): an item joined the conversation, content may follow."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["conversation.item.added"] = "conversation.item.added"


class ConversationItemDone(_ItemEvent):
    """``conversation.item.done`` (GA): an item is final."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["conversation.item.done"] = "conversation.item.done"


class ConversationItemRetrieved(ServerEventBase):
    """``conversation.item.retrieved``: reply to ``conversation.item.retrieve``, audio included."""

    type: Literal["conversation.item.retrieved"] = "conversation.item.retrieved"
    item: ConversationItem


class ConversationItemTruncated(_ItemIdEvent):
    """``conversation.item.truncated``: reply to ``conversation.item.truncate``."""

    type: Literal["conversation.item.truncated"] = "conversation.item.truncated"
    content_index: int
    audio_end_ms: int


class ConversationItemDeleted(_ItemIdEvent):
    """``conversation.item.deleted``: reply to ``conversation.item.delete``."""

    type: Literal["conversation.item.deleted"] = "conversation.item.deleted"


# ---------------------------------------------------------------------------------------------
# Input audio transcription (asynchronous with respect to responses, §3.3).


class ConversationItemInputAudioTranscriptionDelta(_ItemIdEvent):
    """``conversation.item.input_audio_transcription.delta``: streaming user transcript."""

    type: Literal["conversation.item.input_audio_transcription.delta"] = (
        "conversation.item.input_audio_transcription.delta"
    )
    content_index: int | None = None
    delta: str | None = None
    logprobs: tuple[dict[str, Any], ...] | None = None
    obfuscation: str | None = None


class ConversationItemInputAudioTranscriptionCompleted(_ItemIdEvent):
    """``conversation.item.input_audio_transcription.completed``: final user transcript."""

    type: Literal["conversation.item.input_audio_transcription.completed"] = (
        "conversation.item.input_audio_transcription.completed"
    )
    content_index: int
    transcript: str
    # Required by the SDK, but absent from the beta traces (Jan/Aug 2025).
    usage: Usage | None = None
    logprobs: tuple[dict[str, Any], ...] | None = None
    languages: tuple[str, ...] | None = None


class ConversationItemInputAudioTranscriptionFailed(_ItemIdEvent):
    """``conversation.item.input_audio_transcription.failed``: transcription error for an item."""

    type: Literal["conversation.item.input_audio_transcription.failed"] = (
        "conversation.item.input_audio_transcription.failed"
    )
    content_index: int
    error: ErrorInfo


class ConversationItemInputAudioTranscriptionSegment(_ItemIdEvent):
    """``conversation.item.input_audio_transcription.segment``: a diarized segment."""

    type: Literal["conversation.item.input_audio_transcription.segment"] = (
        "conversation.item.input_audio_transcription.segment"
    )
    content_index: int
    id: str
    text: str
    speaker: str
    start: float
    end: float


# ---------------------------------------------------------------------------------------------
# Input and output audio buffers.


class InputAudioBufferCommitted(_ItemIdEvent):
    """``input_audio_buffer.committed``: the buffer became user item ``item_id``."""

    type: Literal["input_audio_buffer.committed"] = "input_audio_buffer.committed"
    previous_item_id: str | None = None


class InputAudioBufferCleared(ServerEventBase):
    """``input_audio_buffer.cleared``: reply to ``input_audio_buffer.clear``."""

    type: Literal["input_audio_buffer.cleared"] = "input_audio_buffer.cleared"


class InputAudioBufferSpeechStarted(_ItemIdEvent):
    """``input_audio_buffer.speech_started``: VAD heard speech (server VAD only)."""

    type: Literal["input_audio_buffer.speech_started"] = "input_audio_buffer.speech_started"
    audio_start_ms: int


class InputAudioBufferSpeechStopped(_ItemIdEvent):
    """``input_audio_buffer.speech_stopped``: VAD heard the end of speech (server VAD only)."""

    type: Literal["input_audio_buffer.speech_stopped"] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int


class InputAudioBufferTimeoutTriggered(_ItemIdEvent):
    """``input_audio_buffer.timeout_triggered`` (GA): server_vad ``idle_timeout_ms`` elapsed."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["input_audio_buffer.timeout_triggered"] = "input_audio_buffer.timeout_triggered"
    audio_start_ms: int
    audio_end_ms: int


class InputAudioBufferDtmfEventReceived(ServerEventBase):
    """``input_audio_buffer.dtmf_event_received`` (GA, SIP only): a keypad digit."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["input_audio_buffer.dtmf_event_received"] = (
        "input_audio_buffer.dtmf_event_received"
    )
    # The spec and the GA SDK do not require an event_id on this SIP event.
    event_id: str | None = None
    event: str
    received_at: int


class OutputAudioBufferStarted(_OutputAudioBufferEvent):
    """``output_audio_buffer.started`` (WebRTC/SIP only): playback of a response began."""

    type: Literal["output_audio_buffer.started"] = "output_audio_buffer.started"


class OutputAudioBufferStopped(_OutputAudioBufferEvent):
    """``output_audio_buffer.stopped`` (WebRTC/SIP only): playback of a response ended."""

    type: Literal["output_audio_buffer.stopped"] = "output_audio_buffer.stopped"


class OutputAudioBufferCleared(_OutputAudioBufferEvent):
    """``output_audio_buffer.cleared`` (WebRTC/SIP only): reply to ``output_audio_buffer.clear``."""

    type: Literal["output_audio_buffer.cleared"] = "output_audio_buffer.cleared"


class RateLimitsUpdated(ServerEventBase):
    """``rate_limits.updated``: current limits; its position varies by dialect (§3.4)."""

    type: Literal["rate_limits.updated"] = "rate_limits.updated"
    rate_limits: tuple[RateLimit, ...]


# ---------------------------------------------------------------------------------------------
# Responses.


class ResponseCreated(_ResponseEvent):
    """``response.created``: a response started (status ``in_progress``)."""

    type: Literal["response.created"] = "response.created"


class ResponseDone(_ResponseEvent):
    """``response.done``: a response ended, whatever the outcome (see ``response.status``)."""

    type: Literal["response.done"] = "response.done"


class ResponseOutputItemAdded(_OutputItemEvent):
    """``response.output_item.added``: a response started an output item."""

    type: Literal["response.output_item.added"] = "response.output_item.added"


class ResponseOutputItemDone(_OutputItemEvent):
    """``response.output_item.done``: an output item is final."""

    type: Literal["response.output_item.done"] = "response.output_item.done"


class ResponseContentPartAdded(_PartEvent):
    """``response.content_part.added``: a content part (``text``/``audio``) started."""

    type: Literal["response.content_part.added"] = "response.content_part.added"


class ResponseContentPartDone(_PartEvent):
    """``response.content_part.done``: a content part is final (transcript/text, no audio)."""

    type: Literal["response.content_part.done"] = "response.content_part.done"


class ResponseOutputTextDelta(_ObfuscatedDeltaEvent):
    """``response.output_text.delta`` (GA; beta ``response.text.delta``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.output_text.delta"] = "response.output_text.delta"


class ResponseOutputTextDone(_TextDoneEvent):
    """``response.output_text.done`` (GA; beta ``response.text.done``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.output_text.done"] = "response.output_text.done"


class ResponseOutputAudioDelta(_DeltaEvent):
    """``response.output_audio.delta`` (GA; beta ``response.audio.delta``): base64 audio."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.output_audio.delta"] = "response.output_audio.delta"


class ResponseOutputAudioDone(_PartRef):
    """``response.output_audio.done`` (GA; beta ``response.audio.done``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.output_audio.done"] = "response.output_audio.done"


class ResponseOutputAudioTranscriptDelta(_ObfuscatedDeltaEvent):
    """``response.output_audio_transcript.delta`` (GA; beta ``response.audio_transcript.delta``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.output_audio_transcript.delta"] = (
        "response.output_audio_transcript.delta"
    )


class ResponseOutputAudioTranscriptDone(_TranscriptDoneEvent):
    """``response.output_audio_transcript.done`` (GA; beta ``response.audio_transcript.done``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.output_audio_transcript.done"] = "response.output_audio_transcript.done"


class ResponseTextDelta(_DeltaEvent):
    """``response.text.delta`` (beta; GA ``response.output_text.delta``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["response.text.delta"] = "response.text.delta"


class ResponseTextDone(_TextDoneEvent):
    """``response.text.done`` (beta; GA ``response.output_text.done``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["response.text.done"] = "response.text.done"


class ResponseAudioDelta(_DeltaEvent):
    """``response.audio.delta`` (beta; GA ``response.output_audio.delta``): base64 audio."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["response.audio.delta"] = "response.audio.delta"


class ResponseAudioDone(_PartRef):
    """``response.audio.done`` (beta; GA ``response.output_audio.done``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["response.audio.done"] = "response.audio.done"


class ResponseAudioTranscriptDelta(_DeltaEvent):
    """``response.audio_transcript.delta`` (beta; GA ``response.output_audio_transcript.delta``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["response.audio_transcript.delta"] = "response.audio_transcript.delta"


class ResponseAudioTranscriptDone(_TranscriptDoneEvent):
    """``response.audio_transcript.done`` (beta; GA ``response.output_audio_transcript.done``)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["response.audio_transcript.done"] = "response.audio_transcript.done"


class ResponseFunctionCallArgumentsDelta(ServerEventBase):
    """``response.function_call_arguments.delta``: streamed tool-call arguments."""

    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str


class ResponseFunctionCallArgumentsDone(ServerEventBase):
    """``response.function_call_arguments.done``: final tool-call arguments."""

    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    arguments: str
    # Required by the GA SDK and seen on the wire, but missing from the beta SDK type (§8-7).
    name: str | None = None


# ---------------------------------------------------------------------------------------------
# MCP tools (GA only; modelled from the SDK, no real trace yet).


class McpListToolsInProgress(_ItemIdEvent):
    """``mcp_list_tools.in_progress`` (GA): listing an MCP server's tools."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["mcp_list_tools.in_progress"] = "mcp_list_tools.in_progress"


class McpListToolsCompleted(_ItemIdEvent):
    """``mcp_list_tools.completed`` (GA): MCP tool listing finished."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["mcp_list_tools.completed"] = "mcp_list_tools.completed"


class McpListToolsFailed(_ItemIdEvent):
    """``mcp_list_tools.failed`` (GA): MCP tool listing failed."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["mcp_list_tools.failed"] = "mcp_list_tools.failed"


class ResponseMcpCallArgumentsDelta(ServerEventBase):
    """``response.mcp_call_arguments.delta`` (GA): streamed MCP call arguments."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.mcp_call_arguments.delta"] = "response.mcp_call_arguments.delta"
    response_id: str
    item_id: str
    output_index: int
    delta: str
    obfuscation: str | None = None


class ResponseMcpCallArgumentsDone(ServerEventBase):
    """``response.mcp_call_arguments.done`` (GA): final MCP call arguments."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.mcp_call_arguments.done"] = "response.mcp_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int
    arguments: str


class ResponseMcpCallInProgress(_McpCallEvent):
    """``response.mcp_call.in_progress`` (GA): an MCP tool call started."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.mcp_call.in_progress"] = "response.mcp_call.in_progress"


class ResponseMcpCallCompleted(_McpCallEvent):
    """``response.mcp_call.completed`` (GA): an MCP tool call succeeded."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.mcp_call.completed"] = "response.mcp_call.completed"


class ResponseMcpCallFailed(_McpCallEvent):
    """``response.mcp_call.failed`` (GA): an MCP tool call failed."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["response.mcp_call.failed"] = "response.mcp_call.failed"


# ---------------------------------------------------------------------------------------------
# Errors.


class ErrorEvent(ServerEventBase):
    """``error``: the server reports a problem; ``error.event_id`` names the client event."""

    type: Literal["error"] = "error"
    error: ErrorInfo


KnownServerEvent = Annotated[
    SessionCreated
    | SessionUpdated
    | TranscriptionSessionCreated
    | TranscriptionSessionUpdated
    | ConversationCreated
    | ConversationItemCreated
    | ConversationItemAdded
    | ConversationItemDone
    | ConversationItemRetrieved
    | ConversationItemTruncated
    | ConversationItemDeleted
    | ConversationItemInputAudioTranscriptionDelta
    | ConversationItemInputAudioTranscriptionCompleted
    | ConversationItemInputAudioTranscriptionFailed
    | ConversationItemInputAudioTranscriptionSegment
    | InputAudioBufferCommitted
    | InputAudioBufferCleared
    | InputAudioBufferSpeechStarted
    | InputAudioBufferSpeechStopped
    | InputAudioBufferTimeoutTriggered
    | InputAudioBufferDtmfEventReceived
    | OutputAudioBufferStarted
    | OutputAudioBufferStopped
    | OutputAudioBufferCleared
    | RateLimitsUpdated
    | ResponseCreated
    | ResponseDone
    | ResponseOutputItemAdded
    | ResponseOutputItemDone
    | ResponseContentPartAdded
    | ResponseContentPartDone
    | ResponseOutputTextDelta
    | ResponseOutputTextDone
    | ResponseOutputAudioDelta
    | ResponseOutputAudioDone
    | ResponseOutputAudioTranscriptDelta
    | ResponseOutputAudioTranscriptDone
    | ResponseTextDelta
    | ResponseTextDone
    | ResponseAudioDelta
    | ResponseAudioDone
    | ResponseAudioTranscriptDelta
    | ResponseAudioTranscriptDone
    | ResponseFunctionCallArgumentsDelta
    | ResponseFunctionCallArgumentsDone
    | McpListToolsInProgress
    | McpListToolsCompleted
    | McpListToolsFailed
    | ResponseMcpCallArgumentsDelta
    | ResponseMcpCallArgumentsDone
    | ResponseMcpCallInProgress
    | ResponseMcpCallCompleted
    | ResponseMcpCallFailed
    | ErrorEvent,
    Field(discriminator="type"),
]
"""Every server event type this package knows, discriminated on ``type``."""

#: Wire type name → model class, for every known server event (read off the union above).
SERVER_EVENT_CLASSES: dict[str, type[ServerEventBase]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(KnownServerEvent)[0])
}
