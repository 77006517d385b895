"""Records into search documents: the JSON of a Connect value, the document id, the index or data stream name.

JSON of Connect values: structs become objects; Decimal a number; Timestamp epoch milliseconds; Date ``YYYY-MM-DD``;
Time ``HH:MM:SS.ffffff``; bytes base64; string-keyed maps objects (``compact.map.entries``) or lists of
``{"key", "value"}``. Schemaless values (maps from JSON without schemas) pass as they are.

Ids: the record key when ``key.ignore`` is false — a string or integer key as is; a struct key (what change data
capture sends, e.g. ``{"id": 42}``) with one field is that field's value, with several the JSON of its fields —
else ``topic+partition+offset``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from typing import Any

import orjson

from hub.sdk import SinkRecord, Struct
from hub.sdk.errors import DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    Schema,
    Type,
    timestamp_to_millis,
)

Encode = Callable[[Any], Any]

_INVALID_INDEX = re.compile(r'[\\/*?"<>| ,#:]')


def _default(value: Any) -> Any:
    """JSON for values orjson does not know (schemaless data may hold them)."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Struct):
        return dict(value.items())
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    """JSON bytes (datetimes as ISO 8601, naive ones taken as UTC)."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS)


def _same(value: Any) -> Any:
    return value


@lru_cache(maxsize=512)
def encoder(schema: Schema, compact_maps: bool) -> Encode:
    """A function turning values of ``schema`` into JSON-ready Python (cached per schema)."""
    name = schema.name
    if name == DECIMAL_NAME:
        return lambda v: None if v is None else float(v)
    if name == TIMESTAMP_NAME:
        return lambda v: v if v is None or isinstance(v, int) else timestamp_to_millis(v)
    if name == DATE_NAME:
        return lambda v: v.isoformat() if isinstance(v, dt.date) else v
    if name == TIME_NAME:
        return lambda v: v.isoformat() if isinstance(v, dt.time) else v
    kind = schema.type
    if kind is Type.BYTES:
        return lambda v: base64.b64encode(bytes(v)).decode() if v is not None else None
    if kind is Type.STRUCT:
        names = [field.name for field in schema.fields]
        encoders = [encoder(field.schema, compact_maps) for field in schema.fields]
        plain = [index for index, fn in enumerate(encoders) if fn is not _same]

        def struct(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, Struct):
                return value
            values = value.raw_values()
            for index in plain:
                values[index] = encoders[index](values[index])
            return dict(zip(names, values, strict=True))

        return struct
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = encoder(schema.value_schema, compact_maps)
        return _same if item is _same else (lambda v: None if v is None else [item(x) for x in v])
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        key, val = encoder(schema.key_schema, compact_maps), encoder(schema.value_schema, compact_maps)
        if compact_maps and schema.key_schema.type is Type.STRING:
            return lambda v: None if v is None else {k: val(x) for k, x in v.items()}
        return lambda v: None if v is None else [{"key": key(k), "value": val(x)} for k, x in v.items()]
    return _same


# Looked up by the schema's identity first: records of a topic share their schema object, and hashing a struct
# schema for every record (encoder's own cache) costs more than encoding it.
_ENCODERS: dict[bool, IdentityCache[Schema, Encode]] = {
    compact: IdentityCache(partial(encoder, compact_maps=compact)) for compact in (False, True)
}


def document(record: SinkRecord, compact_maps: bool) -> Any:
    """The JSON-ready document of a record's value (a dict for structs and maps)."""
    if record.value_schema is not None:
        return _ENCODERS[compact_maps](record.value_schema)(record.value)
    value = record.value
    if isinstance(value, Struct):
        return _ENCODERS[compact_maps](value.schema)(value)
    return value


def document_id(record: SinkRecord, ignore_key: bool) -> str:
    """The document's id (see the module docstring); DataError for a key that cannot be one."""
    if ignore_key:
        return f"{record.topic}+{record.kafka_partition}+{record.kafka_offset}"
    key = record.key
    if isinstance(key, Struct):
        key = dict(key.items())
    if isinstance(key, Mapping):
        if len(key) == 1:
            key = next(iter(key.values()))
        else:
            return dumps(dict(key)).decode()
    if isinstance(key, bool) or key is None or key == "":
        raise DataError(
            f"record {record.topic}-{record.kafka_partition}@{record.kafka_offset} has no usable key for a document "
            f"id ({key!r}); set key.ignore=true to use topic+partition+offset"
        )
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    if isinstance(key, int | str | decimal.Decimal | float):
        return str(key)
    raise DataError(f"a {type(key).__name__} key cannot be a document id (record {record.topic}@{record.kafka_offset})")


def index_name(template: str, topic: str) -> str:
    """The index for a topic: ``template`` with ``${topic}`` replaced, lowercased; DataError when not valid."""
    name = template.replace("${topic}", topic).lower()
    if not name or name in (".", "..") or name[0] in "-_+" or _INVALID_INDEX.search(name) or len(name.encode()) > 255:
        raise DataError(f"{name!r} (from topic {topic!r}) is not a valid index name")
    return name


def data_stream_name(stream_type: str, dataset: str, namespace_template: str, topic: str) -> str:
    """``<type>-<dataset>-<namespace>``, the data stream naming scheme."""
    namespace = namespace_template.replace("${topic}", topic)
    return index_name(f"{stream_type.lower()}-{dataset}-{namespace}", topic)


def timestamp_for(record: SinkRecord, doc: Any, fields: tuple[str, ...]) -> Any:
    """The ``@timestamp`` of a data stream document: the first of ``fields`` present, else the record's time."""
    if isinstance(doc, Mapping):
        for field in fields:
            if doc.get(field) is not None:
                return doc[field]
    if record.timestamp is None:
        raise DataError(f"record {record.topic}@{record.kafka_offset} has no timestamp for @timestamp")
    return record.timestamp
