"""From what a session showed to a named cause and its fix: the advice table of ``doctor``.

Pure functions. :func:`classify` takes an :class:`Observation` (the handshake status and response
headers, the body of a refused handshake, the first ``error`` event, the close code and reason,
the route used) and names one :class:`Cause` from :data:`ADVICE`, a table with one row per cause.
The rows are written so that no observation matches two of them (the tests check it), and the
first match is the answer.

Two causes need more than one observation: :func:`classify_attempts` tells a transient
``server_error`` from a persistent one given every attempt (failure rate and every attempt's
ids, what a support ticket asks for), and :func:`check_clock` compares the local clock with the
server's ``Date`` header and the session's ``expires_at``.

Sources: the Azure OpenAI realtime how-to and migration guide
(https://learn.microsoft.com/azure/ai-foundry/openai/how-to/realtime-audio), the OpenAI Realtime
guide (https://platform.openai.com/docs/guides/realtime-websocket) and the error reference
(https://platform.openai.com/docs/guides/error-codes), and what users report on Microsoft Q&A
for refused realtime handshakes (status, body and the ``apim-request-id``/``x-ms-region``
headers).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from realtime_harness.doctor.checks import Check, Stage, Status
from realtime_harness.doctor.config import SDK_FIX, UrlForm, route_form
from realtime_harness.protocol.codes import (
    AUTH_CLOSE_CODES,
    AUTH_ERROR_CODES,
    CLOSE_MODEL_NOT_FOUND,
    TRANSIENT_ERROR_TYPES,
)

__all__ = [
    "ADVICE",
    "ID_HEADERS",
    "Advice",
    "Attempt",
    "Cause",
    "Diagnosis",
    "Observation",
    "check_clock",
    "classify",
    "classify_attempts",
    "ids_from_headers",
    "matching_rows",
]

#: Response headers worth printing and attaching to a support ticket (Azure sends
#: ``apim-request-id`` and ``x-ms-region`` even on a refused handshake; OpenAI ``x-request-id``).
ID_HEADERS: tuple[str, ...] = (
    "apim-request-id",
    "x-request-id",
    "x-ms-region",
    "x-ms-client-request-id",
    "retry-after",
    "date",
)


class Cause(enum.StrEnum):
    """A named reason for a session that fails at once."""

    API_VERSION_ON_GA_URL = "api-version-on-ga-url"
    API_VERSION_UNSUPPORTED = "api-version-unsupported"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    DEPLOYMENT_NOT_FOUND = "deployment-not-found"
    ROUTE_NOT_FOUND = "route-not-found"
    NOT_A_REALTIME_MODEL = "not-a-realtime-model"
    HANDSHAKE_REFUSED = "handshake-refused"
    THROTTLED = "throttled"
    SERVICE_UNAVAILABLE = "service-unavailable"
    INVALID_API_KEY = "invalid-api-key"
    BETA_SHAPE_DISABLED = "beta-shape-disabled"
    MISSING_MODEL = "missing-model"
    INVALID_MODEL = "invalid-model"
    MODEL_NOT_FOUND = "model-not-found"
    GA_EVENTS_ON_PREVIEW_ROUTE = "ga-events-on-preview-route"
    DIALECT_MISMATCH = "dialect-mismatch"
    SERVER_ERROR = "server-error"
    SERVER_ERROR_TRANSIENT = "server-error-transient"
    SERVER_ERROR_PERSISTENT = "server-error-persistent"
    CLOCK_SKEW = "clock-skew"


class Diagnosis(BaseModel):
    """A named cause with the evidence that points at it, its fix and the ids seen."""

    model_config = ConfigDict(frozen=True)

    cause: Cause
    evidence: str
    fix: str
    seen: dict[str, str] = Field(default_factory=dict)

    def to_check(self, name: str, stage: Stage, status: Status = Status.FAIL) -> Check:
        """This diagnosis as a report row."""
        return Check(
            name=name,
            stage=stage,
            status=status,
            evidence=f"{self.cause.value}: {self.evidence}",
            fix=self.fix,
            seen=self.seen,
            cause=self.cause.value,
        )


@dataclass(frozen=True)
class Observation:
    """What one connection attempt showed, as far as it got.

    ``status`` is the handshake's HTTP status (101 when the upgrade succeeded); ``body`` the
    refused handshake's body (JSON text or already parsed, any type); ``error`` the first
    ``error`` event (the whole event or its ``error`` object) or a failed ``response.done``;
    ``url`` the route used.
    """

    url: str | None = None
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    error: Mapping[str, Any] | None = None
    close_code: int | None = None
    close_reason: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class _Facts:
    """An observation reduced to the few fields the table reads, every one a clean type."""

    status: int | None
    form: UrlForm | None
    api_version_in_url: str | None
    body_code: str
    body_message: str
    error_type: str
    error_code: str
    error_param: str
    error_message: str
    close_code: int | None
    close_reason: str
    seen: dict[str, str]

    @property
    def code(self) -> str:
        """The error code from the event, else from the close reason (``type.code``)."""
        return self.error_code or self.close_reason.rpartition(".")[2]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _error_object(body: object) -> Mapping[str, Any]:
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return {}
    if isinstance(body, Mapping):
        response = body.get("response")
        if isinstance(response, Mapping):  # a failed response.done: status_details.error
            details = response.get("status_details")
            body = details if isinstance(details, Mapping) else {}
        inner = body.get("error")
        return inner if isinstance(inner, Mapping) else body
    return {}


def ids_from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The id, region and timing headers of a response, by their lower-case names."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    return {name: lowered[name] for name in ID_HEADERS if name in lowered}


def _facts(obs: Observation) -> _Facts:
    # The route decides how the server answers, on any host (a gateway or mock serves it too).
    form = route_form(obs.url) if obs.url else None
    version = None
    if obs.url:
        try:
            values = parse_qs(urlsplit(obs.url).query).get("api-version")
        except ValueError:
            values = None
        version = values[0] if values else None
    body = _error_object(obs.body)
    error = _error_object(obs.error) if obs.error is not None else {}
    seen = ids_from_headers(obs.headers)
    if obs.session_id:
        seen["session_id"] = obs.session_id
    event_id = obs.error.get("event_id") if isinstance(obs.error, Mapping) else None
    if isinstance(event_id, str):
        seen["event_id"] = event_id
    if obs.status is not None:
        seen["status"] = str(obs.status)
    if obs.close_code is not None:
        seen["close"] = f"{obs.close_code} {_text(obs.close_reason)}".strip()
    return _Facts(
        status=obs.status if isinstance(obs.status, int) else None,
        form=form,
        api_version_in_url=version,
        body_code=_text(body.get("code")),
        body_message=_text(body.get("message")),
        error_type=_text(error.get("type")),
        error_code=_text(error.get("code")),
        error_param=_text(error.get("param")),
        error_message=_text(error.get("message")),
        close_code=obs.close_code if isinstance(obs.close_code, int) else None,
        close_reason=_text(obs.close_reason),
        seen=seen,
    )


# Azure's body spells it with a double p ("OpperationNotSupported") on the wire; accept both.
_NOT_SUPPORTED = frozenset({"operationnotsupported", "opperationnotsupported"})


def _refused(f: _Facts, status: int) -> bool:
    return f.status == status


def _not_realtime(f: _Facts) -> bool:
    return f.body_code.lower() in _NOT_SUPPORTED or f.error_code.lower() in _NOT_SUPPORTED


def _version_refused(f: _Facts) -> bool:
    """Azure's answer to an api-version it does not serve: HTTP 400 "API version not
    supported" (code ``BadRequest``)."""
    return f.status == 400 and "api version not supported" in f.body_message.lower()


def _session_param(f: _Facts) -> bool:
    """The error names a session field (``param`` or, when param is empty, the message)."""
    return f.error_param.startswith("session.") or "'session." in f.error_message


@dataclass(frozen=True)
class Advice:
    """One row of the advice table: a cause, when it applies, and what to do about it."""

    cause: Cause
    applies: Callable[[_Facts], bool]
    evidence: Callable[[_Facts], str]
    fix: str


def _msg(f: _Facts) -> str:
    message = f.error_message or f.body_message
    return f" ({message[:160]})" if message else ""


#: The advice table: one row per cause, mutually exclusive, first match wins.
ADVICE: tuple[Advice, ...] = (
    Advice(
        Cause.API_VERSION_ON_GA_URL,
        lambda f: _refused(f, 401) and f.form is UrlForm.AZURE_GA and bool(f.api_version_in_url),
        lambda f: f"HTTP 401 on /openai/v1/realtime with api-version={f.api_version_in_url}",
        "remove api-version from the URL: the GA v1 route takes none",
    ),
    Advice(
        Cause.UNAUTHORIZED,
        lambda f: (
            _refused(f, 401) and not (f.form is UrlForm.AZURE_GA and bool(f.api_version_in_url))
        ),
        lambda f: f"HTTP 401: the credential was missing or refused{_msg(f)}",
        "check the key belongs to this resource (AZURE_OPENAI_API_KEY as the api-key header) or "
        "that the Entra token has the Cognitive Services OpenAI User role",
    ),
    Advice(
        Cause.FORBIDDEN,
        lambda f: _refused(f, 403),
        lambda f: f"HTTP 403: authenticated but not allowed{_msg(f)}",
        "check the resource's network rules (firewall, private endpoint) and that the account or "
        "role has realtime access",
    ),
    Advice(
        Cause.DEPLOYMENT_NOT_FOUND,
        lambda f: _refused(f, 404) and f.body_code.lower() == "deploymentnotfound",
        lambda f: f"HTTP 404 DeploymentNotFound{_msg(f)}",
        "use the deployment name from the Azure portal (Deployments), not the model name; a new "
        "deployment can take a few minutes to appear",
    ),
    Advice(
        Cause.ROUTE_NOT_FOUND,
        lambda f: _refused(f, 404) and f.body_code.lower() != "deploymentnotfound",
        lambda f: f"HTTP 404 without DeploymentNotFound: the path is not a realtime route{_msg(f)}",
        "use wss://NAME.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT (do not mix the GA "
        "and preview URL forms)",
    ),
    Advice(
        Cause.NOT_A_REALTIME_MODEL,
        _not_realtime,
        lambda f: f"OperationNotSupported: the deployment is not a realtime model{_msg(f)}",
        "deploy a realtime model (gpt-realtime, gpt-realtime-mini, gpt-4o-realtime-preview) and "
        "use that deployment's name",
    ),
    Advice(
        Cause.API_VERSION_UNSUPPORTED,
        _version_refused,
        lambda f: (
            f"HTTP 400 API version not supported: api-version={f.api_version_in_url or '?'} is "
            "retired or unknown"
        ),
        "use the GA route wss://NAME.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT (no "
        "api-version); on the preview route the last realtime api-version is 2025-04-01-preview",
    ),
    Advice(
        Cause.HANDSHAKE_REFUSED,
        lambda f: (
            f.status is not None
            and 400 <= f.status < 500
            and f.status not in (401, 403, 404, 429)
            and not _not_realtime(f)
            and not _version_refused(f)
        ),
        lambda f: f"HTTP {f.status} on the upgrade{_msg(f)}",
        "compare the URL and headers with the documented form; the body's code names the field",
    ),
    Advice(
        Cause.THROTTLED,
        lambda f: _refused(f, 429),
        lambda f: (
            "HTTP 429: the deployment's rate or concurrent-session limit"
            + (f"; retry-after {f.seen['retry-after']}" if "retry-after" in f.seen else "")
        ),
        "wait for retry-after, lower the concurrency, or raise the deployment's quota",
    ),
    Advice(
        Cause.SERVICE_UNAVAILABLE,
        lambda f: f.status is not None and 500 <= f.status < 600,
        lambda f: f"HTTP {f.status} on the upgrade: the service or its region is failing",
        "retry with backoff; check the provider's status page; try another region or "
        "deployment; give support the request id, region and time",
    ),
    Advice(
        Cause.INVALID_API_KEY,
        lambda f: f.code in AUTH_ERROR_CODES or (f.close_code in AUTH_CLOSE_CODES and not f.code),
        lambda f: f"invalid_api_key{_msg(f)}, close {f.close_code or '-'}",
        "use a valid OpenAI key (sk-…) for api.openai.com, sent as Authorization: Bearer",
    ),
    Advice(
        Cause.BETA_SHAPE_DISABLED,
        lambda f: f.code == "beta_api_shape_disabled",
        lambda f: f"beta_api_shape_disabled{_msg(f)}",
        "drop the OpenAI-Beta: realtime=v1 header and speak the GA dialect",
    ),
    Advice(
        Cause.MISSING_MODEL,
        lambda f: f.code == "missing_model",
        lambda f: f"missing_model{_msg(f)}",
        "add ?model=NAME to the URL",
    ),
    Advice(
        Cause.INVALID_MODEL,
        lambda f: f.code == "invalid_model",
        lambda f: f"invalid_model: not a realtime model{_msg(f)}",
        "use a realtime model (gpt-realtime, gpt-realtime-mini) in ?model=",
    ),
    Advice(
        Cause.MODEL_NOT_FOUND,
        lambda f: (
            f.code == "model_not_found"
            or (f.close_code == CLOSE_MODEL_NOT_FOUND and not f.error_code)
        ),
        lambda f: f"model_not_found{_msg(f)}",
        "check the model name and that the account has access to it",
    ),
    Advice(
        Cause.GA_EVENTS_ON_PREVIEW_ROUTE,
        lambda f: (
            f.code == "unknown_parameter" and _session_param(f) and f.form is UrlForm.AZURE_PREVIEW
        ),
        lambda f: (
            f"unknown_parameter '{f.error_param or 'session.type'}' on the preview route: "
            "GA events sent to the preview protocol (what the openai package's "
            "AzureOpenAI(...).realtime does)"
        ),
        f"use the GA route /openai/v1/realtime; with the openai package pass {SDK_FIX}",
    ),
    Advice(
        Cause.DIALECT_MISMATCH,
        lambda f: (
            f.code in ("unknown_parameter", "missing_required_parameter")
            and _session_param(f)
            and not (f.code == "unknown_parameter" and f.form is UrlForm.AZURE_PREVIEW)
        ),
        lambda f: (
            f"{f.code} '{f.error_param or 'session'}': the session.update is in the other "
            "dialect's shape"
        ),
        "send the dialect the route expects: GA (session.type, audio.input/output) on "
        "/openai/v1/realtime and api.openai.com; beta on the preview route",
    ),
    Advice(
        Cause.SERVER_ERROR,
        # 1011 is the WebSocket "internal error" close (RFC 6455, section 7.4.1).
        lambda f: (
            f.error_type in TRANSIENT_ERROR_TYPES or (f.close_code == 1011 and not f.error_code)
        ),
        lambda f: f"server_error{_msg(f)}",
        "rerun the step (doctor --repeat N) to tell transient from persistent; keep the session "
        "id, request id and region for support",
    ),
)


def classify(obs: Observation) -> Diagnosis | None:
    """The cause of what ``obs`` shows, or None when nothing in it is a known failure."""
    facts = _facts(obs)
    for row in ADVICE:
        if row.applies(facts):
            return Diagnosis(
                cause=row.cause, evidence=row.evidence(facts), fix=row.fix, seen=facts.seen
            )
    return None


def matching_rows(obs: Observation) -> list[Cause]:
    """Every row that applies to ``obs`` (the table is sound when this has at most one)."""
    facts = _facts(obs)
    return [row.cause for row in ADVICE if row.applies(facts)]


@dataclass(frozen=True)
class Attempt:
    """One attempt of a step: whether it worked, when, and every id it produced."""

    ok: bool
    at: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    region: str | None = None
    error_code: str | None = None

    def ids(self) -> str:
        """The attempt in one line: outcome, time and ids (what support asks for)."""
        parts = ["ok" if self.ok else f"failed({self.error_code or 'server_error'})"]
        for label, value in (
            ("at", self.at),
            ("session", self.session_id),
            ("request", self.request_id),
            ("region", self.region),
        ):
            if value:
                parts.append(f"{label}={value}")
        return " ".join(parts)


def classify_attempts(attempts: Sequence[Attempt]) -> Diagnosis | None:
    """Transient or persistent ``server_error`` from every attempt of the same step.

    None when no attempt failed. One failed attempt alone cannot tell, and says so; some failing
    is transient; all of two or more failing is persistent.
    """
    failed = [a for a in attempts if not a.ok]
    if not failed:
        return None
    total = len(attempts)
    rate = f"{len(failed)} of {total} attempts failed ({100 * len(failed) / total:.0f}%)"
    seen = {f"attempt-{i}": a.ids() for i, a in enumerate(attempts, start=1)}
    if total == 1:
        cause, fix = (
            Cause.SERVER_ERROR,
            "rerun the step (doctor --repeat N) to tell transient from persistent",
        )
    elif len(failed) < total:
        cause, fix = (
            Cause.SERVER_ERROR_TRANSIENT,
            "retry with backoff; if the rate stays high, give support these ids, the region "
            "and the times",
        )
    else:
        cause, fix = (
            Cause.SERVER_ERROR_PERSISTENT,
            "not a blip: try another deployment or region to tell a model or regional fault from "
            "your input, and open a support ticket with these ids, the region and the times",
        )
    return Diagnosis(cause=cause, evidence=rate, fix=fix, seen=seen)


#: Skew below this is clock noise plus a round trip (``Date`` has one-second resolution).
CLOCK_TOLERANCE_S = 5.0
#: The longest session a service grants today (OpenAI 60 min; Azure documents 30), for
#: ``expires_at`` sanity.
MAX_SESSION_S = 3600.0


def check_clock(
    local_now: float,
    *,
    date_header: str | None = None,
    expires_at: object = None,
    tolerance_s: float = CLOCK_TOLERANCE_S,
    max_session_s: float = MAX_SESSION_S,
) -> Diagnosis | None:
    """Clock skew between this machine and the server, or None when none is evident.

    ``local_now`` is the local Unix time when the answer arrived (injected, never read here);
    ``date_header`` the handshake's ``Date``; ``expires_at`` the ``session.created`` Unix time at
    which the session ends, which must lie between now and now + ``max_session_s``.
    """
    seen: dict[str, str] = {}
    findings: list[str] = []
    if date_header:
        seen["date"] = date_header
        try:
            server = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            server = None
        if server is not None:
            skew = local_now - server
            if abs(skew) > tolerance_s:
                side = "ahead of" if skew > 0 else "behind"
                findings.append(f"the local clock is {abs(skew):.0f} s {side} the server's Date")
    if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
        seen["expires_at"] = str(expires_at)
        remaining = float(expires_at) - local_now
        if remaining < -tolerance_s:
            findings.append(
                f"expires_at is {-remaining:.0f} s in the local past: the local clock is ahead"
            )
        elif remaining > max_session_s + tolerance_s:
            findings.append(
                f"expires_at is {remaining:.0f} s away, more than any session lasts "
                f"({max_session_s:.0f} s): the local clock is behind"
            )
    if not findings:
        return None
    return Diagnosis(
        cause=Cause.CLOCK_SKEW,
        evidence="; ".join(findings),
        fix="sync the clock (NTP: timedatectl set-ntp true, w32tm /resync); expiry and token "
        "lifetimes are computed from it",
        seen=seen,
    )
