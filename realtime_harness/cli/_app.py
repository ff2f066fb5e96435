"""The typer application every command module registers on, and the helpers they share.

Start-up is most of a short command's wall time, so the command modules (and the libraries they
need: numpy, soundfile, soxr, websockets, the mock) are imported only when their command runs or
shows its own ``--help``. The top-level ``--help`` lists the commands from :data:`COMMANDS`
without importing any of them.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import typer
import typer.core
import typer.main

from realtime_harness.exceptions import RemoteError, UsageError
from realtime_harness.protocol.outcome import Outcome

__all__ = ["COMMANDS", "LazyCommandGroup", "app", "exit_with", "fail", "one_line_errors"]

COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": (
        "realtime_harness.cli.doctor",
        "Check a deployment step by step and name the cause of a failure, with the fix.",
    ),
    "mock-server": (
        "realtime_harness.cli.mock_server",
        "Run the embedded mock Realtime server: prints its URL, then one line per session.",
    ),
    "probe": (
        "realtime_harness.cli.probe",
        "Run one scripted session, time every phase, validate both directions, report every id.",
    ),
    "merge": (
        "realtime_harness.cli.soak",
        "Merge soak directories from several processes or machines into one, with its report.",
    ),
    "report": (
        "realtime_harness.cli.soak",
        "Rebuild report.html (and summary.md) from a soak directory, also a killed or merged run.",
    ),
    "samples": (
        "realtime_harness.cli.samples",
        "List the bundled speech samples: name, duration, rate, channels, file format and text.",
    ),
    "soak": (
        "realtime_harness.cli.soak",
        "Run many paced sessions for a while; write sessions, failures, summary and report.",
    ),
    "validate": (
        "realtime_harness.cli.validate",
        "Check the ordering of every event against the protocol rules, and list failures with ids.",
    ),
}
"""Command name -> (module that registers it on :data:`app`, the summary ``--help`` lists).

The summary is the first line of the command function's docstring (a test keeps them equal).
"""


class LazyCommandGroup(typer.core.TyperGroup):
    """A typer group that imports a command's module the first time the command is needed.

    Listing the commands (the group's own ``--help``) uses the summaries in :data:`COMMANDS`
    and imports nothing; running a command, or asking for its ``--help``, imports its module,
    whose ``@app.command()`` registers it, and builds the command from that registration.
    """

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command: the lazy ones, then any registered eagerly under another name."""
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command called ``cmd_name``, importing its module on first use."""
        if cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module, summary = COMMANDS[cmd_name]
        if self._listing:
            # Only the name and summary are shown: a stand-in keeps the module unimported (and
            # the listing the same whether or not the command was loaded already).
            return typer.core.TyperCommand(cmd_name, help=summary, short_help=summary)
        loaded = self.commands.get(cmd_name)
        if loaded is not None:
            return loaded
        importlib.import_module(module)
        for info in app.registered_commands:
            name = info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))
            if name == cmd_name:
                command = typer.main.get_command_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=app.rich_markup_mode,
                )
                self.commands[cmd_name] = command
                return command
        return None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The group's help, listing commands by their summaries without importing them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="realtime-harness",
    cls=LazyCommandGroup,
    help=(
        "Tell, with evidence, whether an OpenAI / Azure OpenAI Realtime API deployment works, "
        "how fast it answers, and exactly which session failed. With no deployment configured, "
        "commands run against an embedded mock server on 127.0.0.1."
    ),
    no_args_is_help=True,
    add_completion=False,
    # Plain click help and errors: rich's formatter costs more start-up than the rest of --help.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def fail(message: str, outcome: Outcome = Outcome.USAGE) -> NoReturn:
    """Print one ``error:`` line to stderr and exit with the outcome's documented code."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(outcome.exit_code)


def exit_with(outcome: Outcome) -> NoReturn:
    """Exit with the outcome's documented code."""
    raise typer.Exit(outcome.exit_code)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the harness's own exceptions into one clear line and the documented exit code.

    Local mistakes exit 2; remote trouble (connect, handshake, close, timeout) exits 4.
    Anything else is a bug and keeps its traceback.
    """
    try:
        yield
    except UsageError as exc:
        fail(str(exc), Outcome.USAGE)
    except RemoteError as exc:
        fail(str(exc), Outcome.CONNECTION)


@app.callback()
def _root() -> None:
    """Probe, validate, mock and soak-test Realtime API deployments."""
