"""Connect schemas ↔ Avro schemas, as Confluent's ``AvroData`` maps them.

Connect → Avro: INT8 and INT16 are Avro ``int`` with ``"connect.type": "int8"/"int16"``; INT32 → int, INT64 →
long, FLOAT32 → float, FLOAT64 → double, BOOLEAN, STRING, BYTES as named (BYTES with a ``connect.fixed.size``
parameter: a ``fixed`` of that size); ARRAY → array; MAP with required string keys → map, other maps → an array
of ``io.confluent.connect.avro.MapEntry`` records (fields ``key``, ``value``); STRUCT → record named after the
schema (unnamed ones ``io.confluent.connect.avro.ConnectDefault``, ``ConnectDefault2``, …). An optional schema is
a union with null: ``["null", T]``, or ``[T, "null"]`` when it has a default (Avro's default must match the first
branch). Connect's metadata rides in properties: ``connect.doc``, ``connect.version``, ``connect.parameters``,
``connect.default``, ``connect.name``. Logical types: Decimal → bytes with ``logicalType: decimal``, ``scale``
and ``precision`` (``connect.decimal.precision`` or 64); Date → int ``date``; Time → int ``time-millis``;
Timestamp → long ``timestamp-millis``. A field's default is the default of its schema (null for optional fields
without one).

Avro → Connect: the reverse, plus what other writers produce: a union ``[null, T]`` in either order is an
optional T, other unions a struct ``io.confluent.connect.avro.Union`` with one optional field per branch (named
after the branch's type or record name), enums a STRING with ``io.confluent.connect.avro.Enum`` parameters,
fixed a BYTES with ``connect.fixed.size``, a field default a Connect default (flagged with the parameter
``io.confluent.connect.avro.field.default`` as AvroData does).

Pure functions over immutable values; safe from any thread.
"""

from __future__ import annotations

from typing import Any

from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    DECIMAL_SCALE_PARAMETER,
    TIME_NAME,
    TIMESTAMP_NAME,
    Schema,
    Type,
)

NAMESPACE = "io.confluent.connect.avro"
DEFAULT_RECORD = NAMESPACE + ".ConnectDefault"
MAP_ENTRY = NAMESPACE + ".MapEntry"
UNION = NAMESPACE + ".Union"
ENUM = NAMESPACE + ".Enum"
FIELD_DEFAULT_FLAG = NAMESPACE + ".field.default"
DECIMAL_PRECISION = "connect.decimal.precision"
FIXED_SIZE = "connect.fixed.size"
DEFAULT_PRECISION = 64

_PRIMITIVES = {
    Type.INT8: "int",
    Type.INT16: "int",
    Type.INT32: "int",
    Type.INT64: "long",
    Type.FLOAT32: "float",
    Type.FLOAT64: "double",
    Type.BOOLEAN: "boolean",
    Type.STRING: "string",
    Type.BYTES: "bytes",
}
_LOGICAL = {DATE_NAME: "date", TIME_NAME: "time-millis", TIMESTAMP_NAME: "timestamp-millis"}


def split_name(full_name: str) -> tuple[str | None, str]:
    namespace, _, name = full_name.rpartition(".")
    return namespace or None, name


class _ToAvro:
    """One Connect → Avro conversion: numbers unnamed records and remembers named types already written."""

    def __init__(self, connect_meta_data: bool) -> None:
        self.meta = connect_meta_data
        self.unnamed = 0
        self.defined: dict[str, Any] = {}

    def _name_of(self, schema: Schema) -> str:
        if schema.name is not None:
            return schema.name
        self.unnamed += 1
        return DEFAULT_RECORD + (str(self.unnamed) if self.unnamed > 1 else "")

    def _named(self, full_name: str, body: dict[str, Any], namespace: str | None) -> Any:
        """A named type's definition the first time, a reference to its name after (Avro defines a name once)."""
        if full_name in self.defined:
            if self.defined[full_name] != body:
                raise DataError(f"two different schemas are both named {full_name!r}; Avro names must be unique")
            return full_name
        self.defined[full_name] = body
        record_namespace, name = split_name(full_name)
        head: dict[str, Any] = {"type": body["type"], "name": name}
        if (record_namespace or "") != (namespace or ""):
            head["namespace"] = record_namespace or ""
        return {**head, **{k: v for k, v in body.items() if k != "type"}}

    def convert(self, schema: Schema, namespace: str | None = None) -> Any:
        base = self._base(schema, namespace)
        props = self._props(schema)
        if isinstance(base, dict):
            base.update(props)
        elif props and base in _PRIMITIVES.values():
            base = {"type": base, **props}
        # else: a reference to a named type defined earlier, which carries these properties already
        if not schema.optional:
            return base
        return [base, "null"] if schema.default is not None else ["null", base]

    def _base(self, schema: Schema, namespace: str | None) -> Any:
        kind = schema.type
        if kind is Type.BYTES and FIXED_SIZE in schema.params and schema.name != DECIMAL_NAME:
            return self._named(
                self._name_of(schema), {"type": "fixed", "size": int(schema.params[FIXED_SIZE])}, namespace
            )
        if kind.is_primitive:
            return _PRIMITIVES[kind]
        if kind is Type.ARRAY:
            assert schema.value_schema is not None
            return {"type": "array", "items": self.convert(schema.value_schema, namespace)}
        if kind is Type.MAP:
            assert schema.key_schema is not None
            assert schema.value_schema is not None
            if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
                return {"type": "map", "values": self.convert(schema.value_schema, namespace)}
            entry_name = schema.name or MAP_ENTRY
            body = {
                "type": "record",
                "fields": [
                    self._field("key", schema.key_schema, entry_name),
                    self._field("value", schema.value_schema, entry_name),
                ],
            }
            if schema.name is not None:
                body["connect.internal.type"] = "MapEntry"
            return {"type": "array", "items": self._named(entry_name, body, namespace)}
        return self._record(schema, namespace)

    def _record(self, schema: Schema, namespace: str | None) -> Any:
        full_name = self._name_of(schema)
        fields = [
            self._field(f.name, f.schema, full_name, schema.params.get(NAMESPACE + ".field.doc." + f.name))
            for f in schema.fields
        ]
        body: dict[str, Any] = {"type": "record"}
        doc = schema.params.get(NAMESPACE + ".record.doc")
        if doc is not None:
            body["doc"] = doc
        body["fields"] = fields
        return self._named(full_name, body, namespace)

    def _field(self, name: str, schema: Schema, record: str, doc: str | None = None) -> dict[str, Any]:
        field: dict[str, Any] = {"name": name, "type": self.convert(schema, split_name(record)[0])}
        if doc is not None:
            field["doc"] = doc
        if schema.default is not None:
            field["default"] = default_to_json(schema, schema.default)
        elif schema.optional:
            field["default"] = None
        return field

    def _props(self, schema: Schema) -> dict[str, Any]:
        props: dict[str, Any] = {}
        name = schema.name
        if name == DECIMAL_NAME:
            params = schema.params
            props["scale"] = int(params.get(DECIMAL_SCALE_PARAMETER, "0"))
            props["precision"] = int(params.get(DECIMAL_PRECISION, DEFAULT_PRECISION))
        if self.meta:
            if schema.doc is not None:
                props["connect.doc"] = schema.doc
            if schema.version is not None:
                props["connect.version"] = schema.version
            if schema.parameters:
                props["connect.parameters"] = dict(schema.parameters)
            if schema.default is not None and FIELD_DEFAULT_FLAG not in schema.params:
                props["connect.default"] = default_to_json(schema, schema.default)
            if name is not None:
                props["connect.name"] = name
            if schema.type in (Type.INT8, Type.INT16):
                props["connect.type"] = schema.type.name.lower()
        if name == DECIMAL_NAME:
            props["logicalType"] = "decimal"
        elif name in _LOGICAL:
            props["logicalType"] = _LOGICAL[name]
        return props


def to_avro_schema(schema: Schema, *, connect_meta_data: bool = True) -> Any:
    """The Avro schema (as JSON data) AvroData makes of a Connect schema."""
    return _ToAvro(connect_meta_data).convert(schema)


def default_to_json(schema: Schema, value: Any) -> Any:
    """A Connect default as Avro's JSON default (bytes as ISO-8859-1 text; logical types as their primitives)."""
    from hub.sdk.schema import date_to_days, decimal_scale, decimal_to_bytes, time_to_millis, timestamp_to_millis

    if value is None:
        return None
    name = schema.name
    if name == DECIMAL_NAME:
        return decimal_to_bytes(value, decimal_scale(schema)).decode("iso-8859-1")
    if name == DATE_NAME:
        return date_to_days(value)
    if name == TIME_NAME:
        return time_to_millis(value)
    if name == TIMESTAMP_NAME:
        return timestamp_to_millis(value)
    if schema.type is Type.BYTES:
        return bytes(value).decode("iso-8859-1")
    if schema.type is Type.ARRAY:
        assert schema.value_schema is not None
        return [default_to_json(schema.value_schema, item) for item in value]
    if schema.type is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return {key: default_to_json(schema.value_schema, item) for key, item in value.items()}
        return [
            {"key": default_to_json(schema.key_schema, k), "value": default_to_json(schema.value_schema, v)}
            for k, v in value.items()
        ]
    if schema.type is Type.STRUCT:
        return {f.name: default_to_json(f.schema, value.get(f.name)) for f in schema.fields}
    return value
