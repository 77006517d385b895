"""AvroConverter, as Confluent's ``io.confluent.connect.avro.AvroConverter``.

Writing (``from_connect``): the Connect schema becomes an Avro schema (avro_schemas), registered — or looked up
with ``auto.register.schemas=false``, or replaced by the subject's latest schema with ``use.latest.version`` —
under the subject the configured strategy names; a struct written in its own schema goes to fastavro field by
field (avro_records), any other value through the Connect schema's compiled writer (avro_values) and fastavro;
the bytes are framed with the schema id (wire). Reading (``to_connect``): the id picks the writer's schema (fetched
once from the registry), which becomes a Connect schema; a record is read field by field into its Struct
(avro_records), any other datum read by fastavro and turned into the Connect value by the compiled reader
(avro_values). A tombstone (null) stays null both ways; a value without a schema is refused, as AvroData refuses
schemaless data it cannot type.

Options: the registry's (registry_access) and AvroData's ``connect.meta.data`` and ``schemas.cache.config``; the
AvroData options Hub does not implement are refused when set to their non-default value.

An instance is used by one task thread; its caches are not shared.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from hub.runtime.converters.schema_registry.avro_codec import Decode, Encode, codec
from hub.runtime.converters.schema_registry.avro_records import (
    RecordDecode,
    RecordEncode,
    record_decoder,
    record_encoder,
)
from hub.runtime.converters.schema_registry.avro_schemas import to_avro_schema
from hub.runtime.converters.schema_registry.avro_to_connect import to_connect_schema
from hub.runtime.converters.schema_registry.avro_values import reader, writer
from hub.runtime.converters.schema_registry.registry_access import REGISTRY_CONFIG, RegistryAccess
from hub.runtime.converters.schema_registry.wire import HEADER_BYTES, MAGIC_BYTE, frame, unframe
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, SchemaAndValue
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import Schema, SchemaError

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import RegisteredSchema


def _must_be(expected: bool) -> Callable[[Any], str | None]:
    return lambda value: None if value is expected else f"{str(not expected).lower()} is not implemented in Hub"


AVRO_CONFIG = REGISTRY_CONFIG.merge(
    ConfigDef()
    .define("connect.meta.data", ConfigType.BOOLEAN, True, "Carry Connect's names, versions, docs and parameters.")
    .define("schemas.cache.config", ConfigType.INT, 1000, "Schemas to keep converted.", minimum=1)
    .define("enhanced.avro.schema.support", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("scrub.invalid.names", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("allow.optional.map.keys", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("flatten.singleton.unions", ConfigType.BOOLEAN, True, "Not implemented.", validator=_must_be(True))
    .define("discard.type.doc.default", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("generalized.sum.type.support", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("ignore.default.for.nullables", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("avro.reflection.allow.null", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
)


_new_tuple = tuple.__new__


def _unset_encode(header: bytes, value: Any) -> bytes:
    raise ConfigError({"schema.registry.url": ["the AvroConverter was not configured"]})


def _value_encoder(encode: Encode, write: Callable[[Any], Any]) -> RecordEncode:
    """header, Connect value → framed Avro binary, through the datum fastavro writes."""
    return lambda header, value: encode(header, write(value))


def _value_decoder(decode: Decode, read: Callable[[Any], Any]) -> RecordDecode:
    """stream → Connect value, through the datum fastavro reads."""
    return lambda stream: read(decode(stream))


def _id_of(registered: RegisteredSchema) -> int:
    if registered.schema_id is None:
        raise DataError(f"the registry gave no id for subject {registered.subject!r}")
    return int(registered.schema_id)


class _Reading(NamedTuple):
    """What reading records of one schema id needs: the Connect schema, the parsed writer schema and the decoder
    of Connect values (field by field for a record, avro_records; else fastavro's datum and avro_values)."""

    schema: Schema
    parsed: Any
    decode: RecordDecode


class _Writing:
    """What writing a Connect schema needs: its Avro form and text, the parsed writer schema, the value writer and
    the encoder of values into that schema (field by field for a record, avro_records; else through the datum)."""

    __slots__ = ("avro", "encode", "parsed", "record_name", "targets", "text", "write")

    def __init__(self, schema: Schema, meta: bool) -> None:
        import fastavro

        self.avro = to_avro_schema(schema, connect_meta_data=meta)
        self.text = orjson.dumps(self.avro).decode()
        self.parsed = fastavro.parse_schema(self.avro)
        # RecordNameStrategy's name: the record's full name (ConnectDefault for an unnamed struct)
        self.record_name: str | None = (
            self.avro["name"] if isinstance(self.avro, dict) and "name" in self.avro else None
        )
        if isinstance(self.avro, dict) and self.avro.get("namespace"):
            self.record_name = f"{self.avro['namespace']}.{self.record_name}"
        self.write = writer(schema)
        self.encode = record_encoder(schema, self.parsed) or _value_encoder(codec(self.parsed)[0], self.write)
        self.targets: dict[str, tuple[bytes, RecordEncode]] = {}  # topic → (header, encoder of the writer schema)


class AvroConverter(Converter):
    """Confluent's AvroConverter (see the module docstring)."""

    def __init__(self) -> None:
        self._registry: RegistryAccess | None = None
        self._meta = True
        self._writings: IdentityCache[Schema, _Writing] = IdentityCache(self._make_writing)
        self._readings: dict[int, _Reading] = {}
        self._cache_size = 1000
        self._forget_last()

    def _forget_last(self) -> None:
        self._last_schema: Schema | None = None
        self._last_topic = ""
        self._last_write: tuple[bytes, RecordEncode] = (b"", _unset_encode)
        self._last_header = b""
        self._last_reading: _Reading | None = None

    def config_def(self) -> ConfigDef:
        return AVRO_CONFIG

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        known = {
            key: value for key, value in config.items() if AVRO_CONFIG.key(key) or key in AVRO_CONFIG.unsupported_keys
        }
        options = AVRO_CONFIG.parse(known)
        self._meta = options["connect.meta.data"]
        self._cache_size = options["schemas.cache.config"]
        self._writings = IdentityCache(self._make_writing, self._cache_size)
        self._readings.clear()
        self._forget_last()
        self._registry = RegistryAccess.from_options(options, is_key=is_key)

    def _make_writing(self, schema: Schema) -> _Writing:
        try:
            return _Writing(schema, self._meta)
        except (SchemaError, ValueError) as exc:
            raise DataError(f"Connect schema cannot be written as Avro: {exc}") from None

    @property
    def registry(self) -> RegistryAccess:
        if self._registry is None:
            raise ConfigError({"schema.registry.url": ["the AvroConverter was not configured"]})
        return self._registry

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        if schema is not self._last_schema or topic != self._last_topic:
            if schema is None:
                raise DataError(f"AvroConverter needs a schema to write a value of topic {topic!r}; it has none")
            writing = self._writings(schema)
            target = writing.targets.get(topic)
            if target is None:
                target = writing.targets[topic] = self._target(topic, writing)
            # Records of a stream share their schema object and topic: the next one skips the lookups.
            self._last_schema, self._last_topic = schema, topic
            self._last_write = target
        header, encode = self._last_write
        try:
            return encode(header, value)
        except DataError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, SchemaError) as exc:
            raise DataError(f"Failed to serialize Avro data from topic {topic!r}: {exc}") from None

    def _target(self, topic: str, writing: _Writing) -> tuple[bytes, RecordEncode]:
        """The header (magic byte and schema id) and encoder for ``writing``'s records of ``topic``: the data's own
        schema, registered or looked up, or the subject's latest with ``use.latest.version``."""
        registry = self.registry
        subject = registry.subject(topic, writing.record_name)
        if registry.use_latest:
            latest = registry.latest(subject)
            text = latest.schema.schema_str if latest.schema else None
            encode = codec(self._reading(_id_of(latest), text).parsed)[0]
            return frame(_id_of(latest), b""), _value_encoder(encode, writing.write)
        from confluent_kafka.schema_registry import Schema as RegistrySchema

        schema_id = registry.id_for(subject, RegistrySchema(writing.text, "AVRO"))
        return frame(schema_id, b""), writing.encode

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        reading = self._last_reading
        if reading is None or not data.startswith(self._last_header):
            if len(data) < HEADER_BYTES or data[0] != MAGIC_BYTE:
                unframe(topic, data)  # raises the DataError naming the problem
            schema_id = int.from_bytes(data[1:HEADER_BYTES], "big")
            reading = self._readings.get(schema_id) or self._reading(schema_id)
            self._last_header, self._last_reading = data[:HEADER_BYTES], reading
        stream = io.BytesIO(data)
        stream.seek(HEADER_BYTES)
        try:
            value = reading.decode(stream)
        except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
            schema_id = int.from_bytes(data[1:HEADER_BYTES], "big")
            raise DataError(
                f"Failed to deserialize Avro data of topic {topic!r} with schema id {schema_id}: {exc}"
            ) from None
        return _new_tuple(SchemaAndValue, (reading.schema, value))

    def _reading(self, schema_id: int, text: str | None = None) -> _Reading:
        found = self._readings.get(schema_id)
        if found is not None:
            return found
        import fastavro

        if text is None:
            registered = self.registry.by_id(schema_id)
            if (registered.schema_type or "AVRO") != "AVRO":
                raise DataError(f"schema id {schema_id} is {registered.schema_type}, not AVRO")
            text = registered.schema_str
        try:
            avro = orjson.loads(text or "null")
            parsed = fastavro.parse_schema(avro)
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            raise DataError(f"schema id {schema_id} is not a usable Avro schema: {exc}") from None
        connect_schema = to_connect_schema(avro, connect_meta_data=self._meta)
        decode = record_decoder(connect_schema, parsed) or _value_decoder(codec(parsed)[1], reader(connect_schema))
        found = _Reading(connect_schema, parsed, decode)
        if len(self._readings) >= self._cache_size:
            self._readings.clear()
        self._readings[schema_id] = found
        return found
