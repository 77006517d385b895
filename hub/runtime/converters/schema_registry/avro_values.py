"""Connect values ↔ the Python data fastavro writes and reads, compiled once per Connect schema.

Writing: a struct becomes a dict of its fields (a field's default when it is unset, as Connect's ``Struct.get``),
a Decimal its unscaled big-endian bytes at the schema's scale (so a value with more digits is rounded half-up, as
Hub's JsonConverter does), a map with non-string keys a list of ``{"key", "value"}`` entries; Date, Time and
Timestamp go to fastavro as ``date``/``time``/``datetime``, which it encodes by their Avro logical types. A
``io.confluent.connect.avro.Union`` struct writes its one non-null field, named when the branch is a record.

Reading: fastavro gives dicts (with ``return_record_name`` for unions of several records), ``Decimal``, ``date``,
``time`` and ``datetime`` already; they become Structs, dicts and lists of the Connect schema.

Functions are pure and the compiled closures stateless: safe from any thread.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

from hub.runtime.converters.schema_registry.avro_schemas import UNION
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    Schema,
    Type,
    date_from_days,
    decimal_from_bytes,
    decimal_scale,
    decimal_to_bytes,
    time_from_millis,
    timestamp_from_millis,
)
from hub.sdk.struct import Struct

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def is_same(convert: Convert) -> bool:
    """Whether ``convert`` gives every value as it is (no call needed)."""
    return convert is _same


def _as_bytes(value: Any) -> Any:
    return value if value is None or type(value) is bytes else bytes(value)


def writer(schema: Schema) -> Convert:
    """Connect value → fastavro datum for ``schema``."""
    kind, name = schema.type, schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)
        return lambda value: None if value is None else decimal_to_bytes(value, scale)
    if kind.is_primitive:
        return _as_bytes if kind is Type.BYTES else _same
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = writer(schema.value_schema)
        if item is _same:
            return lambda value: None if value is None else list(value)
        return lambda value: None if value is None else [item(x) for x in value]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        key, val = writer(schema.key_schema), writer(schema.value_schema)
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return lambda value: None if value is None else {k: val(v) for k, v in value.items()}
        return lambda value: None if value is None else [{"key": key(k), "value": val(v)} for k, v in value.items()]
    if name == UNION:
        return _union_writer(schema)
    return _struct_writer(schema)


def _struct_writer(schema: Schema) -> Convert:
    plan = [(f.name, f.index, writer(f.schema), f.schema.default) for f in schema.fields]
    if all(convert is _same and default is None for _, _, convert, default in plan):
        names = [f.name for f in schema.fields]

        def write_plain(value: Any) -> Any:  # every field as it is: no per-field call
            if value is None:
                return None
            if not isinstance(value, Struct):
                raise DataError(f"struct {schema.name or ''} needs a Struct, got {type(value).__name__}")
            return dict(zip(names, value.raw_values(), strict=True))

        return write_plain

    def write(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Struct):
            raise DataError(f"struct {schema.name or ''} needs a Struct, got {type(value).__name__}")
        raw = value.raw_values()
        out = {}
        for field_name, index, convert, default in plan:
            item = raw[index]
            out[field_name] = convert(default if item is None else item)
        return out

    return write


def _union_writer(schema: Schema) -> Convert:
    plan = [(f.index, writer(f.schema), f.schema) for f in schema.fields]

    def write(value: Any) -> Any:
        if value is None:
            return None
        raw = value.raw_values()
        for index, convert, member in plan:
            if raw[index] is not None:
                datum = convert(raw[index])
                return (member.name, datum) if member.type is Type.STRUCT and member.name else datum
        return None

    return write


def reader(schema: Schema) -> Convert:
    """fastavro datum → Connect value for ``schema``."""
    kind, name = schema.type, schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)
        return _logical(lambda data: decimal_from_bytes(bytes(data), scale), decimal.Decimal)
    if name in (DATE_NAME, TIME_NAME, TIMESTAMP_NAME):
        return _LOGICAL_READERS[name]
    if kind.is_primitive:
        return _as_bytes if kind is Type.BYTES else _same
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = reader(schema.value_schema)
        return lambda value: None if value is None else [item(x) for x in value]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        key, val = reader(schema.key_schema), reader(schema.value_schema)
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return lambda value: None if value is None else {k: val(v) for k, v in value.items()}
        return lambda value: None if value is None else {key(e["key"]): val(e["value"]) for e in value}
    if name == UNION:
        return _union_reader(schema)
    plan = [(f.name, reader(f.schema)) for f in schema.fields]
    from_values = Struct.from_values
    if all(convert is _same for _, convert in plan):
        names = [name for name, _ in plan]

        def read_plain(value: Any) -> Any:  # fastavro gives the fields in the writer's order, which is the schema's
            if value is None:
                return None
            if type(value) is tuple:
                value = value[1]
            values = list(value.values())
            return from_values(schema, values if len(values) == len(names) else [value.get(n) for n in names])

        return read_plain

    def read(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is tuple:  # a record of a union of several records: (its name, the record)
            value = value[1]
        return from_values(schema, [convert(value.get(field_name)) for field_name, convert in plan])

    return read


def _union_reader(schema: Schema) -> Convert:
    plan = [(f.name, f.schema, reader(f.schema)) for f in schema.fields]

    def read(value: Any) -> Any:
        if value is None:
            return None
        named = value[0].rpartition(".")[2] if type(value) is tuple else None
        values: list[Any] = [None] * len(plan)
        for index, (field_name, member, convert) in enumerate(plan):
            if named == field_name or (named is None and _fits(member, value)):
                values[index] = convert(value)
                return Struct.from_values(schema, values)
        raise DataError(f"no branch of the Avro union {[p[0] for p in plan]} fits a {type(value).__name__}")

    return read


def _fits(schema: Schema, value: Any) -> bool:
    kind = schema.type
    if schema.name in _LOGICAL_CLASSES:
        return isinstance(value, _LOGICAL_CLASSES[schema.name])
    if kind in (Type.INT8, Type.INT16, Type.INT32, Type.INT64):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _CLASSES[kind])


def _logical(convert: Callable[[Any], Any], native: type | tuple[type, ...]) -> Convert:
    def read(value: Any) -> Any:
        if value is None or isinstance(value, native):
            return value
        return convert(value)

    return read


_LOGICAL_CLASSES: dict[str, type | tuple[type, ...]] = {
    DECIMAL_NAME: decimal.Decimal,
    DATE_NAME: dt.date,
    TIME_NAME: dt.time,
    TIMESTAMP_NAME: dt.datetime,
}
_LOGICAL_READERS: dict[str, Convert] = {
    DATE_NAME: _logical(date_from_days, dt.date),
    TIME_NAME: _logical(time_from_millis, dt.time),
    TIMESTAMP_NAME: _logical(timestamp_from_millis, dt.datetime),
}
_CLASSES: dict[Type, type | tuple[type, ...]] = {
    Type.FLOAT32: float,
    Type.FLOAT64: float,
    Type.BOOLEAN: bool,
    Type.STRING: str,
    Type.BYTES: bytes,
    Type.ARRAY: list,
    Type.MAP: (dict, list),
    Type.STRUCT: dict,
}
