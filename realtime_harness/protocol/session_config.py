"""The session object of each dialect: its defaults, where each setting lives, and update checks.

GA nests audio settings under ``audio.input``/``audio.output`` and requires ``session.type``;
beta keeps them flat (``input_audio_format``, ``turn_detection``, ``voice``…). This module is the
one place that knows both shapes (OpenAI Realtime API reference, ``session.update``:
https://platform.openai.com/docs/api-reference/realtime-client-events/session/update, and the
beta-to-GA migration guide https://platform.openai.com/docs/guides/realtime#beta-to-ga-migration):

* :data:`FIELDS` maps each setting to its path in either dialect; :func:`read` reads one from
  any JSON value without ever raising (a wrong type reads as absent).
* :func:`default_session` is the session a fresh connection starts with, as ``session.created``
  carries it (server VAD on, PCM16 in and out).
* :func:`build_update` is the ``session`` object of a client's ``session.update``.
* :func:`apply_update` checks an update as a whole, as the service does, and raises
  :class:`SessionError` with the service's error code (``unknown_parameter``,
  ``missing_required_parameter``, ``invalid_type``, ``invalid_value`` and the range codes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from realtime_harness.protocol.audio import AudioFormat, bytes_per_ms_of
from realtime_harness.protocol.catalog import Dialect

__all__ = [
    "BETA_ONLY_FIELDS",
    "DEFAULT_INSTRUCTIONS",
    "FIELDS",
    "GA_ONLY_FIELDS",
    "SessionError",
    "apply_update",
    "build_update",
    "default_session",
    "field_path",
    "input_bytes_per_ms",
    "input_format",
    "other_dialect_fields",
    "output_format",
    "output_is_pcm",
    "read",
    "transcription_enabled",
    "turn_detection",
    "turn_detection_update",
]

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, witty, and friendly AI. Your voice and personality should be warm and "
    "engaging. Talk quickly."
)

Path = tuple[str, ...]

#: Setting → (GA path, beta path); ``None`` where the dialect has no such setting.
FIELDS: dict[str, tuple[Path | None, Path | None]] = {
    "modalities": (("output_modalities",), ("modalities",)),
    "instructions": (("instructions",), ("instructions",)),
    "voice": (("audio", "output", "voice"), ("voice",)),
    "speed": (("audio", "output", "speed"), ("speed",)),
    "input_format": (("audio", "input", "format"), ("input_audio_format",)),
    "output_format": (("audio", "output", "format"), ("output_audio_format",)),
    "transcription": (("audio", "input", "transcription"), ("input_audio_transcription",)),
    "noise_reduction": (("audio", "input", "noise_reduction"), ("input_audio_noise_reduction",)),
    "turn_detection": (("audio", "input", "turn_detection"), ("turn_detection",)),
    "max_output_tokens": (("max_output_tokens",), ("max_response_output_tokens",)),
    "temperature": (None, ("temperature",)),
    "tools": (("tools",), ("tools",)),
    "tool_choice": (("tool_choice",), ("tool_choice",)),
}


def _top_keys(index: int) -> frozenset[str]:
    return frozenset(p[index][0] for p in FIELDS.values() if p[index] is not None)  # type: ignore[index]


#: Top-level session keys of one dialect that the other dialect rejects as unknown parameters.
BETA_ONLY_FIELDS: frozenset[str] = _top_keys(1) - _top_keys(0)
GA_ONLY_FIELDS: frozenset[str] = _top_keys(0) - _top_keys(1)


def field_path(dialect: Dialect, setting: str) -> Path | None:
    """Where ``setting`` (a key of :data:`FIELDS`) lives in a ``dialect`` session."""
    ga, beta = FIELDS[setting]
    return ga if dialect is Dialect.GA else beta


_MISSING: Any = object()


def read(session: object, dialect: Dialect, setting: str, default: Any = None) -> Any:
    """A setting of a session (or response) object, or ``default`` when it is absent or any
    level of its path is not an object. Never raises, whatever JSON it is given."""
    path = field_path(dialect, setting)
    if path is None:
        return default
    node = session
    for key in path:
        if not isinstance(node, Mapping):
            return default
        node = node.get(key, _MISSING)
        if node is _MISSING:
            return default
    return node


def other_dialect_fields(dialect: Dialect, session: Mapping[str, Any]) -> list[str]:
    """Top-level keys of a ``session.update`` that belong to the other dialect, sorted."""
    wrong = BETA_ONLY_FIELDS if dialect is Dialect.GA else GA_ONLY_FIELDS
    return sorted(wrong & session.keys())


def _format_name(value: object) -> str | None:
    if isinstance(value, str) and value in _BETA_FORMATS:
        return value
    if isinstance(value, Mapping):
        kind = value.get("type")
        if isinstance(kind, str):
            return _GA_FORMAT_NAMES.get(kind)
    return None


def input_format(dialect: Dialect, session: object) -> str:
    """``pcm16``, ``g711_ulaw`` or ``g711_alaw`` for the input buffer (``pcm16`` if unknown)."""
    return _format_name(read(session, dialect, "input_format")) or AudioFormat.PCM16.value


def output_format(dialect: Dialect, session: object) -> str:
    """``pcm16``, ``g711_ulaw`` or ``g711_alaw`` for output audio deltas (``pcm16`` if unknown)."""
    return _format_name(read(session, dialect, "output_format")) or AudioFormat.PCM16.value


def input_bytes_per_ms(session: object) -> int | None:
    """Input bytes per ms a session or update sets, reading both dialects' paths; None if unset.

    Reads both shapes because a recording's dialect may be unknown when its update is seen.
    """
    for dialect in (Dialect.GA, Dialect.BETA):
        size = bytes_per_ms_of(read(session, dialect, "input_format"))
        if size is not None:
            return size
    return None


def output_is_pcm(config: object) -> bool | None:
    """Whether a session or response outputs PCM16 (either dialect's path); None if unsaid."""
    for dialect in (Dialect.BETA, Dialect.GA):
        name = _format_name(read(config, dialect, "output_format"))
        if name is not None:
            return name == AudioFormat.PCM16.value
    return None


def turn_detection(dialect: Dialect, session: object) -> dict[str, Any] | None:
    """The session's turn detection object, or None when the client commits by hand."""
    value = read(session, dialect, "turn_detection")
    return dict(value) if isinstance(value, Mapping) else None


def turn_detection_update(session: object) -> object:
    """What an update sets turn detection to, reading both dialects' paths.

    Returns the value (``None`` means "turn off", the client commits by hand), or
    :data:`Ellipsis` when the update does not mention turn detection.
    """
    value = read(session, Dialect.GA, "turn_detection", ...)
    if value is ...:
        value = read(session, Dialect.BETA, "turn_detection", ...)
    return value


def transcription_enabled(dialect: Dialect, session: object) -> bool:
    """Whether committed input audio is transcribed."""
    return isinstance(read(session, dialect, "transcription"), Mapping)


# --- defaults and the client's update --------------------------------------------------------

_GA_VAD = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_VAD = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
_BETA_FORMATS = frozenset(f.value for f in AudioFormat)
_GA_FORMAT_NAMES = {
    "audio/pcm": AudioFormat.PCM16.value,
    "audio/pcmu": AudioFormat.G711_ULAW.value,
    "audio/pcma": AudioFormat.G711_ALAW.value,
}


def default_session(
    dialect: Dialect, *, session_id: str, model: str, expires_at: int
) -> dict[str, Any]:
    """The session a fresh connection starts with, as ``session.created`` carries it."""
    if dialect is Dialect.GA:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": model,
            "output_modalities": ["audio"],
            "instructions": DEFAULT_INSTRUCTIONS,
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "expires_at": expires_at,
            "audio": {
                "input": {
                    "format": AudioFormat.PCM16.ga(),
                    "transcription": None,
                    "noise_reduction": None,
                    "turn_detection": dict(_GA_VAD),
                },
                "output": {"format": AudioFormat.PCM16.ga(), "voice": "alloy", "speed": 1.0},
            },
            "include": None,
        }
    return {
        "id": session_id,
        "object": "realtime.session",
        "model": model,
        "modalities": ["audio", "text"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "voice": "alloy",
        "input_audio_format": AudioFormat.PCM16.value,
        "output_audio_format": AudioFormat.PCM16.value,
        "input_audio_transcription": None,
        "input_audio_noise_reduction": None,
        "turn_detection": {k: v for k, v in _GA_VAD.items() if k != "idle_timeout_ms"},
        "tools": [],
        "tool_choice": "auto",
        "temperature": 0.8,
        "max_response_output_tokens": "inf",
        "speed": 1.0,
        "tracing": None,
        "expires_at": expires_at,
        "client_secret": None,
    }


def _put(session: dict[str, Any], path: Path, value: Any) -> None:
    node = session
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def build_update(
    dialect: Dialect,
    *,
    text_only: bool = False,
    turn_detection: str | None = None,
    input_format: AudioFormat = AudioFormat.PCM16,
    output_format: AudioFormat = AudioFormat.PCM16,
    voice: str | None = None,
    instructions: str | None = None,
) -> dict[str, Any]:
    """The ``session`` object of a client's ``session.update`` in ``dialect``.

    ``turn_detection`` is a VAD type (``"server_vad"``, ``"semantic_vad"``) or None for manual
    commits (sent as an explicit null, which turns the default VAD off). The voice is sent only
    when the session speaks.
    """
    ga = dialect is Dialect.GA
    session: dict[str, Any] = {"type": "realtime"} if ga else {}
    modalities = ["text"] if text_only else (["audio"] if ga else ["audio", "text"])
    _put(session, field_path(dialect, "modalities") or (), modalities)
    for setting, fmt in (("input_format", input_format), ("output_format", output_format)):
        _put(session, field_path(dialect, setting) or (), fmt.ga() if ga else fmt.value)
    vad = {"type": turn_detection} if turn_detection is not None else None
    _put(session, field_path(dialect, "turn_detection") or (), vad)
    if voice is not None and not text_only:
        _put(session, field_path(dialect, "voice") or (), voice)
    if instructions is not None:
        session["instructions"] = instructions
    return session


# --- update checks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionError(Exception):
    """A rejected update: the ``error`` object's ``code``, ``message`` and ``param``."""

    code: str
    message: str
    param: str | None = None


Check = Callable[[Any, str], None]

_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a decimal",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), "an object")


def _invalid_type(param: str, expected: str, value: Any) -> SessionError:
    return SessionError(
        "invalid_type",
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param,
    )


def _enum(*allowed: str, nullable: bool = False) -> Check:
    def check(value: Any, param: str) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str):
            raise _invalid_type(param, "one of " + ", ".join(allowed), value)
        if value not in allowed:
            listed = ", ".join(f"'{a}'" for a in allowed[:-1])
            listed = f"{listed}, and '{allowed[-1]}'" if listed else f"'{allowed[-1]}'"
            raise SessionError(
                "invalid_value",
                f"Invalid value: '{value}'. Supported values are: {listed}.",
                param,
            )

    return check


def _string(nullable: bool = False) -> Check:
    def check(value: Any, param: str) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str):
            raise _invalid_type(param, "a string", value)

    return check


def _boolean(value: Any, param: str) -> None:
    if not isinstance(value, bool):
        raise _invalid_type(param, "a boolean", value)


def _number(low: float, high: float, *, integer: bool = False, nullable: bool = False) -> Check:
    def check(value: Any, param: str) -> None:
        if value is None and nullable:
            return
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool):
            raise _invalid_type(param, "an integer" if integer else "a decimal", value)
        kind = "integer" if integer else "decimal"
        if value < low:
            raise SessionError(
                f"{kind}_below_min_value",
                f"Invalid '{param}': {kind} below minimum value. Expected a value >= {low:g}, "
                f"but got {value} instead.",
                param,
            )
        if value > high:
            raise SessionError(
                f"{kind}_above_max_value",
                f"Invalid '{param}': {kind} above maximum value. Expected a value <= {high:g}, "
                f"but got {value} instead.",
                param,
            )

    return check


def _max_tokens(value: Any, param: str) -> None:
    if value == "inf":
        return
    _number(1, 4096, integer=True)(value, param)


def _anything(value: Any, param: str) -> None:
    return None


def _object_or_null(value: Any, param: str) -> None:
    if value is not None and not isinstance(value, dict):
        raise _invalid_type(param, "an object", value)


def _tools(value: Any, param: str) -> None:
    if not isinstance(value, list):
        raise _invalid_type(param, "an array", value)
    for index, tool in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict):
            raise _invalid_type(where, "an object", tool)
        _enum("function", "mcp")(tool.get("type"), f"{where}.type")
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            raise SessionError(
                "missing_required_parameter",
                f"Missing required parameter: '{where}.name'.",
                f"{where}.name",
            )


def _tool_choice(value: Any, param: str) -> None:
    if isinstance(value, dict):
        return
    _enum("auto", "none", "required")(value, param)


def _voice(value: Any, param: str) -> None:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return
    _string()(value, param)


def _ga_modalities(value: Any, param: str) -> None:
    if not isinstance(value, list):
        raise _invalid_type(param, "an array", value)
    if value not in (["audio"], ["text"]):
        raise SessionError(
            "invalid_value",
            f"Invalid value: {value!r}. Supported values are: ['audio'] and ['text'].",
            param,
        )


def _beta_modalities(value: Any, param: str) -> None:
    if not isinstance(value, list):
        raise _invalid_type(param, "an array", value)
    if not all(isinstance(v, str) for v in value) or sorted(value) not in (
        ["text"],
        ["audio", "text"],
    ):
        raise SessionError(
            "invalid_value",
            f"Invalid value: {value!r}. Supported values are: ['text'] and ['audio', 'text'].",
            param,
        )


def _ga_format(value: Any, param: str) -> None:
    if not isinstance(value, dict):
        raise _invalid_type(param, "an object", value)
    _enum(*_GA_FORMAT_NAMES)(value.get("type"), f"{param}.type")
    if value.get("type") == "audio/pcm" and value.get("rate", 24000) != 24000:
        raise SessionError(
            "invalid_value",
            f"Invalid value: '{value.get('rate')}'. Supported values are: '24000'.",
            f"{param}.rate",
        )


# A schema node is a check for a leaf or a dict of child nodes (an object that merges).
Schema = dict[str, "Check | Schema"]

_VAD_FIELDS: Schema = {
    "type": _enum("server_vad", "semantic_vad"),
    "threshold": _number(0.0, 1.0),
    "prefix_padding_ms": _number(0, 10_000, integer=True),
    "silence_duration_ms": _number(0, 10_000, integer=True),
    "idle_timeout_ms": _number(5000, 30000, integer=True, nullable=True),
    "create_response": _boolean,
    "interrupt_response": _boolean,
    "eagerness": _enum("low", "medium", "high", "auto"),
}

_GA_SCHEMA: Schema = {
    "type": _enum("realtime", "transcription"),
    "model": _string(),
    "output_modalities": _ga_modalities,
    "instructions": _string(),
    "tools": _tools,
    "tool_choice": _tool_choice,
    "max_output_tokens": _max_tokens,
    "tracing": _anything,
    "truncation": _anything,
    "prompt": _anything,
    "include": _anything,
    "parallel_tool_calls": _boolean,
    "reasoning": _anything,
    "audio": {
        "input": {
            "format": _ga_format,
            "transcription": _object_or_null,
            "noise_reduction": _object_or_null,
            "turn_detection": _VAD_FIELDS,
        },
        "output": {"format": _ga_format, "voice": _voice, "speed": _number(0.25, 1.5)},
    },
}
_BETA_FORMAT = _enum(*(f.value for f in AudioFormat))
_BETA_SCHEMA: Schema = {
    "model": _string(),
    "modalities": _beta_modalities,
    "instructions": _string(),
    "voice": _voice,
    "input_audio_format": _BETA_FORMAT,
    "output_audio_format": _BETA_FORMAT,
    "input_audio_transcription": _object_or_null,
    "input_audio_noise_reduction": _object_or_null,
    "turn_detection": {k: v for k, v in _VAD_FIELDS.items() if k != "idle_timeout_ms"},
    "tools": _tools,
    "tool_choice": _tool_choice,
    "temperature": _number(0.6, 1.2),
    "max_response_output_tokens": _max_tokens,
    "speed": _number(0.25, 1.5),
    "tracing": _anything,
}
# Objects that a client replaces with null ("turn off") rather than merges into.
_NULLABLE_OBJECTS = frozenset({"turn_detection"})


def _check(schema: Schema, update: Mapping[str, Any], prefix: str) -> None:
    for key, value in update.items():
        param = f"{prefix}.{key}"
        node = schema.get(key)
        if node is None:
            raise SessionError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
        if isinstance(node, dict):
            if value is None and key in _NULLABLE_OBJECTS:
                continue
            if not isinstance(value, Mapping):
                raise _invalid_type(param, "an object", value)
            _check(node, value, param)
        else:
            node(value, param)


#: GA's containers: an update names only the members it changes (``audio.input.turn_detection``
#: leaves ``audio.input.format`` alone). Every other object is a value the update replaces whole,
#: as the service does: ``format: {"type": "audio/pcmu"}`` does not keep the old ``rate``.
_CONTAINERS = frozenset({"audio", "input", "output"})


def _merge(dialect: Dialect, base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        current = base.get(key)
        if key in _CONTAINERS and isinstance(current, dict) and isinstance(value, Mapping):
            _merge(dialect, current, value)
        elif key == "turn_detection" and isinstance(value, Mapping):
            # replaced, with the service's defaults for the fields the client left out
            kind = value.get("type") or (current or {}).get("type") or "server_vad"
            defaults = dict(_SEMANTIC_VAD if kind == "semantic_vad" else _GA_VAD)
            if dialect is Dialect.BETA:
                defaults.pop("idle_timeout_ms", None)
            base[key] = {**defaults, **copy.deepcopy(dict(value)), "type": kind}
        elif key == "format" and isinstance(value, Mapping):
            fmt = copy.deepcopy(dict(value))
            if fmt.get("type") == "audio/pcm":
                fmt.setdefault("rate", 24000)  # the only PCM rate, which the service fills in
            base[key] = fmt
        else:
            base[key] = copy.deepcopy(value)


def apply_update(dialect: Dialect, session: Mapping[str, Any], update: object) -> dict[str, Any]:
    """The session after a ``session.update``'s ``session`` object; the input is not modified.

    Raises:
        SessionError: the error the real service answers with; the update is then not applied.
    """
    if not isinstance(update, Mapping):
        raise SessionError(
            "missing_required_parameter" if update is None else "invalid_type",
            "Missing required parameter: 'session'."
            if update is None
            else f"Invalid type for 'session': expected an object, but got {_type_name(update)}.",
            "session",
        )
    if dialect is Dialect.GA:
        if "type" not in update:
            raise SessionError(
                "missing_required_parameter",
                "Missing required parameter: 'session.type'.",
                "session.type",
            )
        _check(_GA_SCHEMA, update, "session")
        if update["type"] != session.get("type", "realtime"):
            raise SessionError(
                "invalid_value",
                "Passing a transcription session update event to a realtime session is not "
                "allowed.",
                "session.type",
            )
    else:
        _check(_BETA_SCHEMA, update, "session")
    result = copy.deepcopy(dict(session))
    # model is fixed by the URL; an update naming it is accepted and ignored
    _merge(dialect, result, {k: v for k, v in update.items() if k != "model"})
    return result
