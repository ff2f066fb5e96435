"""The scripted session state machine: what it sends, when, and how each wait ends."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

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

CHUNK = "A" * 6400  # 4,800 bytes: 100 ms of PCM16


def make(
    dialect: Dialect = Dialect.GA,
    *,
    chunks: int = 3,
    speed: float = 1.0,
    turns: int = 1,
    text: str | None = None,
    vad: str | None = None,
) -> SessionScript:
    turn: AudioTurn | TextTurn = (
        TextTurn(text) if text is not None else AudioTurn(chunks=(CHUNK,) * chunks)
    )
    counter = itertools.count(1)
    plan = ScriptPlan(
        dialect=dialect,
        turns=(turn,) * turns,
        turn_detection=vad,
        speed=speed,
        timeouts=PhaseTimeouts(5, 5, 5, 5, 5, 0.25),
    )
    return SessionScript(plan, new_event_id=lambda: f"evt_{next(counter)}")


def started(script: SessionScript, build: TraceBuilder) -> list[dict[str, Any]]:
    script.start(0.0)
    return script.receive(build.session_created()[0], 0.01)


@pytest.fixture(params=[Dialect.GA, Dialect.BETA], ids=["ga", "beta"])
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return Dialect(request.param)


def test_session_update_follows_session_created_with_vad_off(dialect: Dialect) -> None:
    """session.created → session.update with turn detection null in the dialect's shape."""
    script = make(dialect)
    sent = started(script, TraceBuilder(dialect))
    assert [e["type"] for e in sent] == ["session.update"]
    session = sent[0]["session"]
    if dialect is Dialect.GA:
        assert session["type"] == "realtime"
        assert session["output_modalities"] == ["audio"]
        assert session["audio"]["input"]["turn_detection"] is None
        assert session["audio"]["output"]["voice"] == "alloy"
    else:
        assert "type" not in session
        assert session["modalities"] == ["audio", "text"]
        assert session["turn_detection"] is None
        assert session["voice"] == "alloy"
    assert script.session_id == "sess_Test0001"
    assert script.phase is Phase.WAIT_SESSION_UPDATED


def test_every_client_event_has_a_unique_event_id() -> None:
    """Each event the script emits carries a fresh event_id."""
    script = make(speed=0)
    build = TraceBuilder()
    sent = started(script, build) + script.receive(build.session_updated()[0], 0.02)
    ids = [e["event_id"] for e in sent]
    assert len(ids) == len(set(ids)) == 5  # update, 3 appends, commit


def test_audio_chunks_follow_an_absolute_schedule_without_drift() -> None:
    """Chunk k is due at t0 + k·100 ms however late the previous wake-up was."""
    script = make(chunks=50)
    build = TraceBuilder()
    started(script, build)
    first = script.receive(build.session_updated()[0], 10.0)
    assert [e["type"] for e in first] == ["input_audio_buffer.append"]
    # A wake-up 250 ms late sends every chunk that is due, then the schedule continues.
    late = script.poll(10.35)
    assert len(late) == 3
    assert script.next_wakeup() == pytest.approx(10.4)
    # After 4.9 s of (late) wake-ups, chunk 49 is due exactly at 14.9: no accumulated drift.
    assert len(script.poll(14.89)) == 45
    assert script.next_wakeup() == pytest.approx(14.9)


def test_speed_scales_the_schedule_and_zero_sends_everything_at_once() -> None:
    """speed 2 halves the interval; speed 0 sends all chunks and the commit at once."""
    script = make(chunks=4, speed=2.0)
    build = TraceBuilder()
    started(script, build)
    script.receive(build.session_updated()[0], 0.0)
    assert script.next_wakeup() == pytest.approx(0.05)
    fast = make(chunks=4, speed=0)
    started(fast, build)
    sent = fast.receive(build.session_updated()[0], 0.0)
    assert [e["type"] for e in sent][-2:] == [
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
    ]
    assert fast.phase is Phase.WAIT_COMMITTED


def test_manual_turn_runs_commit_then_response_to_done(dialect: Dialect) -> None:
    """committed → response.create; response.done → drain → done, with timings recorded."""
    build = TraceBuilder(dialect)
    script = make(dialect, speed=0)
    started(script, build)
    script.receive(build.session_updated()[0], 0.1)
    committed = build.committed()
    sent = script.receive(committed[0], 0.2)
    assert [e["type"] for e in sent] == ["response.create"]
    for offset, event in enumerate(committed[1:] + build.response("audio")):
        script.receive(event, 0.3 + offset * 0.01)
    assert script.phase is Phase.DRAIN
    script.receive(build.rate_limits()[0], 0.5)
    script.poll(10.0)
    assert script.finished
    assert script.ok
    track = script.responses[0]
    assert track.status == "completed"
    assert track.audio_bytes == 4800 * 3
    timings = track.timings_ms()
    assert timings["created"] >= 0
    assert timings["done"] > timings["first_audio"]
    assert timings["output_audio"] == 300.0


def test_text_turn_sends_item_then_response_and_asks_for_text_output() -> None:
    """A text turn sends conversation.item.create and response.create; output is text-only."""
    build = TraceBuilder()
    script = make(text="Say hi")
    sent = started(script, build)
    assert sent[0]["session"]["output_modalities"] == ["text"]
    sent = script.receive(build.session_updated()[0], 0.1)
    assert [e["type"] for e in sent] == ["conversation.item.create", "response.create"]
    assert sent[0]["item"]["content"][0] == {"type": "input_text", "text": "Say hi"}
    for event in build.response("text"):
        script.receive(event, 0.2)
    assert "".join(script.responses[0].text) == "Hello there, friend!"


def test_multi_turn_runs_each_turn_in_order() -> None:
    """--turns 2 streams and answers twice in one session."""
    build = TraceBuilder()
    script = make(speed=0, turns=2, chunks=2)
    started(script, build)
    script.receive(build.session_updated()[0], 0.0)
    for turn in range(2):
        script.receive(build.committed()[0], 0.1 + turn)
        for event in build.response("audio"):
            script.receive(event, 0.2 + turn)
    assert [r.status for r in script.responses] == ["completed", "completed"]
    assert script.phase is Phase.DRAIN


def test_failed_response_stops_remaining_turns() -> None:
    """A failed response ends the session early instead of running later turns."""
    build = TraceBuilder()
    script = make(speed=0, turns=3, chunks=2)
    started(script, build)
    script.receive(build.session_updated()[0], 0.0)
    script.receive(build.committed()[0], 0.1)
    for event in build.failed_response():
        script.receive(event, 0.2)
    assert script.phase is Phase.DRAIN
    assert script.stopped_early
    assert len(script.responses) == 1


def test_server_vad_turn_waits_for_the_servers_response_without_commit() -> None:
    """With server VAD the script streams, never commits, and waits for response.created."""
    build = TraceBuilder()
    script = make(speed=0, vad="server_vad", chunks=2)
    sent = started(script, build)
    assert sent[0]["session"]["audio"]["input"]["turn_detection"] == {"type": "server_vad"}
    sent = script.receive(build.session_updated(vad=True)[0], 0.0)
    assert "input_audio_buffer.commit" not in [e["type"] for e in sent]
    assert script.phase is Phase.WAIT_RESPONSE_CREATED
    for event in build.response("audio"):
        assert script.receive(event, 0.5) == []
    assert script.phase is Phase.DRAIN
    assert script.responses[0].t_requested is None  # timings start at response.created


def test_vad_response_that_finishes_while_streaming_ends_the_turn() -> None:
    """A VAD response that completes before the last chunk counts once streaming ends."""
    build = TraceBuilder()
    script = make(speed=1.0, vad="server_vad", chunks=5)
    started(script, build)
    script.receive(build.session_updated(vad=True)[0], 0.0)
    for event in build.response("audio"):
        script.receive(event, 0.15)
    assert script.phase is Phase.STREAMING
    script.poll(0.5)
    assert script.phase is Phase.DRAIN


@pytest.mark.parametrize(
    ("phase_after", "expected"),
    [
        ("start", Phase.WAIT_SESSION_CREATED),
        ("created", Phase.WAIT_SESSION_UPDATED),
        ("updated", Phase.WAIT_COMMITTED),
        ("committed", Phase.WAIT_RESPONSE_CREATED),
    ],
)
def test_each_wait_times_out_at_its_deadline(phase_after: str, expected: Phase) -> None:
    """No reply within the phase's bound ends the session with a timeout naming the phase."""
    build = TraceBuilder()
    script = make(speed=0)
    script.start(0.0)
    if phase_after != "start":
        script.receive(build.session_created()[0], 0.0)
    if phase_after in ("updated", "committed"):
        script.receive(build.session_updated()[0], 0.0)
    if phase_after == "committed":
        script.receive(build.committed()[0], 0.0)
    assert script.phase is expected
    script.poll(4.99)
    assert not script.finished
    script.poll(5.0)
    assert script.finished
    assert script.timed_out is not None
    assert script.timed_out.phase is expected
    assert expected.value in script.timed_out.message()


def test_response_deadline_is_an_idle_timeout_renewed_by_each_event() -> None:
    """A long response is fine as long as events keep coming; a stall times out."""
    build = TraceBuilder()
    script = make(speed=0)
    started(script, build)
    script.receive(build.session_updated()[0], 0.0)
    script.receive(build.committed()[0], 0.0)
    events = build.response("audio")
    for i, event in enumerate(events[:6]):
        script.receive(event, 4.0 * (i + 1))  # 4 s apart: each renews the 5 s bound
    assert not script.finished
    script.poll(24.0 + 5.0)
    assert script.timed_out is not None
    assert script.timed_out.phase is Phase.WAIT_RESPONSE_DONE
    assert script.timed_out.response_id == script.responses[0].response_id
    assert "stalled" in script.timed_out.message()


def test_error_naming_our_session_update_ends_the_session() -> None:
    """An error whose event_id is our session.update is a rejection of that event."""
    build = TraceBuilder()
    script = make()
    sent = started(script, build)
    error = build.error("unknown_parameter", client_event_id=sent[0]["event_id"])[0]
    script.receive(error, 0.1)
    assert script.finished
    assert script.rejection is error
    assert script.rejected_event_type == "session.update"
    assert not script.ok


def test_unattributed_error_during_a_response_keeps_reading() -> None:
    """A server_error event without our id mid-response waits for the response's done."""
    build = TraceBuilder()
    script = make(speed=0)
    started(script, build)
    script.receive(build.session_updated()[0], 0.0)
    script.receive(build.committed()[0], 0.0)
    events = build.response("audio")
    script.receive(events[0], 0.1)
    script.receive(build.error(None, error_type="server_error")[0], 0.2)
    assert not script.finished
    assert script.rejection is None


def test_benign_error_is_ignored() -> None:
    """response_cancel_not_active never ends the session."""
    build = TraceBuilder()
    script = make()
    started(script, build)
    script.receive(build.error("response_cancel_not_active")[0], 0.1)
    assert not script.finished


def test_close_while_waiting_is_unexpected_but_close_while_draining_is_not() -> None:
    """A server close mid-session is recorded with the phase; during the drain it is fine."""
    build = TraceBuilder()
    script = make()
    started(script, build)
    script.closed(1011, "server_error", 0.5)
    assert script.unexpected_close == (1011, "server_error", Phase.WAIT_SESSION_UPDATED)
    drained = make(text="hi")
    started(drained, build)
    drained.receive(build.session_updated()[0], 0.0)
    for event in build.response("text"):
        drained.receive(event, 0.1)
    drained.closed(1000, "", 0.2)
    assert drained.unexpected_close is None
    assert drained.ok


def test_a_plan_needs_a_turn() -> None:
    """An empty plan is a programming error."""
    with pytest.raises(ValueError, match="turn"):
        SessionScript(ScriptPlan(Dialect.GA, ()), new_event_id=lambda: "x")


def test_progress_reports_chunks_sent() -> None:
    """progress() counts chunks of the current audio turn."""
    build = TraceBuilder()
    script = make(chunks=3)
    started(script, build)
    assert script.progress() == (0, 0)
    script.receive(build.session_updated()[0], 0.0)
    assert script.progress() == (1, 3)


def test_pace_phase_places_the_stream_on_the_sessions_phase() -> None:
    """With ``pace_phase`` the first chunk waits for the session's phase of the chunk interval
    (less than one interval), then the absolute schedule runs from there; without it the
    stream starts at once."""
    build = TraceBuilder()
    plan = make(chunks=5).plan
    script = SessionScript(plan, new_event_id=lambda: "evt_1", pace_phase=0.3)
    started(script, build)
    assert script.receive(build.session_updated()[0], 10.05) == []  # 10.05 is not on phase
    assert script.next_wakeup() == pytest.approx(10.13)
    assert script.poll(10.1299) == []
    assert [e["type"] for e in script.poll(10.13)] == ["input_audio_buffer.append"]
    assert script.next_wakeup() == pytest.approx(10.23)
    on_phase = SessionScript(plan, new_event_id=lambda: "evt_1", pace_phase=0.5)
    started(on_phase, build)
    assert len(on_phase.receive(build.session_updated()[0], 10.05)) == 1  # already on phase
    rounded = SessionScript(plan, new_event_id=lambda: "evt_1", pace_phase=0.3)
    started(rounded, build)
    assert len(rounded.receive(build.session_updated()[0], 10.13)) == 1  # on phase, rounded
