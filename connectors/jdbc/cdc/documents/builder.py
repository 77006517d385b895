"""Documents of a tree from PostgreSQL: by root key, page by page for the initial sync, and the root keys a batch of
changed rows touches. The node transforms are applied to what the query returns, in PGSync's order: ``replace``
(keyed by the columns' names), ``rename``, then ``concat`` (on the new names); ``transform.mapping`` is for the
index, which `hub sync` creates.

A document's id is its root's primary-key values as text joined by ``|`` (PGSync's ids), so PGSync users' ids
carry over. A key looked up and not found means the root is gone: its document is deleted.

The documents' JSON is parsed with msgspec (about twice as fast as the standard library's parser, and exact like it:
large integers stay integers), falling back to the standard parser for what msgspec refuses.

Not thread-safe: one builder per task, over the task's connection (autocommit: each statement reads the latest
committed state, which is what makes a rebuild newer than the change that caused it). ``page`` may run on another
thread with a connection of its own (``connection=``): it only reads the builder's immutable statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from connectors.jdbc.cdc.documents import paths
from connectors.jdbc.cdc.documents.catalog import Tree, TreeNode
from connectors.jdbc.cdc.documents.queries import Occurrence, documents_by_key, documents_page, occurrences

Key = tuple[Any, ...]


_decode = msgspec.json.Decoder().decode


def loads(data: str | bytes) -> Any:
    """JSON as the standard parser reads it, faster."""
    try:
        return _decode(data)
    except msgspec.DecodeError:  # numbers msgspec cannot hold (1e400): the standard parser's float
        return json.loads(data)


def use_fast_json(connection: psycopg.Connection[Any]) -> None:
    """json and jsonb values read over ``connection`` are parsed by ``loads``."""
    set_json_loads(loads, connection)


def document_id(key: Key) -> str:
    return "|".join(str(value) for value in key)


def replaced(value: Any, rules: Mapping[str, str]) -> Any:
    """A string with every search string replaced in turn (a list: each string in it); other values as they are."""
    if isinstance(value, str):
        for search, replacement in rules.items():
            value = value.replace(search, replacement)
        return value
    if isinstance(value, list):
        return [replaced(item, rules) if isinstance(item, str) else item for item in value]
    return value


def shape(tree_node: TreeNode, raw: Any) -> Any:
    """A node's value with its transforms applied (children's labels stay as they are).

    A scalar child's ``replace`` applies to its values (PGSync 7.3 empties such a list instead: its replace
    looks for objects there)."""
    if raw is None:
        return None
    node = tree_node.node
    relationship = node.relationship
    if relationship is not None and relationship.variant == "scalar":
        rules = node.replace.get(paths.output_name(tree_node.columns[0]))
        return raw if rules is None else replaced(raw, rules)
    if isinstance(raw, list):
        return [shape(tree_node, item) for item in raw]
    out: dict[str, Any] = {}
    for name, value in raw.items():
        rules = node.replace.get(name)
        out[node.rename.get(name, name)] = value if rules is None else replaced(value, rules)
    for child in tree_node.children:
        out[child.node.label] = shape(child, raw.get(child.node.label))
    for concat in node.concat:
        values = [out.get(column, column) for column in concat.columns]
        out[concat.destination] = concat.delimiter.join(str(value) for value in values if value)
    return out


class DocumentBuilder:
    """Builds documents and maps changes to roots for one tree."""

    def __init__(self, tree: Tree, connection: psycopg.Connection[Any]) -> None:
        self.tree = tree
        self.root = tree.root
        self.connection = connection
        use_fast_json(connection)
        self._width = len(self.root.table.primary_key)
        self._by_key = documents_by_key(self.root)
        self._page_first = documents_page(self.root, after=False)
        self._page_after = documents_page(self.root, after=True)
        self.occurrences: dict[tuple[str, str], list[Occurrence]] = occurrences(self.root)
        # Without transforms PostgreSQL's document is already the document: no copy of every object in Python.
        self._transforms = any(n.node.rename or n.node.replace or n.node.concat for n in self.root.walk())

    def _split(self, row: Sequence[Any]) -> tuple[Key, dict[str, Any]]:
        document = row[self._width]
        return tuple(row[: self._width]), shape(self.root, document) if self._transforms else document

    def documents(self, keys: Iterable[Key]) -> dict[Key, dict[str, Any] | None]:
        """The current document of each root key; None for a root that no longer exists."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        columns = [list(column) for column in zip(*wanted, strict=True)]
        found: dict[Key, dict[str, Any] | None] = dict.fromkeys(wanted)
        for row in self.connection.execute(self._by_key, columns).fetchall():
            key, document = self._split(row)
            found[key] = document
        return found

    def page(
        self, after: Sequence[str] | None, size: int, connection: psycopg.Connection[Any] | None = None
    ) -> list[tuple[Key, dict[str, Any]]]:
        """The next ``size`` roots in key order after ``after`` (key values as text; None: from the start), read over
        ``connection`` (default: the builder's; another one must have ``use_fast_json`` applied for speed)."""
        connection = connection or self.connection
        if after is None:
            rows = connection.execute(self._page_first, (size,)).fetchall()
        else:
            rows = connection.execute(self._page_after, (*after, size)).fetchall()
        return [self._split(row) for row in rows]

    def tracks(self, schema: str, table: str) -> bool:
        return (schema, table) in self.occurrences

    def roots(self, schema: str, table: str, rows: Sequence[Mapping[str, Any]]) -> set[Key]:
        """Root keys whose documents rows of ``schema.table`` (before and after images alike) belong to now."""
        found: set[Key] = set()
        for occurrence in self.occurrences.get((schema, table), []):
            values = [tuple(row.get(c) for c in occurrence.columns) for row in rows]
            values = [v for v in dict.fromkeys(values) if all(part is not None for part in v)]
            if not values:
                continue
            if occurrence.query is None:
                found.update(values)
                continue
            columns = [list(column) for column in zip(*values, strict=True)]
            found.update(tuple(row) for row in self.connection.execute(occurrence.query, columns).fetchall())
        return found

    def count(self) -> int:
        """Roots in the root table (for progress)."""
        table = self.root.table
        row = self.connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.schema, table.name))
        ).fetchone()
        return int(row[0]) if row else 0
