"""How a mock session behaves: the latency model and the per-session configuration (pure data)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from realtime_harness.mock.voices import Voice
from realtime_harness.protocol.dialects import Dialect

__all__ = [
    "ANY",
    "REALTIME_API_VERSIONS",
    "REALTIME_MODELS",
    "AnyName",
    "BehaviourConfig",
    "Latency",
    "known_names",
]

#: Today's realtime model names (OpenAI models; on Azure, a deployment is usually named after its
#: model), with their dated variants: the names the Azure realtime how-to
#: (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/realtime-audio) and the openai
#: package's model literals list. By default ``MockServer`` (and ``mock-server``) refuses every
#: other model and deployment name as the services do; :data:`ANY` (``--models any``) serves any.
REALTIME_MODELS: tuple[str, ...] = (
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-mini",
    "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
)
#: The api-versions the mock's preview route accepts (Azure answers any other with HTTP 400
#: ``BadRequest`` "API version not supported"): the preview ones still documented for realtime.
REALTIME_API_VERSIONS: tuple[str, ...] = ("2025-04-01-preview", "2025-08-28")


class AnyName:
    """The type of :data:`ANY`: a set of names that holds every name."""

    __slots__ = ()

    def __contains__(self, name: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ANY"


#: ``MockServer(models=ANY)`` / ``deployments=ANY`` (``mock-server --models any``): every name
#: is served, for tests and scripts that name a deployment of their own.
ANY: Final = AnyName()


def known_names(names: Iterable[str] | AnyName | None) -> frozenset[str] | AnyName:
    """The names a mock knows: ``None`` (the default) is today's :data:`REALTIME_MODELS`."""
    if names is None:
        return frozenset(REALTIME_MODELS)
    if isinstance(names, AnyName):
        return names
    if isinstance(names, str):  # one name, not its characters
        return frozenset((names,))
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Latency:
    """The latency model, in seconds; every random part comes from the session's seeded rng.

    Args:
        response_s: ``response.create`` (or a VAD commit) to ``response.created``.
        first_delta_s: ``response.created`` to the first delta.
        speed: output pacing: 1.0 streams audio in real time (100 ms of audio per 100 ms),
            2.0 twice as fast, 0 sends the whole response at once (tests).
        jitter_s: each delta is late by a uniform random 0…jitter_s (order is kept).
        reply_s: any other reply (``session.updated``, ``committed``…).
        chunk_ms: audio per ``*.audio.delta``.
        text_interval_ms: spacing of text deltas at speed 1.
        rate_limits_after_s: GA sends ``rate_limits.updated`` this long after ``response.done``.
    """

    response_s: float = 0.05
    first_delta_s: float = 0.25
    speed: float = 1.0
    jitter_s: float = 0.0
    reply_s: float = 0.0
    chunk_ms: int = 100
    text_interval_ms: int = 50
    rate_limits_after_s: float = 0.043

    @classmethod
    def fast(cls, hold_s: float = 0.0) -> Latency:
        """For tests: each response is sent at once, ``hold_s`` after ``response.created``.

        With the default 0 a response is over before the client can act on it. A small
        ``hold_s`` (0.05) keeps it *active* for a moment, as a real one always is, so that a second
        ``response.create``, a ``response.cancel`` or VAD barge-in sent right after still races it.
        """
        return cls(response_s=0.0, first_delta_s=hold_s, speed=0.0, rate_limits_after_s=0.0)


@dataclass(frozen=True, slots=True)
class BehaviourConfig:
    """How a mock session behaves.

    Args:
        dialect: event names and session shape.
        model: the model named in the session (the URL's model wins when the server has one).
        latency: the latency model.
        max_session_s: ``session_expired`` and close after this long (real: 3600).
        voices: what responses say. The server loads the bundled samples and passes them in;
            the behaviour itself reads no files (None: a synthetic tone).
        reply_voice: always answer with this voice's name (None: chosen as ``choose_voice`` says).
    """

    dialect: Dialect = Dialect.GA
    model: str = "gpt-realtime"
    latency: Latency = field(default_factory=Latency)
    max_session_s: float = 3600.0
    voices: tuple[Voice, ...] | None = None
    reply_voice: str | None = None
