"""A document schema checked against the database and resolved into a ``Tree``: each node's columns, primary key,
column types and how it joins its parent (direct column pairs, or through a join table).

Every problem is collected before anything runs (``SchemaError``, each message naming the node and the table or
column): a missing table or column, a JSON path on a column that is not json or jsonb, a table without a primary key
(and no ``primary_key`` given), a ``foreign_key`` naming columns that do not exist, or no foreign key (or more than
one) to infer a join from.

Joins without ``foreign_key`` are inferred as PGSync does, from the foreign-key constraints between the two tables
(either direction), or between the through table and each side. Immutable once resolved; safe to share.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from connectors.jdbc.cdc.documents import paths
from connectors.jdbc.cdc.documents.schema import DocumentSchema, Node, SchemaError

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    types: dict[str, str]  # column -> SQL type (format_type), in table order
    primary_key: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Link:
    """How a node joins its parent: ``pairs`` (parent column, child column) when direct; with a through table,
    ``pairs`` are (parent column, through column) and ``through_pairs`` (through column, child column)."""

    pairs: Pairs
    through: Table | None = None
    through_pairs: Pairs = ()


@dataclass(frozen=True)
class TreeNode:
    node: Node
    table: Table
    columns: tuple[str, ...]  # the columns the document takes, in order (plain names or JSON paths: ``paths``)
    link: Link | None  # None for the root
    children: tuple[TreeNode, ...]

    def walk(self) -> Iterator[TreeNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    def ancestry(self, root: TreeNode) -> list[TreeNode]:
        """The nodes from the root down to this one (root first), found by identity."""
        if root is self:
            return [root]
        for child in root.children:
            found = self.ancestry(child)
            if found:
                return [root, *found]
        return []


@dataclass(frozen=True)
class Tree:
    document: DocumentSchema
    root: TreeNode

    def tables(self) -> list[Table]:
        """Every table whose changes can change a document (nodes and through tables), each once."""
        seen: dict[str, Table] = {}
        for tree_node in self.root.walk():
            seen.setdefault(tree_node.table.qualified, tree_node.table)
            if tree_node.link is not None and tree_node.link.through is not None:
                seen.setdefault(tree_node.link.through.qualified, tree_node.link.through)
        return list(seen.values())


class _Catalog:
    """Looks tables and foreign keys up once each."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self._tables: dict[tuple[str, str], Table | None] = {}

    def table(self, schema: str, name: str) -> Table | None:
        key = (schema, name)
        if key not in self._tables:
            self._tables[key] = self._load(schema, name)
        return self._tables[key]

    def _load(self, schema: str, name: str) -> Table | None:
        rows = self.connection.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), c.oid FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum",
            (schema, name),
        ).fetchall()
        if not rows:
            return None
        key = self.connection.execute(
            "SELECT a.attname FROM pg_index i JOIN unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.n",
            (rows[0][2],),
        ).fetchall()
        return Table(schema, name, {row[0]: row[1] for row in rows}, tuple(row[0] for row in key))

    def foreign_keys(self, child: Table, parent: Table) -> list[Pairs]:
        """Constraints of ``child`` referencing ``parent``, each as (parent column, child column) pairs."""
        rows = self.connection.execute(
            "SELECT (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n) "
            "        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum), "
            "       (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n) "
            "        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) "
            "FROM pg_constraint c WHERE c.contype = 'f' "
            "AND c.conrelid = format('%%I.%%I', %s::text, %s::text)::regclass "
            "AND c.confrelid = format('%%I.%%I', %s::text, %s::text)::regclass ORDER BY c.conname",
            (child.schema, child.name, parent.schema, parent.name),
        ).fetchall()
        return [tuple(zip(referenced, referencing, strict=True)) for referencing, referenced in rows]


def resolve(document: DocumentSchema, connection: psycopg.Connection[Any]) -> Tree:
    """The document's tree checked against the database behind ``connection``; SchemaError lists every problem."""
    catalog = _Catalog(connection)
    problems: list[str] = []
    root = _resolve(document.root, None, catalog, problems)
    if problems or root is None:
        raise SchemaError(problems or ["the root table cannot be resolved"])
    return Tree(document, root)


def _where(node: Node) -> str:
    return f"node {node.path or node.table!r} ({node.qualified})"


def _resolve(node: Node, parent: Table | None, catalog: _Catalog, out: list[str]) -> TreeNode | None:
    table = catalog.table(node.schema, node.table)
    if table is None:
        out.append(f"{_where(node)}: table {node.qualified} does not exist")
        return None
    for column in node.columns:
        source = paths.source_column(column)
        if source not in table.types:
            out.append(f"{_where(node)}: column {source!r} does not exist in {table.qualified}")
        elif source != column and table.types[source] not in ("json", "jsonb"):
            out.append(
                f"{_where(node)}: column {column!r}: a JSON path needs a json or jsonb column, "
                f"{source} is {table.types[source]}"
            )
    if node.primary_key:
        missing = [c for c in node.primary_key if c not in table.types]
        if missing:
            out.append(f"{_where(node)}: primary_key column(s) {', '.join(missing)} not in {table.qualified}")
        table = Table(table.schema, table.name, table.types, node.primary_key)
    elif not table.primary_key:
        out.append(f"{_where(node)}: {table.qualified} has no primary key; name its key columns in primary_key")
    link = _link(node, parent, table, catalog, out) if parent is not None else None
    children = [_resolve(child, table, catalog, out) for child in node.children]
    columns = node.columns or tuple(table.types)
    return TreeNode(node, table, columns, link, tuple(c for c in children if c is not None))


def _link(node: Node, parent: Table, table: Table, catalog: _Catalog, out: list[str]) -> Link | None:
    relationship = node.relationship
    assert relationship is not None
    where = _where(node)
    if relationship.through is not None:
        through = catalog.table(node.schema, relationship.through)
        if through is None:
            out.append(f"{where}: through table {node.schema}.{relationship.through} does not exist")
            return None
        to_parent = _inferred(through, parent, catalog, f"{where}: through table {through.qualified}", out)
        to_child = _inferred(through, table, catalog, f"{where}: through table {through.qualified}", out)
        if to_parent is None or to_child is None:
            return None
        return Link(to_parent, through, tuple((t, c) for c, t in to_child))
    if relationship.parent_columns:
        bad = [c for c in relationship.parent_columns if c not in parent.types]
        bad += [c for c in relationship.child_columns if c not in table.types]
        if bad:
            out.append(
                f"{where}: foreign_key names column(s) that do not exist: "
                + ", ".join(
                    f"{c} (in {parent.qualified})"
                    if c in relationship.parent_columns
                    else f"{c} (in {table.qualified})"
                    for c in bad
                )
            )
            return None
        return Link(tuple(zip(relationship.parent_columns, relationship.child_columns, strict=True)))
    pairs = _inferred(table, parent, catalog, where, out)
    return None if pairs is None else Link(pairs)


def _inferred(table: Table, other: Table, catalog: _Catalog, where: str, out: list[str]) -> Pairs | None:
    """Pairs (other's column, table's column) from the one foreign key between the two tables, either way."""
    found = list(catalog.foreign_keys(table, other))
    found += [tuple((o, t) for t, o in pairs) for pairs in catalog.foreign_keys(other, table)]
    if len(found) == 1:
        return found[0]
    if not found:
        out.append(
            f"{where}: no foreign key between {table.qualified} and {other.qualified}; "
            "add one or give relationship.foreign_key"
        )
    else:
        out.append(
            f"{where}: {len(found)} foreign keys between {table.qualified} and {other.qualified}; "
            "name the columns in relationship.foreign_key"
        )
    return None
