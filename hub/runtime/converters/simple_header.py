"""SimpleHeaderConverter, as Kafka Connect's default header converter: header values are written as text (strings
as they are, numbers and booleans in their usual spelling, maps, arrays and structs as JSON) and read back with
their type inferred from that text."""

from __future__ import annotations

from typing import Any

import orjson

from hub.sdk.converter import NULL, HeaderConverter, SchemaAndValue
from hub.sdk.errors import DataError
from hub.sdk.schema import Schema
from hub.sdk.struct import Struct


class SimpleHeaderConverter(HeaderConverter):
    """Header values as text (see the module docstring)."""

    def from_connect_header(self, topic: str, key: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bool):
            return b"true" if value else b"false"
        if isinstance(value, int | float):
            return str(value).encode()
        if isinstance(value, Struct):
            value = value.to_dict()
        try:
            return orjson.dumps(value, default=str)
        except TypeError as exc:
            raise DataError(f"header {key!r} of type {type(value).__name__} cannot be written: {exc}") from exc

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return SchemaAndValue(None, data)
        if text[:1] in "{[-0123456789tf" and text:
            try:
                return SchemaAndValue(None, orjson.loads(text))
            except orjson.JSONDecodeError:
                pass
        return SchemaAndValue(None, text)
