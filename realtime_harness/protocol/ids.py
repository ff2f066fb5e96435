"""Ids of the Realtime API: their shape, making new ones, and finding a session id in text.

Real ids are ``<prefix>_`` followed by letters and digits with no fixed length (protocol §6);
validate the shape, never the length.
"""

from __future__ import annotations

import random
import re
import string

__all__ = ["ID_RE", "SESSION_ID_IN_TEXT_RE", "find_session_id", "new_id"]

ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9]+$")
SESSION_ID_IN_TEXT_RE = re.compile(r"\bsess_[A-Za-z0-9]+")

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, rng: random.Random, length: int = 21) -> str:
    """A new id of the real form: ``prefix_`` and ``length`` characters ``[A-Za-z0-9]``."""
    return prefix + "_" + "".join(rng.choices(_ALPHABET, k=length))


def find_session_id(text: str | None) -> str | None:
    """The first ``sess_…`` id named in a message, as real server_error texts do."""
    if not text:
        return None
    match = SESSION_ID_IN_TEXT_RE.search(text)
    return match.group(0) if match else None
