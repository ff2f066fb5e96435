"""Write the tables of README.md and docs/ that mirror the code, or check that they still do.

Usage::

    python scripts/gen_docs.py           # rewrite every generated block in place
    python scripts/gen_docs.py --check   # change nothing; exit 1 with a diff if a block is stale

A generated block sits between two marker comments in a Markdown file::

    <!-- generated:rules:server -->
    ...written by this script...
    <!-- /generated:rules:server -->

The name before the first ``:`` picks the table, the rest is its argument (``cli:probe`` is the
options of ``realtime-harness probe``). :data:`SOURCES` says where each table's data lives: when
code moves, that table is the one place to change. Every table in :data:`SOURCES` must appear in
some document, and so must every CLI command, so a new command or rule cannot go undocumented.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Where each table's data comes from, as ``module:attribute`` of a public import path.
SOURCES: dict[str, str] = {
    "exit-codes": "realtime_harness.protocol.outcome:Outcome",
    "env-vars": "realtime_harness.target:ENV_VARS",
    "rules": "realtime_harness.protocol.rules:RULES",
    # Kinds and keys are described in the docstring of the module that defines FaultKind; the
    # keys are the fields of FaultSpec.
    "fault-kinds": "realtime_harness.mock:FaultKind",
    "fault-keys": "realtime_harness.mock:FaultSpec",
    "cli": "realtime_harness.cli:app",
    "cli-commands": "realtime_harness.cli:app",
    "pytest-options": "realtime_harness.pytest_plugin:pytest_addoption",
}

_BLOCK = re.compile(
    r"(?P<open><!-- generated:(?P<id>[\w.:-]+) -->\n)(?P<body>.*?)"
    r"(?P<close><!-- /generated:(?P=id) -->)",
    re.DOTALL,
)


class DocError(Exception):
    """A document or the code is in a shape the generator cannot render; the message says why."""


def doc_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def load(table: str) -> Any:
    """The object a table is generated from (see :data:`SOURCES`)."""
    module_name, _, attribute = SOURCES[table].partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise DocError(
            f"table {table!r}: cannot load {SOURCES[table]} ({exc}); "
            "update SOURCES in scripts/gen_docs.py"
        ) from None


# --- Markdown helpers ---------------------------------------------------------------------------
def cell(text: str) -> str:
    """Text safe in a Markdown table cell: one line, pipes escaped, ``<`` escaped outside code."""
    text = " ".join(str(text).split())
    parts = text.split("`")
    for index in range(0, len(parts), 2):  # even parts are outside backticks
        parts[index] = parts[index].replace("<", "&lt;")
    return "`".join(parts).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def code(text: str) -> str:
    """Inline code, using a longer fence when the text holds a backtick."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def rst_to_md(text: str) -> str:
    """The few reStructuredText habits of docstrings, as Markdown (````x```` → ```x```)."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


# --- the tables ---------------------------------------------------------------------------------
def render_exit_codes(_arg: str) -> str:
    """Exit code, outcome name (the ``outcome`` JSON key), meaning."""
    outcome = load("exit-codes")
    rows = sorted(((o.exit_code, o) for o in outcome), key=lambda pair: pair[0])
    if not all(isinstance(getattr(o, "meaning", None), str) for o in outcome):
        raise DocError(f"every {SOURCES['exit-codes']} needs a one-line .meaning")
    return table(
        ("code", "`outcome`", "meaning"),
        [(str(code_), code(o.value), o.meaning) for code_, o in rows],
    )


def render_env_vars(_arg: str) -> str:
    """Every variable the target resolution reads, with its meaning."""
    env_vars: dict[str, str] = load("env-vars")
    return table(("variable", "meaning"), [(code(k), v) for k, v in env_vars.items()])


def render_rules(side: str) -> str:
    """The validator's rules for one side (``server`` or ``client``), in table order."""
    rules = load("rules")
    sides = {r.side for r in rules.values()}
    if side not in sides:
        raise DocError(f"rules:{side}: no rule has side {side!r} (sides: {sorted(sides)})")
    rows = [(code(r.name), r.summary) for r in rules.values() if r.side == side]
    return table(("rule", "what it checks"), rows)


def _docstring_of_module(obj: Any) -> str:
    module = sys.modules[obj.__module__]
    return inspect.cleandoc(module.__doc__ or "")


def _rst_simple_table(doc: str) -> dict[str, str]:
    """Rows of a docstring's ``=====  =====`` table whose first cells are ````names````.

    A row starts with ````name```` at the left margin (it may overflow its column); indented lines
    continue the previous row.
    """
    rows: dict[str, str] = {}
    key = ""
    for line in doc.splitlines():
        match = re.match(r"``([\w-]+)``\s+(\S.*)$", line)
        if match:
            key = match.group(1)
            rows[key] = match.group(2).strip()
        elif key and line.startswith(" ") and line.strip():
            rows[key] += " " + line.strip()
        else:
            key = ""
    return rows


def _rst_definitions(doc: str) -> dict[str, str]:
    """A docstring's definition list: ````term```` on its own line, the definition indented."""
    definitions: dict[str, str] = {}
    term = ""
    for line in doc.splitlines():
        match = re.fullmatch(r"``([\w-]+)``", line.strip())
        if match and not line.startswith(" "):
            term = match.group(1)
            definitions[term] = ""
        elif term and line.startswith("    "):
            definitions[term] = (definitions[term] + " " + line.strip()).strip()
        else:
            term = ""
    return definitions


def render_fault_kinds(_arg: str) -> str:
    """Every fault kind with what the client sees: a ``description`` if the kind has one, else
    the kinds table of its module's docstring."""
    kinds = load("fault-kinds")
    described = _rst_simple_table(_docstring_of_module(kinds))
    rows = []
    for kind in kinds:
        text = getattr(kind, "description", None) or described.get(kind.value)
        if not text:
            raise DocError(
                f"fault kind {kind.value!r} has no description: add it to the kinds table in the "
                f"docstring of {kinds.__module__}"
            )
        rows.append((code(kind.value), rst_to_md(text)))
    return table(("kind", "what the client sees"), rows)


def render_fault_keys(_arg: str) -> str:
    """Every key of a fault spec (the fields of FaultSpec but its kind), as the docstring says."""
    spec = load("fault-keys")
    if not is_dataclass(spec):
        raise DocError(f"{SOURCES['fault-keys']} is no longer a dataclass; update gen_docs.py")
    keys = [f.name for f in fields(spec) if f.name != "kind"]
    described = _rst_definitions(_docstring_of_module(spec))
    missing = [k for k in keys if not described.get(k)]
    if missing:
        raise DocError(
            f"fault spec keys {missing} are not described in the docstring of {spec.__module__}"
        )
    return table(("key", "meaning"), [(code(k), rst_to_md(described[k])) for k in keys])


def _cli_root() -> Any:
    import typer.main  # only the CLI tables need typer's command objects

    group = typer.main.get_command(load("cli"))
    context = group.make_context("realtime-harness", [], resilient_parsing=True)
    return group, context


#: The block id of the top-level command (``cli:realtime-harness``).
ROOT_COMMAND = "realtime-harness"


def _commands() -> Iterator[tuple[str, Any, Any]]:
    """``(name, command, context)`` for every command, sub-commands as ``group.sub``."""
    group, root = _cli_root()

    def walk(parent: Any, parent_ctx: Any, prefix: str) -> Iterator[tuple[str, Any, Any]]:
        for name in parent.list_commands(parent_ctx):
            command = parent.get_command(parent_ctx, name)
            if command is None or command.hidden:
                continue
            ctx = command.make_context(name, [], parent=parent_ctx, resilient_parsing=True)
            yield prefix + name, command, ctx
            if hasattr(command, "list_commands"):
                yield from walk(command, ctx, prefix + name + ".")

    yield ROOT_COMMAND, group, root
    yield from walk(group, root, "")


def _help_paragraphs(help_text: str | None) -> list[str]:
    text = inspect.cleandoc(help_text or "").replace("\b", "")
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def render_cli(name: str) -> str:
    """One command as ``--help`` shows it: usage, help text, a table of options and arguments."""
    found = {n: (cmd, ctx) for n, cmd, ctx in _commands()}
    if name not in found:
        raise DocError(f"cli:{name}: no such command (commands: {sorted(found)})")
    command, ctx = found[name]
    usage = command.get_usage(ctx).removeprefix("Usage: ").strip()
    parts = [f"```\n{usage}\n```", *(rst_to_md(p) for p in _help_paragraphs(command.help))]
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None and record[0] != "--help":
            rows.append((code(record[0]), record[1]))
    if rows:
        parts.append(table(("option", "meaning"), rows))
    return "\n\n".join(parts)


def render_cli_commands(_arg: str) -> str:
    """Every command with the first line of its help."""
    rows = []
    for name, command, ctx in _commands():
        if name != ROOT_COMMAND:
            usage = command.get_usage(ctx).removeprefix("Usage: ").strip()
            summary = _help_paragraphs(command.help)[:1] or [""]
            rows.append((code(usage), summary[0]))
    return table(("command", "what it does"), rows)


class _OptionRecorder:
    """Stands in for pytest's parser and option group: notes each option and ini key added."""

    def __init__(self) -> None:
        self.options: list[tuple[str, str]] = []
        self.ini: dict[str, str] = {}

    def getgroup(self, *_args: Any, **_kwargs: Any) -> _OptionRecorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append((", ".join(names), str(kwargs.get("help", ""))))

    def addini(self, name: str, text: str, *_args: Any, **_kwargs: Any) -> None:
        self.ini[name] = text


def render_pytest_options(_arg: str) -> str:
    """The plugin's command-line options with their ini keys, as ``pytest_addoption`` adds them."""
    recorder = _OptionRecorder()
    load("pytest-options")(recorder)
    rows = []
    for flag, text in recorder.options:
        ini = flag.split(",")[0].removeprefix("--").replace("-", "_")
        rows.append((code(flag), code(ini) if ini in recorder.ini else "", text))
    return table(("option", "ini key", "meaning"), rows)


RENDERERS: dict[str, Callable[[str], str]] = {
    "exit-codes": render_exit_codes,
    "env-vars": render_env_vars,
    "rules": render_rules,
    "fault-kinds": render_fault_kinds,
    "fault-keys": render_fault_keys,
    "cli": render_cli,
    "cli-commands": render_cli_commands,
    "pytest-options": render_pytest_options,
}


def required_blocks() -> set[str]:
    """The blocks some document must hold: every table, both rule sides, every CLI command."""
    required = {
        "exit-codes",
        "env-vars",
        "fault-kinds",
        "fault-keys",
        "cli-commands",
        "pytest-options",
    }
    required |= {f"rules:{r.side}" for r in load("rules").values()}
    required |= {f"cli:{name}" for name, _cmd, _ctx in _commands()}
    return required


# --- rewriting documents ------------------------------------------------------------------------
def render_block(block_id: str) -> str:
    """The body of one block, framed by a note saying where it comes from."""
    table_name, _, arg = block_id.partition(":")
    if table_name not in RENDERERS:
        raise DocError(f"unknown generated block {block_id!r} (tables: {sorted(RENDERERS)})")
    source = SOURCES[table_name]
    note = f"<!-- written by scripts/gen_docs.py from {source}: edit the code, then run it -->"
    return f"{note}\n\n{RENDERERS[table_name](arg)}\n\n"


def regenerate(text: str, label: str) -> tuple[str, set[str]]:
    """``text`` with every block rewritten, and the ids of the blocks it holds.

    ``label`` names the document in error messages.
    """
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        seen.add(match["id"])
        try:
            body = render_block(match["id"])
        except DocError as exc:
            raise DocError(f"{label}: {exc}") from None
        return match["open"] + body + match["close"]

    new = _BLOCK.sub(replace, text)
    opened = re.findall(r"<!-- generated:([\w.:-]+) -->", text)
    unclosed = sorted(set(opened) - seen)
    if unclosed:
        raise DocError(f"{label}: no closing marker for {unclosed}")
    return new, seen


def add_command_sections(root: Path, block_ids: list[str]) -> None:
    """Append a section with an empty options block to docs/cli.md for each new command."""
    cli_md = root / "docs" / "cli.md"
    text = cli_md.read_text(encoding="utf-8").rstrip("\n") + "\n"
    for block_id in block_ids:
        name = block_id.removeprefix("cli:").replace(".", " ")
        text += f"\n## `{name}`\n\n<!-- generated:{block_id} -->\n<!-- /generated:{block_id} -->\n"
        print(f"added a section for `{name}` to docs/cli.md: describe the command there")
    cli_md.write_text(text, encoding="utf-8")


def run(check: bool, root: Path = ROOT) -> int:
    """Rewrite (or, with ``check``, compare) every document; the process exit code.

    Writing also adds a section to docs/cli.md for a command that has none yet.
    """
    stale: list[str] = []
    present: set[str] = set()
    try:
        for path in doc_files(root):
            relative = str(path.relative_to(root))
            old = path.read_text(encoding="utf-8")
            new, ids = regenerate(old, relative)
            present |= ids
            if new == old:
                continue
            stale.append(relative)
            if check:
                sys.stdout.writelines(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        new.splitlines(keepends=True),
                        f"{relative} (now)",
                        f"{relative} (from the code)",
                    )
                )
            else:
                path.write_text(new, encoding="utf-8")
                print(f"rewrote {relative}")
        missing = sorted(required_blocks() - present)
    except DocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    new_commands = [b for b in missing if b.startswith("cli:")]
    if new_commands and not check and (root / "docs" / "cli.md").exists():
        add_command_sections(root, new_commands)
        return run(check=False, root=root)
    for block_id in missing:
        print(
            f"error: no document holds the generated block {block_id!r}; add "
            f"'<!-- generated:{block_id} -->' and '<!-- /generated:{block_id} -->' on their own "
            "lines where it belongs, then run python scripts/gen_docs.py (which adds missing "
            "command sections to docs/cli.md by itself)",
            file=sys.stderr,
        )
    if check and stale:
        print(
            f"error: {', '.join(stale)} disagree with the code; run python scripts/gen_docs.py",
            file=sys.stderr,
        )
    return 1 if missing or (check and stale) else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--check`` compares instead of writing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 and print a diff when a document is stale"
    )
    return run(parser.parse_args(argv).check)


if __name__ == "__main__":
    sys.exit(main())
