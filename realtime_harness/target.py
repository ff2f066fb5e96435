"""Where to connect and how to authenticate: the four URL variants, env vars, ``.env``, auth.

The four variants of protocol §1.1:

==================  ==========================================================================
``openai``          ``wss://api.openai.com/v1/realtime?model=M``; ``Authorization: Bearer``; GA
``openai-beta``     same URL plus ``OpenAI-Beta: realtime=v1`` (retired by OpenAI, §0); beta
``azure``           ``wss://R.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT``; GA
``azure-preview``   ``wss://R.openai.azure.com/openai/realtime?api-version=V&deployment=D``; beta
==================  ==========================================================================

Configuration comes from options, then the environment, then a ``.env`` file (python-dotenv
reads it without touching ``os.environ``; real environment variables win). When nothing at
all is configured, :func:`resolve_target` returns ``None`` and the caller probes the embedded
mock instead.

Auth: an ``api-key`` header (Azure), ``Authorization: Bearer <key>`` (OpenAI, or Azure with
``auth="bearer"``), or a Microsoft Entra ID token from ``azure-identity`` (the optional
``azure`` extra). A missing key is a :class:`~realtime_harness.exceptions.ConfigError` before any
connection. Every key and token is registered with :mod:`realtime_harness.redact`.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from dotenv import dotenv_values

from realtime_harness.exceptions import ConfigError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.redact import redact_url, register_secret

__all__ = [
    "DEFAULT_AZURE_PREVIEW_API_VERSION",
    "DEFAULT_OPENAI_MODEL",
    "ENTRA_SCOPE",
    "ENV_VARS",
    "AuthMode",
    "Target",
    "Variant",
    "build_url",
    "dialect_from_url",
    "resolve_target",
]

DEFAULT_OPENAI_MODEL = "gpt-realtime"
DEFAULT_AZURE_PREVIEW_API_VERSION = "2025-04-01-preview"
#: The Entra ID scope that Azure OpenAI realtime accepts (openai-python's Azure example, §1.1).
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"

#: Environment variables read, with what each means (README lists the same).
ENV_VARS: dict[str, str] = {
    "REALTIME_HARNESS_URL": "full ws:// or wss:// URL of the realtime endpoint",
    "AZURE_OPENAI_ENDPOINT": "Azure resource endpoint, e.g. https://NAME.openai.azure.com",
    "AZURE_OPENAI_API_KEY": "Azure key, sent as the api-key header",
    "AZURE_OPENAI_DEPLOYMENT": "Azure deployment name of the realtime model",
    "AZURE_OPENAI_API_VERSION": "Azure preview api-version (selects the preview/beta protocol)",
    "AZURE_OPENAI_AUTH": "api-key (default), bearer or entra",
    "OPENAI_API_KEY": "OpenAI key, sent as Authorization: Bearer",
    "OPENAI_BASE_URL": "OpenAI-compatible base URL (default https://api.openai.com/v1)",
    "OPENAI_REALTIME_MODEL": f"model for OpenAI targets (default {DEFAULT_OPENAI_MODEL})",
}

_AZURE_HOST_SUFFIXES = (
    ".openai.azure.com",
    ".cognitiveservices.azure.com",
    ".services.ai.azure.com",
    ".azure-api.net",
)


class Variant(enum.StrEnum):
    """Which of the four connection variants a target uses (``custom`` for a given URL)."""

    OPENAI = "openai"
    OPENAI_BETA = "openai-beta"
    AZURE = "azure"
    AZURE_PREVIEW = "azure-preview"
    CUSTOM = "custom"


class AuthMode(enum.StrEnum):
    """How the credential is sent."""

    API_KEY = "api-key"
    BEARER = "bearer"
    ENTRA = "entra"
    NONE = "none"


@dataclass(frozen=True)
class Target:
    """A resolved endpoint: the URL, the headers to send (credentials included), the dialect.

    ``headers`` hold secrets, so they are left out of ``repr``; print :attr:`redacted_url` and
    :meth:`safe_headers` instead.
    """

    url: str
    dialect: Dialect
    variant: Variant = Variant.CUSTOM
    auth: AuthMode = AuthMode.NONE
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Name of the request header that carries our client request id (Azure's rtclient sends
    #: ``x-ms-client-request-id``; OpenAI's HTTP API reads ``X-Client-Request-Id``).
    request_id_header: str = "x-client-request-id"
    embedded: bool = False

    @property
    def redacted_url(self) -> str:
        """The URL with every credential masked; safe to print and record."""
        return redact_url(self.url)

    @property
    def is_azure(self) -> bool:
        """Whether the target is an Azure OpenAI resource."""
        return self.variant in (Variant.AZURE, Variant.AZURE_PREVIEW)

    def safe_headers(self) -> dict[str, str]:
        """The request headers with credentials masked."""
        from realtime_harness.redact import redact_headers

        return redact_headers(self.headers)

    def request_headers(self, client_request_id: str | None = None) -> dict[str, str]:
        """Headers for one connection: ours plus a fresh client request id."""
        rid = client_request_id or str(uuid.uuid4())
        return {**self.headers, self.request_id_header: rid}

    def describe(self) -> str:
        """One line naming the variant, the redacted URL, the dialect and the auth mode."""
        return (
            f"{self.variant.value} {self.redacted_url} dialect={self.dialect.value} "
            f"auth={self.auth.value}"
        )


def _ws_scheme(scheme: str) -> str:
    return {"https": "wss", "http": "ws"}.get(scheme, scheme)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_azure_host(host: str | None) -> bool:
    return bool(host) and str(host).lower().endswith(_AZURE_HOST_SUFFIXES)


def dialect_from_url(url: str) -> Dialect:
    """The dialect a URL implies: Azure ``/openai/realtime?api-version=`` is the preview (beta)
    protocol; everything else (OpenAI ``/v1/realtime``, Azure ``/openai/v1/realtime``) is GA.

    The OpenAI beta shape is chosen by a header, not the URL, so it needs ``dialect=beta``.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/openai/realtime") and "/v1/" not in path + "/":
        return Dialect.BETA
    return Dialect.GA


def build_url(
    variant: Variant,
    *,
    endpoint: str | None = None,
    model: str | None = None,
    deployment: str | None = None,
    api_version: str | None = None,
) -> str:
    """The WebSocket URL of a variant (protocol §1.1). ``endpoint`` is an http(s) or ws(s) base.

    Raises :class:`ConfigError` when a required part is missing.
    """
    if variant in (Variant.OPENAI, Variant.OPENAI_BETA):
        base = (endpoint or "https://api.openai.com/v1").rstrip("/")
        parts = urlsplit(base)
        path = parts.path.rstrip("/")
        if not path.endswith("/v1"):
            path += "/v1"
        query = urlencode({"model": model or DEFAULT_OPENAI_MODEL})
        return urlunsplit((_ws_scheme(parts.scheme), parts.netloc, path + "/realtime", query, ""))
    if not endpoint:
        raise ConfigError(
            "Azure targets need an endpoint: pass --endpoint https://NAME.openai.azure.com "
            "or set AZURE_OPENAI_ENDPOINT"
        )
    name = deployment or model
    if not name:
        raise ConfigError(
            "Azure targets need a deployment: pass --deployment NAME or set AZURE_OPENAI_DEPLOYMENT"
        )
    parts = urlsplit(endpoint.rstrip("/"))
    path = parts.path.rstrip("/")
    # Accept the endpoint with or without the /openai or /openai/v1 suffix SDK samples use.
    for suffix in ("/openai/v1", "/openai"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    if variant is Variant.AZURE_PREVIEW:
        version = api_version or DEFAULT_AZURE_PREVIEW_API_VERSION
        query = urlencode({"api-version": version, "deployment": name})
        return urlunsplit(
            (_ws_scheme(parts.scheme), parts.netloc, path + "/openai/realtime", query, "")
        )
    # GA v1: api-version on this URL is a documented cause of 401 (§1.2), so never add it.
    query = urlencode({"model": name})
    return urlunsplit(
        (_ws_scheme(parts.scheme), parts.netloc, path + "/openai/v1/realtime", query, "")
    )


def _check_url(url: str, what: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise ConfigError(f"{what} is not a valid URL ({exc}); {_URL_FIX}") from None
    if parts.scheme not in ("ws", "wss", "http", "https") or not host:
        raise ConfigError(f"{what} {redact_url(url)!r} is not a ws:// or wss:// URL; {_URL_FIX}")
    return parts.scheme, host


_URL_FIX = "use e.g. wss://NAME.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT"


def _load_env(env: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    """Real environment over ``.env`` values (empty strings count as unset)."""
    merged: dict[str, str] = {}
    path = env_file if env_file is not None else Path(".env")
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"env file {env_file} does not exist; pass an existing --env-file")
    if path.is_file():
        try:
            values = dotenv_values(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read env file {path}: {exc.__class__.__name__}") from None
        merged.update({k: v for k, v in values.items() if v})
    source = os.environ if env is None else env
    merged.update({k: v for k, v in source.items() if k in ENV_VARS and v})
    return merged


def _entra_token(credential_factory: Callable[[], Any] | None) -> str:
    """A Microsoft Entra ID access token for Azure OpenAI, from azure-identity."""
    if credential_factory is None:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise ConfigError(
                "Entra ID auth needs azure-identity: pip install 'realtime-harness[azure]'"
            ) from None
        credential_factory = DefaultAzureCredential
    try:
        token = credential_factory().get_token(ENTRA_SCOPE).token
    except Exception as exc:  # azure-identity raises many types; report the class, not a secret
        raise ConfigError(
            f"could not get an Entra ID token ({exc.__class__.__name__}); run 'az login' or "
            "configure a managed identity, or use an API key"
        ) from None
    if not isinstance(token, str) or not token:
        raise ConfigError("the Entra ID credential returned an empty token")
    register_secret(token)
    return str(token)


def resolve_target(
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
) -> Target | None:
    """The target from options, then environment variables, then ``.env``; None if unconfigured.

    ``env`` replaces ``os.environ`` (tests pass a dict); ``env_file`` defaults to ``./.env`` when
    it exists. ``credential_factory`` replaces ``azure.identity.DefaultAzureCredential``.
    """
    values = _load_env(env, env_file)
    url = url or values.get("REALTIME_HARNESS_URL")
    azure_endpoint = endpoint or values.get("AZURE_OPENAI_ENDPOINT")
    openai_key = values.get("OPENAI_API_KEY")
    azure_key = values.get("AZURE_OPENAI_API_KEY")
    if auth is None and values.get("AZURE_OPENAI_AUTH"):
        try:
            auth = AuthMode(values["AZURE_OPENAI_AUTH"].lower())
        except ValueError:
            raise ConfigError(
                "AZURE_OPENAI_AUTH must be one of api-key, bearer, entra, none"
            ) from None
    if not (url or azure_endpoint or openai_key or deployment):
        return None

    if url:
        scheme, host = _check_url(url, "--url")
        final_url = urlunsplit((_ws_scheme(scheme), *urlsplit(url)[1:]))
        azure = _is_azure_host(host) or (azure_key is not None and not openai_key)
        variant = Variant.CUSTOM
        if _is_azure_host(host):
            variant = (
                Variant.AZURE_PREVIEW if dialect_from_url(url) is Dialect.BETA else Variant.AZURE
            )
        elif host == "api.openai.com":
            variant = Variant.OPENAI_BETA if dialect is Dialect.BETA else Variant.OPENAI
        chosen = dialect or dialect_from_url(url)
        query_has_key = any(
            k.lower() in ("api-key", "authorization") for k in parse_qs(urlsplit(url).query)
        )
    else:
        query_has_key = False
        if azure_endpoint:
            _check_url(azure_endpoint, "--endpoint")
            azure = True
            version = api_version or values.get("AZURE_OPENAI_API_VERSION")
            variant = Variant.AZURE_PREVIEW if version or dialect is Dialect.BETA else Variant.AZURE
            final_url = build_url(
                variant,
                endpoint=azure_endpoint,
                deployment=deployment or values.get("AZURE_OPENAI_DEPLOYMENT"),
                model=model,
                api_version=version,
            )
        else:
            azure = False
            base = values.get("OPENAI_BASE_URL")
            if base:
                _check_url(base, "OPENAI_BASE_URL")
            variant = Variant.OPENAI_BETA if dialect is Dialect.BETA else Variant.OPENAI
            final_url = build_url(
                variant,
                endpoint=base,
                model=model or deployment or values.get("OPENAI_REALTIME_MODEL"),
            )
        host = urlsplit(final_url).hostname or ""
        chosen = dialect or (
            Dialect.BETA if variant in (Variant.OPENAI_BETA, Variant.AZURE_PREVIEW) else Dialect.GA
        )

    headers: dict[str, str] = {}
    mode = auth or (AuthMode.API_KEY if azure else AuthMode.BEARER)
    key = azure_key if azure else (openai_key or azure_key)
    if mode is AuthMode.ENTRA:
        headers["Authorization"] = f"Bearer {_entra_token(credential_factory)}"
    elif mode is AuthMode.NONE or query_has_key:
        mode = AuthMode.NONE if not query_has_key else mode
    elif key:
        register_secret(key)
        if mode is AuthMode.API_KEY:
            headers["api-key"] = key
        else:
            headers["Authorization"] = f"Bearer {key}"
    elif _is_loopback(host):
        mode = AuthMode.NONE  # a local mock or gateway needs no credential
    else:
        wanted = "AZURE_OPENAI_API_KEY" if azure else "OPENAI_API_KEY"
        raise ConfigError(
            f"no API key for {redact_url(final_url)}: set {wanted} (in the environment or .env), "
            "or use --auth entra for Microsoft Entra ID"
        )
    if chosen is Dialect.BETA and variant in (Variant.OPENAI_BETA, Variant.CUSTOM) and not azure:
        headers["OpenAI-Beta"] = "realtime=v1"
    return Target(
        url=final_url,
        dialect=chosen,
        variant=variant,
        auth=mode,
        headers=headers,
        request_id_header="x-ms-client-request-id" if azure else "x-client-request-id",
    )
