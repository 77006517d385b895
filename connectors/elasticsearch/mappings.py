"""Index mappings from Connect schemas, for indices the sink creates (``schema.ignore=false``).

| Connect | mapping |
|---|---|
| INT8 / INT16 / INT32 / INT64 | byte / short / integer / long |
| FLOAT32 / FLOAT64, Decimal | float / double, double |
| BOOLEAN | boolean |
| STRING | text with a ``keyword`` sub-field (ignore_above 256), as dynamic mapping does |
| BYTES | binary |
| Timestamp, Date | date |
| Time | keyword |
| STRUCT, string-keyed MAP (compact) | object with properties |
| MAP (not compact) | nested ``{key, value}`` |
| ARRAY | the item's mapping |
"""

from __future__ import annotations

from typing import Any

from hub.sdk.schema import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, Schema, Type

_PRIMITIVES = {
    Type.INT8: "byte",
    Type.INT16: "short",
    Type.INT32: "integer",
    Type.INT64: "long",
    Type.FLOAT32: "float",
    Type.FLOAT64: "double",
    Type.BOOLEAN: "boolean",
    Type.BYTES: "binary",
}
_LOGICAL = {DECIMAL_NAME: "double", TIMESTAMP_NAME: "date", DATE_NAME: "date", TIME_NAME: "keyword"}
TEXT = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


def field_mapping(schema: Schema, compact_maps: bool) -> dict[str, Any]:
    """The mapping of one field."""
    if schema.name in _LOGICAL:
        return {"type": _LOGICAL[schema.name]}
    kind = schema.type
    if kind in _PRIMITIVES:
        return {"type": _PRIMITIVES[kind]}
    if kind is Type.STRING:
        return dict(TEXT)
    if kind is Type.STRUCT:
        return {"properties": {f.name: field_mapping(f.schema, compact_maps) for f in schema.fields}}
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        return field_mapping(schema.value_schema, compact_maps)
    assert schema.key_schema is not None
    assert schema.value_schema is not None
    if compact_maps and schema.key_schema.type is Type.STRING:
        return {"type": "object"}
    return {
        "type": "nested",
        "properties": {
            "key": field_mapping(schema.key_schema, compact_maps),
            "value": field_mapping(schema.value_schema, compact_maps),
        },
    }


def index_mappings(schema: Schema, compact_maps: bool, data_stream: bool = False) -> dict[str, Any]:
    """The ``mappings`` of an index for records with value ``schema`` (a struct)."""
    mapping = field_mapping(schema, compact_maps) if schema.type is Type.STRUCT else {"properties": {}}
    if data_stream:
        mapping.setdefault("properties", {})["@timestamp"] = {"type": "date"}
    return mapping
