"""One client session of the Realtime API, sans I/O: events and time in, actions out.

:class:`ClientSession` joins the scripted conversation
(:class:`~realtime_harness.protocol.script.SessionScript`), the
:class:`~realtime_harness.protocol.validator.Validator` (both directions), a bounded flight
recorder of the last frames and the classification of the outcome. A driver (the probe, the
pytest fixtures, a soak runner) owns the socket and the clock and calls::

    session = ClientSession(plan, context, t0=clock())
    session.handshake(status, headers, now)          # or session.connect_failed(...)
    actions = session.start(now)
    loop: actions = session.receive(text, now) | session.poll(now) | session.closed(code, ...)
          send actions.send; sleep until actions.wakeup; stop when actions.finished
    result = session.result(now, closed_by=..., close_code=..., close_reason=...)

Nothing per frame is kept beyond the flight recorder (fixed slots of plain values); the public
pydantic models are built once, in :meth:`ClientSession.result`. Whoever wants more (a
recording, a failures log, WAV files) attaches a :class:`SessionObserver`: it is told of every
frame, of every failure *the moment it is seen*, and of the result.

The client's own audio appends are not re-validated byte by byte (the script built them from
checked PCM16); the validator still sees each append's size and order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field

from realtime_harness.protocol.assertions import ResultAssertions
from realtime_harness.protocol.audio import b64_length_unchecked
from realtime_harness.protocol.catalog import INPUT_AUDIO_BUFFER_APPEND
from realtime_harness.protocol.codes import AUTH_ERROR_CODES, AUTH_STATUSES, FATAL_ERROR_CODES
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.script import Phase, ScriptPlan, SessionScript
from realtime_harness.protocol.validator import Validator, Violation

__all__ = [
    "CONNECTION_KINDS",
    "Actions",
    "ClientSession",
    "Direction",
    "EventNote",
    "ProbeHandshake",
    "ResponseResult",
    "SessionContext",
    "SessionObserver",
    "SessionResult",
]

Direction = Literal["server", "client"]

#: Failure kinds that mean the connection itself broke (exit 4).
CONNECTION_KINDS = frozenset({"close", "timeout", "handshake", "connect"})
#: Frames kept by the flight recorder (shown with a failure).
FLIGHT_RECORDER_SIZE = 64
_LAST_EVENTS = 12

_APPEND = INPUT_AUDIO_BUFFER_APPEND


# --- public result models (built once per session) -------------------------------------------
class EventNote(BaseModel):
    """One frame in the flight recorder: when, which way, and its ids."""

    model_config = ConfigDict(frozen=True)

    t: float
    dir: Direction
    type: str | None
    event_id: str | None = None
    response_id: str | None = None
    item_id: str | None = None
    code: str | None = None

    def summary(self) -> str:
        """``t=… dir type ids`` on one line."""
        ids = " ".join(
            f"{k}={v}"
            for k, v in (
                ("event_id", self.event_id),
                ("response_id", self.response_id),
                ("item_id", self.item_id),
                ("code", self.code),
            )
            if v
        )
        return f"t={self.t:.3f}s {self.dir:<6} {self.type} {ids}".rstrip()


class ResponseResult(BaseModel):
    """One response of the session, as in ``--json``.

    ``barge_in`` marks a response the server cancelled (``turn_detected``) because the probe's
    own audio was still arriving: provoked by the probe, reported, not a failure.
    """

    response_id: str | None
    status: str | None
    status_details: Any = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    barge_in: bool = False


class ProbeHandshake(BaseModel):
    """The upgrade's HTTP status, response headers (credentials masked) and our request id."""

    status: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    client_request_id: str | None = None


class SessionResult(ResultAssertions, BaseModel):
    """Everything one connection showed (``assert_clean()``/``assert_failed()`` for tests)."""

    outcome: Outcome
    dialect: Dialect
    url: str
    step: str | None = None
    attempt: int = 1
    session_id: str | None = None
    expires_at: int | None = None
    started_at: str
    responses: list[ResponseResult] = Field(default_factory=list)
    transcripts: list[str] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    violations: list[Violation] = Field(default_factory=list)
    incomplete: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    handshake: ProbeHandshake = Field(default_factory=ProbeHandshake)
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: Literal["client", "server"] | None = None
    last_events: list[EventNote] = Field(default_factory=list)
    retryable: bool = False
    retry_after: float | None = None
    audio_files: list[str] = Field(default_factory=list)
    recording: str | None = None
    #: Outputs that were asked for but could not be written (``--record`` on a full disk...):
    #: one line each. The CLI exits non-zero when any is present.
    output_errors: list[str] = Field(default_factory=list)

    def headline(self) -> str:
        """The first non-benign failure's summary, or the first violation's, or 'clean'."""
        for failure in self.failures:
            if not failure.benign:
                return failure.summary()
        if self.violations:
            return self.violations[0].summary()
        return "clean"


# --- driver-facing types ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SessionContext:
    """What the session reports about where it ran (all known before connecting)."""

    url: str
    dialect: Dialect
    started_at: str
    client_request_id: str | None = None
    variant: str = "custom"
    step: str | None = None
    attempt: int = 1


@dataclass(slots=True)
class Actions:
    """What the driver must do now: send these frames (in order), wake up at ``wakeup`` (None:
    only when a frame arrives), stop when ``finished``."""

    send: list[str]
    wakeup: float | None
    finished: bool


class SessionObserver(Protocol):
    """Told of every frame, of each failure as soon as it is seen, and of the result."""

    def on_frame(self, direction: Direction, t: float, event: Mapping[str, Any] | str) -> None:
        """A frame sent or received at ``t`` seconds since the session started (a server frame
        that is not JSON comes as its text)."""

    def on_failure(self, failure: Failure) -> None:
        """A failure, the moment it is known."""

    def on_finish(self, result: SessionResult) -> None:
        """The session's result (observers may add the files they wrote to it)."""


# The flight recorder's entries: (t, dir, type, event_id, response_id, item_id, code).
_Note = tuple[
    float, Direction, "str | None", "str | None", "str | None", "str | None", "str | None"
]


class _FlightRecorder:
    """The last :data:`FLIGHT_RECORDER_SIZE` frames' notes, in fixed slots.

    Seven parallel lists of atomic values (floats, strings, None) written in a ring, instead of
    a deque of tuples: a paced session notes ten frames a second, and each tuple would be a new
    object for the garbage collector to track until it drops out. With a thousand sessions in
    one process those notes alone triggered a collection every few tens of milliseconds.
    """

    __slots__ = ("_cols", "_next", "_size", "count")

    def __init__(self, size: int) -> None:
        self._size = size
        self._cols: tuple[list[Any], ...] = tuple([None] * size for _ in range(7))
        self._next = 0
        self.count = 0

    def add(
        self,
        t: float,
        direction: Direction,
        etype: str | None,
        event_id: str | None,
        response_id: str | None = None,
        item_id: str | None = None,
        code: str | None = None,
    ) -> None:
        """Note one frame (the oldest note drops out when full)."""
        i = self._next
        cols = self._cols
        cols[0][i] = t
        cols[1][i] = direction
        cols[2][i] = etype
        cols[3][i] = event_id
        cols[4][i] = response_id
        cols[5][i] = item_id
        cols[6][i] = code
        self._next = i + 1 if i + 1 < self._size else 0
        self.count += 1

    def last(self, limit: int) -> list[_Note]:
        """The newest ``limit`` notes, oldest first."""
        n = min(limit, self.count, self._size)
        start = (self._next - n) % self._size
        cols = self._cols
        return [tuple(col[(start + k) % self._size] for col in cols) for k in range(n)]


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _get(value: object, key: str) -> object:
    # ``value[key]`` when value is a JSON object. Mostly None here (a delta has no "error"), and
    # the ABC's isinstance is the slow test: None and dict are answered before it.
    if value is None:
        return None
    if value.__class__ is dict or isinstance(value, Mapping):
        return value.get(key)
    return None


def _note_server(notes: _FlightRecorder, t: float, event: Mapping[str, Any]) -> None:
    rid = event.get("response_id")
    if rid.__class__ is not str:
        rid = _get(event.get("response"), "id")
    iid = event.get("item_id")
    if iid.__class__ is not str:
        iid = _get(event.get("item"), "id")
    notes.add(
        t,
        "server",
        _str(event.get("type")),
        _str(event.get("event_id")),
        _str(rid),
        _str(iid),
        _str(_get(event.get("error"), "code")),
    )


def _clip(text: str, limit: int = 200) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round((b - a) * 1000, 3)


class ClientSession:
    """One scripted session: script + validator + flight recorder + outcome (see the module
    docstring). ``new_event_id`` makes client event ids (e.g. an
    :class:`~realtime_harness.protocol.ids.IdGenerator`). ``pace_phase`` (a fraction of the
    chunk interval, in [0, 1), on the driver's clock) places this session's audio chunks when a
    driver runs many sessions in one event loop; None starts each stream at once."""

    def __init__(
        self,
        plan: ScriptPlan,
        context: SessionContext,
        *,
        t0: float,
        new_event_id: Callable[[], str],
        observers: Iterable[SessionObserver] = (),
        pace_phase: float | None = None,
    ) -> None:
        self.plan = plan
        self.context = context
        self.t0 = t0
        self.script = SessionScript(plan, new_event_id=new_event_id, pace_phase=pace_phase)
        self.validator = Validator(plan.dialect, vad_expected=plan.turn_detection is not None)
        self.observers: list[SessionObserver] = list(observers)
        self.handshake_info = ProbeHandshake(client_request_id=context.client_request_id)
        self.timings: dict[str, float] = {}
        self.notes = _FlightRecorder(FLIGHT_RECORDER_SIZE)
        self.own_failures: list[Failure] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_by: Literal["client", "server"] | None = None
        self._server_frames = 0
        self._reported = 0
        self._linger: float | None = None
        self._lingered = False
        self._connected = False
        self._finished_at: float | None = None

    # --- observers -------------------------------------------------------------------------
    def add_observer(self, observer: SessionObserver) -> None:
        """Attach one more observer (before :meth:`start`)."""
        self.observers.append(observer)

    def _failure(self, failure: Failure) -> None:
        for observer in self.observers:
            observer.on_failure(failure)

    def _report_new_failures(self) -> None:
        found = self.validator.failures
        while self._reported < len(found):
            failure = self._auth_kind(found[self._reported])
            found[self._reported] = failure
            self._reported += 1
            self._failure(failure)

    @staticmethod
    def _auth_kind(failure: Failure) -> Failure:
        """An ``error`` refusing the credential is kind ``auth``, as a 401 at the upgrade is."""
        error = failure.error
        if failure.kind == "error_event" and error is not None and error.code in AUTH_ERROR_CODES:
            return failure.model_copy(update={"kind": "auth"})
        return failure

    def _own(self, failure: Failure) -> None:
        self.own_failures.append(failure)
        self._failure(failure)

    # --- connection ------------------------------------------------------------------------
    def handshake(
        self,
        status: int | None,
        headers: Mapping[str, str],
        *,
        connect_ms: float | None = None,
        handshake_ms: float | None = None,
    ) -> None:
        """The upgrade succeeded with this status and these (already redacted) headers."""
        self.handshake_info = ProbeHandshake(
            status=status, headers=dict(headers), client_request_id=self.context.client_request_id
        )
        if connect_ms is not None:
            self.timings["connect"] = round(connect_ms, 3)
        if handshake_ms is not None:
            self.timings["handshake"] = round(handshake_ms, 3)
        self._connected = True

    def connect_failed(
        self,
        now: float,
        detail: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: str = "",
    ) -> None:
        """The connection or its upgrade failed: ``status`` None means no HTTP answer at all.

        A refused credential (401/403) is an ``auth`` failure, the class OpenAI's
        ``invalid_api_key`` error also gets (exit 1: reached and refused); any other status,
        redirects included, a ``handshake`` failure (exit 4) with status and headers kept.
        """
        t = round(now - self.t0, 6)
        if status is None:
            self._own(Failure(kind="connect", t=t, detail=detail))
        else:
            self.handshake_info = ProbeHandshake(
                status=status,
                headers=dict(headers or {}),
                client_request_id=self.context.client_request_id,
            )
            kind: Literal["auth", "handshake"] = "auth" if status in AUTH_STATUSES else "handshake"
            self._own(Failure(kind=kind, t=t, detail=f"HTTP {status}: {_clip(body) or detail}"))
        self._finished_at = now

    # --- the conversation ------------------------------------------------------------------
    def start(self, now: float) -> Actions:
        """The connection is open: start the script."""
        self.script.start(now)
        return self._actions([], now)

    @property
    def finished(self) -> bool:
        """Whether the driver should stop and close."""
        if not self._connected or self.closed_by is not None:
            return True
        if not self.script.finished:
            return False
        return self._linger is None

    def next_wakeup(self) -> float | None:
        """When :meth:`poll` next has something to do; None: only on a frame."""
        if self._linger is not None:
            return self._linger
        return self.script.next_wakeup()

    def _actions(self, events: list[dict[str, Any]], now: float) -> Actions:
        out = [self._sent(event, now) for event in events] if events else []
        script = self.script
        if script.rejection is not None and not self._lingered and self.closed_by is None:
            self._lingered = True
            # A fatal error is followed by the server's close (3000/4000, reason
            # "<type>.<code>"); wait the drain time so that close is on record too.
            self._linger = now + self.plan.timeouts.drain
        if self._linger is None and script.phase is not Phase.DONE:
            return Actions(out, script.next_wakeup(), False)
        return Actions(out, self.next_wakeup(), self.finished)

    def _sent(self, event: dict[str, Any], now: float) -> str:
        t = now - self.t0
        etype = event["type"]
        if etype == _APPEND:
            audio: str = event["audio"]
            eid: str = event["event_id"]
            # The script built this chunk from checked PCM16: the validator gets its size and
            # order (the recording's elided form), not the base64 to re-check.
            self.validator.own_append(eid, b64_length_unchecked(audio), t)
            self.notes.add(t, "client", _APPEND, eid)
            for observer in self.observers:
                observer.on_frame("client", t, event)
            # Ids and base64 need no JSON escaping: the frame is joined, not serialised.
            return f'{{"type":"{_APPEND}","event_id":"{eid}","audio":"{audio}"}}'
        self.validator.client_event(event, t=round(t, 6))
        self.notes.add(t, "client", etype, _str(event.get("event_id")))
        for observer in self.observers:
            observer.on_frame("client", t, event)
        return orjson.dumps(event).decode()

    def receive(self, frame: str | Mapping[str, Any], now: float) -> Actions:
        """One server frame (text as received, or an already parsed event)."""
        t = now - self.t0
        self._server_frames += 1
        if isinstance(frame, str):
            try:
                event = orjson.loads(frame)
            except orjson.JSONDecodeError:
                self.validator.bad_line(
                    self._server_frames, f"server frame is not JSON: {_clip(frame)!r}"
                )
                for observer in self.observers:
                    observer.on_frame("server", t, frame)
                return self._actions([], now)
        else:
            event = frame
        if event.__class__ is not dict and not isinstance(event, Mapping):
            self.validator.bad_line(self._server_frames, "server frame is not a JSON object")
            return self._actions([], now)
        validator = self.validator
        rounded = round(t, 6)
        validator.server_event(event, line=None, t=rounded)
        _note_server(self.notes, rounded, event)
        for observer in self.observers:
            observer.on_frame("server", t, event)
        if len(validator.failures) > self._reported:
            self._report_new_failures()
        return self._actions(self.script.receive(event, now), now)

    def poll(self, now: float) -> Actions:
        """Time passed: what is due now (audio chunks, deadlines)."""
        if self._linger is not None and now >= self._linger:
            self._linger = None
        events = self.script.poll(now)
        if self.script.timed_out is not None and not any(
            f.kind == "timeout" for f in self.own_failures
        ):
            info = self.script.timed_out
            self._own(
                Failure(
                    kind="timeout",
                    session_id=self.script.session_id,
                    response_id=info.response_id,
                    t=round(now - self.t0, 6),
                    detail=info.message(),
                )
            )
        return self._actions(events, now)

    def closed(self, code: int | None, reason: str, now: float) -> Actions:
        """The server closed the socket (or it dropped)."""
        self.script.closed(code, reason, now)
        self.closed_by = "server"
        self.close_code, self.close_reason = code, reason
        self._linger = None
        if self.script.unexpected_close is not None:
            code, reason, phase = self.script.unexpected_close
            self._own(
                Failure(
                    kind="close",
                    session_id=self.script.session_id,
                    response_id=self.script.current_response_id(),
                    close_code=code,
                    close_reason=reason,
                    t=round(now - self.t0, 6),
                    detail=f"server closed the connection while waiting for {phase.value}",
                )
            )
        return Actions([], None, True)

    def closed_by_client(self, code: int | None, reason: str) -> None:
        """The driver closed the socket itself (normally 1000 once finished)."""
        if self.closed_by is None:
            self.closed_by = "client"
            self.close_code, self.close_reason = code, reason

    def progress(self) -> tuple[int, int]:
        """Audio chunks sent and total in the current turn."""
        return self.script.progress()

    # --- the result ------------------------------------------------------------------------
    def last_events(self, limit: int = _LAST_EVENTS) -> list[EventNote]:
        """The flight recorder's last ``limit`` frames as public models."""
        notes = self.notes.last(limit)
        return [
            EventNote(
                t=round(n[0], 6),
                dir=n[1],
                type=n[2],
                event_id=n[3],
                response_id=n[4],
                item_id=n[5],
                code=n[6],
            )
            for n in notes
        ]

    def _turn_failure(self, now: float) -> Failure | None:
        """A turn that did not reach a completed ``response.done`` makes the session unclean."""
        missing = self.script.incomplete_turns()
        if not missing:
            return None
        index, track = missing[0]
        total = len(self.plan.turns)
        if track is None or track.response_id is None:
            what = "no response"
        else:
            reason = ""
            details = track.status_details
            if isinstance(details, Mapping) and isinstance(details.get("reason"), str):
                reason = f" ({details['reason']})"
            what = f"response {track.response_id} ended status={track.status}{reason}"
        return Failure(
            kind="turns_incomplete",
            session_id=self.script.session_id,
            response_id=track.response_id if track else None,
            t=round(now - self.t0, 6),
            detail=f"{len(missing)} of {total} turns did not complete; turn {index + 1}: {what}",
        )

    def result(self, now: float) -> SessionResult:
        """The session's result (call once, after the driver closed); observers are told."""
        script = self.script
        if self._connected:
            self._report_new_failures()
            real_so_far = [
                f for f in [*self.validator.failures, *self.own_failures] if not f.benign
            ]
            if not real_so_far and not self.validator.violations:
                turn_failure = self._turn_failure(now)
                if turn_failure is not None:
                    self._own(turn_failure)
        report = self.validator.finish()
        session_id = script.session_id or report.session_id
        violations = list(report.violations)
        failures = (
            [
                f
                if f.session_id or not session_id
                else f.model_copy(update={"session_id": session_id})
                for f in [*report.failures, *self.own_failures]
            ]
            if self._connected
            else list(self.own_failures)
        )
        real = [f for f in failures if not f.benign]
        connection = any(
            f.kind in CONNECTION_KINDS
            and not (f.kind == "close" and _explained(f, real))
            and not _after_server_failure(f, real)
            for f in real
        )
        outcome = Outcome.combine(
            violations=bool(violations), failures=bool(real), connection=connection
        )
        responses = [
            ResponseResult(
                response_id=track.response_id,
                status=track.status,
                status_details=track.status_details,
                timings_ms=track.timings_ms(),
                barge_in=track.barge_in,
            )
            for track in script.responses
            if track.response_id is not None or track.t_requested is not None
        ]
        if self._connected:
            self.timings.update(self._session_timings(now))
            incomplete = (
                [*report.incomplete]
                if script.timed_out or script.unexpected_close
                else [i for i in report.incomplete if "no server events" not in i]
            )
        else:
            incomplete = []
        result = SessionResult(
            outcome=outcome,
            dialect=self.plan.dialect,
            url=self.context.url,
            step=self.context.step,
            attempt=self.context.attempt,
            session_id=session_id,
            expires_at=script.expires_at,
            started_at=self.context.started_at,
            responses=responses,
            transcripts=script.transcripts(),
            failures=failures,
            violations=violations,
            incomplete=incomplete,
            timings_ms=self.timings,
            handshake=self.handshake_info,
            close_code=self.close_code,
            close_reason=self.close_reason,
            closed_by=self.closed_by,
            last_events=self.last_events(),
        )
        # Observers hold the session (its context, its last events): told of the result, they
        # are dropped, so that the finished session is freed by reference counting instead of
        # waiting, with everything it holds, for a full garbage collection.
        observers, self.observers = self.observers, []
        for observer in observers:
            observer.on_finish(result)
        return result

    def _session_timings(self, end: float) -> dict[str, float]:
        script = self.script
        marks = script.marks
        out: dict[str, float | None] = {
            "session_created": _ms(marks.get("open"), marks.get("session_created")),
            "session_updated": _ms(marks.get("session_update_sent"), marks.get("session_updated")),
            "audio_stream": _ms(marks.get("stream_start.0"), marks.get("stream_end.0")),
            "commit_to_committed": _ms(marks.get("commit_sent.0"), marks.get("committed.0")),
        }
        if script.responses:
            first = script.responses[0].timings_ms()
            for key, name in (
                ("created", "create_to_created"),
                ("first_audio", "create_to_first_audio"),
                ("first_transcript", "create_to_first_transcript"),
                ("first_text", "create_to_first_text"),
                ("done", "create_to_done"),
                ("output_audio", "output_audio"),
                ("max_audio_gap", "max_audio_gap"),
                ("real_time_factor", "real_time_factor"),
            ):
                out[name] = first.get(key)
        out["total"] = round((end - self.t0) * 1000, 3)
        return {k: v for k, v in out.items() if v is not None}


def _explained(close: Failure, failures: list[Failure]) -> bool:
    """Whether a close is the announced end of an error the server reported first.

    OpenAI closes after a fatal error with reason ``<type>.<code>``; such a close is part of
    that server failure (exit 1), not a connection failure (exit 4).
    """
    reason = close.close_reason or ""
    for failure in failures:
        code = failure.error.code if failure.error else None
        if (
            failure.kind in ("error_event", "auth")
            and code
            and (code in FATAL_ERROR_CODES or code in reason)
        ):
            return True
    return False


def _after_server_failure(failure: Failure, failures: list[Failure]) -> bool:
    """Whether a timeout came after the server had already reported a failure (an ``error``
    event, a failed response): the server's failure is the cause (exit 1), and the wait that
    never ended after it is its consequence. (A drop stays a connection failure.)"""
    if failure.kind != "timeout" or failure.t is None:
        return False
    return any(
        f.kind in ("error_event", "response_failed", "auth")
        and f.t is not None
        and f.t <= failure.t
        for f in failures
    )
