"""The mock's session configuration: the dialects' default sessions and ``session.update`` checks.

Sans-I/O. The default sessions copy the shapes observed on the wire: server VAD
on with 200 ms of silence, ``expires_at``, ``tracing``/``prompt``/``include`` as explicit nulls in
GA. An update is partial, checked as a whole, and rejected as a whole with the codes of the OpenAI
Realtime API reference: ``unknown_parameter``, ``missing_required_parameter`` (GA
``session.type``), ``invalid_value``, ``invalid_type`` and the range codes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from realtime_harness.protocol.dialects import Dialect

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "SessionError",
    "apply_update",
    "default_session",
    "input_format",
    "output_format",
    "output_is_audio",
    "transcription_enabled",
    "turn_detection",
]

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, witty, and friendly AI. Your voice and personality should be warm and "
    "engaging. Talk quickly."
)

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
_PCM_GA = {"type": "audio/pcm", "rate": 24000}


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
                    "format": dict(_PCM_GA),
                    "transcription": None,
                    "noise_reduction": None,
                    "turn_detection": dict(_GA_VAD),
                },
                "output": {"format": dict(_PCM_GA), "voice": "alloy", "speed": 1.0},
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
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
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


@dataclass(frozen=True, slots=True)
class SessionError(Exception):
    """A rejected update: the ``error`` object's ``code``, ``message`` and ``param``."""

    code: str
    message: str
    param: str | None = None


# --- value checks ------------------------------------------------------------------------------

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
    if sorted(value) not in (["text"], ["audio", "text"]):
        raise SessionError(
            "invalid_value",
            f"Invalid value: {value!r}. Supported values are: ['text'] and ['audio', 'text'].",
            param,
        )


def _ga_format(value: Any, param: str) -> None:
    if not isinstance(value, dict):
        raise _invalid_type(param, "an object", value)
    _enum("audio/pcm", "audio/pcmu", "audio/pcma")(value.get("type"), f"{param}.type")
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


def _transcription(value: Any, param: str) -> None:
    _object_or_null(value, param)


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
            "transcription": _transcription,
            "noise_reduction": _object_or_null,
            "turn_detection": _VAD_FIELDS,
        },
        "output": {"format": _ga_format, "voice": _voice, "speed": _number(0.25, 1.5)},
    },
}
_BETA_FORMAT = _enum("pcm16", "g711_ulaw", "g711_alaw")
_BETA_SCHEMA: Schema = {
    "model": _string(),
    "modalities": _beta_modalities,
    "instructions": _string(),
    "voice": _voice,
    "input_audio_format": _BETA_FORMAT,
    "output_audio_format": _BETA_FORMAT,
    "input_audio_transcription": _transcription,
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


# --- reading the effective config ----------------------------------------------------------------


def turn_detection(dialect: Dialect, session: Mapping[str, Any]) -> dict[str, Any] | None:
    """The session's turn detection object, or None when the client commits by hand."""
    if dialect is Dialect.GA:
        value = session.get("audio", {}).get("input", {}).get("turn_detection")
    else:
        value = session.get("turn_detection")
    return dict(value) if isinstance(value, Mapping) else None


def transcription_enabled(dialect: Dialect, session: Mapping[str, Any]) -> bool:
    """Whether committed input audio is transcribed."""
    if dialect is Dialect.GA:
        value = session.get("audio", {}).get("input", {}).get("transcription")
    else:
        value = session.get("input_audio_transcription")
    return isinstance(value, Mapping)


def input_format(dialect: Dialect, session: Mapping[str, Any]) -> str:
    """``pcm16``, ``g711_ulaw`` or ``g711_alaw`` for the input buffer."""
    if dialect is Dialect.GA:
        fmt = session.get("audio", {}).get("input", {}).get("format", {})
        return _GA_FORMAT_NAMES.get(str(fmt.get("type")), "pcm16")
    return str(session.get("input_audio_format", "pcm16"))


def output_format(dialect: Dialect, session: Mapping[str, Any]) -> str:
    """``pcm16``, ``g711_ulaw`` or ``g711_alaw`` for output audio deltas."""
    if dialect is Dialect.GA:
        fmt = session.get("audio", {}).get("output", {}).get("format", {})
        return _GA_FORMAT_NAMES.get(str(fmt.get("type")), "pcm16")
    return str(session.get("output_audio_format", "pcm16"))


def output_is_audio(dialect: Dialect, modalities: object) -> bool:
    """Whether a response with these output modalities speaks (else it writes text)."""
    return isinstance(modalities, list) and "audio" in modalities


_GA_FORMAT_NAMES = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
