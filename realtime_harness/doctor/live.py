"""The live checks of ``doctor``: reach the endpoint, open sessions, try the minimal request.

:func:`run_doctor` runs every check in the order of ``docs/doctor.md`` and returns a
:class:`~realtime_harness.doctor.checks.Report`:

1. configuration (:mod:`realtime_harness.doctor.config`, no traffic);
2. reachability: DNS, TCP, TLS (certificate and host name), then the WebSocket handshake with
   its status and id headers (a refusal named by :func:`~realtime_harness.doctor.advice.classify`);
3. the session: ``session.created``, ``session.update`` accepted in the dialect's shape, a
   realtime model, the server's advertised defaults, and the client-library trap (GA events on
   the Azure preview route);
4. the minimal request first: a text-only turn, a short audio turn, then the user's ``--audio``,
   each a session of its own; the first failing step is named as a service or an input problem;
5. transient or persistent: the failing step rerun ``repeat`` times, every attempt's ids kept;
6. the clock against the server's ``Date`` header and ``expires_at``.

Every session is a :class:`~realtime_harness.protocol.session.ClientSession` run by the probe
(:func:`~realtime_harness.probe.api.run_session`); ``doctor`` only wraps the probe's transport
factory to see the refused handshake's body and the ``session.created`` object. With no target
the embedded mock is diagnosed (everything passes).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from realtime_harness.doctor.advice import (
    Attempt,
    Cause,
    Diagnosis,
    Observation,
    check_clock,
    classify,
    classify_attempts,
    ids_from_headers,
)
from realtime_harness.doctor.checks import Check, Report, Stage, Status
from realtime_harness.doctor.config import (
    SDK_FIX,
    ConfigInputs,
    UrlForm,
    check_config,
    route_form,
)
from realtime_harness.exceptions import HandshakeRejected, UsageError
from realtime_harness.probe.api import default_connect, run_session
from realtime_harness.probe.mock import embedded_mock
from realtime_harness.probe.options import ProbeOptions, TransportFactory
from realtime_harness.probe.plan import build_turns, plan_for
from realtime_harness.probe.retry import ESCALATION_LADDER
from realtime_harness.protocol import session_config as S
from realtime_harness.protocol.audio import MIN_COMMIT_MS
from realtime_harness.protocol.catalog import SESSION_CREATED
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.session import SessionResult
from realtime_harness.target import Target
from realtime_harness.transport.base import HandshakeInfo, Transport

__all__ = ["MAX_REPEAT", "DoctorOptions", "StepRun", "run_doctor", "run_doctor_sync"]

#: ``--repeat`` above this is a load test, not a diagnosis.
MAX_REPEAT = 50
#: Causes that are the service's own (retrying may help), as opposed to the request's.
SERVICE_CAUSES = frozenset(
    {
        Cause.SERVER_ERROR,
        Cause.SERVER_ERROR_TRANSIENT,
        Cause.SERVER_ERROR_PERSISTENT,
        Cause.SERVICE_UNAVAILABLE,
        Cause.THROTTLED,
    }
)
#: Causes a rerun tells transient from persistent.
REPEATABLE = frozenset({Cause.SERVER_ERROR, Cause.SERVICE_UNAVAILABLE, Cause.THROTTLED})
_MODEL_CAUSES = frozenset(
    {Cause.NOT_A_REALTIME_MODEL, Cause.INVALID_MODEL, Cause.MODEL_NOT_FOUND, Cause.MISSING_MODEL}
)
_DIALECT_CAUSES = frozenset({Cause.GA_EVENTS_ON_PREVIEW_ROUTE, Cause.DIALECT_MISMATCH})
#: Configuration checks whose failure leaves nothing to connect to.
_BLOCKING_CONFIG = ("target", "url-form", "assistants-api", "url-scheme")
_NAMES = (
    "dns",
    "tcp",
    "tls",
    "handshake",
    "session-created",
    "session-update",
    "realtime-model",
    "server-defaults",
    "client-library",
    "text-turn",
    "short-audio",
    "your-audio",
    "transient",
    "clock",
)
_STAGES = {
    "dns": Stage.NETWORK,
    "tcp": Stage.NETWORK,
    "tls": Stage.NETWORK,
    "handshake": Stage.HANDSHAKE,
    "session-created": Stage.SESSION,
    "session-update": Stage.SESSION,
    "realtime-model": Stage.SESSION,
    "server-defaults": Stage.SESSION,
    "client-library": Stage.SESSION,
    "text-turn": Stage.REQUEST,
    "short-audio": Stage.REQUEST,
    "your-audio": Stage.REQUEST,
    "transient": Stage.TRANSIENT,
    "clock": Stage.CLOCK,
}


@dataclass(frozen=True)
class DoctorOptions:
    """What ``doctor`` diagnoses and how.

    ``inputs`` are the resolved target options (None: the embedded mock; a failing ``target``
    :class:`Check` when the options could not form a URL); ``audio`` the sample or file the user
    plans to send; ``repeat`` how many times in all a step failing with a service error is run;
    ``speed`` the audio pacing, as the probe's (None: real time, as fast as possible for the
    embedded mock).
    ``connect``, ``clock``, ``wall`` and ``rng`` are for tests (a transport factory, the
    monotonic clock, the Unix time and the id source); ``mock_faults`` and ``mock_kwargs`` shape
    the embedded mock.
    """

    inputs: ConfigInputs | Check | None = None
    audio: str | None = None
    repeat: int = 1
    timeout: float = 10.0
    speed: float | None = None
    failures_log: Path | None = None
    mock_faults: tuple[str, ...] = ()
    connect: TransportFactory | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)


# --- what a session showed beyond its result ------------------------------------------------------
@dataclass
class _Tap:
    """The refused handshake's body, the ``session.created`` session and when the answer came."""

    wall: Callable[[], float]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    answered_at: float | None = None
    session: Mapping[str, Any] | None = None

    def factory(self, inner: TransportFactory) -> TransportFactory:
        async def connect(target: Target, client_request_id: str) -> Transport:
            try:
                transport = await inner(target, client_request_id)
            except HandshakeRejected as exc:
                self.answered_at = self.wall()
                self.status, self.headers, self.body = exc.status, dict(exc.headers), exc.body
                raise
            self.answered_at = self.wall()
            self.status = transport.handshake.status
            self.headers = dict(transport.handshake.headers)
            return _TappedTransport(transport, self)

        return connect


class _TappedTransport:
    """A transport that shows ``session.created`` to its tap on the way through."""

    def __init__(self, inner: Transport, tap: _Tap) -> None:
        self._inner = inner
        self._tap = tap
        self.handshake: HandshakeInfo = inner.handshake

    async def send(self, text: str) -> None:
        await self._inner.send(text)

    async def recv(self, max_wait: float | None) -> str:
        text = await self._inner.recv(max_wait)
        if self._tap.session is None and SESSION_CREATED in text:
            with contextlib.suppress(orjson.JSONDecodeError):
                event = orjson.loads(text)
                if isinstance(event, dict) and event.get("type") == SESSION_CREATED:
                    session = event.get("session")
                    self._tap.session = session if isinstance(session, dict) else {}
        return text

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._inner.close(code, reason)

    @property
    def close_code(self) -> int | None:
        return self._inner.close_code

    @property
    def close_reason(self) -> str:
        return self._inner.close_reason


@dataclass(frozen=True)
class StepRun:
    """One session of a step: its result, what the tap saw, and the cause when it failed."""

    name: str
    result: SessionResult
    tap: _Tap
    diagnosis: Diagnosis | None

    @property
    def ok(self) -> bool:
        """The session was clean."""
        return self.result.outcome is Outcome.CLEAN

    def ids(self) -> dict[str, str]:
        """Every id of the session: session, responses, request ids, region."""
        seen = ids_from_headers(self.tap.headers)
        seen.pop("date", None)
        if self.result.session_id:
            seen["session_id"] = self.result.session_id
        responses = [r.response_id for r in self.result.responses if r.response_id]
        if responses:
            seen["response_ids"] = ",".join(responses)
        seen["started_at"] = self.result.started_at
        return seen

    def attempt(self) -> Attempt:
        """This run as one attempt of its step."""
        headers = ids_from_headers(self.tap.headers)
        code = None if self.diagnosis is None else self.diagnosis.cause.value
        return Attempt(
            ok=self.ok,
            at=self.result.started_at,
            session_id=self.result.session_id,
            request_id=headers.get("apim-request-id") or headers.get("x-request-id"),
            region=headers.get("x-ms-region"),
            error_code=code,
        )


def _error_of(result: SessionResult) -> dict[str, Any] | None:
    """The first real error the session saw: an ``error`` event or a failed response's."""
    for failure in result.failures:
        if not failure.benign and failure.error is not None:
            return {"error": failure.error.model_dump(exclude_none=True)}
    return None


def _diagnose(url: str, result: SessionResult, tap: _Tap) -> Diagnosis | None:
    if result.outcome is Outcome.CLEAN:
        return None
    by_server = result.closed_by == "server"
    observation = Observation(
        url=url,
        status=tap.status,
        headers=tap.headers,
        body=tap.body or None,
        error=_error_of(result),
        close_code=result.close_code if by_server else None,
        close_reason=result.close_reason if by_server else None,
        session_id=result.session_id,
    )
    return classify(observation)


# --- the runner --------------------------------------------------------------------------------
class _Doctor:
    def __init__(self, options: DoctorOptions, target: Target, inputs: ConfigInputs) -> None:
        self.options = options
        self.target = target
        self.inputs = inputs
        self.url = target.url
        self.checks: list[Check] = []
        self.runs: dict[str, StepRun] = {}

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def skip_rest(self, because: Check | str, why: str = "") -> None:
        done = {c.name for c in self.checks}
        for name in _NAMES:
            if name not in done:
                self.add(Check.skipped(name, _STAGES[name], because, why))

    def fail_and_stop(self, name: str, evidence: str, fix: str) -> bool:
        """Record check ``name`` as failed, every later check as skipped because of it, and
        return False: the run cannot go on past it."""
        check = self.add(
            Check(name=name, stage=_STAGES[name], status=Status.FAIL, evidence=evidence, fix=fix)
        )
        self.skip_rest(check)
        return False

    async def step(
        self, name: str, turns: Any, attempt: int = 1, target: Target | None = None
    ) -> StepRun:
        options = self.options
        target = target or self.target
        probe = ProbeOptions(
            target=target,
            timeout=options.timeout,
            speed=options.speed,
            failures_log=options.failures_log,
            clock=options.clock,
            rng=options.rng,
        )
        tap = _Tap(options.wall)
        probe = replace(probe, connect=tap.factory(options.connect or default_connect(probe)))
        plan = plan_for(probe.session, target, turns)
        result = await run_session(target, plan, probe, step=name, attempt=attempt)
        run = StepRun(name, result, tap, _diagnose(self.url, result, tap))
        self.runs.setdefault(name, run)
        return run

    # --- reachability ----------------------------------------------------------------------
    async def network(self) -> bool:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        secure = parts.scheme in ("wss", "https")
        try:
            port = parts.port or (443 if secure else 80)
        except ValueError:
            port = 443 if secure else 80
        timeout = self.options.timeout
        proxy = _proxy_for(self.url)
        via = ""
        if proxy is not None:
            # The connection goes to the proxy, which opens the tunnel: check the hop we make.
            host, port, via = proxy[0], proxy[1], f" (the proxy for {host})"
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            return self.fail_and_stop(
                "dns",
                f"{host}{via} does not resolve: {_reason(exc)}",
                "check the resource name in the URL; behind a private endpoint, use a "
                "DNS server that resolves the privatelink zone",
            )
        addresses = sorted({str(info[4][0]) for info in infos})
        self.add(
            Check.passed(
                "dns", Stage.NETWORK, f"{host}{via} resolves to {', '.join(addresses[:4])}"
            )
        )
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            return self.fail_and_stop(
                "tcp",
                f"no TCP connection to {host}:{port}{via}: {_reason(exc)}",
                "check firewalls, proxies (HTTPS_PROXY) and the resource's network "
                "rules (selected networks, private endpoint)",
            )
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        self.add(Check.passed("tcp", Stage.NETWORK, f"connected to {host}:{port}{via}"))
        if proxy is not None and secure:
            self.add(
                Check.skipped(
                    "tls",
                    Stage.NETWORK,
                    "tcp",
                    "through a proxy: TLS with the service runs inside its tunnel, the "
                    "handshake checks it",
                )
            )
            return True
        if not secure:
            self.add(
                Check.skipped(
                    "tls", Stage.NETWORK, "tcp", f"{parts.scheme}:// carries no TLS to check"
                )
            )
            return True
        context = ssl.create_default_context()
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout
            )
        except ssl.SSLCertVerificationError as exc:
            return self.fail_and_stop(
                "tls",
                f"the certificate of {host} is refused: {exc.verify_message or _reason(exc)}",
                "use the resource's own host name (NAME.openai.azure.com); behind a "
                "TLS-inspecting proxy, add its CA to SSL_CERT_FILE",
            )
        except (OSError, TimeoutError) as exc:
            return self.fail_and_stop(
                "tls",
                f"TLS with {host}:{port} failed: {_reason(exc)}",
                "check for a proxy or firewall that intercepts TLS",
            )
        cert = writer.get_extra_info("peercert") or {}
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
        until = cert.get("notAfter", "?") if isinstance(cert, dict) else "?"
        self.add(
            Check.passed("tls", Stage.NETWORK, f"certificate valid for {host} (until {until})")
        )
        return True

    # --- handshake and session -------------------------------------------------------------
    def handshake(self, first: StepRun) -> bool:
        tap, result = first.tap, first.result
        if tap.status == 101:
            seen = ids_from_headers(tap.headers)
            seen.pop("date", None)
            self.add(
                Check.passed("handshake", Stage.HANDSHAKE, "HTTP 101 Switching Protocols", **seen)
            )
            return True
        if tap.status is None:
            detail = result.failures[0].detail if result.failures else "no answer"
            return self.fail_and_stop(
                "handshake",
                f"no HTTP answer to the upgrade: {detail}",
                "check that the URL is a WebSocket endpoint and that no proxy blocks "
                "the upgrade; raise --timeout on a slow link",
            )
        diagnosis = first.diagnosis or Diagnosis(
            cause=Cause.HANDSHAKE_REFUSED,
            evidence=f"HTTP {tap.status} on the upgrade",
            fix="compare the URL and headers with the documented form",
            seen=ids_from_headers(tap.headers),
        )
        check = self.add(diagnosis.to_check("handshake", Stage.HANDSHAKE))
        if diagnosis.cause in _MODEL_CAUSES:
            for name in ("session-created", "session-update"):
                self.add(Check.skipped(name, Stage.SESSION, check))
            self.add(diagnosis.to_check("realtime-model", Stage.SESSION))
        return False

    def session(self, first: StepRun) -> bool:
        result, diagnosis = first.result, first.diagnosis
        cause = None if diagnosis is None else diagnosis.cause
        if result.session_id is None:
            created = self.add(
                diagnosis.to_check("session-created", Stage.SESSION)
                if diagnosis is not None
                else Check(
                    name="session-created",
                    stage=Stage.SESSION,
                    status=Status.FAIL,
                    evidence=f"no session.created: {result.headline()}",
                    fix="the server accepted the upgrade but started no session; keep the "
                    "request id for support",
                    seen=first.ids(),
                )
            )
            self.add(Check.skipped("session-update", Stage.SESSION, created))
            if cause in _MODEL_CAUSES and diagnosis is not None:
                self.add(diagnosis.to_check("realtime-model", Stage.SESSION))
            return False
        self.add(
            Check.passed(
                "session-created",
                Stage.SESSION,
                f"session.created {result.session_id}",
                session_id=result.session_id,
            )
        )
        dialect = self.target.dialect.value
        if "session_updated" in result.timings_ms:
            self.add(
                Check.passed(
                    "session-update",
                    Stage.SESSION,
                    f"session.updated: the {dialect} shape is accepted",
                )
            )
        elif diagnosis is not None and cause in _DIALECT_CAUSES:
            self.add(diagnosis.to_check("session-update", Stage.SESSION))
            return False
        else:
            self.add(
                Check(
                    name="session-update",
                    stage=Stage.SESSION,
                    status=Status.FAIL,
                    evidence=f"no session.updated: {result.headline()}",
                    fix="compare the session.update with the dialect's documented shape",
                    cause=None if diagnosis is None else diagnosis.cause.value,
                    seen=first.ids(),
                )
            )
            return False
        return True

    def model_and_defaults(self, first: StepRun) -> None:
        session = first.tap.session or {}
        dialect = self.target.dialect
        model = session.get("model")
        if "realtime-model" not in {c.name for c in self.checks}:
            evidence = (
                f"the session runs {model}"
                if isinstance(model, str) and model
                else "session.created names no model (the upgrade accepted the deployment)"
            )
            self.add(Check.passed("realtime-model", Stage.SESSION, evidence))
        vad = S.turn_detection(dialect, session)
        voice = S.read(session, dialect, "voice")
        expires = session.get("expires_at")
        parts = [
            f"turn detection {vad.get('type', '?') if vad else 'off'}",
            f"input {S.input_format(dialect, session)}",
            f"output {S.output_format(dialect, session)}",
        ]
        if isinstance(voice, str):
            parts.append(f"voice {voice}")
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            parts.append(f"expires_at {int(expires)}")
        self.add(Check.passed("server-defaults", Stage.SESSION, "advertised: " + ", ".join(parts)))

    async def client_library(self, first: StepRun, turns: Any) -> None:
        diagnosis = first.diagnosis
        if diagnosis is not None and diagnosis.cause is Cause.GA_EVENTS_ON_PREVIEW_ROUTE:
            self.add(
                Check(
                    name="client-library",
                    stage=Stage.SESSION,
                    status=Status.FAIL,
                    evidence="the GA session.update was refused on the preview route "
                    "(unknown_parameter 'session.type'): the trap of the openai package's "
                    "AzureOpenAI(...).realtime, which builds this route and sends GA events",
                    fix=f"connect to /openai/v1/realtime; with the openai package pass {SDK_FIX}",
                    cause=diagnosis.cause.value,
                    seen=diagnosis.seen,
                )
            )
            return
        form = route_form(self.url)
        if form is UrlForm.AZURE_PREVIEW:
            # Beta events work here; try what the openai package would send (GA events).
            target = self.target
            headers = {k: v for k, v in target.headers.items() if k.lower() != "openai-beta"}
            ga = Target(
                url=target.url,
                dialect=Dialect.GA,
                variant=target.variant,
                auth=target.auth,
                headers=headers,
                request_id_header=target.request_id_header,
                embedded=target.embedded,
            )
            trial = await self.step("client-library", turns, target=ga)
            if trial.ok:
                self.add(
                    Check.passed(
                        "client-library",
                        Stage.SESSION,
                        "this preview route accepts GA events too (the openai package's "
                        "AzureOpenAI(...).realtime works here)",
                        **trial.ids(),
                    )
                )
                return
            refused = (
                trial.diagnosis is not None
                and trial.diagnosis.cause is Cause.GA_EVENTS_ON_PREVIEW_ROUTE
            )
            self.add(
                Check(
                    name="client-library",
                    stage=Stage.SESSION,
                    status=Status.WARN,
                    evidence=f"{target.dialect.value} events work on the preview route, but a "
                    "GA session.update (what the openai package's AzureOpenAI(...).realtime "
                    "sends here) "
                    + (
                        "is refused: unknown_parameter 'session.type'"
                        if refused
                        else f"failed: {trial.result.headline()}"
                    ),
                    fix=f"move to /openai/v1/realtime; with the openai package pass {SDK_FIX}",
                    cause=Cause.GA_EVENTS_ON_PREVIEW_ROUTE.value if refused else None,
                    seen=trial.ids(),
                )
            )
            return
        self.add(
            Check.passed(
                "client-library",
                Stage.SESSION,
                f"{form.value} route: GA clients (the openai package included) connect as is",
            )
        )

    # --- the minimal request first ---------------------------------------------------------
    def request_check(self, name: str, run: StepRun, what: str) -> Check:
        if run.ok:
            return Check.passed(name, Stage.REQUEST, f"{what}: clean", **run.ids())
        diagnosis = run.diagnosis
        where = "service" if diagnosis is None or diagnosis.cause in SERVICE_CAUSES else "input"
        headline = run.result.headline()
        evidence = f"{what} failed ({where}): " + (
            f"{diagnosis.cause.value}: {diagnosis.evidence}" if diagnosis else headline
        )
        fix = (
            diagnosis.fix
            if diagnosis
            else ("the service did not complete the step; rerun with --repeat N and keep these ids")
        )
        return Check(
            name=name,
            stage=Stage.REQUEST,
            status=Status.FAIL,
            evidence=evidence,
            fix=fix,
            cause=None if diagnosis is None else diagnosis.cause.value,
            seen=run.ids(),
        )

    async def transient(self, failing: StepRun, turns: Any) -> Diagnosis | None:
        """Rerun the failing step; the refined cause when it was a service error."""
        cause = None if failing.diagnosis is None else failing.diagnosis.cause
        if cause not in REPEATABLE:
            self.add(
                Check.passed(
                    "transient",
                    Stage.TRANSIENT,
                    "no service error to repeat"
                    if cause is None or failing.ok
                    else f"{cause.value} is not a service error: a rerun would fail the same way",
                )
            )
            return None
        runs = [failing]
        for attempt in range(2, self.options.repeat + 1):
            runs.append(await self.step(failing.name, turns, attempt=attempt))
        verdict = classify_attempts([run.attempt() for run in runs])
        if verdict is None:  # pragma: no cover - the first run failed
            return None
        if len(runs) == 1:
            self.add(
                Check(
                    name="transient",
                    stage=Stage.TRANSIENT,
                    status=Status.WARN,
                    evidence=f"one attempt of {failing.name}: {verdict.evidence}",
                    fix="rerun with --repeat N (e.g. 5) to tell a blip from a persistent fault",
                    seen=verdict.seen,
                )
            )
            return None
        refined = cause is Cause.SERVER_ERROR
        self.add(
            Check(
                name="transient",
                stage=Stage.TRANSIENT,
                status=Status.FAIL
                if verdict.cause is Cause.SERVER_ERROR_PERSISTENT
                else Status.WARN,
                evidence=f"{failing.name}: {verdict.evidence}",
                fix=verdict.fix,
                cause=verdict.cause.value if refined else None,
                seen=verdict.seen,
            )
        )
        return verdict if refined else None

    def clock(self, first: StepRun) -> None:
        tap = first.tap
        if tap.answered_at is None:
            self.add(Check.skipped("clock", Stage.CLOCK, "handshake", "no answer to compare"))
            return
        date = next((v for k, v in tap.headers.items() if k.lower() == "date"), None)
        expires = (tap.session or {}).get("expires_at")
        skew = check_clock(tap.answered_at, date_header=date, expires_at=expires)
        if skew is not None:
            self.add(skew.to_check("clock", Stage.CLOCK, Status.WARN))
            return
        if date is None and expires is None:
            self.add(
                Check(
                    name="clock",
                    stage=Stage.CLOCK,
                    status=Status.WARN,
                    evidence="no Date header and no expires_at: nothing to compare the local "
                    "clock with",
                )
            )
            return
        basis = " and ".join(
            what for what, v in (("the Date header", date), ("expires_at", expires)) if v
        )
        self.add(Check.passed("clock", Stage.CLOCK, f"the local clock agrees with {basis}"))


def _proxy_for(url: str) -> tuple[str, int] | None:
    """The proxy host and port the WebSocket library would connect through (environment
    variables, ``no_proxy`` honoured), or None for a direct connection."""
    from websockets.exceptions import InvalidProxy, InvalidURI
    from websockets.proxy import get_proxy, parse_proxy
    from websockets.uri import parse_uri

    try:
        proxy = get_proxy(parse_uri(url))
        if proxy is None:
            return None
        parsed = parse_proxy(proxy)
    except (InvalidURI, InvalidProxy, ValueError, UnicodeError):
        return None  # the target check refuses an unusable proxy before this runs
    return parsed.host, parsed.port


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _audio_check(audio: str) -> tuple[Any, str]:
    """The user's audio as the probe converts it, and one line saying what it is.

    Raises :class:`UsageError` for a missing or unreadable file (before anything connects).
    """
    from realtime_harness.media.audio import file_info, load_audio

    # An unreadable file raises AudioError, a UsageError: exit 2 before anything connects.
    turns = build_turns(audio=audio, text=None, turns=1)
    prepared = load_audio(audio)
    info = file_info(audio)
    line = f"{info.describe()}, {info.duration_s * 1000:.0f} ms"
    if info.duration_s * 1000 < MIN_COMMIT_MS:
        line += f" (under the {MIN_COMMIT_MS} ms a commit needs: padded with silence)"
    if prepared.notes:
        line += "; " + "; ".join(prepared.notes)
    return turns, line


async def _diagnose_target(options: DoctorOptions, target: Target, inputs: ConfigInputs) -> Report:
    doctor = _Doctor(options, target, inputs)
    user_audio = _audio_check(options.audio) if options.audio else None
    doctor.checks.extend(check_config(inputs))
    blocking = next(
        (c for c in doctor.checks if c.name in _BLOCKING_CONFIG and c.status is Status.FAIL),
        None,
    )
    report_target = target.describe()
    if blocking is not None:
        doctor.skip_rest(blocking)
        return Report(target=report_target, checks=doctor.checks)
    if not await doctor.network():
        return Report(target=report_target, checks=doctor.checks)
    ladder = {name: (audio, text) for name, audio, text in ESCALATION_LADDER}
    text_turns = build_turns(audio=None, text=ladder["text"][1], turns=1)
    first = await doctor.step("text-turn", text_turns)
    if not doctor.handshake(first) or not doctor.session(first):
        # A handshake or session failure is the cause; a rerun tells a blip from a fault.
        failing_check = next(c for c in reversed(doctor.checks) if c.status is Status.FAIL)
        if first.diagnosis is not None and first.diagnosis.cause in REPEATABLE:
            await doctor.transient(first, text_turns)
        doctor.skip_rest(failing_check)
        _order(doctor)
        return Report(target=report_target, checks=doctor.checks)
    doctor.model_and_defaults(first)
    await doctor.client_library(first, text_turns)
    steps: list[tuple[str, Any, str]] = [("text-turn", text_turns, "text-only turn")]
    short = ladder["short audio"][0]
    steps.append(("short-audio", build_turns(audio=short, text=None, turns=1), f"{short} sample"))
    if user_audio is not None:
        steps.append(("your-audio", user_audio[0], f"your audio ({user_audio[1]})"))
    failing: tuple[StepRun, Any, str] | None = None
    for name, turns, what in steps:
        run = first if name == "text-turn" else await doctor.step(name, turns)
        if not run.ok:
            failing = (run, turns, what)
            break
        doctor.add(doctor.request_check(name, run, what))
    if failing is None:
        if user_audio is None:
            doctor.add(
                Check.skipped("your-audio", Stage.REQUEST, "short-audio", "no --audio given")
            )
        doctor.add(Check.passed("transient", Stage.TRANSIENT, "no step failed: nothing to repeat"))
    else:
        run, turns, what = failing
        refined = await doctor.transient(run, turns)
        if refined is not None:
            base = run.diagnosis or refined
            run = replace(run, diagnosis=base.model_copy(update={"cause": refined.cause}))
        # The step row goes before the transient row.
        transient_row = doctor.checks.pop()
        failed = doctor.add(doctor.request_check(run.name, run, what))
        doctor.add(transient_row)
        for name, _, _ in steps:
            if name not in {c.name for c in doctor.checks}:
                doctor.add(Check.skipped(name, Stage.REQUEST, failed))
        if "your-audio" not in {c.name for c in doctor.checks}:
            doctor.add(Check.skipped("your-audio", Stage.REQUEST, failed, "no --audio given"))
    doctor.clock(first)
    _order(doctor)
    return Report(target=report_target, checks=doctor.checks)


def _order(doctor: _Doctor) -> None:
    """Live rows in the documented order (configuration rows first, as they ran)."""
    live = {name: i for i, name in enumerate(_NAMES)}
    config = [c for c in doctor.checks if c.name not in live]
    rows = sorted((c for c in doctor.checks if c.name in live), key=lambda c: live[c.name])
    ordered = config + rows
    # A skipped row names an earlier check: move any that would name a later one after it.
    placed: list[Check] = []
    pending = list(ordered)
    while pending:
        progressed = False
        for check in list(pending):
            names = {c.name for c in placed}
            if check.skipped_because is None or check.skipped_because in names:
                placed.append(check)
                pending.remove(check)
                progressed = True
                break
        if not progressed:  # pragma: no cover - a skip naming a check that never ran
            placed.extend(pending)
            break
    doctor.checks[:] = placed


async def run_doctor(options: DoctorOptions) -> Report:
    """Every check against ``options.inputs`` (or the embedded mock), in order.

    Raises :class:`UsageError` only for local mistakes (``repeat`` out of range, an unreadable
    ``audio``); everything remote is a row of the report.
    """
    if not 1 <= options.repeat <= MAX_REPEAT:
        raise UsageError(f"--repeat must be between 1 and {MAX_REPEAT}, got {options.repeat}")
    inputs = options.inputs
    if isinstance(inputs, Check):
        names = [inputs.name, *(n for n in _NAMES)]
        checks = [inputs] + [Check.skipped(n, _STAGES[n], inputs) for n in names[1:]]
        return Report(target="(no target)", checks=checks)
    if inputs is not None and inputs.target is not None:
        return await _diagnose_target(options, inputs.target, inputs)
    if inputs is not None:
        return Report(target=inputs.url, checks=check_config(inputs))
    probe = ProbeOptions(mock_faults=options.mock_faults, rng=options.rng)
    async with embedded_mock(probe) as target:
        return await _diagnose_target(options, target, ConfigInputs.from_target(target))


def run_doctor_sync(options: DoctorOptions) -> Report:
    """:func:`run_doctor` for synchronous code (starts and closes its own event loop)."""
    return asyncio.run(run_doctor(options))
