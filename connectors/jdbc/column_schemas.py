"""Connect schemas for database columns, and row values converted to them (the source side of the JDBC connectors).

Table columns are mapped from their SQLAlchemy types (reflected from the database's catalog); the columns of a
custom ``query`` from the values the query returns. ``numeric.mapping`` decides how NUMERIC/DECIMAL columns
travel, as in Confluent's connector:

- ``none``: Connect's Decimal logical type at the column's scale;
- ``best_fit``: the smallest integer type that holds the column's precision when its scale is 0, FLOAT64 when
  precision ≤ 15 with a scale, Decimal otherwise;
- ``best_fit_eager_double``: as best_fit, but any column with a scale becomes FLOAT64;
- ``precision_only``: only scale-0 columns become integer types;
- ``double`` and ``string`` (Debezium's ``decimal.handling.mode``): every NUMERIC as FLOAT64, or as its exact text.

NUMERIC without a declared precision (PostgreSQL's plain ``numeric``) cannot be a Connect Decimal, whose scale is
fixed: it travels as FLOAT64 under the best_fit modes and as its exact decimal text (STRING) otherwise.
JSON, arrays, intervals, UUIDs and other types without a Connect counterpart travel as text (JSON for JSON and
arrays). Timestamps keep their microseconds in the record value (a ``datetime``); JsonConverter writes Connect's
millisecond form, and source offsets keep the microseconds (see ``source/querier.py``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from hub.sdk.schema import (
    Schema,
    Type,
    date_schema,
    decimal_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)

NUMERIC_MAPPINGS = ("none", "best_fit", "best_fit_eager_double", "precision_only")

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """How one column travels: its Connect schema and the function turning a driver value into a Connect value."""

    name: str
    schema: Schema
    convert: Convert


def same(value: Any) -> Any:
    """The identity conversion: the driver already returns the Connect value (readers skip calling it)."""
    return value


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _json_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str, separators=(",", ":"))


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _int(value: Any) -> Any:
    return None if value is None else int(value)


def _utc_timestamp(value: Any) -> Any:
    """Datetimes pass as they are (an instant: naive ones are UTC, as ``db.timezone`` says); SQLite's text is parsed."""
    if isinstance(value, str):  # SQLite keeps timestamps as text
        return dt.datetime.fromisoformat(value)
    return value


def _date(value: Any) -> Any:
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _time(value: Any) -> Any:
    if isinstance(value, dt.timedelta):  # MySQL returns TIME as a duration
        return (dt.datetime.min + value).time()
    if isinstance(value, str):
        return dt.time.fromisoformat(value)
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _decimal_at(scale: int) -> Convert:
    quantum = decimal.Decimal(1).scaleb(-scale)

    def convert(value: Any) -> Any:
        if value is None or type(value) is decimal.Decimal:  # exact from the driver; encoders apply the scale
            return value
        return decimal.Decimal(str(value)).quantize(quantum, rounding=decimal.ROUND_HALF_UP)

    return convert


def _integer_type(precision: int) -> Type | None:
    for bound, kind in ((2, Type.INT8), (4, Type.INT16), (9, Type.INT32), (18, Type.INT64)):
        if precision <= bound:
            return kind
    return None


def _numeric(precision: int | None, scale: int | None, mapping: str, optional: bool) -> tuple[Schema, Convert]:
    if mapping == "double" or (precision is None and mapping.startswith("best_fit")):
        return Schema(Type.FLOAT64, optional=optional), _float
    if mapping == "string" or precision is None:
        return Schema(Type.STRING, optional=optional), _text
    scale = scale or 0
    if mapping != "none":
        if scale == 0 and (kind := _integer_type(precision)) is not None:
            return Schema(kind, optional=optional), _int
        if scale > 0 and (mapping == "best_fit_eager_double" or (mapping == "best_fit" and precision <= 15)):
            return Schema(Type.FLOAT64, optional=optional), _float
    return decimal_schema(scale, optional=optional), _decimal_at(scale)


def column_mapping(
    name: str, column_type: sa.types.TypeEngine[Any], nullable: bool, numeric_mapping: str
) -> ColumnMapping:
    """The mapping of a reflected column."""
    schema, convert = _for_type(column_type, nullable, numeric_mapping)
    return ColumnMapping(name, schema, convert)


def _for_type(kind: sa.types.TypeEngine[Any], optional: bool, numeric_mapping: str) -> tuple[Schema, Convert]:
    def plain(schema_type: Type, convert: Convert = same) -> tuple[Schema, Convert]:
        return Schema(schema_type, optional=optional), convert

    if isinstance(kind, sa.String):  # text, varchar, enums: str from every driver
        return plain(Type.STRING)
    if isinstance(kind, sa.Boolean):
        return plain(Type.BOOLEAN, lambda v: None if v is None else bool(v))
    # Integer and floating-point columns come back as int and float from every driver.
    if isinstance(kind, mysql.TINYINT):
        return plain(Type.INT8)
    if isinstance(kind, sa.SmallInteger):
        return plain(Type.INT16)
    if isinstance(kind, sa.BigInteger):
        return plain(Type.INT64)
    if isinstance(kind, sa.Integer):
        unsigned = getattr(kind, "unsigned", False)
        return plain(Type.INT64 if unsigned else Type.INT32)
    if isinstance(kind, sa.Float | postgresql.DOUBLE_PRECISION | sa.Double):
        precision = getattr(kind, "precision", None)
        return plain(Type.FLOAT32 if precision is not None and precision <= 24 else Type.FLOAT64)
    if isinstance(kind, sa.Numeric):
        return _numeric(kind.precision, kind.scale, numeric_mapping, optional)
    if isinstance(kind, sa.DateTime):
        return timestamp_schema(optional=optional), _utc_timestamp
    if isinstance(kind, sa.Date):
        return date_schema(optional=optional), _date
    if isinstance(kind, sa.Time):
        return time_schema(optional=optional), _time
    if isinstance(kind, sa.LargeBinary | sa.BINARY | sa.VARBINARY):
        return plain(Type.BYTES, _bytes)
    if isinstance(kind, sa.JSON | sa.ARRAY):
        return plain(Type.STRING, _json_text)
    return plain(Type.STRING, _text)  # text, enums, UUIDs, intervals, network types, …


def table_schema(name: str, mappings: Sequence[ColumnMapping]) -> Schema:
    """The value schema of a table's rows (named after the table, as Confluent's connector names it)."""
    return struct_schema([(m.name, m.schema) for m in mappings], name=name, optional=False)


def value_mapping(name: str, sample: Any) -> ColumnMapping:
    """The mapping of a custom query's column, from a value it returned (None: text until a value says more).

    Query columns carry no catalog types here, so every column is optional.
    """
    if isinstance(sample, bool):
        return ColumnMapping(name, Schema(Type.BOOLEAN, optional=True), same)
    if isinstance(sample, int):
        return ColumnMapping(name, Schema(Type.INT64, optional=True), _int)
    if isinstance(sample, float):
        return ColumnMapping(name, Schema(Type.FLOAT64, optional=True), _float)
    if isinstance(sample, decimal.Decimal):
        exponent = sample.as_tuple().exponent
        scale = max(0, -exponent) if isinstance(exponent, int) else 0
        return ColumnMapping(name, decimal_schema(scale, optional=True), _decimal_at(scale))
    if isinstance(sample, dt.datetime):
        return ColumnMapping(name, timestamp_schema(optional=True), _utc_timestamp)
    if isinstance(sample, dt.date):
        return ColumnMapping(name, date_schema(optional=True), _date)
    if isinstance(sample, dt.time | dt.timedelta):
        return ColumnMapping(name, time_schema(optional=True), _time)
    if isinstance(sample, bytes | bytearray | memoryview):
        return ColumnMapping(name, Schema(Type.BYTES, optional=True), _bytes)
    if isinstance(sample, dict | list):
        return ColumnMapping(name, Schema(Type.STRING, optional=True), _json_text)
    if isinstance(sample, uuid.UUID):
        return ColumnMapping(name, Schema(Type.STRING, optional=True), _text)
    return ColumnMapping(name, Schema(Type.STRING, optional=True), _text)
