"""JsonConverter, byte-compatible with Kafka Connect's ``org.apache.kafka.connect.json.JsonConverter``.

With ``schemas.enable=true`` (the default) each message is an envelope with exactly two fields::

    {"schema": {...}, "payload": ...}

the schema in Connect's JSON form (hub.runtime.converters.json_schemas) and the payload in Connect's encoding
(hub.runtime.converters.json_values). With ``schemas.enable=false`` messages are plain JSON; reading infers types
(integers → INT64, other numbers → FLOAT64, objects → maps, arrays → lists) and gives a null schema.

This module holds the converter: its configuration and the envelope. Writing: the payload writer compiled for the
schema (hub.runtime.converters.json_compiled) converts the value and msgspec writes it (a schemaless value:
orjson in one pass, json_values.dump_schemaless); the schema part of the envelope is written once per schema.
Reading: orjson parses, and when a message starts with the same envelope bytes as the previous one only its
payload is parsed, by the decoder compiled for that schema.

An instance is used by one task thread; its schema cache is not shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from hub.runtime.converters.json_compiled import (
    DECODER_REFUSALS,
    PayloadDecoder,
    PayloadWriter,
    payload_decoder,
    payload_reader,
    payload_writer,
)
from hub.runtime.converters.json_schemas import schema_from_json, schema_to_json
from hub.runtime.converters.json_values import dump_json, dump_schemaless
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, HeaderConverter, SchemaAndValue
from hub.sdk.errors import DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import Schema

ENVELOPE_ERROR = (
    'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional '
    "fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter "
    "configuration."
)

CONFIG = (
    ConfigDef()
    .define("schemas.enable", ConfigType.BOOLEAN, True, "Include the schema in each message (Connect's envelope).")
    .define("schemas.cache.size", ConfigType.INT, 1000, "Parsed schemas to keep.", minimum=0)
    .define(
        "decimal.format",
        ConfigType.STRING,
        "BASE64",
        "How Decimal payloads are written.",
        choices=("BASE64", "NUMERIC"),
        case_insensitive_choices=True,
    )
    .define("replace.null.with.default", ConfigType.BOOLEAN, True, "Write a field's default instead of null.")
)


def _envelope_prefix(schema_text: bytes) -> bytes:
    return b'{"schema":' + schema_text + b',"payload":'


_NULL_SCHEMA_PREFIX = _envelope_prefix(b"null")
_new_tuple = tuple.__new__


def _read_schemaless(node: Any) -> Any:
    return node


_decode_schemaless: PayloadDecoder = orjson.loads


class JsonConverter(Converter, HeaderConverter):
    """Kafka Connect's JsonConverter (see the module docstring)."""

    def __init__(self) -> None:
        self.schemas_enabled = True
        self.numeric_decimals = False
        self.replace_null = True
        self._parse_schema = lru_cache(maxsize=1000)(self._parse_schema_text)
        self._writers: IdentityCache[Schema, tuple[bytes, PayloadWriter]] = IdentityCache(self._make_writer)
        self._last_prefix = b""
        self._last_schema: Schema | None = None
        self._last_decoder: PayloadDecoder = _decode_schemaless

    def _make_writer(self, schema: Schema) -> tuple[bytes, PayloadWriter]:
        """The envelope's start up to the payload (``{"schema":…,"payload":``) and the payload writer."""
        text = _envelope_prefix(dump_json(schema_to_json(schema, numeric_decimals=self.numeric_decimals)))
        return text, payload_writer(schema, numeric_decimals=self.numeric_decimals, replace_null=self.replace_null)

    def config_def(self) -> ConfigDef:
        return CONFIG

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        parsed = CONFIG.parse({key: value for key, value in config.items() if CONFIG.key(key) is not None})
        self.schemas_enabled = parsed["schemas.enable"]
        self.numeric_decimals = str(parsed["decimal.format"]).upper() == "NUMERIC"
        self.replace_null = parsed["replace.null.with.default"]
        self._parse_schema = lru_cache(maxsize=parsed["schemas.cache.size"])(self._parse_schema_text)
        self._writers.clear()

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is None:
            if value is None:
                return None
            written = dump_schemaless(value)
            return _NULL_SCHEMA_PREFIX + written + b"}" if self.schemas_enabled else written
        prefix, write = self._writers(schema)
        payload = write(value)
        if not self.schemas_enabled:
            return dump_json(payload)
        # Byte for byte what dumping {"schema": …, "payload": …} gives, with the schema part serialised once.
        return prefix + dump_json(payload) + b"}"

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        prefix = self._last_prefix
        if prefix and data.startswith(prefix) and data.endswith(b"}") and self.schemas_enabled:
            # Same schema as the previous record, byte for byte: parse only the payload.
            try:
                value = self._last_decoder(data[len(prefix) : -1])  # a bytes slice: cheaper than a memoryview here
            except DECODER_REFUSALS:
                pass
            else:  # tuple.__new__ skips the generated __new__ of a NamedTuple, a fifth of this path
                return _new_tuple(SchemaAndValue, (self._last_schema, value))
        try:
            node = orjson.loads(data) if data else None
        except orjson.JSONDecodeError as exc:
            raise DataError(f"converting bytes to JSON failed for topic {topic!r}: {exc}") from None
        if not self.schemas_enabled:
            return SchemaAndValue(None, node)
        if not isinstance(node, dict) or set(node) != {"schema", "payload"}:
            raise DataError(ENVELOPE_ERROR)
        schema_text = dump_json(node["schema"])
        schema = None if node["schema"] is None else self._parse_schema(schema_text)
        prefix = _envelope_prefix(schema_text)
        reader = _read_schemaless if schema is None else payload_reader(schema)
        if data.startswith(prefix):  # written compactly, as Connect and Hub write it: remember for the next record
            decoder = _decode_schemaless if schema is None else payload_decoder(schema)
            self._last_prefix, self._last_schema, self._last_decoder = prefix, schema, decoder
        return SchemaAndValue(schema, reader(node["payload"]))

    @staticmethod
    def _parse_schema_text(text: bytes) -> Schema:
        return schema_from_json(orjson.loads(text))

    def from_connect_header(self, topic: str, key: str, schema: Schema | None, value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)
