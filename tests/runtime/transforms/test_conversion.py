"""Cast and TimestampConverter."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.runtime.transforms import CastValue, TimestampConverterValue
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.records import SourceRecord
from hub.sdk.schema import (
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    Type,
    struct_schema,
    timestamp_schema,
)
from hub.sdk.struct import Struct

ROW = struct_schema([("id", INT32_SCHEMA), ("price", STRING_SCHEMA), ("note", OPTIONAL_STRING_SCHEMA)], name="Row")
MOMENT = dt.datetime(2024, 6, 21, 20, 0, 0, 123000, tzinfo=dt.UTC)


def _cast(spec: str) -> CastValue:
    cast = CastValue()
    cast.configure({"spec": spec})
    return cast


def _converter(**config: str) -> TimestampConverterValue:
    converter = TimestampConverterValue()
    converter.configure(config)
    return converter


def test_cast_fields_and_whole_values() -> None:
    record = SourceRecord(topic="t", value=Struct(ROW, {"id": 5, "price": "12", "note": None}), value_schema=ROW)
    cast = _cast("id:string,price:int64").apply(record)
    assert cast is not None
    assert cast.value.to_dict() == {"id": "5", "price": 12, "note": None}
    assert cast.value_schema.field("price").schema.type is Type.INT64
    assert _cast("int8").apply(SourceRecord(topic="t", value="7", value_schema=STRING_SCHEMA)).value == 7  # type: ignore[union-attr]
    schemaless = _cast("a:boolean,b:string").apply(SourceRecord(topic="t", value={"a": "true", "b": b"\x00"}))
    assert schemaless.value == {"a": True, "b": "AA=="}  # type: ignore[union-attr]
    with pytest.raises(DataError, match="does not fit in int8"):
        _cast("int8").apply(SourceRecord(topic="t", value=300, value_schema=INT64_SCHEMA))
    with pytest.raises(ConfigError, match="unknown type 'decimal'"):
        _cast("a:decimal")


def test_timestamp_converter_between_representations() -> None:
    to_string = _converter(**{"target.type": "string", "format": "yyyy-MM-dd HH:mm:ss.SSS"})
    record = SourceRecord(topic="t", value=MOMENT, value_schema=timestamp_schema())
    as_text = to_string.apply(record)
    assert as_text is not None
    assert as_text.value == "2024-06-21 20:00:00.123"
    assert as_text.value_schema.type is Type.STRING
    back = _converter(**{"target.type": "Timestamp", "format": "yyyy-MM-dd HH:mm:ss.SSS"}).apply(as_text)
    assert back.value == MOMENT  # type: ignore[union-attr]
    unix = _converter(**{"target.type": "unix", "unix.precision": "seconds"}).apply(record)
    assert unix.value == 1_719_000_000  # type: ignore[union-attr]
    date = _converter(**{"target.type": "Date"}).apply(SourceRecord(topic="t", value=1_719_000_000_123))
    assert date.value == dt.date(2024, 6, 21)  # type: ignore[union-attr]
    row = struct_schema([("id", INT32_SCHEMA), ("at", INT64_SCHEMA)])
    field = _converter(**{"target.type": "Timestamp", "field": "at"}).apply(
        SourceRecord(topic="t", value=Struct(row, {"id": 1, "at": 1_719_000_000_123}), value_schema=row)
    )
    assert field.value["at"] == MOMENT  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="format is required"):
        _converter(**{"target.type": "string"})
    with pytest.raises(DataError, match="does not match the format"):
        _converter(**{"target.type": "unix", "format": "yyyy-MM-dd"}).apply(SourceRecord(topic="t", value="June"))
