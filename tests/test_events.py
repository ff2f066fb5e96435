"""Typed events: every type of both dialects parses, round-trips, and tolerates real traffic."""

from __future__ import annotations

import json
import random
import types
import typing
from pathlib import Path
from typing import Any

import orjson
import pydantic
import pytest
from pydantic import TypeAdapter

from realtime_harness.protocol import dialects
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.events import (
    CLIENT_EVENT_ADAPTER,
    CLIENT_EVENT_CLASSES,
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_ADAPTER,
    SERVER_EVENT_CLASSES,
    SERVER_EVENT_TYPES,
    ConversationItem,
    ErrorEvent,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InvalidEvent,
    RealtimeResponse,
    ResponseCreate,
    ResponseDone,
    ResponseOutputAudioDelta,
    ResponseOutputTextDelta,
    ResponseParams,
    SessionCreated,
    SessionUpdate,
    UnknownEvent,
    client_event_types,
    parse_client_event,
    parse_server_event,
    server_event_types,
    to_wire,
)

TRACES = Path(__file__).resolve().parents[1] / "../shared/traces/real"

# ---------------------------------------------------------------------------------------------
# Representative wire payloads, written from the documented shapes (protocol reference §2–§4).

SESS = "sess_C9G5QPteg4UIbotdKLoYQ"
RESP = "resp_C9G8p7IH2WxLbkgPNouYL"
ITEM = "item_CCXHwGjjDUfOXbiySlK7i"
PREV = "item_CCXHwGjjDUfOXbiySlK7j"
CALL = "call_9Q9eysr6LstYMEx6"
IDS = {"response_id": RESP, "item_id": ITEM, "output_index": 0, "content_index": 0}

GA_SESSION: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": SESS,
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "Be brief.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "expires_at": 1789728600,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
    },
    "include": None,
}
BETA_SESSION: dict[str, Any] = {
    "id": SESS,
    "object": "realtime.session",
    "model": "gpt-4o-realtime-preview-2024-12-17",
    "modalities": ["audio", "text"],
    "instructions": "Be brief.",
    "voice": "alloy",
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": None,
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "create_response": True,
    },
    "tools": [],
    "tool_choice": "auto",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
    "expires_at": 1789728600,
}
USAGE: dict[str, Any] = {
    "total_tokens": 1010,
    "input_tokens": 853,
    "output_tokens": 157,
    "input_token_details": {
        "text_tokens": 853,
        "audio_tokens": 0,
        "cached_tokens": 0,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0},
    },
    "output_token_details": {"text_tokens": 38, "audio_tokens": 119},
}
USER_AUDIO_ITEM: dict[str, Any] = {
    "id": ITEM,
    "type": "message",
    "status": "completed",
    "role": "user",
    "content": [{"type": "input_audio", "transcript": None}],
}
FUNCTION_CALL_ITEM: dict[str, Any] = {
    "id": ITEM,
    "type": "function_call",
    "status": "completed",
    "call_id": CALL,
    "name": "get_weather",
    "arguments": '{"city":"Paris"}',
}


def _assistant_item(dialect: Dialect, status: str = "completed") -> dict[str, Any]:
    """An assistant audio message item; GA names the content type ``output_audio`` (§2.3)."""
    content_type = "output_audio" if dialect is Dialect.GA else "audio"
    return {
        "id": ITEM,
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": content_type, "transcript": "Hello there!"}],
    }


def _response(dialect: Dialect, *, done: bool) -> dict[str, Any]:
    """A ``response`` object as in ``response.created`` (empty) or a completed ``response.done``."""
    response: dict[str, Any] = {
        "object": "realtime.response",
        "id": RESP,
        "status": "completed" if done else "in_progress",
        "status_details": None,
        "output": [_assistant_item(dialect)] if done else [],
        "conversation_id": "conv_C9G8mmBkLhQJwCon3hoJN",
        "max_output_tokens": "inf",
        "usage": USAGE if done else None,
        "metadata": None,
    }
    if dialect is Dialect.GA:
        response["output_modalities"] = ["audio"]
        response["audio"] = {
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"}
        }
    else:
        response |= {
            "modalities": ["text", "audio"],
            "voice": "alloy",
            "output_audio_format": "pcm16",
        }
        response["temperature"] = 0.8
    return response


def _ev(event_type: str, n: int, **fields: Any) -> dict[str, Any]:
    return {"type": event_type, "event_id": f"event_C9G8pqbTEddBSIxbBN6O{n:02d}", **fields}


def _server_payloads(dialect: Dialect) -> list[dict[str, Any]]:
    """One documented payload per server event type of ``dialect``."""
    ga = dialect is Dialect.GA
    session = GA_SESSION if ga else BETA_SESSION
    text, audio, transcript = (
        ("response.output_text", "response.output_audio", "response.output_audio_transcript")
        if ga
        else ("response.text", "response.audio", "response.audio_transcript")
    )
    part_type = "audio"  # content_part events use "audio"/"text" in both dialects (§2.2)
    payloads = [
        _ev("session.created", 1, session=session),
        _ev("session.updated", 2, session=session),
        _ev(
            "conversation.created",
            3,
            conversation={"id": "conv_1", "object": "realtime.conversation"},
        ),
        _ev("conversation.item.retrieved", 4, item=USER_AUDIO_ITEM),
        _ev("conversation.item.truncated", 5, item_id=ITEM, content_index=0, audio_end_ms=1500),
        _ev("conversation.item.deleted", 6, item_id=ITEM),
        _ev(
            "conversation.item.input_audio_transcription.delta",
            7,
            item_id=ITEM,
            content_index=0,
            delta="Hel",
        ),
        _ev(
            "conversation.item.input_audio_transcription.completed",
            8,
            item_id=ITEM,
            content_index=0,
            transcript="Hello.",
            usage={"type": "duration", "seconds": 2},
        ),
        _ev(
            "conversation.item.input_audio_transcription.failed",
            9,
            item_id=ITEM,
            content_index=0,
            error={
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": "The audio could not be transcribed.",
                "param": None,
            },
        ),
        _ev("input_audio_buffer.committed", 10, item_id=ITEM, previous_item_id=PREV),
        _ev("input_audio_buffer.cleared", 11),
        _ev("input_audio_buffer.speech_started", 12, audio_start_ms=1000, item_id=ITEM),
        _ev("input_audio_buffer.speech_stopped", 13, audio_end_ms=2000, item_id=ITEM),
        _ev("output_audio_buffer.started", 14, response_id=RESP),
        _ev("output_audio_buffer.stopped", 15, response_id=RESP),
        _ev("output_audio_buffer.cleared", 16, response_id=RESP),
        _ev(
            "rate_limits.updated",
            17,
            rate_limits=[
                {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5}
            ],
        ),
        _ev("response.created", 18, response=_response(dialect, done=False)),
        _ev("response.done", 19, response=_response(dialect, done=True)),
        _ev(
            "response.output_item.added",
            20,
            response_id=RESP,
            output_index=0,
            item=_assistant_item(dialect, "in_progress") | {"content": []},
        ),
        _ev(
            "response.output_item.done",
            21,
            response_id=RESP,
            output_index=0,
            item=_assistant_item(dialect),
        ),
        _ev("response.content_part.added", 22, **IDS, part={"type": part_type, "transcript": ""}),
        _ev("response.content_part.done", 23, **IDS, part={"type": part_type, "transcript": "Hi!"}),
        _ev(f"{text}.delta", 24, **IDS, delta="Hi"),
        _ev(f"{text}.done", 25, **IDS, text="Hi!"),
        _ev(f"{audio}.delta", 26, **IDS, delta="AAAA"),
        _ev(f"{audio}.done", 27, **IDS),
        _ev(f"{transcript}.delta", 28, **IDS, delta="Hi"),
        _ev(f"{transcript}.done", 29, **IDS, transcript="Hi!"),
        _ev(
            "response.function_call_arguments.delta",
            30,
            response_id=RESP,
            item_id=ITEM,
            output_index=0,
            call_id=CALL,
            delta='{"ci',
        ),
        _ev(
            "response.function_call_arguments.done",
            31,
            response_id=RESP,
            item_id=ITEM,
            output_index=0,
            call_id=CALL,
            name="get_weather",
            arguments='{"city":"Paris"}',
        ),
        _ev(
            "error",
            32,
            error={
                "type": "invalid_request_error",
                "code": "input_audio_buffer_commit_empty",
                "message": "Error committing input audio buffer: buffer too small.",
                "param": None,
                "event_id": "evt_commit_1",
            },
        ),
        _ev(
            "conversation.item.input_audio_transcription.segment",
            33,
            item_id=ITEM,
            content_index=0,
            id="seg_0001",
            text="Hello",
            speaker="A",
            start=0.0,
            end=0.7,
        ),
    ]
    if ga:
        payloads += [
            _ev("conversation.item.added", 40, item=USER_AUDIO_ITEM, previous_item_id=PREV),
            _ev("conversation.item.done", 41, item=USER_AUDIO_ITEM, previous_item_id=PREV),
            _ev(
                "input_audio_buffer.timeout_triggered",
                42,
                audio_start_ms=0,
                audio_end_ms=5000,
                item_id=ITEM,
            ),
            {
                "type": "input_audio_buffer.dtmf_event_received",
                "event": "5",
                "received_at": 1789728601,
            },
            _ev("mcp_list_tools.in_progress", 43, item_id="mcp_1"),
            _ev("mcp_list_tools.completed", 44, item_id="mcp_1"),
            _ev("mcp_list_tools.failed", 45, item_id="mcp_1"),
            _ev(
                "response.mcp_call_arguments.delta",
                46,
                response_id=RESP,
                item_id="mcp_2",
                output_index=0,
                delta='{"q',
            ),
            _ev(
                "response.mcp_call_arguments.done",
                47,
                response_id=RESP,
                item_id="mcp_2",
                output_index=0,
                arguments='{"q":"x"}',
            ),
            _ev("response.mcp_call.in_progress", 48, item_id="mcp_2", output_index=0),
            _ev("response.mcp_call.completed", 49, item_id="mcp_2", output_index=0),
            _ev("response.mcp_call.failed", 50, item_id="mcp_2", output_index=0),
        ]
    else:
        payloads += [
            _ev("conversation.item.created", 40, item=USER_AUDIO_ITEM, previous_item_id=PREV),
            _ev("transcription_session.created", 41, session=BETA_SESSION),
            _ev("transcription_session.updated", 42, session=BETA_SESSION),
        ]
    return payloads


def _client_payloads(dialect: Dialect) -> list[dict[str, Any]]:
    """One documented payload per client event type of ``dialect``."""
    ga = dialect is Dialect.GA
    if ga:
        update = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        params: dict[str, Any] = {
            "output_modalities": ["text"],
            "instructions": "Answer in one word.",
            "metadata": {"run": "probe"},
            "conversation": "auto",
        }
    else:
        update = {"turn_detection": None, "modalities": ["text", "audio"]}
        params = {"modalities": ["text"], "instructions": "Answer in one word.", "temperature": 0.8}
    text_item = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "What's the weather?"}],
    }
    payloads = [
        {"type": "session.update", "event_id": "evt_1", "session": update},
        {"type": "input_audio_buffer.append", "event_id": "evt_2", "audio": "AAAA"},
        {"type": "input_audio_buffer.commit", "event_id": "evt_3"},
        {"type": "input_audio_buffer.clear", "event_id": "evt_4"},
        {"type": "output_audio_buffer.clear", "event_id": "evt_5"},
        {
            "type": "conversation.item.create",
            "event_id": "evt_6",
            "previous_item_id": "root",
            "item": text_item,
        },
        {"type": "conversation.item.retrieve", "event_id": "evt_7", "item_id": ITEM},
        {
            "type": "conversation.item.truncate",
            "event_id": "evt_8",
            "item_id": ITEM,
            "content_index": 0,
            "audio_end_ms": 1500,
        },
        {"type": "conversation.item.delete", "event_id": "evt_9", "item_id": ITEM},
        {"type": "response.create", "event_id": "evt_10", "response": params},
        {"type": "response.cancel", "event_id": "evt_11", "response_id": RESP},
    ]
    if ga:
        payloads.append({"type": "session.close", "event_id": "evt_12"})
    else:
        payloads.append(
            {
                "type": "transcription_session.update",
                "event_id": "evt_12",
                "session": {"input_audio_transcription": {"model": "whisper-1", "language": "en"}},
            }
        )
    return payloads


def _server_variants(dialect: Dialect) -> list[tuple[str, dict[str, Any]]]:
    """More shapes of the events that matter most for failures: outcomes, tool calls, errors."""
    failed = _response(dialect, done=True) | {
        "status": "failed",
        "output": [],
        "status_details": {
            "type": "failed",
            "error": {
                "type": "server_error",
                "code": None,
                "message": f"The server had an error. (Please include the session ID {SESS}.)",
            },
        },
    }
    rate_limited = failed | {
        "status_details": {
            "type": "failed",
            "error": {"type": "tokens", "code": "rate_limit_exceeded", "message": "Rate limit…"},
        }
    }
    cancelled = _response(dialect, done=True) | {
        "status": "cancelled",
        "output": [],
        "status_details": {"type": "cancelled", "reason": "turn_detected"},
    }
    incomplete = _response(dialect, done=True) | {
        "status": "incomplete",
        "status_details": {"type": "incomplete", "reason": "max_output_tokens"},
    }
    variants = [
        ("response.done-failed", _ev("response.done", 60, response=failed)),
        ("response.done-rate-limited", _ev("response.done", 61, response=rate_limited)),
        ("response.done-cancelled", _ev("response.done", 62, response=cancelled)),
        ("response.done-incomplete", _ev("response.done", 63, response=incomplete)),
        (
            "response.output_item.done-function-call",
            _ev(
                "response.output_item.done",
                64,
                response_id=RESP,
                output_index=1,
                item=FUNCTION_CALL_ITEM,
            ),
        ),
        (
            "rate_limits.updated-requests-and-tokens",
            _ev(
                "rate_limits.updated",
                65,
                rate_limits=[
                    {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                    {"name": "tokens", "limit": 20000, "remaining": 18000, "reset_seconds": 6},
                ],
            ),
        ),
        (
            "error-null-code-and-param",
            _ev(
                "error",
                66,
                error={
                    "type": "server_error",
                    "code": None,
                    "message": "boom",
                    "param": None,
                    "event_id": None,
                },
            ),
        ),
        (
            "conversation.item.input_audio_transcription.completed-tokens",
            _ev(
                "conversation.item.input_audio_transcription.completed",
                67,
                item_id=ITEM,
                content_index=0,
                transcript="Hello.",
                usage={
                    "type": "tokens",
                    "total_tokens": 24,
                    "input_tokens": 16,
                    "input_token_details": {"text_tokens": 0, "audio_tokens": 16},
                    "output_tokens": 8,
                },
            ),
        ),
    ]
    if dialect is Dialect.GA:
        transcription = {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": SESS,
            "expires_at": 1789728600,
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {
                        "model": "gpt-4o-transcribe",
                        "language": "en",
                        "prompt": None,
                    },
                    "noise_reduction": None,
                    "turn_detection": None,
                }
            },
            "include": None,
        }
        variants.append(
            ("session.created-transcription", _ev("session.created", 68, session=transcription))
        )
    return variants


def _all_server_payloads(dialect: Dialect) -> list[tuple[str, dict[str, Any]]]:
    return [(p["type"], p) for p in _server_payloads(dialect)] + _server_variants(dialect)


SERVER_CASES = [
    pytest.param(dialect, payload, id=f"{dialect}-{name}")
    for dialect in Dialect
    for name, payload in _all_server_payloads(dialect)
]
CLIENT_CASES = [
    pytest.param(dialect, payload, id=f"{dialect}-{payload['type']}")
    for dialect in Dialect
    for payload in _client_payloads(dialect)
]


def _trace_lines() -> list[Any]:
    if not TRACES.is_dir():
        return [pytest.param(None, None, id="no-traces", marks=pytest.mark.skip("traces absent"))]
    return [
        pytest.param(path, number, id=f"{path.stem}-{number}")
        for path in sorted(TRACES.glob("*.jsonl"))
        for number, line in enumerate(path.read_bytes().splitlines(), 1)
        if line.strip()
    ]


# ---------------------------------------------------------------------------------------------
# The payload tables cover the catalogue.


def test_payload_tables_cover_every_known_type_of_each_dialect() -> None:
    """Every server and client type a dialect knows has a payload here, and nothing else does."""
    for dialect in Dialect:
        assert {p["type"] for p in _server_payloads(dialect)} == server_event_types(dialect)
        assert {p["type"] for p in _client_payloads(dialect)} == client_event_types(dialect)


def test_type_sets_are_the_union_of_both_dialects() -> None:
    """SERVER_EVENT_TYPES / CLIENT_EVENT_TYPES hold every known name of either dialect."""
    assert server_event_types() == SERVER_EVENT_TYPES
    assert client_event_types() == CLIENT_EVENT_TYPES
    assert server_event_types(Dialect.GA) | server_event_types(Dialect.BETA) == SERVER_EVENT_TYPES
    assert client_event_types(Dialect.GA) | client_event_types(Dialect.BETA) == CLIENT_EVENT_TYPES


def test_type_sets_agree_with_the_dialect_table() -> None:
    """Dialect-only names from dialects.py belong to their dialect's set and not the other's."""
    ga, beta = server_event_types(Dialect.GA), server_event_types(Dialect.BETA)
    # dialects.BETA_ONLY also lists the client event transcription_session.update.
    beta_only = dialects.BETA_ONLY - CLIENT_EVENT_TYPES
    assert ga >= dialects.GA_ONLY
    assert not dialects.GA_ONLY & beta
    assert beta >= beta_only
    assert not beta_only & ga
    for name in beta:
        assert dialects.to_dialect(name, Dialect.GA) in ga


# ---------------------------------------------------------------------------------------------
# Round trips.


@pytest.mark.parametrize(("dialect", "payload"), SERVER_CASES)
def test_server_event_round_trips(dialect: Dialect, payload: dict[str, Any]) -> None:
    """A documented server payload parses to its model, from bytes and dict alike, and back."""
    event = parse_server_event(orjson.dumps(payload))
    assert type(event) is SERVER_EVENT_CLASSES[payload["type"]]
    assert parse_server_event(payload) == event
    assert to_wire(event) == payload
    assert json.loads(json.dumps(to_wire(event))) == payload


@pytest.mark.parametrize(("dialect", "payload"), CLIENT_CASES)
def test_client_event_round_trips(dialect: Dialect, payload: dict[str, Any]) -> None:
    """A documented client payload parses to its model, from str and dict alike, and back."""
    event = parse_client_event(json.dumps(payload))
    assert type(event) is CLIENT_EVENT_CLASSES[payload["type"]]
    assert parse_client_event(payload) == event
    assert to_wire(event) == payload


def test_parse_accepts_str_bytes_bytearray_and_any_mapping() -> None:
    """The same frame gives the same event whichever form it arrives in."""
    payload = _ev("response.output_audio.delta", 1, **IDS, delta="AAAA")
    raw = orjson.dumps(payload)
    forms: list[Any] = [raw, raw.decode(), bytearray(raw), payload, types.MappingProxyType(payload)]
    events = [parse_server_event(form) for form in forms]
    assert all(event == events[0] for event in events)
    assert isinstance(events[0], ResponseOutputAudioDelta)


def test_built_client_event_serialises_with_its_type_first() -> None:
    """A client event built from keywords gets its ``type`` on the wire, first, nothing unset."""
    wire = to_wire(InputAudioBufferCommit(event_id="evt_commit_1"))
    assert list(wire) == ["type", "event_id"]
    assert wire == {"type": "input_audio_buffer.commit", "event_id": "evt_commit_1"}
    assert to_wire(InputAudioBufferAppend(audio="AAAA")) == {
        "type": "input_audio_buffer.append",
        "audio": "AAAA",
    }


def test_nested_models_serialise_only_what_was_set() -> None:
    """A built ``response.create`` carries exactly the parameters given, nested ones included."""
    event = ResponseCreate(
        event_id="evt_1",
        response=ResponseParams(
            output_modalities=("text",),
            input=(ConversationItem(type="item_reference", id=ITEM),),
        ),
    )
    assert to_wire(event) == {
        "type": "response.create",
        "event_id": "evt_1",
        "response": {
            "output_modalities": ["text"],
            "input": [{"type": "item_reference", "id": ITEM}],
        },
    }


def test_explicit_null_is_kept_on_the_wire() -> None:
    """``status_details: null`` set explicitly survives to_wire (strict clients need it, §4.1)."""
    response = RealtimeResponse(id=RESP, status="completed", status_details=None, output=())
    wire = to_wire(ResponseDone(event_id="event_1", response=response))
    assert wire["response"] == {
        "id": RESP,
        "status": "completed",
        "status_details": None,
        "output": [],
    }


def test_session_update_builds_a_ga_manual_turn_session() -> None:
    """The harness's GA ``session.update`` (manual commits) is expressible with the models."""
    event = SessionUpdate.model_validate(
        {
            "event_id": "evt_1",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    assert to_wire(event)["session"] == {
        "type": "realtime",
        "audio": {"input": {"turn_detection": None}},
    }


# ---------------------------------------------------------------------------------------------
# Real traffic.


@pytest.mark.parametrize(("path", "number"), _trace_lines())
def test_every_real_trace_line_parses_and_round_trips(path: Path, number: int) -> None:
    """Each line of each real trace becomes a known typed event and serialises back unchanged."""
    line = path.read_bytes().splitlines()[number - 1]
    event = parse_server_event(line)
    assert not isinstance(event, UnknownEvent | InvalidEvent), event
    assert event.type in SERVER_EVENT_TYPES
    assert to_wire(event) == orjson.loads(line)


def test_real_trace_types_belong_to_their_dialect() -> None:
    """Every type seen in a GA (beta) trace is in the GA (beta) set."""
    if not TRACES.is_dir():
        pytest.skip("traces absent")
    for path in TRACES.glob("*.jsonl"):
        dialect = Dialect(json.loads(path.with_suffix(".meta.json").read_text())["dialect"])
        seen = {
            orjson.loads(line)["type"] for line in path.read_bytes().splitlines() if line.strip()
        }
        assert seen <= server_event_types(dialect), (path.name, seen - server_event_types(dialect))


# ---------------------------------------------------------------------------------------------
# Unknown, malformed, extras, immutability.


def test_unknown_server_type_becomes_unknown_event_with_the_whole_payload() -> None:
    """A type this package does not know is kept whole as an UnknownEvent, never raised."""
    payload = {"type": "response.reasoning.delta", "event_id": "event_X", "delta": "hm", "n": [1]}
    event = parse_server_event(orjson.dumps(payload))
    assert isinstance(event, UnknownEvent)
    assert (event.type, event.event_id, event.payload) == (
        "response.reasoning.delta",
        "event_X",
        payload,
    )
    assert to_wire(event) == payload


def test_unknown_client_type_becomes_unknown_event() -> None:
    """The mock sees client types it does not know as UnknownEvent (to answer invalid_value)."""
    event = parse_client_event({"type": "nope", "event_id": "evt_1"})
    assert isinstance(event, UnknownEvent)
    assert event.event_id == "evt_1"


def test_server_only_type_is_unknown_as_a_client_event() -> None:
    """A server type sent by a client is unknown on the client side, and vice versa."""
    assert isinstance(parse_client_event({"type": "response.done", "response": {}}), UnknownEvent)
    assert isinstance(
        parse_server_event({"type": "response.create", "event_id": "e"}), UnknownEvent
    )


def test_malformed_known_event_becomes_invalid_event_naming_the_field() -> None:
    """``response.done`` whose ``response`` is a string gives an InvalidEvent with the reason."""
    payload = {"type": "response.done", "event_id": "event_1", "response": "oops"}
    for form in (payload, orjson.dumps(payload)):
        event = parse_server_event(form)
        assert isinstance(event, InvalidEvent)
        assert (event.type, event.event_id, event.payload) == ("response.done", "event_1", payload)
        assert event.error.startswith("response: ")
        assert "http" not in event.error


def test_missing_required_field_is_reported() -> None:
    """A delta without ``delta`` is invalid and the error names the missing field."""
    event = parse_server_event(_ev("response.output_audio.delta", 1, **IDS))
    assert isinstance(event, InvalidEvent)
    assert event.error == "delta: Field required"


def test_server_event_without_event_id_is_invalid_but_null_is_tolerated() -> None:
    """A server event must carry ``event_id``; an explicit null (seen once on Azure) is accepted."""
    missing = parse_server_event({"type": "input_audio_buffer.cleared"})
    assert isinstance(missing, InvalidEvent)
    assert missing.error == "event_id: Field required"
    assert not isinstance(
        parse_server_event({"type": "input_audio_buffer.cleared", "event_id": None}), InvalidEvent
    )


def test_malformed_client_event_becomes_invalid_event() -> None:
    """A client append whose audio is not a string is invalid, not an exception."""
    event = parse_client_event(b'{"type":"input_audio_buffer.append","audio":42}')
    assert isinstance(event, InvalidEvent)
    assert event.error.startswith("audio: ")


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"{not json", "not JSON: "),
        ("", "not JSON: "),
        (b"[1, 2]", "not a JSON object but list"),
        ('"hello"', "not a JSON object but str"),
        ({"event_id": "event_1"}, "no 'type' field"),
        ({"type": 7}, "'type' is not a string"),
        (b'{"type": null}', "no 'type' field"),
    ],
)
def test_frames_that_are_not_events_become_invalid_events(frame: Any, error: str) -> None:
    """Non-JSON, non-object and type-less frames give an InvalidEvent saying which."""
    for parse in (parse_server_event, parse_client_event):
        event = parse(frame)
        assert isinstance(event, InvalidEvent)
        assert event.error.startswith(error)


def _mutations(payload: dict[str, Any], rng: random.Random) -> list[Any]:
    """Damaged copies of a payload: a key dropped, a value swapped for a wrong type, truncation."""
    weird: list[Any] = [None, "x", 7, -1.5, True, [], {}, [1, "a"], {"k": None}, "\u0000", 10**30]
    out: list[Any] = []
    for key in payload:
        out.append({k: v for k, v in payload.items() if k != key})
        out.append(payload | {key: rng.choice(weird)})
        if isinstance(payload[key], dict) and payload[key]:
            inner = dict(payload[key])
            inner[rng.choice(list(inner))] = rng.choice(weird)
            out.append(payload | {key: inner})
    raw = orjson.dumps(payload)
    out.append(raw[: rng.randrange(len(raw))])
    return out


def test_parsing_never_raises_on_damaged_events() -> None:
    """Dropped fields, wrong-typed values and truncated frames give events, never exceptions."""
    rng = random.Random(0)
    payloads = [p for d in Dialect for _, p in _all_server_payloads(d)]
    client_payloads = [p for d in Dialect for p in _client_payloads(d)]
    for parse, sources in ((parse_server_event, payloads), (parse_client_event, client_payloads)):
        for payload in sources:
            for damaged in _mutations(payload, rng):
                event = parse(damaged)
                if isinstance(event, InvalidEvent):
                    assert event.error
                else:
                    assert to_wire(event) is not None


def test_parse_rejects_a_non_mapping_object_without_raising() -> None:
    """Handing the parser something that is neither text nor a mapping gives an InvalidEvent."""
    event = parse_server_event(typing.cast(Any, 42))
    assert isinstance(event, InvalidEvent)


def test_undeclared_fields_are_kept_at_every_level() -> None:
    """``obfuscation``, a top-level ``session_id`` and nested unknown fields survive to_wire."""
    payload = _ev(
        "response.output_text.delta",
        1,
        **IDS,
        delta="Hi",
        obfuscation="A5Nj2cC01aseXj",
        session_id=SESS,
    )
    event = parse_server_event(payload)
    assert isinstance(event, ResponseOutputTextDelta)
    assert event.obfuscation == "A5Nj2cC01aseXj"
    assert event.model_extra == {"session_id": SESS}
    done = _ev("response.done", 2, response=_response(Dialect.GA, done=True) | {"future": {"x": 1}})
    done["response"]["output"][0]["content"][0]["brand_new"] = True
    parsed = parse_server_event(done)
    assert isinstance(parsed, ResponseDone)
    assert parsed.response.model_extra == {"future": {"x": 1}}
    assert to_wire(parsed) == done


def test_tolerates_fields_real_traffic_omits_or_nulls() -> None:
    """An ``error`` with a null outer event_id and a beta transcript without usage still parse."""
    error = parse_server_event(
        {"type": "error", "event_id": None, "error": {"type": "server_error"}}
    )
    assert isinstance(error, ErrorEvent)
    assert error.error.type == "server_error"
    completed = _ev(
        "conversation.item.input_audio_transcription.completed",
        1,
        item_id=ITEM,
        content_index=0,
        transcript="Hi",
    )
    assert not isinstance(parse_server_event(completed), UnknownEvent | InvalidEvent)


def test_strict_adapter_raises_for_callers_who_want_exceptions() -> None:
    """SERVER_EVENT_ADAPTER / CLIENT_EVENT_ADAPTER raise where the parse functions return."""
    with pytest.raises(pydantic.ValidationError):
        SERVER_EVENT_ADAPTER.validate_python({"type": "response.done", "response": "oops"})
    with pytest.raises(pydantic.ValidationError):
        CLIENT_EVENT_ADAPTER.validate_json(b'{"type": "nope"}')


def test_session_client_secret_is_kept_but_never_shown_in_repr() -> None:
    """An ephemeral key in ``session.client_secret`` round-trips but stays out of repr and logs."""
    session = BETA_SESSION | {
        "client_secret": {"value": "ek_fake_secret_for_test", "expires_at": 1}
    }
    event = parse_server_event(_ev("session.created", 1, session=session))
    assert isinstance(event, SessionCreated)
    assert "ek_fake_secret_for_test" not in repr(event)
    assert "ek_fake_secret_for_test" not in str(event)
    assert to_wire(event)["session"]["client_secret"]["value"] == "ek_fake_secret_for_test"


def test_models_are_frozen_all_the_way_down() -> None:
    """Events and their nested objects refuse assignment; sequences are tuples."""
    event = parse_server_event(_ev("session.created", 1, session=GA_SESSION))
    assert isinstance(event, SessionCreated)
    with pytest.raises(pydantic.ValidationError):
        event.event_id = "other"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        event.session.id = "other"  # type: ignore[misc]
    assert isinstance(event.session.output_modalities, tuple)
    unknown = parse_server_event({"type": "x.y", "event_id": "e"})
    with pytest.raises(pydantic.ValidationError):
        unknown.type = "z"  # type: ignore[misc]


def test_every_model_has_a_one_line_docstring_and_dialects() -> None:
    """Each event class documents itself in one line and names the dialects that use it."""
    for cls in [*SERVER_EVENT_CLASSES.values(), *CLIENT_EVENT_CLASSES.values()]:
        assert cls.__doc__, cls
        assert "\n" not in cls.__doc__.strip(), cls
        assert cls.DIALECTS, cls


# ---------------------------------------------------------------------------------------------
# Cross-check against the official openai package.

try:
    import openai.types.beta.realtime as openai_beta
    import openai.types.realtime as openai_ga
except ImportError:  # a test extra; without it only this section skips, not the whole module
    openai_beta = openai_ga = None

needs_openai = pytest.mark.skipif(openai_ga is None, reason="the openai package is not installed")


def _literal_types(union: Any) -> set[str]:
    """The literal ``type`` values of every model in an openai event union."""
    found: set[str] = set()

    def visit(tp: Any) -> None:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            visit(typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(tp):
                visit(arg)
        else:
            found.update(typing.get_args(tp.model_fields["type"].annotation))

    visit(union)
    return found


OPENAI_UNIONS: dict[tuple[str, Dialect], Any] = (
    {}
    if openai_ga is None or openai_beta is None
    else {
        ("server", Dialect.GA): openai_ga.RealtimeServerEvent,
        ("server", Dialect.BETA): openai_beta.RealtimeServerEvent,
        ("client", Dialect.GA): openai_ga.RealtimeClientEvent,
        ("client", Dialect.BETA): openai_beta.RealtimeClientEvent,
    }
)

#: Where our catalogue and the openai SDK differ, and why (all other names are equal).
DOCUMENTED_DIFFERENCES: dict[tuple[str, Dialect], tuple[set[str], set[str]]] = {
    # (only ours, only openai's)
    ("server", Dialect.GA): (
        set(),
        # Kept in the GA SDK union, but GA servers send conversation.item.added/.done instead
        # (openai-openapi#518); we still parse it, we just do not list it as GA.
        {"conversation.item.created"},
    ),
    ("server", Dialect.BETA): (
        # transcription_session.created is documented for beta transcription sessions; the
        # segment event is listed under beta in the spec. Neither is in the beta SDK union.
        {"transcription_session.created", "conversation.item.input_audio_transcription.segment"},
        set(),
    ),
    ("client", Dialect.GA): (
        # session.close appears in the live GA server's list of accepted types (§2.1).
        {"session.close"},
        set(),
    ),
    ("client", Dialect.BETA): (set(), set()),
}


@needs_openai
@pytest.mark.parametrize(("side", "dialect"), list(DOCUMENTED_DIFFERENCES))
def test_type_names_match_the_openai_unions_except_documented(side: str, dialect: Dialect) -> None:
    """Our per-dialect type names equal the openai SDK's, apart from the documented differences.

    MCP events (mcp_list_tools.*, response.mcp_call*) are modelled, as in the GA SDK.
    """
    ours = server_event_types(dialect) if side == "server" else client_event_types(dialect)
    theirs = _literal_types(OPENAI_UNIONS[side, dialect])
    assert (ours - theirs, theirs - ours) == DOCUMENTED_DIFFERENCES[side, dialect]


#: Payloads our models accept but the openai SDK rejects, and why (strict xfail: if the SDK
#: changes, the test tells us).
OPENAI_REJECTS: dict[tuple[Dialect, str], str] = {
    (Dialect.BETA, "transcription_session.updated"): (
        "the beta SDK reuses the REST TranscriptionSession type, whose client_secret is required; "
        "nothing says the WebSocket event carries a secret"
    ),
}


def _openai_cases(side: str) -> list[Any]:
    def named(dialect: Dialect) -> list[tuple[str, dict[str, Any]]]:
        if side == "server":
            return _all_server_payloads(dialect)
        return [(p["type"], p) for p in _client_payloads(dialect)]

    return [
        pytest.param(
            dialect,
            payload,
            id=f"{dialect}-{name}",
            marks=[
                pytest.mark.xfail(
                    reason=OPENAI_REJECTS[dialect, payload["type"]], raises=pydantic.ValidationError
                )
            ]
            if (dialect, payload["type"]) in OPENAI_REJECTS
            else [],
        )
        for dialect in Dialect
        for name, payload in named(dialect)
        if (side, dialect) in OPENAI_UNIONS
        and payload["type"] in _literal_types(OPENAI_UNIONS[side, dialect])
    ]


@needs_openai
@pytest.mark.parametrize(("dialect", "payload"), _openai_cases("server"))
def test_openai_accepts_the_server_payloads_we_accept(
    dialect: Dialect, payload: dict[str, Any]
) -> None:
    """The openai SDK's server union of the same dialect validates every payload our models take."""
    assert not isinstance(parse_server_event(payload), UnknownEvent | InvalidEvent)
    TypeAdapter(OPENAI_UNIONS["server", dialect]).validate_python(payload)


@needs_openai
@pytest.mark.parametrize(("dialect", "payload"), _openai_cases("client"))
def test_openai_accepts_the_client_payloads_we_accept(
    dialect: Dialect, payload: dict[str, Any]
) -> None:
    """The openai SDK's client union of the same dialect validates every payload our models take."""
    assert not isinstance(parse_client_event(payload), UnknownEvent | InvalidEvent)
    TypeAdapter(OPENAI_UNIONS["client", dialect]).validate_python(payload)
