"""The ordering validator: every rule trips on a broken stream; real-traffic variants pass."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from realtime_harness.protocol import rules as R
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.recording import elide_audio
from realtime_harness.protocol.validator import Validator, validate_events
from realtime_harness.testing import TraceBuilder

TRACES = Path(__file__).resolve().parents[1].parent / "shared" / "traces" / "real"
Event = dict[str, Any]


@pytest.fixture(params=[Dialect.GA, Dialect.BETA], ids=["ga", "beta"])
def build(request: pytest.FixtureRequest) -> TraceBuilder:
    return TraceBuilder(request.param)


def rules_of(events: list[Event], dialect: Dialect | None = None) -> list[str]:
    return [v.rule for v in validate_events(events, dialect).violations]


def clean_session(build: TraceBuilder, kind: str = "audio") -> list[Event]:
    return [
        *build.session_created(vad=False),
        *build.session_updated(),
        *build.committed(),
        *build.response(kind),  # type: ignore[arg-type]
        *build.rate_limits(),
    ]


def first(events: list[Event], type_suffix: str) -> int:
    return next(i for i, e in enumerate(events) if e["type"].endswith(type_suffix))


# --- clean streams ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["audio", "text", "function_call"])
def test_documented_response_cycles_are_clean(build: TraceBuilder, kind: str) -> None:
    """The documented audio, text and function-call cycles validate with no violation."""
    report = validate_events(clean_session(build, kind))
    assert report.violations == []
    assert report.outcome is Outcome.CLEAN
    assert report.dialect is build.dialect
    assert report.session_id == build.session_id


def test_vad_turns_cancellations_and_free_events_are_clean(build: TraceBuilder) -> None:
    """VAD turns, empty cancelled responses, rate limits and transcription events anywhere pass."""
    events = [
        *build.session_created(),
        *build.committed(vad=True),
        *build.empty_response(),
        *build.committed(vad=True),
        *build.response("audio"),
        *build.rate_limits(),
    ]
    transcript = build.event(
        "conversation.item.input_audio_transcription.completed",
        item_id=build.last_item_id,
        content_index=0,
        transcript="hi",
    )
    events.insert(first(events, "transcript.delta"), transcript)
    events.insert(first(events, "content_part.added"), build.rate_limits()[0])
    assert rules_of(events) == []


def test_conversation_created_and_out_of_band_responses_are_tolerated(build: TraceBuilder) -> None:
    """conversation.created may appear or not; conversation_id null responses may overlap."""
    events = [*build.session_created(), build.event("conversation.created", conversation={})]
    first_response = build.response("text")
    second = build.response("text")
    second[0]["response"]["conversation_id"] = None
    # interleave: the out-of-band response starts while the first is still streaming
    events += first_response[:3] + second + first_response[3:]
    assert rules_of(events) == []


def test_cancelled_response_may_complete_items_or_leave_them_open(build: TraceBuilder) -> None:
    """A cancelled or failed response.done may follow open or already completed items."""
    details = {"type": "cancelled", "reason": "client_cancelled"}
    cancelled_after_item = build.response("audio", status="cancelled", details=details)
    events = [*build.session_created(), *cancelled_after_item, *build.failed_response()]
    assert rules_of(events) == []


def test_webrtc_events_after_response_done_are_tolerated(build: TraceBuilder) -> None:
    """output_audio_buffer.* and conversation.item.truncated may follow response.done."""
    events = [*build.session_created(), *build.response("audio")]
    rid = events[1]["response"]["id"]
    events += [
        build.event("output_audio_buffer.stopped", response_id=rid),
        build.event(
            "conversation.item.truncated",
            item_id=build.last_item_id,
            content_index=0,
            audio_end_ms=500,
        ),
    ]
    assert rules_of(events) == []


def test_ids_of_any_length_and_prefix_are_accepted(build: TraceBuilder) -> None:
    """Ids have no fixed length or prefix: only uniqueness and linkage matter."""
    events = clean_session(build)
    for event in events:
        event["event_id"] = "x" + event["event_id"] * 3
    assert rules_of(events) == []


def test_recording_that_ends_mid_stream_is_incomplete_not_violation(build: TraceBuilder) -> None:
    """A stream cut inside a response is reported as incomplete, with no violation."""
    events = clean_session(build)
    cut = events[: first(events, "content_part.done")]
    report = validate_events(cut)
    assert report.violations == []
    assert report.outcome is Outcome.CLEAN
    assert len(report.incomplete) == 1
    assert "no response.done" in report.incomplete[0]


def test_empty_stream_is_incomplete() -> None:
    """A stream with no server events is incomplete."""
    assert validate_events([]).incomplete == ["no server events"]


# --- each rule trips ----------------------------------------------------------------------------
def test_first_event_must_be_session_created(build: TraceBuilder) -> None:
    """A stream that does not start with session.created breaks first-event-session-created."""
    events = clean_session(build)
    assert rules_of(events[1:]) == [R.FIRST_EVENT.name]


def test_refusal_error_may_come_before_session_created(build: TraceBuilder) -> None:
    """A bad key is refused with an error as the first and only event: a failure, no violation."""
    refused = build.error("invalid_api_key")
    report = validate_events(refused)
    assert report.violations == []
    assert report.failures[0].error is not None
    assert report.failures[0].error.code == "invalid_api_key"
    assert rules_of([*refused, *clean_session(build)]) == []
    assert rules_of([*refused, *build.rate_limits()]) == [R.FIRST_EVENT.name]


def test_session_created_twice(build: TraceBuilder) -> None:
    """A second session.created breaks session-created-once."""
    events = [*build.session_created(), *build.session_created()]
    assert rules_of(events) == [R.SESSION_CREATED_ONCE.name]


def test_duplicate_event_id(build: TraceBuilder) -> None:
    """Reusing a server event_id breaks event-id-unique."""
    events = clean_session(build)
    events[5]["event_id"] = events[4]["event_id"]
    assert rules_of(events) == [R.EVENT_ID_UNIQUE.name]


def test_event_id_uniqueness_window_is_bounded() -> None:
    """Only the most recent ids are remembered, so memory stays constant on long recordings."""
    validator = type("Small", (Validator,), {"EVENT_ID_WINDOW": 2})()
    build = TraceBuilder()
    events = build.session_created() + build.rate_limits()
    events += [build.event("rate_limits.updated", rate_limits=[]) for _ in range(3)]
    events.append({**events[1]})  # id from 4 events ago: outside the window
    for event in events:
        validator.server_event(event)
    assert validator.finish().violations == []


def test_missing_event_id(build: TraceBuilder) -> None:
    """A server event without event_id breaks event-id-missing (error events may carry null)."""
    events = clean_session(build)
    del events[3]["event_id"]
    events += build.error("x")
    events[-1]["event_id"] = None
    assert rules_of(events) == [R.EVENT_ID_MISSING.name]


def test_other_dialect_name_in_stream(build: TraceBuilder) -> None:
    """A beta name in a GA stream, or a GA name in a beta stream, breaks dialect-mismatch."""
    other = TraceBuilder(Dialect.BETA if build.dialect is Dialect.GA else Dialect.GA)
    events = clean_session(build)
    index = first(events, "transcript.delta")
    events[index]["type"] = other.name("response.output_audio_transcript.delta")
    assert R.DIALECT_MISMATCH.name in rules_of(events)


def test_declared_dialect_flags_the_other_dialect(build: TraceBuilder) -> None:
    """When the dialect is declared, the first name of the other dialect is a mismatch."""
    other = Dialect.BETA if build.dialect is Dialect.GA else Dialect.GA
    assert R.DIALECT_MISMATCH.name in rules_of(clean_session(build), other)


def test_response_id_reused(build: TraceBuilder) -> None:
    """response.created with an id already used breaks response-id-reused."""
    events = [*build.session_created(), *build.response("text")]
    rid = events[1]["response"]["id"]
    events += build.response("text", response_id=rid)
    assert R.RESPONSE_ID_REUSED.name in rules_of(events)


def test_event_for_unknown_response(build: TraceBuilder) -> None:
    """A response.* event for a response never created breaks response-not-active."""
    events = clean_session(build)
    del events[first(events, "response.created")]
    assert rules_of(events)[0] == R.RESPONSE_NOT_ACTIVE.name


def test_delta_after_response_done(build: TraceBuilder) -> None:
    """A delta after its response.done breaks event-after-response-done."""
    events = clean_session(build, "text")
    delta = copy.deepcopy(events[first(events, "text.delta")])
    delta["event_id"] = build.event_id()
    events.append(delta)
    assert rules_of(events) == [R.EVENT_AFTER_RESPONSE_DONE.name]


def test_done_without_created_and_done_twice(build: TraceBuilder) -> None:
    """response.done for an unknown id, or a second one, breaks done-without-created/done-twice."""
    events = clean_session(build, "text")
    done = events[first(events, "response.done")]
    stray = copy.deepcopy(done)
    stray["response"]["id"] = "resp_Nope"
    stray["event_id"] = build.event_id()
    again = {**copy.deepcopy(done), "event_id": build.event_id()}
    assert rules_of([*events, stray, again]) == [R.DONE_WITHOUT_CREATED.name, R.DONE_TWICE.name]


def test_two_active_responses_in_default_conversation(build: TraceBuilder) -> None:
    """A second default-conversation response before the first is done: one-active-response."""
    events = [*build.session_created()]
    one, two = build.response("text"), build.response("text")
    events += one[:3] + two + one[3:]
    assert rules_of(events) == [R.ONE_ACTIVE_RESPONSE.name]


@pytest.mark.parametrize(
    ("status", "details"),
    [
        ("in_progress", None),
        ("exploded", None),
        ("failed", {"type": "cancelled"}),
        ("cancelled", "client_cancelled"),
    ],
)
def test_final_status(build: TraceBuilder, status: str, details: Any) -> None:
    """response.done with a non-final status or mismatched status_details breaks final-status."""
    events = clean_session(build, "text")
    done = events[first(events, "response.done")]
    done["response"]["status"] = status
    done["response"]["status_details"] = details
    assert R.FINAL_STATUS.name in rules_of(events)


def test_completed_status_details_may_say_completed(build: TraceBuilder) -> None:
    """The SDK allows status_details {type: completed} on a completed response."""
    events = clean_session(build, "text")
    events[first(events, "response.done")]["response"]["status_details"] = {"type": "completed"}
    assert rules_of(events) == []


def test_completed_response_with_open_item(build: TraceBuilder) -> None:
    """A completed response.done while an item is open breaks completed-with-open-items."""
    events = clean_session(build, "text")
    del events[first(events, "output_item.done")]
    assert rules_of(events) == [R.DONE_WITH_OPEN_ITEMS.name]


def test_item_added_twice(build: TraceBuilder) -> None:
    """Adding the same item or output_index again breaks item-added-twice."""
    events = clean_session(build, "text")
    index = first(events, "output_item.added")
    events.insert(index + 1, {**events[index], "event_id": build.event_id()})
    assert rules_of(events) == [R.ITEM_ADDED_TWICE.name]


def test_part_for_item_not_open(build: TraceBuilder) -> None:
    """A content part for an item never added breaks item-not-open."""
    events = clean_session(build, "text")
    del events[first(events, "output_item.added")]
    assert rules_of(events)[0] == R.ITEM_NOT_OPEN.name


def test_item_done_index_mismatch(build: TraceBuilder) -> None:
    """output_item.done with another output_index breaks item-index-mismatch."""
    events = clean_session(build, "text")
    events[first(events, "output_item.done")]["output_index"] = 7
    assert rules_of(events) == [R.ITEM_INDEX_MISMATCH.name]


def test_item_done_with_open_part(build: TraceBuilder) -> None:
    """output_item.done before content_part.done breaks item-done-with-open-part."""
    events = clean_session(build, "text")
    part_done = events.pop(first(events, "content_part.done"))
    events.insert(first(events, "response.done"), part_done)
    assert rules_of(events)[0] == R.ITEM_DONE_WITH_OPEN_PART.name


def test_part_added_twice(build: TraceBuilder) -> None:
    """Adding content part 0 twice breaks part-added-twice."""
    events = clean_session(build, "text")
    index = first(events, "content_part.added")
    events.insert(index + 1, {**events[index], "event_id": build.event_id()})
    assert rules_of(events) == [R.PART_ADDED_TWICE.name]


def test_delta_without_part(build: TraceBuilder) -> None:
    """A delta for a part never added breaks part-not-open."""
    events = clean_session(build, "text")
    del events[first(events, "content_part.added")]
    assert rules_of(events)[0] == R.PART_NOT_OPEN.name


def test_delta_after_stream_done(build: TraceBuilder) -> None:
    """A delta after its stream's .done breaks delta-after-stream-done."""
    events = clean_session(build, "text")
    delta = events.pop(first(events, "text.delta"))
    events.insert(first(events, "text.done") + 1, delta)
    assert R.DELTA_AFTER_STREAM_DONE.name in rules_of(events)


def test_delta_after_part_done(build: TraceBuilder) -> None:
    """A delta after content_part.done breaks delta-after-part-done."""
    events = clean_session(build, "text")
    delta = copy.deepcopy(events[first(events, "text.delta")])
    delta["event_id"] = build.event_id()
    events.insert(first(events, "content_part.done") + 1, delta)
    assert rules_of(events) == [R.DELTA_AFTER_PART_DONE.name]


def test_stream_done_twice(build: TraceBuilder) -> None:
    """A second .done of the same stream breaks stream-done-twice."""
    events = clean_session(build, "text")
    index = first(events, "text.done")
    events.insert(index + 1, {**events[index], "event_id": build.event_id()})
    assert rules_of(events) == [R.STREAM_DONE_TWICE.name]


def test_part_done_before_stream_done(build: TraceBuilder) -> None:
    """content_part.done before the audio stream's .done breaks part-done-before-stream-done."""
    events = clean_session(build, "audio")
    del events[first(events, "audio.done")]
    assert rules_of(events) == [R.PART_DONE_BEFORE_STREAM_DONE.name]


def test_text_mismatch(build: TraceBuilder) -> None:
    """Text deltas that do not add up to output_text.done break text-mismatch."""
    events = clean_session(build, "text")
    events[first(events, "text.delta")]["delta"] = "Goodbye"
    assert rules_of(events) == [R.TEXT_MISMATCH.name]


def test_transcript_mismatch(build: TraceBuilder) -> None:
    """Transcript deltas that do not add up to the final transcript break transcript-mismatch."""
    events = clean_session(build, "audio")
    events[first(events, "transcript.done")]["transcript"] = "something else"
    assert rules_of(events) == [R.TRANSCRIPT_MISMATCH.name]


@pytest.mark.parametrize("kind", ["audio", "text"])
def test_a_caller_that_feeds_no_deltas_gets_no_mismatch(build: TraceBuilder, kind: str) -> None:
    """deltas=False (the mock checks its clients, not its own deltas): a .done whose deltas were
    not fed is no mismatch, while the ordering rules still hold."""
    events = [e for e in clean_session(build, kind) if not e["type"].endswith(".delta")]
    fed = Validator(build.dialect, deltas=False)
    for event in events:
        fed.server_event(event)
    assert fed.finish().violations == []
    # the same stream checked as usual: the .done does not match the (missing) deltas
    assert rules_of(events, build.dialect) == [
        (R.TEXT_MISMATCH if kind == "text" else R.TRANSCRIPT_MISMATCH).name
    ]
    # and the other rules still hold without deltas: a stream's .done twice
    index = first(events, "text.done" if kind == "text" else "transcript.done")
    events.insert(index + 1, {**events[index], "event_id": build.event_id()})
    fed = Validator(build.dialect, deltas=False)
    for event in events:
        fed.server_event(event)
    assert [v.rule for v in fed.finish().violations] == [R.STREAM_DONE_TWICE.name]


def test_arguments_mismatch_and_after_done(build: TraceBuilder) -> None:
    """Arguments that do not add up, or a delta after .done, break the arguments rules."""
    events = clean_session(build, "function_call")
    done_index = first(events, "function_call_arguments.done")
    events[done_index]["arguments"] = "{}"
    late = {**events[done_index - 1], "event_id": build.event_id()}
    events.insert(done_index + 1, late)
    again = {**events[done_index], "event_id": build.event_id()}
    events.insert(done_index + 2, again)
    assert rules_of(events) == [
        R.ARGUMENTS_MISMATCH.name,
        R.ARGUMENTS_NOT_OPEN.name,
        R.ARGUMENTS_NOT_OPEN.name,
    ]


@pytest.mark.parametrize("delta", ["not base64!", "QUJD=A==", "QUJ", 42, "QQ==", "QUI=é"])
def test_audio_delta_must_be_base64_of_whole_samples(build: TraceBuilder, delta: Any) -> None:
    """Audio deltas that are not base64, or split a PCM16 sample, are violations."""
    events = clean_session(build, "audio")
    events[first(events, "audio.delta")]["delta"] = delta
    found = rules_of(events)
    assert found in ([R.AUDIO_NOT_BASE64.name], [R.AUDIO_PARTIAL_SAMPLE.name])
    if delta == "QQ==":  # one byte: valid base64, half a sample
        assert found == [R.AUDIO_PARTIAL_SAMPLE.name]


def test_odd_audio_is_fine_for_g711(build: TraceBuilder) -> None:
    """G.711 audio has one byte per sample, so odd lengths are fine."""
    events = clean_session(build, "audio")
    session = events[0]["session"]
    if build.dialect is Dialect.GA:
        session["audio"]["output"]["format"] = {"type": "audio/pcmu"}
    else:
        session["output_audio_format"] = "g711_ulaw"
    events[1]["session"] = session  # session.updated keeps the same format
    events[first(events, "audio.delta")]["delta"] = base64.b64encode(b"abc").decode()
    assert rules_of(events) == []


def test_elided_audio_in_recordings_is_not_checked(build: TraceBuilder) -> None:
    """Recordings elide audio payloads; the validator skips their base64 checks."""
    events = [dict(elide_audio(e)) for e in clean_session(build, "audio")]
    assert rules_of(events) == []


def test_unknown_event_types_are_kept_not_violations(build: TraceBuilder) -> None:
    """A server event type the validator does not know is counted, never a violation."""
    events = clean_session(build)
    events.insert(3, build.event("response.brand_new_thing", response_id="resp_whatever"))
    report = validate_events(events)
    assert report.violations == []
    assert report.events == len(events)


def test_event_without_type_is_bad_line(build: TraceBuilder) -> None:
    """An event whose type is not a string is a bad-line violation."""
    events = clean_session(build)
    events.insert(3, {"event_id": "event_x"})
    assert rules_of(events) == [R.BAD_LINE.name]


@pytest.mark.parametrize(
    "field", ["response.created", "response.done", "response.output_item.added"]
)
def test_events_missing_their_object_are_bad(build: TraceBuilder, field: str) -> None:
    """Lifecycle events without their response or item object are reported, not crashed on."""
    events = clean_session(build, "text")
    index = first(events, field)
    key = "item" if "item" in field else "response"
    events[index][key] = "oops"
    assert R.BAD_LINE.name in rules_of(events)


# --- failures -----------------------------------------------------------------------------------
def test_failed_response_is_a_failure_with_every_id(build: TraceBuilder) -> None:
    """A failed response.done becomes a failure carrying session, response, event and item ids."""
    events = [*build.session_created(), *build.failed_response()]
    report = validate_events(events)
    assert report.outcome is Outcome.SERVER_FAILURE
    (failure,) = report.failures
    done = events[-1]
    assert failure.kind == "response_failed"
    assert failure.session_id == build.session_id
    assert failure.response_id == done["response"]["id"]
    assert failure.event_id == done["event_id"]
    assert failure.item_id == build.last_item_id
    assert failure.error is not None
    assert failure.error.type == "server_error"
    assert build.session_id in (failure.error.message or "")


def test_session_id_comes_from_top_level_field_or_message() -> None:
    """Without session.created, the session id comes from a top-level field or the message."""
    build = TraceBuilder(session_id="sess_FromMessage")
    events = build.failed_response()
    events[-1]["session_id"] = "sess_TopLevel"
    report = validate_events(events)
    assert report.failures[0].session_id == "sess_TopLevel"
    events[-1].pop("session_id")
    assert validate_events(events).failures[0].session_id == "sess_FromMessage"


def test_incomplete_response_is_a_failure_with_reason(build: TraceBuilder) -> None:
    """An incomplete response.done is a failure with its reason."""
    details = {"type": "incomplete", "reason": "max_output_tokens"}
    events = [
        *build.session_created(),
        *build.response("text", status="incomplete", details=details),
    ]
    (failure,) = validate_events(events).failures
    assert (failure.kind, failure.reason) == ("response_incomplete", "max_output_tokens")


def test_error_event_is_a_failure_and_benign_codes_are_marked(build: TraceBuilder) -> None:
    """error events are failures; response_cancel_not_active is marked benign, not hidden."""
    events = [*build.session_created(), *build.error("response_cancel_not_active")]
    report = validate_events(events)
    assert report.failures[0].benign
    assert report.outcome is Outcome.CLEAN
    events += build.error(None, error_type="server_error", client_event_id="evt_client_1")
    report = validate_events(events)
    assert report.outcome is Outcome.SERVER_FAILURE
    assert report.failures[1].error is not None
    assert report.failures[1].error.event_id == "evt_client_1"


def test_error_during_a_response_names_that_response(build: TraceBuilder) -> None:
    """An error while exactly one response is active carries that response id."""
    events = [*build.session_created(), *build.response("text")]
    rid = events[1]["response"]["id"]
    events.insert(3, build.error(None, error_type="server_error")[0])
    assert validate_events(events).failures[0].response_id == rid


def test_violation_takes_precedence_over_failure(build: TraceBuilder) -> None:
    """A stream with both a violation and a failure has outcome violation (exit 3)."""
    events = [*build.failed_response(), *build.session_created()]
    report = validate_events(events)
    assert report.outcome is Outcome.VIOLATION
    assert report.outcome.exit_code == 3


def test_violations_are_capped() -> None:
    """Past the cap, violations are counted instead of stored."""
    validator = type("Tiny", (Validator,), {"MAX_VIOLATIONS": 2})()
    for _ in range(5):
        validator.bad_line(1, "x")
    report = validator.finish()
    assert (len(report.violations), report.violations_dropped) == (2, 3)
    assert validator.finish() is report


# --- client side --------------------------------------------------------------------------------
def pcm_b64(ms: int) -> str:
    return base64.b64encode(bytes(48 * ms)).decode()


def run_client(build: TraceBuilder, steps: list[tuple[str, Event]]) -> list[str]:
    validator = Validator(build.dialect)
    for side, event in steps:
        if side == "s":
            validator.server_event(event)
        else:
            validator.client_event(event)
    return [v.rule for v in validator.finish().violations]


def session_update(build: TraceBuilder, vad: Any = None) -> Event:
    if build.dialect is Dialect.GA:
        return {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": vad}}},
        }
    return {"type": "session.update", "session": {"turn_detection": vad}}


def manual_session(build: TraceBuilder) -> list[tuple[str, Event]]:
    return [
        ("s", build.session_created()[0]),
        ("c", session_update(build)),
        ("s", build.session_updated()[0]),
    ]


def test_clean_client_session(build: TraceBuilder) -> None:
    """The harness's own script — update, wait, append, commit, create — has no violation."""
    steps = manual_session(build)
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(100)})] * 3
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    steps += [("s", e) for e in build.committed()]
    steps += [("c", {"type": "response.create"})]
    steps += [("s", e) for e in build.response("audio")]
    assert run_client(build, steps) == []


def test_client_event_before_session_created(build: TraceBuilder) -> None:
    """Sending before session.created arrives breaks client-before-session-created."""
    steps = [("c", session_update(build)), ("s", build.session_created()[0])]
    assert run_client(build, steps) == [R.CLIENT_BEFORE_SESSION_CREATED.name]


def test_client_unknown_type(build: TraceBuilder) -> None:
    """An unknown client type breaks client-unknown-type."""
    steps = [*manual_session(build), ("c", {"type": "nope"})]
    assert run_client(build, steps) == [R.CLIENT_UNKNOWN_TYPE.name]


def test_commit_with_too_little_audio(build: TraceBuilder) -> None:
    """A commit after < 100 ms of audio breaks client-commit-too-small; clear empties the buffer."""
    steps = manual_session(build)
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(60)})]
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(150)})]
    steps += [
        ("c", {"type": "input_audio_buffer.clear"}),
        ("c", {"type": "input_audio_buffer.commit"}),
    ]
    assert run_client(build, steps) == [R.CLIENT_COMMIT_TOO_SMALL.name] * 2


def test_vad_commit_empties_the_buffer(build: TraceBuilder) -> None:
    """After the server VAD commits, a manual commit with no new audio is too small."""
    steps = [("s", build.session_created()[0])]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(500)})]
    steps += [("s", e) for e in build.committed(vad=True)]
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    assert run_client(build, steps) == [R.CLIENT_COMMIT_TOO_SMALL.name]


def test_commit_empty_error_settles_the_pending_commit(build: TraceBuilder) -> None:
    """The server's commit_empty error answers a pending commit, so a later VAD commit clears."""
    steps = manual_session(build)
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    steps += [("s", build.error("input_audio_buffer_commit_empty")[0])]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(200)})]
    steps += [("s", e) for e in build.committed(vad=True)]
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    assert run_client(build, steps) == [R.CLIENT_COMMIT_TOO_SMALL.name] * 2


def test_g711_input_counts_eight_bytes_per_ms(build: TraceBuilder) -> None:
    """With G.711 input, 800 bytes are 100 ms of audio."""
    update = session_update(build)
    updated = build.session_updated()[0]
    if build.dialect is Dialect.GA:
        update["session"]["audio"]["input"]["format"] = {"type": "audio/pcmu"}
        updated["session"]["audio"]["input"]["format"] = {"type": "audio/pcmu"}
    else:
        update["session"]["input_audio_format"] = "g711_ulaw"
        updated["session"]["input_audio_format"] = "g711_ulaw"
    steps = [("s", build.session_created()[0]), ("c", update), ("s", updated)]
    steps += [
        ("c", {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(801)).decode()})
    ]
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    assert run_client(build, steps) == []


def test_response_create_while_active(build: TraceBuilder) -> None:
    """response.create while a response is active breaks client-response-while-active."""
    response = build.response("text")
    steps = [*manual_session(build), ("s", response[0]), ("c", {"type": "response.create"})]
    steps += [("c", {"type": "response.create", "response": {"conversation": "none"}})]
    assert run_client(build, steps) == [R.CLIENT_RESPONSE_WHILE_ACTIVE.name]


def test_cancel_with_nothing_active(build: TraceBuilder) -> None:
    """response.cancel with no active response breaks client-cancel-not-active."""
    steps = [*manual_session(build), ("c", {"type": "response.cancel"})]
    assert run_client(build, steps) == [R.CLIENT_CANCEL_NOT_ACTIVE.name]


def test_append_before_session_updated_when_vad_off(build: TraceBuilder) -> None:
    """Appending before session.updated confirms VAD off is reported once."""
    steps = [("s", build.session_created()[0]), ("c", session_update(build))]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(100)})] * 2
    assert run_client(build, steps) == [R.CLIENT_APPEND_BEFORE_UPDATED.name]


def test_append_is_fine_with_vad_on(build: TraceBuilder) -> None:
    """With server VAD kept on, appending right away is normal."""
    steps = [
        ("s", build.session_created()[0]),
        ("c", session_update(build, {"type": "server_vad"})),
    ]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(100)})]
    assert run_client(build, steps) == []


def test_vad_expected_false_is_declared_up_front(build: TraceBuilder) -> None:
    """vad_expected=False flags appends before any session.updated."""
    validator = Validator(build.dialect, vad_expected=False)
    validator.server_event(build.session_created()[0])
    validator.client_event({"type": "input_audio_buffer.append", "audio": pcm_b64(100)})
    assert [v.rule for v in validator.finish().violations] == [R.CLIENT_APPEND_BEFORE_UPDATED.name]


@pytest.mark.parametrize("audio", ["nope!", base64.b64encode(b"abc").decode(), None])
def test_invalid_appended_audio(build: TraceBuilder, audio: Any) -> None:
    """Appended audio that is not base64 of whole PCM16 samples breaks client-audio-invalid."""
    steps = [*manual_session(build), ("c", {"type": "input_audio_buffer.append", "audio": audio})]
    assert run_client(build, steps) == [R.CLIENT_AUDIO_INVALID.name]


def test_oversized_append(build: TraceBuilder) -> None:
    """An append over 15 MiB breaks client-audio-invalid (elided payloads count their length)."""
    elided = {"elided": True, "chars": 16 * 1024 * 1024 // 3 * 4, "sha256": "0"}
    steps = [*manual_session(build), ("c", {"type": "input_audio_buffer.append", "audio": elided})]
    assert run_client(build, steps) == [R.CLIENT_AUDIO_INVALID.name]


def test_session_update_shape_per_dialect(build: TraceBuilder) -> None:
    """GA updates need session.type; fields of the other dialect are reported."""
    if build.dialect is Dialect.GA:
        update = {"type": "session.update", "session": {"modalities": ["text"]}}
        expected = [R.CLIENT_MISSING_SESSION_TYPE.name, R.CLIENT_DIALECT_MISMATCH.name]
    else:
        update = {"type": "session.update", "session": {"output_modalities": ["text"]}}
        expected = [R.CLIENT_DIALECT_MISMATCH.name]
    steps = [("s", build.session_created()[0]), ("c", update), ("c", {"type": "session.update"})]
    assert run_client(build, steps) == expected


def test_function_output_for_unknown_call(build: TraceBuilder) -> None:
    """A function_call_output must answer a call id the server issued."""
    steps = [*manual_session(build)] + [("s", e) for e in build.response("function_call")]
    call_id = next(e for _, e in steps if "call_id" in e)["call_id"]
    for cid in (call_id, "call_unknown"):
        item = {"type": "function_call_output", "call_id": cid, "output": "{}"}
        steps.append(("c", {"type": "conversation.item.create", "item": item}))
    assert run_client(build, steps) == [R.CLIENT_UNKNOWN_CALL_ID.name]


# --- the rules table ----------------------------------------------------------------------------
def test_every_rule_name_is_short_and_stable() -> None:
    """Every rule has a kebab-case name, a side, a statement and a source."""
    for name, rule in R.RULES.items():
        assert name == rule.name
        assert name.replace("-", "").isalnum()
        assert name == name.lower()
        assert rule.side in ("server", "client")
        assert rule.summary
        assert rule.reference


def test_every_rule_has_a_test() -> None:
    """Each rule in the table is named by a test in this file (trip tests above)."""
    source = Path(__file__).read_text()
    constants = [n for n, v in vars(R).items() if isinstance(v, R.Rule)]
    missing = [n for n in constants if f"R.{n}" not in source]
    assert missing == []


def test_violation_summary_names_rule_line_type_and_ids(build: TraceBuilder) -> None:
    """A violation's human line names the rule, the line, the event type and every id."""
    events = clean_session(build, "text")
    del events[first(events, "content_part.added")]
    violation = validate_events(events).violations[0]
    line = violation.summary()
    for part in (
        violation.rule,
        f"line {violation.line}",
        str(violation.event_type),
        str(violation.event_id),
        str(violation.response_id),
        str(violation.item_id),
    ):
        assert part in line


# --- real traffic -------------------------------------------------------------------------------
def real_traces() -> list[Path]:
    return sorted(TRACES.glob("*.jsonl")) if TRACES.is_dir() else []


@pytest.mark.skipif(not real_traces(), reason="shared/traces/real is not present")
@pytest.mark.parametrize("path", real_traces(), ids=lambda p: p.stem)
def test_every_real_trace_validates_without_violation(path: Path) -> None:
    """Real GA and beta captures pass; only the probe's deliberate errors are failures."""
    meta = orjson.loads(path.with_suffix("").with_suffix(".meta.json").read_bytes())
    events = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    report = validate_events(events)
    assert report.violations == []
    assert report.dialect == Dialect(meta["dialect"])
    assert report.session_id == meta["session_id"]
    assert report.incomplete == []
    errors = sum(e["type"] == "error" for e in events)
    assert len(report.failures) == errors + sum(
        e["type"] == "response.done" and e["response"]["status"] in ("failed", "incomplete")
        for e in events
    )


# --- recordings of the harness's own sessions -------------------------------------------------
def test_elided_append_with_base64_padding_is_whole_samples(build: TraceBuilder) -> None:
    """A 1,172-byte chunk is 1,564 base64 chars with one '=': the recording keeps its exact
    decoded length, and the validator does not mistake it for 1,173 bytes (half a sample)."""
    append = {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(1172)).decode()}
    elided = dict(elide_audio(append))
    assert elided["audio"]["chars"] == 1564
    assert elided["audio"]["bytes"] == 1172
    steps = [*manual_session(build)]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(100)}), ("c", elided)]
    assert run_client(build, steps) == []


def test_recordings_made_before_exact_lengths_are_not_judged_on_parity(
    build: TraceBuilder,
) -> None:
    """An elided payload with only ``chars`` has an unknown parity: no partial-sample claim."""
    elided = {"elided": True, "chars": 1564, "sha256": "0"}
    steps = [
        *manual_session(build),
        ("c", {"type": "input_audio_buffer.append", "audio": pcm_b64(100)}),
    ]
    steps += [("c", {"type": "input_audio_buffer.append", "audio": elided})]
    steps += [("c", {"type": "input_audio_buffer.commit"})]
    assert run_client(build, steps) == []


@pytest.mark.parametrize("vad", [None, "server_vad"], ids=["manual", "server_vad"])
def test_every_bundled_sample_streamed_and_recorded_validates_clean(
    build: TraceBuilder, vad: str | None
) -> None:
    """Each bundled sample, cut into the probe's 100 ms chunks and elided as ``--record`` writes
    it, is a clean client stream in both turn-detection modes."""
    from realtime_harness.media.samples import list_samples
    from realtime_harness.protocol.audio import encode_chunk, iter_chunks

    for sample in list_samples():
        validator = Validator(build.dialect)
        validator.server_event(build.session_created()[0])
        validator.client_event(session_update(build, {"type": vad} if vad else None))
        validator.server_event(build.session_updated(vad=vad is not None)[0])
        for chunk in iter_chunks(sample.pcm16()):
            event = {"type": "input_audio_buffer.append", "audio": encode_chunk(chunk)}
            validator.client_event(dict(elide_audio(event)))
        if vad is None:
            validator.client_event({"type": "input_audio_buffer.commit"})
        report = validator.finish()
        assert [v.summary() for v in report.violations] == [], sample.name


# --- the client's own appends (the paced fast path) -------------------------------------------
OWN_APPEND_CASES = {
    "whole samples after updated": (manual_session, 4800),
    "odd size": (manual_session, 4801),
    "over 15 MiB": (manual_session, 16 * 1024 * 1024),
    "before session.created": (lambda build: [], 4800),
    "before updated with VAD off": (
        lambda build: [("s", build.session_created()[0]), ("c", session_update(build))],
        4800,
    ),
}


@pytest.mark.parametrize("case", OWN_APPEND_CASES, ids=list(OWN_APPEND_CASES))
def test_own_append_checks_what_an_elided_append_is_checked_for(
    build: TraceBuilder, case: str
) -> None:
    """``own_append(size)`` reports exactly what ``client_event`` does for the same append in its
    elided form, and keeps the same buffered duration (a commit after it is judged alike)."""
    before, size = OWN_APPEND_CASES[case]
    chars = -(-size // 3) * 4
    elided = {"elided": True, "chars": chars, "bytes": size}
    outcomes = []
    for fast in (False, True):
        validator = Validator(build.dialect)
        for side, event in before(build):
            (validator.server_event if side == "s" else validator.client_event)(event)
        for _ in range(2):
            if fast:
                validator.own_append("evt_1", size, 1.0)
            else:
                append = {"type": "input_audio_buffer.append", "event_id": "evt_1"}
                validator.client_event({**append, "audio": elided}, t=1.0)
        validator.client_event({"type": "input_audio_buffer.commit"})
        report = validator.finish()
        outcomes.append(([v.rule for v in report.violations], report.events))
    assert outcomes[0] == outcomes[1]
