"""CLI conventions SREs expect: --version, -h, shell completion, the exit codes and environment
variables in help, fault kinds in mock-server's help, and help text free of typer's labels."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from realtime_harness import __version__
from realtime_harness.cli import app
from realtime_harness.cli._app import COMMANDS
from realtime_harness.mock import FaultKind
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.target import ENV_VARS

runner = CliRunner()

#: Label forms this typer version prints unless told otherwise, and RST markup from docstrings.
ARTEFACTS = re.compile(r"<(str|int|float|bool|path|list\[[^\]]*\])[^>]*>|\{[a-z_]+\}|``|:class:")


def help_of(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_version_prints_the_package_version() -> None:
    for flag in ("--version", "-V"):
        result = runner.invoke(app, [flag])
        assert result.exit_code == 0
        assert result.output.strip() == f"realtime-harness {__version__}"


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_dash_h_is_help_everywhere(command: list[str]) -> None:
    short = runner.invoke(app, [*command, "-h"], env={"COLUMNS": "100"})
    assert short.exit_code == 0
    assert short.output == help_of(*command)


def test_shell_completion_is_offered() -> None:
    text = help_of()
    assert "--install-completion" in text
    assert "--show-completion" in text


def test_top_level_help_lists_every_exit_code() -> None:
    text = help_of()
    for outcome in Outcome:
        assert f"  {outcome.exit_code}  {outcome.meaning}" in text
    assert "130" in text


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_no_typer_labels_or_rst_markup_in_any_help(command: list[str]) -> None:
    text = help_of(*command)
    assert not ARTEFACTS.search(text), ARTEFACTS.search(text)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help_text(command: str) -> None:
    import typer.main

    group = typer.main.get_command(app)
    ctx = group.make_context("realtime-harness", [command], resilient_parsing=True)
    cmd = group.get_command(ctx, command)  # type: ignore[attr-defined]
    for param in cmd.params:
        assert getattr(param, "help", None), f"{command} {param.name} has no help"


def test_probe_help_shows_the_environment_variables_beside_their_options() -> None:
    text = " ".join(help_of("probe").split())
    for name in ("REALTIME_HARNESS_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_VERSION"):
        assert f"[env var: {name}]" in text
    for name in ENV_VARS:  # the keys too, in the environment list (never their values)
        assert name in text


def test_a_key_in_the_environment_is_never_echoed_by_help() -> None:
    secret = "sk-SENTINEL-help-1b2c3d"
    env = {"OPENAI_API_KEY": secret, "REALTIME_HARNESS_MOCK_KEY": secret, "COLUMNS": "100"}
    for command in ("probe", "mock-server"):
        result = runner.invoke(app, [command, "--help"], env=env)
        assert secret not in result.output


def test_the_url_variable_feeds_the_url_option(tmp_path: object) -> None:
    """REALTIME_HARNESS_URL is what --url defaults to: an unusable one is named as --url."""
    result = runner.invoke(app, ["probe"], env={"REALTIME_HARNESS_URL": "ftp://x.invalid/"})
    assert result.exit_code == 2
    assert "ws:// or wss://" in result.output


def test_mock_server_help_lists_each_fault_kind_on_its_own_line() -> None:
    lines = help_of("mock-server").splitlines()
    for kind in FaultKind:
        (line,) = [x for x in lines if x.strip().startswith(kind.value + " ")]
        assert len(line.split()) > 2, line  # the kind and what it does


@pytest.mark.parametrize("option", ["--mock-fault", "--first-delta-ms", "--jitter-ms"])
def test_options_once_undocumented_have_help(option: str) -> None:
    text = help_of("probe") + help_of("mock-server")
    (line,) = [x for x in text.splitlines() if x.strip().startswith(option + " ")]
    assert len(line.split()) > 2


def test_validate_help_documents_standard_input() -> None:
    text = " ".join(help_of("validate").split())
    assert "- reads standard input" in text
    assert "FILES..." in text
