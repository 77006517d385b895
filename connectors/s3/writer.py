"""TopicPartitionWriter: the open objects of one topic partition, and when they are sealed (rotation).

Records arrive in offset order. Each goes to the open object of its directory (the partitioner's encoded
partition), which is named after the offset of its first record. A *rotation* seals every open object of the topic
partition at once and hands them to the upload pipeline together with the offset after the last record; it
happens, as in Confluent's sink, when

- ``flush.size`` records were written since the last rotation;
- a record's value schema differs from the rotation's (before that record is written);
- with ``rotate.interval.ms``: a record's time is that far past the first record's time, or — time-based
  partitioners, ``rotate.file.on.partition.change`` — its directory differs from the previous record's;
- with ``rotate.schedule.interval.ms``: the wall clock passed the next multiple of the interval in ``timezone``.

Invariant behind exactly-once: after a rotation the writer's state is exactly that of a new writer, and every
decision but the scheduled one depends only on the records. Committed offsets are only ever rotation ends (or
offsets with nothing open), so a task that starts again from a committed offset takes the same decisions and
writes the same objects under the same names — overwriting them is harmless. Scheduled rotation and the
``Wallclock`` extractor depend on when the task runs, so a replay may cut objects elsewhere (see the docs).

Reopening a partition the task owned before (a rebalance gave it back) rewinds the consumer to the last uploaded
rotation end: until a record between that offset and the last record seen arrives, records from the consumer's old
position and records already uploaded (a consumer that went back to its committed offset by itself) are dropped.
Used by the task thread only.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from connectors.s3.buffer import SpillBuffer
from connectors.s3.formats import Format, RecordWriter
from connectors.s3.naming import ObjectNamer
from connectors.s3.partitioners import Partitioner, TimeBasedPartitioner, record_time
from connectors.s3.settings import SinkSettings
from connectors.s3.upload import Rotation, SealedObject, TopicPartition, UploadPipeline
from hub.sdk import Schema, SinkRecord
from hub.sdk.errors import ConnectError, ConnectorError, DataError

log = logging.getLogger(__name__)

#: Called with a record that cannot be written: reports it, or raises to fail the task.
BadRecord = Callable[[SinkRecord, BaseException], None]


class OpenObject:
    """An object being written: records wait in ``pending`` until ``drain`` encodes them into the buffer."""

    __slots__ = ("buffer", "key", "pending", "records", "writer")

    def __init__(self, key: str, buffer: SpillBuffer, writer: RecordWriter) -> None:
        self.key = key
        self.buffer = buffer
        self.writer = writer
        self.pending: list[SinkRecord] = []
        self.records = 0

    def drain(self, bad: BadRecord) -> None:
        """Encode the pending records; when a batch fails, record by record, handing the bad ones to ``bad``."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        try:
            self.writer.write([record.value for record in pending])
            self.records += len(pending)
            return
        except ConnectError:
            raise
        except Exception:  # find which records the format refuses
            pass
        for record in pending:
            try:
                self.writer.write([record.value])
                self.records += 1
            except ConnectError:
                raise
            except Exception as exc:
                bad(record, exc)

    def seal(self, bad: BadRecord) -> SealedObject | None:
        """Finish the object; None when no record of it could be written."""
        self.drain(bad)
        if not self.records:
            self.buffer.release()
            return None
        self.writer.finish()
        return SealedObject(self.key, self.buffer, self.records)


class TopicPartitionWriter:
    """Writes the records of one topic partition into objects (see the module docstring)."""

    def __init__(
        self,
        tp: TopicPartition,
        settings: SinkSettings,
        object_format: Format,
        partitioner: Partitioner,
        namer: ObjectNamer,
        pipeline: UploadPipeline,
        bad: BadRecord,
    ) -> None:
        self.tp = tp
        self.settings = settings
        self.format = object_format
        self.partitioner = partitioner
        self.namer = namer
        self.pipeline = pipeline
        self.bad = bad
        self.files: dict[str, OpenObject] = {}
        self.count = 0  # records written since the last rotation
        self.next_offset: int | None = None  # offset after the last record taken
        self.schema: Schema | None = None  # value schema of the records since the last rotation
        self.base_time: int | None = None
        self.last_encoded: str | None = None
        self.rewind: tuple[int, int] | None = None  # (resume offset, first offset of stale records)
        self._constant_encoded = f"partition={tp[1]}" if partitioner.per_kafka_partition else None
        self._timed = partitioner if isinstance(partitioner, TimeBasedPartitioner) else None
        self.first_offset: int | None = None  # of the first record taken: a fresh state, committed before it
        self._zone = ZoneInfo(settings.timezone)
        self._next_schedule_ms = self._schedule_after(_now_ms())

    # --- writing -----------------------------------------------------------------------------------------------

    def write(self, records: Sequence[SinkRecord]) -> None:
        """Take records of this topic partition, in offset order; rotations happen on the way."""
        index = self._first_new(records)
        self.rotate_if_scheduled()
        runs = self._constant_encoded is not None and self.settings.rotate_interval_ms <= 0
        while index < len(records):
            taken = self._take_run(records, index) if runs else 0
            if not taken:
                self._take(records[index])
                taken = 1
            index += taken
        for target in self.files.values():
            target.drain(self.bad)

    def _take_run(self, records: Sequence[SinkRecord], index: int) -> int:
        """The fast path of records that all go to one directory and are only counted: take the longest run from
        ``index`` of non-null values with the rotation's schema, up to the next rotation; how many were taken."""
        first = records[index]
        schema = self.schema if self.count else first.value_schema
        if first.value is None or first.value_schema is not schema or (schema is None and self.format.needs_schema):
            return 0
        run = records[index : index + self.settings.flush_size - self.count]
        for position, record in enumerate(run):
            if record.value is None or record.value_schema is not schema:
                run = run[:position]
                break
        assert self._constant_encoded is not None
        target = self.files.get(self._constant_encoded)
        if target is None:
            try:
                target = self._open(self._constant_encoded, first.original_kafka_offset, schema)
            except DataError:
                return 0  # the record-by-record path reports it
            self.files[self._constant_encoded] = target
        if not self.count:
            self.schema, self.base_time = schema, 0
            if self.first_offset is None:
                self.first_offset = first.original_kafka_offset
        target.pending.extend(run)
        self.count += len(run)
        self.next_offset = run[-1].original_kafka_offset + 1
        self.last_encoded = self._constant_encoded
        if self.count >= self.settings.flush_size:
            self.rotate()
        return len(run)

    def _take(self, record: SinkRecord) -> None:
        """Take one record: every rotation rule, the partitioner, errors reported per record."""
        settings = self.settings
        interval = settings.rotate_interval_ms
        offset = record.original_kafka_offset
        if record.value is None:
            if not settings.ignore_nulls:
                raise ConnectorError(
                    f"record {_where(record)} has a null value "
                    "(behavior.on.null.values=fail; set it to ignore to skip them)"
                )
            self.next_offset = offset + 1
            return
        schema = record.value_schema
        if self.count and schema is not self.schema:
            if schema != self.schema:
                self.rotate()
            else:
                self.schema = schema  # equal: compare by identity from now on
        timed = self._timed
        try:
            if self.format.needs_schema and schema is None:
                raise DataError(f"{type(self.format).__name__} needs a value schema")
            if timed is not None:
                moment = timed.timestamp(record)
                encoded = timed.path_of(moment)
            else:
                moment = record_time(record) if interval > 0 else 0
                encoded = self._constant_encoded or self.partitioner.encode(record)
        except DataError as exc:
            self.bad(record, exc)
            self.next_offset = offset + 1
            return
        if self.count and interval > 0:
            assert self.base_time is not None
            on_change = settings.rotate_on_partition_change and timed is not None
            if moment - self.base_time >= interval or (on_change and encoded != self.last_encoded):
                self.rotate()
        target = self.files.get(encoded)
        if target is None:
            try:
                target = self._open(encoded, offset, schema)
            except DataError as exc:
                self.bad(record, exc)
                self.next_offset = offset + 1
                return
            self.files[encoded] = target
        if not self.count:
            self.schema, self.base_time = schema, moment
            if self.first_offset is None:
                self.first_offset = offset
        target.pending.append(record)
        self.count += 1
        self.next_offset = offset + 1
        self.last_encoded = encoded
        if self.count >= settings.flush_size:
            self.rotate()

    def _first_new(self, records: Sequence[SinkRecord]) -> int:
        """Index of the first record to take: skips what a redelivered batch repeats and, while rewinding, records
        from the consumer's old position (at or past the last record seen) and records already in uploaded objects
        (before the resume offset, delivered by a consumer that went back to the committed offset by itself); the
        first record between the two ends the rewind."""
        index = 0
        if self.rewind is not None:
            resume, stale_from = self.rewind
            while index < len(records) and not resume <= records[index].original_kafka_offset < stale_from:
                index += 1
            if index < len(records):
                self.rewind = None
            return index
        if self.next_offset is not None:
            while index < len(records) and records[index].original_kafka_offset < self.next_offset:
                index += 1
        return index

    def _open(self, encoded: str, offset: int, schema: Schema | None) -> OpenObject:
        topic, partition = self.tp
        key = self.namer.key(topic, encoded, partition, offset)
        buffer = SpillBuffer(self.settings.spill_threshold_bytes)
        try:
            return OpenObject(key, buffer, self.format.writer(buffer, schema, key))
        except BaseException:
            buffer.release()
            raise

    # --- rotation ----------------------------------------------------------------------------------------------

    def rotate(self) -> None:
        """Seal every open object and hand them to the pipeline; afterwards the writer is as new."""
        files, self.files = self.files, {}
        sealed = [done for target in files.values() if (done := target.seal(self.bad)) is not None]
        end = self.next_offset
        self.count = 0
        self.schema = self.base_time = self.last_encoded = None
        self._next_schedule_ms = self._schedule_after(_now_ms())
        if sealed and end is not None:
            self.pipeline.submit(Rotation(self.tp, end, sealed))

    def rotate_if_scheduled(self) -> None:
        """The scheduled rotation, when ``rotate.schedule.interval.ms`` is due and something is open."""
        if self._next_schedule_ms is None:
            return
        now = _now_ms()
        if now < self._next_schedule_ms:
            return
        if self.count:
            log.debug("scheduled rotation of %s-%d", *self.tp)
            self.rotate()
        else:  # nothing open: the schedule counts from the next records
            self._next_schedule_ms = self._schedule_after(now)

    def _schedule_after(self, now_ms: int) -> int | None:
        interval = self.settings.rotate_schedule_interval_ms
        if interval <= 0:
            return None
        offset = self._zone.utcoffset(_utc_datetime(now_ms))
        offset_ms = int(offset.total_seconds() * 1000) if offset is not None else 0
        local = now_ms + offset_ms
        return (local // interval + 1) * interval - offset_ms

    # --- offsets -----------------------------------------------------------------------------------------------

    def committable(self, consumed: int) -> int | None:
        """The offset the task may commit, given ``consumed`` (the runtime's position after the records it gave):
        all of it when nothing is open or uploading, else the end of the last uploaded rotation."""
        if self.rewind is not None:
            return self.rewind[0]
        if not self.count and not self.files and self.pipeline.idle(self.tp):
            return consumed
        return self.pipeline.durable(self.tp)

    def resume_point(self) -> tuple[int, int] | None:
        """After revocation: (offset to resume from, offset of the first record not seen), None if unknown."""
        if self.next_offset is None:
            return None
        if not self.count and self.pipeline.idle(self.tp):
            return self.next_offset, self.next_offset
        durable = self.pipeline.durable(self.tp)
        resume = durable if durable is not None else self.first_offset
        return None if resume is None else (resume, self.next_offset)

    def discard(self) -> None:
        """Drop the open objects (their records were not committed; they will be read again)."""
        for target in self.files.values():
            target.buffer.release()
        self.files = {}
        self.count = 0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _utc_datetime(millis: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def _where(record: SinkRecord) -> str:
    return f"{record.original_topic}-{record.original_kafka_partition}@{record.original_kafka_offset}"
