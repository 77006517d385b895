"""Fill the code blocks of the docs from the files the suite runs, so no snippet is copied by hand.

Usage::

    python scripts/doc_snippets.py [--check] [DOC ...]

A block to fill is a fenced code block right after a directive naming a file of the repository and what to show::

    <!-- snippet: examples/hub-csv-source/hub_csv_source/connector.py CsvSourceTask.poll -->

For a Python file the names are top-level classes, functions and assigned names, or ``Class.method``; the block gets
``# PATH``, then the imports those definitions use, then the definitions as the file has them (indentation, comments
and decorators included). ``...`` stands where other code of the file is left out. For a TOML file a name is a table
header such as ``[project.entry-points.hub]``: the table's lines up to the next blank line. DOC defaults to the
guides that have snippets; ``--check`` rewrites nothing and exits 1 naming the stale documents.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "writing-connectors.md"]
DIRECTIVE = re.compile(
    r"^<!-- snippet: (?P<path>\S+) (?P<names>[^\n]+?) -->\n```(?P<lang>\w+)\n(?P<body>.*?)^```$",
    flags=re.MULTILINE | re.DOTALL,
)

Span = tuple[int, int]  # first and last line, 1-based, inclusive


def _definitions(tree: ast.Module) -> dict[str, Span]:
    """Where each top-level definition, and each method of a top-level class, starts and ends."""
    spans: dict[str, Span] = {}

    def span(node: ast.stmt) -> Span:
        decorators = getattr(node, "decorator_list", [])
        return min([node.lineno, *(d.lineno for d in decorators)]), node.end_lineno or node.lineno

    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            spans[node.name] = span(node)
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    spans[f"{node.name}.{member.name}"] = span(member)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            spans |= {target.id: span(node) for target in targets if isinstance(target, ast.Name)}
    return spans


def python_snippet(source: str, names: list[str], where: str) -> list[str]:
    """The lines showing ``names`` of a module and the imports they use, ``...`` where code is left out."""
    tree = ast.parse(source)
    definitions = _definitions(tree)
    unknown = [name for name in names if name not in definitions]
    if unknown:
        raise ValueError(f"{where} defines no {', '.join(unknown)} (known: {', '.join(sorted(definitions))})")
    wanted = [definitions[name] for name in names]
    used = {
        node.id
        for first, last in wanted
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and first <= node.lineno <= last
    }
    imports: dict[Span, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "module", None) != "__future__":
            bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            imports[(node.lineno, node.end_lineno or node.lineno)] = bound
    spans = sorted({span for span, bound in imports.items() if bound & used} | set(wanted))
    import_lines = {line for first, last in imports for line in range(first, last + 1)}
    lines = source.splitlines()
    out: list[str] = []
    for index, (first, last) in enumerate(spans):
        if index:
            gap = range(spans[index - 1][1] + 1, first)
            first_indented = lines[first - 1].startswith(" ")
            if any(lines[n - 1].strip() and n not in import_lines for n in gap):
                if spans[index - 1] in imports and not first_indented:
                    out.append("")  # as ruff formats code blocks of Markdown: a blank line after the imports
                out.append("...")
                if not first_indented:  # a top-level definition keeps its blank lines above
                    out.extend(itertools.takewhile(lambda line: not line.strip(), reversed(lines[: first - 1])))
            else:  # only imports left out: keep the file's blank lines, nothing to mark
                out.extend("" for n in gap if not lines[n - 1].strip())
        out.extend(lines[first - 1 : last])
    return out


def toml_snippet(source: str, names: list[str], where: str) -> list[str]:
    """Each named table of a TOML file, from its header to the next blank line, ``...`` between tables."""
    lines = source.splitlines()
    out: list[str] = []
    for name in names:
        if name not in lines:
            raise ValueError(f"{where} has no table {name}")
        first = lines.index(name)
        last = next((n for n in range(first, len(lines)) if not lines[n].strip()), len(lines))
        out.extend([*(["..."] if out else []), *lines[first:last]])
    return out


def render(doc: str) -> str:
    """The document with every snippet block filled from the file its directive names."""

    def fill(match: re.Match[str]) -> str:
        path, names = match["path"], match["names"].split()
        source = (ROOT / path).read_text(encoding="utf-8")
        make = toml_snippet if path.endswith(".toml") else python_snippet
        body = "\n".join([f"# {path}", *make(source, names, path)])
        return f"<!-- snippet: {path} {match['names']} -->\n```{match['lang']}\n{body}\n```"

    return DIRECTIVE.sub(fill, doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rewrite nothing; exit 1 if a document is stale")
    parser.add_argument("docs", type=Path, nargs="*", default=DOCS, help="Markdown files with snippet directives")
    args = parser.parse_args(argv)
    stale = []
    for doc in args.docs:
        text = doc.read_text(encoding="utf-8")
        filled = render(text)
        if filled != text:
            stale.append(doc)
            if not args.check:
                doc.write_text(filled, encoding="utf-8")
    if args.check and stale:
        names = ", ".join(str(doc) for doc in stale)
        print(f"snippets differ from their files in {names}: run scripts/doc_snippets.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
