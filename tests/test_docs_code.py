"""Code in docs/writing-connectors.md is taken from files the suite runs: a block whose first line names a file
(``# examples/…/connector.py``) holds excerpts of that file, in its order, separated by lines of ``...``; each
excerpt is a run of the file's lines, possibly indented there (a method shown alone). So the snippets keep their
imports and cannot drift from the example package whose tests run."""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "writing-connectors.md"
SOURCED = re.compile(r"```(?:python|toml)\n# (\S+)\n(.*?)```", flags=re.DOTALL)


def _find(excerpt: list[str], lines: list[str], start: int) -> int:
    """Index after the first run of ``lines`` from ``start`` that dedents to ``excerpt``; -1 if there is none."""
    for at in range(start, len(lines) - len(excerpt) + 1):
        window = lines[at : at + len(excerpt)]
        if textwrap.dedent("\n".join(window)).splitlines() == excerpt:
            return at + len(excerpt)
    return -1


def test_code_blocks_are_excerpts_of_the_files_they_name() -> None:
    blocks = SOURCED.findall(DOC.read_text())
    assert len(blocks) >= 6, "the guide's code blocks no longer name their files"
    for path, body in blocks:
        lines = (ROOT / path).read_text().splitlines()
        position = 0
        for excerpt in re.split(r"^\.\.\.$", body, flags=re.MULTILINE):
            wanted = textwrap.dedent(excerpt).strip("\n").splitlines()
            after = _find(wanted, lines, position)
            assert after >= 0, f"not in {path} (or out of order):\n" + "\n".join(wanted)
            position = after


def _defined_in(path: Path) -> set[str]:
    """The classes, functions and constants a module defines at its top level (not what it imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def _unbound_names(code: str) -> set[str]:
    """Names the code reads but neither imports, defines, assigns nor gets from builtins."""
    tree = ast.parse(code)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return read - bound


def test_python_blocks_show_their_imports() -> None:
    """What a block uses is imported in the block, or defined in the file it comes from (another block shows it)."""
    for path, body in SOURCED.findall(DOC.read_text()):
        if path.endswith(".py"):
            excerpts = re.split(r"^\.\.\.$", body, flags=re.MULTILINE)
            code = "\n".join(textwrap.dedent(excerpt) for excerpt in excerpts)
            unbound = _unbound_names(code) - _defined_in(ROOT / path)
            assert not unbound, f"a block from {path} uses names it does not import: {sorted(unbound)}"
