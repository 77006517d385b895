"""Connect schemas as SQL column types, and record values as the values bound to columns.

Column types when the sink creates a table or adds a column:

========================  =======================  ======================  ===========
Connect                   PostgreSQL               MySQL / MariaDB         SQLite
========================  =======================  ======================  ===========
INT8 / INT16              SMALLINT                 TINYINT / SMALLINT      SMALLINT
INT32 / INT64             INTEGER / BIGINT         INTEGER / BIGINT        INTEGER / BIGINT
FLOAT32 / FLOAT64         REAL / DOUBLE PRECISION  FLOAT / DOUBLE          REAL / DOUBLE
BOOLEAN                   BOOLEAN                  BOOL                    BOOLEAN
STRING                    TEXT                     TEXT, key VARCHAR(255)  TEXT
BYTES                     BYTEA                    BLOB, key VARBINARY     BLOB
Decimal (scale s)         NUMERIC(p, s) / NUMERIC  DECIMAL(p or 65, s)     NUMERIC
Date / Time               DATE / TIME              DATE / TIME(6)          DATE / TIME
Timestamp                 TIMESTAMP                DATETIME(6)             DATETIME
STRUCT / ARRAY / MAP      JSONB                    LONGTEXT (JSON text)    TEXT (JSON text)
========================  =======================  ======================  ===========

``p`` is the schema's ``connect.decimal.precision`` parameter when present. MySQL cannot index TEXT or BLOB, so
key columns there are VARCHAR(255) / VARBINARY(255). Nested values are written as JSON: structs and maps as
objects, decimals as strings, bytes as base64, dates and times in ISO 8601.

``bind_value`` turns a value into what the driver should receive for a column; ``bind_converter`` picks, once per
column, a function doing the same for all values of a schema (None where they pass unchanged, which is most
columns), relying on the values having been checked against their schemas (as Structs are).

Pure functions; safe to call from any thread.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.types import TypeEngine

from hub.sdk import Schema, Struct, Type
from hub.sdk.schema import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, decimal_scale

DECIMAL_PRECISION_PARAMETER = "connect.decimal.precision"
_MYSQL_MAX_PRECISION = 65
_MYSQL_MAX_SCALE = 30
_MYSQL_KEY_LENGTH = 255

#: A conversion of one column's values, chosen once per column.
Convert = Callable[[Any], Any]


_PRIMITIVES: Mapping[Type, type[TypeEngine[Any]]] = {
    Type.INT8: sa.SmallInteger,
    Type.INT16: sa.SmallInteger,
    Type.INT32: sa.Integer,
    Type.INT64: sa.BigInteger,
    Type.FLOAT32: sa.REAL,
    Type.FLOAT64: sa.Double,
    Type.BOOLEAN: sa.Boolean,
    Type.STRING: sa.Text,
    Type.BYTES: sa.LargeBinary,
}


def column_type(schema: Schema, dialect: str, *, key: bool = False) -> TypeEngine[Any]:
    """The SQL type of a column holding values of ``schema`` on ``dialect`` (postgresql, mysql or sqlite)."""
    on_mysql = dialect in ("mysql", "mariadb")
    if schema.name == DECIMAL_NAME:
        return _decimal_type(schema, on_mysql)
    if schema.name == DATE_NAME:
        return sa.Date()
    if schema.name == TIME_NAME:
        return mysql.TIME(fsp=6) if on_mysql else sa.Time()
    if schema.name == TIMESTAMP_NAME:
        return mysql.DATETIME(fsp=6) if on_mysql else sa.DateTime()
    if not schema.type.is_primitive:
        if dialect == "postgresql":
            return postgresql.JSONB()
        return mysql.LONGTEXT() if on_mysql else sa.Text()
    if on_mysql:
        if schema.type is Type.INT8:
            return mysql.TINYINT()
        if schema.type is Type.FLOAT32:
            return mysql.FLOAT()
        if key and schema.type is Type.STRING:
            return sa.String(_MYSQL_KEY_LENGTH)
        if key and schema.type is Type.BYTES:
            return sa.VARBINARY(_MYSQL_KEY_LENGTH)
    return _PRIMITIVES[schema.type]()


def _decimal_type(schema: Schema, on_mysql: bool) -> TypeEngine[Any]:
    scale = decimal_scale(schema)
    precision_text = schema.params.get(DECIMAL_PRECISION_PARAMETER)
    precision = int(precision_text) if precision_text and precision_text.isdigit() else None
    if on_mysql:
        scale = min(scale, _MYSQL_MAX_SCALE)
        return mysql.DECIMAL(min(precision or _MYSQL_MAX_PRECISION, _MYSQL_MAX_PRECISION), scale)
    # Without a precision PostgreSQL's NUMERIC keeps any value exactly; a scale alone cannot be declared.
    return sa.Numeric(precision, scale if precision else None, asdecimal=True)


def default_clause(schema: Schema, dialect: str) -> sa.TextClause | str | None:
    """The DEFAULT of a column for ``schema``'s default value, or None when it has none (or none SQL can hold)."""
    value = schema.default
    if value is None or not schema.type.is_primitive:
        return None
    if isinstance(value, bool):
        if dialect == "postgresql":
            return sa.text("true" if value else "false")
        return sa.text("1" if value else "0")
    if isinstance(value, int):
        return sa.text(str(int(value)))
    if isinstance(value, float):
        return sa.text(repr(value)) if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return sa.text(str(value)) if value.is_finite() else None
    if isinstance(value, dt.datetime):
        return _naive(value, dt.UTC).isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value  # SQLAlchemy renders a str default as an escaped string literal
    return None


def bind_value(value: Any, schema: Schema | None, column: TypeEngine[Any], timezone: dt.tzinfo) -> Any:
    """``value`` (of ``schema``, or schemaless) as the driver should receive it for a column of type ``column``."""
    if value is None:
        return None
    if isinstance(column, sa.JSON):
        return to_jsonable(value)
    if isinstance(value, dt.datetime):
        if isinstance(column, sa.DateTime) and column.timezone:
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return _naive(value, timezone)
    if (schema is not None and not schema.type.is_primitive) or isinstance(value, Struct | Mapping | list | tuple):
        return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def bind_converter(schema: Schema | None, column: TypeEngine[Any], timezone: dt.tzinfo) -> Convert | None:
    """A function equal to ``bind_value(·, schema, column, timezone)`` for the values of ``schema``; None when those
    values pass unchanged."""
    if schema is None:
        return lambda value: bind_value(value, None, column, timezone)
    if isinstance(column, sa.JSON):
        return to_jsonable
    if schema.name == TIMESTAMP_NAME:
        return timestamp_converter(column, timezone)
    if not schema.type.is_primitive:
        return json_text
    if schema.type is Type.BYTES and schema.name != DECIMAL_NAME:
        return _bytes
    return None


def timestamp_converter(column: TypeEngine[Any], timezone: dt.tzinfo) -> Convert:
    """``bind_value`` for Timestamp values: aware for a column with a time zone, else the wall-clock time in
    ``timezone``."""
    zoned = isinstance(column, sa.DateTime) and column.timezone
    # Values already in the zone keep their wall-clock time: no conversion to compute.
    same_zones = (timezone, dt.UTC) if is_utc(timezone) else (timezone,)

    def convert(value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            return bind_value(value, None, column, timezone)
        if zoned:
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if value.tzinfo in same_zones:
            return value.replace(tzinfo=None)
        return _naive(value, timezone)

    return convert


def is_utc(timezone: dt.tzinfo) -> bool:
    """Whether ``timezone`` is UTC (the default ``db.timezone``), whose wall-clock time any zero offset shares."""
    return timezone == dt.UTC or str(timezone) in ("UTC", "Etc/UTC")


def json_text(value: Any) -> Any:
    """``bind_value`` for a nested value in a column that is not JSON: compact JSON text (None stays None)."""
    if value is None:
        return None
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytearray | memoryview) else value


def _naive(value: dt.datetime, timezone: dt.tzinfo) -> dt.datetime:
    """The wall-clock time of ``value`` in ``timezone``, without a zone (naive input is taken as UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(timezone).replace(tzinfo=None)


def to_jsonable(value: Any) -> Any:
    """Plain JSON data for a Connect value: structs and maps → objects, decimals → strings, bytes → base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Struct):
        return {name: to_jsonable(item) for name, item in value.items()}
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
