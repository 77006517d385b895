"""Connect schemas ↔ JSON Schemas, as Confluent's ``JsonSchemaData`` maps them.

Connect → JSON Schema: integers are ``{"type": "integer", "connect.type": "int8"|"int16"|"int32"|"int64"}``,
floats ``{"type": "number", "connect.type": "float32"|"float64"}``, BOOLEAN and STRING as named, BYTES a string
with ``"connect.type": "bytes"`` (base64 values; a Decimal is a number instead with ``decimal.format=NUMERIC``),
ARRAY ``{"type": "array", "items": …}``, a map with required string keys an object with
``additionalProperties`` and ``"connect.type": "map"``, other maps an array of ``{key, value}`` objects with
``"connect.type": "map"``, STRUCT ``{"type": "object", "properties": …}`` with each property's position in
``connect.index``. The schema's name is its ``title``, its doc the ``description``, and ``connect.version``,
``connect.parameters`` and ``default`` carry the rest. An optional schema is ``{"oneOf": [{"type": "null"}, T]}``
(the ``connect.index`` then sits on the oneOf). Date, Time and Timestamp are integers titled with their Connect
name.

JSON Schema → Connect: the reverse, and for schemas other writers registered: an integer without
``connect.type`` is INT64, a number FLOAT64, an object without ``connect.type`` a struct of its properties (in
``connect.index`` order, else as written), ``oneOf``/``anyOf`` with null an optional schema and without it a
struct ``io.confluent.connect.json.OneOf`` of optional branches named ``…OneOf.field.N``, ``enum`` a STRING with
``io.confluent.connect.json.Enum`` parameters, a local ``$ref`` (``#/definitions/…``, ``#/$defs/…``) its
target. ``"type": ["null", T]`` is an optional T.

Pure functions over immutable values; safe from any thread.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.sdk.errors import DataError
from hub.sdk.schema import DECIMAL_NAME, Field, Schema, Type

NAMESPACE = "io.confluent.connect.json"
ONE_OF = NAMESPACE + ".OneOf"
ENUM = NAMESPACE + ".Enum"
_CONNECT_TYPES = {
    Type.INT8: ("integer", "int8"),
    Type.INT16: ("integer", "int16"),
    Type.INT32: ("integer", "int32"),
    Type.INT64: ("integer", "int64"),
    Type.FLOAT32: ("number", "float32"),
    Type.FLOAT64: ("number", "float64"),
    Type.BOOLEAN: ("boolean", None),
    Type.STRING: ("string", None),
    Type.BYTES: ("string", "bytes"),
}
_FROM_CONNECT_TYPE = {
    "int8": Type.INT8,
    "int16": Type.INT16,
    "int32": Type.INT32,
    "int64": Type.INT64,
    "float32": Type.FLOAT32,
    "float64": Type.FLOAT64,
    "bytes": Type.BYTES,
}


def to_json_schema(schema: Schema, *, numeric_decimals: bool = False, index: int | None = None) -> dict[str, Any]:
    """The JSON Schema JsonSchemaData makes of a Connect schema."""
    from hub.runtime.converters.schema_registry.json_schema_values import json_writer

    node: dict[str, Any]
    kind = schema.type
    if kind.is_primitive:
        json_type, connect_type = _CONNECT_TYPES[kind]
        if schema.name == DECIMAL_NAME and numeric_decimals:
            json_type = "number"
        node = {"type": json_type}
        if connect_type is not None:
            node["connect.type"] = connect_type
    elif kind is Type.ARRAY:
        assert schema.value_schema is not None
        node = {"type": "array", "items": to_json_schema(schema.value_schema, numeric_decimals=numeric_decimals)}
    elif kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        values = to_json_schema(schema.value_schema, numeric_decimals=numeric_decimals)
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            node = {"type": "object", "additionalProperties": values, "connect.type": "map"}
        else:
            keys = to_json_schema(schema.key_schema, numeric_decimals=numeric_decimals, index=0)
            entry = {"type": "object", "properties": {"key": keys, "value": {**values, "connect.index": 1}}}
            node = {"type": "array", "items": entry, "connect.type": "map"}
    else:
        properties = {
            f.name: to_json_schema(f.schema, numeric_decimals=numeric_decimals, index=f.index) for f in schema.fields
        }
        node = {"type": "object", "properties": properties}
    if schema.name is not None:
        node["title"] = schema.name
    if schema.version is not None:
        node["connect.version"] = schema.version
    if schema.doc is not None:
        node["description"] = schema.doc
    parameters = {k: v for k, v in schema.parameters if not k.startswith(NAMESPACE)}
    if parameters:
        node["connect.parameters"] = parameters
    if schema.default is not None:
        node["default"] = json_writer(schema, numeric_decimals)(schema.default)
    if schema.optional:
        node = {"oneOf": [{"type": "null"}, node]}
    if index is not None:
        node["connect.index"] = index
    return node


class _ToConnect:
    """One JSON Schema → Connect conversion; resolves local references against the root."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.open: set[str] = set()

    def convert(self, node: Any, *, optional: bool = False) -> Schema:
        if node is True or node == {}:
            raise DataError("JSON Schema without a type (any value) has no Connect schema in Hub")
        if not isinstance(node, dict):
            raise DataError(f"not a JSON Schema: {node!r}")
        if "$ref" in node:
            return self._reference(node["$ref"], optional)
        for combiner in ("oneOf", "anyOf"):
            if combiner in node:
                return self._finish(self._union(node[combiner]), node, optional)
        if "allOf" in node:
            branches = node["allOf"]
            if len(branches) == 1:
                return self._finish(self.convert(branches[0]), node, optional)
            raise DataError("JSON Schema allOf is not converted to Connect by Hub")
        if "enum" in node or "const" in node:
            symbols = node["enum"] if "enum" in node else [node["const"]]
            params = {ENUM: "", **{f"{ENUM}.{'<NULL>' if s is None else s}": str(s) for s in symbols}}
            return self._finish(Schema(Type.STRING, parameters=tuple(sorted(params.items()))), node, optional)
        json_type = node.get("type")
        if isinstance(json_type, list):
            kinds = [kind for kind in json_type if kind != "null"]
            if len(kinds) != 1:
                raise DataError(f"JSON Schema type list {json_type} has no Connect schema")
            return self.convert({**node, "type": kinds[0]}, optional=optional or "null" in json_type)
        return self._finish(self._typed(node, json_type), node, optional)

    def _typed(self, node: dict[str, Any], json_type: Any) -> Schema:
        connect_type = node.get("connect.type")
        if json_type in ("integer", "number"):
            if connect_type is not None:
                if connect_type not in _FROM_CONNECT_TYPE:
                    raise DataError(f"unsupported connect.type {connect_type!r}")
                return Schema(_FROM_CONNECT_TYPE[connect_type])
            return Schema(Type.INT64 if json_type == "integer" else Type.FLOAT64)
        if json_type == "boolean":
            return Schema(Type.BOOLEAN)
        if json_type == "string":
            return Schema(Type.BYTES if connect_type == "bytes" else Type.STRING)
        if json_type == "array":
            items = node.get("items")
            if items is None:
                raise DataError("Array schema did not specify the items type")
            entry = self._target(items)
            if connect_type == "map" and isinstance(entry, dict) and "properties" in entry:
                properties = entry["properties"]
                return Schema(
                    Type.MAP, key_schema=self.convert(properties["key"]), value_schema=self.convert(properties["value"])
                )
            return Schema(Type.ARRAY, value_schema=self.convert(items))
        if json_type == "object" or (json_type is None and "properties" in node):
            if connect_type == "map":
                return Schema(
                    Type.MAP,
                    key_schema=Schema(Type.STRING),
                    value_schema=self.convert(node.get("additionalProperties", {})),
                )
            return self._struct(node)
        if json_type == "null":
            raise DataError("a standalone null JSON Schema has no Connect schema")
        raise DataError(f"unsupported JSON Schema type {json_type!r}")

    def _struct(self, node: dict[str, Any]) -> Schema:
        properties = list((node.get("properties") or {}).items())
        ordered = sorted(
            enumerate(properties),
            key=lambda item: (
                self._target(item[1][1]).get("connect.index", item[0]) if isinstance(item[1][1], dict) else item[0]
            ),
        )
        fields = tuple(Field(name, index, self.convert(sub)) for index, (_, (name, sub)) in enumerate(ordered))
        return Schema(Type.STRUCT, fields=fields)

    def _union(self, branches: list[Any]) -> Schema:
        if len(branches) == 1:
            return self.convert(branches[0])
        nulls = [b for b in branches if isinstance(b, dict) and b.get("type") == "null"]
        others = [b for b in branches if b not in nulls]
        if nulls and len(others) == 1:
            return self.convert(others[0], optional=True)
        fields = tuple(
            Field(f"{ONE_OF}.field.{index}", index, self.convert(branch, optional=True))
            for index, branch in enumerate(others)
        )
        return Schema(Type.STRUCT, name=ONE_OF, optional=bool(nulls), fields=fields)

    def _target(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self._resolve(node["$ref"])
        return node

    def _resolve(self, reference: str) -> Any:
        if not reference.startswith("#"):
            raise DataError(f"JSON Schema reference {reference!r} is not local; Hub resolves only '#/…' references")
        node = self.root
        for part in [p for p in reference[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise DataError(f"JSON Schema reference {reference!r} points nowhere")
            node = node[part]
        return node

    def _reference(self, reference: str, optional: bool) -> Schema:
        if reference in self.open:
            raise DataError(
                f"recursive JSON Schema reference {reference!r}: Connect schemas cannot refer to themselves"
            )
        self.open.add(reference)
        try:
            return self.convert(self._resolve(reference), optional=optional)
        finally:
            self.open.discard(reference)

    def _finish(self, schema: Schema, node: dict[str, Any], optional: bool) -> Schema:
        from hub.runtime.converters.schema_registry.json_schema_values import json_reader

        name = schema.name if schema.name is not None else node.get("title")
        version = node.get("connect.version", schema.version)
        params = {**schema.params, **(node.get("connect.parameters") or {})}
        schema = replace(
            schema,
            name=name,
            version=version if isinstance(version, int) else None,
            doc=node.get("description", schema.doc),
            parameters=tuple(sorted((str(k), str(v)) for k, v in params.items())),
            optional=optional or schema.optional,
        )
        if node.get("default") is not None:
            try:
                schema = schema.with_default(json_reader(schema)(node["default"]))
            except (DataError, ValueError, TypeError) as exc:
                raise DataError(f"invalid default in JSON Schema: {exc}") from None
        return schema


def to_connect_schema(root: Any) -> Schema:
    """The Connect schema JsonSchemaData makes of a JSON Schema (given as parsed JSON)."""
    return _ToConnect(root).convert(root)
