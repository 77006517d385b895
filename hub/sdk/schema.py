"""Connect's data model: schemas for record keys and values, with Kafka Connect's types and logical types.

A ``Schema`` describes a value the way Kafka Connect's ``org.apache.kafka.connect.data.Schema`` does (type,
optional, default, name, version, doc, parameters; fields for structs, key/value schemas for maps, the item
schema for arrays), so the JSON converter's envelope and every connector speak the same language as Connect.

Python value classes per type: INT8/16/32/64 → ``int`` (range-checked), FLOAT32/64 → ``float``, BOOLEAN →
``bool``, STRING → ``str``, BYTES → ``bytes``, ARRAY → ``list``, MAP → ``dict``, STRUCT → ``Struct``. The logical
types carry Python's natural classes: Decimal → ``decimal.Decimal``, Date → ``datetime.date``, Time →
``datetime.time``, Timestamp → ``datetime.datetime`` (UTC).

Schemas are immutable and hashable; share them freely between threads.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any


class SchemaError(ValueError):
    """A value does not match its schema, or a schema is malformed; the message names the field path."""


class Type(Enum):
    """Connect's schema types; the value is the name JsonConverter writes."""

    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float"
    FLOAT64 = "double"
    BOOLEAN = "boolean"
    STRING = "string"
    BYTES = "bytes"
    ARRAY = "array"
    MAP = "map"
    STRUCT = "struct"

    @property
    def is_primitive(self) -> bool:
        return self not in (Type.ARRAY, Type.MAP, Type.STRUCT)


INTEGER_RANGES: Mapping[Type, tuple[int, int]] = {
    Type.INT8: (-(2**7), 2**7 - 1),
    Type.INT16: (-(2**15), 2**15 - 1),
    Type.INT32: (-(2**31), 2**31 - 1),
    Type.INT64: (-(2**63), 2**63 - 1),
}

DECIMAL_NAME = "org.apache.kafka.connect.data.Decimal"
DATE_NAME = "org.apache.kafka.connect.data.Date"
TIME_NAME = "org.apache.kafka.connect.data.Time"
TIMESTAMP_NAME = "org.apache.kafka.connect.data.Timestamp"
DECIMAL_SCALE_PARAMETER = "scale"


@dataclass(frozen=True, slots=True)
class Field:
    """A named, positioned member of a struct schema."""

    name: str
    index: int
    schema: Schema


@dataclass(frozen=True, slots=True)
class Schema:
    """An immutable Connect schema. Build structs with :func:`struct_schema`, containers with
    :func:`array_schema` / :func:`map_schema`, logical types with :func:`decimal_schema` and friends."""

    type: Type
    optional: bool = False
    default: Any = None
    name: str | None = None
    version: int | None = None
    doc: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    fields: tuple[Field, ...] = ()
    key_schema: Schema | None = None
    value_schema: Schema | None = None

    def __post_init__(self) -> None:
        if self.type is Type.ARRAY and self.value_schema is None:
            raise SchemaError("an array schema needs an item schema")
        if self.type is Type.MAP and (self.key_schema is None or self.value_schema is None):
            raise SchemaError("a map schema needs key and value schemas")
        if self.type is not Type.STRUCT and self.fields:
            raise SchemaError(f"only struct schemas have fields, not {self.type.value}")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise SchemaError(f"duplicate field names in struct {self.name or ''}: {names}")

    @property
    def params(self) -> dict[str, str]:
        return dict(self.parameters)

    def field(self, name: str) -> Field:
        """The struct field called ``name``; SchemaError when there is none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise SchemaError(f"no field {name!r} in struct {self.name or '(unnamed)'}")

    def has_field(self, name: str) -> bool:
        return any(candidate.name == name for candidate in self.fields)

    def as_optional(self) -> Schema:
        return self if self.optional else replace(self, optional=True)

    def as_required(self) -> Schema:
        return replace(self, optional=False) if self.optional else self

    def with_default(self, default: Any) -> Schema:
        schema = replace(self, default=default)
        if default is not None:
            validate(schema, default)
        return schema


def struct_schema(
    fields: Sequence[tuple[str, Schema]] | Mapping[str, Schema],
    *,
    name: str | None = None,
    optional: bool = False,
    version: int | None = None,
    doc: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Schema:
    """A struct schema with fields in the given order."""
    items = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    return Schema(
        Type.STRUCT,
        optional=optional,
        name=name,
        version=version,
        doc=doc,
        parameters=tuple(sorted((parameters or {}).items())),
        fields=tuple(Field(field_name, index, schema) for index, (field_name, schema) in enumerate(items)),
    )


def array_schema(items: Schema, *, optional: bool = False, name: str | None = None) -> Schema:
    return Schema(Type.ARRAY, optional=optional, name=name, value_schema=items)


def map_schema(keys: Schema, values: Schema, *, optional: bool = False, name: str | None = None) -> Schema:
    return Schema(Type.MAP, optional=optional, name=name, key_schema=keys, value_schema=values)


def decimal_schema(scale: int, *, optional: bool = False) -> Schema:
    """Connect's Decimal: BYTES holding the unscaled value as big-endian two's complement, ``scale`` as parameter."""
    return Schema(
        Type.BYTES, optional=optional, name=DECIMAL_NAME, version=1, parameters=((DECIMAL_SCALE_PARAMETER, str(scale)),)
    )


def date_schema(*, optional: bool = False) -> Schema:
    """Connect's Date: INT32 days since the Unix epoch."""
    return Schema(Type.INT32, optional=optional, name=DATE_NAME, version=1)


def time_schema(*, optional: bool = False) -> Schema:
    """Connect's Time: INT32 milliseconds since midnight."""
    return Schema(Type.INT32, optional=optional, name=TIME_NAME, version=1)


def timestamp_schema(*, optional: bool = False) -> Schema:
    """Connect's Timestamp: INT64 milliseconds since the Unix epoch."""
    return Schema(Type.INT64, optional=optional, name=TIMESTAMP_NAME, version=1)


INT8_SCHEMA = Schema(Type.INT8)
INT16_SCHEMA = Schema(Type.INT16)
INT32_SCHEMA = Schema(Type.INT32)
INT64_SCHEMA = Schema(Type.INT64)
FLOAT32_SCHEMA = Schema(Type.FLOAT32)
FLOAT64_SCHEMA = Schema(Type.FLOAT64)
BOOLEAN_SCHEMA = Schema(Type.BOOLEAN)
STRING_SCHEMA = Schema(Type.STRING)
BYTES_SCHEMA = Schema(Type.BYTES)
OPTIONAL_INT8_SCHEMA = Schema(Type.INT8, optional=True)
OPTIONAL_INT16_SCHEMA = Schema(Type.INT16, optional=True)
OPTIONAL_INT32_SCHEMA = Schema(Type.INT32, optional=True)
OPTIONAL_INT64_SCHEMA = Schema(Type.INT64, optional=True)
OPTIONAL_FLOAT32_SCHEMA = Schema(Type.FLOAT32, optional=True)
OPTIONAL_FLOAT64_SCHEMA = Schema(Type.FLOAT64, optional=True)
OPTIONAL_BOOLEAN_SCHEMA = Schema(Type.BOOLEAN, optional=True)
OPTIONAL_STRING_SCHEMA = Schema(Type.STRING, optional=True)
OPTIONAL_BYTES_SCHEMA = Schema(Type.BYTES, optional=True)

_EPOCH = dt.date(1970, 1, 1)
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# --- logical types: Python value <-> the primitive Connect carries on the wire ---------------------------------


def decimal_to_bytes(value: decimal.Decimal, scale: int) -> bytes:
    """The unscaled integer of ``value`` at ``scale`` as minimal big-endian two's complement."""
    unscaled = int(value.scaleb(scale).to_integral_value(rounding=decimal.ROUND_HALF_UP))
    length = max(1, (unscaled + (unscaled < 0)).bit_length() // 8 + 1)
    return unscaled.to_bytes(length, "big", signed=True)


def decimal_from_bytes(data: bytes, scale: int) -> decimal.Decimal:
    return decimal.Decimal(int.from_bytes(data, "big", signed=True)).scaleb(-scale)


def date_to_days(value: dt.date) -> int:
    return (value - _EPOCH).days


def date_from_days(days: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=days)


def time_to_millis(value: dt.time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + value.microsecond // 1000


def time_from_millis(millis: int) -> dt.time:
    if not 0 <= millis < 86_400_000:
        raise SchemaError(f"Time must be 0..86399999 ms since midnight, got {millis}")
    seconds, ms = divmod(millis, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return dt.time(hour, minute, second, ms * 1000)


def timestamp_to_millis(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - _UTC_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def timestamp_from_millis(millis: int) -> dt.datetime:
    return _UTC_EPOCH + dt.timedelta(milliseconds=millis)


def decimal_scale(schema: Schema) -> int:
    # A scan of the few parameters: cheaper than the hashing a cache of schemas would need.
    for key, value in schema.parameters:
        if key == DECIMAL_SCALE_PARAMETER:
            try:
                return int(value)
            except ValueError:
                break
    raise SchemaError(f"Decimal schema without an integer '{DECIMAL_SCALE_PARAMETER}' parameter")


# --- validation -------------------------------------------------------------------------------------------------

_PRIMITIVE_CLASSES: Mapping[Type, tuple[type, ...]] = {
    Type.FLOAT32: (float, int),
    Type.FLOAT64: (float, int),
    Type.BOOLEAN: (bool,),
    Type.STRING: (str,),
    Type.BYTES: (bytes, bytearray, memoryview),
}

_LOGICAL_CLASSES: Mapping[str, tuple[type, ...]] = {
    DECIMAL_NAME: (decimal.Decimal,),
    DATE_NAME: (dt.date,),
    TIME_NAME: (dt.time,),
    TIMESTAMP_NAME: (dt.datetime,),
}


def validate(schema: Schema, value: Any, path: str = "") -> None:
    """Check that ``value`` matches ``schema`` all the way down; SchemaError names the first offending path."""
    where = path or "value"
    if value is None:
        if not schema.optional and schema.default is None:
            raise SchemaError(f"{where} is null but its schema is not optional")
        return
    if schema.name is not None and schema.name in _LOGICAL_CLASSES:
        expected = _LOGICAL_CLASSES[schema.name]
        if schema.name == DATE_NAME and isinstance(value, dt.datetime):
            raise SchemaError(f"{where}: Date needs a datetime.date, got a datetime")
        if not isinstance(value, expected):
            raise SchemaError(f"{where}: {schema.name} needs {expected[0].__name__}, got {type(value).__name__}")
        return
    kind = schema.type
    if kind in INTEGER_RANGES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError(f"{where}: {kind.value} needs an int, got {type(value).__name__}")
        low, high = INTEGER_RANGES[kind]
        if not low <= value <= high:
            raise SchemaError(f"{where}: {value} is out of range for {kind.value}")
    elif kind.is_primitive:
        classes = _PRIMITIVE_CLASSES[kind]
        if not isinstance(value, classes) or (kind is not Type.BOOLEAN and isinstance(value, bool)):
            raise SchemaError(f"{where}: {kind.value} needs {classes[0].__name__}, got {type(value).__name__}")
    elif kind is Type.ARRAY:
        if not isinstance(value, list | tuple):
            raise SchemaError(f"{where}: array needs a list, got {type(value).__name__}")
        assert schema.value_schema is not None
        for index, item in enumerate(value):
            validate(schema.value_schema, item, f"{where}[{index}]")
    elif kind is Type.MAP:
        if not isinstance(value, Mapping):
            raise SchemaError(f"{where}: map needs a dict, got {type(value).__name__}")
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        for key, item in value.items():
            validate(schema.key_schema, key, f"{where} key {key!r}")
            validate(schema.value_schema, item, f"{where}[{key!r}]")
    else:
        from hub.sdk.struct import Struct

        if not isinstance(value, Struct):
            raise SchemaError(f"{where}: struct needs a Struct, got {type(value).__name__}")
        if value.schema != schema:
            raise SchemaError(f"{where}: struct has schema {value.schema.name!r}, expected {schema.name!r}")
        value.validate(where)


__all__ = [
    "BOOLEAN_SCHEMA",
    "BYTES_SCHEMA",
    "DATE_NAME",
    "DECIMAL_NAME",
    "FLOAT32_SCHEMA",
    "FLOAT64_SCHEMA",
    "INT8_SCHEMA",
    "INT16_SCHEMA",
    "INT32_SCHEMA",
    "INT64_SCHEMA",
    "OPTIONAL_BOOLEAN_SCHEMA",
    "OPTIONAL_BYTES_SCHEMA",
    "OPTIONAL_FLOAT32_SCHEMA",
    "OPTIONAL_FLOAT64_SCHEMA",
    "OPTIONAL_INT8_SCHEMA",
    "OPTIONAL_INT16_SCHEMA",
    "OPTIONAL_INT32_SCHEMA",
    "OPTIONAL_INT64_SCHEMA",
    "OPTIONAL_STRING_SCHEMA",
    "STRING_SCHEMA",
    "TIMESTAMP_NAME",
    "TIME_NAME",
    "Field",
    "Schema",
    "SchemaError",
    "Type",
    "array_schema",
    "date_schema",
    "decimal_schema",
    "map_schema",
    "struct_schema",
    "time_schema",
    "timestamp_schema",
    "validate",
]
