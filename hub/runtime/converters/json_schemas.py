"""Connect's JSON form of schemas, as JsonConverter's envelope carries it in ``"schema"``.

``schema_to_json`` keeps Connect's key order — ``type``, then ``items`` / ``keys``+``values`` / ``fields``, then
``optional``, ``name``, ``version``, ``doc``, ``parameters``, ``default`` — and gives struct fields their name as
a trailing ``field`` key, so the written bytes equal Connect's. ``schema_from_json`` reads that form back and
raises DataError naming what is wrong. Defaults are written and read with the general value codec.

Thread-safety: pure functions.
"""

from __future__ import annotations

from typing import Any

from hub.runtime.converters.json_values import value_from_json, value_to_json
from hub.sdk.errors import DataError
from hub.sdk.schema import Field, Schema, SchemaError, Type

_TYPES = {kind.value: kind for kind in Type}


def schema_to_json(schema: Schema, *, numeric_decimals: bool = False) -> dict[str, Any]:
    """Connect's JSON form of a schema, keys in Connect's order."""
    node: dict[str, Any] = {"type": schema.type.value}
    if schema.type is Type.ARRAY:
        assert schema.value_schema is not None
        node["items"] = schema_to_json(schema.value_schema, numeric_decimals=numeric_decimals)
    elif schema.type is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        node["keys"] = schema_to_json(schema.key_schema, numeric_decimals=numeric_decimals)
        node["values"] = schema_to_json(schema.value_schema, numeric_decimals=numeric_decimals)
    elif schema.type is Type.STRUCT:
        node["fields"] = [
            {**schema_to_json(field.schema, numeric_decimals=numeric_decimals), "field": field.name}
            for field in schema.fields
        ]
    node["optional"] = schema.optional
    if schema.name is not None:
        node["name"] = schema.name
    if schema.version is not None:
        node["version"] = schema.version
    if schema.doc is not None:
        node["doc"] = schema.doc
    if schema.parameters:
        node["parameters"] = dict(schema.parameters)
    if schema.default is not None:
        node["default"] = value_to_json(schema, schema.default, numeric_decimals=numeric_decimals)
    return node


def schema_from_json(node: Any) -> Schema:
    """A Schema from Connect's JSON form; DataError naming what is wrong."""
    if not isinstance(node, dict):
        raise DataError(f"a schema must be a JSON object, got {type(node).__name__}")
    type_name = node.get("type")
    kind = _TYPES.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        raise DataError(f"unknown schema type {type_name!r}")
    parameters = node.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise DataError("schema parameters must be an object with string values")
    name, version, doc = node.get("name"), node.get("version"), node.get("doc")
    common: dict[str, Any] = {
        "optional": node.get("optional") is True,  # as Connect: anything but true means required
        "name": name if isinstance(name, str) else None,
        "version": version if isinstance(version, int) and not isinstance(version, bool) else None,
        "doc": doc if isinstance(doc, str) else None,
        "parameters": tuple(sorted(parameters.items())),
    }
    try:
        if kind is Type.ARRAY:
            if "items" not in node:
                raise DataError("array schema without 'items'")
            schema = Schema(kind, value_schema=schema_from_json(node["items"]), **common)
        elif kind is Type.MAP:
            if "keys" not in node or "values" not in node:
                raise DataError("map schema without 'keys' and 'values'")
            schema = Schema(
                kind, key_schema=schema_from_json(node["keys"]), value_schema=schema_from_json(node["values"]), **common
            )
        elif kind is Type.STRUCT:
            fields_node = node.get("fields")
            if not isinstance(fields_node, list):
                raise DataError("struct schema without a 'fields' array")
            fields = []
            for index, field_node in enumerate(fields_node):
                if not isinstance(field_node, dict) or not isinstance(field_node.get("field"), str):
                    raise DataError(f"struct field {index} has no 'field' name")
                fields.append(Field(field_node["field"], index, schema_from_json(field_node)))
            schema = Schema(kind, fields=tuple(fields), **common)
        else:
            schema = Schema(kind, **common)
    except SchemaError as exc:
        raise DataError(f"invalid schema: {exc}") from None
    if node.get("default") is not None:
        try:
            schema = schema.with_default(value_from_json(schema, node["default"]))
        except SchemaError as exc:
            raise DataError(f"invalid schema default: {exc}") from None
    return schema
