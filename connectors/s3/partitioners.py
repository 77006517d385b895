"""Partitioners: the directory (encoded partition) of each record, as Confluent's storage partitioners name them.

- ``DefaultPartitioner``: ``partition=<kafka partition>``.
- ``FieldPartitioner``: ``<field>=<value>`` for each of ``partition.field.name`` (nested fields with dots), joined
  by ``directory.delim``; the value must be a string, integer or boolean of a struct or map value.
- ``TimeBasedPartitioner``: the record's time, per ``timestamp.extractor``, floored to ``partition.duration.ms``
  in ``timezone`` and written with ``path.format``; ``DailyPartitioner`` and ``HourlyPartitioner`` fix the
  duration and the pattern.

Extractors: ``Record`` (the record's timestamp), ``RecordField`` (``timestamp.field`` of the value: epoch
milliseconds, a Timestamp, a Date, or an ISO-8601 string) and ``Wallclock`` (the time the record is written — the
only one that makes directories depend on when the task runs rather than on the records).

A record a partitioner cannot place raises DataError naming the field. Partitioners are used by one task thread.
"""

from __future__ import annotations

import datetime as dt
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from connectors.s3.settings import PartitionerSettings, duration_of, path_format_of
from connectors.s3.time_format import PathFormat
from hub.sdk import SinkRecord, Struct
from hub.sdk.errors import DataError
from hub.sdk.schema import timestamp_to_millis

Extractor = Callable[[SinkRecord], int]
_UTC = dt.UTC
_OFFSET_SLICE_MS = 900_000  # zone offsets change on quarter hours at the finest


class Partitioner(ABC):
    """Names the directory of a record."""

    #: Every record of a Kafka partition lands in the same directory (lets the writer skip ``encode``).
    per_kafka_partition = False

    @abstractmethod
    def encode(self, record: SinkRecord) -> str:
        """The encoded partition (directory) of ``record``; DataError when it cannot be found."""


class DefaultPartitioner(Partitioner):
    per_kafka_partition = True

    def encode(self, record: SinkRecord) -> str:
        return f"partition={record.original_kafka_partition}"


class FieldPartitioner(Partitioner):
    def __init__(self, field_names: tuple[str, ...], directory_delim: str) -> None:
        self.field_names = field_names
        self.paths = [name.split(".") for name in field_names]
        self.directory_delim = directory_delim

    def encode(self, record: SinkRecord) -> str:
        parts = []
        for name, path in zip(self.field_names, self.paths, strict=True):
            value = field_value(record.value, path, name)
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int | str):
                text = str(value)
            else:
                raise DataError(
                    f"field '{name}' is a {type(value).__name__}; FieldPartitioner takes strings, integers and booleans"
                )
            parts.append(f"{name}={text}")
        return self.directory_delim.join(parts)


class TimeBasedPartitioner(Partitioner):
    """Directories by time span (see the module docstring); ``timestamp`` is also what rotation measures."""

    def __init__(self, duration_ms: int, path_format: PathFormat, timezone: str, extractor: Extractor) -> None:
        self.duration_ms = duration_ms
        self.path_format = path_format
        self.zone = ZoneInfo(timezone)
        self.timestamp = extractor
        self._offsets: dict[int, int] = {}
        self._paths: dict[int, str] = {}

    def encode(self, record: SinkRecord) -> str:
        return self.path_of(self.timestamp(record))

    def path_of(self, timestamp_ms: int) -> str:
        """The directory of a time (epoch milliseconds)."""
        local_ms = timestamp_ms + self._offset_ms(timestamp_ms)
        start = local_ms - local_ms % self.duration_ms
        path = self._paths.get(start)
        if path is None:
            wall = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=start)
            path = self.path_format.format(wall.replace(tzinfo=self.zone))
            if len(self._paths) > 10_000:
                self._paths.clear()
            self._paths[start] = path
        return path

    def _offset_ms(self, timestamp_ms: int) -> int:
        slot = timestamp_ms // _OFFSET_SLICE_MS
        offset = self._offsets.get(slot)
        if offset is None:
            moment = dt.datetime.fromtimestamp(slot * _OFFSET_SLICE_MS / 1000, self.zone)
            offset = int((moment.utcoffset() or dt.timedelta(0)).total_seconds() * 1000)
            if len(self._offsets) > 10_000:
                self._offsets.clear()
            self._offsets[slot] = offset
        return offset


def field_value(value: Any, path: list[str], name: str) -> Any:
    """The field at ``path`` (a dotted name split) of a struct or map value; DataError when absent."""
    current = value
    for part in path:
        if isinstance(current, Struct):
            if not current.schema.has_field(part):
                raise DataError(f"the value has no field '{name}'")
            current = current.get(part)
        elif isinstance(current, Mapping):
            if part not in current:
                raise DataError(f"the value has no field '{name}'")
            current = current[part]
        else:
            raise DataError(f"field '{name}' needs a struct or map value, got {type(current).__name__}")
    if current is None:
        raise DataError(f"field '{name}' is null")
    return current


def record_time(record: SinkRecord) -> int:
    """The ``Record`` extractor: the record's own timestamp."""
    if record.timestamp is None:
        raise DataError("the record has no timestamp (timestamp.extractor=Record)")
    return record.timestamp


def wallclock_time(record: SinkRecord) -> int:
    """The ``Wallclock`` extractor: now."""
    return int(time.time() * 1000)


def field_time_extractor(field_name: str) -> Extractor:
    """The ``RecordField`` extractor of ``timestamp.field``."""
    path = field_name.split(".")

    def extract(record: SinkRecord) -> int:
        value = field_value(record.value, path, field_name)
        if isinstance(value, bool):
            raise DataError(f"timestamp field '{field_name}' is a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, dt.datetime):
            return timestamp_to_millis(value)
        if isinstance(value, dt.date):
            return timestamp_to_millis(dt.datetime(value.year, value.month, value.day, tzinfo=_UTC))
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise DataError(f"timestamp field '{field_name}' is not an ISO-8601 time: {value!r}") from None
            return timestamp_to_millis(parsed)
        raise DataError(f"timestamp field '{field_name}' is a {type(value).__name__}, not a time")

    return extract


def make_extractor(settings: PartitionerSettings) -> Extractor:
    if settings.extractor == "Record":
        return record_time
    if settings.extractor == "RecordField":
        return field_time_extractor(settings.timestamp_field)
    return wallclock_time


def make_partitioner(settings: PartitionerSettings, directory_delim: str) -> Partitioner:
    """The partitioner of ``partitioner.class`` with its options (already checked by SinkSettings)."""
    if settings.name == "FieldPartitioner":
        return FieldPartitioner(settings.field_names, directory_delim)
    if settings.time_based:
        return TimeBasedPartitioner(
            duration_of(settings),
            PathFormat(path_format_of(settings), settings.locale or "en"),
            settings.timezone or "UTC",
            make_extractor(settings),
        )
    return DefaultPartitioner()
