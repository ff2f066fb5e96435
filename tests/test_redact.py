"""Secret redaction: keys and tokens never survive in URLs, headers, text or log records."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from realtime_harness.redact import (
    MASK,
    RedactingFilter,
    contains_secret,
    forget_secrets,
    redact_headers,
    redact_text,
    redact_url,
    register_secret,
)

SENTINEL = "SENTINEL-KEY-7f3a9c1e5b"


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_query_string_keys_are_masked_and_the_rest_kept() -> None:
    """api-key and Authorization in the query are masked; host, path and deployment stay."""
    url = (
        "wss://r.openai.azure.com/openai/realtime?api-version=2025-04-01-preview"
        "&deployment=gpt&api-key=abc123secret&Authorization=Bearer%20tok"
    )
    out = redact_url(url)
    assert "abc123secret" not in out
    assert "tok" not in out.split("deployment")[1]
    assert "r.openai.azure.com/openai/realtime" in out
    assert "deployment=gpt" in out
    assert "api-version=2025-04-01-preview" in out
    assert f"api-key={MASK}" in out


def test_user_info_in_a_url_is_masked() -> None:
    """user:password@host keeps only the host."""
    out = redact_url("wss://me:hunter2pass@example.com/v1/realtime")
    assert "hunter2pass" not in out
    assert "example.com" in out


def test_an_unparseable_url_is_redacted_as_text_without_raising() -> None:
    """A malformed URL never raises and still loses its key."""
    out = redact_url("wss://[broken/v1?api-key=zzzzzzzzzz")
    assert "zzzzzzzzzz" not in out


def test_credential_headers_are_masked_and_bearer_scheme_kept() -> None:
    """Authorization keeps its scheme; api-key is masked; request ids are untouched."""
    out = redact_headers(
        {"Authorization": "Bearer sk-abcdefghijklmnop", "api-key": "k" * 32, "x-request-id": "r1"}
    )
    assert out == {"Authorization": f"Bearer {MASK}", "api-key": MASK, "x-request-id": "r1"}


def test_repeated_headers_are_joined() -> None:
    """Repeated header names (raw HTTP) are joined with a comma."""
    assert redact_headers([("x-a", "1"), ("x-a", "2")]) == {"x-a": "1, 2"}


def test_registered_secrets_are_removed_from_any_text() -> None:
    """A registered key disappears wherever it appears."""
    register_secret(SENTINEL)
    assert SENTINEL not in redact_text(f"oops {SENTINEL} leaked {SENTINEL}")


def test_short_values_are_not_registered() -> None:
    """Values too short to be keys are not blindly replaced in every line."""
    register_secret("ab")
    assert redact_text("about") == "about"


@pytest.mark.parametrize(
    "text",
    [
        "key sk-proj-ABCDEFGHIJKLMNOPQRSTUV in text",
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
        "ephemeral ek_68af296e8e408191a1120ab6383263c2",
        "url ?api-key=abcdefabcdef&x=1",
        "subprotocol openai-insecure-api-key.sk-zzzzzzzzzzzzzz",
    ],
)
def test_secret_shaped_values_are_masked_even_when_never_registered(text: str) -> None:
    """The safety-net patterns catch OpenAI keys, Bearer tokens, ek_ secrets, query keys."""
    out = redact_text(text)
    assert MASK in out
    for secret in ("ABCDEFGHIJKLMNOPQRSTUV", "payload.sig", "1a1120ab6383263c2", "abcdefabcdef"):
        assert secret not in out


def test_logging_filter_masks_messages_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    """A secret passed as a %s argument is masked in the record."""
    register_secret(SENTINEL)
    logger = logging.getLogger("realtime_harness.test_redact")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="realtime_harness.test_redact"):
            logger.info("key=%s", SENTINEL)
    finally:
        logger.filters.clear()
    assert SENTINEL not in caplog.text
    assert MASK in caplog.text


def test_contains_secret_checks_only_registered_values() -> None:
    """contains_secret is true only for registered secrets (the hot-path check)."""
    assert not contains_secret(f"x {SENTINEL}")
    register_secret(SENTINEL)
    assert contains_secret(f"x {SENTINEL}")
    assert not contains_secret("x")
