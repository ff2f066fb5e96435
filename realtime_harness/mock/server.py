"""The embedded mock Realtime server: a real WebSocket server on 127.0.0.1 that performs what
:class:`~realtime_harness.mock.behaviour.SessionBehaviour` decides.

Usable in the caller's event loop (``async with MockServer() as server``) or on its own thread
(``with MockServer().run_in_thread() as server``, for pytest and the CLI). Per connection, client
messages go to the behaviour as the connection parses them, and one timer on the behaviour's next
deadline sends the due events from its callback, all those due together in one write (no drift:
a late wake-up sends what is due and re-arms for the next due time, never "interval after the last
send"); what the client's messages make due at once (a reply) goes out as soon as the read that
brought them is handled. A driving task performs the rest: sends that must wait for a client
that is not reading, raw frames, ledger records, closes, drops and stalls; a reader task reads
what the library still queues (fragmented messages) and notices the client leaving.

Handshakes follow the real services (OpenAI and Azure OpenAI Realtime API references): the four
URL forms, the matching credentials, Azure's HTTP 401/400/429 and response headers, and the
errors-then-close of OpenAI (``invalid_api_key`` 3000, ``beta_api_shape_disabled``/
``missing_model``/``invalid_model`` 4000).

Dialect by path: ``/openai/realtime`` (Azure preview) is always beta, ``/openai/v1/realtime``
(Azure GA) always GA, and ``/v1/realtime`` (OpenAI) serves the server's ``dialect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gc
import logging
import math
import random
import re
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime_harness.endpoints import parse_route
from realtime_harness.mock.config import (
    REALTIME_API_VERSIONS,
    AnyName,
    BehaviourConfig,
    Latency,
    known_names,
)
from realtime_harness.mock.connection import BatchingConnection, send_texts
from realtime_harness.mock.fault_spec import (
    FaultKind,
    FaultPhase,
    FaultPlan,
    FaultRecord,
    FaultSpec,
)
from realtime_harness.mock.ledger import Ledger
from realtime_harness.mock.schedule import (
    Action,
    Close,
    Drop,
    RecordFault,
    SendEvent,
    SendRaw,
    Stall,
)
from realtime_harness.mock.session import SessionBehaviour
from realtime_harness.mock.voices import Voice, tone_voice
from realtime_harness.protocol import catalog as C
from realtime_harness.protocol import codes
from realtime_harness.protocol.audio import b64_decoded_length
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.ids import new_id
from realtime_harness.protocol.validator import Validator, Violation
from realtime_harness.redact import MASK, redact_text, register_secret

__all__ = [
    "MockServer",
    "PacedCollector",
    "SessionLike",
    "SessionLog",
    "default_voices",
    "tune_gc_for_serving",
]

log = logging.getLogger("realtime_harness.mock")

#: Server frames can be large (3.4 MB seen on the wire); accept client frames up to 16 MiB as well.
MAX_FRAME = 16 * 1024 * 1024
#: Model names that are not realtime-capable (an Azure deployment of such a model answers 400).
_NOT_REALTIME = ("whisper", "transcribe", "tts", "embedding", "dall-e")
#: Caps that keep a long soak in bounded memory: the shared ``received`` log keeps the last
#: 100,000 client events, ``sessions`` the last 500 session logs, each with its first 2,000 events.
_RECEIVED_CAP = 100_000
_SESSIONS_CAP = 500
_SESSION_RECEIVED_CAP = 2_000
#: ... and at most this many bytes of them, and this many of its client violations: 500 logs of
#: an invalid-JSON flood must not keep hundreds of megabytes alive after the clients have left.
_SESSION_RECEIVED_BYTES = 64 * 1024
_SESSION_VIOLATIONS_CAP = 100
#: Bounds per connection. A client that does not read lets scheduled events pile up (its sends
#: block): past this many unsent ones it is closed with 1008. A client that sends this many
#: frames that are not JSON objects is closed with 1008 as well.
MAX_BACKLOG = 10_000
MAX_INVALID_FRAMES = 1_000
_ABUSE_CLOSE_S = 1.0
_INVALID_LOGGED = 20
#: Pending connections the kernel queues before accept: a ramp of 1,000 connections per second
#: overflows the default of 100 (the kernel caps it at ``net.core.somaxconn``).
LISTEN_BACKLOG = 4096


@functools.cache
def default_voices() -> tuple[Voice, ...]:
    """The bundled samples as voices (loaded once); a tone when no sample can be loaded.

    File I/O, so the server calls it (at start) and passes the voices to its sessions.
    """
    voices: list[Voice] = []
    try:
        from realtime_harness.media.samples import list_samples

        for sample in list_samples():
            try:
                pcm = sample.pcm16()
            except Exception:  # noqa: S112  # a broken sample must not stop the server
                continue
            if sample.text and pcm:
                voices.append(Voice(sample.name, sample.text, pcm))
    except Exception:  # noqa: S110  # samples missing: fall back to the tone
        pass
    return tuple(voices) or (tone_voice(),)


def tune_gc_for_serving() -> None:
    """Garbage-collector settings for a process whose job is to serve mock sessions (the CLI);
    run a :class:`PacedCollector` in its event loop too.

    Every pass of the collector pauses every session while it runs, for a time that grows with
    the number of objects it walks (about 1 µs each on a busy 2-core machine,
    ``scripts/bench_mock.py``): a pass over 50,000 objects held up every send by 40-90 ms and
    failed a 10 ms lateness goal on its own. So passes are kept small rather than rare: the
    youngest generation is collected every 2,000 new objects and the middle one every third
    time (at most about 6,000 objects, a few milliseconds), while full passes, which walk
    everything, wait for 10,000 middle ones (about 80 minutes with the paced collector's two a
    second). Freezing what start-up loaded keeps it out of every pass. The mock's own objects are
    freed by reference counting; cycles are still collected. Process-wide, so the library never
    calls it on its own.
    """
    gc.freeze()
    gc.set_threshold(2_000, 2, 10_000)


#: How often a :class:`PacedCollector` collects the youngest generation (seconds).
YOUNG_COLLECTION_S = 0.25


class PacedCollector:
    """Collects the younger generations on a timer, so that no pass walks many objects.

    The collector's own trigger counts objects made minus objects freed. A busy mock makes and
    frees about as many, so that count rises slowly: the youngest generation was collected every
    few seconds, and its pass then walked every object made since and still alive, those of
    every response in flight among them (about 30 each): 14-18 ms at 470 sessions, every session
    held up meanwhile. Collected every :data:`YOUNG_COLLECTION_S` instead, a pass walks what a
    quarter of a second left: 1-7 ms (docs/benchmarks.md, bench_mock). The middle generation is
    collected every second time. A full pass, which walks everything, comes when the middle
    generation has been collected as many times as the collector's third threshold says (10,000
    after :func:`tune_gc_for_serving`: about every 80 minutes), as the collector itself would
    do; it cannot, since the timer's passes keep its own count low.

    Process-wide, like :func:`tune_gc_for_serving`: for a process that only serves. Does
    nothing while the collector is disabled (``gc.disable()``).
    """

    def __init__(self, every: float = YOUNG_COLLECTION_S) -> None:
        self.every = every
        self._ticks = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start collecting on ``loop`` (the running loop when not given)."""
        self._loop = loop or asyncio.get_running_loop()
        self._timer = self._loop.call_later(self.every, self._tick)

    def stop(self) -> None:
        """Stop collecting."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if gc.isenabled():
            self._ticks += 1
            if gc.get_count()[2] > gc.get_threshold()[2]:
                gc.collect(2)
            else:
                gc.collect(1 if self._ticks % 2 == 0 else 0)
        self._timer = loop.call_later(self.every, self._tick)


class SessionLike(Protocol):
    """What the server drives: :class:`SessionBehaviour` or a replay of a recorded trace."""

    session_id: str
    dialect: Dialect

    def receive(
        self,
        event: Mapping[str, Any] | None,
        now: float,
        *,
        raw: str = "",
        audio_bytes: int | None = None,
    ) -> None:
        """Handle one client frame (``audio_bytes``: an append's checked decoded size)."""

    def poll(self, now: float) -> list[Action]:
        """The actions due at ``now``."""

    def next_deadline(self) -> float | None:
        """When the next action falls due."""

    @property
    def backlog(self) -> int:
        """Actions scheduled and not yet polled."""


@dataclass
class SessionLog:
    """What the server saw of one session (for tests, the CLI log line and the pytest plugin)."""

    session_id: str
    dialect: Dialect
    path: str
    started_at: float
    # Kept serialised: bytes are invisible to the garbage collector, whose full passes otherwise
    # grow with every logged event and stall every session (see scripts/bench_mock.py).
    received_raw: list[bytes] = field(default_factory=list, repr=False)
    received_bytes: int = field(default=0, repr=False)
    #: Client messages received, all of them (logged or not, valid or not).
    messages: int = 0
    client_violations: list[Violation] = field(default_factory=list)
    #: Client violations found beyond the ones kept in ``client_violations``.
    client_violations_dropped: int = 0
    sent: int = 0
    faults: int = 0
    close_code: int | None = None
    ended_at: float | None = None

    @property
    def received(self) -> list[dict[str, Any]]:
        """The client events of this session (audio elided), in arrival order."""
        return [orjson.loads(raw) for raw in self.received_raw]

    def summary(self) -> str:
        """One log line: ids, dialect, traffic, faults, how it ended."""
        duration = (self.ended_at or time.time()) - self.started_at
        return (
            f"session {self.session_id} dialect={self.dialect.value} path={self.path} "
            f"received={self.messages} sent={self.sent} faults={self.faults} "
            f"client_violations={len(self.client_violations) + self.client_violations_dropped} "
            f"close={self.close_code} "
            f"duration={duration:.1f}s"
        )


@dataclass
class _Handshake:
    dialect: Dialect
    model: str | None
    path: str
    fatal: tuple[str, str, int] | None = None  # (code, message, close code) after the upgrade
    headers: dict[str, str] = field(default_factory=dict)


class MockServer:
    """A mock OpenAI / Azure OpenAI Realtime server on 127.0.0.1.

    Args:
        dialect: the dialect served on ``/v1/realtime``.
        faults: fault specs (strings or :class:`FaultSpec`); see ``realtime_harness.mock.faults``.
        seed: seeds every session's rng (ids, jitter, fault coins) and the handshake coins.
        host: interface to bind (loopback by default).
        port: 0 picks a free port.
        latency: the latency model (default: real-time pacing; ``Latency.fast()`` for tests).
        max_session_s: session length before ``session_expired``.
        voices: what responses say (default: the bundled samples).
        reply_voice: always answer with this sample.
        require_key: when set, only this key is accepted (OpenAI: error + close 3000; Azure: 401).
        deployments: the Azure deployments that exist; any other name on an Azure route is
            answered HTTP 404 ``DeploymentNotFound``, as Azure does (None, the default: today's
            realtime model names, :data:`~realtime_harness.mock.config.REALTIME_MODELS`;
            :data:`~realtime_harness.mock.config.ANY`: every name exists).
        models: the models OpenAI's route serves; any other is answered ``invalid_model`` and
            close 4000 (None, the default: today's realtime model names;
            :data:`~realtime_harness.mock.config.ANY`: every name).
        api_versions: the api-versions the Azure preview route accepts; any other is answered
            HTTP 400 ``BadRequest`` "API version not supported", as Azure does.
        ledger_path: also write the fault ledger to this JSONL file.
        replay: serve this recorded trace to every client instead of generating sessions.
        validate: run the project's validator over each session's traffic.
        record_lateness: keep each send's lateness against its schedule (benchmarks).
        keep_received: keep what clients sent (:meth:`received`, each session log's
            ``received``). Bounded either way (the last 100,000 messages, 500 sessions), but
            that is hundreds of MB in a long soak: False for a mock nobody asks (the soak's).
        on_session_end: called with each finished session's log (the CLI prints it).
        on_reject: called with one line per refused connection (HTTP error, or error + close).
        tls: serve ``wss://`` with this server context (see :mod:`realtime_harness.mock.tls`).
    """

    def __init__(
        self,
        dialect: Dialect = Dialect.GA,
        faults: Iterable[FaultSpec | str] = (),
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency | None = None,
        max_session_s: float = 3600.0,
        model: str = "gpt-realtime",
        voices: tuple[Voice, ...] | None = None,
        reply_voice: str | None = None,
        require_key: str | None = None,
        deployments: Iterable[str] | AnyName | None = None,
        models: Iterable[str] | AnyName | None = None,
        api_versions: Iterable[str] = REALTIME_API_VERSIONS,
        ledger_path: str | Path | None = None,
        replay: str | Path | None = None,
        validate: bool = True,
        record_lateness: bool = False,
        keep_received: bool = True,
        on_session_end: Callable[[SessionLog], None] | None = None,
        on_reject: Callable[[str], None] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.dialect = Dialect(dialect)
        self.tls = tls
        self.seed = seed
        self.host = host
        self.port = port
        self.config = BehaviourConfig(
            dialect=self.dialect,
            model=model,
            latency=latency or Latency(),
            max_session_s=max_session_s,
            voices=voices,
            reply_voice=reply_voice,
        )
        self.require_key = require_key
        self.deployments = known_names(deployments)
        self.models = known_names(models)
        self.api_versions = frozenset(api_versions)
        register_secret(require_key)  # masked in every path and line the mock prints
        self.validate = validate
        self.record_lateness = record_lateness
        self.keep_received = keep_received
        self.on_session_end = on_session_end
        self.on_reject = on_reject
        self._replay = None
        if replay is not None:
            from realtime_harness.mock.replay import load_trace

            self._replay = load_trace(replay)
        self._plan = FaultPlan(faults)
        self._ledger = Ledger(ledger_path)
        self._lock = threading.Lock()
        self._received: deque[bytes] = deque(maxlen=_RECEIVED_CAP)
        self._sessions: deque[SessionLog] = deque(maxlen=_SESSIONS_CAP)
        self._errors: list[BaseException] = []
        self.lateness: list[float] = []
        self._counter = 0
        self._rng = random.Random(f"{seed}:handshake")
        # Ids of injected refusals: their own stream, so the coins above stay as they were.
        self._fault_ids = random.Random(f"{seed}:fault-ids")
        self._pending: dict[ServerConnection, _Handshake] = {}
        self._server: Server | None = None
        self._connections: set[ServerConnection] = set()

    # --- public state ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT`` (``wss://`` with ``tls``) once started."""
        if self._server is None:
            raise RuntimeError(
                "the mock server is not running; use `async with` or run_in_thread()"
            )
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literals in brackets
        return f"{'wss' if self.tls is not None else 'ws'}://{host}:{self.port}"

    @property
    def ledger(self) -> list[FaultRecord]:
        """Every fault injected since start (or the last :meth:`reset`)."""
        return self._ledger.records

    @property
    def received(self) -> list[dict[str, Any]]:
        """Client events received by all sessions, in arrival order (audio elided; the last
        100,000)."""
        with self._lock:
            raw = list(self._received)
        return [orjson.loads(item) for item in raw]

    @property
    def sessions(self) -> list[SessionLog]:
        """One log per session, in connection order (the last 500)."""
        with self._lock:
            return list(self._sessions)

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        """The faults in force."""
        return self._plan.faults

    def set_faults(self, faults: Iterable[FaultSpec | str]) -> None:
        """Replace the faults (and their counters) for sessions that start from now on.

        Thread-safe: the pytest plugin calls it from the test thread.
        """
        plan = FaultPlan(faults)
        with self._lock:
            self._plan = plan

    def set_latency(self, latency: Latency) -> None:
        """Use this latency model for sessions that start from now on (thread-safe).

        For example ``Latency.fast(hold_s=0.05)`` for a test that races a second
        ``response.create`` against an active response.
        """
        with self._lock:
            self.config = replace(self.config, latency=latency)

    def reset(self) -> None:
        """Forget received events, sessions, ledger, errors and fault counters (thread-safe)."""
        with self._lock:
            self._received.clear()
            self._sessions.clear()
            self._errors.clear()
            self.lateness.clear()
            self._plan = FaultPlan(self._plan.faults)
        self._ledger.clear()

    def check(self) -> None:
        """Re-raise the first error the server itself hit (a bug in the mock, not a fault)."""
        with self._lock:
            errors = list(self._errors)
        if errors:
            raise errors[0]

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the voices (unless given), bind and start serving in the running loop."""
        if self.config.voices is None and self._replay is None:
            # reading and resampling the samples is file I/O: off the loop, once per process
            voices = await asyncio.get_running_loop().run_in_executor(None, default_voices)
            with self._lock:
                self.config = replace(self.config, voices=voices)
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            compression=None,  # permessage-deflate costs ~10x CPU; OpenAI has none
            max_size=MAX_FRAME,
            process_request=self._process_request,
            process_response=self._process_response,
            select_subprotocol=_select_subprotocol,
            server_header=None,
            backlog=LISTEN_BACKLOG,
            create_connection=BatchingConnection,
            ssl=self.tls,
        )
        sock = next(iter(self._server.sockets))
        self.port = int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Close every connection (1001) and stop listening."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()

    async def __aenter__(self) -> MockServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[MockServer]:
        """Run the server on its own thread and event loop for the duration of the block."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=main, name="realtime-harness-mock", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            loop.close()
            raise failure[0]
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()

    # --- handshake -------------------------------------------------------------------------------

    def _reject(
        self,
        connection: ServerConnection,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body = orjson.dumps({"error": {"code": code, "message": message}}).decode()
        if self.on_reject is not None:
            request = connection.request
            path = self._loggable(request.path, request.headers) if request else "?"
            # Azure's codes for 401/404/429 are the status again: print it once
            detail = "" if code == str(status) else f" {code}"
            self.on_reject(redact_text(f"rejected {path} HTTP {status}{detail}"))
        response = connection.respond(status, body + "\n")
        # websockets' Headers appends on assignment: replace respond()'s text/plain, not add to it
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    def _fault_headers(self, request: Request) -> dict[str, str]:
        """The id headers of an injected refusal, shaped as the route's service sends them."""
        request_id = str(uuid.UUID(int=self._fault_ids.getrandbits(128), version=4))
        try:
            _, route = parse_route(request.path)
        except ValueError:
            route = None
        if route is not None and route.form.azure:
            return {
                "apim-request-id": request_id,
                "x-request-id": request_id,
                "x-ms-region": "Mock Region",
            }
        return {"x-request-id": f"req_{request_id.replace('-', '')}"}

    def _loggable(self, target: str, headers: Headers) -> str:
        """The request target as the mock logs it: a known route and known parameters only, and
        no value that is or may be a credential (a client may put its key anywhere, even in the
        path or ``model``)."""
        try:
            path, route = parse_route(target)
            query = {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
        except ValueError:
            return "<unparsable request target>"
        shown = path if route is not None else "<other path>"
        presented = _credential(headers, query)
        secrets = [s for s in (self.require_key, presented) if s]
        params = [
            f"{name}={value if _plain_name(value, secrets) else MASK}"
            for name, value in query.items()
            if name in _LOGGED_PARAMS
        ]
        return shown + ("?" + "&".join(params) if params else "")

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        with self._lock:
            plan = self._plan
        # One kind at a time: a rejection that fires must not use up the other rejection's count.
        for kind in (FaultKind.SLOW_HANDSHAKE, FaultKind.HANDSHAKE_429, FaultKind.HANDSHAKE_503):
            fired = plan.take(FaultPhase.HANDSHAKE, self._rng, (kind,))
            if not fired:
                continue
            fault = fired[0]
            self._ledger.add(FaultRecord(kind=fault.kind.value, t=time.time(), detail=fault.spec))
            if fault.kind is FaultKind.SLOW_HANDSHAKE:
                await asyncio.sleep(fault.delay if fault.delay is not None else 2.0)
            elif fault.kind is FaultKind.HANDSHAKE_429:
                return self._reject(
                    connection,
                    429,
                    "429",
                    "Requests to the Realtime API have exceeded call rate limit. Please retry "
                    "after the time in the retry-after header.",
                    {**self._fault_headers(request), "retry-after": f"{fault.retry_after:g}"},
                )
            elif fault.kind is FaultKind.HANDSHAKE_503:
                # A regional incident: the refusal still carries the ids support asks for.
                return self._reject(
                    connection,
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                    self._fault_headers(request),
                )
        path, route = parse_route(request.path)
        query = route.query if route is not None else {}
        headers = request.headers
        azure = route is not None and route.form.azure
        extra: dict[str, str] = {}
        request_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        if azure:
            # Azure answers carry these ids, the same value in both
            extra = {
                "apim-request-id": request_id,
                "x-request-id": request_id,
                "x-ms-region": "Mock Region",
            }
        else:
            extra = {"x-request-id": f"req_{request_id.replace('-', '')}"}
        if route is None:
            return self._reject(connection, 404, "404", f"Resource not found: {path or '/'}", extra)
        key = _credential(headers, query)
        if key is None:
            return self._reject(
                connection,
                401,
                "401",
                "Access denied due to missing subscription key or Authorization header. Make "
                "sure to include an api-key header or a Bearer token.",
                extra,
            )
        if azure and self.require_key is not None and key != self.require_key:
            return self._reject(
                connection, 401, "401", "Access denied due to invalid subscription key.", extra
            )
        beta_header = "realtime=v1" in headers.get("OpenAI-Beta", "") or any(
            "openai-beta.realtime-v1" in p for p in headers.get_all("Sec-WebSocket-Protocol")
        )
        fatal: tuple[str, str, int] | None = None
        if route.forbidden:
            return self._reject(
                connection,
                401,
                "401",
                f"{route.forbidden[0]} is not allowed on the v1 realtime route; remove it.",
                extra,
            )
        if route.missing:
            return self._reject(
                connection,
                400,
                "BadRequest",
                "Both api-version and deployment query parameters are required.",
                extra,
            )
        version = query.get("api-version")
        if route.form.version_param is not None and version not in self.api_versions:
            return self._reject(connection, 400, "BadRequest", "API version not supported", extra)
        dialect, model = route.form.dialect or self.dialect, route.name
        if azure and model not in self.deployments:
            return self._reject(
                connection,
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.",
                extra,
            )
        if route.form.dialect is None:
            if self.require_key is not None and key != self.require_key:
                fatal = (
                    "invalid_api_key",
                    f"Incorrect API key provided: {_mask(key)}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    codes.CLOSE_AUTH,
                )
            elif beta_header and self.dialect is Dialect.GA:
                fatal = (
                    "beta_api_shape_disabled",
                    "The Realtime Beta API is no longer supported. Please use /v1/realtime for "
                    "the GA API.",
                    codes.CLOSE_BAD_REQUEST,
                )
            elif not model and query.get("intent") != "transcription":
                fatal = (
                    "missing_model",
                    "You must provide a model parameter, for example "
                    "wss://api.openai.com/v1/realtime?model=gpt-realtime",
                    codes.CLOSE_BAD_REQUEST,
                )
        if not azure and fatal is None and model and model not in self.models:
            fatal = (
                "invalid_model",
                f'Model "{model}" is not supported in realtime mode.',
                codes.CLOSE_BAD_REQUEST,
            )
        if model and any(word in model.lower() for word in _NOT_REALTIME):
            if azure:
                # "OpperationNotSupported" (sic) is the code Azure really sends
                return self._reject(
                    connection,
                    400,
                    "OpperationNotSupported",
                    "The realtime operation does not work with the specified model, "
                    f"{model}. Please choose different model and try again.",
                    extra,
                )
            if fatal is None:
                fatal = (
                    "invalid_model",
                    f'Model "{model}" is not supported in realtime mode.',
                    codes.CLOSE_BAD_REQUEST,
                )
        self._pending[connection] = _Handshake(
            dialect=dialect,
            model=model,
            path=self._loggable(request.path, request.headers),
            fatal=fatal,
            headers=extra,
        )
        return None

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        pending = self._pending.get(connection)
        if pending is not None and response.status_code == 101:
            for name, value in pending.headers.items():
                response.headers[name] = value
        return None

    # --- sessions --------------------------------------------------------------------------------

    def _new_session(self, hs: _Handshake, now: float) -> SessionLike:
        with self._lock:
            index = self._counter
            self._counter += 1
            plan = self._plan
            base = self.config
        rng = random.Random(f"{self.seed}:{index}")
        config = replace(base, dialect=hs.dialect)
        if self._replay is not None:
            from realtime_harness.mock.replay import ReplaySession

            return ReplaySession(self._replay, config=config, now=now, rng=rng)
        return SessionBehaviour(
            config, rng=rng, now=now, wall_now=time.time(), faults=plan, model=hs.model
        )

    async def _handler(self, ws: ServerConnection) -> None:
        hs = self._pending.pop(ws, None) or _Handshake(self.dialect, None, "/")
        loop = asyncio.get_running_loop()
        try:
            if hs.fatal is not None:
                await self._fatal(ws, hs)
                return
            session = self._new_session(hs, loop.time())
            record = SessionLog(
                session_id=session.session_id,
                dialect=hs.dialect,
                path=hs.path,
                started_at=time.time(),
            )
            with self._lock:
                self._sessions.append(record)
            # the server's deltas are not fed to it (see _Link.send_due)
            validator = Validator(hs.dialect, deltas=False) if self.validate else None
            link = _Link(
                ws, session, record, validator, self.lateness if self.record_lateness else None
            )
            reader = asyncio.create_task(self._read(ws, link))
            try:
                await self._drive(ws, session, record, validator, link, reader)
            finally:
                link.stop()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                if link.closer is not None:
                    await link.closer
                record.ended_at = time.time()
                # a code set while running is the one the server closed with (for abuse)
                record.close_code = record.close_code or _close_code(ws)
                if validator is not None:
                    client = [v for v in validator.violations if v.side == "client"]
                    record.client_violations = client[:_SESSION_VIOLATIONS_CAP]
                    record.client_violations_dropped = len(client) - len(record.client_violations)
                if self.on_session_end is not None:
                    self.on_session_end(record)
        except ConnectionClosed:
            pass
        except Exception as exc:
            log.exception("mock server error")
            with self._lock:
                self._errors.append(exc)
            raise

    async def _fatal(self, ws: ServerConnection, hs: _Handshake) -> None:
        code, message, close_code = hs.fatal or ("", "", 1000)
        event = {
            "type": C.ERROR,
            "event_id": new_id("event", self._rng),
            "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": None,
                "event_id": None,
            },
        }
        if self.on_reject is not None:
            self.on_reject(redact_text(f"rejected {hs.path} error {code} close {close_code}"))
        await ws.send(orjson.dumps(event), text=True)
        await ws.close(close_code, f"invalid_request_error.{code}")

    async def _read(self, ws: ServerConnection, link: _Link) -> None:
        """Read what the connection's callback does not get (every message when the connection
        is not a BatchingConnection, a fragmented one otherwise) until the client leaves."""
        try:
            while True:
                try:
                    # bytes: orjson parses UTF-8 directly, no str decode of 6 KB appends
                    message = await ws.recv(decode=False)
                except ConnectionClosed:
                    return
                reason = self._receive(link, message)
                if reason is not None:
                    await _close_abusive(ws, link.record, reason)
                    return
        finally:
            link.wake.set()

    def _on_message(self, link: _Link, message: bytes) -> None:
        """The connection's callback for each client message (no task switch per message)."""
        if link.closer is not None or link.error is not None:
            return  # closing this client: what it still sends is not read
        try:
            reason = self._receive(link, message)
        except Exception as exc:
            # the driving task raises it: logged and recorded as an error of this server
            link.error = exc
            link.wake.set()
            return
        if reason is not None:
            if isinstance(link.ws, BatchingConnection):
                link.ws.queue_messages()  # unread: the library stops reading from this client
            link.closer = asyncio.create_task(_close_abusive(link.ws, link.record, reason))
            link.wake.set()

    def _receive(self, link: _Link, message: bytes) -> str | None:
        """Log, validate and perform one client message; a reason when the client must be
        closed for breaking the bounds."""
        session = link.session
        record = link.record
        validator = link.validator
        now = link.now()
        record.messages += 1
        event: dict[str, Any] | None = None
        raw = ""
        try:
            parsed = orjson.loads(message)
            event = parsed if isinstance(parsed, dict) else None
        except orjson.JSONDecodeError:
            pass
        audio_bytes: int | None = None
        keep = self.keep_received
        logged = b""
        if event is None:
            link.invalid += 1
            raw = bytes(message[:200]).decode("utf-8", "replace")
            if keep:
                logged = orjson.dumps({"unparsed": raw})
            checked = None
        else:
            checked = event
            audio = event.get("audio")
            if isinstance(audio, str) and event.get("type") in C.APPEND_TYPES:
                # the one base64 check of this append, shared with the behaviour
                audio_bytes = b64_decoded_length(audio)
                payload: dict[str, Any] = {"elided": True, "chars": len(audio)}
                if audio_bytes is not None:
                    payload["bytes"] = audio_bytes
                elided = {**event, "audio": payload}
                if keep:
                    logged = orjson.dumps(elided)
                # The validator reads an elided append's exact size from "bytes"; text
                # that is not base64 it checks itself (and reports).
                if audio_bytes is not None:
                    checked = elided
            elif keep:
                logged = orjson.dumps(event)
        # An invalid-JSON flood is logged by its first frames only: thousands of small
        # log entries from one client would pin the allocator's arenas long after it left.
        if keep and link.invalid <= _INVALID_LOGGED:
            self._log_received(record, logged)
        if validator is not None and checked is not None:
            if audio_bytes is not None:
                validator.checked_append(checked, audio_bytes)
            else:
                validator.client_event(checked)
        session.receive(event, now, raw=raw, audio_bytes=audio_bytes)
        if link.invalid > MAX_INVALID_FRAMES:
            return "too many invalid client events"
        if session.backlog > MAX_BACKLOG:
            return "client is not reading its events"
        # Most appends produce nothing; an event that made something due sooner than
        # the link's timer re-arms it. Even what is due now goes out only after the frames
        # the client had already sent (at the end of the read, or from the timer): the
        # validator and the session see the two directions in the order a real server would.
        deadline = session.next_deadline()
        if deadline is not None and deadline < link.armed:
            link.arm()
        return None

    def _log_received(self, record: SessionLog, logged: bytes) -> None:
        with self._lock:
            self._received.append(logged)
        if (
            len(record.received_raw) < _SESSION_RECEIVED_CAP
            and record.received_bytes < _SESSION_RECEIVED_BYTES
        ):
            record.received_raw.append(logged)
            record.received_bytes += len(logged)

    async def _drive(
        self,
        ws: ServerConnection,
        session: SessionLike,
        record: SessionLog,
        validator: Validator | None,
        link: _Link,
        reader: asyncio.Task[None],
    ) -> None:
        """Perform what the link's callbacks do not: sends that must wait for the client to
        read, raw frames, ledger records, closes, drops and stalls."""
        lateness = link.lateness
        wake = link.wake
        while True:
            # Events due together go out with one socket write (BatchingConnection); anything
            # else (a raw frame, a ledger record, a close) first flushes what is before it.
            frames: list[bytes] = []
            due: list[float] = []
            for action in link.take_pending() + session.poll(link.now()):
                if isinstance(action, SendEvent):
                    event = action.event
                    frames.append(orjson.dumps(event))
                    due.append(action.at)
                    # Deltas are most of the traffic and only matter to server-side rules; the
                    # validator is here for the client's side, which needs the other events.
                    if validator is not None and not event["type"].endswith(".delta"):
                        validator.server_event(event)
                    continue
                if frames:
                    await _flush(ws, record, frames, due, lateness)
                    frames, due = [], []
                if isinstance(action, SendRaw):
                    await ws.send(action.text)
                    record.sent += 1
                elif isinstance(action, RecordFault):
                    self._ledger.add(action.record.model_copy(update={"t": time.time()}))
                    record.faults += 1
                elif isinstance(action, Close):
                    await ws.close(action.code, action.reason)
                    return
                elif isinstance(action, Drop):
                    ws.transport.abort()
                    return
                elif isinstance(action, Stall):
                    await reader
                    return
            if frames:
                await _flush(ws, record, frames, due, lateness)
            if reader.done():
                return
            if not link.receiving and isinstance(ws, BatchingConnection):
                # from now on (session.created is out) client messages come to the callback,
                # those already received first
                link.receiving = True
                ws.take_messages(functools.partial(self._on_message, link), link.after_read)
            link.arm()
            link.idle = True
            await wake.wait()
            link.idle = False
            wake.clear()
            if link.error is not None:
                raise link.error
            if link.closer is not None:
                return  # the handler waits for the close


async def _flush(
    ws: ServerConnection,
    record: SessionLog,
    frames: list[bytes],
    due: list[float],
    lateness: list[float] | None,
) -> None:
    """Send serialised events and account for them (lateness: when they left vs when due)."""
    await send_texts(ws, frames)
    record.sent += len(frames)
    if lateness is not None:
        sent_at = asyncio.get_running_loop().time()
        lateness.extend(sent_at - at for at in due)


async def _close_abusive(ws: ServerConnection, record: SessionLog, reason: str) -> None:
    """Close 1008 a client that breaks the bounds, without waiting long for its close frame: a
    client that does not read would hold the connection for the default 10 s."""
    record.close_code = 1008
    try:
        # close() first waits for the write buffer to drain, which a non-reader never lets
        # happen: bound the whole close, then drop the connection
        await asyncio.wait_for(ws.close(1008, reason), _ABUSE_CLOSE_S)
    except TimeoutError:
        ws.transport.abort()


class _Link:
    """One connection's state between its callbacks and its tasks: the client messages handed
    to ``MockServer._on_message``, and a timer on the session's next deadline whose callback
    sends the due events itself when the connection takes them without waiting.

    A busy mock spends much of its time switching to tasks; sending from the timer callback
    skips the switch for the common case (events only, client reading). Anything else, or a
    client that is not reading, wakes the driving task (``MockServer._drive``), which performs
    it with waiting sends. Only one of the two sends at a time: the callbacks send only while
    the task is idle, so frames never overtake each other.
    """

    __slots__ = (
        "_context",
        "_on_due",
        "armed_at",
        "closer",
        "error",
        "idle",
        "invalid",
        "lateness",
        "loop",
        "pending",
        "reached",
        "receiving",
        "record",
        "session",
        "stopped",
        "timer",
        "validator",
        "wake",
        "ws",
    )

    def __init__(
        self,
        ws: ServerConnection,
        session: SessionLike,
        record: SessionLog,
        validator: Validator | None,
        lateness: list[float] | None,
    ) -> None:
        self.ws = ws
        self.session = session
        self.record = record
        self.validator = validator
        self.lateness = lateness
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.timer: asyncio.TimerHandle | None = None
        # The timer's callback and context, made once: a bound method and a copied context per
        # timer would be alive in every session at once, walked by each young-generation pass
        # of the garbage collector (as the client's waker, docs/benchmarks.md). The callback
        # reads no context variable. Dropped at stop: the bound method refers back to the link.
        self._on_due: Callable[[], None] | None = self._due
        self._context = contextvars.Context()
        #: The deadline ``timer`` was set for (inf: none). Kept here because a loop may round
        #: it: uvloop's ``TimerHandle.when()`` is the deadline in whole milliseconds.
        self.armed_at = math.inf
        #: The driving task is waiting for ``wake`` (callbacks may send).
        self.idle = False
        #: Actions a callback polled and left to the task (they go before anything newer).
        self.pending: list[Action] = []
        self.stopped = False
        #: Client messages come to ``MockServer._on_message`` (not only to the reader task).
        self.receiving = False
        #: Client frames that were not JSON objects.
        self.invalid = 0
        #: Closing a client that broke the bounds.
        self.closer: asyncio.Task[None] | None = None
        #: The deadline of the last timer that fired: reached, even when the loop's clock says
        #: it is a moment away (see ``_due``).
        self.reached = -math.inf
        #: What went wrong handling a client message in the callback.
        self.error: Exception | None = None

    @property
    def armed(self) -> float:
        """When the link sends next on its own (-inf while the task is busy: it re-reads the
        session's deadline before it waits, so nothing needs to wake it)."""
        if not self.idle:
            return -math.inf
        return self.armed_at

    def take_pending(self) -> list[Action]:
        """The actions a callback left to the task, in order."""
        pending, self.pending = self.pending, []
        return pending

    def arm(self) -> None:
        """Keep one timer on the session's next deadline, re-armed only when that is earlier:
        creating and cancelling a timer per wake-up fills the loop's heap at high load."""
        deadline = self.session.next_deadline()
        if deadline is not None and deadline < self.armed_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_at(
                deadline, self._on_due or self._due, context=self._context
            )
            self.armed_at = deadline

    def now(self) -> float:
        """The time to poll the session at: the loop's clock, or the deadline of the timer that
        has just fired when that is later."""
        now = self.loop.time()
        reached = self.reached
        return reached if reached > now else now

    def after_read(self) -> None:
        """The client's messages of one read are handled: send what they made due now (a
        reply: committed, response.created...) at once, not from the timer in a later turn of
        the loop, after every other connection's reads of that turn."""
        if not self.idle or self.stopped:
            return
        deadline = self.session.next_deadline()
        now = self.loop.time()
        if deadline is None or deadline > now:
            return
        if self.timer is not None and self.armed_at <= now:
            # the timer armed for this moment would find nothing left to send
            self.timer.cancel()
            self.timer = None
            self.armed_at = math.inf
        self.send_due()

    def _due(self) -> None:
        # A loop may run a timer a little before its deadline by its own clock: uvloop (libuv)
        # counts timers in whole milliseconds and fires them up to 1 ms early. Polling at the
        # clock would then find nothing due and re-arm for the same deadline, running the loop
        # round and round until that millisecond has passed. A fired timer's deadline is
        # reached.
        self.reached = self.armed_at
        self.armed_at = math.inf
        self.timer = None
        if self.idle:
            self.send_due()
        else:
            self.wake.set()

    def send_due(self) -> None:
        """Send what is due now, from a callback; hand the rest to the task."""
        ws = self.ws
        if self.stopped or self.wake.is_set():
            return  # the task is about to run and will poll
        if not (isinstance(ws, BatchingConnection) and ws.can_write_now()):
            self.wake.set()
            return
        loop = self.loop
        frames: list[bytes] = []
        due: list[float] = []
        validator = self.validator
        actions = self.session.poll(self.now())
        for index, action in enumerate(actions):
            if not isinstance(action, SendEvent):
                self.pending = actions[index:]
                break
            event = action.event
            frames.append(orjson.dumps(event))
            due.append(action.at)
            # as in MockServer._drive: the validator follows the client's side only
            if validator is not None and not event["type"].endswith(".delta"):
                validator.server_event(event)
        if frames:
            ws.write_texts_now(frames)
            self.record.sent += len(frames)
            if self.lateness is not None:
                sent_at = loop.time()
                self.lateness.extend(sent_at - at for at in due)
        if self.pending:
            self.wake.set()
        else:
            self.arm()

    def stop(self) -> None:
        """The connection is over: no more callbacks."""
        self.stopped = True
        if self.receiving and isinstance(self.ws, BatchingConnection):
            self.ws.queue_messages()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.armed_at = math.inf
        self._on_due = None


_LOGGED_PARAMS = frozenset({"model", "deployment", "api-version", "intent"})
_NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A model or deployment name is words joined by separators; a key is one long run.
_KEY_LIKE = re.compile(r"[A-Za-z0-9]{20,}")


def _plain_name(value: str, secrets: Iterable[str]) -> bool:
    """Whether a parameter value is safe to log: name-shaped and no credential in it."""
    if not _NAME.fullmatch(value) or _KEY_LIKE.search(value):
        return False
    if redact_text(value) != value:
        return False
    return not any(secret in value or value in secret for secret in secrets)


def _select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
    # Browsers authenticate with subprotocols; the server answers "realtime"
    return "realtime" if "realtime" in offered else None


def _credential(headers: Headers, query: Mapping[str, str]) -> str | None:
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    if headers.get("api-key"):
        return headers["api-key"]
    if query.get("api-key"):
        return query["api-key"]
    for offered in headers.get_all("Sec-WebSocket-Protocol"):
        for protocol in offered.split(","):
            protocol = protocol.strip()
            if protocol.startswith("openai-insecure-api-key."):
                return protocol.removeprefix("openai-insecure-api-key.")
    return None


def _mask(key: str) -> str:
    # the real message shows the key's prefix and last four characters; never the whole key
    return f"{key[:3]}*****{key[-4:]}" if len(key) > 8 else "*****"


def _close_code(ws: ServerConnection) -> int | None:
    if ws.close_code is not None:
        return ws.close_code
    return 1006 if ws.state.name == "CLOSED" else None
