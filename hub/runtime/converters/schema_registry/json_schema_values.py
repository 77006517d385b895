"""Connect values ↔ the JSON values JsonSchemaConverter writes and reads, compiled once per Connect schema.

Encoding, as Confluent's ``JsonSchemaData``: BYTES as base64 text; Decimal as base64 of its unscaled bytes, or a
JSON number with ``decimal.format=NUMERIC``; Date as days, Time as milliseconds since midnight, Timestamp as
milliseconds since the epoch; a struct as an object of its fields (a field's default when unset); a map with
required string keys as an object, other maps as an array of ``{"key", "value"}`` objects; a
``io.confluent.connect.json.OneOf`` struct as its one non-null branch. Reading accepts either Decimal form and
types every value by its schema; a value that does not fit is a DataError naming the path.

Functions are pure and the compiled closures stateless: safe from any thread.
"""

from __future__ import annotations

import base64
import binascii
import decimal
from collections.abc import Callable
from typing import Any

from hub.runtime.converters.schema_registry.json_schema_data import ONE_OF
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    INTEGER_RANGES,
    TIME_NAME,
    TIMESTAMP_NAME,
    Schema,
    SchemaError,
    Type,
    date_from_days,
    date_to_days,
    decimal_from_bytes,
    decimal_scale,
    decimal_to_bytes,
    time_from_millis,
    time_to_millis,
    timestamp_from_millis,
    timestamp_to_millis,
)
from hub.sdk.struct import Struct

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _nullable(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def json_writer(schema: Schema, numeric_decimals: bool = False) -> Convert:
    """Connect value → JSON-ready Python value for ``schema``."""
    kind, name = schema.type, schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)
        if numeric_decimals:
            # a Decimal at the schema's scale; the converter's encoder writes it as a JSON number
            return _nullable(lambda value: decimal_from_bytes(decimal_to_bytes(value, scale), scale))
        return _nullable(lambda value: base64.b64encode(decimal_to_bytes(value, scale)).decode())
    if name == DATE_NAME:
        return _nullable(date_to_days)
    if name == TIME_NAME:
        return _nullable(time_to_millis)
    if name == TIMESTAMP_NAME:
        return _nullable(timestamp_to_millis)
    if kind is Type.BYTES:
        return _nullable(lambda value: base64.b64encode(bytes(value)).decode())
    if kind.is_primitive:
        return _same
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = json_writer(schema.value_schema, numeric_decimals)
        return _nullable(lambda value: [item(x) for x in value])
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        key, val = json_writer(schema.key_schema, numeric_decimals), json_writer(schema.value_schema, numeric_decimals)
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return _nullable(lambda value: {k: val(v) for k, v in value.items()})
        return _nullable(lambda value: [{"key": key(k), "value": val(v)} for k, v in value.items()])
    plan = [(f.name, f.index, json_writer(f.schema, numeric_decimals), f.schema.default) for f in schema.fields]
    if name == ONE_OF:

        def write_one_of(value: Any) -> Any:
            raw = value.raw_values()
            return next((convert(raw[index]) for _, index, convert, _ in plan if raw[index] is not None), None)

        return _nullable(write_one_of)

    def write_struct(value: Any) -> Any:
        if not isinstance(value, Struct):
            raise DataError(f"struct {schema.name or ''} needs a Struct, got {type(value).__name__}")
        raw = value.raw_values()
        return {
            field: convert(default if raw[index] is None else raw[index]) for field, index, convert, default in plan
        }

    return _nullable(write_struct)


def json_reader(schema: Schema, path: str = "value") -> Convert:
    """Parsed JSON → Connect value for ``schema``; DataError naming the path when the JSON does not fit."""
    kind, name = schema.type, schema.name

    def check(ok: Callable[[Any], bool], convert: Convert, wanted: str) -> Convert:
        def read(value: Any) -> Any:
            if value is None:
                if not schema.optional and schema.default is None:
                    raise DataError(f"{path}: null for a required {wanted}")
                return schema.default
            if not ok(value):
                raise DataError(f"{path}: expected {wanted}, got {type(value).__name__}")
            try:
                return convert(value)
            except (ValueError, TypeError, SchemaError, binascii.Error, decimal.InvalidOperation) as exc:
                raise DataError(f"{path}: {exc}") from None

        return read

    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)

        def read_decimal(value: Any) -> decimal.Decimal:
            if isinstance(value, str):
                return decimal_from_bytes(base64.b64decode(value, validate=True), scale)
            return decimal.Decimal(str(value))

        return check(lambda v: isinstance(v, str | int | float | decimal.Decimal), read_decimal, "a Decimal")
    if name in (DATE_NAME, TIME_NAME, TIMESTAMP_NAME):
        convert = {DATE_NAME: date_from_days, TIME_NAME: time_from_millis, TIMESTAMP_NAME: timestamp_from_millis}[name]
        return check(_is_int, convert, f"an integer for {name.rsplit('.', 1)[1]}")
    if kind in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind]
        return check(lambda v: _is_int(v) and low <= v <= high, _same, f"an integer in {kind.value}'s range")
    if kind in (Type.FLOAT32, Type.FLOAT64):
        return check(lambda v: isinstance(v, int | float) and not isinstance(v, bool), float, "a number")
    if kind is Type.BOOLEAN:
        return check(lambda v: isinstance(v, bool), _same, "a boolean")
    if kind is Type.STRING:
        return check(lambda v: isinstance(v, str), _same, "a string")
    if kind is Type.BYTES:
        return check(lambda v: isinstance(v, str), lambda v: base64.b64decode(v, validate=True), "base64 text")
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = json_reader(schema.value_schema, path + "[]")
        return check(lambda v: isinstance(v, list), lambda v: [item(x) for x in v], "an array")
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        key, val = json_reader(schema.key_schema, path + " key"), json_reader(schema.value_schema, path + "[]")
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return check(lambda v: isinstance(v, dict), lambda v: {k: val(x) for k, x in v.items()}, "an object")
        return check(
            lambda v: isinstance(v, list), lambda v: {key(e.get("key")): val(e.get("value")) for e in v}, "an array"
        )
    if name == ONE_OF:
        return _one_of_reader(schema, path)
    plan = [(f.name, json_reader(f.schema, f"{path}.{f.name}" if path != "value" else f.name)) for f in schema.fields]
    return check(
        lambda v: isinstance(v, dict),
        lambda v: Struct.from_values(schema, [convert(v.get(field)) for field, convert in plan]),
        "an object",
    )


def _one_of_reader(schema: Schema, path: str) -> Convert:
    plan = [(f.index, json_reader(f.schema, path)) for f in schema.fields]

    def read(value: Any) -> Any:
        if value is None:
            return None
        for index, convert in plan:
            try:
                converted = convert(value)
            except DataError:
                continue
            values: list[Any] = [None] * len(plan)
            values[index] = converted
            return Struct.from_values(schema, values)
        raise DataError(f"{path}: no branch of the oneOf fits a {type(value).__name__}")

    return read


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
