"""The mock's session logic is sans-I/O: time and randomness come in as arguments, and the
server loads what the sessions say (the voices) before handing it to them."""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import pathlib
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mock_testkit import appends, check_events, silence, types

import realtime_harness.mock
import realtime_harness.protocol
from realtime_harness.mock.config import BehaviourConfig, Latency
from realtime_harness.mock.fault_spec import FaultPlan
from realtime_harness.mock.schedule import SendEvent
from realtime_harness.mock.session import SessionBehaviour
from realtime_harness.mock.voices import tone_voice
from realtime_harness.protocol.dialects import Dialect

MOCK = Path(realtime_harness.mock.__file__).parent
PURE = [
    "behaviour.py",
    "config.py",
    "fault_spec.py",
    "faults.py",
    "input.py",
    "items.py",
    "responses.py",
    "schedule.py",
    "session.py",
    "session_state.py",
    "vad.py",
    "voices.py",
    "wire.py",
]
GRAMMAR = Path(realtime_harness.protocol.__file__).parent / "grammar.py"
BANNED = {
    "asyncio",
    "websockets",
    "socket",
    "time",
    "threading",
    "ssl",
    "soundfile",
    "soxr",
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
}
#: Modules of the package that do I/O: the server layer and the loaders of files.
IO_MODULES = {
    "realtime_harness.mock.server",
    "realtime_harness.mock.ledger",
    "realtime_harness.mock.replay",
    "realtime_harness.media",
    "realtime_harness.media.samples",
    "realtime_harness.media.audio",
    "realtime_harness.samples",
    "realtime_harness.audio",
}


def imported(path: Path) -> set[str]:
    """Full names of every module a file imports (at any depth of the file)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", [MOCK / name for name in PURE] + [GRAMMAR], ids=lambda p: p.name)
def test_session_logic_modules_import_no_io_or_clock(path: Path) -> None:
    """The session modules and the grammar import no asyncio, sockets, clocks, threads or files."""
    assert {name.split(".")[0] for name in imported(path)} & BANNED == set()


@pytest.mark.parametrize("path", [MOCK / name for name in PURE] + [GRAMMAR], ids=lambda p: p.name)
def test_session_logic_modules_do_not_import_the_server_or_file_loaders(path: Path) -> None:
    """The pure modules never reach up into the server layer or the sample and audio loaders."""
    assert imported(path) & IO_MODULES == set()


@contextlib.contextmanager
def no_io() -> Iterator[None]:
    """Any attempt to open a file or read the clock inside the block fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"I/O or clock in the pure session logic: {args!r}")

    with pytest.MonkeyPatch.context() as monkeypatch:
        for target, name in (
            (builtins, "open"),
            (io, "open"),
            (os, "open"),
            (pathlib.Path, "open"),
            (pathlib.Path, "read_bytes"),
            (pathlib.Path, "read_text"),
            (time, "time"),
            (time, "monotonic"),
            (time, "perf_counter"),
        ):
            monkeypatch.setattr(target, name, refuse)
        yield


@pytest.mark.parametrize("dialect", list(Dialect), ids=lambda d: d.value)
def test_a_whole_session_runs_without_files_or_clocks(dialect: Dialect) -> None:
    """VAD turns, transcription, audio and function-call answers and a fault touch no file and
    no clock: the behaviour gets its voices and its time from the caller."""
    voice = tone_voice(0.5, "Hello there.")
    with no_io():
        b = SessionBehaviour(
            BehaviourConfig(dialect=dialect, latency=Latency.fast(), voices=(voice,)),
            rng=random.Random(3),
            now=0.0,
            wall_now=1_800_000_000.0,
            faults=FaultPlan(["error_event:count=1"]),
        )
    transcription = {"model": "whisper-1"}
    if dialect is Dialect.GA:
        session = {"type": "realtime", "audio": {"input": {"transcription": transcription}}}
        tools = {"type": "realtime", "tools": [{"type": "function", "name": "lookup"}]}
    else:
        session = {"input_audio_transcription": transcription}
        tools = {"tools": [{"type": "function", "name": "lookup"}]}
    client = [
        {"type": "session.update", "session": session},
        *appends(silence(200) + voice.pcm + silence(800)),
        {"type": "session.update", "session": tools},
        {"type": "response.create"},
    ]
    with no_io():
        events = [a.event for a in b.poll(0.0) if isinstance(a, SendEvent)]
        for t, event in enumerate(client, start=1):
            b.receive(event, t * 0.1)
            events += [a.event for a in b.poll(t * 0.1) if isinstance(a, SendEvent)]
        events += [a.event for a in b.poll(1000.0) if isinstance(a, SendEvent)]
    seen = types(events)
    assert "input_audio_buffer.speech_started" in seen
    assert "conversation.item.input_audio_transcription.completed" in seen
    assert "response.function_call_arguments.done" in seen
    assert "error" in seen
    check_events(events, dialect)
