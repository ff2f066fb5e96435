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
