"""Kafka Connect's header transforms: InsertHeader, DropHeaders, HeaderFrom (Key and Value variants)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.runtime.transforms.fields import FieldTransform, fill_struct, rebuild_struct_schema
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.schema import OPTIONAL_STRING_SCHEMA
from hub.sdk.transform import R, Transformation


class InsertHeader(Transformation):
    """Adds a header ``header`` with the literal ``value.literal`` (a string)."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("header", ConfigType.STRING, doc="Header key.", non_empty=True)
            .define("value.literal", ConfigType.STRING, doc="Header value.")
        )

    def apply(self, record: R) -> R | None:
        headers = record.headers.add(self.config["header"], self.config["value.literal"], OPTIONAL_STRING_SCHEMA)
        return record.replace(headers=headers)


class DropHeaders(Transformation):
    """Removes every header whose key is in ``headers``."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("headers", ConfigType.LIST, doc="Header keys to remove.", non_empty=True)

    def apply(self, record: R) -> R | None:
        headers = record.headers
        for key in self.config["headers"]:
            headers = headers.remove(key)
        return record.replace(headers=headers)


class HeaderFrom(FieldTransform):
    """Copies or moves ``fields`` of the key or value into headers named by ``headers`` (same order)."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("fields", ConfigType.LIST, doc="Fields to read.", non_empty=True)
            .define("headers", ConfigType.LIST, doc="Header keys to write, one per field.", non_empty=True)
            .define("operation", ConfigType.STRING, doc="move or copy.", choices=("move", "copy"))
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        if len(self.config["fields"]) != len(self.config["headers"]):
            raise ConfigError({"headers": ["'fields' and 'headers' must list the same number of names"]})

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if value is None:
            return record
        self._require_container(schema, value)
        headers = record.headers
        pairs = list(zip(self.config["fields"], self.config["headers"], strict=True))
        for field, header in pairs:
            if schema is None:
                headers = headers.add(header, value.get(field))
            else:
                if not schema.has_field(field):
                    raise DataError(f"HeaderFrom: no field {field!r} in the {self.part}")
                headers = headers.add(header, value.get(field), schema.field(field).schema)
        if self.config["operation"] == "copy":
            return record.replace(headers=headers)
        moved = {field for field, _ in pairs}
        if schema is None:
            stripped = {k: v for k, v in value.items() if k not in moved}
            return self._set(record, None, stripped).replace(headers=headers)
        kept = [f for f in schema.fields if f.name not in moved]
        new_schema = rebuild_struct_schema(schema, [(f.name, f.schema) for f in kept])
        new_value = fill_struct(new_schema, {f.name: value.get_without_default(f.name) for f in kept})
        return self._set(record, new_schema, new_value).replace(headers=headers)


class HeaderFromKey(HeaderFrom):
    """HeaderFrom on the record key (Connect's ``HeaderFrom$Key``)."""

    part = "key"


class HeaderFromValue(HeaderFrom):
    """HeaderFrom on the record value (Connect's ``HeaderFrom$Value``)."""

    part = "value"
