"""Each wire event type name is written once: in the catalog.

A wire event type name (any name in :mod:`realtime_harness.protocol.catalog`) written as a string
literal anywhere else in the package is a second copy of a protocol fact. Code compares against
the catalog's constants instead. Docstrings and comments are prose and may name events freely.

The check runs over :data:`CHECKED_DIRS` and :data:`PENDING_DIRS` (every other folder of the
package); :data:`PENDING_FILES` lists files exempted while they are being rewritten (none now).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import realtime_harness
from realtime_harness.protocol import catalog

PACKAGE = Path(realtime_harness.__file__).parent
#: Folders (relative to the package) where no wire name may be a literal.
CHECKED_DIRS: list[str] = ["protocol"]
#: Files in those folders that other work is rewriting right now; checked once it has landed.
PENDING_FILES: set[str] = set()
#: Every other part of the package.
PENDING_DIRS: list[str] = ["mock", "transport", "cli", "media", "probe", "."]
#: "error" is also the name of the error object's field (``event["error"]``), so a literal
#: "error" is usually a field, not the event type: it is left out of the check.
NAMES = (catalog.SERVER_TYPES | catalog.CLIENT_TYPES) - {catalog.ERROR}
CATALOG = PACKAGE / "protocol" / "catalog.py"


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings (module, class, function)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def wire_name_literals(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every string literal in ``path`` that is a wire event type name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstring_nodes(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in NAMES
        and id(node) not in docstrings
    )


def _files(folder: str) -> list[Path]:
    base = PACKAGE / folder
    files = sorted(base.glob("*.py")) if folder == "." else sorted(base.rglob("*.py"))
    return [f for f in files if f != CATALOG]


def _checked_files() -> list[Path]:
    return [
        f
        for folder in CHECKED_DIRS
        for f in _files(folder)
        if f.relative_to(PACKAGE).as_posix() not in PENDING_FILES
    ]


@pytest.mark.parametrize("path", _checked_files(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_wire_name_literal_outside_the_catalog(path: Path) -> None:
    """Code names events through the catalog's constants, never by a string literal."""
    assert wire_name_literals(path) == []


@pytest.mark.parametrize("folder", PENDING_DIRS)
def test_no_wire_name_literal_in_the_rest_of_the_package(folder: str) -> None:
    """The same rule for every other folder of the package (and the pending files)."""
    pending = [PACKAGE / f for f in PENDING_FILES] if folder == "." else []
    found = {
        p.relative_to(PACKAGE).as_posix(): wire_name_literals(p)
        for p in [*_files(folder), *pending]
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_the_check_sees_literals_but_not_docstrings(tmp_path: Path) -> None:
    """The check itself: a literal is found, a docstring naming the same event is not."""
    module = tmp_path / "m.py"
    module.write_text(
        '"""Handles response.done."""\n\n'
        'def f(t: str) -> bool:\n    """True for response.done."""\n'
        '    return t == "response.done"  # response.done\n',
        encoding="utf-8",
    )
    assert wire_name_literals(module) == [(5, "response.done")]
