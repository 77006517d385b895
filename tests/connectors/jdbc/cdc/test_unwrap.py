"""ExtractNewRecordState on change events with schemas and without."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.jdbc.cdc.change_events import Source, TableEvents, change_records
from connectors.jdbc.cdc.unwrap import ExtractNewRecordState
from connectors.jdbc.column_schemas import ColumnMapping
from hub.sdk import SourceRecord
from hub.sdk.schema import INT32_SCHEMA, STRING_SCHEMA


def _same(value: Any) -> Any:
    return value


EVENTS = TableEvents.build(
    "shop",
    "public",
    "orders",
    [ColumnMapping("id", INT32_SCHEMA, _same), ColumnMapping("name", STRING_SCHEMA, _same)],
    ["id"],
)
SOURCE = Source("shop", "db", "1", 1000, "false", 9, 77)


def _records(op: str, before: list[Any] | None, after: list[Any] | None) -> list[SourceRecord]:
    return change_records(EVENTS, op, before, after, SOURCE, {"server": "shop"}, {"lsn": 77}, True, 5000)


def _unwrap(**options: str) -> ExtractNewRecordState:
    transform = ExtractNewRecordState()
    transform.configure(options)
    return transform


def test_rows_become_the_value_with_added_fields_and_headers() -> None:
    [insert] = _records("c", None, [1, "a"])
    out = _unwrap(**{"add.fields": "op,table,source.ts_ms", "add.headers": "db"}).apply(insert)
    assert out is not None
    assert out.value.to_dict() == {"id": 1, "name": "a", "__op": "c", "__table": "orders", "__source_ts_ms": 1000}
    assert out.value_schema.field("__source_ts_ms").schema.type.value == "int64"
    assert [(h.key, h.value) for h in out.headers] == [("__db", "db")]
    assert out.key.to_dict() == {"id": 1}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [None]),  # tombstone mode: the delete event dropped, the tombstone kept
        ({"delete.tombstone.handling.mode": "drop"}, []),
        ({"delete.tombstone.handling.mode": "rewrite"}, [{"id": 2, "name": None, "__deleted": "true"}]),
        (
            {"delete.tombstone.handling.mode": "rewrite-with-tombstone"},
            [{"id": 2, "name": None, "__deleted": "true"}, None],
        ),
        ({"delete.tombstone.handling.mode": "delete-to-tombstone"}, [None]),
        ({"drop.tombstones": "false"}, [None]),
        ({"delete.handling.mode": "rewrite"}, [{"id": 2, "name": None, "__deleted": "true"}]),
    ],
)
def test_delete_modes(options: dict[str, str], expected: list[Any]) -> None:
    transform = _unwrap(**options)
    out = [transform.apply(record) for record in _records("d", [2, None], None)]
    values = [record.value.to_dict() if record.value is not None else None for record in out if record is not None]
    assert values == expected


def test_schemaless_envelopes_and_other_records() -> None:
    record = SourceRecord(topic="t", value={"op": "u", "before": None, "after": {"id": 1}, "source": {"lsn": 5}})
    out = _unwrap(**{"add.fields": "lsn"}).apply(record)
    assert out is not None
    assert out.value == {"id": 1, "__lsn": 5}
    heartbeat = SourceRecord(topic="hb", value={"ts_ms": 1})
    assert _unwrap().apply(heartbeat) is heartbeat
