"""The sans-I/O core imports no I/O: no asyncio, sockets, clocks, randomness, files or audio files.

Everything under ``realtime_harness/protocol/`` takes time, randomness and bytes as arguments;
imports needed only by the type checker (under ``if TYPE_CHECKING:``) are allowed, since they
never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import realtime_harness.protocol

CORE = Path(realtime_harness.protocol.__file__).parent
BANNED = {
    "asyncio",
    "websockets",
    "socket",
    "time",
    "threading",
    "soundfile",
    "soxr",
    "ssl",
    "random",
    "os",
    "pathlib",
    "io",
    "subprocess",
    "selectors",
}
#: Builtins that touch the file system or the clock.
BANNED_CALLS = {"open", "input", "print"}
CORE_FILES = sorted(CORE.rglob("*.py"))


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that runs: ``if TYPE_CHECKING:`` blocks are left out."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.If)
                and isinstance(child.test, ast.Name)
                and child.test.id == "TYPE_CHECKING"
            ):
                stack.extend(child.orelse)
                continue
            stack.append(child)
    return nodes


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_io(path: Path) -> None:
    """Every module of realtime_harness.protocol stays free of I/O, clock and random imports."""
    assert imported_roots(path) & BANNED == set()


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_calls_no_file_or_console_builtin(path: Path) -> None:
    """No module of the core opens files or writes to the console."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    called = {
        node.func.id
        for node in _runtime_nodes(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert called & BANNED_CALLS == set()


def test_core_imports_only_core_modules_of_the_package() -> None:
    """The core depends on no asyncio layer of the package (client, mock, transport, cli)."""
    for path in CORE_FILES:
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


def test_the_layering_check_sees_a_banned_import(tmp_path: Path) -> None:
    """The check itself: a runtime import is seen, a TYPE_CHECKING-only import is not."""
    module = tmp_path / "m.py"
    module.write_text(
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    import random\nimport time\n",
        encoding="utf-8",
    )
    assert imported_roots(module) & BANNED == {"time"}


# The package's layers, bottom up (docs/architecture.md). A module may import from its own
# package, from lower layers, and from the same layer only along the pairs listed below.
LAYERS: dict[str, int] = {
    "exceptions": 0,
    "redact": 0,
    "protocol": 1,
    "transport": 2,
    "endpoints": 2,
    "media": 2,
    "target": 2,
    "validate": 2,
    "testing": 2,
    "probe": 3,
    "mock": 3,
    "soak": 4,
    "doctor": 4,
    "cli": 5,
    "pytest_plugin": 5,
    # alias modules kept for old import paths, and the package's own entry points
    "client": 6,
    "audio": 6,
    "samples": 6,
    "__main__": 6,
    "__init__": 6,
}
SAME_LAYER = {("target", "endpoints"), ("probe", "mock")}
PACKAGE = CORE.parent


def _layer_of(name: str) -> str:
    return name.split(".")[1] if "." in name else "__init__"


def _package_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):  # lazy imports inside functions count too
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(_layer_of(n) for n in names if n.startswith("realtime_harness."))
    return found


PACKAGE_FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_layer_above_it(path: Path) -> None:
    """Each module imports only from its own layer's allowed pairs and the layers below it."""
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    assert own in LAYERS, f"{own} has no layer: add it to LAYERS and docs/architecture.md"
    for imported in _package_imports(path) - {own}:
        assert imported in LAYERS, f"{imported} has no layer"
        where = f"{path.name} ({own}) imports realtime_harness.{imported}"
        assert LAYERS[imported] <= LAYERS[own], f"{where}, a layer above it"
        if LAYERS[imported] == LAYERS[own]:
            assert (own, imported) in SAME_LAYER, f"{where}, a sibling it may not use"
