"""Secret redaction for URLs, headers, free text and log records.

Keys and tokens must never reach output, logs, recordings, failure records or exception messages.
Three layers do that:

* :func:`redact_url` removes credentials from a URL (query-string ``api-key=…``, ``token=…``,
  ``Authorization=…`` and user:password), keeping everything a support ticket needs.
* :func:`redact_headers` masks credential headers (``Authorization`` keeps its scheme, so a
  reader still sees *Bearer* vs *api-key*).
* :func:`redact_text` replaces every secret registered with :func:`register_secret` (the exact
  key or token in use) plus anything shaped like an OpenAI key, a Bearer token or a query-string
  key. :class:`RedactingFilter` applies it to every log record.

Registering the exact values is the strong guarantee; the patterns are a safety net for values
we never saw (a key echoed back by a gateway, a key in a user-supplied URL).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SECRET_HEADERS",
    "SECRET_QUERY_KEYS",
    "RedactingFilter",
    "contains_secret",
    "forget_secrets",
    "redact_headers",
    "redact_text",
    "redact_url",
    "register_secret",
]

MASK = "***"

#: Query-string parameters that carry credentials (Azure browsers pass ``api-key=`` or
#: ``Authorization=Bearer …`` in the query, see Azure's Realtime WebSocket how-to; SAS-style URLs
#: use ``sig``).
SECRET_QUERY_KEYS: frozenset[str] = frozenset(
    {
        "api-key",
        "api_key",
        "apikey",
        "key",
        "authorization",
        "token",
        "access_token",
        "sig",
        "signature",
        "client_secret",
        "code",
    }
)

#: Request or response headers whose values are credentials.
SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "ocp-apim-subscription-key",
        "cookie",
        "set-cookie",
    }
)

# Safety-net patterns for secrets we were never told about. Each keeps a short, harmless prefix
# so the reader can tell what kind of value was there.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(sk-(?:proj-|svcacct-|admin-)?)[A-Za-z0-9_\-]{8,}"), r"\1" + MASK),
    (re.compile(r"\b(ek_)[A-Za-z0-9]{8,}"), r"\1" + MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"), r"\1" + MASK),
    (
        re.compile(r"(?i)([?&](?:api-key|api_key|apikey|key|token|access_token|sig)=)[^&#\s\"']+"),
        r"\1" + MASK,
    ),
    (re.compile(r"(openai-insecure-api-key\.)[^,\s\"']+"), r"\1" + MASK),
)

_lock = threading.Lock()
_secrets: set[str] = set()
# Longest first, so a secret containing another is replaced whole.
_ordered: tuple[str, ...] = ()

#: Values shorter than this are too likely to occur in normal text to be replaced blindly
#: (a test key like ``x`` would garble every line); real keys and tokens are far longer.
_MIN_SECRET_LEN = 6


def register_secret(value: str | None) -> None:
    """Remember a secret (an API key, a token) so :func:`redact_text` removes it everywhere."""
    global _ordered
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def forget_secrets() -> None:
    """Drop every registered secret (tests use this to start clean)."""
    global _ordered
    with _lock:
        _secrets.clear()
        _ordered = ()


def contains_secret(text: str) -> bool:
    """Whether ``text`` contains a registered secret (a cheap check for hot paths)."""
    return any(secret in text for secret in _ordered)


def redact_text(text: str) -> str:
    """``text`` with registered secrets and secret-shaped values masked."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """``url`` with credentials in the query string and the user-info part masked.

    Never raises: a string that does not parse as a URL is redacted as text instead.
    """
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    cleaned = [(k, MASK if k.lower() in SECRET_QUERY_KEYS else v) for k, v in query]
    rebuilt = urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            urlencode(cleaned, safe="*", quote_via=quote),
            parts.fragment,
        )
    )
    return redact_text(rebuilt)


def redact_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> dict[str, str]:
    """A copy of ``headers`` with credential values masked (``Authorization`` keeps its scheme).

    Repeated header names are joined with ``", "`` as HTTP allows.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        lowered = name.lower()
        if lowered in SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            masked = f"{scheme} {MASK}" if rest and lowered.endswith("authorization") else MASK
        else:  # e.g. a browser-style ``openai-insecure-api-key.…`` subprotocol
            masked = redact_text(value)
        out[name] = f"{out[name]}, {masked}" if name in out else masked
    return out


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees.

    The message is rendered once (``record.getMessage()``) and the arguments dropped, so a secret
    passed as a ``%s`` argument is masked too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops a record."""
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        return True
