"""ByteArrayConverter, as Kafka Connect's ``org.apache.kafka.connect.converters.ByteArrayConverter``: bytes
pass through unchanged (BYTES schema)."""

from __future__ import annotations

from typing import Any

from hub.sdk.converter import NULL, Converter, HeaderConverter, SchemaAndValue
from hub.sdk.errors import DataError
from hub.sdk.schema import OPTIONAL_BYTES_SCHEMA, Schema, Type


class ByteArrayConverter(Converter, HeaderConverter):
    """Pass-through bytes."""

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is not None and schema.type is not Type.BYTES:
            raise DataError(f"ByteArrayConverter needs a BYTES schema, got {schema.type.value}")
        if value is None:
            return None
        if not isinstance(value, bytes | bytearray | memoryview):
            raise DataError(f"ByteArrayConverter needs bytes, got {type(value).__name__}")
        return bytes(value)

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        return NULL if data is None else SchemaAndValue(OPTIONAL_BYTES_SCHEMA, data)

    def from_connect_header(self, topic: str, key: str, schema: Schema | None, value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)
