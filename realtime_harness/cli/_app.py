"""The typer application every command module registers on, and the helpers they share."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import NoReturn

import typer

from realtime_harness.exceptions import RemoteError, UsageError
from realtime_harness.protocol.outcome import Outcome

__all__ = ["app", "exit_with", "fail", "one_line_errors"]

app = typer.Typer(
    name="realtime-harness",
    help=(
        "Tell, with evidence, whether an OpenAI / Azure OpenAI Realtime API deployment works, "
        "how fast it answers, and exactly which session failed. With no deployment configured, "
        "commands run against an embedded mock server on 127.0.0.1."
    ),
    no_args_is_help=True,
    add_completion=False,
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
