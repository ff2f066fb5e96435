"""The URL forms of the Realtime API WebSocket endpoint, written once.

Clients build URLs from this table (:mod:`realtime_harness.target`) and the mock parses request
paths with it (:mod:`realtime_harness.mock.server`):

=================  ====================================================  ==============  =======
variant            URL                                                   names the model dialect
=================  ====================================================  ==============  =======
``openai``         ``wss://api.openai.com/v1/realtime?model=M``          ``model``       GA [#]_
``azure``          ``wss://R.openai.azure.com/openai/v1/realtime?model=D``  ``model``    GA
``azure-preview``  ``wss://R.openai.azure.com/openai/realtime?api-version=V&deployment=D``  beta
``custom``         any other ``ws://``/``wss://`` URL, used as given                     GA
=================  ====================================================  ==============  =======

.. [#] OpenAI serves the beta shape on the same URL when the client sends ``OpenAI-Beta:
   realtime=v1`` (variant ``openai-beta``); OpenAI has since retired it.

Sources: OpenAI "Realtime API with WebSockets" guide
(https://platform.openai.com/docs/guides/realtime-websocket) and Azure OpenAI "Realtime API via
WebSockets" (https://learn.microsoft.com/azure/ai-foundry/openai/how-to/realtime-audio-websockets).
On the Azure v1 route an ``api-version`` parameter is refused with HTTP 401; the preview route
needs both ``api-version`` and ``deployment`` (HTTP 400 without them).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from realtime_harness.protocol.dialects import Dialect

__all__ = [
    "AZURE",
    "AZURE_PREVIEW",
    "FORMS",
    "OPENAI",
    "OPENAI_BASE_URL",
    "EndpointForm",
    "Route",
    "Variant",
    "form_for_path",
    "form_of",
    "parse_route",
    "ws_scheme",
]

#: Where OpenAI's API lives when no base URL is given.
OPENAI_BASE_URL = "https://api.openai.com/v1"


class Variant(enum.StrEnum):
    """Which connection variant a target uses (``custom`` for a URL given whole)."""

    OPENAI = "openai"
    OPENAI_BETA = "openai-beta"
    AZURE = "azure"
    AZURE_PREVIEW = "azure-preview"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class EndpointForm:
    """One URL form: its path, the query parameter naming the model, what it requires."""

    variant: Variant
    #: The path of the realtime route, without a trailing slash.
    path: str
    #: Query parameter that names the model (OpenAI) or deployment (Azure).
    name_param: str
    #: The dialect the route serves; None when a request header chooses it (OpenAI).
    dialect: Dialect | None
    azure: bool
    #: Suffixes of a base URL that belong to this form (``…/openai/v1`` as SDK samples write it).
    base_suffixes: tuple[str, ...] = ()
    #: Query parameter carrying the api-version (preview only; put before the name).
    version_param: str | None = None
    #: Query parameters the service refuses on this route (HTTP 401 on Azure v1).
    forbidden: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        """Query parameters the route needs (the preview route: HTTP 400 without them)."""
        return (self.version_param, self.name_param) if self.version_param else ()

    def url(self, base: str, name: str, api_version: str | None = None) -> str:
        """The ``ws(s)://`` URL of this form under ``base`` (an http(s) or ws(s) base URL)."""
        parts = urlsplit(base.rstrip("/"))
        prefix = parts.path.rstrip("/")
        for suffix in self.base_suffixes:
            if prefix.endswith(suffix):
                prefix = prefix[: -len(suffix)]
                break
        query: dict[str, str] = {}
        if self.version_param is not None:
            query[self.version_param] = api_version or ""
        query[self.name_param] = name
        return urlunsplit(
            (ws_scheme(parts.scheme), parts.netloc, prefix + self.path, urlencode(query), "")
        )


OPENAI = EndpointForm(
    Variant.OPENAI, "/v1/realtime", "model", None, azure=False, base_suffixes=("/v1",)
)
AZURE = EndpointForm(
    Variant.AZURE,
    "/openai/v1/realtime",
    "model",
    Dialect.GA,
    azure=True,
    base_suffixes=("/openai/v1", "/openai"),
    forbidden=("api-version",),
)
AZURE_PREVIEW = EndpointForm(
    Variant.AZURE_PREVIEW,
    "/openai/realtime",
    "deployment",
    Dialect.BETA,
    azure=True,
    base_suffixes=("/openai/v1", "/openai"),
    version_param="api-version",
)
#: Every form, longest path first (so a suffix match finds ``/openai/v1/realtime`` before
#: ``/v1/realtime``).
FORMS: tuple[EndpointForm, ...] = tuple(
    sorted((OPENAI, AZURE, AZURE_PREVIEW), key=lambda f: len(f.path), reverse=True)
)

_BY_VARIANT = {
    Variant.OPENAI: OPENAI,
    Variant.OPENAI_BETA: OPENAI,
    Variant.AZURE: AZURE,
    Variant.AZURE_PREVIEW: AZURE_PREVIEW,
}


def form_of(variant: Variant) -> EndpointForm | None:
    """The URL form of a variant (None for ``custom``)."""
    return _BY_VARIANT.get(variant)


def form_for_path(path: str, *, exact: bool = True) -> EndpointForm | None:
    """The form whose route is ``path`` (or, with ``exact=False``, ends ``path``: a gateway may
    put the route under a prefix)."""
    path = path.rstrip("/")
    for form in FORMS:
        if path == form.path or (not exact and path.endswith(form.path)):
            return form
    return None


def ws_scheme(scheme: str) -> str:
    """The WebSocket scheme for an http(s) scheme (ws/wss unchanged)."""
    return {"https": "wss", "http": "ws"}.get(scheme, scheme)


@dataclass(frozen=True, slots=True)
class Route:
    """A request target matched against the table, as a server sees it."""

    form: EndpointForm
    #: The query parameters, last value of each.
    query: Mapping[str, str]

    @property
    def name(self) -> str | None:
        """The model or deployment the request names."""
        return self.query.get(self.form.name_param)

    @property
    def forbidden(self) -> tuple[str, ...]:
        """Query parameters present that the route refuses."""
        return tuple(p for p in self.form.forbidden if p in self.query)

    @property
    def missing(self) -> tuple[str, ...]:
        """Required query parameters that are absent."""
        return tuple(p for p in self.form.required if p not in self.query)


def parse_route(target: str) -> tuple[str, Route | None]:
    """The path of an HTTP request target and its route (None: no realtime route there)."""
    split = urlsplit(target)
    path = split.path.rstrip("/")
    form = form_for_path(path)
    if form is None:
        return path, None
    query = {k: v[-1] for k, v in parse_qs(split.query).items()}
    return path, Route(form, query)
