"""Feeding JSONL lines to a validator: plain server events, or the frames of a recording.

Sans-I/O: lines come in as ``bytes`` (as a binary file yields them, newline included) and go to a
:class:`~realtime_harness.protocol.validator.Validator`; reading the file is the caller's. The
loop of :func:`feed_lines` handles the common lines (a plain event, a frame) inline, without a
function call per line, and hands every other line to the caller's per-line handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import orjson

from realtime_harness.protocol.recording import HEADER_KEY
from realtime_harness.protocol.validator import Validator

__all__ = ["LineFeeder", "feed_lines"]


def _time(value: object) -> float | None:
    return value if isinstance(value, float | int) and not isinstance(value, bool) else None


class LineFeeder(Protocol):
    """The caller's handler of any line the fast loop does not handle itself."""

    def __call__(self, validator: Validator, raw: bytes, line: int, *, last: bool = ...) -> None:
        """Feed one raw line (blank, not JSON, a header, anything unusual) to ``validator``."""


def feed_lines(
    validator: Validator, lines: Iterable[bytes], fallback: LineFeeder, *, first: int = 1
) -> int:
    """Feed every line of ``lines`` (numbered from ``first``); returns how many there were.

    Plain events and recording frames go straight to the validator; every other line (blank,
    not JSON, a header, a frame of an unknown shape) and the last line, which may be truncated,
    go to ``fallback``.
    """
    loads = orjson.loads
    server = validator.server_event
    client = validator.client_event
    previous: bytes | None = None
    number = first - 1
    for raw in lines:
        if previous is not None:
            try:
                obj = loads(previous)
            except orjson.JSONDecodeError:
                obj = None
            if obj.__class__ is dict and HEADER_KEY not in obj:
                direction = obj.get("dir")
                if direction is None:
                    if "type" in obj:
                        server(obj, line=number)
                        previous = raw
                        number += 1
                        continue
                else:
                    inner = obj.get("event")
                    if inner.__class__ is dict:
                        if direction == "server":
                            server(inner, line=number, t=_time(obj.get("t")))
                            previous = raw
                            number += 1
                            continue
                        if direction == "client":
                            client(inner, line=number, t=_time(obj.get("t")))
                            previous = raw
                            number += 1
                            continue
            fallback(validator, previous, number)
        previous = raw
        number += 1
    if previous is not None:
        fallback(validator, previous, number, last=True)
    return number - first + 1
