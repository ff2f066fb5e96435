"""Ids of the Realtime API: their shape, making new ones, and finding a session id in text.

Real ids are ``<prefix>_`` followed by letters and digits with no fixed length (OpenAI's
reference shows ``sess_…``, ``resp_…``, ``item_…``, ``event_…``, ``call_…``); validate the shape,
never the length. This is the only place the harness makes ids: the randomness is injected (a
seeded :class:`random.Random`), so a seeded run makes the same ids every time.
"""

from __future__ import annotations

import re
import string

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - the caller injects the random source
    import random

__all__ = [
    "ID_PREFIXES",
    "ID_RE",
    "SESSION_ID_IN_TEXT_RE",
    "IdGenerator",
    "find_session_id",
    "new_id",
]

ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9]+$")
SESSION_ID_IN_TEXT_RE = re.compile(r"\bsess_[A-Za-z0-9]+")

#: The prefixes of the ids the API hands out, by what they name.
ID_PREFIXES: dict[str, str] = {
    "session": "sess",
    "response": "resp",
    "item": "item",
    "call": "call",
    "conversation": "conv",
    "server_event": "event",
    "client_event": "evt",
}

_ALPHABET = string.ascii_letters + string.digits
# One byte of randomness → one id character (byte % 62; the slight bias is harmless for ids).
_BYTE_TO_CHAR = bytes((_ALPHABET[i % len(_ALPHABET)].encode("ascii")[0]) for i in range(256))

_COUNTER_BITS = 52  # 13 hex digits
_MASK = (1 << _COUNTER_BITS) - 1
# Odd, so n -> n * k mod 2**52 is a bijection: scrambled counters never repeat within 2**52 ids.
_SCRAMBLE = 0x5DEECE66D * 2 + 1


def new_id(prefix: str, rng: random.Random, length: int = 21) -> str:
    """A new id of the real form: ``prefix_`` and ``length`` characters ``[A-Za-z0-9]``.

    Draws ``length`` random bytes per id; for many ids from one source use :class:`IdGenerator`.
    """
    return prefix + "_" + rng.randbytes(length).translate(_BYTE_TO_CHAR).decode("ascii")


class IdGenerator:
    """Ids of the real form (``prefix_`` + 21 characters ``[A-Za-z0-9]``), unique per generator.

    Takes the random source once, at construction: an 8-character random stem plus a scrambled
    52-bit counter (13 hex digits) that starts at a random offset. Each id then costs one
    multiplication and one format (a fraction of a microsecond) instead of 21 random draws, and
    ids of two generators collide only if their random stems do (1 in 62**8).
    """

    __slots__ = ("_n", "_stem")

    def __init__(self, rng: random.Random) -> None:
        self._stem = rng.randbytes(8).translate(_BYTE_TO_CHAR).decode("ascii")
        self._n = rng.getrandbits(_COUNTER_BITS)

    def __call__(self, prefix: str) -> str:
        """The next id with ``prefix`` (``"evt"``, ``"resp"``…)."""
        n = self._n = (self._n + 1) & _MASK
        return f"{prefix}_{self._stem}{(n * _SCRAMBLE) & _MASK:013x}"


def find_session_id(text: str | None) -> str | None:
    """The first ``sess_…`` id named in a message, as real server_error texts do."""
    if not text:
        return None
    match = SESSION_ID_IN_TEXT_RE.search(text)
    return match.group(0) if match else None
