"""Kafka Connect's routing transforms and Filter: RegexRouter, TimestampRouter, Filter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from hub.runtime.transforms.predicates import compile_pattern
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.transform import R, Transformation

_JAVA_GROUP = re.compile(r"\$(\d+)")
# SimpleDateFormat letters Hub understands, longest first, and their strftime equivalents.
_DATE_TOKENS = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "{millis}"),
]


class RegexRouter(Transformation):
    """When ``regex`` matches the whole topic name, the topic becomes ``replacement`` (``$1`` = group 1)."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("regex", ConfigType.STRING, doc="Regular expression matched against the whole topic.")
            .define("replacement", ConfigType.STRING, doc="New topic; $1, $2… refer to the regex's groups.")
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        self.regex = compile_pattern("regex", self.config["regex"])
        self.replacement = _JAVA_GROUP.sub(r"\\g<\1>", self.config["replacement"].replace("\\", "\\\\"))

    def apply(self, record: R) -> R | None:
        if self.regex.fullmatch(record.topic) is None:
            return record
        return record.replace(topic=self.regex.sub(self.replacement, record.topic, count=1))


def java_date_format(pattern: str, option: str) -> str:
    """A SimpleDateFormat pattern as a strftime format; quoted text is literal. ConfigError for letters Hub
    does not support."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ConfigError({option: [f"unterminated quote in {pattern!r}"]})
            out.append(pattern[i + 1 : end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for token, replacement in _DATE_TOKENS:
            if pattern.startswith(token, i):
                out.append(replacement)
                i += len(token)
                break
        else:
            if pattern[i].isalpha():
                raise ConfigError(
                    {
                        option: [
                            f"date pattern letter {pattern[i]!r} in {pattern!r} is not supported "
                            "(supported: yyyy yy MM dd HH mm ss SSS)"
                        ]
                    }
                )
            out.append(pattern[i].replace("%", "%%"))
            i += 1
    return "".join(out)


class TimestampRouter(Transformation):
    """Routes each record to ``topic.format`` with ``${topic}`` and ``${timestamp}`` (its timestamp, UTC,
    formatted with ``timestamp.format``) filled in."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("topic.format", ConfigType.STRING, "${topic}-${timestamp}", "Template of the new topic.")
            .define("timestamp.format", ConfigType.STRING, "yyyyMMdd", "SimpleDateFormat pattern, in UTC.")
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        self.date_format = java_date_format(self.config["timestamp.format"], "timestamp.format")

    def apply(self, record: R) -> R | None:
        if record.timestamp is None:
            raise DataError(f"TimestampRouter needs a record timestamp; the record for {record.topic!r} has none")
        moment = dt.datetime.fromtimestamp(record.timestamp / 1000, tz=dt.UTC)
        stamp = moment.strftime(self.date_format).replace("{millis}", f"{moment.microsecond // 1000:03d}")
        topic = self.config["topic.format"].replace("${topic}", record.topic).replace("${timestamp}", stamp)
        return record.replace(topic=topic)


class Filter(Transformation):
    """Drops every record; combine it with a predicate to drop only some."""

    def apply(self, record: R) -> R | None:
        return None
