"""RegexRouter, TimestampRouter, Filter and the predicates, with Kafka Connect's option names and semantics."""

from __future__ import annotations

from typing import TypeVar

import pytest

from hub.runtime.transforms import (
    Filter,
    HasHeaderKey,
    RecordIsTombstone,
    RegexRouter,
    TimestampRouter,
    TopicNameMatches,
)
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.records import Headers, SinkRecord, SourceRecord
from hub.sdk.transform import Predicate, Transformation

P = TypeVar("P", bound=Transformation | Predicate)


def _record(
    topic: str = "db.public.orders", value: object = {"id": 1}, timestamp: int | None = 1_719_000_000_123
) -> SourceRecord:
    return SourceRecord(topic=topic, value=value, timestamp=timestamp, headers=Headers.of([("trace", b"x")]))


def _configured(kind: type[P], **config: str) -> P:
    plugin = kind()
    plugin.configure(config)
    return plugin


def test_regex_router_rewrites_fully_matching_topics_with_java_groups() -> None:
    router = _configured(RegexRouter, regex=r"db\.public\.(.*)", replacement="pg-$1")
    assert router.apply(_record()).topic == "pg-orders"
    assert router.apply(_record("other.public.orders")).topic == "other.public.orders"
    partial = _configured(RegexRouter, regex="public", replacement="x")
    assert partial.apply(_record()).topic == "db.public.orders"


def test_regex_router_config_errors() -> None:
    with pytest.raises(ConfigError, match="'regex'"):
        _configured(RegexRouter, replacement="x")
    with pytest.raises(ConfigError, match="not a regular expression"):
        _configured(RegexRouter, regex="(", replacement="x")


def test_timestamp_router_formats_in_utc() -> None:
    router = _configured(TimestampRouter)
    assert router.apply(_record("logs")).topic == "logs-20240621"
    custom = _configured(
        TimestampRouter, **{"topic.format": "${timestamp}_${topic}", "timestamp.format": "yyyy-MM-dd'T'HH.SSS"}
    )
    assert custom.apply(_record("logs")).topic == "2024-06-21T20.123_logs"
    with pytest.raises(DataError, match="needs a record timestamp"):
        router.apply(_record(timestamp=None))
    with pytest.raises(ConfigError, match="letter 'E'"):
        _configured(TimestampRouter, **{"timestamp.format": "EEE"})


def test_filter_drops_and_predicates_decide() -> None:
    assert _configured(Filter).apply(_record()) is None
    matches = _configured(TopicNameMatches, pattern="db\\..*")
    assert matches.test(_record())
    assert not matches.test(_record("x.db.orders"))
    has = _configured(HasHeaderKey, name="trace")
    assert has.test(_record())
    assert not _configured(HasHeaderKey, name="other").test(_record())
    tombstone = _configured(RecordIsTombstone)
    assert tombstone.test(SinkRecord(topic="t", value=None, kafka_partition=0, kafka_offset=5))
    assert not tombstone.test(_record())
    with pytest.raises(ConfigError, match="'pattern'"):
        _configured(TopicNameMatches)
