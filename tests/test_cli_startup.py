"""CLI start-up: commands are imported when used, so ``--help`` and ``validate`` start light.

Nothing here is timed (``scripts/bench_startup.py`` measures); these tests check which modules a
fresh interpreter has imported, which is what start-up time follows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import typer.main
from typer.testing import CliRunner

from realtime_harness.cli import app
from realtime_harness.cli._app import COMMANDS

HEAVY = ("numpy", "soundfile", "soxr", "realtime_harness.mock", "websockets")
"""Modules only the commands that use them may import."""

PYDANTIC = ("pydantic", "pydantic_core", "typer._adapters")
"""What `--help` and `validate` of a clean Realtime file start without (about half their time)."""

runner = CliRunner()


def modules_after(code: str) -> set[str]:
    """Top-level and package names in ``sys.modules`` after running ``code`` in a fresh process."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


def run_cli(*args: str) -> str:
    """Python source that runs the CLI in-process with ``args`` and swallows its exit."""
    return (
        "import sys\nfrom realtime_harness.cli import main\n"
        f"sys.argv = ['realtime-harness', *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )


def test_importing_the_cli_imports_no_command_dependencies() -> None:
    """`import realtime_harness.cli` loads no numpy, soundfile, soxr, mock or websockets."""
    loaded = modules_after("import realtime_harness.cli")
    assert loaded.isdisjoint(HEAVY)
    assert not any(
        name.startswith("realtime_harness.cli.") for name in loaded - {"realtime_harness.cli._app"}
    )


def test_help_lists_every_command_without_importing_any() -> None:
    """`--help` lists the commands from their summaries and imports none of their modules."""
    loaded = modules_after(run_cli("--help"))
    assert loaded.isdisjoint(HEAVY)
    assert loaded.isdisjoint(module for module, _ in COMMANDS.values())
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # undo the help formatter's line wrapping
    for name, (_, summary) in COMMANDS.items():
        assert f"{name} {summary}" in text


def test_validate_imports_neither_audio_nor_the_mock_nor_websockets(tmp_path: Path) -> None:
    """`validate FILE` loads the validator, not numpy, soundfile, soxr, the mock or websockets."""
    path = tmp_path / "one.jsonl"
    path.write_bytes(orjson.dumps({"type": "session.created", "session": {"id": "s"}}) + b"\n")
    loaded = modules_after(run_cli("validate", str(path)))
    assert "realtime_harness.cli.validate" in loaded
    assert loaded.isdisjoint(HEAVY)
    assert loaded.isdisjoint({"realtime_harness.cli.probe", "realtime_harness.cli.mock_server"})


def test_help_and_clean_validate_import_no_pydantic(tmp_path: Path) -> None:
    """`--help` and `validate` of a clean one-line file load neither pydantic nor the typer module
    that builds pydantic adapters: paths and choices are coerced with typer's own functions."""
    path = tmp_path / "one.jsonl"
    event = {"type": "session.created", "event_id": "e1", "session": {"id": "s"}}
    path.write_bytes(orjson.dumps(event) + b"\n")
    for argv in (["--help"], ["validate", str(path)], ["validate", "--dialect", "ga", str(path)]):
        loaded = modules_after(run_cli(*argv))
        assert loaded.isdisjoint(PYDANTIC), argv
        assert loaded.isdisjoint(HEAVY), argv


def test_the_validate_library_call_on_a_clean_file_imports_no_pydantic(tmp_path: Path) -> None:
    """`validate_file` of a clean recording builds plain results; pydantic loads only for what
    needs it (a failure record, an Assistants run stream)."""
    path = tmp_path / "one.jsonl"
    path.write_bytes(orjson.dumps({"type": "session.created", "session": {"id": "s"}}) + b"\n")
    code = (
        "from realtime_harness.validate import validate_file\n"
        f"report = validate_file({str(path)!r})\n"
        "assert report.session_id == 's', report\n"
    )
    assert modules_after(code).isdisjoint(PYDANTIC)


@pytest.mark.parametrize("name", COMMANDS)
def test_listed_summary_is_the_first_line_of_the_command_docstring(name: str) -> None:
    """The summary `--help` shows without importing a command is that command's own."""
    module, summary = COMMANDS[name]
    __import__(module)
    info = next(
        i
        for i in app.registered_commands
        if (i.name or typer.main.get_command_name(getattr(i.callback, "__name__", ""))) == name
    )
    doc = (getattr(info.callback, "__doc__", None) or "").strip()
    assert doc.splitlines()[0] == summary, f"update COMMANDS[{name!r}] in cli/_app.py"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_loads_on_demand_and_shows_its_own_help(name: str) -> None:
    """`COMMAND --help` imports the command and prints its usage line."""
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Usage: realtime-harness {name} [OPTIONS]" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    """A command that does not exist exits 2 and says so."""
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
