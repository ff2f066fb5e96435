"""Target resolution: the four URL variants, env vars and .env, auth modes, clear config errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from realtime_harness.exceptions import ConfigError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.redact import forget_secrets, redact_text
from realtime_harness.target import (
    ENTRA_SCOPE,
    AuthMode,
    Variant,
    build_url,
    dialect_from_url,
    resolve_target,
)

AZ = "https://res.openai.azure.com"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # No developer .env or environment leaks into these tests.
    monkeypatch.chdir(tmp_path)
    forget_secrets()
    yield
    forget_secrets()


def test_openai_ga_url_and_bearer_header() -> None:
    """OpenAI GA: /v1/realtime?model=, Authorization Bearer, no OpenAI-Beta header."""
    target = resolve_target(env={"OPENAI_API_KEY": "sk-test-123456789"})
    assert target is not None
    assert target.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert target.variant is Variant.OPENAI
    assert target.dialect is Dialect.GA
    assert target.headers == {"Authorization": "Bearer sk-test-123456789"}


def test_openai_beta_adds_the_beta_header() -> None:
    """--dialect beta on OpenAI sends OpenAI-Beta: realtime=v1."""
    target = resolve_target(env={"OPENAI_API_KEY": "sk-test-123456789"}, dialect=Dialect.BETA)
    assert target is not None
    assert target.variant is Variant.OPENAI_BETA
    assert target.headers["OpenAI-Beta"] == "realtime=v1"


def test_azure_ga_url_uses_v1_path_and_api_key_header() -> None:
    """Azure GA: /openai/v1/realtime?model=DEPLOYMENT with the api-key header, no api-version."""
    target = resolve_target(
        env={
            "AZURE_OPENAI_ENDPOINT": AZ + "/",
            "AZURE_OPENAI_API_KEY": "azkey-0123456789",
            "AZURE_OPENAI_DEPLOYMENT": "gpt-realtime",
        }
    )
    assert target is not None
    assert target.url == "wss://res.openai.azure.com/openai/v1/realtime?model=gpt-realtime"
    assert target.variant is Variant.AZURE
    assert target.dialect is Dialect.GA
    assert target.headers == {"api-key": "azkey-0123456789"}
    assert target.request_id_header == "x-ms-client-request-id"


def test_azure_preview_url_from_api_version_is_beta() -> None:
    """An api-version selects the preview route and the beta dialect."""
    target = resolve_target(
        endpoint=AZ,
        deployment="dep",
        api_version="2025-04-01-preview",
        env={"AZURE_OPENAI_API_KEY": "azkey-0123456789"},
    )
    assert target is not None
    assert target.url == (
        "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=dep"
    )
    assert target.variant is Variant.AZURE_PREVIEW
    assert target.dialect is Dialect.BETA


@pytest.mark.parametrize("suffix", ["/openai", "/openai/v1", "/openai/v1/"])
def test_azure_endpoint_suffixes_from_sdk_samples_are_accepted(suffix: str) -> None:
    """An endpoint given with /openai or /openai/v1 builds the same URL."""
    url = build_url(Variant.AZURE, endpoint=AZ + suffix, deployment="d")
    assert url == "wss://res.openai.azure.com/openai/v1/realtime?model=d"


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("wss://res.openai.azure.com/openai/realtime?api-version=x&deployment=d", Dialect.BETA),
        ("wss://res.openai.azure.com/openai/v1/realtime?model=d", Dialect.GA),
        ("wss://api.openai.com/v1/realtime?model=gpt-realtime", Dialect.GA),
        ("ws://127.0.0.1:9000/v1/realtime", Dialect.GA),
    ],
)
def test_dialect_follows_the_url_form(url: str, dialect: Dialect) -> None:
    """Azure preview paths are beta; everything else is GA."""
    assert dialect_from_url(url) is dialect


def test_explicit_dialect_overrides_the_url() -> None:
    """--dialect wins over the URL form."""
    target = resolve_target(url="ws://127.0.0.1:1/v1/realtime", dialect=Dialect.BETA, env={})
    assert target is not None
    assert target.dialect is Dialect.BETA


def test_nothing_configured_means_no_target() -> None:
    """No options, no env vars, no .env: None (the caller probes the embedded mock)."""
    assert resolve_target(env={}) is None


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    """Values come from ./.env unless the environment sets them too."""
    (tmp_path / ".env").write_text(
        "AZURE_OPENAI_ENDPOINT=https://fromfile.openai.azure.com\n"
        "AZURE_OPENAI_API_KEY=filekey-0123456\nAZURE_OPENAI_DEPLOYMENT=filedep\n"
    )
    target = resolve_target(env={"AZURE_OPENAI_DEPLOYMENT": "envdep"})
    assert target is not None
    assert target.url == "wss://fromfile.openai.azure.com/openai/v1/realtime?model=envdep"
    assert target.headers["api-key"] == "filekey-0123456"


def test_missing_env_file_is_a_config_error(tmp_path: Path) -> None:
    """--env-file naming a missing file fails clearly."""
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_target(env={}, env_file=tmp_path / "nope.env")


def test_missing_key_is_a_clear_error_before_connecting() -> None:
    """An Azure endpoint without a key names the variable to set."""
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        resolve_target(endpoint=AZ, deployment="d", env={})


def test_missing_deployment_is_a_clear_error() -> None:
    """An Azure endpoint without a deployment says how to give one."""
    with pytest.raises(ConfigError, match="--deployment"):
        resolve_target(endpoint=AZ, env={"AZURE_OPENAI_API_KEY": "azkey-0123456789"})


@pytest.mark.parametrize("url", ["ftp://x/y", "not a url", "wss://", "wss://h:notaport/x"])
def test_malformed_url_is_a_config_error_naming_the_fix(url: str) -> None:
    """A URL that is not ws(s):// fails with an example of the right form."""
    with pytest.raises(ConfigError, match="wss://"):
        resolve_target(url=url, env={})


def test_loopback_url_needs_no_key() -> None:
    """A local mock or gateway on 127.0.0.1 is probed without credentials."""
    target = resolve_target(url="ws://127.0.0.1:8765/v1/realtime", env={})
    assert target is not None
    assert target.auth is AuthMode.NONE
    assert target.headers == {}


def test_remote_custom_url_without_key_is_an_error() -> None:
    """A non-loopback URL with no key fails before connecting."""
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resolve_target(url="wss://gateway.example.com/v1/realtime", env={})


def test_query_string_key_counts_as_auth_and_is_redacted() -> None:
    """A browser-style api-key= in the URL is accepted and never printed."""
    target = resolve_target(
        url="wss://res.openai.azure.com/openai/v1/realtime?model=d&api-key=qqqqqqqqqqqq", env={}
    )
    assert target is not None
    assert target.headers == {}
    assert "qqqqqqqqqqqq" not in target.redacted_url
    assert "qqqqqqqqqqqq" not in target.describe()


def test_bearer_mode_sends_the_azure_key_as_bearer() -> None:
    """auth=bearer puts the key in Authorization instead of api-key."""
    target = resolve_target(
        endpoint=AZ,
        deployment="d",
        auth=AuthMode.BEARER,
        env={"AZURE_OPENAI_API_KEY": "azkey-0123456789"},
    )
    assert target is not None
    assert target.headers == {"Authorization": "Bearer azkey-0123456789"}


class _FakeCredential:
    scopes: ClassVar[list[str]] = []

    def get_token(self, scope: str) -> Any:
        self.scopes.append(scope)

        class _Token:
            token = "entra-token-abcdef123456"

        return _Token()


def test_entra_token_is_sent_as_bearer_and_registered_as_secret() -> None:
    """auth=entra asks azure-identity for the cognitive services scope; the token is redacted."""
    target = resolve_target(
        endpoint=AZ, deployment="d", auth=AuthMode.ENTRA, env={}, credential_factory=_FakeCredential
    )
    assert target is not None
    assert target.headers == {"Authorization": "Bearer entra-token-abcdef123456"}
    assert _FakeCredential.scopes[-1] == ENTRA_SCOPE
    assert "entra-token-abcdef123456" not in redact_text("got entra-token-abcdef123456")


def test_entra_failure_is_a_config_error_without_details() -> None:
    """A credential that fails gives one line naming the fix, not the exception text."""

    class Broken:
        def get_token(self, scope: str) -> Any:
            raise RuntimeError("secret-internal-detail")

    with pytest.raises(ConfigError, match="az login") as info:
        resolve_target(
            endpoint=AZ, deployment="d", auth=AuthMode.ENTRA, env={}, credential_factory=Broken
        )
    assert "secret-internal-detail" not in str(info.value)


def test_headers_are_not_in_repr_and_keys_are_registered() -> None:
    """A Target's repr shows no key, and the key is redacted from any text."""
    target = resolve_target(env={"OPENAI_API_KEY": "sk-test-abcdefghijk"})
    assert target is not None
    assert "sk-test-abcdefghijk" not in repr(target)
    assert "sk-test-abcdefghijk" not in redact_text("x sk-test-abcdefghijk y")


def test_request_headers_add_a_fresh_client_request_id() -> None:
    """Each connection gets our client request id header."""
    target = resolve_target(env={"OPENAI_API_KEY": "sk-test-abcdefghijk"})
    assert target is not None
    headers = target.request_headers("rid-1")
    assert headers["x-client-request-id"] == "rid-1"


# --- hardening: empty values, undecodable bytes, proxies, missing keys ---------------------------

PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*PROXY_VARS, "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("flag", ["url", "endpoint", "deployment", "model", "api_version"])
def test_an_option_given_empty_is_a_config_error_not_the_mock(flag: str) -> None:
    """``--url ""`` (an unset variable in a CI script) never falls back to the embedded mock."""
    with pytest.raises(ConfigError, match="is empty"):
        resolve_target(env={}, **{flag: ""})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="is empty"):
        resolve_target(env={}, **{flag: "  "})  # type: ignore[arg-type]


def test_a_variable_set_but_empty_is_an_error_when_it_is_all_there_is() -> None:
    """An empty REALTIME_HARNESS_URL alone is a mistake; beside a real target it is ignored."""
    with pytest.raises(ConfigError, match="REALTIME_HARNESS_URL is set but empty"):
        resolve_target(env={"REALTIME_HARNESS_URL": ""})
    with pytest.raises(ConfigError, match="REALTIME_HARNESS_URL is set but empty"):
        resolve_target(env={"REALTIME_HARNESS_URL": "", "AZURE_OPENAI_API_KEY": "azkey-0123456"})
    target = resolve_target(
        env={"OPENAI_API_KEY": "sk-test-123456789", "AZURE_OPENAI_API_VERSION": ""}
    )
    assert target is not None
    assert target.variant is Variant.OPENAI


def test_an_empty_line_in_dotenv_counts_too(tmp_path: Path) -> None:
    """``OPENAI_API_KEY=`` in .env with nothing else configured: the same error."""
    (tmp_path / ".env").write_text("OPENAI_API_KEY=\n")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is set but empty"):
        resolve_target(env={})


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"url": "wss://res.openai.azure.com/openai/v1/realtime?model=d\udcff"}, "--url"),
        ({"endpoint": "https://r\udce9s.openai.azure.com", "deployment": "d"}, "--endpoint"),
        ({"endpoint": AZ, "deployment": "dep\udcff"}, "--deployment"),
        ({"endpoint": AZ, "deployment": "dep\nx"}, "--deployment"),
    ],
)
def test_bytes_that_are_not_utf8_are_refused_by_name(kwargs: dict[str, str], what: str) -> None:
    """Undecodable argv bytes (kept as surrogates) or control characters: one clear line."""
    with pytest.raises(ConfigError, match=what) as info:
        resolve_target(env={"AZURE_OPENAI_API_KEY": "azkey-0123456"}, **kwargs)  # type: ignore[arg-type]
    assert "\udcff" not in str(info.value)


def test_environment_values_are_checked_too() -> None:
    """A variable holding undecodable bytes is named, not sent."""
    with pytest.raises(ConfigError, match="AZURE_OPENAI_DEPLOYMENT"):
        resolve_target(
            env={
                "AZURE_OPENAI_ENDPOINT": AZ,
                "AZURE_OPENAI_DEPLOYMENT": "d\udcff",
                "AZURE_OPENAI_API_KEY": "azkey-0123456",
            }
        )


@pytest.mark.parametrize(
    "proxy",
    ["socks5://", "http://[::1", "http://proxy.example:70000", "ftp://proxy.example:21"],
)
def test_a_malformed_proxy_is_a_config_error(no_proxy_env: pytest.MonkeyPatch, proxy: str) -> None:
    """A proxy variable the connection would use but cannot: one line, before connecting."""
    no_proxy_env.setenv("https_proxy", proxy)
    with pytest.raises(ConfigError, match="proxy"):
        resolve_target(endpoint=AZ, deployment="d", env={"AZURE_OPENAI_API_KEY": "azkey-012345"})


def test_a_proxy_password_is_not_printed(no_proxy_env: pytest.MonkeyPatch) -> None:
    """The error names the proxy with its credentials masked."""
    no_proxy_env.setenv("https_proxy", "http://user:hunter2hunter2@proxy.example:99999")
    with pytest.raises(ConfigError) as info:
        resolve_target(endpoint=AZ, deployment="d", env={"AZURE_OPENAI_API_KEY": "azkey-012345"})
    assert "hunter2hunter2" not in str(info.value)


def test_a_good_or_bypassed_proxy_is_accepted(no_proxy_env: pytest.MonkeyPatch) -> None:
    """A well-formed HTTP proxy passes; a host in no_proxy does not look at the proxy at all."""
    no_proxy_env.setenv("https_proxy", "http://proxy.example:3128")
    assert resolve_target(endpoint=AZ, deployment="d", env={"AZURE_OPENAI_API_KEY": "k" * 12})
    no_proxy_env.setenv("https_proxy", "http://[::1")
    no_proxy_env.setenv("no_proxy", "res.openai.azure.com")
    assert resolve_target(endpoint=AZ, deployment="d", env={"AZURE_OPENAI_API_KEY": "k" * 12})


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_a_missing_key_is_caught_before_connecting_for_ws_and_wss(scheme: str) -> None:
    """Plain ws:// to a remote host needs a key as much as wss:// does."""
    with pytest.raises(ConfigError, match="no API key"):
        resolve_target(url=f"{scheme}://gateway.example.com/v1/realtime?model=m", env={})
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        resolve_target(url=f"{scheme}://r.openai.azure.com/openai/v1/realtime?model=d", env={})


# --- never leak: repr, str, JSON, pickling --------------------------------------------------------

LEAK = "sk-LEAKSENTINEL-0123456789"


def _leaky_targets() -> list[Any]:
    return [
        resolve_target(env={"OPENAI_API_KEY": LEAK}),
        resolve_target(endpoint=AZ, deployment="d", env={"AZURE_OPENAI_API_KEY": LEAK}),
        resolve_target(url=f"ws://127.0.0.1:1/openai/v1/realtime?model=d&api-key={LEAK}", env={}),
        resolve_target(url=f"wss://gw.example.com/v1/realtime?Authorization=Bearer+{LEAK}", env={}),
    ]


def test_a_target_never_shows_its_key_in_repr_str_or_containers() -> None:
    """repr, str, describe, and the repr of a list or dataclass holding it (``pytest -l``)."""
    from realtime_harness.client import ProbeOptions

    for target in _leaky_targets():
        assert target is not None
        for text in (repr(target), str(target), target.describe(), repr([target])):
            assert LEAK not in text
        assert LEAK not in repr(ProbeOptions(target=target))
        assert LEAK not in repr(target.headers)
        assert LEAK not in str(target.headers)


def test_a_target_in_json_is_redacted_or_refused() -> None:
    """to_json_dict masks; a JSON encoder given the object itself refuses rather than leaks."""
    import json

    import orjson

    from realtime_harness.client import ProbeOptions

    for target in _leaky_targets():
        assert target is not None
        assert LEAK not in orjson.dumps(target.to_json_dict()).decode()
        for encode in (orjson.dumps, json.dumps):
            for obj in (target, ProbeOptions(target=target)):
                try:
                    text = encode(obj)
                except TypeError:
                    continue
                assert LEAK not in (text.decode() if isinstance(text, bytes) else text)


def test_a_pickled_target_carries_no_secret() -> None:
    """Pickling gives the redacted target: same URL form and dialect, no key."""
    import pickle

    for target in _leaky_targets():
        assert target is not None
        data = pickle.dumps(target)
        assert LEAK.encode() not in data
        copy = pickle.loads(data)
        assert copy.dialect is target.dialect
        assert copy.variant is target.variant
        assert copy.redacted_url == target.redacted_url


def test_targets_are_values() -> None:
    """Equal when equal, hashable, immutable; headers compare equal to a plain dict."""
    a = resolve_target(env={"OPENAI_API_KEY": "sk-test-123456789"})
    b = resolve_target(env={"OPENAI_API_KEY": "sk-test-123456789"})
    assert a == b
    assert hash(a) == hash(b)
    assert a is not None
    assert a.headers == {"Authorization": "Bearer sk-test-123456789"}
    with pytest.raises(AttributeError):
        a.url = "ws://elsewhere"  # type: ignore[misc]
