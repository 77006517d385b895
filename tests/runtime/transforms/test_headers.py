"""InsertHeader, DropHeaders and HeaderFrom."""

from __future__ import annotations

import pytest

from hub.runtime.transforms import DropHeaders, HeaderFromValue, InsertHeader
from hub.sdk.errors import ConfigError
from hub.sdk.records import Headers, SourceRecord
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA, struct_schema
from hub.sdk.struct import Struct

ROW = struct_schema([("id", INT64_SCHEMA), ("tenant", STRING_SCHEMA)], name="Row")


def _record() -> SourceRecord:
    return SourceRecord(
        topic="t",
        value=Struct(ROW, {"id": 1, "tenant": "acme"}),
        value_schema=ROW,
        headers=Headers.of([("keep", b"1"), ("drop", b"2"), ("drop", b"3")]),
    )


def test_insert_and_drop_headers() -> None:
    insert = InsertHeader()
    insert.configure({"header": "source", "value.literal": "hub"})
    added = insert.apply(_record())
    assert added is not None
    assert added.headers.last_with_name("source").value == "hub"  # type: ignore[union-attr]
    drop = DropHeaders()
    drop.configure({"headers": "drop,missing"})
    assert [h.key for h in drop.apply(_record()).headers] == ["keep"]  # type: ignore[union-attr]


def test_header_from_copies_or_moves_fields() -> None:
    copy = HeaderFromValue()
    copy.configure({"fields": "tenant", "headers": "x-tenant", "operation": "copy"})
    copied = copy.apply(_record())
    assert copied is not None
    assert copied.headers.last_with_name("x-tenant").value == "acme"  # type: ignore[union-attr]
    assert copied.value["tenant"] == "acme"
    move = HeaderFromValue()
    move.configure({"fields": "tenant", "headers": "x-tenant", "operation": "move"})
    moved = move.apply(_record())
    assert moved is not None
    assert moved.value.to_dict() == {"id": 1}
    assert moved.headers.last_with_name("x-tenant").schema == STRING_SCHEMA  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="same number"):
        HeaderFromValue().configure({"fields": "a,b", "headers": "x", "operation": "copy"})
    with pytest.raises(ConfigError, match="must be one of move, copy"):
        HeaderFromValue().configure({"fields": "a", "headers": "x", "operation": "swap"})
