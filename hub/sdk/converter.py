"""Converters: how record keys, values and headers become bytes in a topic and back (Kafka Connect's API).

The runtime calls ``configure`` once with the converter's own options (the ``key.converter.*`` /
``value.converter.*`` keys with the prefix removed) and whether it converts keys; then ``from_connect`` on the
source path and ``to_connect`` on the sink path. A null value maps to null bytes both ways (tombstones survive).
Converters are called from task threads; an instance is used by one task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, NamedTuple

from hub.sdk.config import ConfigDef
from hub.sdk.schema import Schema


class SchemaAndValue(NamedTuple):
    """A value with its schema (None for schemaless data)."""

    schema: Schema | None
    value: Any


NULL = SchemaAndValue(None, None)


class Converter(ABC):
    """Turns Connect data into bytes for a topic and back."""

    def config_def(self) -> ConfigDef:
        """The options this converter takes."""
        return ConfigDef()

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        """Apply options (already without their ``key.converter.`` / ``value.converter.`` prefix)."""

    @abstractmethod
    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        """Serialise; DataError when the value does not fit."""

    @abstractmethod
    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        """Deserialise; DataError naming the problem when the bytes are not what this converter reads."""


class HeaderConverter(ABC):
    """Turns header values into bytes and back."""

    def config_def(self) -> ConfigDef:
        """The options this header converter takes (Connect's ``HeaderConverter.config()``)."""
        return ConfigDef()

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        """Apply options (``is_key`` is always False for headers)."""

    @abstractmethod
    def from_connect_header(self, topic: str, key: str, schema: Schema | None, value: Any) -> bytes | None: ...

    @abstractmethod
    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue: ...
