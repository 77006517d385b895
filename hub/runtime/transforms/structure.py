"""Kafka Connect's structural transforms: Flatten and SetSchemaMetadata (Key and Value variants)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hub.runtime.transforms.fields import FieldTransform, fill_struct, rebuild_struct_schema
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.errors import ConfigError
from hub.sdk.schema import Schema, Type
from hub.sdk.struct import Struct
from hub.sdk.transform import R


class Flatten(FieldTransform):
    """Nested structs (or maps, schemaless) become top-level fields named ``outer<delimiter>inner``."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("delimiter", ConfigType.STRING, ".", "Between the names of nested fields.")

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if value is None:
            return record
        self._require_container(schema, value)
        delimiter = self.config["delimiter"]
        if schema is None:
            flat: dict[str, Any] = {}
            _flatten_map(value, "", delimiter, flat)
            return self._set(record, None, flat)
        fields: list[tuple[str, Schema]] = []
        values: dict[str, Any] = {}
        _flatten_struct(schema, value, "", delimiter, fields, values, optional=False)
        new_schema = rebuild_struct_schema(schema, fields)
        return self._set(record, new_schema, fill_struct(new_schema, values))


def _flatten_map(value: Mapping[str, Any], prefix: str, delimiter: str, out: dict[str, Any]) -> None:
    for key, item in value.items():
        name = f"{prefix}{delimiter}{key}" if prefix else str(key)
        if isinstance(item, dict):
            _flatten_map(item, name, delimiter, out)
        else:
            out[name] = item


def _flatten_struct(
    schema: Schema,
    value: Struct | None,
    prefix: str,
    delimiter: str,
    fields: list[tuple[str, Schema]],
    values: dict[str, Any],
    *,
    optional: bool,
) -> None:
    for field in schema.fields:
        name = f"{prefix}{delimiter}{field.name}" if prefix else field.name
        item = value.get(field.name) if value is not None else None
        if field.schema.type is Type.STRUCT:
            _flatten_struct(
                field.schema, item, name, delimiter, fields, values, optional=optional or field.schema.optional
            )
        else:
            # A field inside an optional struct may be absent, so it becomes optional too.
            fields.append((name, field.schema.as_optional() if optional else field.schema))
            values[name] = item


class SetSchemaMetadata(FieldTransform):
    """Sets the schema's ``schema.name`` and/or ``schema.version`` (Structs are rebuilt to carry it)."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("schema.name", ConfigType.STRING, None, "New schema name.")
            .define("schema.version", ConfigType.INT, None, "New schema version.")
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        if self.config["schema.name"] is None and self.config["schema.version"] is None:
            raise ConfigError({"": ["SetSchemaMetadata needs schema.name or schema.version"]})

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if schema is None:
            return record
        changes: dict[str, Any] = {}
        if self.config["schema.name"] is not None:
            changes["name"] = self.config["schema.name"]
        if self.config["schema.version"] is not None:
            changes["version"] = self.config["schema.version"]
        new_schema = dataclasses.replace(schema, **changes)
        if isinstance(value, Struct):
            value = fill_struct(new_schema, {f.name: value.get_without_default(f.name) for f in schema.fields})
        return self._set(record, new_schema, value)


class FlattenKey(Flatten):
    """Flatten on the record key (Connect's ``Flatten$Key``)."""

    part = "key"


class FlattenValue(Flatten):
    """Flatten on the record value (Connect's ``Flatten$Value``)."""

    part = "value"


class SetSchemaMetadataKey(SetSchemaMetadata):
    """SetSchemaMetadata on the record key (Connect's ``SetSchemaMetadata$Key``)."""

    part = "key"


class SetSchemaMetadataValue(SetSchemaMetadata):
    """SetSchemaMetadata on the record value (Connect's ``SetSchemaMetadata$Value``)."""

    part = "value"
