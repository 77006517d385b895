"""The records connectors exchange with the runtime: SourceRecord (from poll), SinkRecord (to put), headers.

Records are immutable; transforms derive new ones with ``replace()``. Safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final, Self

from hub.sdk.schema import Schema


@dataclass(frozen=True, slots=True)
class Header:
    """One record header: a key, and a value with an optional schema."""

    key: str
    value: Any
    schema: Schema | None = None


@dataclass(frozen=True, slots=True)
class Headers:
    """An ordered multi-map of headers, as Connect's ``Headers``; methods return new Headers."""

    items: tuple[Header, ...] = ()

    @classmethod
    def of(cls, pairs: Sequence[Header | tuple[str, Any]] = ()) -> Headers:
        return cls(tuple(item if isinstance(item, Header) else Header(item[0], item[1]) for item in pairs))

    def __iter__(self) -> Iterator[Header]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def last_with_name(self, key: str) -> Header | None:
        for header in reversed(self.items):
            if header.key == key:
                return header
        return None

    def all_with_name(self, key: str) -> list[Header]:
        return [header for header in self.items if header.key == key]

    def add(self, key: str, value: Any, schema: Schema | None = None) -> Headers:
        return Headers((*self.items, Header(key, value, schema)))

    def remove(self, key: str) -> Headers:
        return Headers(tuple(header for header in self.items if header.key != key))


#: The headers of a record without any (shared: Headers are immutable).
NO_HEADERS: Final = Headers()


@dataclass(frozen=True, slots=True)
class _ConnectRecord:
    topic: str
    value: Any
    value_schema: Schema | None = None
    key: Any = None
    key_schema: Schema | None = None
    kafka_partition: int | None = None
    timestamp: int | None = None
    headers: Headers = NO_HEADERS

    def replace(self, **changes: Any) -> Self:
        """A copy with some attributes changed (how transforms derive records)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True, init=False)
class SourceRecord(_ConnectRecord):
    """A record a source task produced, with where it came from in the source system.

    ``source_partition`` names a stream in the source (e.g. ``{"table": "orders"}``); ``source_offset`` is the
    position after this record in that stream (e.g. ``{"id": 42}``). The runtime stores the offset once the
    record is in the topic, and gives it back to the task after a restart.
    """

    source_partition: Mapping[str, Any] = field(default_factory=dict)
    source_offset: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        topic: str,
        value: Any,
        value_schema: Schema | None = None,
        key: Any = None,
        key_schema: Schema | None = None,
        kafka_partition: int | None = None,
        timestamp: int | None = None,
        headers: Headers = NO_HEADERS,
        source_partition: Mapping[str, Any] | None = None,
        source_offset: Mapping[str, Any] | None = None,
    ) -> None:
        # Written out instead of the generated frozen __init__ (object.__setattr__ per field): a record is made
        # for every row a source reads, and slot setters cost a third as much.
        (
            set_topic,
            set_value,
            set_value_schema,
            set_key,
            set_key_schema,
            set_partition,
            set_timestamp,
            set_headers,
            set_source_partition,
            set_source_offset,
        ) = _SOURCE_SETTERS
        set_topic(self, topic)
        set_value(self, value)
        set_value_schema(self, value_schema)
        set_key(self, key)
        set_key_schema(self, key_schema)
        set_partition(self, kafka_partition)
        set_timestamp(self, timestamp)
        set_headers(self, headers)
        set_source_partition(self, {} if source_partition is None else source_partition)
        set_source_offset(self, {} if source_offset is None else source_offset)


@dataclass(frozen=True, slots=True, init=False)
class SinkRecord(_ConnectRecord):
    """A record read from a topic for a sink task. ``kafka_offset`` and the ``original_*`` fields name where it
    was read from before transforms changed its topic or partition; offsets are committed for those."""

    kafka_offset: int = -1
    timestamp_type: str = "CreateTime"
    original_topic: str = ""
    original_kafka_partition: int = -1
    original_kafka_offset: int = -1

    def __init__(
        self,
        topic: str,
        value: Any,
        value_schema: Schema | None = None,
        key: Any = None,
        key_schema: Schema | None = None,
        kafka_partition: int | None = None,
        timestamp: int | None = None,
        headers: Headers = NO_HEADERS,
        kafka_offset: int = -1,
        timestamp_type: str = "CreateTime",
        original_topic: str = "",
        original_kafka_partition: int = -1,
        original_kafka_offset: int = -1,
    ) -> None:
        # As SourceRecord's: every record a sink reads is made here.
        (
            set_topic,
            set_value,
            set_value_schema,
            set_key,
            set_key_schema,
            set_partition,
            set_timestamp,
            set_headers,
            set_offset,
            set_timestamp_type,
            set_original_topic,
            set_original_partition,
            set_original_offset,
        ) = _SINK_SETTERS
        set_topic(self, topic)
        set_value(self, value)
        set_value_schema(self, value_schema)
        set_key(self, key)
        set_key_schema(self, key_schema)
        set_partition(self, kafka_partition)
        set_timestamp(self, timestamp)
        set_headers(self, headers)
        set_offset(self, kafka_offset)
        set_timestamp_type(self, timestamp_type)
        set_original_topic(self, original_topic or topic)
        if original_kafka_partition < 0 and kafka_partition is not None:
            original_kafka_partition = kafka_partition
        set_original_partition(self, original_kafka_partition)
        set_original_offset(self, kafka_offset if original_kafka_offset < 0 else original_kafka_offset)


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The ``__set__`` of each field's slot, in field order (they bypass the frozen ``__setattr__``)."""
    return tuple(getattr(cls, item.name).__set__ for item in fields(cls))


_SOURCE_SETTERS = _slot_setters(SourceRecord)
_SINK_SETTERS = _slot_setters(SinkRecord)
