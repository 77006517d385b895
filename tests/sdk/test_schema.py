"""Connect's data model: schemas, logical types and structs."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from hub.sdk.schema import (
    INT8_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    Schema,
    SchemaError,
    Type,
    array_schema,
    date_from_days,
    date_schema,
    date_to_days,
    decimal_from_bytes,
    decimal_schema,
    decimal_to_bytes,
    map_schema,
    struct_schema,
    time_from_millis,
    time_to_millis,
    timestamp_from_millis,
    timestamp_schema,
    timestamp_to_millis,
    validate,
)
from hub.sdk.struct import Struct

ORDER = struct_schema(
    [("id", INT64_SCHEMA), ("note", OPTIONAL_STRING_SCHEMA), ("amount", decimal_schema(2))], name="com.acme.Order"
)


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (decimal.Decimal("123.45"), 2, bytes([0x30, 0x39])),  # 12345 = 0x3039, base64 "MDk="
        (decimal.Decimal("-1"), 0, b"\xff"),
        (decimal.Decimal("0"), 3, b"\x00"),
        (decimal.Decimal("128"), 0, b"\x00\x80"),
        (decimal.Decimal("-129"), 0, b"\xff\x7f"),
    ],
)
def test_decimal_bytes_are_minimal_twos_complement(value: decimal.Decimal, scale: int, expected: bytes) -> None:
    assert decimal_to_bytes(value, scale) == expected
    assert decimal_from_bytes(expected, scale) == value


def test_temporal_logical_types_round_trip() -> None:
    assert date_to_days(dt.date(1970, 1, 2)) == 1
    assert date_from_days(-1) == dt.date(1969, 12, 31)
    assert time_to_millis(dt.time(1, 2, 3, 4000)) == 3_723_004
    assert time_from_millis(3_723_004) == dt.time(1, 2, 3, 4000)
    moment = dt.datetime(2024, 6, 21, 20, 0, tzinfo=dt.UTC)
    assert timestamp_to_millis(moment) == 1_719_000_000_000
    assert timestamp_from_millis(1_719_000_000_000) == moment
    with pytest.raises(SchemaError, match="86399999"):
        time_from_millis(86_400_000)


def test_struct_put_get_and_defaults() -> None:
    schema = struct_schema([("id", INT32_SCHEMA), ("name", STRING_SCHEMA.as_optional().with_default("n/a"))])
    value = Struct(schema).put("id", 7)
    assert value.get("name") == "n/a"
    assert value.get_without_default("name") is None
    assert value.to_dict() == {"id": 7, "name": "n/a"}
    value.validate()


def test_struct_rejects_unknown_field_wrong_type_and_missing_required() -> None:
    value = Struct(ORDER)
    with pytest.raises(SchemaError, match="no field 'nope'"):
        value.put("nope", 1)
    with pytest.raises(SchemaError, match="int64 needs an int"):
        value.put("id", "42")
    with pytest.raises(SchemaError, match=r"amount: org\.apache\.kafka\.connect\.data\.Decimal needs Decimal"):
        value.put("amount", 1.5)
    value.put("id", 42)
    with pytest.raises(SchemaError, match="amount is null"):
        value.validate()


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        (INT8_SCHEMA, 128, "out of range for int8"),
        (INT32_SCHEMA, True, "needs an int"),
        (array_schema(INT32_SCHEMA), [1, "x"], r"value\[1\]"),
        (map_schema(STRING_SCHEMA, INT32_SCHEMA), {"a": None}, "is null"),
        (date_schema(), dt.datetime(2024, 1, 1), "needs a datetime.date"),
        (timestamp_schema(), 5, "needs datetime"),
    ],
)
def test_validate_names_the_problem(schema: Schema, value: object, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        validate(schema, value)


def test_nested_struct_validation_reports_the_path() -> None:
    inner = struct_schema([("zip", STRING_SCHEMA)], name="Address")
    outer = struct_schema([("address", inner)], name="Customer")
    with pytest.raises(SchemaError, match=r"address\.zip is null"):
        Struct(outer, {"address": Struct(inner)})


def test_malformed_schemas_are_refused() -> None:
    with pytest.raises(SchemaError, match="item schema"):
        Schema(Type.ARRAY)
    with pytest.raises(SchemaError, match="duplicate field"):
        struct_schema([("a", INT32_SCHEMA), ("a", STRING_SCHEMA)])
    with pytest.raises(SchemaError, match="struct schema"):
        Struct(INT32_SCHEMA)


def test_schemas_are_hashable_values() -> None:
    assert struct_schema([("id", INT64_SCHEMA)], name="x") == struct_schema([("id", INT64_SCHEMA)], name="x")
    assert len({decimal_schema(2), decimal_schema(2), decimal_schema(3)}) == 2
