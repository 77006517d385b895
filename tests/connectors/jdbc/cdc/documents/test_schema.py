"""Loading PGSync's schema.json: its example files load as they are, what Hub does not support is refused by name,
and malformed entries get one message per problem."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.jdbc.cdc.documents.schema import SchemaError, load_document, load_documents
from tests.connectors.jdbc.cdc.documents.examples import EXAMPLES, HERE


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_pgsync_example_schemas_load_as_they_are(name: str) -> None:
    documents = load_documents(json.loads((HERE / f"{name}.json").read_text()))
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


def test_what_hub_does_not_support_is_refused_by_name() -> None:
    """PGSync's book example uses plugins, JSON path columns, replace and move: each is named."""
    with pytest.raises(SchemaError) as raised:
        load_documents(json.loads((HERE / "book_plain.json").read_text()))
    text = " | ".join(raised.value.problems)
    assert "column 'doc->firstname': JSON path columns are not supported" in text
    assert "transform: replace is not supported" in text
    assert "transform: move is not supported" in text
    book = json.loads((HERE / "book_plain.json").read_text())[0]
    book["plugins"] = ["Groot"]
    with pytest.raises(SchemaError, match="plugins is not supported"):
        load_document(book)


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
    ],
)
def test_malformed_entries_name_the_problem(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(SchemaError) as raised:
        load_document(entry)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_every_problem_is_reported_at_once() -> None:
    entry = {"index": "x", "routing": "r", "nodes": {"table": "a", "children": [{"table": "b"}, {"label": "c"}]}}
    with pytest.raises(SchemaError) as raised:
        load_document(entry)
    assert len(raised.value.problems) == 3
