"""End to end through real sockets, with the plugin's fixtures: the mock by default, both
dialects; the same tests run against a live deployment with ``--realtime-live``.

Fault injection, retries and recordings are covered in ``test_probe.py`` (they need the mock).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from realtime_harness.media.samples import get_sample
from realtime_harness.mock import Latency
from realtime_harness.probe import ProbeResult
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.validator import Validator
from realtime_harness.pytest_plugin import RealtimeTestSession
from realtime_harness.target import Target


@pytest.fixture(params=list(Dialect), ids=["ga", "beta"])
def realtime_dialect(request: pytest.FixtureRequest) -> Dialect:
    """Every test here runs in both dialects (this overrides the plugin's fixture)."""
    dialect: Dialect = request.param
    return dialect


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def session_update(dialect: Dialect, **fields: Any) -> dict[str, Any]:
    """A session.update with manual turns (VAD off) in the dialect's shape."""
    if dialect is Dialect.GA:
        session = {"type": "realtime", "audio": {"input": {"turn_detection": None}}, **fields}
    else:
        session = {"turn_detection": None, **fields}
    return {"type": "session.update", "session": session}


def user_text(text: str) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "conversation.item.create", "item": item}


def assert_clean(result: ProbeResult) -> None:
    result.assert_clean()  # fails with every failure's and violation's line in full


def checked(session: RealtimeTestSession, dialect: Dialect) -> list[str]:
    """Rule names broken by what the server sent in this session."""
    validator = Validator(dialect)
    for event in session.events:
        validator.server_event(event)
    return [v.rule for v in validator.finish().violations]


def test_clean_audio_session(run_probe: Any, realtime_dialect: Dialect) -> None:
    """A spoken question gets a completed audio answer with a transcript and no violation."""
    result = run_probe(audio="greeting")
    assert_clean(result)
    assert result.dialect is Dialect(realtime_dialect)
    (response,) = result.responses
    assert response.status == "completed"
    assert result.timings_ms["output_audio"] > 0


def test_text_only_turn(run_probe: Any) -> None:
    """The minimal sanity check: a text-only turn completes."""
    assert_clean(run_probe(text="Say hello."))


def test_server_vad_turn(run_probe: Any) -> None:
    """With server VAD the server detects the end of speech, commits and answers."""
    assert_clean(run_probe(audio="silence-padded", turn_detection="server_vad"))


def test_multi_turn(run_probe: Any) -> None:
    """Two turns in one session each get their own completed response."""
    result = run_probe(audio="greeting", turns=2)
    assert_clean(result)
    assert [r.status for r in result.responses] == ["completed", "completed"]
    assert len({r.response_id for r in result.responses}) == 2


@pytest.mark.asyncio
async def test_function_call(realtime_session: Any, realtime_dialect: Dialect) -> None:
    """With a tool configured, the answer to a weather question can be a function call."""
    dialect = Dialect(realtime_dialect)
    async with realtime_session() as s:
        await s.send(session_update(dialect, tools=[WEATHER_TOOL], tool_choice="required"))
        await s.wait_for("session.updated")
        await s.send(user_text("What is the weather in Paris?"))
        await s.send({"type": "response.create"})
        done = await s.wait_for("response.done", max_wait=30)
        output = done["response"]["output"]
        calls = [item for item in output if item["type"] == "function_call"]
        assert calls, output
        assert calls[0]["name"] == "get_weather"
        result = {"type": "function_call_output", "call_id": calls[0]["call_id"], "output": "{}"}
        await s.send({"type": "conversation.item.create", "item": result})
        await s.send({"type": "response.create"})
        await s.wait_for("response.done", max_wait=30)
        assert checked(s, dialect) == []


@pytest.mark.asyncio
async def test_cancel_and_active_response_race(
    realtime_session: Any,
    realtime_dialect: Dialect,
    realtime_target: Target,
    request: pytest.FixtureRequest,
) -> None:
    """A second response.create while one is active is refused; cancel ends the active one."""
    dialect = Dialect(realtime_dialect)
    if realtime_target.embedded:  # keep the mock's response active long enough to race it
        request.getfixturevalue("realtime_mock").set_latency(Latency.fast(hold_s=0.5))
    async with realtime_session() as s:
        await s.send(session_update(dialect))
        await s.wait_for("session.updated")
        await s.send(user_text("Tell me a long story about the sea."))
        await s.send({"type": "response.create"})
        second = await s.send({"type": "response.create"})
        await s.send({"type": "response.cancel"})
        done = await s.wait_for("response.done", max_wait=30)
        assert done["response"]["status"] in ("cancelled", "completed")
        refused = [
            e["error"]
            for e in s.events
            if e["type"] == "error"
            and e["error"]["code"] == "conversation_already_has_active_response"
        ]
        assert [error["event_id"] for error in refused] == [second]
        assert checked(s, dialect) == []


@pytest.mark.asyncio
async def test_commit_below_100_ms_is_refused(
    realtime_session: Any, realtime_dialect: Dialect
) -> None:
    """Committing 50 ms of audio gets input_audio_buffer_commit_empty naming our event id."""
    dialect = Dialect(realtime_dialect)
    pcm = get_sample("greeting").pcm16()[: 48 * 50]
    async with realtime_session() as s:
        await s.send(session_update(dialect))
        await s.wait_for("session.updated")
        await s.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})
        commit = await s.send({"type": "input_audio_buffer.commit"})
        error = await s.wait_for("error", max_wait=10)
        assert error["error"]["code"] == "input_audio_buffer_commit_empty"
        assert error["error"]["event_id"] == commit
