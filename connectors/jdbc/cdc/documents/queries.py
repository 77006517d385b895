"""The SQL of a document tree: build the documents of given roots (or the next page of roots) in one query, and map
changed rows of any table of the tree to the roots whose documents they touch.

Documents are built by PostgreSQL: each node is a ``json_build_object`` of its columns (a JSON path column is its
``->`` / ``#>`` expression, named as PGSync names it), with one correlated
subquery per child — ``json_agg`` for one_to_many, the first row (lowest primary key) for one_to_one, the column's
value for the scalar variant — so one round trip returns a page of whole documents, and the rows are read at the
statement's snapshot: a document is never assembled from two moments.

Root keys of changed rows: a changed row of a node (or of a node's through table) carries the columns that join it
to its parent (its before image too, as the tables have ``REPLICA IDENTITY FULL``); those values, as arrays,
``unnest`` into a row set joined upward to the root. One statement per (table occurrence, batch).

Pure functions over an immutable tree; statements are ``psycopg.sql`` compositions, safe to share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from psycopg import sql

from connectors.jdbc.cdc.documents import paths
from connectors.jdbc.cdc.documents.catalog import Link, Table, TreeNode

#: json_build_object takes at most 100 arguments: wider nodes are built as jsonb chunks joined with ||.
_PAIRS_PER_OBJECT = 50


def _id(alias: str, column: str) -> sql.Composable:
    return sql.Identifier(alias, column)


def _table(table: Table) -> sql.Composable:
    return sql.Identifier(table.schema, table.name)


def _keys(table: Table, alias: str) -> sql.Composable:
    return sql.SQL(", ").join(_id(alias, c) for c in table.primary_key)


class _Aliases:
    def __init__(self) -> None:
        self._n = count()

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self._n)}"


def _column(alias: str, column: str) -> sql.Composable:
    """A column's value: the column, or its JSON path applied step by step (``paths``; null where missing)."""
    path = paths.parse(column)
    if path is None:
        return _id(alias, column)
    value = _id(alias, path.column)
    for operator, step in path.steps:
        if operator == "#>":
            value = sql.SQL("({} #> {}::text[])").format(value, sql.Literal(step))
        elif isinstance(step, int):
            value = sql.SQL("({} -> {})").format(value, sql.Literal(step))
        else:
            value = sql.SQL("({} -> {}::text)").format(value, sql.Literal(step))
    return value


def _object(tree_node: TreeNode, alias: str, aliases: _Aliases) -> sql.Composable:
    pairs: list[sql.Composable] = [
        sql.SQL("{}, {}").format(sql.Literal(paths.output_name(column)), _column(alias, column))
        for column in tree_node.columns
    ]
    pairs += [
        sql.SQL("{}, {}").format(sql.Literal(child.node.label), _child(child, alias, aliases))
        for child in tree_node.children
    ]
    if len(pairs) <= _PAIRS_PER_OBJECT:
        return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs))
    chunks = [pairs[i : i + _PAIRS_PER_OBJECT] for i in range(0, len(pairs), _PAIRS_PER_OBJECT)]
    joined = sql.SQL(" || ").join(sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(c)) for c in chunks)
    return sql.SQL("({})::json").format(joined)


def _join_condition(pairs: Sequence[tuple[str, str]], left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{} = {}").format(_id(left, a), _id(right, b)) for a, b in pairs)


def _child_rows(child: TreeNode, parent_alias: str, alias: str, aliases: _Aliases) -> sql.Composable:
    """``FROM child [JOIN through] WHERE <joined to the parent's row>``."""
    link = child.link
    assert link is not None
    if link.through is None:
        return sql.SQL("FROM {} {} WHERE {}").format(
            _table(child.table), sql.Identifier(alias), _join_condition(link.pairs, parent_alias, alias)
        )
    through = aliases.next("t")
    return sql.SQL("FROM {} {} JOIN {} {} ON {} WHERE {}").format(
        _table(child.table),
        sql.Identifier(alias),
        _table(link.through),
        sql.Identifier(through),
        _join_condition(link.through_pairs, through, alias),
        _join_condition(link.pairs, parent_alias, through),
    )


def _child(child: TreeNode, parent_alias: str, aliases: _Aliases) -> sql.Composable:
    relationship = child.node.relationship
    assert relationship is not None
    alias = aliases.next("c")
    rows = _child_rows(child, parent_alias, alias, aliases)
    order = _keys(child.table, alias)
    if relationship.variant == "scalar":
        value: sql.Composable = sql.SQL("to_json({})").format(_column(alias, child.columns[0]))
    else:
        value = _object(child, alias, aliases)
    if relationship.type == "one_to_many":
        return sql.SQL("(SELECT json_agg({} ORDER BY {}) {})").format(value, order, rows)
    return sql.SQL("(SELECT {} {} ORDER BY {} LIMIT 1)").format(value, rows, order)


def _key_set(table: Table, columns: Sequence[str]) -> sql.Composable:
    """``unnest(%s::type[], ...)``: one array parameter per column."""
    return sql.SQL("unnest({})").format(
        sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(table.types[c])) for c in columns)
    )


def documents_by_key(root: TreeNode) -> sql.Composed:
    """Key columns and document of each root whose key is in the arrays given (one per key column, in order)."""
    table = root.table
    aliases = _Aliases()
    return sql.SQL("SELECT {keys}, {doc} FROM {table} r WHERE ({keys}) IN (SELECT * FROM {wanted})").format(
        keys=_keys(table, "r"),
        doc=_object(root, "r", aliases),
        table=_table(table),
        wanted=_key_set(table, table.primary_key),
    )


def documents_all(root: TreeNode) -> sql.Composed:
    """Key columns and document of every root (the benchmark's physical reference reads this through COPY)."""
    table = root.table
    return sql.SQL("SELECT {keys}, {doc} FROM {table} r").format(
        keys=_keys(table, "r"), doc=_object(root, "r", _Aliases()), table=_table(table)
    )


def documents_page(root: TreeNode, after: bool) -> sql.Composed:
    """Key columns and documents of the next roots in key order: ``%s`` is the page size, preceded (``after``) by
    one text parameter per key column holding the last key of the previous page."""
    table = root.table
    aliases = _Aliases()
    where: sql.Composable = sql.SQL("")
    if after:
        last = sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(table.types[c])) for c in table.primary_key)
        where = sql.SQL("WHERE ({}) > ({})").format(_keys(table, "r"), last)
    return sql.SQL("SELECT {keys}, {doc} FROM {table} r {where} ORDER BY {keys} LIMIT %s").format(
        keys=_keys(table, "r"), doc=_object(root, "r", aliases), table=_table(table), where=where
    )


@dataclass(frozen=True)
class Occurrence:
    """Where a table appears in the tree: as ``node`` itself, or as its through table (``through``); ``columns``
    are the changed row's columns that lead to the root, ``query`` maps arrays of them to root keys (None for the
    root itself, whose rows are their own keys)."""

    node: TreeNode
    through: bool
    columns: tuple[str, ...]
    query: sql.Composed | None


def _upward(chain: list[TreeNode], start: int, start_alias: str, aliases: _Aliases) -> tuple[sql.Composable, str]:
    """JOINs from ``chain[start]`` (under ``start_alias``) up to the root: (the joins, the root's alias)."""
    joins: list[sql.Composable] = []
    alias = start_alias
    for position in range(start, 0, -1):
        link: Link | None = chain[position].link
        assert link is not None
        parent = chain[position - 1]
        parent_alias = aliases.next("p")
        if link.through is None:
            on = _join_condition(link.pairs, parent_alias, alias)
        else:
            through = aliases.next("t")
            joins.append(
                sql.SQL("JOIN {} {} ON {}").format(
                    _table(link.through), sql.Identifier(through), _join_condition(link.through_pairs, through, alias)
                )
            )
            on = _join_condition(link.pairs, parent_alias, through)
        joins.append(sql.SQL("JOIN {} {} ON {}").format(_table(parent.table), sql.Identifier(parent_alias), on))
        alias = parent_alias
    return sql.SQL(" ").join(joins), alias


def occurrences(root: TreeNode) -> dict[tuple[str, str], list[Occurrence]]:
    """For each table of the tree, (schema, table) -> every place it appears."""
    found: dict[tuple[str, str], list[Occurrence]] = {}
    for tree_node in root.walk():
        chain = tree_node.ancestry(root)
        table = tree_node.table
        key = (table.schema, table.name)
        link = tree_node.link
        if link is None:
            found.setdefault(key, []).append(Occurrence(tree_node, False, table.primary_key, None))
            continue
        pairs = link.pairs if link.through is None else link.through_pairs
        columns = tuple(child for _, child in pairs)
        joins, top = _upward(chain, len(chain) - 1, "x", _Aliases())
        source = sql.SQL("{} AS x({})").format(
            _key_set(table, columns), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        found.setdefault(key, []).append(Occurrence(tree_node, False, columns, _roots(root, source, joins, top)))
        if link.through is not None:
            through = link.through
            columns = tuple(through_column for _, through_column in link.pairs)
            parent_alias = "p"
            source = sql.SQL("{} AS x({}) JOIN {} {} ON {}").format(
                _key_set(through, columns),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                _table(chain[-2].table),
                sql.Identifier(parent_alias),
                _join_condition(link.pairs, parent_alias, "x"),
            )
            joins, top = _upward(chain, len(chain) - 2, parent_alias, _Aliases())
            query = _roots(root, source, joins, top)
            found.setdefault((through.schema, through.name), []).append(Occurrence(tree_node, True, columns, query))
    return found


def _roots(root: TreeNode, source: sql.Composable, joins: sql.Composable, top: str) -> sql.Composed:
    return sql.SQL("SELECT DISTINCT {} FROM {} {}").format(_keys(root.table, top), source, joins)
