"""Base classes and the nested objects shared by client and server events (protocol §2.4–§4).

Every model is frozen and keeps undeclared fields (``extra="allow"``): real servers add fields
the spec does not know (``obfuscation``, a top-level ``session_id``, ``error: null`` on
``output_audio_buffer.*``) and omit fields the spec calls required. Nested objects therefore
declare every field optional; the event envelopes require only what every real trace *and* the
official SDK types carry. Sequences are tuples so that a frozen event is immutable all the way
down.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import ErrorInfo

__all__ = [
    "BETA",
    "BOTH",
    "GA",
    "AudioFormat",
    "ClientEventBase",
    "ContentPart",
    "Conversation",
    "ConversationItem",
    "ErrorInfo",
    "InputAudioTranscription",
    "NoiseReduction",
    "RateLimit",
    "RealtimeResponse",
    "RealtimeSession",
    "ResponseParams",
    "ServerEventBase",
    "SessionAudio",
    "SessionAudioInput",
    "SessionAudioOutput",
    "StatusDetails",
    "TokenDetails",
    "Tool",
    "TurnDetection",
    "Usage",
    "WireModel",
]

BOTH: frozenset[Dialect] = frozenset({Dialect.GA, Dialect.BETA})
GA: frozenset[Dialect] = frozenset({Dialect.GA})
BETA: frozenset[Dialect] = frozenset({Dialect.BETA})

# ``max_output_tokens`` / ``max_response_output_tokens``: a count or the string "inf".
TokenCap = int | Literal["inf"]


class WireModel(BaseModel):
    """A frozen wire object that keeps fields it does not declare."""

    # extra="allow": unknown fields survive parsing and to_wire (the harness must never drop what
    # the server sent). frozen: events are values, parsed once at the edge (conventions §3).
    model_config = ConfigDict(frozen=True, extra="allow")


# ---------------------------------------------------------------------------------------------
# Session configuration (both dialects in one tolerant model, protocol §2.4).


class AudioFormat(WireModel):
    """GA audio format: ``{"type": "audio/pcm", "rate": 24000}``, ``audio/pcmu``, ``audio/pcma``."""

    type: str | None = None
    rate: int | None = None


class TurnDetection(WireModel):
    """VAD settings (``server_vad`` / ``semantic_vad``); ``null`` on the wire = manual commits."""

    type: str | None = None
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    idle_timeout_ms: int | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: str | None = None


class InputAudioTranscription(WireModel):
    """Input transcription: beta ``input_audio_transcription``, GA ``audio.input.transcription``."""

    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class NoiseReduction(WireModel):
    """Input noise reduction settings (``near_field`` / ``far_field``)."""

    type: str | None = None


class SessionAudioInput(WireModel):
    """GA ``session.audio.input``."""

    # A string is accepted too: the GA spec's transcription example shows "pcm16" (§5).
    format: AudioFormat | str | None = None
    transcription: InputAudioTranscription | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetection | None = None


class SessionAudioOutput(WireModel):
    """GA ``session.audio.output`` (also the ``audio.output`` of a GA response)."""

    format: AudioFormat | str | None = None
    # GA voice is a name or ``{"id": "voice_…"}`` for custom voices.
    voice: str | dict[str, Any] | None = None
    speed: float | None = None


class SessionAudio(WireModel):
    """GA ``session.audio`` / ``response.audio``."""

    input: SessionAudioInput | None = None
    output: SessionAudioOutput | None = None


class Tool(WireModel):
    """A tool definition (function or, GA, MCP); parameters stay a plain JSON schema dict."""

    type: str | None = None
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class RealtimeSession(WireModel):
    """A session object, either dialect: GA nests audio settings, beta keeps them flat (§2.4)."""

    id: str | None = None
    object: str | None = None
    #: GA only: ``"realtime"`` or ``"transcription"`` (required by GA servers on session.update).
    type: str | None = None
    model: str | None = None
    expires_at: int | None = None
    instructions: str | None = None
    tools: tuple[Tool, ...] | None = None
    tool_choice: str | dict[str, Any] | None = None
    tracing: Any = None
    include: tuple[str, ...] | None = None
    # GA fields.
    output_modalities: tuple[str, ...] | None = None
    audio: SessionAudio | None = None
    max_output_tokens: TokenCap | None = None
    truncation: Any = None
    prompt: Any = None
    # beta fields.
    modalities: tuple[str, ...] | None = None
    voice: str | None = None
    input_audio_format: str | None = None
    output_audio_format: str | None = None
    input_audio_transcription: InputAudioTranscription | None = None
    turn_detection: TurnDetection | None = None
    input_audio_noise_reduction: NoiseReduction | None = None
    speed: float | None = None
    temperature: float | None = None
    max_response_output_tokens: TokenCap | None = None
    # Kept for the round trip but never shown in a repr: it may hold an ephemeral ``ek_`` key.
    client_secret: Any = Field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------
# Conversation, items, content parts (§2.5).


class Conversation(WireModel):
    """The ``conversation`` of ``conversation.created``: ``{id: "conv_…", object}``."""

    id: str | None = None
    object: str | None = None


class ContentPart(WireModel):
    """A content part of an item or of ``response.content_part.*`` (text, audio, input_*, …)."""

    type: str | None = None
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None
    id: str | None = None
    image_url: str | None = None
    detail: str | None = None


class ConversationItem(WireModel):
    """A conversation item: message, function_call, function_call_output, item_reference, mcp_*."""

    type: str
    id: str | None = None
    object: str | None = None
    status: str | None = None
    role: str | None = None
    content: tuple[ContentPart, ...] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


# ---------------------------------------------------------------------------------------------
# Responses (§4.1–§4.3).


class TokenDetails(WireModel):
    """Token counts by kind (input, output and cached token details)."""

    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: TokenDetails | None = None


class Usage(WireModel):
    """Response usage, or transcription usage (``type`` ``"tokens"`` or ``"duration"``)."""

    type: str | None = None
    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_token_details: TokenDetails | None = None
    output_token_details: TokenDetails | None = None
    seconds: float | None = None


class StatusDetails(WireModel):
    """``response.status_details``: why a response was cancelled, incomplete or failed (§4.2)."""

    type: str | None = None
    reason: str | None = None
    error: ErrorInfo | None = None


class RealtimeResponse(WireModel):
    """The ``response`` object of ``response.created`` / ``response.done``, either dialect."""

    id: str | None = None
    object: str | None = None
    status: str | None = None
    status_details: StatusDetails | None = None
    output: tuple[ConversationItem, ...] | None = None
    usage: Usage | None = None
    conversation_id: str | None = None
    metadata: dict[str, Any] | None = None
    max_output_tokens: TokenCap | None = None
    # GA fields.
    output_modalities: tuple[str, ...] | None = None
    audio: SessionAudio | None = None
    # beta fields.
    modalities: tuple[str, ...] | None = None
    voice: str | None = None
    output_audio_format: str | None = None
    temperature: float | None = None


class ResponseParams(WireModel):
    """The ``response`` parameters of a client ``response.create``, either dialect (§2.4)."""

    instructions: str | None = None
    tools: tuple[Tool, ...] | None = None
    tool_choice: str | dict[str, Any] | None = None
    conversation: str | None = None
    metadata: dict[str, Any] | None = None
    input: tuple[ConversationItem, ...] | None = None
    # GA fields.
    output_modalities: tuple[str, ...] | None = None
    audio: SessionAudio | None = None
    max_output_tokens: TokenCap | None = None
    prompt: Any = None
    reasoning: Any = None
    parallel_tool_calls: bool | None = None
    # beta fields.
    modalities: tuple[str, ...] | None = None
    voice: str | None = None
    output_audio_format: str | None = None
    temperature: float | None = None
    max_response_output_tokens: TokenCap | None = None


class RateLimit(WireModel):
    """One entry of ``rate_limits.updated``: ``requests`` or ``tokens`` with limit and reset."""

    name: str | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


# ---------------------------------------------------------------------------------------------
# Event bases.


class ServerEventBase(WireModel):
    """Common envelope of server events: ``type`` and the server's ``event_id``."""

    #: The dialects whose servers send this type (protocol §2.2); parsing accepts every type.
    DIALECTS: ClassVar[frozenset[Dialect]] = BOTH

    type: str
    # Must be present (every trace and SDK type has it) but may be null: one Azure live record
    # carries ``event_id: null`` on an ``error`` (§4.4), and that error must not be lost.
    event_id: str | None


class ClientEventBase(WireModel):
    """Common envelope of client events: ``type`` and an optional client-chosen ``event_id``."""

    #: The dialects whose servers accept this type (protocol §2.1).
    DIALECTS: ClassVar[frozenset[Dialect]] = BOTH

    type: str
    event_id: str | None = None
