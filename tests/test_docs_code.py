"""Code in docs/writing-connectors.md is filled in from files the suite runs by scripts/doc_snippets.py: every code
block follows a ``<!-- snippet: PATH NAMES -->`` directive, and the blocks are what the script makes of the files
today. So the snippets keep their imports and cannot drift from the example package whose tests run."""

from __future__ import annotations

import ast
import builtins
import importlib.util
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "writing-connectors.md"
SOURCED = re.compile(r"```(?:python|toml)\n# (\S+)\n(.*?)```", flags=re.DOTALL)
EXAMPLE = "examples/hub-csv-source/hub_csv_source/connector.py"


@pytest.fixture(scope="module")
def snippets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("doc_snippets", ROOT / "scripts" / "doc_snippets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_snippets"] = module
    spec.loader.exec_module(module)
    return module


def test_every_code_block_is_filled_from_a_file() -> None:
    text = DOC.read_text()
    blocks = re.findall(r"^(.*)\n```(?:python|toml)\n", text, flags=re.MULTILINE)
    assert len(blocks) >= 8, "the guide's code blocks are gone"
    assert all(line.startswith("<!-- snippet: ") for line in blocks), "a code block without a snippet directive"


def test_code_blocks_are_what_the_files_give_today(snippets: ModuleType) -> None:
    text = DOC.read_text()
    assert snippets.render(text) == text, "the guide's snippets are stale: run .venv/bin/python scripts/doc_snippets.py"


def test_a_block_shows_the_imports_its_code_uses_and_marks_what_is_left_out(snippets: ModuleType) -> None:
    source = (ROOT / EXAMPLE).read_text()
    lines = snippets.python_snippet(source, ["CsvSourceTask.poll"], EXAMPLE)
    assert lines[:4] == [
        "from collections.abc import Sequence",
        "",
        "from hub.sdk import ConfigDef, ConfigType, Importance, SourceConnector, SourceRecord, SourceTask, Struct",
        "from hub.sdk.errors import ConnectorError",
    ]
    assert lines[4] == "..."
    assert lines[5] == "    def poll(self) -> Sequence[SourceRecord]:"
    assert "\n".join(lines[5:]) in source


def test_an_unknown_name_is_refused_naming_it(snippets: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"defines no CsvSourceTask\.pol "):
        snippets.python_snippet((ROOT / EXAMPLE).read_text(), ["CsvSourceTask.pol"], EXAMPLE)
    with pytest.raises(ValueError, match=r"has no table \[tool\.nope\]"):
        snippets.toml_snippet("[project]\nname = 'x'\n", ["[tool.nope]"], "pyproject.toml")


def test_check_mode_reports_a_stale_document_and_the_command_fills_it(snippets: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    stale = f"Options:\n\n<!-- snippet: {EXAMPLE} CONFIG -->\n```python\nCONFIG = 'copied by hand'\n```\n"
    doc.write_text(stale)
    assert snippets.main(["--check", str(doc)]) == 1
    assert doc.read_text() == stale
    assert snippets.main([str(doc)]) == 0
    filled = doc.read_text()
    assert f"```python\n# {EXAMPLE}\nfrom hub.sdk import ConfigDef" in filled
    assert "    ConfigDef()\n" in filled
    assert snippets.main(["--check", str(doc)]) == 0


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
