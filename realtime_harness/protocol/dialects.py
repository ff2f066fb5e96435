"""The two wire dialects of the Realtime API and the one table that maps their event names.

``GA`` is the current OpenAI shape and Azure's ``/openai/v1/realtime``; ``BETA`` is the retired
OpenAI ``OpenAI-Beta: realtime=v1`` shape, which is also Azure's preview protocol
(``/openai/realtime?api-version=…-preview``). Protocol reference §2.3.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = [
    "BETA_ONLY",
    "BETA_TO_GA",
    "GA_ONLY",
    "GA_TO_BETA",
    "Dialect",
    "detect_dialect",
    "dialect_of",
    "to_dialect",
]


class Dialect(enum.StrEnum):
    """A wire dialect of the Realtime API."""

    GA = "ga"
    BETA = "beta"


# The one rename table (§2.3). ``conversation.item.created`` (beta) became the pair
# ``conversation.item.added`` + ``conversation.item.done`` (GA); it maps to ``.added``, the
# event that takes its place in the grammar.
BETA_TO_GA: dict[str, str] = {
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "conversation.item.created": "conversation.item.added",
    "transcription_session.update": "session.update",
    "transcription_session.updated": "session.updated",
    "transcription_session.created": "session.created",
}
GA_TO_BETA: dict[str, str] = {
    ga: beta for beta, ga in BETA_TO_GA.items() if "transcription" not in beta
}

#: Server event types that exist only in one dialect: seeing one identifies the dialect.
#: ``conversation.item.created`` stays in the GA SDK union but is not emitted by GA servers.
BETA_ONLY: frozenset[str] = frozenset(
    name
    for name in BETA_TO_GA
    if name.startswith(("response.", "transcription_session."))
    and name != "transcription_session.update"  # a client event, not a server one
) | {"conversation.item.created"}
GA_ONLY: frozenset[str] = frozenset(
    {name for name in GA_TO_BETA if name.startswith("response.")}
    | {
        "conversation.item.added",
        "conversation.item.done",
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.dtmf_event_received",
    }
)


def dialect_of(event_type: str) -> Dialect | None:
    """The dialect an event type belongs to exclusively, or None for shared names."""
    if event_type in GA_ONLY:
        return Dialect.GA
    if event_type in BETA_ONLY:
        return Dialect.BETA
    return None


def detect_dialect(event_types: Iterable[str]) -> Dialect | None:
    """The dialect of a stream: the first dialect-specific event type decides."""
    for event_type in event_types:
        found = dialect_of(event_type)
        if found is not None:
            return found
    return None


def to_dialect(event_type: str, dialect: Dialect) -> str:
    """The name of ``event_type`` in ``dialect`` (unchanged when it is shared or already there)."""
    if dialect is Dialect.GA:
        return BETA_TO_GA.get(event_type, event_type)
    return GA_TO_BETA.get(event_type, event_type)
