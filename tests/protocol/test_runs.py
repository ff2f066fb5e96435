"""Assistants run streams: the lifecycles are checked, failures carry every id and their causes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.runs import (
    RUN_RULES,
    RUN_TRANSITIONS,
    SERVER_ERROR_CAUSES,
    RunStreamValidator,
    looks_like_run_stream,
    validate_run_stream,
)
from realtime_harness.protocol.runs_sse import SseParser

THREAD = "thread_abc123"
RUN = "run_abc123"
ASSISTANT = "asst_abc123"


def run(status: str, run_id: str = RUN, thread: str = THREAD, **extra: Any) -> dict[str, Any]:
    return {
        "id": run_id,
        "object": "thread.run",
        "thread_id": thread,
        "assistant_id": ASSISTANT,
        "status": status,
        "model": "gpt-4o",
        "last_error": None,
        "usage": None,
        **extra,
    }


def step(status: str, step_id: str = "step_1", run_id: str = RUN, **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "object": "thread.run.step",
        "thread_id": THREAD,
        "run_id": run_id,
        "assistant_id": ASSISTANT,
        "type": "message_creation",
        "status": status,
        **extra,
    }


def message(status: str, msg_id: str = "msg_1", run_id: str | None = RUN) -> dict[str, Any]:
    return {
        "id": msg_id,
        "object": "thread.message",
        "thread_id": THREAD,
        "run_id": run_id,
        "assistant_id": ASSISTANT,
        "role": "assistant",
        "status": status,
    }


def delta(msg_id: str = "msg_1", text: str = "Hi") -> dict[str, Any]:
    return {
        "id": msg_id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": text}}]},
    }


Event = tuple[str, Any]


def message_run() -> list[Event]:
    """The documented sequence of a run that writes one message (Assistants streaming guide)."""
    return [
        ("thread.run.created", run("queued")),
        ("thread.run.queued", run("queued")),
        ("thread.run.in_progress", run("in_progress")),
        ("thread.run.step.created", step("in_progress")),
        ("thread.run.step.in_progress", step("in_progress")),
        ("thread.message.created", message("in_progress")),
        ("thread.message.in_progress", message("in_progress")),
        ("thread.message.delta", delta(text="Hello")),
        ("thread.message.delta", delta(text=" there")),
        ("thread.message.completed", message("completed")),
        ("thread.run.step.completed", step("completed")),
        ("thread.run.completed", run("completed", usage={"prompt_tokens": 42})),
        ("done", "[DONE]"),
    ]


def failed_run(prompt_tokens: int | None = 0) -> list[Event]:
    """The reported incident: a run that fails at once with server_error and 0 prompt tokens."""
    usage = None if prompt_tokens is None else {"prompt_tokens": prompt_tokens}
    error = {"code": "server_error", "message": "Sorry, something went wrong."}
    return [
        ("thread.run.created", run("queued")),
        ("thread.run.queued", run("queued")),
        ("thread.run.in_progress", run("in_progress")),
        ("thread.run.failed", run("failed", last_error=error, usage=usage)),
        ("done", "[DONE]"),
    ]


def sse(events: list[Event]) -> list[str]:
    """SSE text lines: each event is 3 lines (event, data, blank), so event i starts at 3i+1."""
    lines: list[str] = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        lines += [f"event: {name}\n", f"data: {payload}\n", "\n"]
    return lines


def sse_line(index: int) -> int:
    return 3 * index + 1


def jsonl(events: list[Event]) -> list[str]:
    return [json.dumps({"event": name, "data": data}) + "\n" for name, data in events]


def rules(report: Any) -> list[tuple[str, int | None]]:
    return [(v.rule, v.line) for v in report.violations]


class TestSeedSequences:
    @pytest.mark.parametrize("encode", [sse, jsonl], ids=["sse", "jsonl"])
    def test_a_run_that_writes_a_message_is_clean(self, encode: Any) -> None:
        """The documented created → queued → in_progress → step → message → completed is clean."""
        report = validate_run_stream(encode(message_run()))
        assert report.violations == []
        assert report.failures == []
        assert report.incomplete == []
        assert report.outcome is Outcome.CLEAN
        assert report.events == 13
        assert report.runs == 1

    def test_a_tool_call_run_and_its_resumed_stream_are_clean(self) -> None:
        """requires_action ends the first stream; the submit_tool_outputs stream resumes it."""
        tool = {"type": "tool_calls"}
        first = [
            ("thread.run.created", run("queued")),
            ("thread.run.queued", run("queued")),
            ("thread.run.in_progress", run("in_progress")),
            ("thread.run.step.created", step("in_progress", "step_t", **tool)),
            ("thread.run.step.in_progress", step("in_progress", "step_t", **tool)),
            ("thread.run.step.delta", {"id": "step_t", "object": "thread.run.step.delta"}),
            ("thread.run.requires_action", run("requires_action")),
            ("done", "[DONE]"),
        ]
        report = validate_run_stream(sse(first))
        assert report.violations == []
        assert report.incomplete == [
            "run run_abc123 ended the stream requires_action (no terminal event)"
        ]
        resumed = [
            ("thread.run.queued", run("queued")),
            ("thread.run.in_progress", run("in_progress")),
            ("thread.run.step.completed", step("completed", "step_t", **tool)),
            ("thread.run.step.created", step("in_progress", "step_m")),
            ("thread.message.created", message("in_progress")),
            ("thread.message.delta", delta()),
            ("thread.message.completed", message("completed")),
            ("thread.run.step.completed", step("completed", "step_m")),
            ("thread.run.completed", run("completed")),
            ("done", "[DONE]"),
        ]
        report = validate_run_stream(sse(resumed))
        assert report.violations == []
        assert report.outcome is Outcome.CLEAN

    def test_a_cancelled_run_is_no_failure(self) -> None:
        """created → queued → in_progress → cancelling → cancelled is what the user asked for."""
        events = [
            ("thread.run.created", run("queued")),
            ("thread.run.queued", run("queued")),
            ("thread.run.in_progress", run("in_progress")),
            ("thread.run.cancelling", run("cancelling")),
            ("thread.run.cancelled", run("cancelled")),
            ("done", "[DONE]"),
        ]
        report = validate_run_stream(sse(events))
        assert (report.violations, report.failures, report.outcome) == ([], [], Outcome.CLEAN)

    def test_two_threads_may_each_run_at_once(self) -> None:
        """One active run per thread, not per stream."""
        events = [
            ("thread.run.created", run("queued", "run_a", "thread_a")),
            ("thread.run.created", run("queued", "run_b", "thread_b")),
            ("thread.run.in_progress", run("in_progress", "run_a", "thread_a")),
            ("thread.run.in_progress", run("in_progress", "run_b", "thread_b")),
            ("thread.run.completed", run("completed", "run_a", "thread_a")),
            ("thread.run.completed", run("completed", "run_b", "thread_b")),
            ("done", "[DONE]"),
        ]
        assert validate_run_stream(sse(events)).violations == []

    def test_a_new_run_after_the_previous_one_ended_is_fine(self) -> None:
        """A thread may run again once its run is terminal."""
        events = [*failed_run()[:-1], ("thread.run.created", run("queued", "run_2"))]
        report = validate_run_stream(sse(events))
        assert report.violations == []


class TestFailedRun:
    def test_a_failed_run_names_every_id_and_last_error(self) -> None:
        """The failure carries thread, run, assistant, step, model and last_error, at its line."""
        events = failed_run()
        events.insert(3, ("thread.run.step.created", step("in_progress")))
        events.insert(
            4,
            (
                "thread.run.step.failed",
                step("failed", last_error={"code": "server_error", "message": "step broke"}),
            ),
        )
        report = validate_run_stream(sse(events))
        assert report.violations == []
        assert report.outcome is Outcome.SERVER_FAILURE
        (failure,) = report.failures
        assert failure.kind == "run_failed"
        assert failure.line == sse_line(5)
        assert (failure.thread_id, failure.run_id, failure.assistant_id) == (THREAD, RUN, ASSISTANT)
        assert failure.step_id == "step_1"
        assert failure.model == "gpt-4o"
        assert failure.last_error is not None
        assert failure.last_error.code == "server_error"
        assert failure.last_error.message == "Sorry, something went wrong."
        summary = failure.summary()
        for text in (THREAD, RUN, ASSISTANT, "step_1", "server_error", "likely=empty-thread"):
            assert text in summary

    def test_zero_prompt_tokens_make_the_empty_thread_the_likely_cause(self) -> None:
        """Seed table row 1: prompt_tokens 0 is the empty thread's signature; the rest follow."""
        (failure,) = validate_run_stream(sse(failed_run(prompt_tokens=0))).failures
        names = [(c.name, c.confidence) for c in failure.likely_causes]
        assert names == [
            ("empty-thread", "likely"),
            ("missing-beta-header", "possible"),
            ("old-api-version", "possible"),
            ("model-build", "possible"),
            ("regional-incident", "possible"),
        ]
        assert "additional_messages" in failure.likely_causes[0].fix
        first = failure.explain()[0]
        assert first.startswith("likely empty-thread: usage.prompt_tokens is 0; confirm: ")
        assert len(failure.explain()) == 5

    def test_a_run_that_read_a_prompt_drops_the_empty_thread(self) -> None:
        """With prompt tokens counted, the thread was not empty."""
        (failure,) = validate_run_stream(sse(failed_run(prompt_tokens=120))).failures
        assert "empty-thread" not in [c.name for c in failure.likely_causes]

    def test_a_user_message_seen_on_the_thread_drops_the_empty_thread(self) -> None:
        """A user message created on the thread before the run rules out the empty thread."""
        user = {**message("completed", "msg_u", run_id=None), "role": "user"}
        events = [("thread.message.created", user), *failed_run(prompt_tokens=None)]
        (failure,) = validate_run_stream(sse(events)).failures
        assert failure.likely_causes[0].name == "missing-beta-header"
        assert "empty-thread" not in [c.name for c in failure.likely_causes]

    def test_an_old_api_version_becomes_likely(self) -> None:
        """Seed table row 3: Assistants exist from 2024-02-15-preview on."""
        lines = sse(failed_run(prompt_tokens=None))
        (failure,) = validate_run_stream(lines, api_version="2023-12-01-preview").failures
        assert failure.likely_causes[0].name == "old-api-version"
        assert failure.likely_causes[0].confidence == "likely"
        (failure,) = validate_run_stream(lines, api_version="2024-06-01-preview").failures
        assert "old-api-version" not in [c.name for c in failure.likely_causes]

    def test_rate_limit_failures_name_the_quota_not_the_server_error_table(self) -> None:
        """A rate_limit_exceeded last_error has one cause: the quota."""
        events = failed_run()
        events[3] = (
            "thread.run.failed",
            run("failed", last_error={"code": "rate_limit_exceeded", "message": "slow down"}),
        )
        (failure,) = validate_run_stream(sse(events)).failures
        assert [c.name for c in failure.likely_causes] == ["rate-limit"]

    def test_expired_and_incomplete_runs_are_failures_too(self) -> None:
        """expired and incomplete runs did not do what was asked."""
        expired = [*failed_run()[:3], ("thread.run.expired", run("expired")), ("done", "[DONE]")]
        (failure,) = validate_run_stream(sse(expired)).failures
        assert (failure.kind, failure.status) == ("run_expired", "expired")
        incomplete = [
            *failed_run()[:3],
            (
                "thread.run.incomplete",
                run("incomplete", incomplete_details={"reason": "max_completion_tokens"}),
            ),
            ("done", "[DONE]"),
        ]
        (failure,) = validate_run_stream(sse(incomplete)).failures
        assert (failure.kind, failure.incomplete_reason) == (
            "run_incomplete",
            "max_completion_tokens",
        )

    def test_an_error_event_is_a_failure(self) -> None:
        """The stream's error event is recorded with its code and line."""
        events = [
            ("thread.run.created", run("queued")),
            ("error", {"code": "server_error", "message": "internal"}),
        ]
        report = validate_run_stream(sse(events))
        (failure,) = report.failures
        assert (failure.kind, failure.line) == ("error_event", sse_line(1))
        assert (failure.thread_id, failure.run_id, failure.assistant_id) == (THREAD, RUN, ASSISTANT)
        assert failure.last_error is not None
        assert failure.last_error.code == "server_error"
        assert "no done event (the stream was cut or the log truncated)" in report.incomplete

    def test_the_json_shape_names_its_kind_and_the_replacement(self) -> None:
        """--json: kind, outcome, failures with ids and causes, and the retirement note."""
        data = validate_run_stream(sse(failed_run())).to_json_dict()
        assert data["kind"] == "assistants_run_stream"
        assert data["outcome"] == "server_failure"
        assert data["failures"][0]["run_id"] == RUN
        assert data["failures"][0]["likely_causes"][0]["name"] == "empty-thread"
        assert "Responses API" in data["note"]
        json.dumps(data)


class TestMutations:
    def test_a_delta_after_the_run_completed_is_flagged_at_its_line(self) -> None:
        """A message delta after thread.run.completed breaks run-terminal-final."""
        events = message_run()
        events.insert(12, ("thread.message.delta", delta()))
        report = validate_run_stream(sse(events))
        assert rules(report) == [("run-terminal-final", sse_line(12))]
        assert report.violations[0].item_id == "msg_1"
        assert report.outcome is Outcome.VIOLATION

    def test_a_delta_after_the_message_completed_is_flagged_at_its_line(self) -> None:
        """A message delta after thread.message.completed breaks message-terminal-final."""
        events = message_run()
        events.insert(10, ("thread.message.delta", delta()))
        assert rules(validate_run_stream(sse(events))) == [("message-terminal-final", sse_line(10))]

    def test_a_second_active_run_on_a_thread_is_flagged_at_its_line(self) -> None:
        """A run created while another is in progress on the same thread breaks the rule."""
        events = message_run()
        events.insert(3, ("thread.run.created", run("queued", "run_second")))
        report = validate_run_stream(sse(events))
        assert rules(report) == [("one-active-run-per-thread", sse_line(3))]
        assert "run_second" in report.violations[0].message
        assert RUN in report.violations[0].message

    @pytest.mark.parametrize("encode", [sse, jsonl], ids=["sse", "jsonl"])
    def test_an_event_after_done_is_flagged(self, encode: Any) -> None:
        """Nothing follows done."""
        events = [*message_run(), ("thread.run.created", run("queued", "run_late"))]
        report = validate_run_stream(encode(events))
        line = sse_line(13) if encode is sse else 14
        assert rules(report) == [("event-after-done", line)]

    def test_a_step_event_after_the_step_completed_is_flagged(self) -> None:
        """A step delta after thread.run.step.completed breaks step-terminal-final."""
        events = message_run()
        events.insert(11, ("thread.run.step.delta", {"id": "step_1", "run_id": RUN}))
        assert rules(validate_run_stream(sse(events))) == [("step-terminal-final", sse_line(11))]

    def test_a_completed_run_with_an_open_message_is_flagged(self) -> None:
        """A run that completes before its message completed leaves it open."""
        events = [e for e in message_run() if e[0] != "thread.message.completed"]
        assert rules(validate_run_stream(sse(events))) == [
            ("run-completed-with-open-steps", sse_line(10))
        ]

    def test_a_backwards_run_transition_is_flagged(self) -> None:
        """in_progress → queued without requires_action is not the lifecycle."""
        events = message_run()
        events.insert(3, ("thread.run.queued", run("queued")))
        assert rules(validate_run_stream(sse(events))) == [("run-transition", sse_line(3))]

    def test_a_run_created_twice_is_flagged(self) -> None:
        """thread.run.created introduces a new run id."""
        events = message_run()
        events.insert(1, ("thread.run.created", run("queued")))
        assert rules(validate_run_stream(sse(events))) == [("run-created-twice", sse_line(1))]

    def test_events_of_objects_never_created_are_flagged(self) -> None:
        """In a stream that created the run, steps and messages must be created before use."""
        events = [e for e in message_run() if e[0] not in ("thread.run.step.created",)]
        events = [e for e in events if e[0] != "thread.message.created"]
        assert [r for r, _ in rules(validate_run_stream(sse(events)))] == [
            "step-not-open",
            "message-not-open",
        ]

    def test_a_status_that_disagrees_with_the_event_name_is_flagged(self) -> None:
        """thread.run.in_progress carrying status queued is inconsistent."""
        events = message_run()
        events[2] = ("thread.run.in_progress", run("queued"))
        assert rules(validate_run_stream(sse(events))) == [("status-mismatch", sse_line(2))]

    def test_a_step_on_another_thread_than_its_run_is_flagged(self) -> None:
        """A step names the thread of its run."""
        events = message_run()
        events[3] = ("thread.run.step.created", {**step("in_progress"), "thread_id": "thread_x"})
        assert rules(validate_run_stream(sse(events))) == [("id-mismatch", sse_line(3))]

    def test_created_twice_for_steps_and_messages_is_flagged(self) -> None:
        """Step and message ids are introduced once."""
        events = message_run()
        events.insert(4, ("thread.run.step.created", step("in_progress")))
        events.insert(7, ("thread.message.created", message("in_progress")))
        assert [r for r, _ in rules(validate_run_stream(sse(events)))] == [
            "step-created-twice",
            "message-created-twice",
        ]


class TestInput:
    @pytest.mark.parametrize(
        ("lines", "reason"),
        [
            (["event: thread.run.created\n", "data: {not json\n", "\n"], "not JSON"),
            (["event: thread.run.created\n", "data: [1, 2]\n", "\n"], "not a JSON object"),
            (["event: thread.run.created\n", 'data: {"status": "queued"}\n', "\n"], "no string id"),
            (["event: thread.created\n", "data: 7\n", "\n"], "not an object"),
            (['{"event": "thread.run.created", "data": "{bad"}\n'], "not JSON"),
            (["[1]\n"], "not an SSE line"),
            (["hello\n"], "not an SSE line"),
            (["{}\n"], "neither"),
            (['{"a": 1\n'], "not JSON"),
        ],
    )
    def test_unusable_input_is_a_bad_event_at_its_line(self, lines: list[str], reason: str) -> None:
        """Anything that is not a usable event is reported, never a crash."""
        report = validate_run_stream(lines)
        (violation,) = report.violations
        assert violation.rule == "run-bad-event"
        assert violation.line == 1
        assert reason in violation.message

    def test_jsonl_of_bare_objects_derives_the_event_names(self) -> None:
        """Logs that kept only the objects are read by their object and status fields."""
        objects = [
            {"id": THREAD, "object": "thread"},
            run("queued"),
            run("in_progress"),
            step("in_progress"),
            message("in_progress"),
            delta(),
            message("completed"),
            step("completed"),
            run("completed"),
        ]
        report = validate_run_stream(json.dumps(o) + "\n" for o in objects)
        assert report.violations == []
        assert report.events == 9
        assert report.incomplete == ["no done event (the stream was cut or the log truncated)"]

    def test_sse_bytes_crlf_comments_and_a_missing_final_blank_line(self) -> None:
        """Bytes, CRLF endings, keep-alive comments and an unterminated last event all work."""
        text = "".join(sse(message_run())).replace("\n", "\r\n").rstrip("\r\n")
        lines = [b": keep-alive\r\n", *(line.encode() + b"\n" for line in text.split("\n"))]
        report = validate_run_stream(lines)
        assert report.violations == []
        assert report.incomplete == []
        assert report.events == 13

    def test_unknown_events_are_counted_never_flagged(self) -> None:
        """thread.created and event types we do not know pass through."""
        events = [
            ("thread.created", {"id": THREAD}),
            ("thread.future.thing", {"x": 1}),
            *message_run(),
        ]
        report = validate_run_stream(sse(events))
        assert (report.violations, report.events) == ([], 15)

    def test_an_empty_input_is_incomplete(self) -> None:
        """No events is not clean silence: it is reported."""
        report = validate_run_stream(["\n", ""])
        assert report.incomplete == ["no events"]

    def test_finish_is_idempotent_and_violations_are_bounded(self) -> None:
        """Past MAX_VIOLATIONS, violations are counted, not stored."""
        validator = RunStreamValidator()
        validator.MAX_VIOLATIONS = 2
        for line in range(5):
            validator.bad_event(line, "junk")
        report = validator.finish()
        assert (len(report.violations), report.violations_dropped) == (2, 3)
        assert validator.finish() is report

    def test_sse_parser_follows_the_event_stream_rules(self) -> None:
        """Multi-line data joins with newlines; no space after the colon is fine; id is kept."""
        parser = SseParser()
        assert parser.feed("event:x", 1) is None
        assert parser.feed("data: a", 2) is None
        assert parser.feed("data:b", 3) is None
        assert parser.feed("id: 7", 4) is None
        assert parser.feed("retry: 10", 5) is None
        event = parser.feed("", 6)
        assert event is not None
        assert (event.event, event.data, event.line, event.id) == ("x", "a\nb", 1, "7")
        assert parser.feed("event: lonely", 7) is None
        assert parser.feed("", 8) is None  # no data lines: dropped, as the standard says
        assert parser.finish() is None


def test_every_rule_has_a_unique_name_and_summary() -> None:
    """The rules table is data: stable names, server side, each with a statement."""
    assert all(rule.name == name and rule.summary for name, rule in RUN_RULES.items())
    assert {rule.side for rule in RUN_RULES.values()} == {"server"}


def test_the_run_lifecycle_table_reaches_every_terminal_state() -> None:
    """From created, every terminal state is reachable through the transitions table."""
    seen, todo = set(), ["created"]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        todo += RUN_TRANSITIONS.get(state, frozenset())
    assert {"completed", "incomplete", "failed", "cancelled", "expired"} <= seen


def test_the_server_error_table_has_its_five_causes() -> None:
    """Empty thread, missing header, old api-version, model build, regional incident."""
    assert [c.name for c in SERVER_ERROR_CAUSES] == [
        "empty-thread",
        "missing-beta-header",
        "old-api-version",
        "model-build",
        "regional-incident",
    ]


class TestMore:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("event: thread.run.created\n", True),
            (b": keep-alive\n", True),
            ('{"event": "thread.run.created", "data": {}}', True),
            ('{"event": "done", "data": "[DONE]"}', True),
            ('{"id": "run_1", "object": "thread.run", "status": "queued"}', True),
            ('{"type": "session.created", "event_id": "event_1"}', False),
            ('{"event": "session.created"}', False),
            ("{broken", False),
            ("[1]", False),
            ("hello", False),
        ],
    )
    def test_run_streams_are_told_from_realtime_recordings(
        self, line: str | bytes, expected: bool
    ) -> None:
        """validate can route a file by its first line: run streams vs Realtime JSONL."""
        assert looks_like_run_stream(line) is expected

    def test_a_run_first_seen_terminal_is_adopted_and_its_failure_kept(self) -> None:
        """A log that only kept the end of a run still reports its failure."""
        error = {"code": "server_error", "message": "boom"}
        report = validate_run_stream(sse([("thread.run.failed", run("failed", last_error=error))]))
        (failure,) = report.failures
        assert failure.run_id == RUN
        assert report.violations == []

    def test_a_terminal_run_event_twice_is_flagged(self) -> None:
        """A run ends once."""
        events = failed_run()
        events.insert(4, ("thread.run.completed", run("completed")))
        assert rules(validate_run_stream(sse(events))) == [("run-terminal-final", sse_line(4))]

    def test_a_skipped_transition_to_a_terminal_state_is_flagged_and_ends_the_run(self) -> None:
        """queued → completed skips in_progress; the run still counts as ended."""
        events = [
            ("thread.run.created", run("queued")),
            ("thread.run.completed", run("completed")),
            ("done", "[DONE]"),
        ]
        report = validate_run_stream(sse(events))
        assert rules(report) == [("run-transition", sse_line(1))]
        assert report.incomplete == []

    def test_steps_and_messages_of_an_unseen_run_are_adopted(self) -> None:
        """A stream that starts mid-run (resumed) adopts its run, steps and messages."""
        events = [
            ("thread.run.step.delta", {"id": "step_1", "run_id": RUN, "thread_id": THREAD}),
            ("thread.run.step.completed", step("completed")),
            ("thread.message.in_progress", message("in_progress")),
            ("thread.message.completed", message("completed")),
            ("thread.run.completed", run("completed")),
            ("done", "[DONE]"),
        ]
        report = validate_run_stream(sse(events))
        assert report.violations == []

    def test_the_summary_names_an_incomplete_reason(self) -> None:
        """The one-line summary carries incomplete_details.reason."""
        events = [
            *failed_run()[:3],
            ("thread.run.incomplete", run("incomplete", incomplete_details={"reason": "max"})),
        ]
        (failure,) = validate_run_stream(sse(events)).failures
        assert "incomplete_reason=max" in failure.summary()
        assert "last_error" not in failure.summary()

    def test_an_unnamed_sse_event_is_named_from_its_object(self) -> None:
        """data without an event: line is read by its object and status."""
        lines = [f"data: {json.dumps(run('queued'))}\n", "\n", "data: [1]\n", "\n"]
        report = validate_run_stream(lines)
        assert report.runs == 1
        assert report.violations == []

    def test_jsonl_with_the_data_as_a_json_string_and_a_non_object_line(self) -> None:
        """{"event", "data": "<json text>"} is parsed; a JSON list line is a bad event."""
        lines = [
            json.dumps({"event": "thread.run.created", "data": json.dumps(run("queued"))}),
            "",
            "[1, 2]",
        ]
        report = validate_run_stream(lines)
        assert report.runs == 1
        assert rules(report) == [("run-bad-event", 3)]


ODD_VALUES: list[Any] = [None, 0, True, "x", [], {}, [{"a": 1}], 1.5]


def test_any_json_type_in_any_field_never_crashes() -> None:
    """Each field of each event replaced by each odd JSON value: always a report, never a raise."""
    base = [*message_run()[:-1], *failed_run()[3:]]
    runs = 0
    for index, (name, data) in enumerate(base):
        if not isinstance(data, dict):
            continue
        for key in [*data, "usage", "last_error", "incomplete_details"]:
            for odd in ODD_VALUES:
                events = list(base)
                events[index] = (name, {**data, key: odd})
                report = validate_run_stream(sse(events) if runs % 2 else jsonl(events))
                json.dumps(report.to_json_dict())
                runs += 1
        for odd in ODD_VALUES:
            events = list(base)
            events[index] = (name, odd)
            validate_run_stream(jsonl(events))
    assert runs > 500


class TestVerdict:
    """The status word of a run stream: never ``clean`` when something did not finish."""

    def test_a_finished_stream_is_clean(self) -> None:
        report = validate_run_stream(sse(message_run()))
        assert (report.outcome, report.verdict) == (Outcome.CLEAN, "clean")
        assert report.to_json_dict()["verdict"] == "clean"

    @pytest.mark.parametrize(
        "cut", [-1, -2, 1], ids=["no-done", "no-terminal-event-no-done", "created-only"]
    )
    def test_a_cut_stream_is_incomplete_with_a_clean_outcome(self, cut: int) -> None:
        """Cut before done (or before the run's terminal event): exit 0's outcome, but the
        verdict says incomplete."""
        events = message_run()
        report = validate_run_stream(sse(events[:cut]))
        assert report.violations == []
        assert report.failures == []
        assert report.incomplete
        assert (report.outcome, report.verdict) == (Outcome.CLEAN, "incomplete")
        data = report.to_json_dict()
        assert (data["outcome"], data["verdict"]) == ("clean", "incomplete")

    def test_no_events_is_incomplete(self) -> None:
        assert validate_run_stream(["\n"]).verdict == "incomplete"

    def test_a_failure_keeps_its_own_word(self) -> None:
        """A failed run with no done: server_failure, not incomplete."""
        report = validate_run_stream(sse(failed_run()[:-1]))
        assert report.incomplete
        assert report.verdict == "server_failure"
