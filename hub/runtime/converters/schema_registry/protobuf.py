"""ProtobufConverter, as Confluent's ``io.confluent.connect.protobuf.ProtobufConverter``.

Writing: the Connect struct schema becomes a proto3 file (protobuf_schemas), registered as type PROTOBUF — as the
base64 of its ``FileDescriptorProto``, as confluent-kafka's serializer registers it; its imports are the well-known
and Confluent types every registry knows, so it has no references — or looked up with
``auto.register.schemas=false``, under the subject the strategy names (the record name is the message's full
name). Each record is the 5-byte header, the message indexes (``0``: the file's one top-level message) and the
message's bytes. Reading: the id gives the writer's file (fetched in the registry's serialized form, with its
references), the message indexes its message type, and the descriptor the Connect schema; the message becomes a
Connect struct (protobuf_values).

Options: the registry's (registry_access) and ``schemas.cache.config``; ``use.latest.version`` and ProtobufData's
options other than their defaults are refused by name.

An instance is used by one task thread; its caches and descriptor pools are not shared.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, NamedTuple

from hub.runtime.converters.schema_registry.protobuf_schemas import to_connect_schema, to_file_descriptor
from hub.runtime.converters.schema_registry.protobuf_values import fill, read
from hub.runtime.converters.schema_registry.registry_access import REGISTRY_CONFIG, RegistryAccess
from hub.runtime.converters.schema_registry.wire import decode_message_indexes, frame, unframe
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, SchemaAndValue
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import Schema, SchemaError
from hub.sdk.struct import Struct


def _must_be(expected: bool) -> Any:
    return lambda value: None if value is expected else f"{str(not expected).lower()} is not implemented in Hub"


PROTOBUF_CONFIG = REGISTRY_CONFIG.merge(
    ConfigDef()
    .define("schemas.cache.config", ConfigType.INT, 1000, "Schemas to keep converted.", minimum=1)
    .define(
        "enhanced.protobuf.schema.support", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False)
    )
    .define("generalized.sum.type.support", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("scrub.invalid.names", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("int.for.enums", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("optional.for.nullables", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("wrapper.for.nullables", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("wrapper.for.raw.primitives", ConfigType.BOOLEAN, True, "Not implemented.", validator=_must_be(True))
    .define("flatten.unions", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
)
#: The files the converter's descriptors may import, all known to every Confluent-compatible registry.
_BUILTIN_MODULES = (
    "google.protobuf.descriptor_pb2",
    "google.protobuf.timestamp_pb2",
    "google.protobuf.wrappers_pb2",
    "google.type.date_pb2",
    "google.type.timeofday_pb2",
    "confluent_kafka.schema_registry.confluent.meta_pb2",
    "confluent_kafka.schema_registry.confluent.type.decimal_pb2",
)


def _new_pool() -> Any:
    import importlib

    from google.protobuf.descriptor_pool import DescriptorPool

    pool = DescriptorPool()
    for module in _BUILTIN_MODULES:
        pool.AddSerializedFile(importlib.import_module(module).DESCRIPTOR.serialized_pb)
    return pool


def _message_class(descriptor: Any) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


class _Writing(NamedTuple):
    text: str
    record_name: str
    message_class: Any


class _Reading(NamedTuple):
    pool: Any
    file: Any  # the FileDescriptorProto
    types: dict[tuple[int, ...], tuple[Schema, Any]]  # message indexes → (Connect schema, message class)


class ProtobufConverter(Converter):
    """Confluent's ProtobufConverter (see the module docstring)."""

    def __init__(self) -> None:
        self._registry: RegistryAccess | None = None
        self._writings: IdentityCache[Schema, _Writing] = IdentityCache(self._make_writing)
        self._headers: dict[tuple[str, str], bytes] = {}
        self._readings: dict[int, _Reading] = {}

    def config_def(self) -> ConfigDef:
        return PROTOBUF_CONFIG

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        known = {
            key: value
            for key, value in config.items()
            if PROTOBUF_CONFIG.key(key) or key in PROTOBUF_CONFIG.unsupported_keys
        }
        options = PROTOBUF_CONFIG.parse(known)
        if options["use.latest.version"]:
            raise ConfigError({"use.latest.version": ["true is not implemented by Hub's ProtobufConverter"]})
        self._writings = IdentityCache(self._make_writing, options["schemas.cache.config"])
        self._headers.clear()
        self._readings.clear()
        self._registry = RegistryAccess.from_options(options, is_key=is_key)

    @property
    def registry(self) -> RegistryAccess:
        if self._registry is None:
            raise ConfigError({"schema.registry.url": ["the ProtobufConverter was not configured"]})
        return self._registry

    def _make_writing(self, schema: Schema) -> _Writing:
        file = to_file_descriptor(schema)
        pool = _new_pool()
        try:
            pool.Add(file)
        except Exception as exc:  # protobuf's pool raises several types for a file it cannot build
            raise DataError(f"Connect schema cannot be written as Protobuf: {exc}") from None
        message = file.message_type[0].name
        full_name = f"{file.package}.{message}" if file.package else message
        text = base64.standard_b64encode(file.SerializeToString()).decode("ascii")
        return _Writing(text, full_name, _message_class(pool.FindMessageTypeByName(full_name)))

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        if schema is None:
            raise DataError(f"ProtobufConverter needs a schema to write a value of topic {topic!r}; it has none")
        writing = self._writings(schema)
        key = (topic, writing.text)
        header = self._headers.get(key)
        if header is None:
            from confluent_kafka.schema_registry import Schema as RegistrySchema

            registry = self.registry
            subject = registry.subject(topic, writing.record_name)
            header = self._headers[key] = frame(
                registry.id_for(subject, RegistrySchema(writing.text, "PROTOBUF")), b"\x00"
            )
        if not isinstance(value, Struct):
            raise DataError(
                f"ProtobufConverter writes structs; the value of topic {topic!r} is a {type(value).__name__}"
            )
        message = writing.message_class()
        try:
            fill(message, schema, value)
        except (TypeError, ValueError, AttributeError, KeyError, SchemaError) as exc:
            raise DataError(f"Failed to serialize Protobuf data from topic {topic!r}: {exc}") from None
        payload: bytes = message.SerializeToString()
        return header + payload

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        from google.protobuf.message import DecodeError

        schema_id, rest = unframe(topic, data)
        indexes, payload = decode_message_indexes(rest)
        reading = self._readings.get(schema_id) or self._reading(schema_id)
        found = reading.types.get(tuple(indexes))
        if found is None:
            found = reading.types[tuple(indexes)] = self._message_type(reading, indexes, schema_id)
        connect_schema, message_class = found
        message = message_class()
        try:
            message.ParseFromString(bytes(payload))
        except DecodeError as exc:
            raise DataError(
                f"Failed to deserialize Protobuf data of topic {topic!r} (schema id {schema_id}): {exc}"
            ) from None
        return SchemaAndValue(connect_schema, read(message, connect_schema))

    def _reading(self, schema_id: int) -> _Reading:
        from google.protobuf.descriptor_pb2 import FileDescriptorProto

        registry = self.registry
        registered = registry.by_id(schema_id, fmt="serialized")
        if registered.schema_type != "PROTOBUF":
            raise DataError(f"schema id {schema_id} is {registered.schema_type}, not PROTOBUF")
        pool = _new_pool()
        known = {file.name for file in _builtin_files()}
        self._add_references(pool, registered, known)
        file = FileDescriptorProto()
        try:
            file.ParseFromString(base64.standard_b64decode(registered.schema_str or ""))
        except Exception as exc:  # a registry that gave text instead of the serialized form
            raise DataError(f"schema id {schema_id}: not a serialized Protobuf descriptor: {exc}") from None
        file.name = f"schema-{schema_id}.proto"
        try:
            pool.Add(file)
        except Exception as exc:  # protobuf's pool raises several types for a file it cannot build
            raise DataError(f"schema id {schema_id} is not a usable Protobuf schema: {exc}") from None
        reading = _Reading(pool, file, {})
        self._readings[schema_id] = reading
        return reading

    def _add_references(self, pool: Any, registered: Any, known: set[str]) -> None:
        from google.protobuf.descriptor_pb2 import FileDescriptorProto

        for reference in registered.references or ():
            if reference.name in known:
                continue
            known.add(reference.name)
            version = self.registry.version(reference.subject, reference.version, fmt="serialized")
            self._add_references(pool, version.schema, known)
            file = FileDescriptorProto()
            file.ParseFromString(base64.standard_b64decode(version.schema.schema_str or ""))
            file.name = reference.name
            pool.Add(file)

    @staticmethod
    def _message_type(reading: _Reading, indexes: list[int], schema_id: int) -> tuple[Schema, Any]:
        """The Connect schema and message class of the message the indexes point at (top-level, then nested)."""
        candidates = list(reading.file.message_type)
        path = reading.file.package
        for depth, index in enumerate(indexes):
            if not 0 <= index < len(candidates):
                raise DataError(f"message indexes {indexes} point at no message of schema id {schema_id}")
            chosen = candidates[index]
            path = f"{path}.{chosen.name}" if path else chosen.name
            if depth < len(indexes) - 1:
                candidates = list(chosen.nested_type)
        descriptor = reading.pool.FindMessageTypeByName(path)
        return to_connect_schema(descriptor), _message_class(descriptor)


def _builtin_files() -> list[Any]:
    import importlib

    return [importlib.import_module(module).DESCRIPTOR for module in _BUILTIN_MODULES]
