"""The document schema: a root table and the children joined to it, read from PGSync's ``schema.json`` format.

One entry of a PGSync ``schema.json`` list is one document (``database``, ``index``, ``nodes``, and for the search
index ``mapping``, ``mappings``, ``setting`` and ``pipeline``). A node names a ``table`` (in
``schema``, default ``public``), the ``columns`` to take (none or empty: all), a ``label`` (default: the table
name), a ``primary_key`` (default: the table's), a ``transform`` (``replace``, ``rename``, ``concat``, ``mapping``;
``move`` is accepted and has no effect, as in PGSync) and ``children``; a column may be a JSON path (``doc->a->0``,
``doc#>{a,b}``: ``paths``); every node below the root has a ``relationship``: ``variant`` ``object`` or ``scalar``,
``type`` ``one_to_one`` or ``one_to_many``, at most one ``through_tables`` entry, and an optional ``foreign_key``
(``parent`` columns of the parent's table equal to ``child`` columns of the child's, pairwise; otherwise inferred
from the database's foreign keys).

``load_document`` only checks the file's shape and collects every problem at once (``SchemaError``); whether the
tables, columns and keys exist is the catalog's check (``catalog``). Options PGSync has that Hub does not implement
are refused by name, with what to do instead. Immutable once loaded; safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.jdbc.cdc.documents import paths

VARIANTS = ("object", "scalar")
TYPES = ("one_to_one", "one_to_many")

#: PGSync options Hub refuses, with why or what to use instead.
UNSUPPORTED_DOCUMENT = {
    "plugins": "Python plugins (PGSync's plugin classes) do not run in Hub; port them to a transform on the "
    "connector (transforms=...) and remove plugins",
    "partition": "partitioned tables are not supported",
    "routing": "a routed document is deleted with its routing value, which a root's delete does not carry (and a "
    "document whose routing value changes would stay on its old shard); Hub routes documents by id: remove routing",
}
UNSUPPORTED_NODE = {
    "base_tables": "views over base tables are not supported; name the table itself",
}
UNSUPPORTED_TRANSFORM: dict[str, str] = {}
_DOCUMENT_KEYS = {"database", "index", "nodes", "mapping", "mappings", "setting", "pipeline"}
_NODE_KEYS = {"table", "schema", "columns", "label", "primary_key", "transform", "children", "relationship"}
_RELATIONSHIP_KEYS = {"variant", "type", "through_tables", "foreign_key"}
_TRANSFORM_KEYS = {"replace", "rename", "concat", "mapping", "move"}


class SchemaError(ValueError):
    """A document schema that cannot be used; ``problems`` lists every problem, each naming where it is."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Concat:
    """``destination`` = the values of ``columns`` (output names; as PGSync: a name not in the node stands for
    itself, and empty values — null, "", 0, false — are left out) joined by ``delimiter``."""

    columns: tuple[str, ...]
    destination: str
    delimiter: str


@dataclass(frozen=True)
class Relationship:
    variant: str
    type: str
    through: str | None
    parent_columns: tuple[str, ...] = ()  # from foreign_key.parent; empty: inferred
    child_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    """One table of the tree; ``path`` (labels from the root, the root's empty) names it in messages."""

    schema: str
    table: str
    columns: tuple[str, ...]  # empty: every column
    label: str
    path: str
    primary_key: tuple[str, ...] = ()  # empty: the table's
    relationship: Relationship | None = None
    replace: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # output name -> {search: replacement}
    rename: Mapping[str, str] = field(default_factory=dict)
    concat: tuple[Concat, ...] = ()
    mapping: Mapping[str, Any] = field(default_factory=dict)
    move: bool = False  # accepted as PGSync accepts it, with no effect
    children: tuple[Node, ...] = ()

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, parents first."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class DocumentSchema:
    database: str | None
    index: str
    root: Node
    mapping: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] | None = None
    setting: Mapping[str, Any] | None = None
    pipeline: str | None = None
    ignored: tuple[str, ...] = ()  # what PGSync accepts and ignores (``move``), to be logged


def load_document(entry: Any, position: int = 0) -> DocumentSchema:
    """One document of a PGSync schema.json list; raises SchemaError with every problem found."""
    problems: list[str] = []
    where = f"document {position}"
    if not isinstance(entry, dict):
        raise SchemaError([f"{where}: expected an object with database, index and nodes"])
    _refuse(entry, UNSUPPORTED_DOCUMENT, _DOCUMENT_KEYS, where, problems)
    database = entry.get("database")
    if database is not None and not isinstance(database, str):
        problems.append(f"{where}: database must be a string")
    index = entry.get("index", database)
    if not isinstance(index, str) or not index:
        problems.append(f"{where}: index (or database) must name the index")
    nodes = entry.get("nodes")
    root = _node(nodes, None, f"{where}: nodes", "", problems) if isinstance(nodes, dict) else None
    if root is None and not isinstance(nodes, dict):
        problems.append(f"{where}: nodes must be an object naming the root table")
    mapping = entry.get("mapping", {})
    if not isinstance(mapping, dict):
        problems.append(f"{where}: mapping must be an object")
    index_options: dict[str, Any] = {}
    for key, kind in (("mappings", dict), ("setting", dict), ("pipeline", str)):
        value = entry.get(key)
        if value is not None and (not isinstance(value, kind) or not value):
            problems.append(f"{where}: {key} must be {'an object' if kind is dict else 'a name'}")
        index_options[key] = value
    if problems or root is None:
        raise SchemaError(problems)
    ignored = tuple(
        f"{where}: node {node.path or node.table!r}: transform.move is ignored (PGSync does not apply it either)"
        for node in root.walk()
        if node.move
    )
    return DocumentSchema(database, str(index), root, mapping, **index_options, ignored=ignored)


def load_documents(entries: Any) -> list[DocumentSchema]:
    """Every document of a schema.json file's content (a list, or one object); SchemaError lists all problems."""
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise SchemaError(["schema: expected a list of documents (objects with database, index and nodes)"])
    documents: list[DocumentSchema] = []
    problems: list[str] = []
    for position, entry in enumerate(entries):
        try:
            documents.append(load_document(entry, position))
        except SchemaError as exc:
            problems += exc.problems
    if problems:
        raise SchemaError(problems)
    return documents


def _refuse(raw: dict[str, Any], unsupported: Mapping[str, str], known: set[str], where: str, out: list[str]) -> None:
    for key in raw:
        if key in unsupported:
            out.append(f"{where}: {key} is not supported: {unsupported[key]}")
        elif key not in known:
            out.append(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")


def _names(value: Any, what: str, out: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        out.append(f"{what} must be a list of names")
        return ()
    return tuple(value)


def _node(raw: dict[str, Any], parent: Node | None, where: str, path: str, out: list[str]) -> Node | None:
    _refuse(raw, UNSUPPORTED_NODE, _NODE_KEYS, where, out)
    table = raw.get("table")
    if not isinstance(table, str) or not table:
        out.append(f"{where}: table is required")
        return None
    schema = raw.get("schema", "public")
    if not isinstance(schema, str) or not schema:
        out.append(f"{where}: schema must be a name")
        schema = "public"
    label = raw.get("label", table)
    if not isinstance(label, str) or not label:
        out.append(f"{where}: label must be a name")
        label = table
    here = f"{path}.{label}" if path else label if parent is not None else ""
    where = f"{where.split(':')[0]}: node {here or table!r}"
    columns = _names(raw.get("columns"), f"{where}: columns", out)
    for column in columns:
        out.extend(f"{where}: {problem}" for problem in paths.problems(column))
    primary_key = _names(raw.get("primary_key"), f"{where}: primary_key", out)
    relationship = _relationship(raw.get("relationship"), parent, where, out)
    transform = _transform(raw.get("transform"), where, out)
    if relationship is not None and relationship.variant == "scalar" and len(columns) != 1:
        out.append(f"{where}: a scalar variant takes exactly one column (columns has {len(columns)})")
    node = Node(schema, table, columns, label, here, primary_key, relationship, *transform)
    raw_children = raw.get("children", [])
    if not isinstance(raw_children, list):
        out.append(f"{where}: children must be a list of nodes")
        raw_children = []
    children: list[Node] = []
    labels: set[str] = set()
    for position, child_raw in enumerate(raw_children):
        if not isinstance(child_raw, dict):
            out.append(f"{where}: child {position} must be an object")
            continue
        child = _node(child_raw, node, where, here, out)
        if child is None:
            continue
        if child.label in labels:
            out.append(f"{where}: two children with the label {child.label!r}; give one a label of its own")
        labels.add(child.label)
        children.append(child)
    return Node(schema, table, columns, label, here, primary_key, relationship, *transform, tuple(children))


def _relationship(raw: Any, parent: Node | None, where: str, out: list[str]) -> Relationship | None:
    if parent is None:
        if raw is not None:
            out.append(f"{where}: the root node has no relationship")
        return None
    if not isinstance(raw, dict):
        out.append(f"{where}: relationship (variant, type) is required below the root")
        return None
    _refuse(raw, {}, _RELATIONSHIP_KEYS, f"{where}: relationship", out)
    variant, kind = raw.get("variant"), raw.get("type")
    if variant not in VARIANTS:
        out.append(f"{where}: relationship.variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    if kind not in TYPES:
        out.append(f"{where}: relationship.type must be one of {', '.join(TYPES)}, not {kind!r}")
    through = _names(raw.get("through_tables"), f"{where}: relationship.through_tables", out)
    if len(through) > 1:
        out.append(f"{where}: relationship.through_tables: more than one through table is not supported")
    foreign_key = raw.get("foreign_key")
    parent_columns: tuple[str, ...] = ()
    child_columns: tuple[str, ...] = ()
    if foreign_key is not None:
        if through:
            out.append(f"{where}: relationship.foreign_key with through_tables is not supported (it is inferred)")
        if not isinstance(foreign_key, dict) or set(foreign_key) - {"parent", "child"}:
            out.append(f"{where}: relationship.foreign_key must be an object with parent and child column lists")
        else:
            parent_columns = _names(foreign_key.get("parent"), f"{where}: relationship.foreign_key.parent", out)
            child_columns = _names(foreign_key.get("child"), f"{where}: relationship.foreign_key.child", out)
            if not parent_columns or len(parent_columns) != len(child_columns):
                out.append(
                    f"{where}: relationship.foreign_key: parent and child must list as many columns, at least one"
                )
    return Relationship(str(variant), str(kind), through[0] if through else None, parent_columns, child_columns)


Transform = tuple[dict[str, dict[str, str]], dict[str, str], tuple[Concat, ...], dict[str, Any], bool]


def _transform(raw: Any, where: str, out: list[str]) -> Transform:
    """(replace, rename, concat, mapping, move given) of a node's ``transform``."""
    if raw is None:
        return {}, {}, (), {}, False
    if not isinstance(raw, dict):
        out.append(f"{where}: transform must be an object")
        return {}, {}, (), {}, False
    _refuse(raw, UNSUPPORTED_TRANSFORM, _TRANSFORM_KEYS, f"{where}: transform", out)
    replace = raw.get("replace", {})
    if not isinstance(replace, dict) or not all(
        isinstance(rules, dict) and all(isinstance(k, str) and k and isinstance(v, str) for k, v in rules.items())
        for rules in replace.values()
    ):
        out.append(
            f"{where}: transform.replace must map column names to {{search: replacement}} strings "
            "(nested rules are not supported)"
        )
        replace = {}
    rename = raw.get("rename", {})
    if not isinstance(rename, dict) or not all(isinstance(v, str) and v for v in rename.values()):
        out.append(f"{where}: transform.rename must map column names to new names")
        rename = {}
    concats: list[Concat] = []
    raw_concat = raw.get("concat", [])
    for item in raw_concat if isinstance(raw_concat, list) else [raw_concat]:
        if not isinstance(item, dict) or not isinstance(item.get("destination"), str):
            out.append(f"{where}: transform.concat entries need columns and a destination")
            continue
        columns = _names(item.get("columns"), f"{where}: transform.concat.columns", out)
        delimiter = item.get("delimiter", "")
        concats.append(Concat(columns, item["destination"], delimiter if isinstance(delimiter, str) else ""))
    mapping = raw.get("mapping", {})
    if not isinstance(mapping, dict):
        out.append(f"{where}: transform.mapping must be an object of field mappings")
        mapping = {}
    move = raw.get("move")
    if move is not None and not (
        isinstance(move, dict) and isinstance(move.get("column"), str) and isinstance(move.get("destination"), str)
    ):
        out.append(f"{where}: transform.move must be an object with column and destination")
    return replace, rename, tuple(concats), mapping, move is not None
