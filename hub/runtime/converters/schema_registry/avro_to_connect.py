"""Avro schemas → Connect schemas, the reverse of hub.runtime.converters.schema_registry.avro_schemas (whose
docstring describes the mapping), for schemas any Avro writer registered.

Connect's schemas are trees, so a recursive Avro record is refused with a DataError, as is a standalone null.

Pure functions over immutable values; safe from any thread.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from hub.runtime.converters.schema_registry.avro_schemas import (
    DECIMAL_PRECISION,
    DEFAULT_PRECISION,
    DEFAULT_RECORD,
    ENUM,
    FIELD_DEFAULT_FLAG,
    FIXED_SIZE,
    MAP_ENTRY,
    NAMESPACE,
    UNION,
)
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    DECIMAL_SCALE_PARAMETER,
    TIME_NAME,
    TIMESTAMP_NAME,
    Field,
    Schema,
    SchemaError,
    Type,
    date_from_days,
    decimal_from_bytes,
    decimal_scale,
    time_from_millis,
    timestamp_from_millis,
)
from hub.sdk.struct import Struct

_PRIMITIVES = {
    "int": Type.INT32,
    "long": Type.INT64,
    "float": Type.FLOAT32,
    "double": Type.FLOAT64,
    "boolean": Type.BOOLEAN,
    "string": Type.STRING,
    "bytes": Type.BYTES,
}
_LOGICAL: dict[tuple[str, str | None], str] = {
    ("int", "date"): DATE_NAME,
    ("int", "time-millis"): TIME_NAME,
    ("long", "timestamp-millis"): TIMESTAMP_NAME,
}
_NAMED = ("record", "enum", "fixed")
_NO_DEFAULT = object()


def _full_name(node: dict[str, Any], namespace: str | None) -> str:
    name = str(node["name"])
    if "." in name:
        return name
    space = node.get("namespace", namespace)
    return f"{space}.{name}" if space else name


class _ToConnect:
    """One Avro → Connect conversion; knows the named types defined so far."""

    def __init__(self, connect_meta_data: bool) -> None:
        self.meta = connect_meta_data
        self.named: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.open: set[str] = set()

    def resolve(self, reference: str, namespace: str | None) -> tuple[dict[str, Any], str | None]:
        for candidate in (f"{namespace}.{reference}" if namespace and "." not in reference else reference, reference):
            if candidate in self.open:
                raise DataError(f"recursive Avro schema {candidate!r}: Connect schemas cannot refer to themselves")
            if candidate in self.named:
                return self.named[candidate]
        raise DataError(f"Avro schema refers to {reference!r}, which it does not define")

    def convert(
        self, node: Any, namespace: str | None, *, optional: bool = False, field_default: Any = _NO_DEFAULT
    ) -> Schema:
        if isinstance(node, list):
            return self._union(node, namespace)
        if isinstance(node, str):
            if node in _PRIMITIVES:
                node = {"type": node}
            elif node == "null":
                raise DataError("Standalone null schemas are not supported by this converter")
            else:
                node, namespace = self.resolve(node, namespace)
                return self._named_type(node, namespace, optional, field_default, reused=True)
        if not isinstance(node, dict) or "type" not in node:
            raise DataError(f"not an Avro schema: {node!r}")
        if isinstance(node["type"], dict | list):
            return self.convert(node["type"], namespace, optional=optional, field_default=field_default)
        kind = node["type"]
        if kind in _NAMED:
            return self._named_type(node, namespace, optional, field_default, reused=False)
        if kind in _PRIMITIVES:
            schema = self._primitive(node)
        elif kind == "array":
            schema = self._array(node, namespace)
        elif kind == "map":
            schema = Schema(
                Type.MAP, key_schema=Schema(Type.STRING), value_schema=self.convert(node["values"], namespace)
            )
        elif kind == "null":
            raise DataError("Standalone null schemas are not supported by this converter")
        elif isinstance(kind, str) and kind not in _PRIMITIVES:
            resolved, space = self.resolve(kind, namespace)
            return self._named_type(resolved, space, optional, field_default, reused=True)
        else:
            raise DataError(f"unsupported Avro type {kind!r}")
        return self._finish(schema, node, optional, field_default, None)

    def _named_type(
        self, node: dict[str, Any], namespace: str | None, optional: bool, field_default: Any, *, reused: bool
    ) -> Schema:
        full_name = _full_name(node, namespace)
        own_space = full_name.rpartition(".")[0] or None
        if not reused:
            if full_name in self.named:
                raise DataError(f"Avro schema defines {full_name!r} twice")
            self.named[full_name] = (node, namespace)
        kind = node["type"]
        if kind == "record":
            self.open.add(full_name)
            try:
                schema = self._record(node, own_space)
            finally:
                self.open.discard(full_name)
        elif kind == "enum":
            params = {ENUM: full_name, **{f"{ENUM}.{symbol}": symbol for symbol in node.get("symbols", [])}}
            if self.meta and node.get("doc") is not None:
                params[f"{NAMESPACE}.enum.doc.{node['name']}"] = node["doc"]
            schema = Schema(Type.STRING, parameters=tuple(sorted(params.items())))
        else:
            schema = self._bytes(node)
            schema = replace(schema, parameters=tuple(sorted({**schema.params, FIXED_SIZE: str(node["size"])}.items())))
        implicit = None if schema.name == DECIMAL_NAME else full_name
        return self._finish(schema, node, optional, field_default, implicit)

    def _primitive(self, node: dict[str, Any]) -> Schema:
        kind: str = node["type"]
        logical: str | None = node.get("logicalType")
        if kind == "bytes":
            return self._bytes(node)
        if (kind, logical) in _LOGICAL:
            return Schema(_PRIMITIVES[kind], name=_LOGICAL[kind, logical], version=1)
        if kind == "int" and node.get("connect.type") is not None:
            connect_type = {"int8": Type.INT8, "int16": Type.INT16}.get(node["connect.type"])
            if connect_type is None:
                raise DataError(f"unknown connect.type {node['connect.type']!r} on an Avro int")
            return Schema(connect_type)
        return Schema(_PRIMITIVES[kind])

    def _bytes(self, node: dict[str, Any]) -> Schema:
        if node.get("logicalType") != "decimal":
            return Schema(Type.BYTES)
        scale, precision = node.get("scale", 0), node.get("precision")
        if not isinstance(scale, int) or (precision is not None and not isinstance(precision, int)):
            raise DataError("precision and scale of an Avro decimal must be JSON integers")
        params = {DECIMAL_SCALE_PARAMETER: str(scale)}
        if precision is not None and precision != DEFAULT_PRECISION:
            params[DECIMAL_PRECISION] = str(precision)
        return Schema(Type.BYTES, name=DECIMAL_NAME, version=1, parameters=tuple(sorted(params.items())))

    def _array(self, node: dict[str, Any], namespace: str | None) -> Schema:
        items = node["items"]
        entry = self.resolve(items, namespace)[0] if isinstance(items, str) and items not in _PRIMITIVES else items
        if (
            isinstance(entry, dict)
            and entry.get("type") == "record"
            and (_full_name(entry, namespace) == MAP_ENTRY or entry.get("connect.internal.type") == "MapEntry")
        ):
            fields = {field["name"]: field["type"] for field in entry.get("fields", [])}
            if set(fields) != {"key", "value"}:
                raise DataError("Found map encoded as array of key-value pairs, but array elements do not match")
            space = _full_name(entry, namespace).rpartition(".")[0] or None
            return Schema(
                Type.MAP,
                key_schema=self.convert(fields["key"], space),
                value_schema=self.convert(fields["value"], space),
            )
        return Schema(Type.ARRAY, value_schema=self.convert(items, namespace))

    def _record(self, node: dict[str, Any], namespace: str | None) -> Schema:
        params: dict[str, str] = {}
        if self.meta and node.get("doc") is not None:
            params[NAMESPACE + ".record.doc"] = node["doc"]
        fields = []
        for index, avro_field in enumerate(node.get("fields", [])):
            name = avro_field["name"]
            if self.meta and avro_field.get("doc") is not None:
                params[f"{NAMESPACE}.field.doc.{name}"] = avro_field["doc"]
            default = avro_field.get("default", _NO_DEFAULT)
            fields.append(Field(name, index, self.convert(avro_field["type"], namespace, field_default=default)))
        return Schema(Type.STRUCT, fields=tuple(fields), parameters=tuple(sorted(params.items())))

    def _union(self, branches: list[Any], namespace: str | None) -> Schema:
        if len(branches) == 1:
            return self.convert(branches[0], namespace)
        if len(branches) == 2 and "null" in branches:
            other = branches[1] if branches[0] == "null" else branches[0]
            return self.convert(other, namespace, optional=True)
        fields: list[Field] = []
        optional = False
        for branch in branches:
            if branch == "null":
                optional = True
                continue
            member = self.convert(branch, namespace, optional=True)
            name = _branch_name(branch, namespace, self)
            if any(field.name == name for field in fields):
                raise DataError("Multiple union schemas map to the Connect union field name")
            fields.append(Field(name, len(fields), member))
        return Schema(Type.STRUCT, optional=optional, name=UNION, fields=tuple(fields))

    def _finish(
        self, schema: Schema, node: dict[str, Any], optional: bool, field_default: Any, implicit: str | None
    ) -> Schema:
        params = schema.params
        doc, version, name = schema.doc, schema.version, schema.name
        if self.meta and isinstance(node.get("connect.doc"), str):
            doc = node["connect.doc"]
        if "connect.version" in node:
            if not isinstance(node["connect.version"], int):
                raise DataError(f"Invalid Connect version found: {node['connect.version']!r}")
            version = node["connect.version"]
        if self.meta and "connect.parameters" in node:
            extra = node["connect.parameters"]
            if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
                raise DataError(f"Expected JSON object of strings for schema parameters but found: {extra!r}")
            params.update(extra)
        params.update({k: str(v) for k, v in node.items() if k.startswith("avro")})
        connect_default = node.get("connect.default")
        default_json = connect_default
        if field_default is not _NO_DEFAULT and field_default is not None:
            default_json = field_default
            if self.meta and connect_default is None:
                params[FIELD_DEFAULT_FLAG] = "true"
        connect_name = node.get("connect.name", implicit)
        if connect_name is not None and not str(connect_name).startswith(DEFAULT_RECORD):
            if name is not None and name != connect_name:
                raise DataError(f"Mismatched names: {name!r} in the schema, {connect_name!r} in connect.name")
            name = str(connect_name)
        schema = replace(
            schema,
            doc=doc,
            version=version,
            name=name,
            optional=optional or schema.optional,
            parameters=tuple(sorted(params.items())),
        )
        if default_json is not None:
            with contextlib.suppress(SchemaError, DataError, ValueError, TypeError, KeyError):  # as AvroData
                schema = schema.with_default(default_from_json(schema, default_json))
        return schema


def _branch_name(branch: Any, namespace: str | None, context: _ToConnect) -> str:
    node = branch
    if isinstance(branch, str) and branch not in _PRIMITIVES:
        node = context.resolve(branch, namespace)[0]
    if isinstance(node, dict) and node.get("type") in _NAMED:
        return str(node["name"]).rpartition(".")[2]
    if isinstance(node, dict):
        return str(node["type"]) if isinstance(node["type"], str) else _branch_name(node["type"], namespace, context)
    return str(node)


def to_connect_schema(avro: Any, *, connect_meta_data: bool = True) -> Schema:
    """The Connect schema AvroData makes of an Avro schema (given as parsed JSON)."""
    return _ToConnect(connect_meta_data).convert(avro, None)


def default_from_json(schema: Schema, value: Any) -> Any:
    """An Avro JSON default as a Connect value of ``schema``."""
    if value is None:
        return None
    name = schema.name
    if name == DECIMAL_NAME:
        return decimal_from_bytes(str(value).encode("iso-8859-1"), decimal_scale(schema))
    if name == DATE_NAME:
        return date_from_days(int(value))
    if name == TIME_NAME:
        return time_from_millis(int(value))
    if name == TIMESTAMP_NAME:
        return timestamp_from_millis(int(value))
    kind = schema.type
    if kind is Type.BYTES:
        return str(value).encode("iso-8859-1")
    if kind in (Type.FLOAT32, Type.FLOAT64):
        return float(value)
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        return [default_from_json(schema.value_schema, item) for item in value]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if isinstance(value, list):
            return {
                default_from_json(schema.key_schema, e["key"]): default_from_json(schema.value_schema, e["value"])
                for e in value
            }
        return {key: default_from_json(schema.value_schema, item) for key, item in value.items()}
    if kind is Type.STRUCT:
        if name == UNION:
            raise DataError("defaults of Avro unions are not carried into Connect")
        return Struct(schema, {f.name: default_from_json(f.schema, value.get(f.name)) for f in schema.fields})
    return value
