"""SourceRecord and SinkRecord: immutable, with Connect's defaults, built positionally or by keyword."""

from __future__ import annotations

import dataclasses

import pytest

from hub.sdk import SinkRecord, SourceRecord
from hub.sdk.records import NO_HEADERS, Headers
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA


def test_sink_record_originals_default_to_where_it_was_read() -> None:
    record = SinkRecord("orders", "v", STRING_SCHEMA, 7, INT64_SCHEMA, 3, 1000, NO_HEADERS, 42)
    assert (record.original_topic, record.original_kafka_partition, record.original_kafka_offset) == (
        "orders",
        3,
        42,
    )
    assert record == SinkRecord(
        topic="orders",
        value="v",
        value_schema=STRING_SCHEMA,
        key=7,
        key_schema=INT64_SCHEMA,
        kafka_partition=3,
        timestamp=1000,
        kafka_offset=42,
    )
    moved = record.replace(topic="routed", kafka_partition=0)
    assert (moved.topic, moved.original_topic, moved.original_kafka_partition) == ("routed", "orders", 3)
    assert SinkRecord("t", None).original_kafka_partition == -1


def test_records_are_immutable_and_hashable() -> None:
    source = SourceRecord("t", 1, source_partition={"table": "a"}, source_offset={"id": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.topic = "u"  # type: ignore[misc]
    sink = SinkRecord("t", 1, headers=Headers.of([("h", "v")]))
    assert hash(sink) == hash(SinkRecord("t", 1, headers=Headers.of([("h", "v")])))


def test_source_record_defaults() -> None:
    record = SourceRecord("t", b"v")
    assert (record.source_partition, record.source_offset, record.headers, record.key) == ({}, {}, NO_HEADERS, None)
    assert record.replace(value=b"w").source_partition == {}
