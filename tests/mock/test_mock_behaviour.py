"""The mock's pure session behaviour: client events and time in, server events out (no sockets)."""

from __future__ import annotations

import base64
import math
import random
from typing import Any

import pytest
from mock_testkit import (
    SHORT,
    appends,
    behaviour,
    check_events,
    events_of,
    manual_update,
    run_all,
    silence,
    types,
)

from realtime_harness.mock.behaviour import BehaviourConfig, Close, Latency, SessionBehaviour
from realtime_harness.mock.faults import FaultPlan
from realtime_harness.mock.voices import PLACEHOLDER_TRANSCRIPT, tone_voice
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.ids import ID_RE
from realtime_harness.protocol.outcome import Outcome

DIALECTS = pytest.mark.parametrize("dialect", list(Dialect), ids=lambda d: d.value)
COMMIT = {"type": "input_audio_buffer.commit", "event_id": "evt_commit"}
CREATE = {"type": "response.create", "event_id": "evt_create"}


def turn(dialect: Dialect, ms: int = 300, **update: object) -> list[dict[str, object]]:
    """A manual-commit turn: disable VAD, append ``ms`` of silence, commit, ask for a response."""
    return [manual_update(dialect, **update), *appends(silence(ms)), COMMIT, CREATE]


def by_type(events: list[dict[str, object]], etype: str) -> list[dict[str, object]]:
    return [e for e in events if e["type"] == etype]


@DIALECTS
def test_session_created_is_first_with_default_session_and_real_ids(dialect: Dialect) -> None:
    """The first event is session.created with server VAD on, expires_at and real-form ids."""
    b = behaviour(dialect)
    first = events_of(b, 0.0)
    assert types(first) == ["session.created"]
    session = first[0]["session"]
    assert ID_RE.match(first[0]["event_id"])
    assert session["id"].startswith("sess_")
    assert len(session["id"]) == len("sess_") + 21
    assert session["expires_at"] == 1_800_000_000 + 3600
    vad = (
        session["audio"]["input"]["turn_detection"]
        if dialect is Dialect.GA
        else session["turn_detection"]
    )
    assert vad["type"] == "server_vad"
    assert vad["silence_duration_ms"] == 200
    check_events(first, dialect)


@DIALECTS
def test_manual_turn_follows_the_dialect_grammar_and_validates(dialect: Dialect) -> None:
    """Commit + response.create yields the full §3.2 cycle that both checkers accept."""
    events = run_all(behaviour(dialect), turn(dialect))
    report = check_events(events, dialect)
    assert report.outcome is Outcome.CLEAN, [v.summary() for v in report.violations]
    names = types(events)
    if dialect is Dialect.GA:
        assert "response.output_audio.delta" in names
        assert "conversation.item.done" in names
        assert names[-1] == "rate_limits.updated"
        assert names[-2] == "response.done"
    else:
        assert "response.audio.delta" in names
        assert "conversation.item.done" not in names
        assert names[names.index("response.created") + 1] == "rate_limits.updated"
    done = by_type(events, "response.done")[0]["response"]
    assert done["status"] == "completed"
    assert done["status_details"] is None
    assert done["usage"]["total_tokens"] > 0


@DIALECTS
def test_transcript_deltas_add_up_to_the_spoken_text_and_audio_is_the_sample(
    dialect: Dialect,
) -> None:
    """Transcript deltas concatenate to the voice's text; audio deltas are its PCM16."""
    events = run_all(behaviour(dialect), turn(dialect))
    prefix = "response.output_audio" if dialect is Dialect.GA else "response.audio"
    deltas = by_type(events, f"{prefix}_transcript.delta")
    final = by_type(events, f"{prefix}_transcript.done")[0]["transcript"]
    assert "".join(str(e["delta"]) for e in deltas) == final == SHORT[0].text
    audio = b"".join(base64.b64decode(str(e["delta"])) for e in by_type(events, f"{prefix}.delta"))
    assert audio == SHORT[0].pcm


@DIALECTS
def test_text_only_session_streams_text_deltas(dialect: Dialect) -> None:
    """A text-only session answers with text deltas that add up to the text."""
    key = "output_modalities" if dialect is Dialect.GA else "modalities"
    events = run_all(behaviour(dialect), turn(dialect, **{key: ["text"]}))
    assert check_events(events, dialect).outcome is Outcome.CLEAN
    name = "response.output_text" if dialect is Dialect.GA else "response.text"
    text = "".join(str(e["delta"]) for e in by_type(events, f"{name}.delta"))
    assert text == by_type(events, f"{name}.done")[0]["text"] == SHORT[0].text
    assert not any("audio" in t for t in types(events) if t.startswith("response."))


@DIALECTS
def test_tools_produce_a_function_call_and_its_output_gets_an_answer(dialect: Dialect) -> None:
    """With tools configured the reply is a function call; after its output, a spoken answer."""
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    b = behaviour(dialect)
    events = run_all(b, turn(dialect, tools=[tool]))
    done = by_type(events, "response.function_call_arguments.done")[0]
    assert done["name"] == "get_weather"
    assert done["arguments"] == '{"city":"Paris"}'
    call_id = done["call_id"]
    output = {"type": "function_call_output", "call_id": call_id, "output": '{"temp": 20}'}
    b.receive({"type": "conversation.item.create", "item": output}, 10.0)
    b.receive(CREATE, 10.0)
    more = events_of(b, 20.0)
    assert check_events(events + more, dialect).outcome is Outcome.CLEAN
    assert by_type(more, "response.done")[0]["response"]["output"][0]["type"] == "message"


@DIALECTS
def test_function_call_output_for_an_unknown_call_is_rejected(dialect: Dialect) -> None:
    """A function_call_output naming no known call_id gets invalid_value with the client id."""
    b = behaviour(dialect)
    item = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    events = run_all(b, [{"type": "conversation.item.create", "event_id": "e1", "item": item}])
    error = by_type(events, "error")[0]["error"]
    assert error["code"] == "invalid_value"
    assert error["event_id"] == "e1"


@DIALECTS
def test_partial_update_merges_and_session_updated_has_the_full_config(dialect: Dialect) -> None:
    """session.update changes only the fields given; session.updated carries everything."""
    b = behaviour(dialect)
    update = manual_update(dialect, instructions="Be brief.")
    events = run_all(b, [update])
    session = by_type(events, "session.updated")[0]["session"]
    assert session["instructions"] == "Be brief."
    if dialect is Dialect.GA:
        assert session["audio"]["input"]["turn_detection"] is None
        assert session["audio"]["output"]["voice"] == "alloy"
    else:
        assert session["turn_detection"] is None
        assert session["voice"] == "alloy"
    assert check_events(events, dialect).outcome is Outcome.CLEAN


@pytest.mark.parametrize(
    ("dialect", "session", "code", "param"),
    [
        (Dialect.GA, {"instructions": "x"}, "missing_required_parameter", "session.type"),
        (
            Dialect.GA,
            {"type": "realtime", "modalities": ["text"]},
            "unknown_parameter",
            "session.modalities",
        ),
        (
            Dialect.GA,
            {"type": "realtime", "output_modalities": ["audio", "text"]},
            "invalid_value",
            "session.output_modalities",
        ),
        (
            Dialect.GA,
            {"type": "realtime", "audio": {"output": {"speed": 3}}},
            "decimal_above_max_value",
            "session.audio.output.speed",
        ),
        (
            Dialect.GA,
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "x"}}}},
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (
            Dialect.BETA,
            {"output_modalities": ["text"]},
            "unknown_parameter",
            "session.output_modalities",
        ),
        (Dialect.BETA, {"temperature": 0.1}, "decimal_below_min_value", "session.temperature"),
        (
            Dialect.BETA,
            {"input_audio_format": "mp3"},
            "invalid_value",
            "session.input_audio_format",
        ),
        (Dialect.BETA, {"instructions": 5}, "invalid_type", "session.instructions"),
    ],
)
def test_bad_updates_are_rejected_whole_with_the_documented_code(
    dialect: Dialect, session: dict[str, object], code: str, param: str
) -> None:
    """A bad session.update gets the documented error code and param and changes nothing."""
    b = behaviour(dialect)
    before = dict(b.session)
    events = run_all(b, [{"type": "session.update", "event_id": "evt_u", "session": session}])
    assert types(events) == ["session.created", "error"]
    error = events[1]["error"]
    assert (error["code"], error["param"], error["event_id"]) == (code, param, "evt_u")
    assert b.session == before


@DIALECTS
def test_commit_under_100ms_is_rejected_without_committed(dialect: Dialect) -> None:
    """A commit of less than 100 ms gets input_audio_buffer_commit_empty and no committed."""
    b = behaviour(dialect)
    events = run_all(b, [manual_update(dialect), *appends(silence(60)), COMMIT])
    assert types(events)[-1] == "error"
    error = events[-1]["error"]
    assert error["code"] == "input_audio_buffer_commit_empty"
    assert error["event_id"] == "evt_commit"
    assert "60.00ms" in error["message"]
    assert "input_audio_buffer.committed" not in types(events)


@DIALECTS
def test_clear_empties_the_buffer(dialect: Dialect) -> None:
    """input_audio_buffer.clear answers cleared and a following commit is empty."""
    b = behaviour(dialect)
    clear = {"type": "input_audio_buffer.clear"}
    events = run_all(b, [manual_update(dialect), *appends(silence(300)), clear, COMMIT])
    assert types(events)[-2:] == ["input_audio_buffer.cleared", "error"]


@DIALECTS
def test_second_create_while_active_is_rejected(dialect: Dialect) -> None:
    """response.create during a response gets conversation_already_has_active_response."""
    b = behaviour(dialect, latency=Latency(response_s=0, first_delta_s=0.5, speed=1.0))
    events_of(b, 0.0)
    for event in turn(dialect):
        b.receive(event, 1.0)
    b.receive({"type": "response.create", "event_id": "evt_again"}, 1.1)
    events = events_of(b, 1.1)
    errors = by_type(events, "error")
    assert errors[0]["error"]["code"] == "conversation_already_has_active_response"
    assert errors[0]["error"]["event_id"] == "evt_again"
    response_id = by_type(events, "response.created")[0]["response"]["id"]
    assert response_id in errors[0]["error"]["message"]


@DIALECTS
def test_cancel_closes_open_parts_as_incomplete_and_nothing_follows(dialect: Dialect) -> None:
    """response.cancel mid-stream closes what is open, items incomplete, response cancelled."""
    voice = tone_voice(2.0, "one two three four five six seven eight")
    b = behaviour(dialect, voices=(voice,), latency=Latency(response_s=0, first_delta_s=0))
    seen = events_of(b, 0.0)
    for event in turn(dialect):
        b.receive(event, 1.0)
    seen += events_of(b, 1.45)  # five 100 ms audio deltas have gone out
    b.receive({"type": "response.cancel"}, 1.45)
    seen += events_of(b, 100.0)
    assert check_events(seen, dialect).outcome is Outcome.CLEAN
    done = by_type(seen, "response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"
    names = types(seen)
    assert names.index("response.done") > max(i for i, n in enumerate(names) if "delta" in n)
    prefix = "response.output_audio" if dialect is Dialect.GA else "response.audio"
    assert 4 <= len(by_type(seen, f"{prefix}.delta")) <= 6
    transcript = by_type(seen, f"{prefix}_transcript.done")[0]["transcript"]
    assert voice.text.startswith(transcript)
    assert transcript != voice.text


@DIALECTS
def test_cancel_with_nothing_active_is_rejected(dialect: Dialect) -> None:
    """response.cancel with no response gets response_cancel_not_active."""
    events = run_all(behaviour(dialect), [{"type": "response.cancel", "event_id": "evt_c"}])
    assert events[-1]["error"]["code"] == "response_cancel_not_active"
    assert events[-1]["error"]["event_id"] == "evt_c"


@DIALECTS
def test_unknown_or_missing_type_is_rejected(dialect: Dialect) -> None:
    """An unknown client type gets invalid_value (param type); a missing one invalid_event."""
    events = run_all(behaviour(dialect), [{"type": "nope", "event_id": "e"}, {"event_id": "f"}])
    first, second = by_type(events, "error")
    assert (first["error"]["code"], first["error"]["param"]) == ("invalid_value", "type")
    assert "'session.update'" in first["error"]["message"]
    assert second["error"]["code"] == "invalid_event"


@DIALECTS
def test_server_vad_detects_speech_in_appended_audio_time(dialect: Dialect) -> None:
    """Server VAD hears a sample between silences, reports ms in appended-audio time, answers."""
    voice = tone_voice(1.0, "Beep.")
    b = behaviour(dialect)
    pcm = silence(1000) + voice.pcm + silence(600)
    events = run_all(b, appends(pcm))
    names = types(events)
    assert names[1:4] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ]
    started, stopped, committed = events[1:4]
    assert started["audio_start_ms"] == 1000 - 300  # speech at 1000 ms, minus prefix padding
    assert stopped["audio_end_ms"] == 2000 + 200  # speech ends at 2000 ms, plus the silence
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert "response.done" in names
    assert check_events(events, dialect).outcome is Outcome.CLEAN


@DIALECTS
def test_speech_during_a_response_interrupts_it(dialect: Dialect) -> None:
    """Speech while a response streams cancels it with reason turn_detected."""
    voice = tone_voice(3.0, "a b c")
    b = behaviour(dialect, voices=(voice,), latency=Latency(response_s=0, first_delta_s=0))
    seen = events_of(b, 0.0)
    for event in appends(silence(500) + voice.pcm[:48_000] + silence(400)):
        b.receive(event, 1.0)
    seen += events_of(b, 1.2)
    for event in appends(voice.pcm[:24_000]):
        b.receive(event, 1.2)
    seen += events_of(b, 1.2)
    done = by_type(seen, "response.done")[0]["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}


def test_input_transcription_uses_the_matching_sample_text() -> None:
    """With transcription on, a committed bundled sample is transcribed as its exact text."""
    voice = tone_voice(0.5, "The exact spoken words.")
    b = behaviour(Dialect.GA, voices=(voice, *SHORT))
    transcription = {"model": "whisper-1"}
    update = manual_update(Dialect.GA)
    update["session"]["audio"]["input"]["transcription"] = transcription  # type: ignore[index]
    events = run_all(b, [update, *appends(silence(200) + voice.pcm), COMMIT])
    completed = by_type(events, "conversation.item.input_audio_transcription.completed")[0]
    assert completed["transcript"] == voice.text
    deltas = by_type(events, "conversation.item.input_audio_transcription.delta")
    assert "".join(str(d["delta"]) for d in deltas) == voice.text
    assert check_events(events, Dialect.GA).outcome is Outcome.CLEAN


def test_input_transcription_of_unknown_audio_is_the_placeholder() -> None:
    """Audio that matches no sample is transcribed as the fixed placeholder."""
    b = behaviour(Dialect.BETA)
    update = manual_update(Dialect.BETA, input_audio_transcription={"model": "whisper-1"})
    events = run_all(b, [update, *appends(silence(300)), COMMIT])
    completed = by_type(events, "conversation.item.input_audio_transcription.completed")[0]
    assert completed["transcript"] == PLACEHOLDER_TRANSCRIPT
    assert check_events(events, Dialect.BETA).outcome is Outcome.CLEAN


@DIALECTS
def test_session_expires_after_the_maximum_duration(dialect: Dialect) -> None:
    """After max_session_s the server sends session_expired and closes."""
    b = behaviour(dialect, max_session_s=120.0)
    events_of(b, 0.0)
    assert b.poll(119.0) == []
    assert b.next_deadline() == 120.0
    actions = b.poll(120.0)
    assert actions[0].event["error"]["code"] == "session_expired"  # type: ignore[union-attr]
    assert "2 minutes" in actions[0].event["error"]["message"]  # type: ignore[union-attr]
    assert isinstance(actions[-1], Close)
    assert actions[-1].code == 1001


def test_output_is_paced_on_an_absolute_real_time_schedule() -> None:
    """At speed 1 audio delta n is due first_delta + n x 100 ms after response.created."""
    voice = tone_voice(1.0, "one two")
    b = behaviour(Dialect.GA, voices=(voice,), latency=Latency(response_s=0.05, first_delta_s=0.2))
    events_of(b, 0.0)
    for event in turn(Dialect.GA):
        b.receive(event, 10.0)
    due: list[float] = []
    while (deadline := b.next_deadline()) is not None and deadline < 100:
        for action in b.poll(deadline):
            if getattr(action, "event", {}).get("type") == "response.output_audio.delta":
                due.append(action.at)  # type: ignore[union-attr]
    assert len(due) == 10
    for n, at in enumerate(due):
        assert math.isclose(at, 10.0 + 0.05 + 0.2 + n * 0.1)


def test_jitter_is_seeded_and_never_reorders() -> None:
    """With jitter the schedule is the same for the same seed and stays in order."""

    def schedule(seed: int) -> list[float]:
        b = SessionBehaviour(
            BehaviourConfig(voices=(tone_voice(1.0),), latency=Latency(jitter_s=0.05)),
            rng=random.Random(seed),
            now=0.0,
            wall_now=0.0,
            faults=FaultPlan(),
        )
        for event in turn(Dialect.GA):
            b.receive(event, 1.0)
        return [a.at for a in b.poll(50.0)]

    assert schedule(7) == schedule(7) != schedule(8)
    assert schedule(7) == sorted(schedule(7))


@DIALECTS
def test_items_can_be_created_retrieved_truncated_and_deleted(dialect: Dialect) -> None:
    """conversation.item.create/retrieve/truncate/delete answer with their events."""
    b = behaviour(dialect)
    events = run_all(b, turn(dialect))
    assistant = by_type(events, "response.output_item.done")[0]["item"]["id"]
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    more = run_all(
        b,
        [
            {"type": "conversation.item.create", "item": {"id": "item_mine", **item}},
            {"type": "conversation.item.retrieve", "item_id": "item_mine"},
            {
                "type": "conversation.item.truncate",
                "item_id": assistant,
                "content_index": 0,
                "audio_end_ms": 100,
            },
            {"type": "conversation.item.delete", "item_id": "item_mine"},
            {"type": "conversation.item.delete", "item_id": "item_mine", "event_id": "gone"},
        ],
        t=50.0,
    )
    names = types(more)
    if dialect is Dialect.GA:
        assert names[:2] == ["conversation.item.added", "conversation.item.done"]
    else:
        assert names[0] == "conversation.item.created"
    assert names[-4:] == [
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "conversation.item.deleted",
        "error",
    ]
    assert more[-1]["error"]["event_id"] == "gone"


@DIALECTS
def test_fast_latency_can_hold_a_response_active_for_races(dialect: Dialect) -> None:
    """Latency.fast(hold_s) keeps a response active so a create right after it is refused."""
    b = behaviour(dialect, latency=Latency.fast(hold_s=0.05))
    events = events_of(b, 0.0)
    for event in turn(dialect):
        b.receive(event, 1.0)
    b.receive({"type": "response.create", "event_id": "evt_race"}, 1.01)
    b.receive({"type": "response.cancel"}, 1.02)
    events += events_of(b, 2.0)
    error = by_type(events, "error")[0]["error"]
    assert error["code"] == "conversation_already_has_active_response"
    done = by_type(events, "response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert done["output"] == []  # cancelled before any output item, as observed (§3.2)
    assert types(events).count("rate_limits.updated") == 1
    assert check_events(events, dialect).violations == []


@pytest.mark.parametrize(("fmt", "size"), [("audio/pcmu", 800), ("audio/pcma", 800)])
def test_g711_output_is_8khz_bytes_per_delta(fmt: str, size: int) -> None:
    """A G.711 output format streams 8 kHz one-byte samples: 800 bytes per 100 ms delta."""
    b = behaviour(Dialect.GA, voices=(tone_voice(0.5, "G seven eleven."),))
    update = manual_update(Dialect.GA)
    update["session"]["audio"]["output"] = {"format": {"type": fmt}}  # type: ignore[index]
    events = run_all(b, [update, *appends(silence(300)), COMMIT, CREATE])
    deltas = by_type(events, "response.output_audio.delta")
    assert [len(base64.b64decode(str(e["delta"]))) for e in deltas] == [size] * 5
    created = by_type(events, "response.created")[0]["response"]
    assert created["audio"]["output"]["format"] == {"type": fmt}
    assert check_events(events, Dialect.GA).outcome is Outcome.CLEAN


@DIALECTS
def test_out_of_band_response_does_not_block_or_join_the_conversation(dialect: Dialect) -> None:
    """conversation:none runs beside an active response and adds no conversation items."""
    b = behaviour(dialect, latency=Latency.fast(hold_s=0.05))
    events_of(b, 0.0)
    for event in turn(dialect):
        b.receive(event, 1.0)
    b.receive({"type": "response.create", "response": {"conversation": "none"}}, 1.01)
    events = events_of(b, 2.0)
    assert "error" not in types(events)
    dones = [e["response"] for e in by_type(events, "response.done")]
    assert sorted(d["conversation_id"] is None for d in dones) == [False, True]


def test_idle_timeout_triggers_a_commit_and_an_answer_after_silence() -> None:
    """GA idle_timeout_ms: silence after an answer's audio ends gives timeout_triggered + answer."""
    voice = tone_voice(0.5, "Hello.")
    b = behaviour(Dialect.GA, voices=(voice,))
    vad = {"type": "server_vad", "idle_timeout_ms": 5000}
    update = {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": vad}}},
    }
    events = events_of(b, 0.0)
    for event in [update, *appends(silence(500) + voice.pcm + silence(500))]:
        b.receive(event, 1.0)
    events += events_of(b, 10.0)
    # the turn's answer at 1 s, then the idle answer 0.5 s (its audio) + 5 s later; it re-arms
    assert types(events).count("response.done") == 2
    assert b.next_deadline() == pytest.approx(6.5 + 0.5 + 5.0)
    names = types(events)
    triggered = names.index("input_audio_buffer.timeout_triggered")
    assert names[triggered + 1] == "input_audio_buffer.committed"
    assert events[triggered]["item_id"] == events[triggered + 1]["item_id"]
    assert check_events(events, Dialect.GA).violations == []


def test_speech_before_the_idle_timeout_cancels_it() -> None:
    """A new turn before idle_timeout_ms passes means no timeout_triggered."""
    voice = tone_voice(0.5, "Hello.")
    b = behaviour(Dialect.GA, voices=(voice,))
    vad = {"type": "server_vad", "idle_timeout_ms": 5000}
    update = {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": vad}}},
    }
    events = events_of(b, 0.0)
    for event in [update, *appends(silence(500) + voice.pcm + silence(500))]:
        b.receive(event, 1.0)
    events += events_of(b, 3.0)
    for event in appends(voice.pcm + silence(500)):
        b.receive(event, 3.0)
    events += events_of(b, 5.9)
    assert "input_audio_buffer.timeout_triggered" not in types(events)


@DIALECTS
def test_speech_before_response_created_still_sends_created_first(dialect: Dialect) -> None:
    """A barge-in before response.created went out yields created, then a cancelled done."""
    voice = tone_voice(1.0, "a b")
    b = behaviour(dialect, voices=(voice,), latency=Latency(response_s=0.5, first_delta_s=0))
    seen = events_of(b, 0.0)
    for event in appends(silence(500) + voice.pcm + silence(400)):
        b.receive(event, 1.0)
    seen += events_of(b, 1.0)  # the VAD committed; response.created is due at 1.5 s
    assert "response.created" not in types(seen)
    for event in appends(voice.pcm[:24_000]):
        b.receive(event, 1.1)
    seen += events_of(b, 10.0)
    created = by_type(seen, "response.created")[0]["response"]["id"]
    done = by_type(seen, "response.done")[0]["response"]
    assert done["id"] == created
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert check_events(seen, dialect).violations == []


def _ga(**audio: object) -> dict[str, object]:
    return {"type": "realtime", "audio": audio}


@pytest.mark.parametrize(
    ("dialect", "updates", "path", "expected"),
    [
        (
            Dialect.GA,
            [_ga(input={"format": {"type": "audio/pcmu"}})],
            ("audio", "input", "format"),
            {"type": "audio/pcmu"},
        ),
        (
            Dialect.GA,
            [_ga(output={"format": {"type": "audio/pcma"}})],
            ("audio", "output", "format"),
            {"type": "audio/pcma"},
        ),
        (
            Dialect.GA,
            [
                _ga(input={"format": {"type": "audio/pcmu"}}),
                _ga(input={"format": {"type": "audio/pcm"}}),
            ],
            ("audio", "input", "format"),
            {"type": "audio/pcm", "rate": 24000},
        ),
        (
            Dialect.GA,
            [
                _ga(input={"transcription": {"model": "whisper-1", "language": "en"}}),
                _ga(input={"transcription": {"model": "gpt-4o-transcribe"}}),
            ],
            ("audio", "input", "transcription"),
            {"model": "gpt-4o-transcribe"},
        ),
        (
            Dialect.GA,
            [
                _ga(input={"noise_reduction": {"type": "near_field"}}),
                _ga(input={"noise_reduction": {}}),
            ],
            ("audio", "input", "noise_reduction"),
            {},
        ),
        (
            Dialect.GA,
            [
                _ga(input={"turn_detection": {"type": "server_vad", "threshold": 0.9}}),
                _ga(input={"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}}),
            ],
            ("audio", "input", "turn_detection", "threshold"),
            0.5,
        ),
        (
            Dialect.GA,
            [
                {"type": "realtime", "tracing": {"workflow_name": "a", "group_id": "g"}},
                {"type": "realtime", "tracing": {"workflow_name": "b"}},
            ],
            ("tracing",),
            {"workflow_name": "b"},
        ),
        (
            Dialect.GA,
            [_ga(input={"format": {"type": "audio/pcmu"}}), _ga(input={"turn_detection": None})],
            ("audio", "input", "format"),
            {"type": "audio/pcmu"},  # containers merge: a sibling's update keeps the format
        ),
        (
            Dialect.BETA,
            [
                {"input_audio_transcription": {"model": "whisper-1", "language": "en"}},
                {"input_audio_transcription": {"model": "gpt-4o-transcribe"}},
            ],
            ("input_audio_transcription",),
            {"model": "gpt-4o-transcribe"},
        ),
        (
            Dialect.BETA,
            [
                {"turn_detection": {"type": "server_vad", "threshold": 0.9}},
                {"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}},
            ],
            ("turn_detection", "threshold"),
            0.5,
        ),
    ],
)
def test_nested_config_objects_are_replaced_whole_as_the_service_does(
    dialect: Dialect, updates: list[dict[str, object]], path: tuple[str, ...], expected: object
) -> None:
    """An object in session.update replaces the old one (no stale rate, language or threshold);
    only GA's containers (audio, input, output) merge member by member."""
    b = behaviour(dialect)
    events = run_all(b, [{"type": "session.update", "session": u} for u in updates])
    value: object = by_type(events, "session.updated")[-1]["session"]
    for key in path:
        assert isinstance(value, dict)
        value = value[key]
    assert value == expected
    assert check_events(events, dialect).outcome is Outcome.CLEAN


def test_a_fresh_mock_answers_with_a_short_sample_unless_asked_for_a_long_one() -> None:
    """With no reply voice set, answers speak a short sample (seeded); instructions that name a
    sample ("long") or reply_voice choose it."""
    import random

    from realtime_harness.mock.session import choose_voice
    from realtime_harness.mock.voices import Voice

    voices = (
        Voice("long", "A long story.", bytes(48_000 * 25)),
        Voice("greeting", "Hello!", bytes(48_000 * 2)),
        Voice("weather", "Sunny.", bytes(48_000 * 3)),
    )
    short = "Answer in one short sentence."
    picked = {
        choose_voice(voices, random.Random(seed), reply_voice=None, instructions=short).name
        for seed in range(30)
    }
    assert picked == {"greeting", "weather"}
    asked = "Tell me something long, please."
    assert choose_voice(voices, random.Random(0), reply_voice=None, instructions=asked).name == (
        "long"
    )
    assert choose_voice(voices, random.Random(0), reply_voice="long", instructions=None).name == (
        "long"
    )


def test_the_conversation_counts_the_audio_its_items_hold_as_they_change() -> None:
    """A response's input usage counts the audio of the items in the conversation: added,
    truncated (what is left) and deleted (nothing) items alike, kept as a running total."""
    from realtime_harness.mock.items import Conversation

    conversation = Conversation()
    conversation.add({"id": "item_a", "type": "message"}, 3_000)
    conversation.add({"id": "item_b", "type": "message"}, 1_200)
    conversation.add({"id": "item_c", "type": "message"})  # text: no audio
    assert conversation.input_audio_ms() == 4_200
    conversation.truncate("item_a", 500)
    assert conversation.input_audio_ms() == 1_700
    conversation.delete("item_b")
    assert conversation.input_audio_ms() == 500
    conversation.add({"id": "item_a", "type": "message"}, 800)  # the same id again
    assert conversation.input_audio_ms() == 800
    assert conversation.input_audio_ms() == sum(conversation.audio_ms.values())


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "input_text", "text": "hi"}],
        [{"type": "input_text", "text": "hi", "n": 2**70}],  # past orjson's 64 bits
    ],
    ids=["plain", "big-integer"],
)
def test_an_item_event_carries_a_copy_of_the_item_as_it_is_now(content: list[Any]) -> None:
    """The item in conversation.item.added/done is a deep copy: later changes to the
    conversation's item (its status, a truncation) do not reach an event already made."""
    from realtime_harness.mock.wire import Wire

    wire = Wire(Dialect.GA, lambda: "event_1")
    item = {"id": "item_a", "type": "message", "status": "in_progress", "content": content}
    added, done = wire.item_events(item, None)
    item["status"] = "completed"
    item["content"][0]["text"] = "changed"
    assert added["item"]["status"] == done["item"]["status"] == "in_progress"
    assert added["item"]["content"][0]["text"] == "hi"
    assert added["item"]["content"][0].get("n") == content[0].get("n")


def test_the_input_buffer_keeps_at_most_a_minute_for_the_transcript() -> None:
    """A client that appends without committing does not grow the session's memory without
    bound: past TRANSCRIBED_MS only the buffer's length grows, and a sample at the start of a
    long buffer is still transcribed."""
    from realtime_harness.mock.input import TRANSCRIBED_MS, InputBuffer, transcribe

    voice = tone_voice(0.5, "The exact spoken words.")
    buffer = InputBuffer()
    chunks = [e["audio"] for e in appends(voice.pcm + silence(70_000))]
    for chunk in chunks:
        buffer.append(chunk, len(base64.b64decode(chunk)))
    assert buffer.buffer_ms == 70_500
    committed = buffer.take()
    assert committed.ms == 70_500
    kept_ms = sum(len(base64.b64decode(c)) for c in committed.chunks) / 48
    assert TRANSCRIBED_MS <= kept_ms < TRANSCRIBED_MS + 100
    assert transcribe(committed, (voice,)) == voice.text
    # the next buffer keeps its own first minute
    buffer.append(chunks[0], len(base64.b64decode(chunks[0])))
    assert buffer.take().chunks == (chunks[0],)
