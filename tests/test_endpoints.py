"""The URL forms of the Realtime API, one table: what clients build is what the mock parses."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from realtime_harness.endpoints import (
    AZURE,
    AZURE_PREVIEW,
    FORMS,
    OPENAI,
    Variant,
    form_for_path,
    form_of,
    parse_route,
)
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.target import build_url, dialect_from_url

AZ = "https://res.openai.azure.com"


@pytest.mark.parametrize(
    ("variant", "kwargs", "url"),
    [
        (Variant.OPENAI, {}, "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        (Variant.OPENAI_BETA, {"model": "m"}, "wss://api.openai.com/v1/realtime?model=m"),
        (
            Variant.OPENAI,
            {"endpoint": "http://127.0.0.1:9/v1/", "model": "m"},
            "ws://127.0.0.1:9/v1/realtime?model=m",
        ),
        (Variant.AZURE, {"endpoint": AZ, "deployment": "d"}, f"{AZ}/openai/v1/realtime?model=d"),
        (
            Variant.AZURE,
            {"endpoint": AZ + "/openai/v1/", "deployment": "d"},
            f"{AZ}/openai/v1/realtime?model=d",
        ),
        (
            Variant.AZURE_PREVIEW,
            {"endpoint": AZ + "/openai", "deployment": "d", "api_version": "2025-04-01-preview"},
            f"{AZ}/openai/realtime?api-version=2025-04-01-preview&deployment=d",
        ),
    ],
)
def test_each_variant_builds_its_documented_url(
    variant: Variant, kwargs: dict[str, str], url: str
) -> None:
    """OpenAI ?model=, Azure GA /openai/v1/realtime?model=, preview ?api-version=&deployment=."""
    assert build_url(variant, **kwargs) == url.replace("https://", "wss://")


@pytest.mark.parametrize("variant", [v for v in Variant if v is not Variant.CUSTOM])
def test_what_a_client_builds_the_mock_parses_back(variant: Variant) -> None:
    """Round trip through the table: the built URL routes to the same form and name."""
    url = build_url(variant, endpoint="http://127.0.0.1:1", deployment="dep-1", model="dep-1")
    parts = urlsplit(url)
    _path, route = parse_route(f"{parts.path}?{parts.query}")
    assert route is not None
    assert route.form is form_of(variant)
    assert route.name == "dep-1"
    assert route.missing == ()
    assert route.forbidden == ()


def test_unknown_paths_have_no_route() -> None:
    """Anything but the three realtime routes is a 404 for the mock."""
    for target in ("/", "/v1/chat", "/openai/v2/realtime?model=x", "/x/v1/realtime"):
        assert parse_route(target)[1] is None
    assert parse_route("/v1/realtime/?model=x")[1] is not None  # a trailing slash is the same


def test_azure_route_rules_come_from_the_table() -> None:
    """api-version on the v1 route is refused (401); the preview route needs both params (400)."""
    _, v1 = parse_route("/openai/v1/realtime?model=d&api-version=2025-04-01-preview")
    assert v1 is not None
    assert v1.forbidden == ("api-version",)
    _, preview = parse_route("/openai/realtime?deployment=d")
    assert preview is not None
    assert preview.missing == ("api-version",)
    assert AZURE_PREVIEW.required == ("api-version", "deployment")


def test_dialects_of_the_forms() -> None:
    """The preview route is beta, Azure v1 is GA, OpenAI's is chosen by a header (None)."""
    assert (AZURE_PREVIEW.dialect, AZURE.dialect, OPENAI.dialect) == (
        Dialect.BETA,
        Dialect.GA,
        None,
    )
    assert dialect_from_url("wss://gw.example.com/prefix/openai/realtime?x=1") is Dialect.BETA
    assert dialect_from_url("wss://gw.example.com/prefix/openai/v1/realtime") is Dialect.GA
    assert dialect_from_url("http://[::1") is Dialect.GA  # never raises


def test_longest_path_wins_a_suffix_match() -> None:
    """``/openai/v1/realtime`` also ends with ``/v1/realtime``: the Azure form must win."""
    assert form_for_path("/openai/v1/realtime", exact=False) is AZURE
    assert [len(f.path) for f in FORMS] == sorted((len(f.path) for f in FORMS), reverse=True)
    assert form_of(Variant.CUSTOM) is None
