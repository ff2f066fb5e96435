"""The sans-I/O core imports no I/O: no asyncio, websockets, sockets, clocks or audio files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import realtime_harness.protocol

CORE = Path(realtime_harness.protocol.__file__).parent
BANNED = {"asyncio", "websockets", "socket", "time", "threading", "soundfile", "soxr", "ssl"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_io(path: Path) -> None:
    """Every module of realtime_harness.protocol stays free of I/O and clock imports."""
    assert imported_roots(path) & BANNED == set()


def test_core_imports_only_core_modules_of_the_package() -> None:
    """The core depends on no asyncio layer of the package (client, mock, transport, cli)."""
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("realtime_harness.")
            ):
                assert node.module.startswith(
                    ("realtime_harness.protocol", "realtime_harness.exceptions")
                ), f"{path.name} imports {node.module}"
