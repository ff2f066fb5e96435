"""The soak runner: one event loop drives many
:class:`~realtime_harness.protocol.session.ClientSession` objects, one per simulated user, through
the probe's driver (:func:`realtime_harness.probe.run.drive`).

Load follows a :class:`~realtime_harness.soak.shape.LoadShape`: closed loop (a number of users,
each repeating the scripted session with think time between) or open loop (new sessions per
second). New sessions are started at most :data:`CONNECTS_PER_S` a second, which also staggers
their audio phases (1,000 sessions do not append in the same millisecond).

Each finished session becomes one :class:`~realtime_harness.protocol.stats.SessionRecord`, added
to the :class:`~realtime_harness.protocol.stats.RunStats` and appended (flushed) to
``sessions.jsonl``; every failure is appended to ``failures.jsonl`` the moment the session sees it
(the probe's failure record). The runner measures its own health: the lateness of each paced send
and the lag of a 100 ms ticker go into a :class:`~realtime_harness.protocol.stats.HarnessWindow`
flushed every ``harness_window_s``.

Stopping: at the end of the shape, after ``max_sessions`` sessions, or on :meth:`SoakRunner.stop`.
The first stop drains (no new sessions; running ones finish or time out), a second cancels the
running sessions at once. Either way everything finished so far is written and summarised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from realtime_harness.probe.api import default_connect
from realtime_harness.probe.options import ProbeOptions
from realtime_harness.probe.outputs import failure_record, utc
from realtime_harness.probe.plan import build_turns, check_plan, plan_for
from realtime_harness.probe.run import drive
from realtime_harness.protocol.failures import Failure
from realtime_harness.protocol.ids import IdGenerator
from realtime_harness.protocol.script import ScriptPlan

# The session's own rule for a close that announces a fatal error (one place for that fact).
from realtime_harness.protocol.session import (
    ClientSession,
    Direction,
    SessionContext,
    SessionResult,
    _explained,
)
from realtime_harness.protocol.stats import (
    RESPONSE_TIMING_KEYS,
    SESSION_PHASES,
    FailureRecord,
    HarnessWindow,
    ResponseRecord,
    RunStats,
    SessionRecord,
)
from realtime_harness.soak.results import ResultsWriter, SoakResults
from realtime_harness.soak.shape import LoadShape
from realtime_harness.target import Target
from realtime_harness.transport.base import Transport
from realtime_harness.transport.loop import run_in_loop

__all__ = [
    "CONNECTS_PER_S",
    "DEFAULT_RECYCLE_S",
    "LiveFigures",
    "SoakOptions",
    "SoakOutcome",
    "SoakRunner",
    "check_inputs",
    "prepare_plans",
    "run_in_loop",
    "run_soak",
    "session_record",
]

log = logging.getLogger("realtime_harness.soak")


#: New sessions started per second at most (per process). The embedded mock listens with the
#: default backlog of 100; a faster burst of connects fails handshakes on the client's side.
CONNECTS_PER_S = 200.0
#: Sessions are ended on purpose after this long: under the shortest maximum session length the
#: services document (Azure: 30 minutes; OpenAI: 60), so the server never ends one first.
DEFAULT_RECYCLE_S = 25 * 60.0
#: The loop-lag ticker's period.
LAG_TICK_S = 0.1
#: How often the scheduler re-reads the load shape.
SCHEDULE_TICK_S = 0.05
#: The golden ratio's fractional part: successive multiples spread evenly over [0, 1).
_GOLDEN = 0.6180339887498949
#: Failure kinds a recycled session produces because the runner cut it short.
_RECYCLE_KINDS = frozenset({"turns_incomplete", "timeout"})


@dataclass(frozen=True)
class SoakOptions:
    """What a soak (or one shard of it) runs.

    ``probe`` holds the target, the session plan (turns, text, timeouts, speed), the connection
    and the embedded mock's settings, as for ``probe``; ``audio`` the samples or files sessions
    take their audio from (one per session, in turn). ``think_s`` is the pause of a closed-loop
    user between two sessions; ``recycle_s`` the age at which a session is ended on purpose.
    """

    probe: ProbeOptions
    shape: LoadShape
    out_dir: Path
    audio: tuple[str, ...] = ("greeting",)
    think_s: float = 1.0
    max_sessions: int | None = None
    recycle_s: float = DEFAULT_RECYCLE_S
    fail_if: tuple[str, ...] = ()
    shard: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    harness_window_s: float = 10.0
    bucket_s: float = 60.0
    connects_per_s: float = CONNECTS_PER_S
    overwrite: bool = False


@dataclass(slots=True)
class LiveFigures:
    """What the live view and the metrics show, updated as sessions finish."""

    elapsed_s: float = 0.0
    remaining_s: float | None = None
    active: int = 0
    started: int = 0
    completed: int = 0
    failed: int = 0
    failures_by_group: dict[str, int] = field(default_factory=dict)
    draining: bool = False
    ttfa_ms: dict[str, float | None] = field(default_factory=dict)
    send_lateness_p99_ms: float | None = None
    loop_lag_p99_ms: float | None = None

    @property
    def failure_rate(self) -> float:
        """Failed over completed sessions (0 before any completed)."""
        return self.failed / self.completed if self.completed else 0.0


@dataclass(slots=True)
class SoakOutcome:
    """What a finished runner hands back: the results written and why it stopped."""

    results: SoakResults
    stopped_by: str
    out_dir: Path


def prepare_plans(options: SoakOptions, target: Target) -> list[ScriptPlan]:
    """One script plan per ``--audio`` (loaded and encoded once, shared by every session).

    Raises :class:`~realtime_harness.exceptions.UsageError` for an unknown sample or file.
    """
    session_options = options.probe.session
    check_plan(session_options)
    vad = session_options.turn_detection is not None
    sources: Sequence[str | None] = (None,) if session_options.text else options.audio
    return [
        plan_for(
            session_options,
            target,
            build_turns(audio=a, text=session_options.text, turns=session_options.turns, vad=vad),
        )
        for a in sources
    ]


def check_inputs(options: SoakOptions) -> None:
    """Refuse what :func:`prepare_plans` would, reading only each audio file's header: for a
    parent about to start worker processes, so that a mistake is one line from it rather than
    a failure in every worker.

    Raises :class:`~realtime_harness.exceptions.UsageError` for an unknown sample or file.
    """
    from realtime_harness.media.audio import file_info  # numpy: only where audio is read

    session_options = options.probe.session
    check_plan(session_options)
    if not session_options.text:
        for audio in options.audio:
            file_info(audio or "greeting")


def session_record(
    result: SessionResult, *, start_s: float, duration_s: float, recycled: bool = False
) -> SessionRecord:
    """The statistics' view of one finished session (``start_s`` from the run's start).

    A recycled session (ended by the runner before the server's maximum session length) keeps
    its real failures, not the ones the cut itself caused, and is clean without them.
    """
    failures = [f for f in result.failures if not (recycled and f.kind in _RECYCLE_KINDS)]
    outcome = result.outcome.value
    if recycled and not any(not f.benign for f in failures) and not result.violations:
        outcome = "clean"
    return SessionRecord(
        start_s=start_s,
        outcome=outcome,
        duration_s=duration_s,
        session_id=result.session_id,
        client_request_id=result.handshake.client_request_id,
        recycled=recycled,
        timings_ms={k: result.timings_ms[k] for k in SESSION_PHASES if k in result.timings_ms},
        responses=tuple(
            ResponseRecord(
                response_id=r.response_id,
                status=r.status,
                timings_ms={
                    phase: r.timings_ms[key]
                    for key, phase in RESPONSE_TIMING_KEYS.items()
                    if key in r.timings_ms
                },
            )
            for r in result.responses
        ),
        failures=tuple(_failure(f) for f in failures),
    )


def _failure(failure: Failure) -> FailureRecord:
    error = failure.error
    return FailureRecord(
        kind=failure.kind,
        error_type=error.type if error else None,
        code=error.code if error else None,
        session_id=failure.session_id,
        response_id=failure.response_id,
        event_id=failure.event_id,
        item_id=failure.item_id,
        t_s=failure.t,
        close_code=failure.close_code,
        benign=failure.benign,
    )


class _FailureSink:
    """A session observer appending each non-benign failure to ``failures.jsonl`` as it is seen.

    A close that is the announced end of a fatal error seen before it (OpenAI closes after
    ``session_expired`` and the like) is written too, with ``consequence_of`` naming that
    error's kind and event id, so one fault reads as one cause.
    """

    __slots__ = ("_seen", "_session", "_wall0", "_writer", "muted")

    def __init__(self, writer: ResultsWriter, session: ClientSession, wall0: datetime) -> None:
        self._writer = writer
        self._session = session
        self._wall0 = wall0
        self._seen: list[Failure] = []
        self.muted = False

    def on_frame(self, direction: Direction, t: float, event: Mapping[str, Any] | str) -> None:
        """Nothing per frame."""

    def on_failure(self, failure: Failure) -> None:
        """Append the failure with every id, now (unless the runner cut the session short)."""
        if failure.benign or self.muted:
            return
        record = failure_record(self._session, self._wall0, failure)
        if failure.kind == "close" and _explained(failure, self._seen):
            cause = next(f for f in reversed(self._seen) if f.kind in ("error_event", "auth"))
            record["consequence_of"] = {"kind": cause.kind, "event_id": cause.event_id}
        self._seen.append(failure)
        self._writer.write_failure(record)

    def on_finish(self, result: SessionResult) -> None:
        """Nothing at the end (the session record is written by the runner)."""


class SoakRunner:
    """Runs one shard of a soak in the running event loop (see the module docstring).

    ``target`` is the resolved deployment or the embedded mock's; ``clock`` and ``sleep`` are
    injectable; ``on_update`` is told the :class:`LiveFigures` about every ``update_s``.
    """

    def __init__(
        self,
        options: SoakOptions,
        target: Target,
        *,
        plans: Sequence[ScriptPlan] | None = None,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], float] = time.time,
        on_update: Callable[[LiveFigures], None] | None = None,
        update_s: float = 1.0,
    ) -> None:
        self.options = options
        self.target = target
        self.plans = list(plans) if plans is not None else prepare_plans(options, target)
        probe = options.probe
        self.clock = clock or probe.clock
        self.wall = wall
        self.rng: random.Random = probe.rng
        self._ids = IdGenerator(self.rng)
        self._connect = probe.connect or default_connect(probe)
        self.on_update = on_update
        self.update_s = update_s
        self.window = HarnessWindow()
        self.figures = LiveFigures()
        self.started_at = wall()
        self.stats = RunStats(bucket_s=options.bucket_s, started_at=self.started_at)
        self.writer = ResultsWriter(
            options.out_dir,
            started_at=self.started_at,
            config=options.config,
            fail_if=options.fail_if,
            bucket_s=options.bucket_s,
            shard=options.shard,
            overwrite=options.overwrite,
        )
        self.t0 = self.clock()
        self._draining = False
        self._stopped_by: str | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._users: dict[int, asyncio.Task[None]] = {}
        self._target_users = 0
        self._next_slot = self.t0
        self._started = 0
        self._plan_index = 0
        self._phase = self.rng.random()
        self._drain_event = asyncio.Event()

    # --- control ---------------------------------------------------------------------------
    @property
    def draining(self) -> bool:
        """Whether new sessions are no longer started."""
        return self._draining

    def stop(self) -> None:
        """First call: drain. Second: cancel the running sessions now."""
        if not self._draining:
            self._drain("interrupted")
            return
        self._stopped_by = "interrupted twice"
        for task in list(self._sessions):
            task.cancel()

    def _drain(self, reason: str) -> None:
        if not self._draining:
            self._draining = True
            self._drain_event.set()
            self._stopped_by = self._stopped_by or reason
            self.figures.draining = True
            log.info("soak: %s; no new sessions, draining %d", reason, len(self._sessions))

    # --- sessions --------------------------------------------------------------------------
    def _on_paced(self, due: float, sent: float) -> None:
        # A send that went out before its time (a timer that fired early) was on time.
        self.window.send_lateness(max(0.0, sent - due) * 1000.0)

    def _next_plan(self) -> ScriptPlan:
        plan = self.plans[self._plan_index % len(self.plans)]
        self._plan_index += 1
        return plan

    async def _slot(self) -> bool:
        """Wait for the next start slot; False when the runner stopped starting sessions."""
        if self._draining:
            return False
        now = self.clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.options.connects_per_s
        if slot > now:
            await asyncio.sleep(slot - now)
        if self._draining:
            return False
        self._started += 1
        self.figures.started = self._started
        max_sessions = self.options.max_sessions
        if max_sessions is not None and self._started >= max_sessions:
            self._drain("max_sessions")
        return True

    async def _session(self) -> None:
        """Run one session to its end and record it."""
        plan = self._next_plan()
        clock = self.clock
        request_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        wall0 = datetime.now(UTC)
        start = clock()
        context = SessionContext(
            url=self.target.redacted_url,
            dialect=plan.dialect,
            started_at=utc(wall0),
            client_request_id=request_id,
            variant=self.target.variant.value,
        )
        # Each new session's audio takes the next point of the golden-ratio sequence in the
        # chunk interval: however many sessions run, their appends stay evenly spread instead
        # of bunching wherever the server's answers happened to land (docs/soak.md).
        self._phase = (self._phase + _GOLDEN) % 1.0
        session = ClientSession(
            plan,
            context,
            t0=start,
            new_event_id=partial(self._ids, "evt"),
            pace_phase=self._phase,
        )
        sink = _FailureSink(self.writer, session, wall0)
        session.add_observer(sink)
        target, connect = self.target, self._connect

        async def open_transport() -> Transport:
            return await connect(target, request_id)

        self.figures.active += 1
        recycled = False
        try:
            try:
                result = await asyncio.wait_for(
                    drive(session, open_transport, clock, self._on_paced),
                    self.options.recycle_s,
                )
            except TimeoutError:
                # Ended on purpose before the server's maximum session length: not a failure.
                recycled = True
                sink.muted = True
                result = session.result(clock())
        finally:
            self.figures.active -= 1
        end = clock()
        record = session_record(
            result, start_s=start - self.t0, duration_s=end - start, recycled=recycled
        )
        self._record(record)

    def _record(self, record: SessionRecord) -> None:
        self.stats.add_session(record)
        self.writer.write_session(record)
        figures = self.figures
        figures.completed += 1
        if record.failed:
            figures.failed += 1
        for failure in record.failures:
            if not failure.benign:
                label = " ".join(p for p in failure.key if p)
                figures.failures_by_group[label] = figures.failures_by_group.get(label, 0) + 1

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)
        return task

    async def _user(self, index: int) -> None:
        """A closed-loop user: sessions one after another with think time, while wanted."""
        try:
            while not self._draining and index < self._target_users:
                if not await self._slot():
                    return
                await self._run_guarded()
                if self._draining or index >= self._target_users:
                    return
                with contextlib.suppress(TimeoutError):
                    # Thinking ends early when the runner drains.
                    await asyncio.wait_for(self._drain_event.wait(), self.options.think_s)
        finally:
            self._users.pop(index, None)

    async def _once(self) -> None:
        """An open-loop session."""
        if await self._slot():
            await self._run_guarded()

    async def _run_guarded(self) -> None:
        try:
            await self._session()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one session must not end the soak
            log.exception("soak: a session crashed")

    # --- the loops -------------------------------------------------------------------------
    async def _schedule(self) -> None:
        shape = self.options.shape
        credit = 0.0
        last = self.clock()
        while not self._draining:
            now = self.clock()
            level = shape.tick(now - self.t0)
            if level is None:
                self._drain("duration")
                break
            if shape.kind == "concurrency":
                self._target_users = int(level)
                for index in range(self._target_users):
                    if index not in self._users:
                        self._users[index] = self._spawn(self._user(index))
            else:
                credit = min(credit + level * (now - last), max(level, 1.0))
                while credit >= 1.0 and not self._draining:
                    credit -= 1.0
                    self._spawn(self._once())
            last = now
            await asyncio.sleep(SCHEDULE_TICK_S)
        self._target_users = 0

    async def _monitor(self) -> None:
        """Loop lag every :data:`LAG_TICK_S`; harness windows flushed; live figures pushed."""
        clock = self.clock
        due = clock() + LAG_TICK_S
        next_flush = self.t0 + self.options.harness_window_s
        next_update = self.t0
        while True:
            await asyncio.sleep(max(due - clock(), 0.0))
            now = clock()
            self.window.loop_lag(max(now - due, 0.0) * 1000.0)
            due = max(due + LAG_TICK_S, now)
            if now >= next_flush:
                self._flush_harness(now)
                next_flush = now + self.options.harness_window_s
            if self.on_update is not None and now >= next_update:
                self._update(now)
                next_update = now + self.update_s

    def _flush_harness(self, now: float) -> None:
        if self.window.empty:
            return
        sample = self.window.flush(now - self.t0)
        self.stats.add_harness(sample)
        self.writer.write_harness(sample)

    def _update(self, now: float) -> None:
        figures = self.figures
        figures.elapsed_s = now - self.t0
        total = self.options.shape.total_s
        figures.remaining_s = max(total - figures.elapsed_s, 0.0) if math.isfinite(total) else None
        ttfa = self.stats.phase("ttfa")
        figures.ttfa_ms = {"p50": ttfa.p50, "p95": ttfa.p95, "p99": ttfa.p99}
        verdict = self.stats.harness_verdict()
        figures.send_lateness_p99_ms = verdict.send_lateness_p99_ms
        figures.loop_lag_p99_ms = verdict.loop_lag_p99_ms
        if self.on_update is not None:
            try:
                self.on_update(figures)
            except Exception:  # a broken view must not cost the results
                log.exception("soak: the live view failed; going on without it")
                self.on_update = None

    async def run(self) -> SoakOutcome:
        """Run until the shape ends, ``max_sessions`` started, or :meth:`stop`; write results."""
        monitor = asyncio.ensure_future(self._monitor())
        scheduler = asyncio.ensure_future(self._schedule())
        try:
            await scheduler
            while self._sessions:
                await asyncio.gather(*list(self._sessions), return_exceptions=True)
        except asyncio.CancelledError:
            self._stopped_by = "cancelled"
            for task in list(self._sessions):
                task.cancel()
            raise
        finally:
            scheduler.cancel()
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
            now = self.clock()
            self._flush_harness(now)
            if self.on_update is not None:
                self._update(now)
            self.results = self.writer.finish(
                self.stats, elapsed_s=now - self.t0, stopped_by=self._stopped_by
            )
        return SoakOutcome(self.results, self._stopped_by or "duration", self.options.out_dir)


async def run_soak(
    options: SoakOptions,
    *,
    on_update: Callable[[LiveFigures], None] | None = None,
    handle_signals: bool = False,
    on_runner: Callable[[SoakRunner], None] | None = None,
) -> SoakOutcome:
    """Run one shard in this event loop against ``options.probe.target`` or the embedded mock.

    With ``handle_signals`` the first SIGINT (or SIGTERM) drains and a second stops at once.
    ``on_runner`` is handed the runner before it starts (tests stop it through this).
    Raises :class:`~realtime_harness.exceptions.UsageError` for local mistakes, before anything
    connects.
    """
    target = options.probe.target
    if target is not None:
        return await _run(options, target, on_update, handle_signals, on_runner)
    from realtime_harness.probe.mock import embedded_mock

    check_plan(options.probe.session)
    # Nobody reads the embedded mock's log of what the sessions sent: not kept.
    async with embedded_mock(options.probe, keep_received=False) as mock:
        return await _run(options, mock, on_update, handle_signals, on_runner)


async def _run(
    options: SoakOptions,
    target: Target,
    on_update: Callable[[LiveFigures], None] | None,
    handle_signals: bool,
    on_runner: Callable[[SoakRunner], None] | None,
) -> SoakOutcome:
    plans = prepare_plans(options, target)
    runner = SoakRunner(options, target, plans=plans, on_update=on_update)
    if on_runner is not None:
        on_runner(runner)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, runner.stop)
                installed.append(signum)
    try:
        return await runner.run()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
