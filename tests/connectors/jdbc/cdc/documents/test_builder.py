"""The node transforms on built documents (no database): PGSync's README examples and the output PGSync 7.3.0's
Transform.transform gave for the same schema and rows (recorded here), in PGSync's order replace, rename, concat."""

from __future__ import annotations

from typing import Any

from connectors.jdbc.cdc.documents.builder import shape
from connectors.jdbc.cdc.documents.catalog import Table, TreeNode
from connectors.jdbc.cdc.documents.schema import load_document


def tree(nodes: dict[str, Any]) -> TreeNode:
    """The schema's nodes as a resolved tree; tables and joins do not matter to the transforms."""

    def resolve(node: Any) -> TreeNode:
        table = Table(node.schema, node.table, {}, ("id",))
        return TreeNode(node, table, node.columns, None, tuple(resolve(child) for child in node.children))

    return resolve(load_document({"index": "i", "nodes": nodes}).root)


def test_replace_as_pgsyncs_readme_shows_it() -> None:
    product = tree(
        {"table": "product", "columns": ["code", "name"], "transform": {"replace": {"code": {"-": "/", "_": " "}}}}
    )
    assert shape(product, {"code": "ABC-DEF_GHI", "name": "ABC-DEF_GHI"}) == {
        "code": "ABC/DEF GHI",
        "name": "ABC-DEF_GHI",
    }


BOOK = {
    "table": "book",
    "columns": ["id", "isbn"],
    "transform": {"rename": {"id": "book_id", "isbn": "book_isbn"}, "replace": {"isbn": {"00": "XX"}}},
    "children": [
        {
            "table": "publisher",
            "label": "publisher_label",
            "columns": ["id", "name", "is_active"],
            "relationship": {"variant": "object", "type": "one_to_one"},
            "transform": {
                "rename": {"id": "publisher_id", "name": "publisher_name"},
                "concat": [
                    {
                        "columns": ["publisher_id", "publisher_name", "is_active", "foo"],
                        "destination": "xyz",
                        "delimiter": "_",
                    }
                ],
            },
        },
        {
            "table": "language",
            "label": "languages",
            "columns": ["code"],
            "relationship": {"variant": "scalar", "type": "one_to_many"},
            "transform": {"replace": {"code": {"-": "="}}},
        },
        {
            "table": "author",
            "label": "authors",
            "columns": ["id", "name"],
            "relationship": {"variant": "object", "type": "one_to_many"},
            "transform": {"replace": {"name": {"a": "A"}}, "rename": {"name": "author_name"}},
        },
    ],
}


def test_replace_rename_and_concat_give_pgsyncs_output() -> None:
    book = tree(BOOK)
    raw = {
        "id": 1,
        "isbn": "001-00",
        "publisher_label": {"id": 3, "name": "p", "is_active": False},
        "languages": ["en-GB", "fr"],
        "authors": [{"id": 2, "name": "anna"}, {"id": 4, "name": "bob"}],
    }
    assert shape(book, raw) == {
        "book_id": 1,
        "book_isbn": "XX1-XX",
        "publisher_label": {"publisher_id": 3, "publisher_name": "p", "is_active": False, "xyz": "3_p_foo"},
        "languages": ["en=GB", "fr"],  # PGSync 7.3.0: [] (its replace expects objects in a list)
        "authors": [{"id": 2, "author_name": "AnnA"}, {"id": 4, "author_name": "bob"}],
    }
    raw = {"id": 1, "isbn": None, "publisher_label": {"id": 0, "name": "", "is_active": True}, "languages": None}
    assert shape(book, {**raw, "authors": []}) == {
        "book_id": 1,
        "book_isbn": None,
        "publisher_label": {"publisher_id": 0, "publisher_name": "", "is_active": True, "xyz": "True_foo"},
        "languages": None,
        "authors": [],
    }
