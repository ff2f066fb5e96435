"""Client → server events of both dialects (protocol §2.1), one frozen model per wire type.

Build them with keyword arguments and send ``to_wire(event)``; ``type`` is filled in by the
model, so ``InputAudioBufferCommit(event_id="evt_1")`` is enough.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.events._common import (
    BETA,
    GA,
    ClientEventBase,
    ConversationItem,
    RealtimeSession,
    ResponseParams,
)

__all__ = [
    "CLIENT_EVENT_CLASSES",
    "ConversationItemCreate",
    "ConversationItemDelete",
    "ConversationItemRetrieve",
    "ConversationItemTruncate",
    "InputAudioBufferAppend",
    "InputAudioBufferClear",
    "InputAudioBufferCommit",
    "KnownClientEvent",
    "OutputAudioBufferClear",
    "ResponseCancel",
    "ResponseCreate",
    "SessionClose",
    "SessionUpdate",
    "TranscriptionSessionUpdate",
]


class SessionUpdate(ClientEventBase):
    """``session.update``: partial session change (GA nests audio and needs ``session.type``)."""

    type: Literal["session.update"] = "session.update"
    session: RealtimeSession


class TranscriptionSessionUpdate(ClientEventBase):
    """``transcription_session.update`` (beta; GA: ``session.update`` with type transcription)."""

    DIALECTS: ClassVar[frozenset[Dialect]] = BETA
    type: Literal["transcription_session.update"] = "transcription_session.update"
    session: RealtimeSession


class SessionClose(ClientEventBase):
    """``session.close`` (GA): listed as accepted by live GA servers, absent from the SDK."""

    DIALECTS: ClassVar[frozenset[Dialect]] = GA
    type: Literal["session.close"] = "session.close"


class InputAudioBufferAppend(ClientEventBase):
    """``input_audio_buffer.append``: base64 audio in the session's input format; no reply."""

    type: Literal["input_audio_buffer.append"] = "input_audio_buffer.append"
    audio: str


class InputAudioBufferCommit(ClientEventBase):
    """``input_audio_buffer.commit``: turn the buffer (≥ 100 ms) into a user item."""

    type: Literal["input_audio_buffer.commit"] = "input_audio_buffer.commit"


class InputAudioBufferClear(ClientEventBase):
    """``input_audio_buffer.clear``: drop buffered input audio."""

    type: Literal["input_audio_buffer.clear"] = "input_audio_buffer.clear"


class OutputAudioBufferClear(ClientEventBase):
    """``output_audio_buffer.clear`` (WebRTC/SIP only): stop playing the current response."""

    type: Literal["output_audio_buffer.clear"] = "output_audio_buffer.clear"


class ConversationItemCreate(ClientEventBase):
    """``conversation.item.create``: add an item (``previous_item_id`` ``"root"`` = first)."""

    type: Literal["conversation.item.create"] = "conversation.item.create"
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemRetrieve(ClientEventBase):
    """``conversation.item.retrieve``: ask for an item's full content."""

    type: Literal["conversation.item.retrieve"] = "conversation.item.retrieve"
    item_id: str


class ConversationItemTruncate(ClientEventBase):
    """``conversation.item.truncate``: cut assistant audio at ``audio_end_ms`` (barge-in)."""

    type: Literal["conversation.item.truncate"] = "conversation.item.truncate"
    item_id: str
    content_index: int
    audio_end_ms: int


class ConversationItemDelete(ClientEventBase):
    """``conversation.item.delete``: remove an item from the conversation."""

    type: Literal["conversation.item.delete"] = "conversation.item.delete"
    item_id: str


class ResponseCreate(ClientEventBase):
    """``response.create``: start a response, optionally with per-response parameters."""

    type: Literal["response.create"] = "response.create"
    response: ResponseParams | None = None


class ResponseCancel(ClientEventBase):
    """``response.cancel``: cancel the active (or the named) response."""

    type: Literal["response.cancel"] = "response.cancel"
    response_id: str | None = None


KnownClientEvent = Annotated[
    SessionUpdate
    | TranscriptionSessionUpdate
    | SessionClose
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | OutputAudioBufferClear
    | ConversationItemCreate
    | ConversationItemRetrieve
    | ConversationItemTruncate
    | ConversationItemDelete
    | ResponseCreate
    | ResponseCancel,
    Field(discriminator="type"),
]
"""Every client event type this package knows, discriminated on ``type``."""

#: Wire type name → model class, for every known client event (read off the union above).
CLIENT_EVENT_CLASSES: dict[str, type[ClientEventBase]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(KnownClientEvent)[0])
}
