"""Assistants API run streams: their ordering rules, a validator, and why a run failed.

The Assistants API was retired on 2026-08-26 (OpenAI and Azure), but teams still hold logs of
its run streams: the server-sent events of ``POST /threads/{id}/runs`` with ``stream: true``
(https://platform.openai.com/docs/api-reference/assistants-streaming/events). This module checks
such a log the way :mod:`realtime_harness.protocol.validator` checks a Realtime session: rules as
data with stable names (the same :class:`~realtime_harness.protocol.rules.Rule` type), findings as
the same :class:`~realtime_harness.protocol.validator.Violation`, the same
:class:`~realtime_harness.protocol.outcome.Outcome` and exit codes.

The lifecycles checked (Azure's "Assistants API runs reference" and OpenAI's run object):

* a run: ``created`` → ``queued`` → ``in_progress`` → (``requires_action`` → ``queued`` /
  ``in_progress``)* → ``completed`` | ``incomplete`` | ``failed`` | ``cancelled`` | ``expired``,
  with ``cancelling`` on the way to a cancel; terminal states are final, and a thread has one
  active run at a time;
* a run step: ``created`` → ``in_progress`` → ``delta``* → ``completed`` | ``failed`` |
  ``cancelled`` | ``expired``;
* a message: ``created`` → ``in_progress`` → ``delta``* → ``completed`` | ``incomplete``;
* nothing follows ``done``.

A stream that resumes a run (after ``submit_tool_outputs``) starts mid-lifecycle, so a run first
seen in any state is adopted, and the steps and messages of a run this stream did not create are
adopted too. Unknown event types are counted, never violations. A violation's ``item_id`` holds
the id of the run, step or message it concerns.

A run that ends ``failed``, ``expired`` or ``incomplete`` becomes a :class:`RunFailure` carrying
``thread_id``, ``run_id``, ``assistant_id``, the step id, ``last_error`` and the likely causes
from the table support gave for runs that "fail immediately" with ``server_error``
(:data:`SERVER_ERROR_CAUSES`): an empty thread, a missing ``OpenAI-Beta: assistants=v2``
header, an old api-version, a model build, a regional incident.

Input: SSE text (:class:`~realtime_harness.protocol.runs_sse.SseParser`) or JSONL, one event a
line, either ``{"event": NAME, "data": …}`` or the bare object (its name derived from ``object``
and ``status``). :func:`validate_run_stream` tells them apart by the first non-blank line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from realtime_harness.protocol.failures import ErrorInfo
from realtime_harness.protocol.outcome import Outcome, verdict_of
from realtime_harness.protocol.rules import Rule
from realtime_harness.protocol.runs_sse import DONE, ERROR, SseParser, looks_like_run_stream
from realtime_harness.protocol.validator import Violation

__all__ = [
    "RUN_RULES",
    "SERVER_ERROR_CAUSES",
    "LikelyCause",
    "RunFailure",
    "RunReport",
    "RunStreamValidator",
    "likely_causes",
    "looks_like_run_stream",
    "validate_run_stream",
]

_REFERENCE = "Assistants API streaming events and run lifecycle (OpenAI / Azure reference)"

_TABLE: dict[str, Rule] = {}


def _rule(name: str, summary: str) -> Rule:
    rule = Rule(name, "server", summary, _REFERENCE)
    if name in _TABLE:  # pragma: no cover - guards the table itself at import time
        raise ValueError(f"duplicate rule name {name}")
    _TABLE[name] = rule
    return rule


BAD_EVENT = _rule(
    "run-bad-event",
    "Every event is a named SSE block (or JSONL line) whose data is a JSON object with a string "
    "id ('[DONE]' for done).",
)
EVENT_AFTER_DONE = _rule("event-after-done", "Nothing follows the done event.")
RUN_CREATED_TWICE = _rule("run-created-twice", "thread.run.created introduces a new run id.")
ONE_ACTIVE_RUN = _rule(
    "one-active-run-per-thread",
    "A thread has at most one active run: a new run starts only after the previous one ended.",
)
RUN_TRANSITION = _rule(
    "run-transition",
    "A run moves created → queued → in_progress (→ requires_action → queued/in_progress)* → a "
    "terminal state, or to cancelling/cancelled, expired or failed from any active state.",
)
RUN_TERMINAL_FINAL = _rule(
    "run-terminal-final",
    "No run, step or message event of a run follows its completed, incomplete, failed, "
    "cancelled or expired.",
)
STATUS_MISMATCH = _rule(
    "status-mismatch", "The object's status agrees with the event name (thread.run.queued: queued)."
)
ID_MISMATCH = _rule(
    "id-mismatch", "A step or message names the same thread as the run it belongs to."
)
STEP_NOT_OPEN = _rule(
    "step-not-open",
    "Step in_progress, delta and terminal events refer to a step that thread.run.step.created "
    "opened.",
)
STEP_CREATED_TWICE = _rule(
    "step-created-twice", "thread.run.step.created introduces a new step id."
)
STEP_TERMINAL_FINAL = _rule(
    "step-terminal-final", "No event of a step follows its completed, failed, cancelled or expired."
)
MESSAGE_NOT_OPEN = _rule(
    "message-not-open",
    "Message in_progress, delta and terminal events refer to a message that "
    "thread.message.created opened.",
)
MESSAGE_CREATED_TWICE = _rule(
    "message-created-twice", "thread.message.created introduces a new message id."
)
MESSAGE_TERMINAL_FINAL = _rule(
    "message-terminal-final", "No event of a message follows its completed or incomplete."
)
COMPLETED_WITH_OPEN = _rule(
    "run-completed-with-open-steps",
    "A completed run has finished every step and message it started.",
)

#: Every run-stream rule by name.
RUN_RULES: Final[dict[str, Rule]] = dict(_TABLE)


class _Kind(enum.Enum):
    RUN = "run"
    STEP = "step"
    MESSAGE = "message"


#: Run states; the last five are terminal.
_RUN_ACTIVE = ("created", "queued", "in_progress", "requires_action", "cancelling")
_RUN_TERMINAL = frozenset({"completed", "incomplete", "failed", "cancelled", "expired"})
_STOPS = frozenset({"cancelling", "cancelled", "expired", "failed"})
#: Run state → the states it may move to (the run lifecycle as data).
RUN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "created": frozenset({"queued", "in_progress"}) | _STOPS,
    "queued": frozenset({"in_progress"}) | _STOPS,
    "in_progress": frozenset({"requires_action", "completed", "incomplete"}) | _STOPS,
    "requires_action": frozenset({"queued", "in_progress"}) | _STOPS,
    "cancelling": frozenset({"cancelled", "completed", "incomplete", "failed", "expired"}),
}
_STEP_TERMINAL = frozenset({"completed", "failed", "cancelled", "expired"})
_MESSAGE_TERMINAL = frozenset({"completed", "incomplete"})

#: Event name → (object kind, state or "delta"); the catalog of run-stream events.
EVENTS: Final[dict[str, tuple[_Kind, str]]] = {
    **{f"thread.run.{s}": (_Kind.RUN, s) for s in (*_RUN_ACTIVE, *sorted(_RUN_TERMINAL))},
    **{
        f"thread.run.step.{s}": (_Kind.STEP, s)
        for s in ("created", "in_progress", "delta", *sorted(_STEP_TERMINAL))
    },
    **{
        f"thread.message.{s}": (_Kind.MESSAGE, s)
        for s in ("created", "in_progress", "delta", *sorted(_MESSAGE_TERMINAL))
    },
}
_DONE = DONE
_ERROR = ERROR


# --- failures and their likely causes -------------------------------------------------------
class LikelyCause(BaseModel):
    """One cause a failed run may have: how sure, why, how to confirm it, how to fix it."""

    model_config = ConfigDict(frozen=True)

    name: str
    confidence: Literal["likely", "possible"]
    evidence: str
    confirm: str
    fix: str


@dataclass(frozen=True)
class _KnownCause:
    name: str
    confirm: str
    fix: str


#: Support's table for a run that "fails immediately" with ``server_error`` (Microsoft Q&A answers
#: on Azure OpenAI Assistants; Azure "Getting started with Azure OpenAI Assistants").
SERVER_ERROR_CAUSES: Final[tuple[_KnownCause, ...]] = (
    _KnownCause(
        "empty-thread",
        "usage.prompt_tokens is 0 and the thread has no thread.message resources",
        "add at least one user message first, or use POST /threads/runs with the message in "
        "additional_messages",
    ),
    _KnownCause(
        "missing-beta-header",
        "inspect the request sent: every Assistants request needs OpenAI-Beta: assistants=v2; "
        "without it the call reaches an older backend that answers 500",
        "add the header OpenAI-Beta: assistants=v2",
    ),
    _KnownCause(
        "old-api-version",
        "look at the api-version= query: Assistants exist from 2024-02-15-preview on",
        "use api-version 2024-06-01-preview or later",
    ),
    _KnownCause(
        "model-build",
        "run the same call on another model deployment; if it succeeds, the fault is the model "
        "build's",
        "redeploy the model at its latest version, or use a model version that supports Assistants",
    ),
    _KnownCause(
        "regional-incident",
        "send the call again and capture the x-ms-client-request-id / request-id and x-ms-region "
        "response headers",
        "open a support ticket with the request id, run id, region and model",
    ),
)
_FIRST_ASSISTANTS_VERSION = "2024-02-15-preview"
#: The successor to name in every fix (the API itself is retired).
REPLACEMENT = (
    "the Assistants API was retired on 2026-08-26: move to the Responses API (or the Realtime "
    "API for speech)"
)


def likely_causes(
    run: Mapping[str, Any],
    *,
    error: ErrorInfo | None,
    thread_has_user_message: bool | None = None,
    api_version: str | None = None,
) -> list[LikelyCause]:
    """The likely causes of a failed run, most likely first.

    ``run`` is the run object of the failing event; ``thread_has_user_message`` what the stream
    showed of the thread (None: it did not show); ``api_version`` the one the request used, if
    known.
    """
    code = error.code if error else None
    if code == "rate_limit_exceeded":
        return [
            LikelyCause(
                name="rate-limit",
                confidence="likely",
                evidence="last_error.code is rate_limit_exceeded",
                confirm="the deployment's tokens-per-minute and requests-per-minute metrics",
                fix="wait and retry with backoff, or raise the deployment's quota",
            )
        ]
    if code not in (None, "server_error"):
        return []
    usage = run.get("usage")
    prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, Mapping) else None
    model = run.get("model")
    out: list[LikelyCause] = []
    for known in SERVER_ERROR_CAUSES:
        confidence: Literal["likely", "possible"] = "possible"
        evidence = "not visible in the stream"
        if known.name == "empty-thread":
            if thread_has_user_message:
                continue
            if prompt_tokens == 0 and not isinstance(prompt_tokens, bool):
                confidence, evidence = "likely", "usage.prompt_tokens is 0"
            elif isinstance(prompt_tokens, int):
                continue  # the model read a prompt: the thread was not empty
        elif known.name == "old-api-version" and api_version:
            if api_version[:10] >= _FIRST_ASSISTANTS_VERSION[:10]:
                continue
            confidence, evidence = "likely", f"api-version {api_version} predates Assistants"
        elif known.name == "model-build" and isinstance(model, str):
            evidence = f"model {model}"
        out.append(
            LikelyCause(
                name=known.name,
                confidence=confidence,
                evidence=evidence,
                confirm=known.confirm,
                fix=known.fix,
            )
        )
    out.sort(key=lambda cause: cause.confidence != "likely")
    return out


RunFailureKind = Literal["run_failed", "run_expired", "run_incomplete", "error_event"]


class RunFailure(BaseModel):
    """A run that ended failed, expired or incomplete (or an ``error`` event), with every id."""

    model_config = ConfigDict(frozen=True)

    kind: RunFailureKind
    line: int | None = None
    thread_id: str | None = None
    run_id: str | None = None
    assistant_id: str | None = None
    step_id: str | None = None
    model: str | None = None
    status: str | None = None
    last_error: ErrorInfo | None = None
    incomplete_reason: str | None = None
    likely_causes: list[LikelyCause] = Field(default_factory=list)

    def summary(self) -> str:
        """One human line naming the failure and every id."""
        parts = [f"failure {self.kind}"]
        if self.line is not None:
            parts.append(f"line={self.line}")
        for name in ("status", "thread_id", "run_id", "assistant_id", "step_id", "model"):
            parts.append(f"{name}={getattr(self, name)}")
        if self.last_error is not None:
            parts.append(f"last_error.code={self.last_error.code}")
            if self.last_error.message:
                parts.append(f"message={self.last_error.message!r}")
        if self.incomplete_reason:
            parts.append(f"incomplete_reason={self.incomplete_reason}")
        likely = [c.name for c in self.likely_causes if c.confidence == "likely"]
        if likely:
            parts.append(f"likely={','.join(likely)}")
        return " ".join(parts)

    def explain(self) -> list[str]:
        """One line per likely cause: confidence, name, evidence, how to confirm, the fix."""
        return [
            f"{c.confidence} {c.name}: {c.evidence}; confirm: {c.confirm}; fix: {c.fix}"
            for c in self.likely_causes
        ]


class RunReport(BaseModel):
    """What a validated run stream amounted to (the run-stream twin of the Realtime report)."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    events: int
    runs: int
    failures: list[RunFailure]
    violations: list[Violation]
    incomplete: list[str]
    violations_dropped: int = 0

    @property
    def verdict(self) -> str:
        """The status word: the outcome's value, or ``incomplete`` for a clean stream in which
        something did not finish (a run with no terminal event, no ``done``, no events)."""
        return verdict_of(self.outcome, incomplete=bool(self.incomplete))

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` shape, with ``kind`` telling it from a Realtime report."""
        return {
            "kind": "assistants_run_stream",
            "outcome": self.outcome.value,
            "verdict": self.verdict,
            "events": self.events,
            "runs": self.runs,
            "failures": [f.model_dump(mode="json") for f in self.failures],
            "violations": [v.to_json_dict() for v in self.violations],
            "incomplete": self.incomplete,
            "violations_dropped": self.violations_dropped,
            "note": REPLACEMENT,
        }


# --- the validator ---------------------------------------------------------------------------
@dataclass(slots=True)
class _Run:
    run_id: str
    thread_id: str | None
    state: str
    created_here: bool
    assistant_id: str | None = None
    steps: dict[str, str] = field(default_factory=dict)  # step id → state
    messages: set[str] = field(default_factory=set)
    failed_step: str | None = None
    failed_step_error: ErrorInfo | None = None
    last_step: str | None = None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class RunStreamValidator:
    """Checks one run stream's events against :data:`RUN_RULES`, in order.

    Feed each event with :meth:`event` (name, parsed data, line), unusable input with
    :meth:`bad_event`, then call :meth:`finish` once.
    """

    #: Keep at most this many violations (later ones are counted, not stored).
    MAX_VIOLATIONS = 1_000

    def __init__(self, *, api_version: str | None = None) -> None:
        self.api_version = api_version
        self.events = 0
        self.violations: list[Violation] = []
        self.failures: list[RunFailure] = []
        self.violations_dropped = 0
        self._done_line: int | None = None
        self._runs: dict[str, _Run] = {}
        self._active: dict[str, str] = {}  # thread id → its active run id
        self._steps: dict[str, str] = {}  # step id → run id
        self._messages: dict[str, tuple[str | None, str]] = {}  # message id → (run id, state)
        self._user_messages: set[str] = set()  # thread ids with a user message seen
        self._last_run: _Run | None = None
        self._finished: RunReport | None = None

    def _violate(
        self, rule: Rule, message: str, name: str | None, line: int | None, oid: str | None = None
    ) -> None:
        if len(self.violations) >= self.MAX_VIOLATIONS:
            self.violations_dropped += 1
            return
        self.violations.append(
            Violation(
                rule=rule.name,
                message=message,
                side=rule.side,
                line=line,
                event_type=name,
                item_id=oid,
            )
        )

    def bad_event(self, line: int, reason: str, name: str | None = None) -> None:
        """Record input that is not a usable event (not JSON, no data, no id)."""
        self.events += 1
        self._violate(BAD_EVENT, reason, name, line)

    def event(self, name: str, data: object, *, line: int | None = None) -> None:
        """Check one event: its SSE name and its parsed ``data`` (any JSON value)."""
        self.events += 1
        if self._done_line is not None:
            self._violate(
                EVENT_AFTER_DONE, f"{name} after done (line {self._done_line})", name, line
            )
            return
        if name == _DONE:
            self._done_line = line if line is not None else 0
            return
        if name == _ERROR:
            error = data.get("error", data) if isinstance(data, Mapping) else None
            # The error names no run; the run the stream was last about is the one it broke.
            last = self._last_run
            self.failures.append(
                RunFailure(
                    kind="error_event",
                    line=line,
                    thread_id=last.thread_id if last else None,
                    run_id=last.run_id if last else None,
                    assistant_id=last.assistant_id if last else None,
                    step_id=last.last_step if last else None,
                    status=last.state if last else None,
                    last_error=ErrorInfo.from_mapping(error if isinstance(error, Mapping) else None)
                    or ErrorInfo(message=str(data)[:200]),
                )
            )
            return
        entry = EVENTS.get(name)
        if entry is None:
            if name == "thread.created" and not isinstance(data, Mapping):
                self._violate(BAD_EVENT, "thread.created data is not an object", name, line)
            return  # thread.created and event types we do not know: counted, never violations
        if not isinstance(data, Mapping):
            self._violate(BAD_EVENT, f"{name} data is not a JSON object", name, line)
            return
        oid = _str(data.get("id"))
        if oid is None:
            self._violate(BAD_EVENT, f"{name} data has no string id", name, line)
            return
        kind, state = entry
        status = data.get("status")
        if state not in ("created", "delta") and isinstance(status, str) and status != state:
            self._violate(STATUS_MISMATCH, f"{name} carries status {status!r}", name, line, oid)
        if kind is _Kind.RUN:
            self._run_event(name, state, oid, data, line)
        elif kind is _Kind.STEP:
            self._step_event(name, state, oid, data, line)
        else:
            self._message_event(name, state, oid, data, line)

    # --- runs ------------------------------------------------------------------------------
    def _run_event(
        self, name: str, state: str, run_id: str, data: Mapping[str, Any], line: int | None
    ) -> None:
        thread_id = _str(data.get("thread_id"))
        run = self._runs.get(run_id)
        if run is None:
            # A resumed stream (after submit_tool_outputs) first shows a run mid-lifecycle.
            run = _Run(
                run_id,
                thread_id,
                state,
                created_here=state == "created",
                assistant_id=_str(data.get("assistant_id")),
            )
            self._runs[run_id] = run
            self._last_run = run
            if state not in _RUN_TERMINAL:
                self._start_active(run, name, line)
            else:
                self._run_ended(run, name, data, line)
            return
        self._last_run = run
        run.assistant_id = run.assistant_id or _str(data.get("assistant_id"))
        if state == "created":
            self._violate(RUN_CREATED_TWICE, f"run {run_id} created again", name, line, run_id)
            return
        if run.state in _RUN_TERMINAL:
            self._violate(
                RUN_TERMINAL_FINAL,
                f"{name} for run {run_id} after it ended {run.state}",
                name,
                line,
                run_id,
            )
            return
        if state not in RUN_TRANSITIONS[run.state]:
            self._violate(
                RUN_TRANSITION, f"run {run_id} moved {run.state} → {state}", name, line, run_id
            )
            if state not in _RUN_TERMINAL:
                return  # treated as spurious, so one stray event is one violation, not a cascade
        run.state = state
        if state in _RUN_TERMINAL:
            self._run_ended(run, name, data, line)

    def _start_active(self, run: _Run, name: str, line: int | None) -> None:
        if run.thread_id is None:
            return
        other = self._active.get(run.thread_id)
        if other is not None and other != run.run_id:
            self._violate(
                ONE_ACTIVE_RUN,
                f"run {run.run_id} started on thread {run.thread_id} while run {other} is "
                f"{self._runs[other].state}",
                name,
                line,
                run.run_id,
            )
        self._active[run.thread_id] = run.run_id

    def _run_ended(self, run: _Run, name: str, data: Mapping[str, Any], line: int | None) -> None:
        if run.thread_id is not None and self._active.get(run.thread_id) == run.run_id:
            del self._active[run.thread_id]
        if run.state == "completed":
            open_steps = sorted(s for s, st in run.steps.items() if st not in _STEP_TERMINAL)
            open_messages = sorted(
                m for m in run.messages if self._messages[m][1] not in _MESSAGE_TERMINAL
            )
            if open_steps or open_messages:
                self._violate(
                    COMPLETED_WITH_OPEN,
                    f"run {run.run_id} completed with open steps {open_steps} and messages "
                    f"{open_messages}",
                    name,
                    line,
                    run.run_id,
                )
        kind: RunFailureKind
        if run.state == "failed":
            kind = "run_failed"
        elif run.state == "expired":
            kind = "run_expired"
        elif run.state == "incomplete":
            kind = "run_incomplete"
        else:
            return
        error = ErrorInfo.from_mapping(data.get("last_error")) or run.failed_step_error
        details = data.get("incomplete_details")
        reason = _str(details.get("reason")) if isinstance(details, Mapping) else None
        thread_has_user = (
            True if run.thread_id is not None and run.thread_id in self._user_messages else None
        )
        causes = (
            likely_causes(
                data,
                error=error,
                thread_has_user_message=thread_has_user,
                api_version=self.api_version,
            )
            if kind == "run_failed"
            else []
        )
        self.failures.append(
            RunFailure(
                kind=kind,
                line=line,
                thread_id=run.thread_id,
                run_id=run.run_id,
                assistant_id=_str(data.get("assistant_id")),
                step_id=run.failed_step or run.last_step,
                model=_str(data.get("model")),
                status=run.state,
                last_error=error,
                incomplete_reason=reason,
                likely_causes=causes,
            )
        )

    def _owning_run(
        self, name: str, oid: str, run_id: str | None, data: Mapping[str, Any], line: int | None
    ) -> _Run | None:
        """The run a step or message belongs to, after the checks every such event shares;
        None when the event was reported (its run already ended) or has no run."""
        if run_id is None:
            return None
        run = self._runs.get(run_id)
        if run is None:
            # A step or message of a run this stream never showed: adopt the run.
            run = _Run(run_id, _str(data.get("thread_id")), "in_progress", created_here=False)
            self._runs[run_id] = run
            return run
        if run.state in _RUN_TERMINAL:
            self._violate(
                RUN_TERMINAL_FINAL,
                f"{name} ({oid}) after run {run_id} ended {run.state}",
                name,
                line,
                oid,
            )
            return None
        thread_id = _str(data.get("thread_id"))
        if thread_id and run.thread_id and thread_id != run.thread_id:
            self._violate(
                ID_MISMATCH,
                f"{oid} names thread {thread_id}, but run {run_id} is on thread {run.thread_id}",
                name,
                line,
                oid,
            )
        return run

    # --- steps -----------------------------------------------------------------------------
    def _step_event(
        self, name: str, state: str, step_id: str, data: Mapping[str, Any], line: int | None
    ) -> None:
        known_run = self._steps.get(step_id)
        run_id = _str(data.get("run_id")) or known_run
        run = self._owning_run(name, step_id, run_id, data, line)
        if run is None:
            return
        current = run.steps.get(step_id)
        if state == "created":
            if current is not None:
                self._violate(
                    STEP_CREATED_TWICE, f"step {step_id} created again", name, line, step_id
                )
                return
        elif current is None:
            if run.created_here:
                self._violate(
                    STEP_NOT_OPEN, f"{name} for step {step_id} never created", name, line, step_id
                )
        elif current in _STEP_TERMINAL:
            self._violate(
                STEP_TERMINAL_FINAL,
                f"{name} for step {step_id} after it ended {current}",
                name,
                line,
                step_id,
            )
            return
        self._steps[step_id] = run.run_id
        run.last_step = step_id
        if state != "delta":
            run.steps[step_id] = state
        elif current is None:
            run.steps[step_id] = "in_progress"
        if state == "failed":
            run.failed_step = step_id
            run.failed_step_error = ErrorInfo.from_mapping(data.get("last_error"))

    # --- messages --------------------------------------------------------------------------
    def _message_event(
        self, name: str, state: str, message_id: str, data: Mapping[str, Any], line: int | None
    ) -> None:
        known = self._messages.get(message_id)
        run_id = _str(data.get("run_id")) or (known[0] if known else None)
        if state == "created" and data.get("role") == "user":
            thread_id = _str(data.get("thread_id"))
            if thread_id:
                self._user_messages.add(thread_id)
        run = self._owning_run(name, message_id, run_id, data, line)
        if run is None and run_id is not None:
            return  # reported against the ended run
        if state == "created":
            if known is not None:
                self._violate(
                    MESSAGE_CREATED_TWICE,
                    f"message {message_id} created again",
                    name,
                    line,
                    message_id,
                )
                return
        elif known is None:
            if run is None or run.created_here:
                self._violate(
                    MESSAGE_NOT_OPEN,
                    f"{name} for message {message_id} never created",
                    name,
                    line,
                    message_id,
                )
        elif known[1] in _MESSAGE_TERMINAL:
            self._violate(
                MESSAGE_TERMINAL_FINAL,
                f"{name} for message {message_id} after it ended {known[1]}",
                name,
                line,
                message_id,
            )
            return
        new_state = state if state != "delta" else (known[1] if known else "in_progress")
        self._messages[message_id] = (run.run_id if run else None, new_state)
        if run is not None:
            run.messages.add(message_id)

    # --- end ------------------------------------------------------------------------------
    def finish(self) -> RunReport:
        """The report; runs still active and a missing ``done`` are incomplete, not violations."""
        if self._finished is not None:
            return self._finished
        incomplete = [
            f"run {run.run_id} ended the stream {run.state} (no terminal event)"
            for run in self._runs.values()
            if run.state not in _RUN_TERMINAL
        ]
        if self.events == 0:
            incomplete.append("no events")
        elif self._done_line is None:
            incomplete.append("no done event (the stream was cut or the log truncated)")
        self._finished = RunReport(
            outcome=Outcome.combine(violations=bool(self.violations), failures=bool(self.failures)),
            events=self.events,
            runs=len(self._runs),
            failures=list(self.failures),
            violations=list(self.violations),
            incomplete=incomplete,
            violations_dropped=self.violations_dropped,
        )
        return self._finished


# --- input formats ---------------------------------------------------------------------------
def _name_of_object(obj: Mapping[str, Any]) -> str | None:
    """The event name of a bare logged object (``object`` plus ``status``)."""
    kind = obj.get("object")
    if kind in ("thread.message.delta", "thread.run.step.delta"):
        return str(kind)
    if kind == "thread":
        return "thread.created"
    status = obj.get("status")
    if kind in ("thread.run", "thread.run.step", "thread.message") and isinstance(status, str):
        return f"{kind}.{status}"
    return None


def _feed_data(v: RunStreamValidator, name: str, text: str, line: int) -> None:
    if name == _DONE:
        v.event(name, text.strip(), line=line)
        return
    try:
        data = orjson.loads(text)
    except ValueError as exc:
        v.bad_event(line, f"{name} data is not JSON: {exc}", name)
        return
    if name == "message" and isinstance(data, Mapping):
        name = _name_of_object(data) or name
    v.event(name, data, line=line)


def _feed_jsonl(v: RunStreamValidator, text: str, line: int) -> None:
    try:
        obj = orjson.loads(text)
    except ValueError as exc:
        v.bad_event(line, f"not JSON: {exc}")
        return
    if not isinstance(obj, Mapping):
        v.bad_event(line, "not a JSON object")
        return
    name = obj.get("event", obj.get("type"))
    if isinstance(name, str) and ("data" in obj or name == _DONE):
        data = obj.get("data")
        if isinstance(data, str) and name != _DONE:
            _feed_data(v, name, data, line)  # the data kept as the raw SSE text
        else:
            v.event(name, data, line=line)
        return
    derived = _name_of_object(obj)
    if derived is None:
        v.bad_event(line, "neither {'event', 'data'} nor a thread.* object with a status")
        return
    v.event(derived, obj, line=line)


_SSE_FIELDS = frozenset({"event", "data", "id", "retry"})


def _is_sse_line(text: str) -> bool:
    line = text.rstrip("\r\n")
    return not line or line.startswith(":") or line.partition(":")[0] in _SSE_FIELDS


def validate_run_stream(
    lines: Iterable[str | bytes], *, api_version: str | None = None
) -> RunReport:
    """Validate an Assistants run stream given as lines of SSE text or of JSONL.

    The format is told from the first non-blank line (``{`` starts JSONL). ``api_version`` is the
    one the requests used, when known (it sharpens the likely causes of a failed run).
    """
    validator = RunStreamValidator(api_version=api_version)
    sse = SseParser()
    mode: Literal["sse", "jsonl"] | None = None
    for number, raw in enumerate(lines, start=1):
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        if mode is None:
            if not text.strip():
                continue
            mode = "jsonl" if text.lstrip().startswith("{") else "sse"
        if mode == "jsonl":
            if text.strip():
                _feed_jsonl(validator, text, number)
            continue
        if not text.startswith(("data:", "event:")) and not _is_sse_line(text):
            # The standard ignores unknown fields; in a log they mean the file is not SSE.
            validator.bad_event(number, "not an SSE line (event:, data:, id:, retry: or a comment)")
        event = sse.feed(text, number)
        if event is not None:
            _feed_data(validator, event.event, event.data, event.line)
    if mode == "sse":
        event = sse.finish()
        if event is not None:
            _feed_data(validator, event.event, event.data, event.line)
    return validator.finish()
