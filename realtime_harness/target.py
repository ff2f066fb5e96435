"""Where to connect and how to authenticate: the URL variants, env vars, ``.env``, auth.

The URL forms are the table in :mod:`realtime_harness.endpoints`; ``openai-beta`` is the OpenAI
URL plus the ``OpenAI-Beta: realtime=v1`` header (since retired by OpenAI).

Configuration comes from options, then the environment, then a ``.env`` file (python-dotenv
reads it without touching ``os.environ``; real environment variables win). When nothing at
all is configured, :func:`resolve_target` returns ``None`` and the caller probes the embedded
mock instead. "Nothing at all" is strict: an option given as an empty string (``--url ""``, an
unset variable in a CI script) is a :class:`~realtime_harness.exceptions.ConfigError`, and so is
a variable that is set but empty when it is the only configuration there is. Values with bytes
that are not UTF-8 or with control characters, and a malformed proxy variable (``https_proxy``,
``all_proxy``… as the WebSocket library reads them) that would apply to the target, are refused
the same way, before any connection.

Auth: an ``api-key`` header (Azure), ``Authorization: Bearer <key>`` (OpenAI, or Azure with
``auth="bearer"``), or a Microsoft Entra ID token from ``azure-identity`` (the optional
``azure`` extra). A missing key is a :class:`~realtime_harness.exceptions.ConfigError` before any
connection, for ``ws://`` and ``wss://`` alike; only a loopback host (a local mock or gateway)
or ``auth="none"`` goes without. Every key and token is registered with
:mod:`realtime_harness.redact`, and a :class:`Target` never shows its URL or headers unredacted:
not in ``repr``/``str``, not in JSON, not when pickled.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit, urlunsplit

from dotenv import dotenv_values

from realtime_harness.endpoints import (
    AZURE,
    OPENAI_BASE_URL,
    Variant,
    form_for_path,
    form_of,
    ws_scheme,
)
from realtime_harness.exceptions import ConfigError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.redact import redact_headers, redact_url, register_secret

__all__ = [
    "DEFAULT_AZURE_PREVIEW_API_VERSION",
    "DEFAULT_OPENAI_MODEL",
    "ENTRA_SCOPE",
    "ENV_VARS",
    "AuthMode",
    "Target",
    "Variant",
    "build_url",
    "check_proxy",
    "check_text",
    "dialect_from_url",
    "resolve_target",
]

DEFAULT_OPENAI_MODEL = "gpt-realtime"
DEFAULT_AZURE_PREVIEW_API_VERSION = "2025-04-01-preview"
#: The Entra ID scope that Azure OpenAI realtime accepts (openai-python's Azure example).
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


class AuthMode(enum.StrEnum):
    """How the credential is sent."""

    API_KEY = "api-key"
    BEARER = "bearer"
    ENTRA = "entra"
    NONE = "none"


class _Headers(Mapping[str, str]):
    """Request headers that hold credentials: a read-only mapping equal to a plain dict of the
    same items, whose ``repr``, ``str`` and pickled form show the credentials masked. JSON
    encoders refuse it (it is not a ``dict``) rather than write a key."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def __getitem__(self, name: str) -> str:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(redact_headers(self._items))

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Headers, (redact_headers(self._items),))


class Target:
    """A resolved endpoint: the URL, the headers to send (credentials included), the dialect.

    The URL (a browser-style ``api-key=`` may sit in its query) and the headers hold secrets:
    ``repr``/``str`` show :attr:`redacted_url` and :meth:`safe_headers`, :meth:`to_json_dict` is
    the JSON form, and a pickled Target is the redacted one (it cannot authenticate). Immutable.
    """

    __slots__ = ("auth", "dialect", "embedded", "headers", "request_id_header", "url", "variant")

    url: str
    dialect: Dialect
    variant: Variant
    auth: AuthMode
    headers: Mapping[str, str]
    #: Name of the request header that carries our client request id (Azure's rtclient sends
    #: ``x-ms-client-request-id``; OpenAI's HTTP API reads ``X-Client-Request-Id``).
    request_id_header: str
    embedded: bool

    def __init__(
        self,
        url: str,
        dialect: Dialect,
        variant: Variant = Variant.CUSTOM,
        auth: AuthMode = AuthMode.NONE,
        headers: Mapping[str, str] | None = None,
        request_id_header: str = "x-client-request-id",
        embedded: bool = False,
    ) -> None:
        for name, value in (
            ("url", url),
            ("dialect", dialect),
            ("variant", variant),
            ("auth", auth),
            ("headers", _Headers(headers or {})),
            ("request_id_header", request_id_header),
            ("embedded", embedded),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Target is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Target is immutable (cannot delete {name!r})")

    def _key(self) -> tuple[Any, ...]:
        return (
            self.url,
            self.dialect,
            self.variant,
            self.auth,
            tuple(sorted(self.headers.items())),
            self.request_id_header,
            self.embedded,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Target(url={self.redacted_url!r}, dialect={self.dialect.value!r}, "
            f"variant={self.variant.value!r}, auth={self.auth.value!r}, "
            f"headers={self.safe_headers()!r}, embedded={self.embedded!r})"
        )

    def __str__(self) -> str:
        return self.describe()

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Target,
            (
                self.redacted_url,
                self.dialect,
                self.variant,
                self.auth,
                self.safe_headers(),
                self.request_id_header,
                self.embedded,
            ),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The target for JSON output, credentials masked."""
        return {
            "url": self.redacted_url,
            "dialect": self.dialect.value,
            "variant": self.variant.value,
            "auth": self.auth.value,
            "headers": self.safe_headers(),
            "embedded": self.embedded,
        }

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
    try:
        path = urlsplit(url).path
    except ValueError:
        return Dialect.GA
    form = form_for_path(path, exact=False)
    return form.dialect if form is not None and form.dialect is not None else Dialect.GA


def build_url(
    variant: Variant,
    *,
    endpoint: str | None = None,
    model: str | None = None,
    deployment: str | None = None,
    api_version: str | None = None,
) -> str:
    """The WebSocket URL of a variant (see :mod:`realtime_harness.endpoints`). ``endpoint`` is an
    http(s) or ws(s) base.

    Raises :class:`ConfigError` when a required part is missing.
    """
    form = form_of(variant)
    if form is None:
        raise ConfigError("a custom target has no URL form: pass the whole URL with --url")
    if not form.azure:
        return form.url(endpoint or OPENAI_BASE_URL, model or DEFAULT_OPENAI_MODEL)
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
    # The v1 route refuses an api-version (HTTP 401), so only the preview form carries one.
    return form.url(endpoint, name, api_version or DEFAULT_AZURE_PREVIEW_API_VERSION)


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


_URL_FIX = "use e.g. " + AZURE.url("https://NAME.openai.azure.com", "DEPLOYMENT")


def check_text(value: str, what: str, *, controls: bool = False) -> None:
    """Refuse text that cannot go on the wire: bytes that are not UTF-8 (which Python keeps as
    lone surrogates) and, unless ``controls`` (free text such as instructions may hold line
    breaks), control characters. The message never repeats the value."""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise ConfigError(
                f"{what} contains bytes that are not UTF-8; check the value's encoding"
            )
        if category == "Cc" and not controls:
            raise ConfigError(f"{what} contains a control character (U+{ord(char):04X})")


def check_proxy(url: str) -> None:
    """Refuse, before connecting, a proxy variable that would apply to ``url`` but cannot be
    used (no host, a bad port, a scheme the WebSocket library does not speak).

    The proxy is looked up as the ``websockets`` library does (``urllib.request.getproxies``
    and ``proxy_bypass``), so what is checked is what the connection would use.
    """
    from websockets.exceptions import InvalidProxy, InvalidURI
    from websockets.proxy import get_proxy, parse_proxy
    from websockets.uri import parse_uri

    try:
        proxy = get_proxy(parse_uri(url))
    except (InvalidURI, ValueError):
        return  # the URL itself was checked already; a no_proxy quirk is not the proxy's fault
    if proxy is None:
        return
    try:
        parsed = parse_proxy(proxy)
    except (InvalidProxy, ValueError, UnicodeError) as exc:
        detail = exc.args[1] if isinstance(exc, InvalidProxy) and len(exc.args) > 1 else exc
        raise ConfigError(
            f"the proxy {redact_url(proxy)!r} from the environment (https_proxy, http_proxy or "
            f"all_proxy) cannot be used ({redact_url(str(detail))}); fix or unset it"
        ) from None
    if parsed.scheme.startswith("socks"):
        try:
            import python_socks  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"the proxy {redact_url(proxy)!r} is a SOCKS proxy, which needs the python-socks "
                "package: pip install python-socks, or unset the proxy variable"
            ) from None


def _load_env(
    env: Mapping[str, str] | None, env_file: Path | None
) -> tuple[dict[str, str], list[str]]:
    """Real environment over ``.env`` values, and the names that were set but empty.

    Empty strings count as unset, except that :func:`resolve_target` refuses them when they are
    all the configuration there is.
    """
    merged: dict[str, str] = {}
    empty: list[str] = []
    path = env_file if env_file is not None else Path(".env")
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"env file {env_file} does not exist; pass an existing --env-file")
    if path.is_file():
        try:
            values = dotenv_values(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read env file {path}: {exc.__class__.__name__}") from None
        merged.update({k: v for k, v in values.items() if v and k in ENV_VARS})
        empty += [k for k, v in values.items() if not v and k in ENV_VARS]
    source = os.environ if env is None else env
    for name in ENV_VARS:
        value = source.get(name)
        if value:
            merged[name] = value
        elif value is not None and name not in merged:
            empty.append(name)
    for name, value in merged.items():
        check_text(value, name)
    return merged, [name for name in dict.fromkeys(empty) if name not in merged]


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


def _check_options(options: Mapping[str, str | None]) -> None:
    """An option given is never empty (``--url ""`` is an unset variable, not "no target")."""
    for flag, value in options.items():
        if value is None:
            continue
        if not value.strip():
            raise ConfigError(
                f"{flag} is empty (an unset variable?); give it a value or leave the option out"
            )
        check_text(value, flag)


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
    Raises :class:`ConfigError` for an empty or unusable value (see the module docstring).
    """
    _check_options(
        {
            "--url": url,
            "--endpoint": endpoint,
            "--deployment": deployment,
            "--model": model,
            "--api-version": api_version,
        }
    )
    values, empty = _load_env(env, env_file)
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
        if empty:
            names = ", ".join(empty)
            raise ConfigError(
                f"{names} {'is' if len(empty) == 1 else 'are'} set but empty (an unset secret "
                "in CI?); give a value, or unset it to probe the embedded mock"
            )
        return None

    if url:
        scheme, host = _check_url(url, "--url")
        final_url = urlunsplit((ws_scheme(scheme), *urlsplit(url)[1:]))
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
    check_proxy(final_url)

    headers: dict[str, str] = {}
    mode = auth or (AuthMode.API_KEY if azure else AuthMode.BEARER)
    key = azure_key if azure else (openai_key or azure_key)
    if query_has_key:
        for name, values_ in parse_qs(urlsplit(final_url).query).items():
            if name.lower() in ("api-key", "authorization"):
                for value in values_:
                    register_secret(value.removeprefix("Bearer ").strip())
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
