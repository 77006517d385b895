"""StringConverter, as Kafka Connect's ``org.apache.kafka.connect.storage.StringConverter``: values are written
with ``str()`` in ``converter.encoding`` (UTF-8 by default) and read back as STRING."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, HeaderConverter, SchemaAndValue
from hub.sdk.errors import DataError
from hub.sdk.schema import OPTIONAL_STRING_SCHEMA, Schema

CONFIG = ConfigDef().define("converter.encoding", ConfigType.STRING, "UTF-8", "Character encoding of the strings.")


class StringConverter(Converter, HeaderConverter):
    """Strings in a configurable encoding (see the module docstring)."""

    def __init__(self) -> None:
        self.encoding = "utf-8"

    def config_def(self) -> ConfigDef:
        return CONFIG

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        encoding = str(
            CONFIG.parse({k: v for k, v in config.items() if k == "converter.encoding"})["converter.encoding"]
        )
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"unknown converter.encoding {encoding!r}") from None
        self.encoding = encoding

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        text = value.decode(self.encoding) if isinstance(value, bytes) else str(value)
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise DataError(f"value cannot be written in {self.encoding}: {exc}") from None

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        try:
            return SchemaAndValue(OPTIONAL_STRING_SCHEMA, data.decode(self.encoding))
        except UnicodeDecodeError as exc:
            raise DataError(f"bytes of topic {topic!r} are not {self.encoding}: {exc}") from None

    def from_connect_header(self, topic: str, key: str, schema: Schema | None, value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)
