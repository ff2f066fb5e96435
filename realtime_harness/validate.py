"""Validate JSONL files of server events (or project recordings) as a stream, in constant memory."""

from __future__ import annotations

from pathlib import Path

import orjson

from realtime_harness.exceptions import UsageError
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.recording import classify_line
from realtime_harness.protocol.validator import Report, Validator

__all__ = ["feed_line", "validate_file"]


def feed_line(validator: Validator, raw: bytes, line: int, *, last: bool = False) -> None:
    """Feed one JSONL line (plain server event, or recording header/frame) to ``validator``.

    Blank lines are skipped; anything unusable becomes a ``bad-line`` violation with its number.
    """
    if not raw.strip():
        return
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if last and not raw.endswith(b"\n"):
            validator.bad_line(line, f"truncated last line ({len(raw)} bytes): {exc}")
        else:
            validator.bad_line(line, f"not JSON: {exc}")
        return
    kind, event = classify_line(obj)
    if kind == "header":
        declared = obj.get("dialect") if isinstance(obj, dict) else None
        if validator.dialect is None and declared in ("ga", "beta"):
            validator.dialect = Dialect(declared)
    elif kind == "client" and event is not None:
        t = obj.get("t") if isinstance(obj, dict) else None
        validator.client_event(event, line=line, t=t if isinstance(t, float | int) else None)
    elif event is not None:
        t = obj.get("t") if kind == "server" and isinstance(obj, dict) else None
        validator.server_event(event, line=line, t=t if isinstance(t, float | int) else None)
    else:
        validator.bad_line(line, "not an event: a JSON object with a string 'type' is expected")


def validate_file(path: str | Path, dialect: Dialect | None = None) -> Report:
    """Validate one JSONL file (one connection) line by line; never loads the whole file."""
    source = Path(path)
    validator = Validator(dialect)
    try:
        handle = source.open("rb")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"cannot read {source}: {reason}; pass the path of a JSONL file with one server "
            "event per line (or a realtime-harness recording)"
        ) from None
    with handle:
        previous: bytes | None = None
        number = 0
        for raw in handle:
            if previous is not None:
                feed_line(validator, previous, number)
            previous = raw
            number += 1
        if previous is not None:
            feed_line(validator, previous, number, last=True)
    return validator.finish()
