"""The CLI coerces paths and choices without pydantic, exactly as typer's own coercion does.

Typer 0.29 builds a pydantic adapter per parameter; ``cli/_app.py`` coerces paths and enum
choices with typer's own functions instead (start-up). These tests hold the two to the same
results and the same error messages, for every such parameter of every command.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.cli._app import COMMANDS, _runtime_param

runner = CliRunner()


def _params() -> list[tuple[str, Any]]:
    """Every (command, parameter) of the CLI, each command built as the CLI builds it."""
    for module, _ in COMMANDS.values():
        importlib.import_module(module)
    group = typer.main.get_command(app)
    found = [("", p) for p in group.params]
    for name in COMMANDS:
        command = group.get_command(None, name)  # type: ignore[arg-type]
        found += [(name, p) for p in command.params]
    return [(n, p) for n, p in found if hasattr(p, "type_descriptor")]


def _outcome(param: Any, runtime: Any, value: object) -> tuple[str, object]:
    try:
        return "ok", runtime.coerce(value, param=param, ctx=None)
    except BadParameter as exc:
        return "error", exc.message


VALUES: list[object] = [
    None,
    "ga",
    "beta",
    "GA",
    "nope",
    "",
    "-",
    "some/file.jsonl",
    "a\x1b[31mred",
    ("x.jsonl", "-"),
    (),
    Path("p.jsonl"),
]


@pytest.mark.parametrize(("command", "param"), _params(), ids=lambda x: getattr(x, "name", x))
def test_light_coercion_matches_typers_own(command: str, param: Any, tmp_path: Path) -> None:
    """Same value or same error message as typer's pydantic coercion, value by value."""
    ours = _runtime_param(param)
    theirs = build_runtime_param(param.type_descriptor)
    annotation = param.type_descriptor.annotation
    values = [*VALUES, str(tmp_path)]
    if annotation in (int, float, bool, str):
        values = [None]  # left to typer's own coercion (built on first use); None is the same
    for value in values:
        assert _outcome(param, ours, value) == _outcome(param, theirs, value), (command, value)


def test_a_bad_choice_is_a_usage_error_with_typers_words(tmp_path: Path) -> None:
    """`--dialect` with an unknown value exits 2 naming the choices, as typer words it."""
    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "session.created", "event_id": "e", "session": {"id": "s"}}\n')
    result = runner.invoke(app, ["validate", "--dialect", "GA", str(path)])
    assert result.exit_code == 2
    assert "Value error, 'GA' is not one of 'ga', 'beta'." in result.output
    result = runner.invoke(app, ["validate", "--dialect", "beta", str(path)])
    assert result.exit_code == 0, result.output
    assert "dialect=beta" in result.output
