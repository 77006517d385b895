"""JSON path columns of a PGSync ``schema.json`` (``doc->firstname``, ``doc#>{a,b,c}->4``): how PGSync reads them,
what key it gives them in the document, and the value they take (evaluated by PostgreSQL, see ``queries``).

PGSync splits a column on the operators ``->``, ``->>``, ``#>``, ``#>>`` with one regular expression whose first
alternative wins, so ``->>`` reads as ``->`` followed by a step starting with ``>`` (and ``#>>`` as ``#>``): Hub
reads them the same way, so a document keeps PGSync's keys and values. The first part names the column; each
operator applies to the value so far with the step after it: a step of digits is an array index (an integer), any
other step a key (text) — for ``#>``, a ``{a,b,c}`` path (text[]). A missing key or index gives null. The
document key is the parts that are not operators, braces removed, joined by ``_`` (``doc_a,b,c_4``).

Pure functions over strings; no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: PGSync's split: alternatives in this order, so "->" wins over "->>" and "#>" over "#>>".
_SPLIT = re.compile("(->|->>|#>|#>>)")
OPERATORS = ("->", "->>", "#>", "#>>")


@dataclass(frozen=True)
class JsonPath:
    """``column`` (the table's json/jsonb column), then ``steps``: (operator, key, index or {path}) in order."""

    column: str
    steps: tuple[tuple[str, str | int], ...]
    name: str


def is_path(expression: str) -> bool:
    return any(operator in expression for operator in OPERATORS)


def parse(expression: str) -> JsonPath | None:
    """The path a column expression names, or None for a plain column."""
    if not is_path(expression):
        return None
    tokens = _SPLIT.split(expression)
    steps: list[tuple[str, str | int]] = []
    for position in range(1, len(tokens) - 1, 2):
        step = tokens[position + 1]
        steps.append((tokens[position], int(step) if step.isdigit() else step))
    parts = [token.replace("{", "").replace("}", "") for token in tokens if token not in OPERATORS]
    return JsonPath(tokens[0], tuple(steps), "_".join(parts))


def output_name(expression: str) -> str:
    """The document key of a column: its name, or PGSync's name of a JSON path."""
    path = parse(expression)
    return expression if path is None else path.name


def source_column(expression: str) -> str:
    """The table column a column expression reads."""
    path = parse(expression)
    return expression if path is None else path.column


def problems(expression: str) -> list[str]:
    """What makes a path unusable before it reaches the database (PostgreSQL would fail the query)."""
    path = parse(expression)
    if path is None:
        return []
    out = []
    if not path.column:
        out.append(f"column {expression!r}: a JSON path starts with the column it reads")
    for operator, step in path.steps:
        if operator == "#>" and not (isinstance(step, str) and step.startswith("{") and step.endswith("}")):
            out.append(f"column {expression!r}: #> takes a {{key,key,...}} path, not {step!r}")
    return out
