"""Hub's built-in converters, transforms, predicates and config providers, registered through the same hooks as
any plugin (under Kafka Connect's class names too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.runtime.config_providers import BUILTIN_PROVIDERS
from hub.runtime.converters import ByteArrayConverter, JsonConverter, StringConverter
from hub.runtime.converters.schema_registry import AvroConverter, JsonSchemaConverter, ProtobufConverter
from hub.runtime.converters.simple_header import SimpleHeaderConverter
from hub.runtime.transforms import BUILTIN_PREDICATES, BUILTIN_TRANSFORMS
from hub.sdk.plugin import hookimpl


@hookimpl
def hub_register_converters() -> Mapping[str, type[Any]]:
    return {
        "org.apache.kafka.connect.json.JsonConverter": JsonConverter,
        "org.apache.kafka.connect.storage.StringConverter": StringConverter,
        "org.apache.kafka.connect.converters.ByteArrayConverter": ByteArrayConverter,
        "org.apache.kafka.connect.storage.SimpleHeaderConverter": SimpleHeaderConverter,
        "io.confluent.connect.avro.AvroConverter": AvroConverter,
        "io.confluent.connect.json.JsonSchemaConverter": JsonSchemaConverter,
        "io.confluent.connect.protobuf.ProtobufConverter": ProtobufConverter,
    }


@hookimpl
def hub_register_transforms() -> Mapping[str, type[Any]]:
    return BUILTIN_TRANSFORMS


@hookimpl
def hub_register_predicates() -> Mapping[str, type[Any]]:
    return BUILTIN_PREDICATES


@hookimpl
def hub_register_config_providers() -> Mapping[str, type[Any]]:
    return {
        **BUILTIN_PROVIDERS,
        **{alias: kind for kind in BUILTIN_PROVIDERS.values() for alias in getattr(kind, "aliases", ())},
    }
