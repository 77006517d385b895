"""Kafka Connect's field transforms, each with a ``Key`` and a ``Value`` variant (Connect's ``X$Key`` / ``X$Value``):
InsertField, ReplaceField, ExtractField, HoistField, MaskField, and ValueToKey.

Records with a schema carry Structs and get a new schema (with the name and optionality of the old one);
schemaless records carry dicts and are copied. Anything else is a DataError naming the transform.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any, ClassVar

from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.records import SinkRecord
from hub.sdk.schema import (
    INT32_SCHEMA,
    INT64_SCHEMA,
    STRING_SCHEMA,
    Schema,
    Type,
    struct_schema,
    timestamp_schema,
)
from hub.sdk.struct import Struct
from hub.sdk.transform import R, Transformation


class FieldTransform(Transformation):
    """Reads and writes the key or the value, depending on the variant."""

    part: ClassVar[str] = "value"

    def _get(self, record: R) -> tuple[Schema | None, Any]:
        return (record.key_schema, record.key) if self.part == "key" else (record.value_schema, record.value)

    def _set(self, record: R, schema: Schema | None, value: Any) -> R:
        if self.part == "key":
            return record.replace(key_schema=schema, key=value)
        return record.replace(value_schema=schema, value=value)

    def _require_container(self, schema: Schema | None, value: Any) -> None:
        if schema is not None and (schema.type is not Type.STRUCT or not isinstance(value, Struct)):
            raise DataError(f"{type(self).__name__} needs a struct {self.part}, got {schema.type.value}")
        if schema is None and not isinstance(value, dict):
            raise DataError(
                f"{type(self).__name__} needs a map {self.part} when there is no schema, got {type(value).__name__}"
            )


def _schemaless_type(value: Any) -> Type | None:
    if isinstance(value, bool):
        return Type.BOOLEAN
    if isinstance(value, int):
        return Type.INT64
    if isinstance(value, float):
        return Type.FLOAT64
    if isinstance(value, str):
        return Type.STRING
    return None


def rebuild_struct_schema(schema: Schema, fields: list[tuple[str, Schema]]) -> Schema:
    return struct_schema(fields, name=schema.name, optional=schema.optional, version=schema.version, doc=schema.doc)


def fill_struct(schema: Schema, values: Mapping[str, Any]) -> Struct:
    struct = Struct(schema)
    for name, value in values.items():
        struct.put(name, value)
    return struct


class InsertField(FieldTransform):
    """Adds the record's topic, partition, offset (sink records), timestamp and/or a static value as fields.
    A field name ending in ``!`` is required, ``?`` (the default) optional."""

    OPTIONS = ("topic.field", "partition.field", "offset.field", "timestamp.field", "static.field")

    def config_def(self) -> ConfigDef:
        definition = ConfigDef()
        for option in self.OPTIONS:
            definition = definition.define(option, ConfigType.STRING, None, f"Field name for {option[:-6]}.")
        return definition.define("static.value", ConfigType.STRING, None, "Value of the static field.")

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        if self.config["static.field"] and self.config["static.value"] is None:
            raise ConfigError({"static.value": ["static.value is required with static.field"]})

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if value is None:
            return record  # tombstones pass unchanged
        self._require_container(schema, value)
        additions: list[tuple[str, Schema, Any]] = []
        metadata = {
            "topic.field": (STRING_SCHEMA, record.topic),
            "partition.field": (INT32_SCHEMA, record.kafka_partition),
            "offset.field": (INT64_SCHEMA, record.kafka_offset if isinstance(record, SinkRecord) else None),
            "timestamp.field": (
                timestamp_schema(),
                None if record.timestamp is None else dt.datetime.fromtimestamp(record.timestamp / 1000, tz=dt.UTC),
            ),
            "static.field": (STRING_SCHEMA, self.config["static.value"]),
        }
        for option, (field_schema, field_value) in metadata.items():
            name = self.config[option]
            if not name:
                continue
            required = name.endswith("!")
            name = name.rstrip("!?")
            if option == "offset.field" and not isinstance(record, SinkRecord):
                raise DataError("InsertField offset.field works only on sink records")
            additions.append((name, field_schema if required else field_schema.as_optional(), field_value))
        if schema is None:
            return self._set(record, None, {**value, **{name: v for name, _, v in additions}})
        new_schema = rebuild_struct_schema(
            schema, [(f.name, f.schema) for f in schema.fields] + [(n, s) for n, s, _ in additions]
        )
        values = {f.name: value.get_without_default(f.name) for f in schema.fields}
        values.update({name: v for name, _, v in additions})
        return self._set(record, new_schema, fill_struct(new_schema, values))


class ReplaceField(FieldTransform):
    """Keeps only ``include`` fields (if given), drops ``exclude`` fields, renames ``old:new`` pairs."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("include", ConfigType.LIST, [], "Fields to keep (all when empty).")
            .define("exclude", ConfigType.LIST, [], "Fields to drop.")
            .define("renames", ConfigType.LIST, [], "old:new pairs.")
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        self.renames: dict[str, str] = {}
        for pair in self.config["renames"]:
            old, sep, new = pair.partition(":")
            if not sep or not old or not new:
                raise ConfigError({"renames": [f"Invalid rename {pair!r}: expected old:new"]})
            self.renames[old] = new

    def _keeps(self, name: str) -> bool:
        include, exclude = self.config["include"], self.config["exclude"]
        return (not include or name in include) and name not in exclude

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if value is None:
            return record
        self._require_container(schema, value)
        if schema is None:
            return self._set(record, None, {self.renames.get(k, k): v for k, v in value.items() if self._keeps(k)})
        kept = [f for f in schema.fields if self._keeps(f.name)]
        new_schema = rebuild_struct_schema(schema, [(self.renames.get(f.name, f.name), f.schema) for f in kept])
        values = {self.renames.get(f.name, f.name): value.get_without_default(f.name) for f in kept}
        return self._set(record, new_schema, fill_struct(new_schema, values))


class ExtractField(FieldTransform):
    """Replaces the key or value with one of its fields."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("field", ConfigType.STRING, doc="Field to extract.", non_empty=True)

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if value is None:
            return record
        self._require_container(schema, value)
        name = self.config["field"]
        if schema is None:
            return self._set(record, None, value.get(name))
        if not schema.has_field(name):
            raise DataError(f"ExtractField: no field {name!r} in the {self.part}")
        return self._set(record, schema.field(name).schema, value.get(name))


class HoistField(FieldTransform):
    """Wraps the whole key or value in a struct (or map) under ``field``."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("field", ConfigType.STRING, doc="Name of the wrapping field.", non_empty=True)

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        name = self.config["field"]
        if schema is None:
            return self._set(record, None, {name: value})
        new_schema = struct_schema([(name, schema)])
        return self._set(record, new_schema, Struct(new_schema, {name: value}))


_MASKS: Mapping[Type, Any] = {
    Type.INT8: 0,
    Type.INT16: 0,
    Type.INT32: 0,
    Type.INT64: 0,
    Type.FLOAT32: 0.0,
    Type.FLOAT64: 0.0,
    Type.BOOLEAN: False,
    Type.STRING: "",
    Type.BYTES: b"",
}


class MaskField(FieldTransform):
    """Replaces ``fields`` with an empty value of their type (0, false, "", …) or with ``replacement``."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("fields", ConfigType.LIST, doc="Fields to mask.", non_empty=True)
            .define("replacement", ConfigType.STRING, None, "Replacement for numeric and string fields.")
        )

    def _mask(self, schema: Schema | None, value: Any) -> Any:
        replacement = self.config["replacement"]
        kind = schema.type if schema is not None else _schemaless_type(value)
        if replacement is not None:
            try:
                if kind is Type.STRING:
                    return replacement
                if kind in (Type.INT8, Type.INT16, Type.INT32, Type.INT64):
                    return int(replacement)
                if kind in (Type.FLOAT32, Type.FLOAT64):
                    return float(replacement)
            except ValueError:
                raise DataError(f"MaskField replacement {replacement!r} does not fit the field's type") from None
            raise DataError("MaskField replacement works only for numeric and string fields")
        if schema is not None:
            if schema.type in _MASKS and schema.name is None:
                return _MASKS[schema.type]
            if schema.type is Type.ARRAY:
                return []
            if schema.type is Type.MAP:
                return {}
            if isinstance(value, decimal.Decimal):
                return decimal.Decimal(0)
            raise DataError(f"MaskField cannot mask a {schema.name or schema.type.value} field")
        for kind_, empty in ((bool, False), (int, 0), (float, 0.0), (str, ""), (bytes, b""), (list, []), (dict, {})):
            if isinstance(value, kind_):
                return empty
        raise DataError(f"MaskField cannot mask a {type(value).__name__} value")

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if value is None:
            return record
        self._require_container(schema, value)
        fields = self.config["fields"]
        if schema is None:
            return self._set(record, None, {k: self._mask(None, v) if k in fields else v for k, v in value.items()})
        values = {
            f.name: self._mask(f.schema, value.get(f.name)) if f.name in fields else value.get_without_default(f.name)
            for f in schema.fields
        }
        return self._set(record, schema, fill_struct(schema, values))


class ValueToKey(Transformation):
    """Replaces the key with a struct (or map) of the value's ``fields``."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("fields", ConfigType.LIST, doc="Value fields that make the key.", non_empty=True)

    def apply(self, record: R) -> R | None:
        fields = self.config["fields"]
        if record.value is None:
            return record
        if record.value_schema is None:
            if not isinstance(record.value, dict):
                raise DataError("ValueToKey needs a map value when there is no schema")
            return record.replace(key_schema=None, key={name: record.value.get(name) for name in fields})
        schema = record.value_schema
        missing = [name for name in fields if not schema.has_field(name)]
        if missing:
            raise DataError(f"ValueToKey: the value has no field(s) {', '.join(missing)}")
        key_schema = struct_schema([(name, schema.field(name).schema) for name in fields])
        return record.replace(
            key_schema=key_schema, key=Struct(key_schema, {name: record.value.get(name) for name in fields})
        )


class InsertFieldKey(InsertField):
    """InsertField on the record key (Connect's ``InsertField$Key``)."""

    part = "key"


class InsertFieldValue(InsertField):
    """InsertField on the record value (Connect's ``InsertField$Value``)."""

    part = "value"


class ReplaceFieldKey(ReplaceField):
    """ReplaceField on the record key (Connect's ``ReplaceField$Key``)."""

    part = "key"


class ReplaceFieldValue(ReplaceField):
    """ReplaceField on the record value (Connect's ``ReplaceField$Value``)."""

    part = "value"


class ExtractFieldKey(ExtractField):
    """ExtractField on the record key (Connect's ``ExtractField$Key``)."""

    part = "key"


class ExtractFieldValue(ExtractField):
    """ExtractField on the record value (Connect's ``ExtractField$Value``)."""

    part = "value"


class HoistFieldKey(HoistField):
    """HoistField on the record key (Connect's ``HoistField$Key``)."""

    part = "key"


class HoistFieldValue(HoistField):
    """HoistField on the record value (Connect's ``HoistField$Value``)."""

    part = "value"


class MaskFieldKey(MaskField):
    """MaskField on the record key (Connect's ``MaskField$Key``)."""

    part = "key"


class MaskFieldValue(MaskField):
    """MaskField on the record value (Connect's ``MaskField$Value``)."""

    part = "value"
