"""ProtobufConverter, as Confluent's ``io.confluent.connect.protobuf.ProtobufConverter``.

Writing: a Connect struct schema becomes a proto3 file (protobuf_schemas), a primitive one the wrapper message of
its type in ``google/protobuf/wrappers.proto`` (as ProtobufData writes keys such as strings). The file is
registered as type PROTOBUF, as the base64 of its ``FileDescriptorProto`` (as confluent-kafka's serializer
registers it; it imports only well-known and Confluent types, which every registry knows, so it has no
references) — or looked up with ``auto.register.schemas=false`` — under the subject the strategy names (the
record name is the message's full name). Each record is the 5-byte header, the message indexes (``0`` for the
file's one top-level message) and the message's bytes. With ``use.latest.version`` (which needs
``auto.register.schemas=false``: Confluent's serializer would otherwise register the data's schema and ignore it)
the subject's latest schema is the writer's instead: its id goes in the header, the message of the data's full
name in it gives the message indexes, and the struct's fields are set on that message by name; a record that does
not fit it (a field it lacks, a value of another type, no message of that name) is a DataError.

Reading: the id gives the writer's file (fetched in the registry's serialized form, with its references), the
message indexes its message type, and the descriptor the Connect schema; the message becomes a Connect struct
(protobuf_values), a wrapper message its value.

Options: the registry's (registry_access) and ``schemas.cache.config``; ProtobufData's options other than their
defaults are refused by name.

An instance is used by one task thread; its caches and descriptor pools are not shared.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from hub.runtime.converters.schema_registry.protobuf_schemas import (
    ROOT_WRAPPERS,
    UNWRAPPED,
    to_connect_schema,
    to_file_descriptor,
)
from hub.runtime.converters.schema_registry.protobuf_values import fill, read
from hub.runtime.converters.schema_registry.registry_access import REGISTRY_CONFIG, RegistryAccess
from hub.runtime.converters.schema_registry.wire import (
    decode_message_indexes,
    encode_message_indexes,
    frame,
    unframe,
)
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, SchemaAndValue
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import Schema, SchemaError


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
    indexes: bytes  # the message indexes of the message in its file
    fill: Callable[[Any, Any], None]  # sets a message from a Connect value


class _Reading(NamedTuple):
    pool: Any
    file: Any  # the FileDescriptorProto
    types: dict[tuple[int, ...], tuple[Schema, Any, Callable[[Any], Any]]]  # indexes → (schema, class, reader)


class _Target(NamedTuple):
    header: bytes  # magic byte, schema id and message indexes
    message_class: Any  # the message the records are written as
    fit: str  # with use.latest.version: names the latest schema in a record's error


class ProtobufConverter(Converter):
    """Confluent's ProtobufConverter (see the module docstring)."""

    def __init__(self) -> None:
        self._registry: RegistryAccess | None = None
        self._writings: IdentityCache[Schema, _Writing] = IdentityCache(self._make_writing)
        self._targets: dict[tuple[str, str], _Target] = {}
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
        if options["use.latest.version"] and options["auto.register.schemas"]:
            raise ConfigError(
                {"use.latest.version": ["true needs auto.register.schemas=false (else the data's own is registered)"]}
            )
        self._writings = IdentityCache(self._make_writing, options["schemas.cache.config"])
        self._targets.clear()
        self._readings.clear()
        self._registry = RegistryAccess.from_options(options, is_key=is_key)

    @property
    def registry(self) -> RegistryAccess:
        if self._registry is None:
            raise ConfigError({"schema.registry.url": ["the ProtobufConverter was not configured"]})
        return self._registry

    def _make_writing(self, schema: Schema) -> _Writing:
        if schema.type in ROOT_WRAPPERS:
            if schema.name is not None and schema.name.startswith("org.apache.kafka.connect.data."):
                raise DataError(f"Unsupported root schema {schema.name}: a logical type needs a struct around it")
            from google.protobuf import wrappers_pb2

            file = wrappers_pb2.DESCRIPTOR
            wrapper = ROOT_WRAPPERS[schema.type]
            index = [message.name for message in file.message_types_by_name.values()].index(wrapper)
            text = base64.standard_b64encode(file.serialized_pb).decode("ascii")
            return _Writing(
                text,
                f"google.protobuf.{wrapper}",
                getattr(wrappers_pb2, wrapper),
                encode_message_indexes([index]),
                _fill_wrapper,
            )
        file = to_file_descriptor(schema)
        pool = _new_pool()
        try:
            pool.Add(file)
        except Exception as exc:  # protobuf's pool raises several types for a file it cannot build
            raise DataError(f"Connect schema cannot be written as Protobuf: {exc}") from None
        message = file.message_type[0].name
        full_name = f"{file.package}.{message}" if file.package else message
        text = base64.standard_b64encode(file.SerializeToString()).decode("ascii")
        filled: Callable[[Any, Any], None] = lambda message, value: fill(message, schema, value)  # noqa: E731
        return _Writing(text, full_name, _message_class(pool.FindMessageTypeByName(full_name)), b"\x00", filled)

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        if schema is None:
            raise DataError(f"ProtobufConverter needs a schema to write a value of topic {topic!r}; it has none")
        writing = self._writings(schema)
        key = (topic, writing.text)
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = self._target(topic, writing)
        message = target.message_class()
        try:
            writing.fill(message, value)
        except (DataError, TypeError, ValueError, AttributeError, KeyError, SchemaError) as exc:
            raise DataError(f"Failed to serialize Protobuf data from topic {topic!r}{target.fit}: {exc}") from None
        payload: bytes = message.SerializeToString()
        return target.header + payload

    def _target(self, topic: str, writing: _Writing) -> _Target:
        """Where ``writing``'s records of ``topic`` go: the data's own schema, registered or looked up, or the
        subject's latest with ``use.latest.version`` (the message of the data's full name in it)."""
        registry = self.registry
        subject = registry.subject(topic, writing.record_name)
        if not registry.use_latest:
            from confluent_kafka.schema_registry import Schema as RegistrySchema

            schema_id = registry.id_for(subject, RegistrySchema(writing.text, "PROTOBUF"))
            return _Target(frame(schema_id, writing.indexes), writing.message_class, "")
        latest = registry.latest(subject)
        if latest.schema_id is None:
            raise DataError(f"the registry gave no id for subject {subject!r}")
        schema_id = int(latest.schema_id)
        if latest.schema is not None and latest.schema.schema_type != "PROTOBUF":
            raise DataError(f"the latest schema of subject {subject!r} is {latest.schema.schema_type}, not PROTOBUF")
        reading = self._readings.get(schema_id) or self._reading(schema_id)
        indexes, full_name = _indexes_of(reading.file, writing.record_name)
        if indexes is None:
            raise DataError(
                f"the latest schema (id {schema_id}) of subject {subject!r} has no message {writing.record_name!r}"
            )
        message_class = _message_class(reading.pool.FindMessageTypeByName(full_name))
        fit = f": the data does not fit the latest schema (id {schema_id}) of subject {subject!r}"
        return _Target(frame(schema_id, encode_message_indexes(indexes)), message_class, fit)

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
        connect_schema, message_class, convert = found
        message = message_class()
        try:
            message.ParseFromString(bytes(payload))
        except DecodeError as exc:
            raise DataError(
                f"Failed to deserialize Protobuf data of topic {topic!r} (schema id {schema_id}): {exc}"
            ) from None
        return SchemaAndValue(connect_schema, convert(message))

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
        if file.name in known:  # a well-known file itself (a wrapper type at the root): the pool has it
            reading = _Reading(pool, file, {})
            self._readings[schema_id] = reading
            return reading
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
    def _message_type(
        reading: _Reading, indexes: list[int], schema_id: int
    ) -> tuple[Schema, Any, Callable[[Any], Any]]:
        """The Connect schema, message class and value reader of the message the indexes point at (top-level, then
        nested); a wrapper type is read as its value."""
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
        unwrapped = UNWRAPPED.get(descriptor.full_name)
        if unwrapped is not None:
            return Schema(unwrapped, optional=True), _message_class(descriptor), _read_wrapper
        connect_schema = to_connect_schema(descriptor)
        return connect_schema, _message_class(descriptor), lambda message: read(message, connect_schema)


def _indexes_of(file: Any, record_name: str) -> tuple[list[int] | None, str]:
    """The message indexes and full name of the message ``record_name`` in a FileDescriptorProto (an unqualified
    name is looked up in the file's package), or None."""
    package = file.package
    wanted = {record_name, f"{package}.{record_name}" if package and "." not in record_name else record_name}
    pending: list[tuple[list[int], str, Any]] = [
        ([index], f"{package}.{message.name}" if package else message.name, message)
        for index, message in enumerate(file.message_type)
    ]
    while pending:
        indexes, full_name, message = pending.pop(0)
        if full_name in wanted:
            return indexes, full_name
        nested = enumerate(message.nested_type)
        pending.extend(([*indexes, index], f"{full_name}.{inner.name}", inner) for index, inner in nested)
    return None, ""


def _fill_wrapper(message: Any, value: Any) -> None:
    message.value = bytes(value) if isinstance(value, bytearray | memoryview) else value


def _read_wrapper(message: Any) -> Any:
    return message.value


def _builtin_files() -> list[Any]:
    import importlib

    return [importlib.import_module(module).DESCRIPTOR for module in _BUILTIN_MODULES]
