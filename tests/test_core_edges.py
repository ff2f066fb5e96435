"""Edges of the core: odd payloads are handled, never crashed on; small helpers do what they say."""

from __future__ import annotations

import random
from typing import Any

import pytest

from realtime_harness.protocol import rules as R
from realtime_harness.protocol.dialects import Dialect, detect_dialect, to_dialect
from realtime_harness.protocol.failures import (
    ErrorInfo,
    Failure,
    failure_from_error_event,
    failure_from_response_done,
)
from realtime_harness.protocol.ids import ID_RE, find_session_id, new_id
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.recording import classify_line, elide_audio
from realtime_harness.protocol.validator import Validator, validate_events
from realtime_harness.testing import TraceBuilder

Event = dict[str, Any]


def rules_of(events: list[Event], dialect: Dialect | None = None) -> list[str]:
    return [v.rule for v in validate_events(events, dialect).violations]


def first(events: list[Event], suffix: str) -> int:
    return next(i for i, e in enumerate(events) if e["type"].endswith(suffix))


def test_dialect_helpers() -> None:
    """Dialects are detected from the first dialect-specific name and names translate both ways."""
    assert detect_dialect(["session.created", "response.audio.delta"]) is Dialect.BETA
    assert detect_dialect(["session.created", "error"]) is None
    assert to_dialect("response.audio.delta", Dialect.GA) == "response.output_audio.delta"
    assert to_dialect("response.output_text.done", Dialect.BETA) == "response.text.done"
    assert to_dialect("error", Dialect.BETA) == "error"


def test_ids() -> None:
    """New ids have the real shape; session ids are found inside messages."""
    assert ID_RE.match(new_id("sess", random.Random(1)))
    assert find_session_id("include the session ID sess_Abc123 in") == "sess_Abc123"
    assert find_session_id(None) is None
    assert find_session_id("no id here") is None


def test_outcome_precedence() -> None:
    """Violation beats connection failure, which beats a server failure."""
    assert Outcome.combine(violations=False, failures=True, connection=True) is Outcome.CONNECTION
    assert Outcome.combine(violations=True, failures=True, connection=True) is Outcome.VIOLATION
    assert [o.exit_code for o in Outcome] == [0, 1, 2, 3, 4]


def test_recording_helpers_leave_other_values_alone() -> None:
    """Only string audio payloads are elided; non-mappings are 'other' lines."""
    odd = {"type": "input_audio_buffer.append", "audio": None}
    assert elide_audio(odd) is odd
    assert classify_line([1]) == ("other", None)
    assert classify_line({"no": "type"}) == ("other", None)


def test_error_info_keeps_extras_and_stringifies_codes() -> None:
    """Error objects keep undeclared fields; non-string codes become strings."""
    info = ErrorInfo.from_mapping({"type": "x", "code": 42, "extra": [1]})
    assert info is not None
    assert info.code == "42"
    assert info.model_extra == {"extra": [1]}
    assert ErrorInfo.from_mapping("nope") is None  # type: ignore[arg-type]


def test_failure_summary_names_everything() -> None:
    """A failure line names kind, status, error fields, close code and every id."""
    failure = Failure(
        kind="close",
        session_id="sess_1",
        response_id="resp_1",
        event_id="event_1",
        item_id="item_1",
        status="failed",
        reason="turn_detected",
        error=ErrorInfo(type="t", code="c", message="m", param="p", event_id="evt_c"),
        close_code=1011,
        close_reason="internal",
        detail="socket closed",
        benign=True,
        line=3,
    )
    text = failure.summary()
    for part in (
        "close",
        "(benign)",
        "line=3",
        "status=failed",
        "reason=turn_detected",
        "error.param=p",
        "error.event_id=evt_c",
        "close=1011 internal",
        "sess_1",
        "resp_1",
        "event_1",
        "item_1",
        "message='m'",
        "detail='socket closed'",
    ):
        assert part in text


def test_failure_builders_tolerate_odd_payloads() -> None:
    """response.done without a response object, or with odd details and output, is handled."""
    assert failure_from_response_done({"response": "x"}, session_id=None) is None
    done = {"response": {"id": "resp_1", "status": "failed", "status_details": "?", "output": 5}}
    failure = failure_from_response_done(done, session_id="sess_1")
    assert failure is not None
    assert (failure.error, failure.item_id, failure.event_id) == (None, None, None)
    error = failure_from_error_event({"type": "error", "error": None}, session_id=None)
    assert (error.error, error.session_id, error.benign) == (None, None, False)


@pytest.mark.parametrize("delta", ["AB!D", "QQ=A", "=QQQ"])
def test_malformed_base64_shapes(delta: str) -> None:
    """Wrong characters or padding in the middle are not base64."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.response("audio")]
    events[first(events, "audio.delta")]["delta"] = delta
    assert rules_of(events) == [R.AUDIO_NOT_BASE64.name]


def test_odd_session_payloads_are_tolerated() -> None:
    """Sessions that are not objects, or lack parts, do not crash the validator."""
    build = TraceBuilder()
    created = build.event("session.created", session="?", session_id="sess_Top")
    updated = build.event("session.updated", session=None)
    partial = build.event("session.updated", session={"audio": {"input": {"format": {"type": 7}}}})
    report = validate_events([created, updated, partial, *build.response("text")])
    assert report.violations == []
    assert report.session_id == "sess_Top"


def test_response_audio_format_overrides_and_odd_shapes() -> None:
    """A response's own audio format decides PCM checks; odd shapes fall back to the session."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.response("audio")]
    events[1]["response"]["audio"] = {"output": {"format": {"type": "audio/pcmu"}}}
    events[first(events, "audio.delta")]["delta"] = "QQ=="  # one byte: fine for G.711
    assert rules_of(events) == []
    events[1]["response"]["audio"] = {"output": "?"}
    assert rules_of(events) == [R.AUDIO_PARTIAL_SAMPLE.name]


def test_out_of_band_response_does_not_block_default_one() -> None:
    """A default response may start while only an out-of-band response is active."""
    build = TraceBuilder()
    oob, default = build.response("text"), build.response("text")
    oob[0]["response"]["conversation_id"] = None
    assert rules_of([*build.session_created(), oob[0], *default]) == []


def test_items_without_index_and_parts_with_wrong_index() -> None:
    """Items may omit output_index; a part naming another output_index is a mismatch."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.response("text")]
    added = events[first(events, "output_item.added")]
    del added["output_index"]
    for event in events[first(events, "output_item.added") + 1 :]:
        event.pop("output_index", None)
    assert rules_of(events) == []
    events = [*build.session_created(), *build.response("text")]
    events[first(events, "content_part.added")]["output_index"] = 3
    assert rules_of(events) == [R.ITEM_INDEX_MISMATCH.name]


def test_function_arguments_for_closed_items_and_odd_deltas() -> None:
    """Argument events for an item that is not open are item-not-open; odd deltas are ignored."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.response("function_call")]
    delta_at = first(events, "arguments.delta")
    events[delta_at]["delta"] = None
    events[first(events, "arguments.done")]["arguments"] = None
    assert rules_of(events) == []
    events = [*build.session_created(), *build.response("function_call")]
    del events[first(events, "output_item.added")]
    found = rules_of(events)
    assert found.count(R.ITEM_NOT_OPEN.name) == len(found)


def test_text_delta_that_is_not_a_string_is_ignored() -> None:
    """A text delta that is not a string adds nothing to the concatenation."""
    build = TraceBuilder()
    events = [*build.session_created(), *build.response("text", deltas=1)]
    events[first(events, "text.delta")]["delta"] = None
    events[first(events, "text.done")]["text"] = None
    assert rules_of(events) == []


def test_client_side_remaining_paths() -> None:
    """Cleared buffers, cancels while active, other client events and unknown dialects pass."""
    build = TraceBuilder()
    validator = Validator()
    validator.server_event(build.session_created()[0])
    validator.client_event({"type": "session.update", "session": {"modalities": ["text"]}})
    validator.client_event({"type": "session.update", "session": "?"})
    validator.client_event({"type": "input_audio_buffer.append", "audio": "AAAA" * 1600})
    validator.server_event(build.event("input_audio_buffer.cleared"))
    validator.client_event({"type": "conversation.item.create", "item": {"type": "message"}})
    validator.client_event({"type": "conversation.item.delete", "item_id": "item_1"})
    response = build.response("text")
    validator.server_event(response[0])
    validator.client_event({"type": "response.cancel"})
    report = validator.finish()
    assert report.violations == []
    assert report.incomplete


def test_minimal_failure_summary() -> None:
    """A failure with only a kind still prints every id slot."""
    text = Failure(kind="timeout").summary()
    assert text == "failure timeout session_id=None response_id=None event_id=None item_id=None"


def test_session_with_output_format_only() -> None:
    """A GA session that carries only an output format keeps the input format."""
    build = TraceBuilder()
    session = {"audio": {"output": {"format": {"type": "audio/pcmu"}}}}
    events = [build.event("session.created", session=session), *build.response("audio")]
    events[first(events, "audio.delta")]["delta"] = "QQ=="
    assert rules_of(events) == []


def test_empty_file_and_declared_dialect_win(tmp_path: Any) -> None:
    """An empty file is incomplete; a dialect given on the command line beats the header's."""
    from realtime_harness.validate import validate_file

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert validate_file(empty).incomplete == ["no server events"]
    rec = tmp_path / "rec.jsonl"
    rec.write_bytes(b'{"realtime_harness_recording": 1, "dialect": "beta"}\n')
    assert validate_file(rec, Dialect.GA).dialect is Dialect.GA
    assert validate_file(rec).dialect is Dialect.BETA
