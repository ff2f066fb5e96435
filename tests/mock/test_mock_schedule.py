"""The mock's schedule: entries made when due (``Later``) and what a streaming response holds."""

from __future__ import annotations

from typing import Any

from mock_testkit import appends, behaviour, events_of, manual_update, silence

from realtime_harness.mock.behaviour import Latency
from realtime_harness.mock.schedule import (
    Emit,
    Entry,
    Later,
    ResponseProgress,
    Scheduler,
    SendEvent,
    Stream,
    TextSent,
    Timer,
    explode,
)
from realtime_harness.mock.voices import tone_voice
from realtime_harness.protocol.dialects import Dialect


class _Hooks:
    def response_done(self, progress: ResponseProgress, at: float) -> None:
        pass

    def timer(self, timer: Timer) -> None:
        pass


def _emit(at: float, name: str, progress: ResponseProgress | None = None) -> Emit:
    return Emit(at, {"type": name, "event_id": f"event_{name}"}, progress)


def _names(scheduler: Scheduler, now: float) -> list[str]:
    return [a.event["type"] for a in scheduler.poll(now, _Hooks()) if isinstance(a, SendEvent)]


class _Maker:
    """A ``Later.make`` that records when it was called and with what."""

    def __init__(self, *made: Entry) -> None:
        self.made = list(made)
        self.calls: list[tuple[ResponseProgress, list[str]]] = []

    def __call__(self, progress: ResponseProgress) -> list[Entry]:
        self.calls.append((progress, list(progress.text)))
        return self.made


def test_what_a_later_entry_makes_goes_out_in_its_place_when_due() -> None:
    progress = ResponseProgress()
    make = _Maker(_emit(1.0, "b"), _emit(1.0, "c"), _emit(1.5, "d"))
    scheduler = Scheduler(lambda: "event_x", "sess_x")
    scheduler.push([_emit(1.0, "a"), Later(1.0, make, progress), _emit(1.0, "e")])

    assert _names(scheduler, 0.9) == []
    assert make.calls == []  # nothing is made before it is due
    # due at its own time: in its place, before what was scheduled after it for that time
    assert _names(scheduler, 1.0) == ["a", "b", "c", "e"]
    assert make.calls == [(progress, [])]  # with the response's live progress
    # made for a later time: scheduled for then
    assert _names(scheduler, 1.4) == []
    assert _names(scheduler, 1.5) == ["d"]


def test_a_later_entry_is_made_from_what_the_client_has_been_sent() -> None:
    progress = ResponseProgress()
    make = _Maker(_emit(2.0, "done", progress))
    scheduler = Scheduler(lambda: "event_x", "sess_x")
    scheduler.push(
        [
            Emit(1.0, {"type": "delta", "event_id": "event_d"}, progress, TextSent("hi")),
            Later(2.0, make, progress),
        ]
    )
    assert _names(scheduler, 2.0) == ["delta", "done"]
    assert make.calls == [(progress, ["hi"])]


def test_a_cancelled_response_never_makes_its_later_entries() -> None:
    progress = ResponseProgress()
    make = _Maker(_emit(1.0, "done", progress))
    scheduler = Scheduler(lambda: "event_x", "sess_x")
    scheduler.push([Later(1.0, make, progress)])
    scheduler.discard(progress)
    assert _names(scheduler, 5.0) == []
    assert make.calls == []


def test_explode_makes_later_entries_now_from_the_entries_before_them() -> None:
    # A fault cuts, copies or moves events, so it sees every one of them, made ahead.
    progress = ResponseProgress()
    make = _Maker(_emit(2.0, "done", progress))
    entries: list[Entry] = [
        Emit(1.0, {"type": "delta", "event_id": "event_d"}, progress, TextSent("hi")),
        Later(2.0, make, progress),
    ]
    out = explode(entries, lambda: "event_x")
    assert [e.event["type"] for e in out if isinstance(e, Emit)] == ["delta", "done"]
    seen, text = make.calls[0]
    assert text == ["hi"]  # what the client will have seen by then
    assert seen is not progress  # a look-ahead, not the live progress


CREATE = {"type": "response.create"}


def turn(dialect: Dialect) -> list[dict[str, Any]]:
    """A manual-commit turn: VAD off, 300 ms of silence, commit, ask for a response."""
    commit = {"type": "input_audio_buffer.commit"}
    return [manual_update(dialect), *appends(silence(300)), commit, CREATE]


def _streaming(dialect: Dialect) -> Any:
    """A behaviour whose response has started streaming a 1 s answer at speed 1."""
    b = behaviour(
        dialect,
        voices=(tone_voice(1.0, "one two three"),),
        latency=Latency(response_s=0.05, first_delta_s=0.2),
    )
    events_of(b, 0.0)
    for event in turn(dialect):
        b.receive(event, 10.0)
    first = [e["type"] for e in events_of(b, 10.3)]
    assert any(t.endswith("audio.delta") for t in first)
    return b


def test_a_streaming_response_holds_its_closing_as_one_entry() -> None:
    # Laid out ahead, the closing events' dicts and lists would live (and be walked by the
    # garbage collector's young passes) for the whole response.
    b = _streaming(Dialect.GA)
    left = [entry for _, _, entry in b.scheduler._heap]
    stream = next(e for e in left if isinstance(e, Stream))
    response = [e for e in left if getattr(e, "progress", None) is stream.progress]
    assert sorted(type(e).__name__ for e in response) == ["Later", "Stream"]


def test_closing_events_made_when_due_describe_the_response_as_it_was_created() -> None:
    # The beta response object carries the session's voice and temperature: a session.update
    # while the response streams changes the next response, not this one.
    b = _streaming(Dialect.BETA)
    b.receive({"type": "session.update", "session": {"temperature": 0.6}}, 10.4)
    events = events_of(b, 20.0)
    done = next(e for e in events if e["type"] == "response.done")
    assert done["response"]["temperature"] == 0.8
    assert done["response"]["status"] == "completed"
    # the next response is created under the new configuration
    b.receive(CREATE, 30.0)
    later = events_of(b, 40.0)
    created = next(e for e in later if e["type"] == "response.created")
    assert created["response"]["temperature"] == 0.6


def test_closing_event_ids_are_fresh_and_unique() -> None:
    b = _streaming(Dialect.GA)
    events = events_of(b, 10.3) + events_of(b, 20.0)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    assert [e["type"] for e in events][-3:] == [
        "response.output_item.done",
        "response.done",
        "rate_limits.updated",
    ]
