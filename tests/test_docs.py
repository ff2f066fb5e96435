"""README and docs/ say what the code does: tables are current, links resolve, examples run.

The tables between ``<!-- generated:… -->`` markers are written by ``scripts/gen_docs.py`` from the
code; when a rule, fault kind, environment variable, exit code or option changes, these tests fail
until ``python scripts/gen_docs.py`` is run.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import re
import shutil
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_docs", module)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()
DOCS = gen_docs.doc_files(ROOT)


def _ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _outside_code(text: str) -> list[str]:
    """The lines of a Markdown text that are not inside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def _code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: Counter[str] = Counter()
    found = set()
    for line in _outside_code(path.read_text(encoding="utf-8")):
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            slug = github_slug(match.group(1))
            found.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return found


def relative_links(path: Path) -> list[str]:
    """Targets of the Markdown links in a file that point inside the repository."""
    targets = []
    for line in _outside_code(path.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)
        for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                targets.append(target)
    return targets


# --- generated tables ---------------------------------------------------------------------------
def test_generated_tables_match_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    """Every table that mirrors code is what scripts/gen_docs.py writes from the code today."""
    code = gen_docs.run(check=True, root=ROOT)
    out, err = capsys.readouterr()
    assert code == 0, f"{err}\n{out}"


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """README.md and docs/ copied to a scratch root, for edits the generator must notice."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    return tmp_path


def test_check_fails_and_shows_the_diff_when_a_table_is_edited_by_hand(
    docs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand edit inside a generated block fails the check; writing restores the code's table."""
    validate_md = docs_copy / "docs" / "validate.md"
    original = validate_md.read_text(encoding="utf-8")
    validate_md.write_text(original.replace("| `done-twice` |", "| `done-thrice` |"), "utf-8")

    assert gen_docs.run(check=True, root=docs_copy) == 1
    out, err = capsys.readouterr()
    assert "-| `done-thrice` |" in out
    assert "+| `done-twice` |" in out
    assert "docs/validate.md disagree with the code; run python scripts/gen_docs.py" in err

    assert gen_docs.run(check=False, root=docs_copy) == 0
    assert validate_md.read_text(encoding="utf-8") == original
    assert gen_docs.run(check=True, root=docs_copy) == 0


def test_a_command_without_its_options_table_fails_the_check(
    docs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every CLI command needs its block in the docs; writing adds one for a new command."""
    cli_md = docs_copy / "docs" / "cli.md"
    text = cli_md.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- generated:cli:samples -->.*?<!-- /generated:cli:samples -->\n", text, re.S
    )
    assert block is not None
    cli_md.write_text(text.replace(block.group(0), ""), encoding="utf-8")

    assert gen_docs.run(check=True, root=docs_copy) == 1
    assert "no document holds the generated block 'cli:samples'" in capsys.readouterr().err

    assert gen_docs.run(check=False, root=docs_copy) == 0
    assert "added a section for `samples` to docs/cli.md" in capsys.readouterr().out
    assert cli_md.read_text(encoding="utf-8").endswith(block.group(0))
    assert gen_docs.run(check=True, root=docs_copy) == 0


def test_an_unknown_block_is_an_error_naming_the_file(
    docs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A marker naming no table stops the generator with the file and the known tables."""
    (docs_copy / "docs" / "extra.md").write_text(
        "<!-- generated:nonsense -->\n<!-- /generated:nonsense -->\n", encoding="utf-8"
    )
    assert gen_docs.run(check=True, root=docs_copy) == 2
    err = capsys.readouterr().err
    assert "docs/extra.md" in err
    assert "unknown generated block 'nonsense'" in err


def test_the_rules_tables_list_every_rule_once() -> None:
    """Each validator rule appears in exactly one generated row of docs/validate.md."""
    from realtime_harness.protocol.rules import RULES

    text = (ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    for name in RULES:
        assert text.count(f"| `{name}` |") == 1, name


def test_the_fault_tables_list_every_kind_and_key() -> None:
    """docs/mock.md describes every fault kind and every key of a fault spec."""
    from realtime_harness.mock import FaultKind

    text = (ROOT / "docs" / "mock.md").read_text(encoding="utf-8")
    for kind in FaultKind:
        assert f"| `{kind.value}` |" in text
    for key in ("rate", "count", "skip", "after_deltas", "phase", "delay", "retry_after", "code"):
        assert f"| `{key}` |" in text


def test_table_cells_escape_pipes_and_html_but_not_code() -> None:
    """Option help with pipes or angle brackets renders as text in a Markdown table."""
    assert gen_docs.cell("a | b") == "a \\| b"
    assert gen_docs.cell("<list> and `<code>`") == "&lt;list> and `<code>`"
    assert gen_docs.cell("two\n  lines") == "two lines"


# --- links --------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", DOCS, ids=_ids)
def test_every_relative_link_resolves(doc: Path) -> None:
    """Each relative link points at a file of the repository, and at a heading when it names one."""
    broken = []
    for target in relative_links(doc):
        path_part, _, anchor = target.partition("#")
        destination = (doc.parent / path_part).resolve() if path_part else doc
        if not destination.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target} (no heading #{anchor} in {destination.name})")
    assert broken == []


def test_readme_links_every_page_of_docs() -> None:
    """README is the way in: every page under docs/ is linked from it."""
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in relative_links(ROOT / "README.md")}
    assert {p.resolve() for p in DOCS if p.parent.name == "docs"} <= linked


# --- examples -----------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", DOCS, ids=_ids)
def test_python_examples_compile_and_their_imports_exist(doc: Path) -> None:
    """Every Python block is valid Python, and each name it imports from the package exists."""
    for block in _code_blocks(doc.read_text(encoding="utf-8"), "python"):
        tree = compile(block, str(doc), "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        assert isinstance(tree, ast.Module)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("realtime_"):
                assert node.module is not None
                with warnings_allowed():
                    module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"


@contextlib.contextmanager
def warnings_allowed() -> Iterator[None]:
    """Deprecated alias modules warn on import; README may still show them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def test_readme_python_probe_example_runs_against_the_mock(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's "From Python" block, run as written with nothing configured, probes the mock."""
    from realtime_harness.target import ENV_VARS

    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./.env
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in _code_blocks(readme, "python") if "run_probe_sync" in b)
    namespace: dict[str, object] = {}
    with warnings_allowed():
        exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.outcome.value == "clean", [f.summary() for f in result.failures]  # type: ignore[attr-defined]
    assert "sess_" in capsys.readouterr().out


def test_the_pytest_doc_shows_its_example_file_verbatim() -> None:
    """docs/pytest.md's example is the file the suite runs, so it cannot rot."""
    example = (ROOT / "tests" / "integration" / "test_pytest_doc_example.py").read_text()
    assert example in (ROOT / "docs" / "pytest.md").read_text(encoding="utf-8")


def test_readme_test_command_is_the_one_ci_runs() -> None:
    """README's second quick-start command is exactly the test command .ci/run runs."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    command = ci[ci.index("# README's test command:") + 1].strip()
    quick_start = _code_blocks((ROOT / "README.md").read_text(encoding="utf-8"), "bash")[0]
    assert command in quick_start.splitlines()
    assert "pip install -e '.[test]'" in quick_start
    assert any("install" in line and "-e '.[test]'" in line for line in ci)
