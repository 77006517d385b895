"""Connect values ↔ Protobuf messages (dynamic message classes of the converter's descriptors).

Writing fills a message from a Connect value field by field: scalars as they are (a null leaves the proto3
default), Decimal as ``confluent.type.Decimal`` (unscaled big-endian bytes, precision, scale), Date as
``google.type.Date``, Time as ``google.type.TimeOfDay``, Timestamp as ``google.protobuf.Timestamp``, structs as
nested messages, arrays as repeated fields, maps as repeated ``…Entry`` messages (or protobuf maps), a union
struct as the one member it sets. Reading does the reverse by the Connect schema made from the descriptor: unset
message fields are null, scalars their value (proto3 has no null scalars), enums their symbol's name.

Stateless functions: safe from any thread for different messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.runtime.converters.schema_registry.protobuf_schemas import UNION_PREFIX
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    Schema,
    Type,
    decimal_from_bytes,
    decimal_scale,
    decimal_to_bytes,
)
from hub.sdk.struct import Struct

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def fill(message: Any, schema: Schema, value: Struct) -> None:
    """Set ``message``'s fields from a Connect struct of ``schema``."""
    descriptor = message.DESCRIPTOR
    for field in schema.fields:
        item = value.get(field.name)
        if item is None:
            continue
        if field.schema.type is Type.STRUCT and field.schema.name and field.schema.name.startswith(UNION_PREFIX):
            for member in field.schema.fields:
                chosen = item.get(member.name)
                if chosen is not None:
                    _set(message, descriptor.fields_by_name[member.name], member.schema, chosen)
                    break
            continue
        proto_field = descriptor.fields_by_name.get(field.name)
        if proto_field is None:
            raise DataError(f"Cannot find field with name {field.name}")
        _set(message, proto_field, field.schema, item)


def _set(message: Any, proto_field: Any, schema: Schema, value: Any) -> None:
    name = proto_field.name
    if schema.type is Type.ARRAY:
        assert schema.value_schema is not None
        target = getattr(message, name)
        for item in value:
            if proto_field.message_type is None:
                target.append(item)
            else:
                _fill_single(target.add(), schema.value_schema, item)
        return
    if schema.type is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        target = getattr(message, name)
        entry_type = proto_field.message_type
        if entry_type.GetOptions().map_entry:
            value_field = entry_type.fields_by_name["value"]
            for key, item in value.items():
                if value_field.message_type is None:
                    target[key] = item
                else:
                    _fill_single(target[key], schema.value_schema, item)
            return
        for key, item in value.items():
            entry = target.add()
            _set(entry, entry_type.fields_by_name["key"], schema.key_schema, key)
            if item is not None:
                _set(entry, entry_type.fields_by_name["value"], schema.value_schema, item)
        return
    if proto_field.message_type is not None:
        _fill_single(getattr(message, name), schema, value)
        return
    if proto_field.enum_type is not None and isinstance(value, str):
        symbol = proto_field.enum_type.values_by_name.get(value)
        if symbol is None:
            raise DataError(f"{value!r} is not a symbol of enum {proto_field.enum_type.name}")
        value = symbol.number
    try:
        setattr(message, name, bytes(value) if schema.type is Type.BYTES else value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"field {name!r}: {exc}") from None


def _fill_single(target: Any, schema: Schema, value: Any) -> None:
    """Fill a message-typed field (a logical type's well-known message or a nested struct)."""
    name = schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)
        target.value = decimal_to_bytes(value, scale)
        target.scale = scale
        precision = schema.params.get("connect.decimal.precision")
        target.precision = int(precision) if precision else max(len(value.as_tuple().digits), scale + 1)
    elif name == DATE_NAME:
        target.year, target.month, target.day = value.year, value.month, value.day
    elif name == TIME_NAME:
        target.hours, target.minutes, target.seconds = value.hour, value.minute, value.second
        target.nanos = value.microsecond * 1000
    elif name == TIMESTAMP_NAME:
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        delta = moment - _EPOCH
        target.seconds = delta.days * 86_400 + delta.seconds
        target.nanos = delta.microseconds * 1000
    else:
        fill(target, schema, value)


def read(message: Any, schema: Schema) -> Struct:
    """The Connect struct of ``schema`` (made from ``message``'s descriptor) holding ``message``."""
    values: list[Any] = []
    for field in schema.fields:
        if field.schema.type is Type.STRUCT and field.schema.name and field.schema.name.startswith(UNION_PREFIX):
            chosen = message.WhichOneof(field.name)
            members: list[Any] = [None] * len(field.schema.fields)
            if chosen is None:
                values.append(None)
                continue
            member = field.schema.field(chosen)
            members[member.index] = _get(message, message.DESCRIPTOR.fields_by_name[chosen], member.schema)
            values.append(Struct.from_values(field.schema, members))
            continue
        values.append(_get(message, message.DESCRIPTOR.fields_by_name[field.name], field.schema))
    return Struct.from_values(schema, values)


def _get(message: Any, proto_field: Any, schema: Schema) -> Any:
    name = proto_field.name
    if schema.type is Type.ARRAY:
        assert schema.value_schema is not None
        items = getattr(message, name)
        if proto_field.message_type is None:
            return [_scalar(proto_field, schema.value_schema, item) for item in items]
        return [_single(item, schema.value_schema) for item in items]
    if schema.type is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        entries = getattr(message, name)
        entry_type = proto_field.message_type
        value_field = entry_type.fields_by_name["value"]
        if entry_type.GetOptions().map_entry:
            return {
                key: (
                    _scalar(value_field, schema.value_schema, item)
                    if value_field.message_type is None
                    else _single(item, schema.value_schema)
                )
                for key, item in entries.items()
            }
        key_field = entry_type.fields_by_name["key"]
        return {
            _get(entry, key_field, schema.key_schema): _get(entry, value_field, schema.value_schema)
            for entry in entries
        }
    if proto_field.message_type is not None:
        return _single(getattr(message, name), schema) if message.HasField(name) else None
    return _scalar(proto_field, schema, getattr(message, name))


def _scalar(proto_field: Any, schema: Schema, value: Any) -> Any:
    if proto_field.enum_type is not None:
        symbol = proto_field.enum_type.values_by_number.get(value)
        return symbol.name if symbol is not None else str(value)
    return value


def _single(message: Any, schema: Schema) -> Any:
    name = schema.name
    if name == DECIMAL_NAME:
        return decimal_from_bytes(message.value, message.scale)
    if name == DATE_NAME:
        return dt.date(message.year, message.month, message.day)
    if name == TIME_NAME:
        return dt.time(message.hours, message.minutes, message.seconds, message.nanos // 1000)
    if name == TIMESTAMP_NAME:
        return _EPOCH + dt.timedelta(seconds=message.seconds, microseconds=message.nanos // 1000)
    return read(message, schema)


__all__ = ["fill", "read"]
