"""``run_probe``: attempts, retries and escalation over single sessions, against a target or the
embedded mock; ``run_session``: one session with the probe's observers attached."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

from realtime_harness.probe.mock import embedded_mock
from realtime_harness.probe.options import ProbeOptions, TransportFactory
from realtime_harness.probe.outputs import (
    FAILURE_RECORD,
    AudioSaver,
    FailureLines,
    FailuresFile,
    Progress,
    Recorder,
    attempt_path,
    check_outputs,
    utc,
)
from realtime_harness.probe.plan import build_turns, check_plan, plan_for
from realtime_harness.probe.results import ProbeResult, probe_result
from realtime_harness.probe.retry import ESCALATION_LADDER, classify_retry, run_step
from realtime_harness.probe.run import drive
from realtime_harness.protocol.ids import IdGenerator
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.script import ScriptPlan, Turn
from realtime_harness.protocol.session import (
    ClientSession,
    SessionContext,
    SessionResult,
)
from realtime_harness.redact import redact_text
from realtime_harness.target import Target
from realtime_harness.transport.base import Transport
from realtime_harness.transport.websocket import WebSocketOptions, open_websocket

__all__ = ["default_connect", "run_probe", "run_probe_sync", "run_session"]

log = logging.getLogger("realtime_harness.probe")


def _default_connect(options: ProbeOptions) -> TransportFactory:
    ws_options = WebSocketOptions(
        open_timeout=options.timeout,
        compression=options.compression,
        max_size=options.max_size,
        library=options.ws_library,
    )

    async def connect(target: Target, client_request_id: str) -> Transport:
        return await open_websocket(
            target.url,
            target.request_headers(client_request_id),
            options=ws_options,
            client_request_id=client_request_id,
            clock=options.clock,
        )

    return connect


#: The transport factory a probe uses when none is injected (``doctor`` wraps it to look at the
#: handshake and frames).
default_connect = _default_connect


async def run_session(
    target: Target,
    plan: ScriptPlan,
    options: ProbeOptions,
    *,
    step: str | None = None,
    attempt: int = 1,
) -> SessionResult:
    """Run one scripted session against ``target`` with the outputs ``options`` ask for and
    return what happened (never raises for remote trouble)."""
    clock = options.clock
    request_id = str(uuid.UUID(int=options.rng.getrandbits(128), version=4))
    wall0 = datetime.now(UTC)
    context = SessionContext(
        url=target.redacted_url,
        dialect=plan.dialect,
        started_at=utc(wall0),
        client_request_id=request_id,
        variant=target.variant.value,
        step=step,
        attempt=attempt,
    )
    session = ClientSession(
        plan, context, t0=clock(), new_event_id=partial(IdGenerator(options.rng), "evt")
    )
    outputs = options.outputs
    session.add_observer(FailureLines(session, wall0))
    if outputs.failures_log is not None:
        session.add_observer(FailuresFile(outputs.failures_log, session, wall0))
    if outputs.save_audio is not None:
        session.add_observer(AudioSaver(outputs.save_audio, session))
    if outputs.on_progress is not None:
        session.add_observer(Progress(outputs.on_progress, session))
    factory = options.connect or _default_connect(options)
    record = attempt_path(outputs.record, attempt, step)
    log.info(
        "connecting to %s (%s, attempt %d%s)",
        target.redacted_url,
        plan.dialect.value,
        attempt,
        f", step {step}" if step else "",
    )

    async def open_transport() -> Transport:
        transport = await factory(target, request_id)
        if record is not None:
            # The recording's header carries the handshake, so it starts once connected.
            info = transport.handshake
            session.handshake(info.status, info.headers)
            session.add_observer(Recorder(record, session, keep_audio=outputs.record_audio))
        return transport

    return classify_retry(await drive(session, open_transport, clock))


async def _probe_target(target: Target, options: ProbeOptions) -> ProbeResult:
    sessions: list[SessionResult] = []
    plan_options = options.session
    vad = plan_options.turn_detection is not None
    steps: list[tuple[str | None, tuple[Turn, ...]]]
    if options.escalate:
        steps = [
            (name, build_turns(audio=audio, text=text, turns=1, vad=vad))
            for name, audio, text in ESCALATION_LADDER
        ]
    else:
        turns = build_turns(
            audio=plan_options.audio,
            text=plan_options.text,
            turns=plan_options.turns,
            vad=vad,
        )
        steps = [(None, turns)]
    final: SessionResult | None = None
    for name, turns in steps:
        plan = plan_for(plan_options, target, turns)

        async def attempt_once(
            n: int, plan: ScriptPlan = plan, name: str | None = name
        ) -> SessionResult:
            return await run_session(target, plan, options, step=name, attempt=n)

        final = await run_step(attempt_once, options.retry, name, sessions)
        if final.outcome is not Outcome.CLEAN:
            if name:
                log.error(
                    "escalation stopped at step %r: %s",
                    name,
                    redact_text(final.headline()),
                    extra=FAILURE_RECORD,
                )
            break
    assert final is not None
    return probe_result(sessions, final)


async def run_probe(options: ProbeOptions) -> ProbeResult:
    """Probe ``options.target`` (or the embedded mock) with attempts, retries and escalation.

    Raises only for local mistakes (:class:`~realtime_harness.exceptions.UsageError`: unknown
    sample, unreadable audio, empty or absurd values, bad fault spec); everything remote is in
    the result.
    """
    check_plan(options.session)
    check_outputs(options.record, options.failures_log, options.save_audio)
    if options.target is not None:
        return await _probe_target(options.target, options)
    async with embedded_mock(options) as target:
        return await _probe_target(target, replace(options, target=target))


def run_probe_sync(options: ProbeOptions) -> ProbeResult:
    """:func:`run_probe` for synchronous code (starts and closes its own event loop)."""
    return asyncio.run(run_probe(options))
