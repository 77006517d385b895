"""Loading PGSync's schema.json: its example files load as they are, what Hub does not support is refused by name,
and malformed entries get one message per problem."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.jdbc.cdc.documents import paths
from connectors.jdbc.cdc.documents.connector import PostgresDocumentSourceConnector
from connectors.jdbc.cdc.documents.schema import SchemaError, load_document, load_documents
from tests.connectors.jdbc.cdc.documents.examples import EXAMPLES, HERE


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_pgsync_example_schemas_load_as_they_are(name: str) -> None:
    documents = load_documents(EXAMPLES[name].schema())
    assert documents[0].database == name
    assert documents[0].root.children


def test_relationship_transform_and_labels_are_read() -> None:
    social = load_document(EXAMPLES["social"].schema()[0])
    tags, posts = social.root.children
    assert (
        tags.label,
        tags.relationship and tags.relationship.variant,
        tags.relationship and tags.relationship.through,
    ) == (
        "tags",
        "scalar",
        "user_tag",
    )
    assert posts.children[0].path == "posts.comments"
    airbnb = load_document(EXAMPLES["airbnb"].schema()[0])
    booking = airbnb.root.children[0]
    assert booking.rename["start_date"] == "from_date"
    assert booking.mapping["from_date"] == {"type": "date"}


def test_pgsync_book_example_loads_but_its_plugins_are_refused_by_name() -> None:
    """PGSync's book schema.json as it ships: plugins (Python classes) and routing are refused with what to do;
    without them it loads (JSON paths, replace, move, setting, mappings); schema_plain.json is the same minus those
    document keys."""
    book = json.loads((HERE / "book.json").read_text())
    with pytest.raises(SchemaError) as raised:
        load_documents(book)
    assert raised.value.problems == [
        "document 0: routing is not supported: a routed document is deleted with its routing value, which a root's "
        "delete does not carry (and a document whose routing value changes would stay on its old shard); Hub routes "
        "documents by id: remove routing",
        "document 0: plugins is not supported: Python plugins (PGSync's plugin classes) do not run in Hub; port them "
        "to a transform on the connector (transforms=...) and remove plugins",
    ]
    del book[0]["plugins"], book[0]["routing"]
    document = load_documents(book)[0]
    assert "analysis" in (document.setting or {})
    assert document.mappings == {
        "properties": {"age": {"type": "integer"}, "email": {"type": "keyword"}, "name": {"type": "text"}}
    }
    assert document.root.replace == {"isbn": {"00": "XX"}}
    assert "doc#>{a,b,c}->4" in document.root.columns
    assert document.ignored == (
        "document 0: node 'publisher_label': transform.move is ignored (PGSync does not apply it either)",
    )
    plain = load_documents(json.loads((HERE / "book_plain.json").read_text()))[0]
    assert plain.root == document.root
    assert (plain.setting, plain.mappings, plain.pipeline) == (None, None, None)


@pytest.mark.parametrize(
    ("column", "name", "source", "steps"),
    [
        ("doc->firstname", "doc_firstname", "doc", (("->", "firstname"),)),
        ("doc#>{a,b,c}->4", "doc_a,b,c_4", "doc", (("#>", "{a,b,c}"), ("->", 4))),
        ("doc->x->0->y", "doc_x_0_y", "doc", (("->", "x"), ("->", 0), ("->", "y"))),
        # PGSync's split tries "->" before "->>": the rest of the operator becomes part of the key
        ("doc->>name", "doc_>name", "doc", (("->", ">name"),)),
        ("isbn", "isbn", "isbn", None),
    ],
)
def test_json_path_columns_are_read_and_named_as_pgsync_does(
    column: str, name: str, source: str, steps: tuple[tuple[str, Any], ...] | None
) -> None:
    assert paths.output_name(column) == name
    assert paths.source_column(column) == source
    parsed = paths.parse(column)
    assert (parsed.steps if parsed else None) == steps


def test_json_paths_postgresql_cannot_evaluate_are_refused() -> None:
    entry = {"index": "x", "nodes": {"table": "a", "columns": ["doc#>4", "->x"]}}
    with pytest.raises(SchemaError) as raised:
        load_document(entry)
    assert raised.value.problems == [
        "document 0: node 'a': column 'doc#>4': #> takes a {key,key,...} path, not 4",
        "document 0: node 'a': column '->x': a JSON path starts with the column it reads",
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"index": "x", "nodes": {"columns": []}}, "table is required"),
        (
            {"index": "x", "nodes": {"table": "a", "children": [{"table": "b"}]}},
            "relationship (variant, type) is required",
        ),
        (
            {
                "index": "x",
                "nodes": {
                    "table": "a",
                    "children": [{"table": "b", "relationship": {"variant": "tree", "type": "one_to_one"}}],
                },
            },
            "relationship.variant must be one of object, scalar, not 'tree'",
        ),
        (
            {
                "index": "x",
                "nodes": {
                    "table": "a",
                    "children": [
                        {
                            "table": "b",
                            "columns": ["p", "q"],
                            "relationship": {"variant": "scalar", "type": "one_to_many"},
                        }
                    ],
                },
            },
            "a scalar variant takes exactly one column",
        ),
        (
            {
                "index": "x",
                "nodes": {
                    "table": "a",
                    "children": [
                        {
                            "table": "b",
                            "relationship": {
                                "variant": "object",
                                "type": "one_to_one",
                                "foreign_key": {"parent": ["x"], "child": []},
                            },
                        }
                    ],
                },
            },
            "parent and child must list as many columns",
        ),
        ({"index": "x", "nodes": {"table": "a", "colums": ["id"]}}, "unknown key 'colums'"),
        ({"nodes": {"table": "a"}}, "index (or database) must name the index"),
        (
            {"index": "x", "nodes": {"table": "a", "transform": {"replace": {"code": {"-": 1}}}}},
            "transform.replace must map column names to {search: replacement} strings",
        ),
        (
            {"index": "x", "nodes": {"table": "a", "transform": {"move": "$root"}}},
            "transform.move must be an object with column and destination",
        ),
        ({"index": "x", "pipeline": ["a"], "nodes": {"table": "a"}}, "pipeline must be a name"),
        ({"index": "x", "setting": "fast", "nodes": {"table": "a"}}, "setting must be an object"),
    ],
)
def test_malformed_entries_name_the_problem(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(SchemaError) as raised:
        load_document(entry)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_every_problem_is_reported_at_once() -> None:
    entry = {"index": "x", "partition": "r", "nodes": {"table": "a", "children": [{"table": "b"}, {"label": "c"}]}}
    with pytest.raises(SchemaError) as raised:
        load_document(entry)
    assert len(raised.value.problems) == 3


def test_an_ignored_move_is_logged_when_the_connector_starts(caplog: pytest.LogCaptureFixture) -> None:
    (book,) = json.loads((HERE / "book_plain.json").read_text())
    connector = PostgresDocumentSourceConnector()
    config = {"database.hostname": "db", "database.user": "u", "database.dbname": "book"}
    with caplog.at_level("WARNING"):
        connector.start({**config, "document.schema": json.dumps(book)})
    assert "node 'publisher_label': transform.move is ignored (PGSync does not apply it either)" in caplog.text
