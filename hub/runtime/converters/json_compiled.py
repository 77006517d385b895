"""The compiled codec of JsonConverter: payload writers, readers and decoders specialised per schema.

Each is compiled once per schema object (cached by identity) and handles the values records usually carry —
plain primitives, logical types and structs of those — with a few type comparisons: writers turn a Struct into an
instance of a msgspec Struct type made for the schema (no dict per record); decoders parse a payload's bytes with
msgspec straight into the schema's types, checking types, integer bounds, nulls and missing fields while parsing.

Invariant: a compiled path gives exactly what the general codec (hub.runtime.converters.json_values) gives. Any
value it does not take as it is goes to the general path, which converts it or reports the error, so errors read
the same on both paths.

Thread-safety: the caches are keyed by schema identity and safe to share; compiled functions hold no state.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
from collections.abc import Callable
from functools import partial
from operator import itemgetter
from typing import Annotated, Any

import msgspec
import msgspec.structs
import orjson

from hub.runtime.converters.json_values import (
    INT_BOUNDS,
    PLAIN_TYPES,
    field_plan,
    plan_of,
    value_from_json,
    value_to_json,
)
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.json_rows import json_row_type
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
    time_to_millis,
    timestamp_from_millis,
    timestamp_to_millis,
)
from hub.sdk.struct import Struct

PayloadReader = Callable[[Any], Any]
PayloadWriter = Callable[[Any], Any]


class _GeneralPathError(Exception):
    """A value the compiled path does not take as it is: the general path converts it, or reports the error."""


def payload_writer(schema: Schema, *, numeric_decimals: bool, replace_null: bool) -> PayloadWriter:
    """``value_to_json`` specialised for ``schema``, for the values records usually carry: plain primitives,
    logical types, and structs of those (Struct.put or the decoder already checked their fields). Other values,
    and any value that fails the quick checks, take the general path, which converts or reports them."""
    general = partial(value_to_json, schema, numeric_decimals=numeric_decimals, replace_null=replace_null)
    if schema.type is not Type.STRUCT:
        field_writer = _field_writer(schema, numeric_decimals, replace_null)
        if field_writer is None:
            _, _, _, python, low, high = field_plan("", schema)
            if low is None or high is None:

                def write_unbounded(value: Any) -> Any:
                    return value if type(value) is python else general(value)

                return write_unbounded

            lower: int = low  # closures do not keep the narrowing
            upper: int = high

            def write_integer(value: Any) -> Any:
                if type(value) is int and lower <= value <= upper:  # exactly int: bools are not integers here
                    return value
                return general(value)

            return write_integer

        def write_value(value: Any) -> Any:
            if value is None:
                return general(value)
            try:
                return field_writer(value)
            except _GeneralPathError:
                return general(value)

        return write_value
    names = tuple(field.name for field in schema.fields)
    converters = tuple(
        (field.index, writer)
        for field in schema.fields
        if (writer := _field_writer(field.schema, numeric_decimals, replace_null))
    )
    defaults = tuple(
        (field.index, value_to_json(field.schema, field.schema.default, numeric_decimals=numeric_decimals))
        for field in schema.fields
        if field.schema.default is not None and replace_null
    )
    required = tuple(field.index for field in schema.fields if not field.schema.optional)
    row_type = json_row_type(names)

    def write_struct(value: Any) -> Any:
        if type(value) is not Struct or value.schema is not schema:
            return general(value)
        items = value.raw_values()
        try:
            for index, convert in converters:
                item = items[index]
                if item is not None:
                    items[index] = convert(item)
        except _GeneralPathError:
            return general(value)
        if None in items:
            for index, default in defaults:
                if items[index] is None:
                    items[index] = default
            if any(items[index] is None for index in required):
                return general(value)  # its error names the field
        return row_type(*items)

    return write_struct


def _field_writer(schema: Schema, numeric_decimals: bool, replace_null: bool) -> PayloadWriter | None:
    """The JSON form of a non-null field value of ``schema`` (None: plain, written as it is); raises
    _GeneralPathError for values it does not handle."""
    name = schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)

        def write_decimal(value: Any) -> Any:
            if type(value) is not decimal.Decimal:
                raise _GeneralPathError
            return value if numeric_decimals else base64.b64encode(decimal_to_bytes(value, scale)).decode()

        return write_decimal
    if name == TIMESTAMP_NAME:
        return _typed(dt.datetime, timestamp_to_millis)
    if name == DATE_NAME:
        return _typed(dt.date, date_to_days)
    if name == TIME_NAME:
        return _typed(dt.time, time_to_millis)
    kind = schema.type
    if kind is Type.BYTES:
        return _typed(bytes, lambda value: base64.b64encode(value).decode())
    if kind is Type.STRUCT:
        return payload_writer(schema, numeric_decimals=numeric_decimals, replace_null=replace_null)
    if kind in PLAIN_TYPES and name is None:
        return None
    return partial(value_to_json, schema, numeric_decimals=numeric_decimals, replace_null=replace_null)


def _typed(python: type, convert: Callable[[Any], Any]) -> PayloadWriter:
    def write(value: Any) -> Any:
        if not isinstance(value, python):
            raise _GeneralPathError
        return convert(value)

    return write


def _compile_reader(schema: Schema) -> PayloadReader:
    """``value_from_json`` specialised for ``schema``: plain primitives and structs of them are checked with a
    few type comparisons and taken as parsed, logical types converted directly; anything else (and any value
    that fails the quick checks, so errors read the same) goes through the general path."""
    if schema.type is Type.STRUCT:
        return _struct_reader(schema)
    read_field = _field_reader(schema)

    def read_value(node: Any) -> Any:
        try:
            return read_field(node)
        except _GeneralPathError:
            return value_from_json(schema, node)

    return read_value


def _struct_reader(schema: Schema) -> PayloadReader:
    plan, plain_names = plan_of(schema)
    from_values = Struct.from_values
    if plain_names is not None:  # every field a plain primitive: one comparison of the value types
        names = plain_names
        types = tuple(python for *_, python, _, _ in plan)
        bounded: list[tuple[int, int, int]] = []
        for index, (*_, low, high) in enumerate(plan):
            if low is not None and high is not None:
                bounded.append((index, low, high))

        # itemgetter reads every field in one C call; it returns a bare value for one name, hence the tuple.
        get_fields = itemgetter(*names) if len(names) > 1 else (lambda node: (node[names[0]],))

        def read_plain_struct(node: Any) -> Any:
            if type(node) is dict:
                try:
                    values = get_fields(node)
                except KeyError:  # a field left out: the general path applies defaults and reports nulls
                    pass
                else:
                    if tuple(map(type, values)) == types:
                        for position, lowest, highest in bounded:
                            if not lowest <= values[position] <= highest:
                                break
                        else:
                            return from_values(schema, list(values))
            return value_from_json(schema, node)

        return read_plain_struct
    fields = tuple((field.name, _field_reader(field.schema)) for field in schema.fields)

    def read_struct(node: Any) -> Any:
        if type(node) is dict:
            try:
                values = [read(node.get(name)) for name, read in fields]
            except _GeneralPathError:
                pass
            else:
                return from_values(schema, values)
        return value_from_json(schema, node)

    return read_struct


def _field_reader(schema: Schema) -> PayloadReader:
    """A value of ``schema`` from parsed JSON (null included); raises _GeneralPathError for what it does not take."""
    null = schema.default
    nullable = schema.optional or schema.default is not None
    name = schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)

        def read_decimal(node: Any) -> Any:
            kind = type(node)
            if kind is str:
                try:
                    return decimal_from_bytes(base64.b64decode(node, validate=True), scale)
                except binascii.Error:
                    raise _GeneralPathError from None
            if kind is int or kind is float:
                return decimal.Decimal(str(node))
            if node is None and nullable:
                return null
            raise _GeneralPathError

        return read_decimal
    if name == TIMESTAMP_NAME:
        return _integer_reader(timestamp_from_millis, null, nullable)
    if name == DATE_NAME:
        return _integer_reader(date_from_days, null, nullable)
    if schema.type is Type.STRUCT:
        nested = payload_reader(schema)

        def read_nested(node: Any) -> Any:
            if node is None:
                if nullable:
                    return null
                raise _GeneralPathError
            return nested(node)

        return read_nested
    _, _, kind, python, low, high = field_plan("", schema)
    if kind is None:  # Time (its range check), bytes, arrays, maps: the general path, nulls included

        def read_general(node: Any) -> Any:
            value = value_from_json(schema, node)
            if value is None and not schema.optional:
                raise _GeneralPathError  # so the struct's general path reports the null field
            return value

        return read_general
    as_float = python is float

    def read_plain(node: Any) -> Any:
        found = type(node)
        if found is python:
            if low is None or low <= node <= high:
                return node
        elif node is None:
            if nullable:
                return null
        elif as_float and found is int:
            return float(node)
        raise _GeneralPathError

    return read_plain


#: The compiled reader of each schema object.
payload_reader: IdentityCache[Schema, PayloadReader] = IdentityCache(_compile_reader)

PayloadDecoder = Callable[[bytes], Any]
#: What a payload decoder raises for JSON it does not take as it is: the caller then takes the general path.
DECODER_REFUSALS = (msgspec.MsgspecError, orjson.JSONDecodeError)


def _compile_decoder(schema: Schema) -> PayloadDecoder:
    """A function from a payload's JSON bytes to its value. Plain primitives and structs of them are parsed by
    msgspec into their types, checked (types, integer bounds, no nulls, no missing fields) while parsing; other
    schemas are parsed by orjson and read by :data:`payload_reader`. Raises one of :data:`DECODER_REFUSALS` for
    what it does not take as it is (so the general path reports it) and DataError for invalid values."""
    if schema.type is Type.STRUCT:
        plan, plain_names = plan_of(schema)
        if plain_names is not None:
            row_type = json_row_type(plain_names, [_msgspec_type(kind) for _, _, kind, *_ in plan])
            decode_row = msgspec.json.Decoder(row_type).decode
            from_values = Struct.from_values
            astuple = msgspec.structs.astuple

            def decode_struct(payload: bytes) -> Any:
                return from_values(schema, list(astuple(decode_row(payload))))

            return decode_struct
    else:
        kind = field_plan("", schema)[2]
        if kind is not None:
            return msgspec.json.Decoder(_msgspec_type(kind)).decode
    read = payload_reader(schema)
    loads = orjson.loads
    return lambda payload: read(loads(payload))


def _msgspec_type(kind: Type | None) -> Any:
    """The msgspec type of a plain primitive's JSON value: integers within their Connect bounds; JSON integers are
    taken for floats as the general path does (as floats)."""
    if kind in INT_BOUNDS:
        low, high = INT_BOUNDS[kind]
        return Annotated[int, msgspec.Meta(ge=low, le=high)]
    return {Type.STRING: str, Type.BOOLEAN: bool}.get(kind, float)  # type: ignore[arg-type]


#: The compiled decoder of each schema object.
payload_decoder: IdentityCache[Schema, PayloadDecoder] = IdentityCache(_compile_decoder)


def _integer_reader(convert: Callable[[int], Any], null: Any, nullable: bool) -> PayloadReader:
    def read(node: Any) -> Any:
        if type(node) is int:
            try:
                return convert(node)
            except (OverflowError, SchemaError):
                raise _GeneralPathError from None
        if node is None and nullable:
            return null
        raise _GeneralPathError

    return read
