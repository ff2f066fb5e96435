"""Edges of the scripted session: odd server payloads and unasked-for events change nothing."""

from __future__ import annotations

import itertools
from typing import Any

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.script import (
    AudioTurn,
    Phase,
    PhaseTimeouts,
    ScriptPlan,
    SessionScript,
    TextTurn,
)
from realtime_harness.testing import TraceBuilder

CHUNK = "A" * 6400


def script_for(
    turn: AudioTurn | TextTurn, dialect: Dialect = Dialect.GA, **plan: Any
) -> SessionScript:
    counter = itertools.count(1)
    return SessionScript(
        ScriptPlan(
            dialect=dialect,
            turns=(turn,),
            speed=0.0,
            timeouts=PhaseTimeouts(5, 5, 5, 5, 5, 0.25),
            **plan,
        ),
        new_event_id=lambda: f"evt_{next(counter)}",
    )


def test_odd_session_created_payload_keeps_going() -> None:
    """A session.created without a session object still moves on to session.update."""
    script = script_for(TextTurn("hi"))
    script.start(0.0)
    sent = script.receive({"type": "session.created", "event_id": "e1", "session": "?"}, 0.01)
    assert [e["type"] for e in sent] == ["session.update"]
    assert script.session_id is None
    assert script.receive(TraceBuilder().session_created()[0], 0.02) == []  # a second one: ignored


def test_no_instructions_means_none_sent() -> None:
    """With instructions None the session.update leaves the server's default instructions alone."""
    script = script_for(TextTurn("hi"), Dialect.BETA, instructions=None)
    script.start(0.0)
    (update,) = script.receive(TraceBuilder(Dialect.BETA).session_created()[0], 0.01)
    assert "instructions" not in update["session"]


def run_to_response(script: SessionScript, build: TraceBuilder) -> str:
    script.start(0.0)
    script.receive(build.session_created()[0], 0.01)
    script.receive(build.session_updated()[0], 0.02)
    now = 0.03
    for _ in range(10):  # the audio goes out at speed 0 through poll()
        script.poll(now)
        now += 0.001
    script.receive(build.committed()[0], now)
    assert script.phase is Phase.WAIT_RESPONSE_CREATED
    return "ok"


def test_unasked_for_responses_and_odd_deltas_are_ignored() -> None:
    """Responses we did not ask for, deltas that are not strings and unknown ids are ignored."""
    build = TraceBuilder()
    script = script_for(AudioTurn(chunks=(CHUNK,) * 2))
    run_to_response(script, build)
    events = build.response("audio", deltas=2)
    created = events[0]
    script.receive(created, 0.1)
    assert script.phase is Phase.WAIT_RESPONSE_DONE
    extra = build.response("text")
    script.receive(extra[0], 0.11)  # a second response.created: not ours
    for event in events[1:-1]:
        if "delta" in event:
            event = {**event, "delta": None}
        script.receive(event, 0.12)
    script.receive({**events[2], "response_id": "resp_unknown"}, 0.13)
    script.receive(events[-1], 0.2)
    assert script.finished or script.phase is not Phase.WAIT_RESPONSE_DONE
