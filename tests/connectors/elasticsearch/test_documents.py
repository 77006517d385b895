"""Documents, ids, index names, mappings and operation coalescing, without a server."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from connectors.elasticsearch.bulk import Op, coalesce, deep_merge
from connectors.elasticsearch.documents import document, document_id, index_name
from connectors.elasticsearch.mappings import index_mappings
from hub.sdk import SinkRecord, Struct
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    timestamp_schema,
)

ADDRESS = struct_schema([("city", STRING_SCHEMA)], name="address", optional=True)
ORDER = struct_schema(
    [
        ("id", INT64_SCHEMA),
        ("price", decimal_schema(2)),
        ("at", timestamp_schema()),
        ("day", date_schema()),
        ("tags", array_schema(STRING_SCHEMA)),
        ("attrs", map_schema(STRING_SCHEMA, STRING_SCHEMA)),
        ("address", ADDRESS),
        ("note", OPTIONAL_STRING_SCHEMA),
    ],
    name="order",
)


def _record(value: object, key: object = "k", schema: object = ORDER) -> SinkRecord:
    return SinkRecord(topic="Orders", value=value, value_schema=schema, key=key, kafka_partition=2, kafka_offset=7)


def test_struct_values_become_json_ready_documents() -> None:
    value = Struct(
        ORDER,
        {
            "id": 1,
            "price": decimal.Decimal("9.50"),
            "at": dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
            "day": dt.date(2024, 5, 1),
            "tags": ["a"],
            "attrs": {"k": "v"},
            "address": Struct(ADDRESS, {"city": "Oslo"}),
        },
    )
    assert document(_record(value), compact_maps=True) == {
        "id": 1,
        "price": 9.5,
        "at": 1714521600000,
        "day": "2024-05-01",
        "tags": ["a"],
        "attrs": {"k": "v"},
        "address": {"city": "Oslo"},
        "note": None,
    }
    assert document(_record(value), compact_maps=False)["attrs"] == [{"key": "k", "value": "v"}]


def test_mappings_follow_the_schema() -> None:
    properties = index_mappings(ORDER, compact_maps=True)["properties"]
    assert properties["id"] == {"type": "long"}
    assert properties["price"] == {"type": "double"}
    assert properties["at"] == {"type": "date"}
    assert properties["tags"]["type"] == "text"
    assert properties["address"] == {"properties": {"city": properties["tags"]}}


@pytest.mark.parametrize(
    ("key", "expected"),
    [("abc", "abc"), (42, "42"), ({"id": 7}, "7"), ({"a": 1, "b": "x"}, '{"a":1,"b":"x"}'), (b"raw", "raw")],
)
def test_document_ids_from_keys(key: object, expected: str) -> None:
    assert document_id(_record({}, key=key, schema=None), ignore_key=False) == expected


def test_ids_without_keys() -> None:
    assert document_id(_record({}, key=None, schema=None), ignore_key=True) == "Orders+2+7"
    with pytest.raises(DataError, match=r"key\.ignore=true"):
        document_id(_record({}, key=None, schema=None), ignore_key=False)


def test_index_names() -> None:
    assert index_name("${topic}", "Orders") == "orders"
    assert index_name("db-${topic}-v1", "x") == "db-x-v1"
    for bad in ("_x", "a b", "a*b", ".."):
        with pytest.raises(DataError, match="not a valid index name"):
            index_name(bad, "t")


def _op(action: str, source: object) -> Op:
    return Op("i", "1", action, source, [action])


def test_coalescing_keeps_the_effect_of_applying_in_order() -> None:
    assert coalesce(_op("index", {"a": 1}), _op("index", {"b": 2})).source == {"b": 2}
    merged = coalesce(_op("update", {"a": 1, "o": {"x": 1}}), _op("update", {"o": {"y": 2}}))
    assert (merged.action, merged.source) == ("update", {"a": 1, "o": {"x": 1, "y": 2}})
    assert coalesce(_op("index", {"a": 1}), _op("update", {"b": 2})).action == "index"
    after_delete = coalesce(_op("delete", None), _op("update", {"b": 2}))
    assert (after_delete.action, after_delete.source) == ("index", {"b": 2})
    assert coalesce(_op("update", {"a": 1}), _op("delete", None)).action == "delete"
    assert coalesce(_op("index", {}), _op("delete", None)).records == ["index", "delete"]


def test_deep_merge() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4}) == {"a": {"b": 1, "c": 3}, "d": 4}
    assert deep_merge({"a": {"b": 1}}, {"a": 5}) == {"a": 5}
