"""The typer application every command module registers on, and the helpers they share.

Start-up is most of a short command's wall time, so the command modules (and the libraries they
need: numpy, soundfile, soxr, websockets, the mock) are imported only when their command runs or
shows its own ``--help``. The top-level ``--help`` lists the commands from :data:`COMMANDS`
without importing any of them.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, get_args, get_origin

import typer
import typer.core
import typer.main

from realtime_harness.exceptions import RemoteError, UsageError
from realtime_harness.protocol.outcome import Outcome

__all__ = [
    "COMMANDS",
    "HELP_EPILOG",
    "SCHEMA_VERSION",
    "LazyCommandGroup",
    "app",
    "exit_code_table",
    "exit_with",
    "fail",
    "one_line_errors",
    "plain_help",
]

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
    "schema": (
        "realtime_harness.cli.schema",
        "Print the JSON Schema of a command's --json output (docs/schemas/ holds the same files).",
    ),
    "validate": (
        "realtime_harness.cli.validate",
        "Check the ordering of every event against the protocol rules, and list failures with ids.",
    ),
}
"""Command name -> (module that registers it on :data:`app`, the summary ``--help`` lists).

The summary is the first line of the command function's docstring (a test keeps them equal).
"""


#: Version of every command's ``--json`` shape (docs/json.md); the probe's document model
#: carries the same number (a test keeps them equal). Here because every command imports this.
SCHEMA_VERSION = 1

#: Typer's type labels -> the conventional metavar shown in help.
_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "bool": "BOOLEAN"}


def _metavar(label: str) -> str:
    """Typer's type label as a metavar: ``<int range>`` INTEGER, ``<ga|beta>`` [ga|beta]."""
    label = label.strip("<>").removesuffix(" range")
    while label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    if "|" in label:
        return f"[{label}]"
    return _METAVARS.get(label.lower(), label.upper())


# Typer 0.29 coerces every parameter's value through a pydantic TypeAdapter, and building the
# first one imports pydantic: about as long as the rest of a short command's start-up. Paths and
# enum choices (all ``validate`` takes) are coerced here with typer's own functions instead, so
# the same values pass and the same errors are raised; any other type gets typer's own coercion,
# built only when a value (not a missing option's None) is there to coerce. Older typer versions
# coerce with click alone and have none of these modules.
try:
    from typer._click.exceptions import BadParameter as _BadParameter
    from typer._click.utils import _escape_control_characters
    from typer._coercion import RuntimeParam as _RuntimeParam
    from typer._coercion import build_runtime_param as _typer_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path

    _LIGHT = True
except ImportError:  # pragma: no cover - typer < 0.29
    _LIGHT = False


_Leaf = Callable[[Any, Any, Any], Any]


def _path_leaf(info: Any) -> _Leaf:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        # what pydantic's lax Path validation does with text: Path(text)
        path = Path(value) if isinstance(value, str) else value
        return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)

    return coerce


def _choice_leaf(info: Any, choices: tuple[Any, ...]) -> _Leaf:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        try:
            return coerce_cli_choice(
                value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
            )
        except ValueError as exc:
            # pydantic words a validator's ValueError so, and typer shows pydantic's words
            message = _escape_control_characters(f"Value error, {exc}")
            raise _BadParameter(message, ctx=ctx, param=param) from exc

    return coerce


def _leaf(annotation: Any, info: Any) -> _Leaf | None:
    """A coercion for a path or an enum choice, or None for what typer must coerce itself."""
    if info.parser is not None or getattr(info, "click_type", None) is not None:
        return None
    if annotation is Path and info.path_type is None:
        return _path_leaf(info)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _choice_leaf(info, tuple(annotation))
    return None


if _LIGHT:

    @dataclass(frozen=True)
    class _LightRuntimeParam(_RuntimeParam):
        """Typer's runtime coercion of a path or a choice (or a list of them) without pydantic;
        of any other type, typer's own, built on the first value to coerce."""

        descriptor: Any
        leaf: _Leaf | None
        many: bool
        typer_param: list[Any]  # typer's own coercion once built (the dataclass is frozen)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            leaf = self.leaf
            if leaf is None:
                if not self.typer_param:
                    self.typer_param.append(_typer_runtime_param(self.descriptor))
                return self.typer_param[0]._coerce_value(value, param=param, ctx=ctx)
            if not self.many:
                return leaf(value, param, ctx)
            items = value if isinstance(value, list | tuple) else [value]
            return [leaf(item, param, ctx) for item in items]


def _runtime_param(param: Any) -> Any:
    """``param``'s runtime coercion (see :class:`_LightRuntimeParam`)."""
    if param._runtime_param is None and _LIGHT:
        descriptor = param.type_descriptor
        annotation, info = descriptor.annotation, descriptor.parameter_info
        many = get_origin(annotation) is list
        leaf = None
        if descriptor.file_annotation is None:
            leaf = _leaf(get_args(annotation)[0] if many else annotation, info)
        param._runtime_param = _LightRuntimeParam(info, annotation, descriptor, leaf, many, [])
    return param._runtime_param or typer.core.TyperOption.get_runtime_param(param)


class _PlainOption(typer.core.TyperOption):
    """An option whose help shows ``--url TEXT``, not typer's ``--url <str>``."""

    def get_runtime_param(self) -> Any:
        """Typer's coercion, without pydantic for paths and choices (see :func:`_runtime_param`)."""
        return _runtime_param(self)

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.metavar is not None:
            return self.metavar
        return _metavar(str(self.display_type(ctx)))


class _PlainArgument(typer.core.TyperArgument):
    """An argument shown as ``FILES...`` in usage and help (not ``{files}...``)."""

    def get_runtime_param(self) -> Any:
        """Typer's coercion, without pydantic for paths and choices (see :func:`_runtime_param`)."""
        return _runtime_param(self)

    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else str(self.name).upper()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")


def plain_help(command: Any) -> Any:
    """``command`` with conventional metavars in its help: no ``<str>``, ``<list[str]>`` or
    ``{files}`` (the labels this typer version prints), and its values coerced without pydantic
    where typer's own functions suffice (:func:`_runtime_param`)."""
    for param in command.params:
        if isinstance(param, typer.core.TyperOption):
            param.__class__ = _PlainOption
        elif isinstance(param, typer.core.TyperArgument):
            param.__class__ = _PlainArgument
    if type(command) is typer.core.TyperCommand:
        command.__class__ = _PlainCommand
    return command


def _plain_help_option(option: Any) -> Any:
    """The ``--help`` option click adds to a command, coerced like the others."""
    if type(option) is typer.core.TyperOption:
        option.__class__ = _PlainOption
    return option


class _PlainCommand(typer.core.TyperCommand):
    """A command whose ``--help`` option is coerced like its other options."""

    def get_help_option(self, ctx: Any) -> Any:
        """Click's help option, as a :class:`_PlainOption`."""
        return _plain_help_option(super().get_help_option(ctx))


class LazyCommandGroup(typer.core.TyperGroup):
    """A typer group that imports a command's module the first time the command is needed.

    Listing the commands (the group's own ``--help``) uses the summaries in :data:`COMMANDS`
    and imports nothing; running a command, or asking for its ``--help``, imports its module,
    whose ``@app.command()`` registers it, and builds the command from that registration.
    """

    _listing = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse the group's own options (``--version``, completion) with the plain classes."""
        plain_help(self)
        return list(super().parse_args(ctx, args))

    def get_help_option(self, ctx: Any) -> Any:
        """Click's help option, as a :class:`_PlainOption`."""
        return _plain_help_option(super().get_help_option(ctx))

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command: the lazy ones, then any registered eagerly under another name."""
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command called ``cmd_name``, importing its module on first use."""
        if cmd_name not in COMMANDS:
            eager = self.commands.get(cmd_name)
            return None if eager is None else plain_help(eager)
        module, summary = COMMANDS[cmd_name]
        if self._listing:
            # Only the name and summary are shown: a stand-in keeps the module unimported (and
            # the listing the same whether or not the command was loaded already).
            return typer.core.TyperCommand(cmd_name, help=summary, short_help=summary)
        loaded = self.commands.get(cmd_name)
        if loaded is not None:
            # typer may have built it already (its module was imported): same help either way
            return plain_help(loaded)
        importlib.import_module(module)
        for info in app.registered_commands:
            name = info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))
            if name == cmd_name:
                command = typer.main.get_command_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=app.rich_markup_mode,
                )
                self.commands[cmd_name] = plain_help(command)
                return command
        return None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The group's help, listing commands by their summaries without importing them."""
        plain_help(self)
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def exit_code_table() -> str:
    """The exit codes, one per line, as the top-level ``--help`` shows them."""
    # "\b" keeps click from re-wrapping the lines into one paragraph.
    rows = [f"  {o.exit_code:>3}  {o.meaning}" for o in sorted(Outcome, key=lambda o: o.exit_code)]
    rows.append("  130  interrupted (Ctrl-C): probe prints what it had seen so far")
    return "\b\nExit codes:\n" + "\n".join(rows)


HELP_EPILOG = (
    exit_code_table() + "\n\nThe environment variables that name a deployment are listed in "
    "'realtime-harness probe --help'. Colour follows NO_COLOR; output is plain when piped."
)

app = typer.Typer(
    name="realtime-harness",
    cls=LazyCommandGroup,
    help=(
        "Tell, with evidence, whether an OpenAI / Azure OpenAI Realtime API deployment works, "
        "how fast it answers, and exactly which session failed. With no deployment configured, "
        "commands run against an embedded mock server on 127.0.0.1."
    ),
    epilog=HELP_EPILOG,
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell.
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
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


def _show_version(value: bool) -> None:
    if value:
        from realtime_harness import __version__

        print(f"realtime-harness {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version and exit.",
            callback=_show_version,
            is_eager=True,
            show_default=False,
        ),
    ] = False,
) -> None:
    """Probe, validate, mock and soak-test Realtime API deployments."""
