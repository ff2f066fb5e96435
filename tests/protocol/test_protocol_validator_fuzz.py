"""The validator never raises, whatever the events hold (property-based).

Real server traces and the project's own recordings are mutated field by field: any field may
become any JSON value (``"status": []``, ``"content_index": {}``…), disappear, or the event may
take another event type's name. The validator must report (or ignore), never raise, and its
report must still serialise. Hypothesis draws a seed per example and derandomises its draws,
so every run checks the same inputs.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_harness.protocol import catalog
from realtime_harness.protocol.catalog import Dialect
from realtime_harness.protocol.jsonl import feed_lines
from realtime_harness.protocol.recording import elide_audio, frame
from realtime_harness.protocol.validator import Validator
from realtime_harness.testing import TraceBuilder
from realtime_harness.validate import feed_line

TRACES = Path(__file__).resolve().parents[2].parent / "shared" / "traces" / "real"
Event = dict[str, Any]
Step = tuple[str, Event]  # ("server" | "client", event)

settings.register_profile(
    "protocol-fuzz",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
FUZZ = settings.get_profile("protocol-fuzz")
WINDOW = 16  # events per example: a slice of a trace around the mutations


def _own_recordings() -> list[list[Step]]:
    """Recordings of the harness's own sessions: both directions, VAD, function calls."""
    out: list[list[Step]] = []
    for dialect in Dialect:
        build = TraceBuilder(dialect)
        append = {"type": catalog.INPUT_AUDIO_BUFFER_APPEND, "audio": "AAAA" * 1200}
        update_vad = {"type": catalog.SESSION_UPDATE, "session": {"type": "realtime"}}
        steps: list[Step] = [("server", e) for e in build.session_created()]
        steps += [("client", update_vad), ("server", build.session_updated()[0])]
        for kind in ("audio", "text", "function_call"):
            steps += [("client", dict(elide_audio(append))), ("client", append)]
            steps += [("server", e) for e in build.committed(vad=True)]
            steps += [("server", dict(elide_audio(e))) for e in build.response(kind)]  # type: ignore[arg-type]
            steps += [("client", {"type": catalog.RESPONSE_CREATE})]
        steps += [("server", e) for e in build.rate_limits() + build.empty_response()]
        steps += [("client", {"type": catalog.RESPONSE_CANCEL})]
        steps += [("server", e) for e in build.error("input_audio_buffer_commit_empty")]
        out.append(steps)
    return out


def _real_traces() -> list[list[Step]]:
    out: list[list[Step]] = []
    for path in sorted(TRACES.glob("*.jsonl")) if TRACES.is_dir() else []:
        steps: list[Step] = []
        for raw in path.read_bytes().splitlines():
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                inner = obj.get("event")
                if obj.get("dir") in ("server", "client") and isinstance(inner, dict):
                    steps.append((obj["dir"], inner))
                else:
                    steps.append(("server", obj))
        if steps:
            out.append(steps)
    return out


OWN = _own_recordings()
REAL = _real_traces()
NAMES = sorted(catalog.SERVER_TYPES | catalog.CLIENT_TYPES)

#: Hostile values a field may take: every JSON type, edge numbers, near-miss strings.
VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**63 - 1, -(2**63), 1.5, -0.0, 1e308, "", "x", "=", "AAA=",
    "A===", "completed", "cancelled", "in_progress", "resp_1", "item_1", "call_1", "pcm16",
    "audio/pcm", "server_vad", "é" * 3, "\u0000", [], [None], ["a"], [[]], [{}], {}, {"id": None},
    {"id": []}, {"id": "resp_1"}, {"type": "audio/pcmu"}, {"type": []}, {"elided": True},
    {"elided": True, "chars": -4}, {"elided": True, "chars": "x", "bytes": True},
    {"elided": True, "chars": 6, "bytes": 3}, {"": {}}, {"input": {"format": []}},
]  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside an event (dict keys and list indexes)."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:4]):
            paths += _paths(child, (*prefix, index))
    return paths


ACTIONS = ["replace", "replace", "replace", "delete", "rename", "drop-type"]


def mutate(corpus: list[list[Step]], rng: random.Random) -> list[Step]:
    """A window of a trace with one to four fields mutated, every choice made by ``rng``."""
    trace = rng.choice(corpus)
    start = rng.randrange(max(1, len(trace) - WINDOW + 1))
    window = list(trace[start : start + WINDOW])
    copied: set[int] = set()
    for _ in range(rng.randint(1, 4)):
        index = rng.randrange(len(window))
        action = rng.choice(ACTIONS)
        side, event = window[index]
        if index not in copied:  # copy only what is mutated: the corpus stays intact
            event = orjson.loads(orjson.dumps(event))
            window[index] = (side, event)
            copied.add(index)
        if action == "rename":
            event["type"] = rng.choice(NAMES)
            continue
        if action == "drop-type":
            event["type"] = copy.deepcopy(rng.choice(VALUES))
            continue
        paths = _paths(event)
        if not paths:
            continue
        path = rng.choice(paths)
        parent: Any = event
        for key in path[:-1]:
            parent = parent[key]
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))  # the pool stays intact
    return window


def mutated(corpus: list[list[Step]]) -> st.SearchStrategy[list[Step]]:
    """Mutated windows of ``corpus``, one per drawn seed.

    Hypothesis draws only the seed: an example then costs well under a millisecond, so the
    suite checks thousands of them in seconds; a failure reports its seed and its events.
    """
    return st.integers(0, 2**32 - 1).map(lambda seed: mutate(corpus, random.Random(seed)))


def _run(steps: list[Step], dialect: Dialect | None) -> None:
    validator = Validator(dialect)
    for line, (side, event) in enumerate(steps, start=1):
        if side == "client":
            validator.client_event(event, line=line, t=line / 10)
        else:
            validator.server_event(event, line=line)
    report = validator.finish()
    orjson.dumps(report.to_json_dict())
    for violation in report.violations:
        assert violation.rule
        violation.summary()


@settings(FUZZ, max_examples=4_000)
@given(steps=mutated(OWN), dialect=st.sampled_from([None, Dialect.GA, Dialect.BETA]))
def test_mutated_own_recordings_never_raise(steps: list[Step], dialect: Dialect | None) -> None:
    _run(steps, dialect)


@pytest.mark.skipif(not REAL, reason="real traces are not available on this machine")
@settings(FUZZ, max_examples=4_500)
@given(steps=mutated(REAL or [[("server", {})]]), dialect=st.sampled_from([None, Dialect.GA]))
def test_mutated_real_traces_never_raise(steps: list[Step], dialect: Dialect | None) -> None:
    _run(steps, dialect)


@settings(FUZZ, max_examples=1_500)
@given(
    steps=mutated(OWN),
    junk=st.lists(
        st.binary(max_size=12) | st.sampled_from([b"", b"\n", b"[]", b'{"dir":"server"}']),
        max_size=3,
    ),
)
def test_mutated_recording_files_never_raise(steps: list[Step], junk: list[bytes]) -> None:
    """The same, as lines of a recording file: frames, plain events and junk lines."""
    lines = [orjson.dumps(frame(i / 10, side, e)) + b"\n" for i, (side, e) in enumerate(steps)]  # type: ignore[arg-type]
    lines[1:1] = [orjson.dumps(e) + b"\n" for _, e in steps[:2]]
    lines += junk
    validator = Validator()
    feed_lines(validator, lines, feed_line)
    orjson.dumps(validator.finish().to_json_dict())


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.done", "event_id": "e1", "response": {"id": "resp_1", "status": []}},
        {
            "type": "response.output_text.delta",
            "event_id": "e2",
            "response_id": "resp_1",
            "item_id": "item_1",
            "content_index": {},
            "delta": "x",
        },
        {
            "type": "response.output_item.added",
            "event_id": "e3",
            "response_id": "resp_1",
            "output_index": [],
            "item": {"id": []},
        },
        {"type": [], "event_id": {}},
        {"type": "error", "event_id": None, "error": []},
    ],
)
def test_the_reported_crashes_are_violations_now(event: Event) -> None:
    """``"status": []`` and ``"content_index": {}`` used to raise; they are reported now."""
    build = TraceBuilder(Dialect.GA)
    validator = Validator()
    validator.server_event(build.session_created()[0])
    validator.server_event(
        build.event("response.created", response={"id": "resp_1", "status": "in_progress"})
    )
    validator.server_event(event)
    report = validator.finish()
    assert report.violations or report.failures
