"""How JdbcSink values travel in PostgreSQL's binary ``COPY``: per column, the type whose binary format the column
reads and the conversion of the record values, chosen so that the column stores exactly what the statement path
stores for the same value (``sql_types.bind_value`` bound as a parameter and cast to the column type).

=====================================  ==========================  ==============================================
Connect schema                         column type                 conversion
=====================================  ==========================  ==============================================
any (or schemaless)                    json, jsonb                 ``to_jsonable``, wrapped (None: JSON null, as
                                                                   SQLAlchemy binds it)
INT8 … INT64                           smallint, integer, bigint,  none; a range check where the schema's range
                                       numeric                     is wider than the column's
INT8 … INT32 / INT8 … INT64            real / double precision     none
FLOAT32, FLOAT64                       real, double precision      real: a check that the value neither overflows
                                                                   nor underflows, as the float8 cast checks
BOOLEAN                                boolean                     none
STRING                                 text, varchar, char         none
BYTES                                  bytea                       none
Decimal                                numeric                     none (the column's scale rounds)
Date / Time                            date / time                 none; Time: a check that it has no zone
Timestamp                              timestamp, timestamptz      as ``sql_types.timestamp_converter`` (UTC
                                                                   wall-clock time: sent as an instant)
STRUCT, ARRAY, MAP                     text, varchar, char         compact JSON text, as ``bind_value``
=====================================  ==========================  ==============================================

Any other pair raises NotCopyableError: the rows of that binding are written with statements. Binary integers and
floats are not range-checked by the server the way a cast is, so the checks above raise ValueError for a value the
cast would refuse; the chunk is then written with statements and fails (or is isolated) as before. Values are
otherwise taken to fit their schemas, as Structs are checked to.

Pure functions; safe to call from any thread.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Json, Jsonb
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from connectors.jdbc.sql_types import Convert, bind_value, is_utc, json_text, timestamp_converter, to_jsonable
from hub.sdk import Schema, Type
from hub.sdk.schema import DATE_NAME, DECIMAL_NAME, INTEGER_RANGES, TIME_NAME, TIMESTAMP_NAME

_FLOAT4_PRECISION = 24  # binary digits: FLOAT(p) with p up to 24 is real on PostgreSQL
_FLOAT8_EXACT_INTEGERS = 2**53  # integers up to this convert to double exactly, so to real with one rounding
#: The range of each PostgreSQL integer type.
_INTEGER_COLUMNS: Mapping[str, tuple[int, int]] = {
    "int2": INTEGER_RANGES[Type.INT16],
    "int4": INTEGER_RANGES[Type.INT32],
    "int8": INTEGER_RANGES[Type.INT64],
}
#: Column classes read as text: plain character types (not enums or domains, which SQLAlchemy types differently).
_TEXT_COLUMNS = (sa.String, sa.Text, sa.VARCHAR, sa.CHAR, sa.TEXT, sa.Unicode, sa.UnicodeText, sa.NVARCHAR, sa.NCHAR)


class NotCopyableError(Exception):
    """A column whose values binary COPY could store differently from a bound parameter."""


@dataclass(frozen=True)
class CopyForm:
    """How one column's values are copied: the type of the binary format (a psycopg type name) and the
    conversion of the values (None: they pass as they are)."""

    type_name: str
    convert: Convert | None = None


def copy_form(schema: Schema | None, column: TypeEngine[Any], timezone: dt.tzinfo) -> CopyForm:
    """The binary COPY form of values of ``schema`` for a column of type ``column``; NotCopyableError when the pair
    is not one of those in the module docstring."""
    if isinstance(column, postgresql.JSONB):
        return CopyForm("jsonb", lambda value: Jsonb(to_jsonable(value)))
    if isinstance(column, sa.JSON):
        return CopyForm("json", lambda value: Json(to_jsonable(value)))
    if schema is None:
        raise NotCopyableError("schemaless values")
    name, kind = schema.name, schema.type
    if name == DECIMAL_NAME:
        form = CopyForm("numeric") if _is_numeric(column) else None
    elif name == DATE_NAME:
        form = CopyForm("date") if isinstance(column, sa.Date) and not isinstance(column, sa.DateTime) else None
    elif name == TIME_NAME:
        form = CopyForm("time", _zoneless_time) if isinstance(column, sa.Time) and not column.timezone else None
    elif name == TIMESTAMP_NAME:
        form = None
        if isinstance(column, sa.DateTime) and (column.timezone or is_utc(timezone)):
            # timestamp and timestamptz share a binary format (microseconds since 2000): an instant sent as
            # timestamptz lands in a timestamp column as its UTC wall-clock time, with no conversion to compute
            form = CopyForm("timestamptz", _instant(column, timezone))
        elif isinstance(column, sa.DateTime):
            form = CopyForm("timestamp", timestamp_converter(column, timezone))
    elif not kind.is_primitive:
        form = CopyForm("text", json_text) if type(column) in _TEXT_COLUMNS else None
    elif kind in INTEGER_RANGES:
        form = _integer_form(INTEGER_RANGES[kind], column)
    elif kind in (Type.FLOAT32, Type.FLOAT64):
        form = None
        if isinstance(column, sa.Float):
            form = CopyForm("float4", _float4) if _is_real(column) else CopyForm("float8")
    elif kind is Type.BOOLEAN:
        form = CopyForm("bool") if isinstance(column, sa.Boolean) else None
    elif kind is Type.STRING:
        form = CopyForm("text") if type(column) in _TEXT_COLUMNS else None
    else:
        form = CopyForm("bytea") if isinstance(column, sa.LargeBinary) else None
    if form is None:
        raise NotCopyableError(f"{name or kind.value} values in a {type(column).__name__} column")
    return form


def _integer_form(values: tuple[int, int], column: TypeEngine[Any]) -> CopyForm | None:
    if isinstance(column, sa.Integer):
        type_name = (
            "int2" if isinstance(column, sa.SmallInteger) else "int8" if isinstance(column, sa.BigInteger) else "int4"
        )
        low, high = _INTEGER_COLUMNS[type_name]
        if low <= values[0] and values[1] <= high:
            return CopyForm(type_name)
        return CopyForm(type_name, _in_range(low, high, type_name))
    if _is_numeric(column):
        return CopyForm("numeric")
    if isinstance(column, sa.Float):
        if not _is_real(column):
            return CopyForm("float8")
        if values[1] <= _FLOAT8_EXACT_INTEGERS:
            return CopyForm("float4")
    return None


def _in_range(low: int, high: int, type_name: str) -> Convert:
    def check(value: Any) -> Any:
        if value is not None and not low <= value <= high:
            raise ValueError(f"{value} is out of range for {type_name}")
        return value

    return check


def _float4(value: Any) -> Any:
    """``value`` for a real column, if the float8 → float4 cast takes it (ints: if they convert with one rounding)."""
    if type(value) is float:
        rounded: float = struct.unpack("f", struct.pack("f", value))[0]  # OverflowError: the cast overflows too
        if rounded == 0.0 and value != 0.0:
            raise ValueError(f"{value} underflows real")
    elif type(value) is int and abs(value) > _FLOAT8_EXACT_INTEGERS:
        raise ValueError(f"{value} would be rounded twice on its way to real")
    return value


def _instant(column: TypeEngine[Any], timezone: dt.tzinfo) -> Convert:
    """Timestamps as instants (a naive one taken as UTC, as ``bind_value`` takes it)."""

    def convert(value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            return bind_value(value, None, column, timezone)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    return convert


def _zoneless_time(value: Any) -> Any:
    if isinstance(value, dt.time) and value.tzinfo is not None:
        raise ValueError("a Time with a time zone is cast by the server, not copied")
    return value


def _is_numeric(column: TypeEngine[Any]) -> bool:
    return isinstance(column, sa.Numeric) and not isinstance(column, sa.Float)


def _is_real(column: sa.Float[Any]) -> bool:
    return isinstance(column, sa.REAL) or (column.precision is not None and column.precision <= _FLOAT4_PRECISION)
