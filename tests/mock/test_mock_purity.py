"""The mock's session logic is sans-I/O: time and randomness come in as arguments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import realtime_harness.mock

MOCK = Path(realtime_harness.mock.__file__).parent
PURE = ["behaviour.py", "vad.py", "faults.py", "session_state.py"]
BANNED = {"asyncio", "websockets", "socket", "time", "threading", "ssl", "soundfile", "soxr"}


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a file imports."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("name", PURE)
def test_session_logic_modules_import_no_io_or_clock(name: str) -> None:
    """behaviour, vad, faults and session_state import no asyncio, sockets, clocks or threads."""
    assert imported_roots(MOCK / name) & BANNED == set()


@pytest.mark.parametrize("name", PURE)
def test_session_logic_modules_do_not_import_the_server(name: str) -> None:
    """The pure modules never reach up into the server layer."""
    tree = ast.parse((MOCK / name).read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {"realtime_harness.mock.server", "realtime_harness.mock.ledger"} & modules
