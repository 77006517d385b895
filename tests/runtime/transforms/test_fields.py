"""Field transforms on Structs with schemas and on schemaless maps, Key and Value variants."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import pytest

from hub.runtime.transforms import (
    ExtractFieldKey,
    ExtractFieldValue,
    HoistFieldValue,
    InsertFieldValue,
    MaskFieldValue,
    ReplaceFieldKey,
    ReplaceFieldValue,
    ValueToKey,
)
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.records import SinkRecord, SourceRecord
from hub.sdk.schema import INT64_SCHEMA, OPTIONAL_STRING_SCHEMA, STRING_SCHEMA, array_schema, struct_schema
from hub.sdk.struct import Struct
from hub.sdk.transform import Transformation

T = TypeVar("T", bound=Transformation)

ORDER = struct_schema([("id", INT64_SCHEMA), ("email", STRING_SCHEMA), ("note", OPTIONAL_STRING_SCHEMA)], name="Order")


def _order(**values: Any) -> Struct:
    return Struct(ORDER, {"id": 7, "email": "a@b.c", "note": None, **values})


def _configured(kind: type[T], **config: str) -> T:
    transform = kind()
    transform.configure(config)
    return transform


def _sink(value: Any, schema: Any = ORDER) -> SinkRecord:
    return SinkRecord(
        topic="orders",
        value=value,
        value_schema=schema,
        kafka_partition=2,
        kafka_offset=41,
        timestamp=1_719_000_000_000,
    )


def test_insert_field_adds_metadata_and_static_fields() -> None:
    insert = _configured(
        InsertFieldValue,
        **{
            "topic.field": "src_topic!",
            "offset.field": "src_offset",
            "timestamp.field": "ts",
            "static.field": "origin",
            "static.value": "pg",
        },
    )
    result = insert.apply(_sink(_order()))
    assert result is not None
    assert result.value.to_dict()["src_topic"] == "orders"
    assert result.value["src_offset"] == 41
    assert result.value["ts"] == dt.datetime(2024, 6, 21, 20, 0, tzinfo=dt.UTC)
    assert result.value["origin"] == "pg"
    assert result.value_schema.field("src_topic").schema.optional is False
    assert result.value_schema.field("src_offset").schema.optional is True
    assert result.value_schema.name == "Order"
    schemaless = insert.apply(_sink({"id": 1}, schema=None))
    assert schemaless is not None
    assert schemaless.value == {
        "id": 1,
        "src_topic": "orders",
        "src_offset": 41,
        "ts": dt.datetime(2024, 6, 21, 20, 0, tzinfo=dt.UTC),
        "origin": "pg",
    }
    with pytest.raises(DataError, match="only on sink records"):
        _configured(InsertFieldValue, **{"offset.field": "o"}).apply(SourceRecord(topic="t", value={"a": 1}))
    with pytest.raises(ConfigError, match=r"static\.value"):
        _configured(InsertFieldValue, **{"static.field": "x"})


def test_replace_field_include_exclude_rename() -> None:
    replace = _configured(ReplaceFieldValue, exclude="note", renames="email:contact")
    result = replace.apply(_sink(_order()))
    assert result is not None
    assert result.value.to_dict() == {"id": 7, "contact": "a@b.c"}
    assert [f.name for f in result.value_schema.fields] == ["id", "contact"]
    only_id = _configured(ReplaceFieldValue, include="id")
    assert only_id.apply(_sink({"id": 1, "x": 2}, schema=None)).value == {"id": 1}  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="expected old:new"):
        _configured(ReplaceFieldValue, renames="broken")
    key_side = _configured(ReplaceFieldKey, exclude="b")
    record = SourceRecord(topic="t", value=None, key={"a": 1, "b": 2})
    assert key_side.apply(record).key == {"a": 1}  # type: ignore[union-attr]


def test_extract_and_hoist_field() -> None:
    extracted = _configured(ExtractFieldValue, field="email").apply(_sink(_order()))
    assert extracted is not None
    assert (extracted.value, extracted.value_schema) == ("a@b.c", STRING_SCHEMA)
    with pytest.raises(DataError, match="no field 'nope'"):
        _configured(ExtractFieldValue, field="nope").apply(_sink(_order()))
    keyed = SourceRecord(topic="t", value=1, key={"id": 3})
    assert _configured(ExtractFieldKey, field="id").apply(keyed).key == 3  # type: ignore[union-attr]
    hoisted = _configured(HoistFieldValue, field="payload").apply(_sink(_order()))
    assert hoisted is not None
    assert hoisted.value["payload"] == _order()
    assert _configured(HoistFieldValue, field="v").apply(_sink(5, schema=None)).value == {"v": 5}  # type: ignore[union-attr]


def test_mask_field_uses_empty_values_or_the_replacement() -> None:
    masked = _configured(MaskFieldValue, fields="email,id").apply(_sink(_order()))
    assert masked is not None
    assert masked.value.to_dict() == {"id": 0, "email": "", "note": None}
    replaced = _configured(MaskFieldValue, fields="email", replacement="***").apply(_sink(_order()))
    assert replaced.value["email"] == "***"  # type: ignore[union-attr]
    with pytest.raises(DataError, match="does not fit"):
        _configured(MaskFieldValue, fields="id", replacement="x").apply(_sink(_order()))
    listed = struct_schema([("tags", array_schema(STRING_SCHEMA))])
    assert (
        _configured(MaskFieldValue, fields="tags")
        .apply(_sink(Struct(listed, {"tags": ["a"]}), schema=listed))
        .value["tags"]
        == []
    )  # type: ignore[union-attr]


def test_value_to_key_builds_a_key_struct() -> None:
    keyed = _configured(ValueToKey, fields="id").apply(_sink(_order()))
    assert keyed is not None
    assert keyed.key.to_dict() == {"id": 7}
    assert keyed.key_schema.field("id").schema == INT64_SCHEMA
    assert _configured(ValueToKey, fields="a").apply(_sink({"a": 1, "b": 2}, schema=None)).key == {"a": 1}  # type: ignore[union-attr]
    with pytest.raises(DataError, match="no field"):
        _configured(ValueToKey, fields="zzz").apply(_sink(_order()))


def test_tombstones_pass_and_wrong_shapes_are_data_errors() -> None:
    tombstone = _sink(None)
    for transform in (
        _configured(ReplaceFieldValue, exclude="x"),
        _configured(MaskFieldValue, fields="x"),
        _configured(ValueToKey, fields="x"),
        _configured(ExtractFieldValue, field="x"),
    ):
        assert transform.apply(tombstone) is tombstone
    with pytest.raises(DataError, match="needs a map"):
        _configured(ReplaceFieldValue, exclude="x").apply(_sink("text", schema=None))
