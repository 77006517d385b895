"""sObject describe results as Connect schemas, and Salesforce field values as Connect values and back.

``ObjectDescription.of(describe)`` keeps what the connectors need from ``GET …/sobjects/<Name>/describe``: the
fields in describe order, the Connect schema of a record (struct ``io.confluent.salesforce.<Name>``, every field
optional), which fields can be queried in bulk (compound ``address``/``location`` fields and ``base64`` fields
cannot: Bulk API 2.0 refuses them) and which can be created or updated.

Field types map to Connect types as the streaming sources map them: ``boolean`` → BOOLEAN, ``int`` → INT32,
``long`` → INT64, ``double``, ``currency``, ``percent`` → FLOAT64, ``date`` → Date, ``datetime`` → Timestamp,
``time`` → Time, everything else (ids, references, strings, picklists, base64…) → STRING. ``from_text`` reads a
Bulk API CSV cell (empty means null), ``from_json`` a REST JSON value; ``to_json`` writes a Connect value as the
REST API takes it.

Immutable; safe to share between threads.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from operator import itemgetter, setitem
from typing import Any

from hub.sdk import Schema, Struct
from hub.sdk.schema import (
    DATE_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    Type,
    date_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)

SCHEMA_NAMESPACE = "io.confluent.salesforce"
COMPOUND_TYPES = frozenset({"address", "location"})

_TYPES: dict[str, Schema] = {
    "boolean": Schema(Type.BOOLEAN, optional=True),
    "int": Schema(Type.INT32, optional=True),
    "long": Schema(Type.INT64, optional=True),
    "double": Schema(Type.FLOAT64, optional=True),
    "currency": Schema(Type.FLOAT64, optional=True),
    "percent": Schema(Type.FLOAT64, optional=True),
    "date": date_schema(optional=True),
    "datetime": timestamp_schema(optional=True),
    "time": time_schema(optional=True),
}
_STRING = Schema(Type.STRING, optional=True)


def field_schema(sf_type: str) -> Schema:
    """The Connect schema of a describe field type (optional: any field may be null)."""
    return _TYPES.get(sf_type, _STRING)


@dataclass(frozen=True)
class ObjectDescription:
    """The parts of an sObject's describe the connectors use."""

    name: str
    types: Mapping[str, str]  # field name -> Salesforce type, in describe order
    createable: frozenset[str]
    updateable: frozenset[str]
    references: frozenset[str]
    external_ids: frozenset[str]
    schema: Schema  # every field but the compound ones
    positions: Mapping[str, int]  # field name -> index in ``schema``

    @classmethod
    def of(cls, describe: Mapping[str, Any], *, bulk: bool = False) -> ObjectDescription:
        """The description of a describe result; with ``bulk``, the schema holds only the bulk-queryable fields."""
        fields = [f for f in describe.get("fields", ()) if isinstance(f, Mapping) and f.get("name")]
        types = {str(f["name"]): str(f.get("type", "string")) for f in fields}
        name = str(describe.get("name", ""))
        left_out = COMPOUND_TYPES | {"base64"} if bulk else COMPOUND_TYPES
        kept = [(n, field_schema(t)) for n, t in types.items() if t not in left_out]
        schema = struct_schema(kept, name=f"{SCHEMA_NAMESPACE}.{name}", optional=True)
        return cls(
            name=name,
            types=types,
            createable=frozenset(str(f["name"]) for f in fields if f.get("createable")),
            updateable=frozenset(str(f["name"]) for f in fields if f.get("updateable")),
            references=frozenset(str(f["name"]) for f in fields if f.get("type") == "reference"),
            external_ids=frozenset(str(f["name"]) for f in fields if f.get("externalId")),
            schema=schema,
            positions={field.name: field.index for field in schema.fields},
        )

    @property
    def bulk_fields(self) -> list[str]:
        """The fields a Bulk API 2.0 query can select."""
        return [n for n, t in self.types.items() if t not in COMPOUND_TYPES and t != "base64"]

    def row_reader(self, header: Sequence[str]) -> Callable[[Sequence[str]], Struct]:
        """A function turning a CSV row whose columns are ``header`` into a record (unknown columns ignored)."""
        fields = self.schema.fields
        schema, width = self.schema, len(fields)
        typed: list[tuple[int, Callable[[str], Any]]] = []
        for f in fields:
            convert = converter(f.schema)
            if convert is not None:
                typed.append((f.index, convert))
        if list(header) == [f.name for f in fields]:  # the columns are the schema's fields: convert in place

            def read_in_order(row: Sequence[str]) -> Struct:
                values: list[Any] = [text or None for text in row]
                for position, convert in typed:
                    text = values[position]
                    if text is not None:
                        values[position] = convert(text)
                return Struct.from_values(schema, values)

            return read_in_order
        columns = [(i, self.positions[c]) for i, c in enumerate(header) if c in self.positions]
        converters = dict(typed)

        def read(row: Sequence[str]) -> Struct:
            values: list[Any] = [None] * width
            for column, position in columns:
                text = row[column]
                if text:
                    convert = converters.get(position)
                    values[position] = convert(text) if convert is not None else text
            return Struct.from_values(schema, values)

        return read

    def rows_reader(self, header: Sequence[str]) -> Callable[[list[list[str]]], list[Struct]]:
        """A function turning CSV rows whose columns are ``header`` into records. When the columns are the schema's
        fields, the rows become the records' values in place: each typed column is converted in one pass and
        written back, and a text column is only touched when it has empty cells (nulls) — so the rows are neither
        copied nor transposed. The rows must not be read again afterwards."""
        if list(header) != [f.name for f in self.schema.fields]:
            read = self.row_reader(header)
            return lambda rows: [read(row) for row in rows]
        schema, width = self.schema, len(self.schema.fields)
        plan = [(f.index, converter(f.schema)) for f in schema.fields]

        def read_rows(rows: list[list[str]]) -> list[Struct]:
            count = len(rows)
            if not count:
                return []
            lengths = set(map(len, rows))
            if lengths != {width}:
                raise ValueError(f"CSV rows of {sorted(lengths)} cells under a header of {width} columns")
            for position, convert in plan:
                column = list(map(itemgetter(position), rows))
                converted: Iterable[Any]
                if convert is None:  # text; an empty cell is null
                    if "" not in column:
                        continue
                    converted = map(_NULL_IF_EMPTY.get, column, column)
                elif convert in _TAKES_EMPTY or "" not in column:
                    converted = map(convert, column)
                else:
                    converted = (convert(text) if text else None for text in column)
                deque(map(setitem, rows, repeat(position, count), converted), maxlen=0)
            return structs(schema, rows)

        return read_rows

    def struct_from_json(self, record: Mapping[str, Any]) -> Struct:
        """A record from a REST query or retrieve result (its ``attributes`` and unknown keys ignored)."""
        values: list[Any] = [None] * len(self.schema.fields)
        fields = self.schema.fields
        for key, value in record.items():
            position = self.positions.get(key)
            if position is not None:
                values[position] = from_json(fields[position].schema, value)
        return Struct.from_values(self.schema, values)


# The slots' descriptors, set as Struct.from_values sets them.
_set_schema: Callable[[Struct, Schema], None] = vars(Struct)["schema"].__set__
_set_values: Callable[[Struct, list[Any]], None] = vars(Struct)["_values"].__set__


def structs(schema: Schema, rows: list[list[Any]]) -> list[Struct]:
    """``[Struct.from_values(schema, row) for row in rows]`` (the rows become the values: already checked), built
    column-wise with the slot setters so no Python frame runs per row."""
    made = list(map(Struct.__new__, repeat(Struct, len(rows))))
    deque(map(_set_schema, made, repeat(schema)), maxlen=0)
    deque(map(_set_values, made, rows), maxlen=0)
    return made


@functools.lru_cache(maxsize=8192)  # bulk rows repeat their datetimes (a load stamps thousands alike)
def parse_datetime(text: str) -> dt.datetime:
    """A Salesforce datetime (``2024-05-01T10:00:00.000+0000`` or ``…Z``) as an aware UTC datetime."""
    return _parse_datetime(text)


@functools.lru_cache(maxsize=8192)
def _datetime_or_none(text: str) -> dt.datetime | None:
    return _parse_datetime(text) if text else None


@functools.lru_cache(maxsize=8192)
def datetime_ms(text: str) -> int:
    """Milliseconds since the epoch of a Salesforce datetime."""
    return int(_parse_datetime(text).timestamp() * 1000)


def _parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """A datetime as SOQL and the REST API write it: ``2024-05-01T10:00:00.000Z``."""
    utc = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _parse_date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text[:10]) if text else None


def _parse_time(text: str) -> dt.time:
    return dt.time.fromisoformat(text.rstrip("Z")[:12])


_parse_boolean = {"true": True, "false": False, "": None}.get
_NULL_IF_EMPTY: dict[str, None] = {"": None}


def converter(schema: Schema) -> Callable[[str], Any] | None:
    """The function turning a CSV cell into a value of ``schema``; None for strings (kept as they are)."""
    if schema.name == TIMESTAMP_NAME:
        return _datetime_or_none
    if schema.name == DATE_NAME:
        return _parse_date
    if schema.name == TIME_NAME:
        return _parse_time
    simple: dict[Type, Callable[[str], Any]] = {
        Type.BOOLEAN: _parse_boolean,
        Type.INT32: int,
        Type.INT64: int,
        Type.FLOAT64: float,
    }
    return simple.get(schema.type)


def from_text(schema: Schema, text: str) -> Any:
    """A CSV cell of the Bulk API as a value of ``schema``; an empty cell is null."""
    if text == "":
        return None
    return from_json(schema, text)


def from_json(schema: Schema, value: Any) -> Any:
    """A REST JSON value (or CSV text) as a value of ``schema``; ValueError when it does not fit."""
    if value is None:
        return None
    if schema.name == TIMESTAMP_NAME:
        return parse_datetime(str(value))
    if schema.name == DATE_NAME:
        return dt.date.fromisoformat(str(value)[:10])
    if schema.name == TIME_NAME:
        return dt.time.fromisoformat(str(value).rstrip("Z")[:12])
    kind = schema.type
    if kind is Type.BOOLEAN:
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind in (Type.INT32, Type.INT64):
        return int(float(value)) if isinstance(value, str) and "." in value else int(value)
    if kind is Type.FLOAT64:
        return float(value)
    if kind is Type.BYTES:
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return value if isinstance(value, str) else str(value)


def to_json(value: Any) -> Any:
    """A Connect value as the REST API takes it (dates and datetimes as ISO text, bytes as base64)."""
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Struct):
        return {k: to_json(v) for k, v in value.to_dict().items()}
    return value


def to_text(value: Any) -> str:
    """A Connect value as a Bulk API CSV cell (null is an empty cell; ``#N/A`` clears a field in an update)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    converted = to_json(value)
    return converted if isinstance(converted, str) else str(converted)


#: Converters that turn an empty cell into None themselves (the others are not called for empty cells).
_TAKES_EMPTY: frozenset[Callable[[str], Any]] = frozenset({_datetime_or_none, _parse_date, _parse_boolean})
