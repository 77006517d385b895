"""Kafka Connect's built-in predicates: TopicNameMatches, HasHeaderKey, RecordIsTombstone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.errors import ConfigError
from hub.sdk.records import SinkRecord, SourceRecord
from hub.sdk.transform import Predicate


def compile_pattern(option: str, pattern: str) -> re.Pattern[str]:
    """A regular expression option, with a ConfigError naming the option when it does not compile."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            {option: [f"Invalid value {pattern!r} for '{option}': not a regular expression ({exc})"]}
        ) from None


class TopicNameMatches(Predicate):
    """True when the whole topic name matches ``pattern``."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define(
            "pattern", ConfigType.STRING, doc="Regular expression the topic must match.", non_empty=True
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        self.pattern = compile_pattern("pattern", self.config["pattern"])

    def test(self, record: SourceRecord | SinkRecord) -> bool:
        return self.pattern.fullmatch(record.topic) is not None


class HasHeaderKey(Predicate):
    """True when the record has at least one header called ``name``."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("name", ConfigType.STRING, doc="Header key.", non_empty=True)

    def test(self, record: SourceRecord | SinkRecord) -> bool:
        return record.headers.last_with_name(self.config["name"]) is not None


class RecordIsTombstone(Predicate):
    """True when the record's value is null."""

    def test(self, record: SourceRecord | SinkRecord) -> bool:
        return record.value is None
