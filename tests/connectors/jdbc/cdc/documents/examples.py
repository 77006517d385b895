"""PGSync's example schemas (their schema.json beside this file, as PGSync ships them) with tables written for
them here, generated data, random concurrent changes, and an oracle: each document assembled in Python from the
tables' rows, independently of the SQL Hub builds documents with.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Json

from connectors.jdbc.cdc.documents import paths
from connectors.jdbc.cdc.documents.builder import document_id
from connectors.jdbc.cdc.documents.catalog import Tree, TreeNode

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "text", "int", "bool", "date", "json", "isbn" (unique text), "code" (text with "-" in it)
    references: str | None = None  # table.column


@dataclass(frozen=True)
class Example:
    name: str
    tables: dict[str, list[Column]]  # in creation order; every table has "id serial PRIMARY KEY" first
    file: str = ""  # the schema's file name without .json (default: name)

    def schema(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads((HERE / f"{self.file or self.name}.json").read_text())
        return loaded

    def ddl(self) -> list[str]:
        statements = []
        for table, columns in self.tables.items():
            parts = ['"id" serial PRIMARY KEY']
            for column in columns:
                kind = {
                    "text": "text",
                    "int": "integer",
                    "bool": "boolean",
                    "date": "date",
                    "json": "json",
                    "isbn": "text UNIQUE NOT NULL",
                    "code": "text",
                }[column.kind]
                part = f'"{column.name}" {kind}'
                if column.references:
                    target, target_column = column.references.split(".")
                    part += f' REFERENCES "{target}"("{target_column}") ON DELETE CASCADE'
                parts.append(part)
            statements.append(f'CREATE TABLE "{table}" ({", ".join(parts)})')
        return statements


def _c(name: str, kind: str = "text", references: str | None = None) -> Column:
    return Column(name, kind, references)


EXAMPLES = {
    "social": Example(
        "social",
        {
            "user": [_c("name"), _c("age", "int"), _c("gender")],
            "post": [_c("title"), _c("slug")],
            "comment": [_c("title"), _c("content")],
            "tag": [_c("name")],
            "user_post": [_c("user_id", "int", "user.id"), _c("post_id", "int", "post.id")],
            "post_comment": [_c("post_id", "int", "post.id"), _c("comment_id", "int", "comment.id")],
            "user_tag": [_c("user_id", "int", "user.id"), _c("tag_id", "int", "tag.id")],
        },
    ),
    "through": Example(
        "through",
        {
            "customer": [_c("name")],
            "group": [_c("group_name")],
            "customer_group": [_c("customer_id", "int", "customer.id"), _c("group_id", "int", "group.id")],
        },
    ),
    "quiz": Example(
        "quiz",
        {
            "question": [_c("text")],
            "answer": [_c("text")],
            "possible_answer": [_c("question_id", "int", "question.id"), _c("answer_id", "int", "answer.id")],
            "real_answer": [_c("question_id", "int", "question.id"), _c("answer_id", "int", "answer.id")],
        },
    ),
    "airbnb": Example(
        "airbnb",
        {
            "user": [_c("email"), _c("name")],
            "host": [_c("email")],
            "country": [_c("name"), _c("country_code")],
            "city": [_c("name"), _c("country_id", "int", "country.id")],
            "place": [_c("address"), _c("host_id", "int", "host.id"), _c("city_id", "int", "city.id")],
            "booking": [
                _c("user_id", "int", "user.id"),
                _c("place_id", "int", "place.id"),
                _c("start_date", "date"),
                _c("end_date", "date"),
                _c("price_per_night", "int"),
            ],
            "review": [_c("booking_id", "int", "booking.id"), _c("rating", "int"), _c("review_body")],
        },
    ),
    # PGSync's book example (schema_plain.json: its schema.json without plugins and the index-only keys); book
    # rows carry a json "doc" whose shape varies, so its JSON path columns meet present and missing paths alike
    "book": Example(
        "book",
        {
            "continent": [_c("name")],
            "country": [_c("name"), _c("continent_id", "int", "continent.id")],
            "city": [_c("name"), _c("country_id", "int", "country.id")],
            "publisher": [_c("name"), _c("is_active", "bool")],
            "author": [_c("name"), _c("date_of_birth", "date"), _c("city_id", "int", "city.id")],
            "subject": [_c("name")],
            "language": [_c("code", "code")],
            "book": [
                _c("isbn", "isbn"),
                _c("title"),
                _c("description"),
                _c("tags", "json"),
                _c("doc", "json"),
                _c("publish_date", "date"),
                _c("publisher_id", "int", "publisher.id"),
            ],
            "rating": [_c("book_isbn", "text", "book.isbn"), _c("value", "int")],
            "book_author": [_c("book_isbn", "text", "book.isbn"), _c("author_id", "int", "author.id")],
            "book_subject": [_c("book_isbn", "text", "book.isbn"), _c("subject_id", "int", "subject.id")],
            "book_language": [_c("book_isbn", "text", "book.isbn"), _c("language_id", "int", "language.id")],
        },
        file="book_plain",
    ),
}


def _json(rng: random.Random) -> Any:
    """A book's doc: keys and lengths vary, so doc->firstname, doc#>{a,b,c}->4, doc->x->0->y may be missing; each
    field keeps one JSON type, so a search index's dynamic mapping takes every document."""
    if rng.random() < 0.1:
        return None
    doc: dict[str, Any] = {}
    if rng.random() < 0.7:
        doc["firstname"] = rng.choice(["ann", "bob", "cy", None])
    if rng.random() < 0.5:
        doc["coordinates"] = {"lat": rng.randint(-90, 90), "lon": rng.randint(-180, 180)}
    if rng.random() < 0.6:
        doc["a"] = {"b": {"c": list(range(rng.randint(0, 7)))}} if rng.random() < 0.8 else {"b": {}}
    if rng.random() < 0.7:
        doc["x"] = rng.choice([[{"y": "u"}, {"z": 2}], [{"y": "v"}], [], [{"z": 3}, {"y": "w"}]])
    return doc


def _value(column: Column, rng: random.Random) -> Any:
    if column.kind == "int":
        return rng.randint(0, 1000)
    if column.kind == "bool":
        return rng.random() < 0.5
    if column.kind == "date":
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if column.kind == "json":
        return Json(_json(rng) if column.name == "doc" else rng.sample("abcdef", rng.randint(0, 3)))
    if column.kind == "isbn":  # "00" in most, for the book's replace rule
        return f"{rng.choice(('978', '900', '1'))}-{rng.randint(0, 10**12):012d}"
    if column.kind == "code":
        return f"{rng.choice(('en', 'fr', 'de'))}{rng.choice(('-', '_', ''))}{rng.choice(('GB', 'CA', 'CH'))}"
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))


class Mutator:
    """Random inserts, updates (re-parenting included) and deletes on an example's tables."""

    def __init__(self, example: Example, seed: int) -> None:
        self.example = example
        self.rng = random.Random(seed)

    def _any_id(self, connection: psycopg.Connection[Any], table: str, column: str = "id") -> Any:
        row = connection.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY random() LIMIT 1").format(sql.Identifier(column), sql.Identifier(table))
        ).fetchone()
        return None if row is None else row[0]

    def _row(self, connection: psycopg.Connection[Any], table: str) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for column in self.example.tables[table]:
            if column.references:
                target = self._any_id(connection, *column.references.split("."))
                if target is None:
                    return None
                values[column.name] = target
            else:
                values[column.name] = _value(column, self.rng)
        return values

    def insert(self, connection: psycopg.Connection[Any], table: str) -> None:
        values = self._row(connection, table)
        if values is None:
            return
        connection.execute(
            sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(table),
                sql.SQL(", ").join(sql.Identifier(c) for c in values),
                sql.SQL(", ").join(sql.Placeholder() * len(values)),
            ),
            list(values.values()),
        )

    def change(self, connection: psycopg.Connection[Any]) -> None:
        """One random change: insert (half), update (a third: a value or a parent), delete (the rest)."""
        rng = self.rng
        table = rng.choice(list(self.example.tables))
        roll = rng.random()
        if roll < 0.5:
            self.insert(connection, table)
            return
        target = self._any_id(connection, table)
        if target is None:
            return
        if roll < 0.83:
            column = rng.choice(self.example.tables[table])
            if column.references:
                value: Any = self._any_id(connection, *column.references.split("."))
            else:
                value = _value(column, rng)
            connection.execute(
                sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                    sql.Identifier(table), sql.Identifier(column.name)
                ),
                (value, target),
            )
        else:
            connection.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table)), (target,))


def populate(dsn: str, example: Example, rows: int, seed: int = 1) -> None:
    """The example's tables, created afresh, with about ``rows`` rows per table."""
    mutator = Mutator(example, seed)
    with psycopg.connect(dsn, autocommit=True) as connection:
        for table in reversed(list(example.tables)):
            connection.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
        for statement in example.ddl():
            connection.execute(statement)
        with connection.transaction():
            for table in example.tables:
                for _ in range(rows):
                    mutator.insert(connection, table)


def expected_documents(dsn: str, tree: Tree) -> dict[str, dict[str, Any]]:
    """Every root's document, assembled in Python from the rows of each table (the oracle)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(dsn) as connection:
        for table in tree.tables():
            cursor = connection.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table.schema, table.name)))
            names = [d.name for d in cursor.description or []]
            tables[table.qualified] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def key(tree_node: TreeNode) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        return lambda row: tuple(row[c] for c in tree_node.table.primary_key)

    def matches(row: dict[str, Any], other: dict[str, Any], pairs: Any, flip: bool = False) -> bool:
        return all((row[b] == other[a]) if not flip else (row[a] == other[b]) for a, b in pairs)

    def build(tree_node: TreeNode, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {paths.output_name(c): column_value(row, c) for c in tree_node.columns}
        for child in tree_node.children:
            link = child.link
            assert link is not None
            assert child.node.relationship is not None
            rows = tables[child.table.qualified]
            if link.through is None:
                found = [r for r in rows if all(r[c] == row[p] for p, c in link.pairs)]
            else:
                found = []
                for through in tables[link.through.qualified]:
                    if all(through[t] == row[p] for p, t in link.pairs):
                        found += [r for r in rows if all(r[c] == through[t] for t, c in link.through_pairs)]
            found.sort(key=key(child))
            scalar = child.node.relationship.variant == "scalar"
            values = [column_value(r, child.columns[0]) if scalar else build(child, r) for r in found]
            if child.node.relationship.type == "one_to_many":
                out[child.node.label] = values or None
            else:
                out[child.node.label] = values[0] if values else None
        return out

    documents = {}
    for row in tables[tree.root.table.qualified]:
        built = json.loads(json.dumps(build(tree.root, row), default=str))
        documents[document_id(key(tree.root)(row))] = transformed(tree.root, built)
    return documents


def column_value(row: dict[str, Any], column: str) -> Any:
    """A column's value, or its JSON path's as PostgreSQL's -> and #> give it (null where missing)."""
    path = paths.parse(column)
    if path is None:
        return row[column]
    value = row[path.column]
    for operator, step in path.steps:
        keys: list[str | int] = [step]
        if operator == "#>":
            assert isinstance(step, str)
            keys = [int(k) if k.lstrip("-").isdigit() else k for k in step[1:-1].split(",") if k]
        for key in keys:
            if isinstance(value, dict) and (isinstance(key, str) or operator == "#>"):
                value = value.get(str(key))
            elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
                value = value[key]
            else:
                value = None
    return value


def transformed(root: TreeNode, document: dict[str, Any]) -> dict[str, Any]:
    """PGSync's transforms over a whole document, one pass each in its order: replace, rename, concat. Unlike
    PGSync 7.3 (which empties the list), a scalar child's replace applies to its values."""

    def each(tree_node: TreeNode, value: Any, apply: Callable[[TreeNode, dict[str, Any]], dict[str, Any]]) -> Any:
        if isinstance(value, list) and not _scalar(tree_node):
            return [each(tree_node, item, apply) for item in value]
        if not isinstance(value, dict) or _scalar(tree_node):
            return value
        out = apply(tree_node, value)
        for child in tree_node.children:
            if not _scalar(child):  # a scalar child's values are the node's own (apply saw them)
                out[child.node.label] = each(child, value.get(child.node.label), apply)
        return out

    def replace_in(value: Any, rules: dict[str, str]) -> Any:
        if isinstance(value, list):
            return [replace_in(item, rules) if isinstance(item, str) else item for item in value]
        if isinstance(value, str):
            for search, replacement in rules.items():
                value = value.replace(search, replacement)
        return value

    def replace(tree_node: TreeNode, value: dict[str, Any]) -> dict[str, Any]:
        rules = tree_node.node.replace
        out = {k: replace_in(v, dict(rules[k])) if k in rules else v for k, v in value.items()}
        for child in tree_node.children:
            name = paths.output_name(child.columns[0])
            if _scalar(child) and name in child.node.replace:
                out[child.node.label] = replace_in(value.get(child.node.label), dict(child.node.replace[name]))
        return out

    def rename(tree_node: TreeNode, value: dict[str, Any]) -> dict[str, Any]:
        return {tree_node.node.rename.get(k, k): v for k, v in value.items()}

    def concat(tree_node: TreeNode, value: dict[str, Any]) -> dict[str, Any]:
        out = dict(value)
        for rule in tree_node.node.concat:
            parts = [out.get(name, name) for name in rule.columns]
            out[rule.destination] = rule.delimiter.join(map(str, filter(None, parts)))
        return out

    for step in (replace, rename, concat):
        document = each(root, document, step)
    return document


def _scalar(tree_node: TreeNode) -> bool:
    relationship = tree_node.node.relationship
    return relationship is not None and relationship.variant == "scalar"
