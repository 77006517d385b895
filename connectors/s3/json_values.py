"""Connect values as JSON, the way Kafka Connect's JsonConverter writes them without schemas.

Structs become objects (a null field takes its schema default), maps with string keys objects and other maps
arrays of ``[key, value]`` pairs, bytes base64 strings, Decimals base64 of the unscaled value (``BASE64``) or plain
numbers (``NUMERIC``), Dates days, Times and Timestamps milliseconds. An encoder is compiled once per schema.

Structs, the common case, are converted a column at a time over the whole batch; each row then becomes an instance
of a msgspec Struct type made for the schema, and msgspec writes the batch's lines in one call (half the time of a
dict and an ``orjson.dumps`` per row). Other values go through orjson, values without a schema through its
fallback hook. The two differ only in how they spell large float exponents (``1e16`` / ``1e+16``), both JSON.

Compiled encoders are pure functions; thread-safe.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import orjson

from hub.sdk import Schema, Struct, Type
from hub.sdk.json_rows import json_row_type
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    date_to_days,
    decimal_scale,
    decimal_to_bytes,
    time_to_millis,
    timestamp_to_millis,
)

Convert = Callable[[Any], Any]
Encode = Callable[[Sequence[Any]], bytes | bytearray]
#: Wraps text that is already JSON (a NUMERIC decimal) for the library writing it.
Verbatim = Callable[[bytes], Any]

#: orjson options of one JSON line; datetimes go through ``schemaless`` so they become milliseconds.
LINE_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS = dt.timedelta(milliseconds=1)


def json_lines(schema: Schema | None, decimal_numeric: bool) -> Encode:
    """A function writing values of ``schema`` as JSON lines."""
    dumps = orjson.dumps
    if schema is not None and schema.type is Type.STRUCT:
        return _struct_lines(schema, decimal_numeric)
    convert = None if schema is None else _compile(schema, decimal_numeric, orjson.Fragment)

    def encode(values: Sequence[Any]) -> bytearray:
        # One bytearray that each line is appended to (and freed at once): a list of lines joined afterwards
        # costs about a microsecond more per line in allocations.
        data = bytearray()
        for value in values:
            data += dumps(value if convert is None else convert(value), default=schemaless, option=LINE_OPTIONS)
        return data

    return encode


def _struct_lines(schema: Schema, numeric: bool) -> Encode:
    """Structs a column at a time: defaults and conversions run over lists, then msgspec writes the rows."""
    names = [field.name for field in schema.fields]
    row_type = json_row_type(names)
    encode_lines = msgspec.json.Encoder(enc_hook=schemaless).encode_lines
    defaults = [(field.index, field.schema.default) for field in schema.fields if field.schema.default is not None]
    columns = [(field.index, column) for field in schema.fields if (column := _column(field.schema, numeric))]

    def encode(values: Sequence[Any]) -> bytes:
        rows = [value.raw_values() for value in values]
        for index, default in defaults:
            for row in rows:
                if row[index] is None:
                    row[index] = default
        for index, convert_column in columns:
            for row, item in zip(rows, convert_column([row[index] for row in rows]), strict=True):
                row[index] = item
        return encode_lines([row_type(*row) for row in rows])

    return encode


def _column(schema: Schema, numeric: bool) -> Callable[[list[Any]], list[Any]] | None:
    """A conversion of a whole column of values of ``schema`` (None: they are JSON-ready)."""
    if schema.name == TIMESTAMP_NAME:
        return _millis_column
    convert = _compile(schema, numeric, msgspec.Raw)
    if convert is None:
        return None
    return lambda column: [convert(item) for item in column]


def _millis(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    return (value - _UTC_EPOCH) // _ONE_MS if value.tzinfo is not None else timestamp_to_millis(value)


def _millis_column(column: list[Any]) -> list[Any]:
    try:  # the common case inline: aware datetimes
        return [None if item is None else (item - _UTC_EPOCH) // _ONE_MS for item in column]
    except TypeError:  # naive datetimes are UTC, as everywhere in Connect
        return [_millis(item) for item in column]


def _base64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _nullable(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _compile(schema: Schema, numeric: bool, verbatim: Verbatim) -> Convert | None:
    """A converter of one value of ``schema`` (null included), or None when the values are JSON-ready."""
    name = schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)
        if numeric:
            return _nullable(lambda value: verbatim(str(value).encode()))
        return _nullable(lambda value: _base64(decimal_to_bytes(value, scale)))
    if name == DATE_NAME:
        return _nullable(date_to_days)
    if name == TIME_NAME:
        return _nullable(time_to_millis)
    if name == TIMESTAMP_NAME:
        return _millis
    kind = schema.type
    if kind is Type.BYTES:
        return _nullable(_base64)
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = _compile(schema.value_schema, numeric, verbatim)
        return None if item is None else _nullable(lambda value: [item(entry) for entry in value])
    if kind is Type.MAP:
        return _map_converter(schema, numeric, verbatim)
    if kind is Type.STRUCT:
        return _struct_converter(schema, numeric, verbatim)
    return None


def _map_converter(schema: Schema, numeric: bool, verbatim: Verbatim) -> Convert | None:
    assert schema.key_schema is not None
    assert schema.value_schema is not None
    key = _compile(schema.key_schema, numeric, verbatim)
    item = _compile(schema.value_schema, numeric, verbatim)
    if schema.key_schema.type is Type.STRING:
        if item is None:
            return None
        return _nullable(lambda value: {k: item(v) for k, v in value.items()})
    key_of = key or (lambda k: k)
    item_of = item or (lambda v: v)
    return _nullable(lambda value: [[key_of(k), item_of(v)] for k, v in value.items()])


def _struct_converter(schema: Schema, numeric: bool, verbatim: Verbatim) -> Convert:
    names = tuple(field.name for field in schema.fields)
    converters = [
        (field.index, found) for field in schema.fields if (found := _compile(field.schema, numeric, verbatim))
    ]
    defaults = [(field.index, field.schema.default) for field in schema.fields if field.schema.default is not None]

    def convert(value: Struct | None) -> dict[str, Any] | None:
        if value is None:
            return None
        values = value.raw_values()
        for index, default in defaults:
            if values[index] is None:
                values[index] = default
        for index, field_convert in converters:
            values[index] = field_convert(values[index])
        return dict(zip(names, values, strict=True))

    return convert


def schemaless(value: Any) -> Any:
    """orjson's fallback for values without a schema: structs, bytes, decimals, dates and times. Also msgspec's
    hook on the struct path, where converted rows leave it only values no schema allows (a clear TypeError)."""
    if isinstance(value, Struct):
        return _struct_converter(value.schema, False, orjson.Fragment)(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _base64(bytes(value))
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value))
    if isinstance(value, dt.datetime):
        return timestamp_to_millis(value)
    if isinstance(value, dt.date):
        return date_to_days(value)
    if isinstance(value, dt.time):
        return time_to_millis(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")
