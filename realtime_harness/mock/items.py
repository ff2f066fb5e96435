"""The mock session's conversation: its items, their order, and the client's item events.

Sans-I/O. The checks and messages of ``conversation.item.create`` / ``retrieve`` / ``delete`` /
``truncate`` follow the real service (OpenAI Realtime API reference, "Client events"); a refused
request raises :class:`Rejected`, which the session turns into an ``error`` event.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from realtime_harness.protocol.ids import new_id

__all__ = ["Conversation", "Rejected"]


@dataclass(frozen=True, slots=True)
class Rejected(Exception):
    """A client event the service refuses: the ``error`` object's code, message and param."""

    code: str | None
    message: str
    param: str | None = None


_ITEM_TYPES = ("message", "function_call", "function_call_output")


class Conversation:
    """The items of one session, in order, with the audio length of each audio item."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.audio_ms: dict[str, int] = {}
        # their sum, kept as they change: every response's usage reads it, and a long session's
        # conversation holds thousands of items
        self._audio_total = 0
        self.last_item_id: str | None = None
        self.call_ids: set[str] = set()

    def add(self, item: dict[str, Any], audio_ms: int | None = None) -> str | None:
        """Append an item; returns the id of the item it follows."""
        previous = self.last_item_id
        item_id = str(item["id"])
        self.items[item_id] = item
        if audio_ms is not None:
            self._audio_total += audio_ms - self.audio_ms.get(item_id, 0)
            self.audio_ms[item_id] = audio_ms
        self.last_item_id = item_id
        return previous

    def last_is_call_output(self) -> bool:
        """Whether the latest item answers a function call (the model then speaks again)."""
        last = self.items.get(self.last_item_id or "")
        return last is not None and last.get("type") == "function_call_output"

    def input_audio_ms(self) -> int:
        """Audio held by all items (for usage)."""
        return self._audio_total

    def create(
        self, event: Mapping[str, Any], rng: random.Random
    ) -> tuple[dict[str, Any], str | None]:
        """Check a ``conversation.item.create``; returns the item body and its previous id.

        Raises:
            Rejected: the error the service answers with.
        """
        raw = event.get("item")
        if not isinstance(raw, Mapping):
            raise Rejected(
                "missing_required_parameter", "Missing required parameter: 'item'.", "item"
            )
        item_type = raw.get("type")
        if item_type not in _ITEM_TYPES:
            raise Rejected(
                "invalid_value",
                f"Invalid value: '{item_type}'. Supported values are: 'message', 'function_call', "
                "and 'function_call_output'.",
                "item.type",
            )
        if item_type == "function_call_output" and raw.get("call_id") not in self.call_ids:
            raise Rejected(
                "invalid_value",
                f"Invalid value: '{raw.get('call_id')}'. No function call with this call_id was "
                "found in the conversation.",
                "item.call_id",
            )
        if item_type == "message" and raw.get("role") not in ("user", "system", "assistant"):
            raise Rejected(
                "invalid_value",
                f"Invalid value: '{raw.get('role')}'. Supported values are: 'user', 'system', "
                "and 'assistant'.",
                "item.role",
            )
        item_id = raw.get("id") if isinstance(raw.get("id"), str) else new_id("item", rng)
        body = {k: v for k, v in raw.items() if k not in ("id", "object", "status")}
        item = {"id": item_id, "type": item_type, "status": "completed", **body}
        if item_type == "function_call":
            self.call_ids.add(str(raw.get("call_id")))
        previous = raw.get("previous_item_id", event.get("previous_item_id"))
        previous = previous if isinstance(previous, str) else self.last_item_id
        if previous == "root":
            previous = None
        return item, previous

    def insert(self, item: dict[str, Any]) -> None:
        """Store a created item as the latest one."""
        item_id = str(item["id"])
        self.items[item_id] = item
        self.last_item_id = item_id

    def get(self, item_id: object) -> dict[str, Any]:
        """The item ``item_id``.

        Raises:
            Rejected: no such item.
        """
        item = self.items.get(str(item_id))
        if item is None:
            raise _missing(item_id)
        return item

    def delete(self, item_id: object) -> str:
        """Remove an item; returns its id.

        Raises:
            Rejected: no such item.
        """
        key = str(item_id)
        if self.items.pop(key, None) is None:
            raise _missing(item_id)
        # a deleted item's audio no longer counts as input
        self._audio_total -= self.audio_ms.pop(key, 0)
        return key

    def truncate(self, item_id: object, end: object) -> int:
        """Cut an item's audio at ``end`` ms; returns ``end``.

        Raises:
            Rejected: no such item, or ``end`` beyond its audio.
        """
        key = str(item_id)
        if key not in self.items:
            raise _missing(item_id)
        have = self.audio_ms.get(key, 0)
        if not isinstance(end, int) or isinstance(end, bool) or end < 0 or end > have:
            raise Rejected(
                "invalid_value",
                f"Audio content of {have}ms is already shorter than {end}ms",
                "audio_end_ms",
            )
        self._audio_total += end - have
        self.audio_ms[key] = end
        return end


def _missing(item_id: object) -> Rejected:
    return Rejected(
        "invalid_value",
        f"Invalid value: '{item_id}'. Item does not exist in the conversation.",
        "item_id",
    )
