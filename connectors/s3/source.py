"""S3Source: restores what the S3 sink wrote back into topics — the backup-and-restore mode of Confluent's
``io.confluent.connect.s3.source.S3SourceConnector``.

The task lists ``<topics.dir>/`` and keeps the objects whose names the sink writes
(``<topic>+<partition>+<start offset><extension>`` of the configured format). Each record goes to the topic and
partition named by its object; the objects of a partition are read in start-offset order, each from first record
to last, so a partition written with the DefaultPartitioner comes back in its original offset order. Records
carry the values the format stored (JSON objects without schemas, Avro and Parquet with their Connect schemas,
bytes); keys, headers and timestamps are not in the objects and come back empty.

Offsets: the source partition is ``{"bucket", "topics.dir", "topic", "partition"}``, the offset
``{"object": KEY, "index": N, "complete": BOOL}`` — N records of that object are in the topic, and ``complete``
says it was the last. A restarted task skips the objects before the stored one and the first N records of it.
Objects appearing later with a start offset before the position reached are not read (restore a finished backup,
or follow a DefaultPartitioner sink). ``tasks.max`` splits the topic partitions between tasks by a hash.

``poll`` waits at most a second when there is nothing to read and ``stop`` (from another thread) cuts it short.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from typing import IO, Any

from connectors.s3.config import SOURCE_CONFIG
from connectors.s3.formats import make_format
from connectors.s3.naming import NameParser, ObjectName
from connectors.s3.settings import SourceSettings
from connectors.s3.storage import S3Bucket, check_bucket
from hub.sdk import ConfigDef, Schema, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConfigError, ConnectorError

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
#: Where a partition stands: (start offset, object key, records of it emitted, whether that was all of them).
Position = tuple[int, str, int, bool]


class S3SourceConnector(SourceConnector):
    """Plans S3Source tasks: each takes the topic partitions whose hash falls on its index."""

    aliases = ("io.confluent.connect.s3.source.S3SourceConnector", "S3Source")

    def __init__(self) -> None:
        self.config: dict[str, str] = {}

    def config_def(self) -> ConfigDef:
        return SOURCE_CONFIG

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The checks that span options, then whether the bucket exists and the credentials reach it."""
        try:
            settings = SourceSettings.parse(config)
        except ConfigError as exc:
            return exc.errors
        return check_bucket(settings.store)

    def start(self, config: dict[str, str]) -> None:
        SourceSettings.parse(config)
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return S3SourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [{**self.config, "task.index": str(index), "task.count": str(max_tasks)} for index in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""


def _with_last(items: Iterator[tuple[Schema | None, Any]]) -> Iterator[tuple[Schema | None, Any, bool]]:
    """The items, each with whether it is the last one."""
    previous = next(items, None)
    while previous is not None:
        following = next(items, None)
        yield previous[0], previous[1], following is None
        previous = following


class S3SourceTask(SourceTask):
    """Reads objects back into records (see the module docstring)."""

    settings: SourceSettings

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._polling = False
        self._bucket: S3Bucket | None = None
        self._queue: deque[ObjectName] = deque()
        self._positions: dict[TopicPartition, Position | None] = {}
        self._partitions: dict[TopicPartition, dict[str, Any]] = {}
        self._current: tuple[ObjectName, IO[bytes], Iterator[tuple[Schema | None, Any, bool]], int] | None = None
        self._next_listing = 0.0

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = SourceSettings.parse(config)
        self._index = int(config.get("task.index", "0"))
        self._count = max(1, int(config.get("task.count", "1")))
        self._format = make_format(settings.format)
        store = settings.store
        self._parser = NameParser(store.topics_dir, store.directory_delim, store.file_delim, self._format.extension)
        self._stopped.clear()
        self._bucket = S3Bucket(store, self._stopped)
        self._bucket.open()
        log.info("restoring from %s under %s/", store.where, store.topics_dir)

    def poll(self) -> Sequence[SourceRecord]:
        with self._lock:
            if self._stopped.is_set():
                return []
            self._polling = True
        try:
            return self._poll()
        finally:
            with self._lock:
                self._polling = False
                if self._stopped.is_set():
                    self._release()

    def _poll(self) -> list[SourceRecord]:
        if self._current is None and not self._queue:
            if time.monotonic() >= self._next_listing:
                self._list()
                self._next_listing = time.monotonic() + self.settings.poll_interval_ms / 1000
            if not self._queue:
                self._stopped.wait(min(1.0, max(0.0, self._next_listing - time.monotonic())))
                return []
        records: list[SourceRecord] = []
        while len(records) < self.settings.batch_max_size and not self._stopped.is_set():
            if self._current is None:
                if not self._queue:
                    break
                self._open(self._queue.popleft())
                continue
            name, data, items, emitted = self._current
            item = next(items, None)
            if item is None:
                self._close_current()
                continue
            schema, value, last = item
            emitted += 1
            self._current = (name, data, items, emitted)
            tp = (name.topic, name.partition)
            self._positions[tp] = (name.start_offset, name.key, emitted, last)
            records.append(
                SourceRecord(
                    topic=name.topic,
                    kafka_partition=name.partition,
                    value=value,
                    value_schema=schema,
                    source_partition=self._source_partition(tp),
                    source_offset={"object": name.key, "index": emitted, "complete": last},
                )
            )
            if last:
                self._close_current()
        return records

    # --- objects -----------------------------------------------------------------------------------------------

    def _list(self) -> None:
        """Queue the objects of this task's partitions not read yet, in partition and offset order."""
        assert self._bucket is not None
        prefix = self._parser.prefix
        found = []
        for key in self._bucket.list_keys(prefix):
            name = self._parser.parse(key)
            if name is None or not self._mine(name):
                continue
            position = self._position((name.topic, name.partition))
            if position is not None:
                start, stored_key, _, complete = position
                if (name.start_offset, name.key) < (start, stored_key):
                    continue
                if name.key == stored_key and complete:
                    continue
            found.append(name)
        self._queue = deque(sorted(found))
        if found:
            log.info("%d objects to restore", len(found))

    def _mine(self, name: ObjectName) -> bool:
        return zlib.crc32(f"{name.topic}/{name.partition}".encode()) % self._count == self._index

    def _position(self, tp: TopicPartition) -> Position | None:
        if tp not in self._positions:
            stored = self.context.offset_reader.offset(self._source_partition(tp))
            position: Position | None = None
            if stored and stored.get("object"):
                parsed = self._parser.parse(str(stored["object"]))
                if parsed is None:
                    raise ConnectorError(f"stored offset {dict(stored)} names an object this source does not read")
                position = (
                    parsed.start_offset,
                    parsed.key,
                    int(stored.get("index", 0)),
                    bool(stored.get("complete", False)),
                )
            self._positions[tp] = position
        return self._positions[tp]

    def _source_partition(self, tp: TopicPartition) -> dict[str, Any]:
        partition = self._partitions.get(tp)
        if partition is None:  # one map per partition: the runtime keys it once
            store = self.settings.store
            partition = {"bucket": store.bucket, "topics.dir": store.topics_dir, "topic": tp[0], "partition": tp[1]}
            self._partitions[tp] = partition
        return partition

    def _open(self, name: ObjectName) -> None:
        assert self._bucket is not None
        data = self._bucket.download(name.key, self.settings.spill_threshold_bytes)
        items = _with_last(self._format.read(data))
        skip = 0
        position = self._positions.get((name.topic, name.partition))
        if position is not None and position[1] == name.key:
            skip = position[2]
        for _ in range(skip):
            if next(items, None) is None:
                break
        self._current = (name, data, items, skip)

    def _close_current(self) -> None:
        if self._current is not None:
            self._current[1].close()
            self._current = None

    def _release(self) -> None:
        self._close_current()
        self._queue.clear()
        if self._bucket is not None:
            self._bucket.close()
            self._bucket = None

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if not self._polling:
                self._release()
