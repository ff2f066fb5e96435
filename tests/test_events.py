"""The event catalog against documented payloads, real traffic and the official openai types.

Every event type of both dialects has a documented payload here; the catalog knows each one for
its side and dialect, the validator takes it, and the official ``openai`` package's realtime types
accept it (apart from documented differences).
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import orjson
import pydantic
import pytest
from pydantic import TypeAdapter

from realtime_harness.protocol import catalog, dialects
from realtime_harness.protocol import session_config as SC
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.validator import Validator

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
        payloads.append(
            {"type": "session.input_audio_buffer.append", "event_id": "evt_13", "audio": "AAAA"}
        )
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
# The payload tables cover the catalog.


def server_event_types(dialect: Dialect | None = None) -> frozenset[str]:
    return catalog.names("server", dialect)


def client_event_types(dialect: Dialect | None = None) -> frozenset[str]:
    return catalog.names("client", dialect)


SERVER_EVENT_TYPES = catalog.SERVER_TYPES
CLIENT_EVENT_TYPES = catalog.CLIENT_TYPES


def test_payload_tables_cover_every_known_type_of_each_dialect() -> None:
    """Every server and client type a dialect knows has a payload here, and nothing else does."""
    for dialect in Dialect:
        assert {p["type"] for p in _server_payloads(dialect)} == server_event_types(dialect)
        assert {p["type"] for p in _client_payloads(dialect)} == client_event_types(dialect)


def test_type_sets_are_the_union_of_both_dialects() -> None:
    """SERVER_TYPES / CLIENT_TYPES hold every known name of either dialect."""
    assert server_event_types() == SERVER_EVENT_TYPES
    assert client_event_types() == CLIENT_EVENT_TYPES
    assert server_event_types(Dialect.GA) | server_event_types(Dialect.BETA) == SERVER_EVENT_TYPES
    assert client_event_types(Dialect.GA) | client_event_types(Dialect.BETA) == CLIENT_EVENT_TYPES


def test_type_sets_agree_with_the_dialect_table() -> None:
    """Dialect-only names from dialects.py belong to their dialect's set and not the other's."""
    ga, beta = server_event_types(Dialect.GA), server_event_types(Dialect.BETA)
    beta_only = dialects.BETA_ONLY - CLIENT_EVENT_TYPES
    assert ga >= dialects.GA_ONLY
    assert not dialects.GA_ONLY & beta
    assert beta >= beta_only
    assert not beta_only & ga
    for name in beta:
        assert dialects.to_dialect(name, Dialect.GA) in ga


# ---------------------------------------------------------------------------------------------
# Every documented payload is known: to the catalog, for its side and dialect, and the validator.


@pytest.mark.parametrize(("dialect", "payload"), SERVER_CASES)
def test_documented_server_payload_is_a_known_server_event(
    dialect: Dialect, payload: dict[str, Any]
) -> None:
    """Each documented server payload has its catalog row, in its dialect, and validates alone
    without any rule about its type or shape (only the grammar's context may be missing)."""
    row = catalog.spec(payload["type"])
    assert row is not None
    assert row.side == "server"
    assert row.name(dialect) == payload["type"]
    validator = Validator(dialect)
    validator.server_event(payload, line=1)
    rules = {v.rule for v in validator.finish().violations}
    assert not rules & {"bad-line", "dialect-mismatch"}, rules
    if "event_id" in payload:  # the SIP DTMF event is documented without one
        assert "event-id-missing" not in rules


@pytest.mark.parametrize(("dialect", "payload"), CLIENT_CASES)
def test_documented_client_payload_is_a_known_client_event(
    dialect: Dialect, payload: dict[str, Any]
) -> None:
    """Each documented client payload has its catalog row, in its dialect, and the validator
    accepts its type (client-unknown-type never fires for it)."""
    row = catalog.spec(payload["type"])
    assert row is not None
    assert row.side == "client"
    assert row.name(dialect) == payload["type"]
    validator = Validator(dialect)
    validator.client_event(payload)
    rules = {v.rule for v in validator.finish().violations}
    assert "client-unknown-type" not in rules


def test_session_update_builds_a_ga_manual_turn_session() -> None:
    """The harness's GA ``session.update`` (manual commits) has the documented nested shape."""
    session = SC.build_update(Dialect.GA, turn_detection=None)
    assert session["type"] == "realtime"
    assert session["audio"]["input"]["turn_detection"] is None
    documented = next(p for p in _client_payloads(Dialect.GA) if p["type"] == "session.update")
    assert SC.turn_detection_update(documented["session"]) is None


# ---------------------------------------------------------------------------------------------
# Real traffic.


@pytest.mark.parametrize(("path", "number"), _trace_lines())
def test_every_real_trace_line_is_a_known_event(path: Path, number: int) -> None:
    """Each line of each real trace is an event type the catalog knows as a server event."""
    line = path.read_bytes().splitlines()[number - 1]
    event = orjson.loads(line)
    row = catalog.spec(event["type"])
    assert row is not None, event["type"]
    assert row.side == "server"


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
        # session.close and session.input_audio_buffer.append appear in the live GA server's
        # list of accepted types, not in the SDK.
        {"session.close", "session.input_audio_buffer.append"},
        set(),
    ),
    ("client", Dialect.BETA): (set(), set()),
}


@needs_openai
@pytest.mark.parametrize(("side", "dialect"), list(DOCUMENTED_DIFFERENCES))
def test_type_names_match_the_openai_unions_except_documented(side: str, dialect: Dialect) -> None:
    """Our per-dialect type names equal the openai SDK's, apart from the documented differences.

    MCP events (mcp_list_tools.*, response.mcp_call*) are in the catalog, as in the GA SDK.
    """
    ours = server_event_types(dialect) if side == "server" else client_event_types(dialect)
    theirs = _literal_types(OPENAI_UNIONS[side, dialect])
    assert (ours - theirs, theirs - ours) == DOCUMENTED_DIFFERENCES[side, dialect]


#: Documented payloads the openai SDK rejects, and why (strict xfail: if the SDK
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
    """The openai SDK's server union of the same dialect validates every payload we document."""
    assert catalog.spec(payload["type"]) is not None
    TypeAdapter(OPENAI_UNIONS["server", dialect]).validate_python(payload)


@needs_openai
@pytest.mark.parametrize(("dialect", "payload"), _openai_cases("client"))
def test_openai_accepts_the_client_payloads_we_accept(
    dialect: Dialect, payload: dict[str, Any]
) -> None:
    """The openai SDK's client union of the same dialect validates every payload we document."""
    assert catalog.spec(payload["type"]) is not None
    TypeAdapter(OPENAI_UNIONS["client", dialect]).validate_python(payload)
