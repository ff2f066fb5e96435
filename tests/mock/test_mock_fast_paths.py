"""The mock's fast paths give the verdicts of the paths they shortcut.

The server checks each append's base64 once and hands the validator the decoded size
(``Validator.checked_append``): every state the validator can be in, every size, every append
name must give what ``Validator.client_event`` gives for the same elided event.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from mock_testkit import behaviour, events_of, manual_update

from realtime_harness.protocol.audio import MAX_APPEND_BYTES
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.validator import Validator

SIZES = [0, 1, 2, 3, 4_800, 4_801, MAX_APPEND_BYTES - 1, MAX_APPEND_BYTES, MAX_APPEND_BYTES + 2]
NAMES = ["input_audio_buffer.append", "session.input_audio_buffer.append"]


def _g711_update(dialect: Dialect) -> dict[str, Any]:
    if dialect is Dialect.GA:
        audio = {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}}
        return {"type": "session.update", "session": {"type": "realtime", "audio": audio}}
    return manual_update(dialect, input_audio_format="g711_ulaw")


def _prefix(dialect: Dialect, created: bool, update: str, updated: bool) -> list[tuple[str, Any]]:
    """What the validator saw before the append: real server events of the mock, in order."""
    session = behaviour(dialect)
    out: list[tuple[str, Any]] = []
    first = events_of(session, 0.0)
    if created:
        out += [("server", e) for e in first]
    if update != "none":
        event = manual_update(dialect) if update == "vad_off" else _g711_update(dialect)
        out.append(("client", event))
        session.receive(event, 0.5)
        replies = events_of(session, 0.5)
        if updated:
            out += [("server", e) for e in replies]
    return out


def _elided(name: str, size: int, event_id: object) -> dict[str, Any]:
    event: dict[str, Any] = {"type": name}
    if event_id is not None:
        event["event_id"] = event_id
    event["audio"] = {"elided": True, "chars": -(-size // 3) * 4, "bytes": size}
    return event


def _feed(validator: Validator, prefix: list[tuple[str, Any]]) -> None:
    for side, event in prefix:
        if side == "server":
            validator.server_event(event)
        else:
            validator.client_event(event)


def _state(validator: Validator) -> tuple[Any, ...]:
    return (
        validator.events,
        validator._buffer_ms,
        [v.to_json_dict() for v in validator.violations],
        validator.violations_dropped,
    )


@pytest.mark.parametrize("dialect", list(Dialect), ids=lambda d: d.value)
@pytest.mark.parametrize(
    ("created", "update", "updated"),
    [
        (False, "none", False),
        (True, "none", False),
        (True, "vad_off", False),
        (True, "vad_off", True),
        (True, "g711", False),
        (True, "g711", True),
        (False, "vad_off", False),
    ],
)
def test_a_checked_append_gives_the_verdicts_of_client_event(
    dialect: Dialect, created: bool, update: str, updated: bool
) -> None:
    """Same violations, counts and buffered duration, for the append itself and for the commit
    after it (which judges the buffered duration), twice in a row (reported-once rules)."""
    prefix = _prefix(dialect, created, update, updated)
    for name, size, event_id in itertools.product(NAMES, SIZES, [None, "evt_1", 7]):
        slow, fast = Validator(dialect), Validator(dialect)
        _feed(slow, prefix)
        _feed(fast, prefix)
        for _ in range(2):
            event = _elided(name, size, event_id)
            slow.client_event(event)
            fast.checked_append(event, size)
        commit = {"type": "input_audio_buffer.commit"}
        slow.client_event(commit)
        fast.client_event(commit)
        assert _state(fast) == _state(slow), (name, size, event_id)
        assert fast.finish().outcome is slow.finish().outcome


def test_a_checked_append_of_another_type_is_judged_as_that_type() -> None:
    """Handed something that is not an append, the fast path does not pretend it was one."""
    session = behaviour()
    slow, fast = Validator(Dialect.GA), Validator(Dialect.GA)
    for event in events_of(session, 0.0):
        slow.server_event(event)
        fast.server_event(event)
    for etype in ("input_audio_buffer.appendix", ["input_audio_buffer.append"], None):
        odd = {"type": etype, "audio": {"elided": True, "bytes": 2}}
        slow.client_event(odd)
        fast.checked_append(odd, 2)
        assert _state(fast) == _state(slow)
    assert _state(fast)[2]  # unknown client event types
