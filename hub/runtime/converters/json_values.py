"""The general value codec of JsonConverter: Connect values to and from their JSON form under a schema.

``value_to_json`` turns a value into what msgspec writes as Connect's payload JSON; ``value_from_json`` turns a
parsed payload back into a Connect value. Both handle every schema (logical types, arrays, maps, nested structs)
and are where every error is reported: a DataError naming the problem. Payload encoding, as Connect's: BYTES as
base64; Decimal as base64 of the unscaled two's-complement value (a JSON number with ``numeric_decimals``); Date,
Time and Timestamp as integers; maps with string keys as objects, other maps as arrays of ``[key, value]`` pairs.
Schemaless values (schema None) are written with inferred types and read as parsed.

The field plans (``plan_of``: per struct schema, which fields are plain primitives, with their Python class and
integer bounds) speed up structs here and in the compiled codec (hub.runtime.converters.json_compiled).

Thread-safety: pure functions; the plan cache is keyed by schema identity and safe to share.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import uuid
from typing import Any, cast

import msgspec
import orjson

from hub.sdk.errors import DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
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
    validate,
)
from hub.sdk.struct import Struct

#: Types whose JSON value is the Python value as it is (without a logical name).
PLAIN_TYPES = frozenset(
    {Type.INT8, Type.INT16, Type.INT32, Type.INT64, Type.FLOAT32, Type.FLOAT64, Type.BOOLEAN, Type.STRING}
)
#: The range of each integer type; a JSON integer outside it is not a value of the type.
INT_BOUNDS = {
    Type.INT8: (-(2**7), 2**7 - 1),
    Type.INT16: (-(2**15), 2**15 - 1),
    Type.INT32: (-(2**31), 2**31 - 1),
    Type.INT64: (-(2**63), 2**63 - 1),
}

# Per struct schema, each field's (name, schema, kind when it is a plain primitive without a logical name, and for
# those the Python class and integer bounds a decoded JSON value must have to be taken as it is). Records of one
# stream share their schema object, so looking the plan up by identity saves hashing the schema.
FieldPlan = tuple[str, Schema, Type | None, type | None, int | None, int | None]
StructPlan = tuple[tuple[FieldPlan, ...], tuple[str, ...] | None]


def _make_plan(schema: Schema) -> StructPlan:
    """The struct's field plan, and its field names when every field is a plain primitive (the fastest path)."""
    plan = tuple(field_plan(field.name, field.schema) for field in schema.fields)
    all_plain = tuple(p[0] for p in plan) if all(p[2] for p in plan) else None
    return plan, all_plain


#: The plan of each struct schema object.
plan_of: IdentityCache[Schema, StructPlan] = IdentityCache(_make_plan)


def field_plan(name: str, schema: Schema) -> FieldPlan:
    kind = schema.type
    if kind not in PLAIN_TYPES or schema.name is not None:
        return (name, schema, None, None, None, None)
    if kind in INT_BOUNDS:
        return (name, schema, kind, int, *INT_BOUNDS[kind])
    python = {Type.STRING: str, Type.BOOLEAN: bool}.get(kind, float)
    return (name, schema, kind, python, None, None)


def _struct_plan(schema: Schema) -> tuple[FieldPlan, ...]:
    return plan_of(schema)[0]


def value_to_json(
    schema: Schema | None, value: Any, *, numeric_decimals: bool = False, replace_null: bool = True
) -> Any:
    """The JSON-able form of a value under ``schema`` (or inferred when schema is None)."""
    if schema is None:
        return schemaless_to_json(value)
    if value is None:
        if replace_null and schema.default is not None:
            return value_to_json(schema, schema.default, numeric_decimals=numeric_decimals)
        if not schema.optional:
            raise DataError(f"null value for a required {schema.type.value} schema")
        return None
    name = schema.name
    if name == DECIMAL_NAME:
        if not isinstance(value, decimal.Decimal):
            raise DataError(f"Decimal schema needs a decimal.Decimal, got {type(value).__name__}")
        if numeric_decimals:
            return value
        return base64.b64encode(decimal_to_bytes(value, decimal_scale(schema))).decode()
    if name == DATE_NAME and isinstance(value, dt.date):
        return date_to_days(value)
    if name == TIME_NAME and isinstance(value, dt.time):
        return time_to_millis(value)
    if name == TIMESTAMP_NAME and isinstance(value, dt.datetime):
        return timestamp_to_millis(value)
    kind = schema.type
    if kind is Type.BYTES:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise DataError(f"bytes schema needs bytes, got {type(value).__name__}")
        return base64.b64encode(bytes(value)).decode()
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        return [value_to_json(schema.value_schema, item, numeric_decimals=numeric_decimals) for item in value]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if schema.key_schema.type is Type.STRING:
            return {
                key: value_to_json(schema.value_schema, item, numeric_decimals=numeric_decimals)
                for key, item in value.items()
            }
        return [
            [
                value_to_json(schema.key_schema, key, numeric_decimals=numeric_decimals),
                value_to_json(schema.value_schema, item, numeric_decimals=numeric_decimals),
            ]
            for key, item in value.items()
        ]
    if kind is Type.STRUCT:
        if not isinstance(value, Struct):
            raise DataError(f"struct schema needs a Struct, got {type(value).__name__}")
        if value.schema is not schema and value.schema != schema:
            raise DataError("Struct's schema does not match the schema it is written with")
        # Struct.put checked every value against its field schema: plain primitives pass as they are.
        _, plain_names = plan_of(schema)
        items = value.raw_values()
        if plain_names is not None and None not in items:
            return dict(zip(plain_names, items, strict=True))
        return {
            name: item
            if item is not None and plain is not None
            else value_to_json(field_schema, item, numeric_decimals=numeric_decimals, replace_null=replace_null)
            for (name, field_schema, plain, *_), item in zip(_struct_plan(schema), items, strict=True)
        }
    try:
        validate(schema, value)
    except SchemaError as exc:
        raise DataError(str(exc)) from None
    return value


def schemaless_to_json(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Struct):
        raise DataError("a Struct needs a schema; use schemas with struct values")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return schemaless_to_json(value.value)
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: schemaless_to_json(item) for key, item in value.items()}
        return [[schemaless_to_json(key), schemaless_to_json(item)] for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [schemaless_to_json(item) for item in value]
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise DataError(f"cannot write the decimal {value} as JSON (a number must be finite)")
        return value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise DataError(f"cannot write a {type(value).__name__} as schemaless JSON")


def value_from_json(schema: Schema | None, node: Any) -> Any:
    """A Connect value from JSON under ``schema`` (schemaless JSON is returned as parsed)."""
    if schema is None:
        return node
    if node is None:
        if schema.default is not None:
            return schema.default
        if not schema.optional:
            raise DataError(f"null payload for a required {schema.type.value} schema")
        return None
    name = schema.name
    try:
        if name == DECIMAL_NAME:
            if isinstance(node, str):
                return decimal_from_bytes(base64.b64decode(node, validate=True), decimal_scale(schema))
            if isinstance(node, int | float):
                return decimal.Decimal(str(node))
            raise DataError("Decimal payload must be a base64 string or a number")
        if name == DATE_NAME:
            return date_from_days(_integer(node))
        if name == TIME_NAME:
            return time_from_millis(_integer(node))
        if name == TIMESTAMP_NAME:
            return timestamp_from_millis(_integer(node))
    except (binascii.Error, SchemaError, OverflowError) as exc:
        raise DataError(f"invalid {name} payload: {exc}") from None
    kind = schema.type
    if kind is Type.BYTES:
        if not isinstance(node, str):
            raise DataError("bytes payload must be a base64 string")
        try:
            return base64.b64decode(node, validate=True)
        except binascii.Error as exc:
            raise DataError(f"bytes payload is not base64: {exc}") from None
    if kind is Type.ARRAY:
        if not isinstance(node, list):
            raise DataError("array payload must be a JSON array")
        assert schema.value_schema is not None
        return [value_from_json(schema.value_schema, item) for item in node]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if isinstance(node, dict):
            return {
                value_from_json(schema.key_schema, key): value_from_json(schema.value_schema, v)
                for key, v in node.items()
            }
        if isinstance(node, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in node):
            return {value_from_json(schema.key_schema, k): value_from_json(schema.value_schema, v) for k, v in node}
        raise DataError("map payload must be an object or an array of [key, value] pairs")
    if kind is Type.STRUCT:
        if not isinstance(node, dict):
            raise DataError("struct payload must be a JSON object")
        values = []
        for name, field_schema, _, python, low, high in _struct_plan(schema):
            item = node.get(name)
            found = type(item)
            if found is python and (low is None or low <= item <= high):  # type: ignore[operator]
                values.append(item)  # already a valid value of a plain field
                continue
            if python is float and found is int:
                item = float(cast(int, item))
            else:
                item = value_from_json(field_schema, item)  # the general path checks and reports
                if item is None and not field_schema.optional and field_schema.default is None:
                    raise DataError(f"{name} is null but its schema is not optional")
            values.append(item)
        return Struct.from_values(schema, values)  # each value was checked above
    if kind in (Type.FLOAT32, Type.FLOAT64):
        if isinstance(node, bool) or not isinstance(node, int | float):
            raise DataError(f"{kind.value} payload must be a number")
        return float(node)
    try:
        validate(schema, node)
    except SchemaError as exc:
        raise DataError(f"payload does not match its schema: {exc}") from None
    return node


def _integer(node: Any) -> int:
    if isinstance(node, bool) or not isinstance(node, int):
        raise DataError(f"expected an integer payload, got {node!r}")
    return node


def _refuse(value: Any) -> Any:
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


#: The JSON bytes of what payload writers and ``value_to_json`` return, and of schemas (decimals reach it only as
#: numbers: ``decimal.format=NUMERIC``); thread-safe.
dump_json = msgspec.json.Encoder(enc_hook=_refuse, decimal_format="number").encode

_SCHEMALESS_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _schemaless_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    raise TypeError


def dump_schemaless(value: Any) -> bytes:
    """``dump_json(schemaless_to_json(value))`` in one pass: orjson writes the JSON-native values (dicts with string
    keys, lists, strings, numbers, booleans, null) itself; a value with anything else (a map with other keys, a
    datetime, a Struct, an integer beyond 64 bits, …) takes ``schemaless_to_json``, with its errors."""
    try:
        return orjson.dumps(value, default=_schemaless_default, option=_SCHEMALESS_OPTIONS)
    except TypeError:
        return dump_json(schemaless_to_json(value))
