"""JsonSchemaConverter, as Confluent's ``io.confluent.connect.json.JsonSchemaConverter``.

Writing: the Connect schema becomes a JSON Schema (json_schema_data), registered as type JSON — or looked up with
``auto.register.schemas=false``, or replaced by the subject's latest schema with ``use.latest.version`` — under
the subject the strategy names (a schema's ``title`` is its record name); the value is encoded as JSON
(json_schema_values) after the 5-byte header (wire). With ``json.fail.invalid.schema=true`` the JSON is first
validated against the schema (jsonschema) and refused when it does not fit. Reading: the id picks the writer's
JSON Schema, which becomes a Connect schema; the JSON is typed by it. Null stays null both ways.

Options: the registry's (registry_access), ``decimal.format`` (BASE64 or NUMERIC), ``schemas.cache.size``,
``json.fail.invalid.schema``; the JsonSchemaData options Hub does not implement are refused at their
non-default values.

An instance is used by one task thread; its caches are not shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import orjson

from hub.runtime.converters.schema_registry.avro import _id_of
from hub.runtime.converters.schema_registry.json_schema_data import to_connect_schema, to_json_schema
from hub.runtime.converters.schema_registry.json_schema_values import json_reader, json_writer
from hub.runtime.converters.schema_registry.registry_access import REGISTRY_CONFIG, RegistryAccess
from hub.runtime.converters.schema_registry.wire import frame, unframe
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, SchemaAndValue
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import Schema, SchemaError


def _must_be(expected: bool) -> Callable[[Any], str | None]:
    return lambda value: None if value is expected else f"{str(not expected).lower()} is not implemented in Hub"


JSON_SCHEMA_CONFIG = REGISTRY_CONFIG.merge(
    ConfigDef()
    .define(
        "decimal.format",
        ConfigType.STRING,
        "BASE64",
        "How Decimal values are written.",
        choices=("BASE64", "NUMERIC"),
        case_insensitive_choices=True,
    )
    .define("schemas.cache.size", ConfigType.INT, 1000, "Schemas to keep converted.", minimum=1)
    .define("json.fail.invalid.schema", ConfigType.BOOLEAN, False, "Validate written JSON against its schema.")
    .define("object.additional.properties", ConfigType.BOOLEAN, True, "Not implemented.", validator=_must_be(True))
    .define("use.optional.for.nonrequired", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
    .define("generalized.sum.type.support", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be(False))
)
_encode = msgspec.json.Encoder(decimal_format="number").encode


class _Writing:
    __slots__ = ("record_name", "text", "validate", "write")

    def __init__(self, schema: Schema, numeric: bool, validating: bool) -> None:
        node = to_json_schema(schema, numeric_decimals=numeric)
        self.text = orjson.dumps(node).decode()
        self.record_name = schema.name
        self.write = json_writer(schema, numeric)
        self.validate: Callable[[Any], None] | None = None
        if validating:
            import jsonschema

            self.validate = jsonschema.Draft7Validator(node).validate


class JsonSchemaConverter(Converter):
    """Confluent's JsonSchemaConverter (see the module docstring)."""

    def __init__(self) -> None:
        self._registry: RegistryAccess | None = None
        self._numeric = False
        self._validating = False
        self._writings: IdentityCache[Schema, _Writing] = IdentityCache(self._make_writing)
        self._ids: dict[tuple[str, str], int] = {}
        self._readings: dict[int, tuple[Schema, Callable[[Any], Any]]] = {}
        self._cache_size = 1000

    def config_def(self) -> ConfigDef:
        return JSON_SCHEMA_CONFIG

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        known = {
            key: value
            for key, value in config.items()
            if JSON_SCHEMA_CONFIG.key(key) or key in JSON_SCHEMA_CONFIG.unsupported_keys
        }
        options = JSON_SCHEMA_CONFIG.parse(known)
        self._numeric = str(options["decimal.format"]).upper() == "NUMERIC"
        self._validating = options["json.fail.invalid.schema"]
        self._cache_size = options["schemas.cache.size"]
        self._writings = IdentityCache(self._make_writing, self._cache_size)
        self._ids.clear()
        self._readings.clear()
        self._registry = RegistryAccess.from_options(options, is_key=is_key)

    def _make_writing(self, schema: Schema) -> _Writing:
        try:
            return _Writing(schema, self._numeric, self._validating)
        except (SchemaError, ValueError) as exc:
            raise DataError(f"Connect schema cannot be written as JSON Schema: {exc}") from None

    @property
    def registry(self) -> RegistryAccess:
        if self._registry is None:
            raise ConfigError({"schema.registry.url": ["the JsonSchemaConverter was not configured"]})
        return self._registry

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        if schema is None:
            raise DataError(f"JsonSchemaConverter needs a schema to write a value of topic {topic!r}; it has none")
        writing = self._writings(schema)
        registry = self.registry
        subject = registry.subject(topic, writing.record_name)
        if registry.use_latest:
            schema_id = _id_of(registry.latest(subject))
        else:
            key = (subject, writing.text)
            schema_id = self._ids.get(key)  # type: ignore[assignment]
            if schema_id is None:
                from confluent_kafka.schema_registry import Schema as RegistrySchema

                schema_id = registry.id_for(subject, RegistrySchema(writing.text, "JSON"))
                if len(self._ids) >= self._cache_size:
                    self._ids.clear()
                self._ids[key] = schema_id
        try:
            node = writing.write(value)
        except (AttributeError, TypeError, ValueError, SchemaError) as exc:
            raise DataError(f"Failed to serialize JSON data from topic {topic!r}: {exc}") from None
        if writing.validate is not None:
            import jsonschema

            try:
                writing.validate(orjson.loads(_encode(node)))
            except jsonschema.ValidationError as exc:
                raise DataError(f"JSON of topic {topic!r} does not match its schema: {exc.message}") from None
        return frame(schema_id, _encode(node))

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        schema_id, payload = unframe(topic, data)
        connect_schema, read = self._reading(schema_id)
        try:
            node = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise DataError(f"Failed to deserialize JSON of topic {topic!r} (schema id {schema_id}): {exc}") from None
        return SchemaAndValue(connect_schema, read(node))

    def _reading(self, schema_id: int) -> tuple[Schema, Callable[[Any], Any]]:
        found = self._readings.get(schema_id)
        if found is not None:
            return found
        registered = self.registry.by_id(schema_id)
        if registered.schema_type != "JSON":
            raise DataError(f"schema id {schema_id} is {registered.schema_type}, not JSON")
        try:
            root = orjson.loads(registered.schema_str or "null")
        except orjson.JSONDecodeError as exc:
            raise DataError(f"schema id {schema_id} is not JSON: {exc}") from None
        connect_schema = to_connect_schema(root)
        found = (connect_schema, json_reader(connect_schema))
        if len(self._readings) >= self._cache_size:
            self._readings.clear()
        self._readings[schema_id] = found
        return found
