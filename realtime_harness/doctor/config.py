"""The configuration checks of ``doctor``: what is wrong before a single byte is sent.

Pure functions of the resolved inputs (:class:`ConfigInputs`: the URL, the request headers, the
api-version, the dialect the client will speak, and the credentials in use). Credentials are
looked at for their *shape* only (an OpenAI ``sk-`` key, an Azure key, an Entra token…); no
output ever holds a credential's value.

The checks, in order (each a stable name in the report):

=====================  ==========================================================================
``url-form``           which of the four URL forms this is (OpenAI, Azure GA, Azure preview,
                       custom)
``assistants-api``     an Assistants API URL (retired 2026-08-26 on OpenAI and Azure)
``url-scheme``         an http(s) URL where a ws(s) one belongs and the reverse; ws:// off-host
``preview-protocol``   Azure's preview route (retired 2026-04-30) or ``OpenAI-Beta: realtime=v1``
                       (refused by OpenAI with ``beta_api_shape_disabled``)
``api-version``        an api-version on the GA ``/openai/v1/realtime`` URL (answered 401); a
                       missing, retired or unknown api-version on the preview route
``dialect-route``      the events the client will send against what the route expects (GA events
                       on the preview route: ``unknown_parameter 'session.type'``)
``credentials``        a credential is present (header or query string)
``key-kind``           the credential has the shape the endpoint expects
=====================  ==========================================================================

Sources: the Azure OpenAI Realtime how-to and migration guide
(https://learn.microsoft.com/azure/ai-foundry/openai/how-to/realtime-audio-websockets), the
OpenAI Realtime WebSocket guide (https://platform.openai.com/docs/guides/realtime-websocket), and
the Azure OpenAI API version lifecycle page
(https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from realtime_harness.doctor.checks import Check, Stage, Status
from realtime_harness.endpoints import form_for_path
from realtime_harness.exceptions import ConfigError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.target import AuthMode, Target, Variant, _is_azure_host, resolve_target

__all__ = [
    "API_VERSIONS",
    "NOTHING_CONFIGURED",
    "ApiVersionStatus",
    "ConfigInputs",
    "KeyShape",
    "UrlForm",
    "check_config",
    "classify_url",
    "key_shape",
    "resolve_inputs",
    "route_form",
]

_OPENAI_HOST = "api.openai.com"
#: The fix every Azure preview problem comes back to: the GA v1 route, no api-version.
GA_AZURE_URL = "wss://NAME.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT"
#: The ``openai`` package builds the preview route from ``AzureOpenAI(...).realtime``; pointing
#: its ``websocket_base_url`` at the v1 base makes it use the GA route (openai-python's
#: ``examples/realtime/azure_realtime.py``).
SDK_FIX = "websocket_base_url=https://NAME.openai.azure.com/openai/v1"


class UrlForm(enum.StrEnum):
    """Which of the four connection forms a URL is."""

    OPENAI = "openai"
    AZURE_GA = "azure-ga"
    AZURE_PREVIEW = "azure-preview"
    CUSTOM = "custom"

    @property
    def variant(self) -> Variant:
        """The :class:`~realtime_harness.target.Variant` of the same form (header-blind)."""
        return {
            UrlForm.OPENAI: Variant.OPENAI,
            UrlForm.AZURE_GA: Variant.AZURE,
            UrlForm.AZURE_PREVIEW: Variant.AZURE_PREVIEW,
            UrlForm.CUSTOM: Variant.CUSTOM,
        }[self]


class ApiVersionStatus(enum.StrEnum):
    """What is known of an Azure realtime api-version."""

    CURRENT = "current"
    RETIRED = "retired"
    DOUBTFUL = "doubtful"


#: Azure api-versions seen for realtime, with what is known of each (Azure realtime how-to and
#: its history). The preview protocol itself is retired since 2026-04-30, so none is "current"
#: in the sense of being the recommended route: that is the GA URL without any api-version.
API_VERSIONS: Mapping[str, tuple[ApiVersionStatus, str]] = {
    "2024-10-01-preview": (ApiVersionStatus.RETIRED, "the first realtime preview, retired"),
    "2024-12-17": (
        ApiVersionStatus.DOUBTFUL,
        "this is the model version of gpt-4o-realtime-preview, not an api-version",
    ),
    "2025-04-01-preview": (
        ApiVersionStatus.CURRENT,
        "the last preview api-version (preview protocol retired 2026-04-30)",
    ),
    "2025-08-28": (
        ApiVersionStatus.DOUBTFUL,
        "a dated non-preview version seen in the wild (also the gpt-realtime model version); "
        "the event dialect it serves is not established",
    ),
}


class KeyShape(enum.StrEnum):
    """The shape of a credential (never its value)."""

    OPENAI_KEY = "openai-key"  # sk-…, sk-proj-…, sk-svcacct-…
    OPENAI_EPHEMERAL = "openai-ephemeral"  # ek_… client secret
    AZURE_KEY = "azure-key"  # 32 hex (classic) or 84 characters (current Azure keys)
    ENTRA_TOKEN = "entra-token"  # noqa: S105 - a shape's name, not a secret; a JWT: eyJ….….…
    PADDED = "padded"  # surrounding whitespace or quotes: a copy-paste or .env quoting slip
    UNKNOWN = "unknown"


_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_AZURE84 = re.compile(r"[A-Za-z0-9]{84}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")


def key_shape(value: str) -> KeyShape:
    """The shape of a credential value. Azure keys are 32 hex characters (older resources) or
    84 alphanumerics (newer resources); OpenAI keys start ``sk-``, client secrets ``ek_``.
    """
    if value != value.strip() or value[:1] in "\"'" or value[-1:] in "\"'":
        return KeyShape.PADDED
    if value.startswith("sk-"):
        return KeyShape.OPENAI_KEY
    if value.startswith("ek_"):
        return KeyShape.OPENAI_EPHEMERAL
    if _HEX32.fullmatch(value) or _AZURE84.fullmatch(value):
        return KeyShape.AZURE_KEY
    if _JWT.fullmatch(value):
        return KeyShape.ENTRA_TOKEN
    return KeyShape.UNKNOWN


@dataclass(frozen=True)
class ConfigInputs:
    """What a client is about to use, resolved: the URL, headers, api-version and dialect.

    ``url`` is the realtime URL (or what the user gave as one); ``endpoint`` the resource base
    when one was given separately (``--endpoint``, ``AZURE_OPENAI_ENDPOINT``); ``headers`` the
    request headers, credentials included (only their shape is read); ``dialect`` the event shape
    the client will send (None: unknown, e.g. a third-party client); ``target`` the resolved
    target these inputs came from, which the live checks connect to (None: inputs described by
    hand, configuration checks only).
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    endpoint: str | None = None
    api_version: str | None = None
    dialect: Dialect | None = None
    target: Target | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_target(
        cls, target: Target, *, endpoint: str | None = None, api_version: str | None = None
    ) -> ConfigInputs:
        """The inputs of a resolved :class:`~realtime_harness.target.Target`."""
        return cls(
            url=target.url,
            headers=dict(target.headers),
            endpoint=endpoint,
            api_version=api_version,
            dialect=target.dialect,
            target=target,
        )


def resolve_inputs(
    *,
    url: str | None = None,
    endpoint: str | None = None,
    deployment: str | None = None,
    model: str | None = None,
    api_version: str | None = None,
    dialect: Dialect | None = None,
    auth: AuthMode | None = None,
    env: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    credential_factory: Callable[[], Any] | None = None,
) -> ConfigInputs | Check:
    """The probe's target options resolved as the probe does, without stopping at a missing key.

    Not pure: it reads the environment and ``.env`` (and asks azure-identity for a token under
    ``auth=entra``), exactly as :func:`~realtime_harness.target.resolve_target`. Where that raises
    for a missing or unobtainable credential, the URL is resolved again without one, so the
    ``credentials`` check reports it next to every other finding. Options that cannot form a URL
    at all (or configure nothing) give a failing ``target`` check instead, whose evidence is the
    (already redacted) reason.
    """
    options: dict[str, Any] = {
        "url": url,
        "endpoint": endpoint,
        "deployment": deployment,
        "model": model,
        "api_version": api_version,
        "dialect": dialect,
        "env": env,
        "env_file": env_file,
        "credential_factory": credential_factory,
    }
    try:
        target = resolve_target(auth=auth, **options)
    except ConfigError as first:
        try:
            target = resolve_target(auth=AuthMode.NONE, **options)
        except ConfigError:
            return _target_check(str(first))
    if target is None:
        return _target_check(NOTHING_CONFIGURED)
    return ConfigInputs.from_target(target, endpoint=endpoint, api_version=api_version)


#: The evidence of the ``target`` check when no option, variable or ``.env`` names a target
#: (``doctor`` then diagnoses the embedded mock).
NOTHING_CONFIGURED = "nothing configured: no --url, --endpoint or key in the environment or .env"


def _target_check(reason: str) -> Check:
    return Check(
        name="target",
        stage=Stage.CONFIG,
        status=Status.FAIL,
        evidence=reason,
        fix="pass --url, or --endpoint with --deployment, with the key in AZURE_OPENAI_API_KEY "
        "or OPENAI_API_KEY",
    )


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    path: str
    query: dict[str, list[str]]

    @property
    def loopback(self) -> bool:
        return self.host in ("localhost", "127.0.0.1", "::1") or self.host.startswith("127.")


def _parse(url: str) -> _Parsed | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        _ = parts.port
    except ValueError:
        return None
    if not host or not parts.scheme:
        return None
    query = {k.lower(): v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return _Parsed(parts.scheme.lower(), host, parts.path.rstrip("/"), query)


def _is_azure(host: str) -> bool:
    # One definition of an Azure OpenAI host: the one the probe resolves targets with.
    return _is_azure_host(host)


_FORM_OF_VARIANT = {
    Variant.OPENAI: UrlForm.OPENAI,
    Variant.AZURE: UrlForm.AZURE_GA,
    Variant.AZURE_PREVIEW: UrlForm.AZURE_PREVIEW,
}


def _path_form(parsed: _Parsed) -> UrlForm | None:
    # The route table of realtime_harness.endpoints; a gateway may put the route under a prefix.
    form = form_for_path(parsed.path, exact=False)
    return None if form is None else _FORM_OF_VARIANT.get(form.variant)


def classify_url(url: str) -> UrlForm:
    """Which of the four forms ``url`` is (by host and path; ``custom`` for anything else)."""
    parsed = _parse(url)
    if parsed is None:
        return UrlForm.CUSTOM
    if parsed.host == _OPENAI_HOST:
        return UrlForm.OPENAI
    if _is_azure(parsed.host):
        form = _path_form(parsed)
        if form in (UrlForm.AZURE_GA, UrlForm.AZURE_PREVIEW):
            return form
    return UrlForm.CUSTOM


def route_form(url: str) -> UrlForm:
    """The form of the route ``url`` asks for, whatever the host: a gateway or a local mock that
    serves ``/openai/realtime`` answers as the Azure preview route does. ``custom`` when the path
    is no realtime route (or the URL does not parse)."""
    form = classify_url(url)
    if form is not UrlForm.CUSTOM:
        return form
    parsed = _parse(url)
    return (_path_form(parsed) if parsed is not None else None) or UrlForm.CUSTOM


_ASSISTANTS_SEGMENTS = frozenset({"threads", "assistants", "runs"})


def _is_assistants(parsed: _Parsed) -> bool:
    return bool(_ASSISTANTS_SEGMENTS & set(parsed.path.lower().split("/")))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class _Credential:
    where: str  # "api-key header", "Authorization: Bearer", "api-key query parameter"
    shape: KeyShape
    length: int


def _credentials(parsed: _Parsed | None, headers: Mapping[str, str]) -> list[_Credential]:
    found: list[_Credential] = []
    api_key = _header(headers, "api-key")
    if api_key:
        found.append(_Credential("api-key header", key_shape(api_key), len(api_key)))
    auth = _header(headers, "authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token:
            found.append(_Credential("Authorization: Bearer", key_shape(token), len(token)))
        else:
            found.append(_Credential("Authorization header", KeyShape.UNKNOWN, len(auth)))
    if parsed is not None:
        for name in ("api-key", "authorization"):
            for value in parsed.query.get(name, []):
                token = value.partition(" ")[2] if name == "authorization" else value
                if token:
                    shape = key_shape(token)
                    found.append(_Credential(f"{name} query parameter", shape, len(token)))
    return found


def _api_version(inputs: ConfigInputs, parsed: _Parsed | None) -> str | None:
    if parsed is not None and parsed.query.get("api-version"):
        return parsed.query["api-version"][0]
    return inputs.api_version


def check_config(inputs: ConfigInputs) -> list[Check]:
    """Every configuration check, in order; later ones skipped when the URL is unusable."""
    parsed = _parse(inputs.url)
    form = classify_url(inputs.url)
    url_form = _check_url_form(parsed, form)
    checks = [url_form]
    if parsed is None:
        names = ("assistants-api", "url-scheme", "preview-protocol", "api-version", "dialect-route")
        checks += [Check.skipped(name, Stage.CONFIG, url_form) for name in names]
        checks += _credential_checks(inputs, parsed, form)
        return checks
    assistants = _check_assistants(parsed)
    checks.append(assistants)
    if assistants.status is Status.FAIL:
        later = ("url-scheme", "preview-protocol", "api-version", "dialect-route")
        checks += [Check.skipped(name, Stage.CONFIG, assistants) for name in later]
    else:
        checks.append(_check_scheme(parsed, inputs))
        checks.append(_check_preview(parsed, form, inputs))
        checks.append(_check_api_version(parsed, form, inputs))
        checks.append(_check_dialect_route(form, inputs))
    checks += _credential_checks(inputs, parsed, form)
    return checks


_FORM_TEXT = {
    UrlForm.OPENAI: "OpenAI (wss://api.openai.com/v1/realtime?model=…)",
    UrlForm.AZURE_GA: "Azure GA (/openai/v1/realtime?model=DEPLOYMENT)",
    UrlForm.AZURE_PREVIEW: "Azure preview (/openai/realtime?api-version=…&deployment=…)",
    UrlForm.CUSTOM: "custom (a gateway, proxy or local mock)",
}


def _check_url_form(parsed: _Parsed | None, form: UrlForm) -> Check:
    name = "url-form"
    if parsed is None:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence="the URL does not parse (no scheme or host, or a bad port)",
            fix=f"use e.g. {GA_AZURE_URL}",
        )
    seen = {"form": form.value, "host": parsed.host}
    model = (parsed.query.get("model") or parsed.query.get("deployment") or [""])[0]
    if model:
        seen["model" if "model" in parsed.query else "deployment"] = model
    evidence = f"{_FORM_TEXT[form]}"
    # A transcription session (?intent=transcription) or a sideband socket on an existing call
    # (?call_id=) needs no model (OpenAI Realtime WebSocket guide).
    modelless = "call_id" in parsed.query or parsed.query.get("intent") == ["transcription"]
    if (
        form in (UrlForm.OPENAI, UrlForm.AZURE_GA)
        and not model
        and not modelless
        and not _is_assistants(parsed)
    ):
        missing = "model" if form is UrlForm.OPENAI else "model (the deployment name)"
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence=f"{evidence} without ?{missing}; the service refuses it (OpenAI answers "
            "missing_model)",
            fix="add ?model=NAME (OpenAI: the model; Azure: the deployment name)",
            seen=seen,
        )
    if form is UrlForm.AZURE_PREVIEW and not parsed.query.get("deployment"):
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence=f"{evidence} without &deployment=",
            fix=f"use the GA route instead: {GA_AZURE_URL}",
            seen=seen,
        )
    if form is UrlForm.CUSTOM and _is_azure(parsed.host) and not _is_assistants(parsed):
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.WARN,
            evidence=f"an Azure host with path {parsed.path or '/'}, neither realtime route",
            fix=f"use {GA_AZURE_URL}",
            seen=seen,
        )
    return Check(name=name, stage=Stage.CONFIG, status=Status.PASS, evidence=evidence, seen=seen)


def _check_scheme(parsed: _Parsed, inputs: ConfigInputs) -> Check:
    name = "url-scheme"
    if parsed.scheme in ("http", "https"):
        wanted = "wss" if parsed.scheme == "https" else "ws"
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.WARN,
            evidence=f"the realtime URL is {parsed.scheme}://; the Realtime API is a WebSocket",
            fix=f"use {wanted}://{parsed.host}{parsed.path} (this harness converts, most "
            "WebSocket clients do not)",
        )
    if parsed.scheme not in ("ws", "wss"):
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence=f"the URL scheme is {parsed.scheme}://, not wss://",
            fix=f"use e.g. {GA_AZURE_URL}",
        )
    if parsed.scheme == "ws" and not parsed.loopback:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence=f"ws:// to {parsed.host} sends the credential unencrypted; OpenAI and "
            "Azure accept only TLS",
            fix=f"use wss://{parsed.host}{parsed.path}",
        )
    if inputs.endpoint:
        base = _parse(inputs.endpoint)
        if base is not None and base.scheme in ("ws", "wss"):
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.WARN,
                evidence=f"the endpoint is {base.scheme}://{base.host}; an endpoint (base URL) is "
                "https:// (SDKs and the REST API refuse ws://)",
                fix=f"set the endpoint to https://{base.host} and keep wss:// for the realtime URL",
            )
    return Check.passed(name, Stage.CONFIG, f"{parsed.scheme}:// as a WebSocket URL should be")


def _check_assistants(parsed: _Parsed) -> Check:
    name = "assistants-api"
    if not _is_assistants(parsed):
        return Check.passed(name, Stage.CONFIG, "not an Assistants API URL")
    return Check(
        name=name,
        stage=Stage.CONFIG,
        status=Status.FAIL,
        evidence=f"{parsed.path} is an Assistants API route; the Assistants API was retired on "
        "2026-08-26 (OpenAI and Azure): nothing answers there",
        fix="move to the Responses API (text and tools) or the Realtime API for speech "
        f"({GA_AZURE_URL}); recorded run streams can still be checked with validate",
    )


def _check_preview(parsed: _Parsed, form: UrlForm, inputs: ConfigInputs) -> Check:
    name = "preview-protocol"
    beta = (_header(inputs.headers, "openai-beta") or "").replace(" ", "").lower()
    beta_realtime = "realtime=v1" in beta
    if beta_realtime and form is UrlForm.OPENAI:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence="OpenAI-Beta: realtime=v1 on api.openai.com: OpenAI refuses the beta shape "
            "(error beta_api_shape_disabled, close 4000)",
            fix="drop the OpenAI-Beta header and speak the GA dialect (session.type in "
            "session.update)",
        )
    if form is UrlForm.AZURE_PREVIEW:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.WARN,
            evidence="the Azure preview route; Azure retired the preview protocol on 2026-04-30, "
            "so it may stop answering at any time",
            fix=f"move to the GA route {GA_AZURE_URL} (openai SDK: {SDK_FIX})",
        )
    if beta_realtime:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.WARN,
            evidence=f"OpenAI-Beta: realtime=v1 on a {form.value} URL; the beta shape is retired "
            "(OpenAI refuses it, Azure retired its preview protocol on 2026-04-30)",
            fix="drop the OpenAI-Beta header unless this gateway documents that it needs it",
        )
    return Check.passed(name, Stage.CONFIG, "GA protocol (no preview route, no beta header)")


def _check_api_version(parsed: _Parsed, form: UrlForm, inputs: ConfigInputs) -> Check:
    name = "api-version"
    version = _api_version(inputs, parsed)
    in_url = bool(parsed.query.get("api-version"))
    if form is UrlForm.AZURE_GA:
        if in_url:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.FAIL,
                evidence=f"api-version={version} on the GA /openai/v1/realtime URL; the service "
                "answers 401",
                fix="remove api-version from the URL: the v1 route takes none",
                seen={"api-version": version or ""},
            )
        if version:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.WARN,
                evidence=f"api-version {version} was given but the GA URL does not carry it",
                fix="drop --api-version / AZURE_OPENAI_API_VERSION: the v1 route takes none",
                seen={"api-version": version},
            )
        return Check.passed(name, Stage.CONFIG, "none, as the GA v1 route wants")
    if form is UrlForm.AZURE_PREVIEW:
        if not version:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.FAIL,
                evidence="the preview route without api-version; the service refuses it",
                fix=f"use the GA route {GA_AZURE_URL} (no api-version)",
            )
        status, note = API_VERSIONS.get(version, (None, "not a known realtime api-version"))
        seen = {"api-version": version}
        if status is ApiVersionStatus.CURRENT:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.PASS,
                evidence=f"api-version={version}: {note}",
                seen=seen,
            )
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL if status is ApiVersionStatus.RETIRED else Status.WARN,
            evidence=f"api-version={version}: {note}",
            fix=f"use the GA route {GA_AZURE_URL} (no api-version)",
            seen=seen,
        )
    if version and form is UrlForm.OPENAI:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.WARN,
            evidence=f"api-version={version} given for OpenAI, which has no api-version",
            fix="drop api-version (it is an Azure preview parameter)",
            seen={"api-version": version},
        )
    return Check.passed(name, Stage.CONFIG, "no api-version needed")


def _check_dialect_route(form: UrlForm, inputs: ConfigInputs) -> Check:
    name = "dialect-route"
    dialect = inputs.dialect
    if dialect is None:
        if form is UrlForm.AZURE_PREVIEW:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.WARN,
                evidence="the preview route expects beta-shaped events; clients that send GA "
                "events here (the openai package's AzureOpenAI(...).realtime does) get "
                "unknown_parameter 'session.type'",
                fix=f"use the GA route; with the openai package pass {SDK_FIX}",
            )
        return Check.passed(name, Stage.CONFIG, "client dialect unknown; nothing to compare")
    if form is UrlForm.AZURE_PREVIEW and dialect is Dialect.GA:
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence="GA events on the preview route: the service answers "
            "unknown_parameter 'session.type'",
            fix=f"use the GA route {GA_AZURE_URL}; with the openai package pass {SDK_FIX}",
        )
    if form in (UrlForm.AZURE_GA, UrlForm.OPENAI) and dialect is Dialect.BETA:
        answer = (
            "beta_api_shape_disabled"
            if form is UrlForm.OPENAI
            else "missing_required_parameter 'session.type'"
        )
        return Check(
            name=name,
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence=f"beta events on a GA route: the service answers {answer}",
            fix="speak the GA dialect (--dialect ga): session.type in session.update",
        )
    return Check.passed(name, Stage.CONFIG, f"{dialect.value} events on a {form.value} route")


def _credential_checks(inputs: ConfigInputs, parsed: _Parsed | None, form: UrlForm) -> list[Check]:
    found = _credentials(parsed, inputs.headers)
    loopback = parsed is not None and parsed.loopback
    if not found:
        if loopback or (
            form is UrlForm.CUSTOM and parsed is not None and not _is_azure(parsed.host)
        ):
            missing = Check(
                name="credentials",
                stage=Stage.CONFIG,
                status=Status.PASS if loopback else Status.WARN,
                evidence="no credential; a local mock needs none"
                if loopback
                else "no credential; fine only if this gateway adds its own",
                fix="" if loopback else "set OPENAI_API_KEY or AZURE_OPENAI_API_KEY",
            )
            return [missing, Check.skipped("key-kind", Stage.CONFIG, missing, "no credential")]
        azure = form in (UrlForm.AZURE_GA, UrlForm.AZURE_PREVIEW) or (
            parsed is not None and _is_azure(parsed.host)
        )
        missing = Check(
            name="credentials",
            stage=Stage.CONFIG,
            status=Status.FAIL,
            evidence="no credential in the headers or the URL; Azure answers HTTP 401"
            if azure
            else "no credential in the headers or the URL; OpenAI answers invalid_api_key "
            "and closes (3000)",
            fix="set AZURE_OPENAI_API_KEY (api-key header) or use Entra ID (--auth entra)"
            if azure
            else "set OPENAI_API_KEY (sent as Authorization: Bearer)",
        )
        return [missing, Check.skipped("key-kind", Stage.CONFIG, missing, "no credential")]
    where = ", ".join(f"{c.where} ({c.shape.value}, {c.length} chars)" for c in found)
    status = Status.PASS
    fix = ""
    if any("query" in c.where for c in found):
        status = Status.WARN
        fix = "prefer a header: keys in the URL end up in proxy and server logs"
    present = Check(
        name="credentials",
        stage=Stage.CONFIG,
        status=status,
        evidence=f"credential present: {where}",
        fix=fix,
    )
    return [present, _check_key_kind(found, form, parsed)]


def _check_key_kind(found: list[_Credential], form: UrlForm, parsed: _Parsed | None) -> Check:
    name = "key-kind"
    azure = form in (UrlForm.AZURE_GA, UrlForm.AZURE_PREVIEW)
    for cred in found:
        label = f"{cred.where}: {cred.shape.value}, {cred.length} chars"
        if cred.shape is KeyShape.PADDED:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.FAIL,
                evidence=f"{label} with surrounding whitespace or quotes",
                fix="remove the quotes/newline around the key (a .env or copy-paste slip)",
            )
        if azure and cred.shape in (KeyShape.OPENAI_KEY, KeyShape.OPENAI_EPHEMERAL):
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.FAIL,
                evidence=f"{label}: an OpenAI key on an Azure endpoint; Azure answers 401",
                fix="use the Azure resource's key (AZURE_OPENAI_API_KEY) or Entra ID",
            )
        if form is UrlForm.OPENAI and cred.shape in (KeyShape.AZURE_KEY, KeyShape.ENTRA_TOKEN):
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.FAIL,
                evidence=f"{label}: an Azure credential on api.openai.com; OpenAI answers "
                "invalid_api_key and closes (3000)",
                fix="use an OpenAI key (sk-…, OPENAI_API_KEY) or point the URL at the Azure "
                "resource",
            )
        if form is UrlForm.OPENAI and cred.where == "api-key header":
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.FAIL,
                evidence="an api-key header on api.openai.com, which reads only "
                "Authorization: Bearer",
                fix="send the key as Authorization: Bearer",
            )
        if azure and cred.where == "Authorization: Bearer" and cred.shape is KeyShape.AZURE_KEY:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.WARN,
                evidence=f"{label}: an Azure key sent as Bearer (documented for v1 HTTP, not "
                "verified for the realtime WebSocket)",
                fix="send it as the api-key header (--auth api-key)",
            )
        if cred.shape is KeyShape.UNKNOWN and form is not UrlForm.CUSTOM:
            return Check(
                name=name,
                stage=Stage.CONFIG,
                status=Status.WARN,
                evidence=f"{label}: not the shape of an "
                f"{'Azure key or Entra token' if azure else 'OpenAI key (sk-…) or secret (ek_…)'}",
                fix="check that the variable holds the key itself (not a name, path or URL)",
            )
    shapes = ", ".join(f"{c.where}: {c.shape.value}" for c in found)
    return Check.passed(name, Stage.CONFIG, f"{shapes}, as {form.value} expects")
