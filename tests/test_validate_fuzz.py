"""Property: whatever bytes ``validate`` is given (real traces mutated field by field, lines
dropped, swapped, cut or garbled, or plain random bytes) it ends with a documented exit code
(0, 1, 2, 3) and one report, never a traceback.

The CLI function runs in-process for speed; a few subprocess runs check the real command.
Real traces are read from ``/work/shared/traces/real`` when present; synthetic ones from
:class:`~realtime_harness.testing.TraceBuilder` always run.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_harness.cli.validate import validate
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.testing import TraceBuilder

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

REAL = Path("/work/shared/traces/real")
DOCUMENTED_EXITS = {0, 1, 2, 3}
#: More examples for a longer local run: RH_FUZZ_EXAMPLES=10000 pytest tests/test_validate_fuzz.py
EXAMPLES = int(os.environ.get("RH_FUZZ_EXAMPLES", "100"))


def _synthetic() -> list[list[Any]]:
    traces = []
    for dialect in Dialect:
        build = TraceBuilder(dialect)
        events = [*build.session_created(), *build.committed(vad=True), *build.response("audio")]
        traces.append([*events, *build.failed_response()])
    return traces


def _real() -> list[list[Any]]:
    if not REAL.is_dir():
        return []
    return [
        [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        for path in sorted(REAL.glob("*.jsonl"))
    ]


SYNTHETIC = _synthetic()
REAL_TRACES = _real()

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "id", "status", "delta", "x"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair of a parsed event, depth first."""
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((value, key))
            _slots(child, out)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.append((value, index))
            _slots(child, out)
    return out


@st.composite
def mutated_trace(draw: st.DrawFn, traces: list[list[Any]]) -> bytes:
    """A trace with a few structural mutations, serialised as JSONL (maybe cut or garbled)."""
    chosen = traces[draw(st.integers(0, len(traces) - 1))]  # an index keeps reprs small
    events = [orjson.loads(orjson.dumps(e)) for e in chosen]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "delete", "drop", "swap", "dup", "scalar"]))
        index = draw(st.integers(0, len(events) - 1)) if events else 0
        if not events:
            break
        if op in ("set", "delete"):
            slots = _slots(events[index], [])
            if slots:
                container, key = slots[draw(st.integers(0, len(slots) - 1))]
                if op == "set":
                    container[key] = draw(json_values)
                elif isinstance(container, dict):
                    del container[key]
                else:
                    container.pop(key)
        elif op == "drop":
            events.pop(index)
        elif op == "swap":
            other = draw(st.integers(0, len(events) - 1))
            events[index], events[other] = events[other], events[index]
        elif op == "dup":
            events.insert(index, events[index])
        else:
            events[index] = draw(json_values)
    body = b"".join(orjson.dumps(e) + b"\n" for e in events)
    tail = draw(st.sampled_from(["keep", "cut", "garble", "bom", "crlf"]))
    if tail == "cut" and body:
        body = body[: draw(st.integers(0, len(body)))]
    elif tail == "garble" and body:
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=16)) + body[at:]
    elif tail == "bom":
        body = b"\xef\xbb\xbf" + body
    elif tail == "crlf":
        body = body.replace(b"\n", b"\r\n")
    return body


def run_validate(body: bytes, *, json_output: bool = False, dialect: Dialect | None = None) -> None:
    """Run the ``validate`` command function on ``body`` as stdin, in-process (the typer test
    runner rebuilds the whole application per call, which would dominate the run time).

    Any exception but the command's own exit propagates: that is the crash being looked for.
    """
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(body))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                validate([Path("-")], json_output=json_output, dialect=dialect)
                code = 0
            except typer.Exit as exc:
                code = exc.exit_code
    finally:
        sys.stdin = saved
    assert code in DOCUMENTED_EXITS, out.getvalue() + err.getvalue()
    if json_output:
        doc = orjson.loads(out.getvalue())
        assert doc["outcome"] in {"clean", "server_failure", "usage_error", "violation"}
    else:
        assert out.getvalue() or err.getvalue().startswith("error: ")


_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


@_settings
@given(
    body=mutated_trace(SYNTHETIC),
    json_output=st.booleans(),
    dialect=st.sampled_from([None, *Dialect]),
)
def test_mutated_synthetic_traces_never_crash(
    body: bytes, json_output: bool, dialect: Dialect | None
) -> None:
    """Every mutation of a builder trace gets a documented exit code."""
    run_validate(body, json_output=json_output, dialect=dialect)


@pytest.mark.skipif(not REAL_TRACES, reason="real traces not present")
@_settings
@given(body=mutated_trace(REAL_TRACES or SYNTHETIC), json_output=st.booleans())
def test_mutated_real_traces_never_crash(body: bytes, json_output: bool) -> None:
    """Every mutation of a real server trace gets a documented exit code."""
    run_validate(body, json_output=json_output)


@_settings
@given(body=st.binary(max_size=2048))
def test_random_bytes_never_crash(body: bytes) -> None:
    """Arbitrary bytes: a documented exit code (usually 2, not JSON Lines)."""
    run_validate(body, json_output=True)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "response.done", "event_id": "e", "response": {"status": []}}\n'
        b'{"type": "response.output_text.delta", "content_index": {}, "delta": 1}\n',
        b"\xff\xfe\x00garbage\n" * 3 + b'{"type": "session.created"' * 1000,
    ],
)
def test_the_real_command_on_hostile_files(tmp_path: Path, body: bytes) -> None:
    """As a user runs it (a subprocess): documented exit code, no traceback."""
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(body)
    done = subprocess.run(
        [sys.executable, "-m", "realtime_harness", "validate", str(path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in DOCUMENTED_EXITS, done.stderr
    assert b"Traceback" not in done.stderr
