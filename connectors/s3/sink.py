"""S3Sink: archives the records of topics to objects in an S3 bucket, exactly once, with the options and object
names of Confluent's ``io.confluent.connect.s3.S3SinkConnector``.

How the task delivers exactly once into the bucket:

1. objects appear only complete (one PUT, or a multipart upload completed at the end — ``upload.py``);
2. ``pre_commit`` returns, per partition, only the offset after the last uploaded rotation (``writer.py``), so
   the consumer offsets never pass a record that is not in a complete object;
3. a task that starts again — after a crash, a restart or a rebalance — resumes from those offsets and, since
   rotation and naming depend only on the records, writes the same objects under the same names.

Transient S3 failures are retried (``s3.part.retries``); past that the batch is redelivered after
``retry.backoff.ms``. A bucket that does not exist, refused credentials or an endpoint that cannot be reached fail
the task at start with a message naming the bucket and endpoint. Records a format or partitioner cannot take go
to the errant record reporter when the runtime has one, else fail the task naming the record.

A task is used by its task thread; its uploads run on a thread of their own (``UploadPipeline``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping, Sequence
from operator import attrgetter

from connectors.s3.config import SINK_CONFIG
from connectors.s3.formats import make_format
from connectors.s3.naming import ObjectNamer
from connectors.s3.partitioners import make_partitioner
from connectors.s3.settings import SinkSettings
from connectors.s3.storage import S3Bucket, check_bucket
from connectors.s3.upload import TopicPartition, UploadPipeline
from connectors.s3.writer import TopicPartitionWriter
from hub.sdk import ConfigDef, PartitionedSinkConnector, SinkRecord, SinkTask
from hub.sdk.errors import ConfigError, ConnectorError, DataError, RetriableError

log = logging.getLogger(__name__)

_partition_of = attrgetter("original_topic", "original_kafka_partition")


class S3SinkConnector(PartitionedSinkConnector):
    """Plans S3Sink tasks: every task gets the whole config; the consumer group spreads the partitions."""

    aliases = ("io.confluent.connect.s3.S3SinkConnector", "S3Sink")

    def config_def(self) -> ConfigDef:
        return SINK_CONFIG

    def task_class(self) -> type[SinkTask]:
        return S3SinkTask

    def check(self, config: dict[str, str]) -> None:
        SinkSettings.parse(config)  # names the options in trouble

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The checks that span options, then whether the bucket exists and the credentials reach it."""
        try:
            settings = SinkSettings.parse(config)
        except ConfigError as exc:
            return exc.errors
        return check_bucket(settings.store)


class S3SinkTask(SinkTask):
    """Writes records into objects (see the module docstring)."""

    settings: SinkSettings

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._writers: dict[TopicPartition, TopicPartitionWriter] = {}
        self._resume: dict[TopicPartition, tuple[int, int]] = {}
        self._bucket: S3Bucket | None = None
        self._pipeline: UploadPipeline | None = None

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = SinkSettings.parse(config)
        self._format = make_format(settings.format)
        store = settings.store
        self._namer = ObjectNamer(
            store.topics_dir, store.directory_delim, store.file_delim, settings.offset_pad_width, self._format.extension
        )
        self._partitioner = make_partitioner(settings.partitioner, store.directory_delim)
        self._stopped.clear()
        self._bucket = S3Bucket(store, self._stopped)
        self._bucket.open()
        self._pipeline = UploadPipeline(self._bucket, settings.part_size, settings.upload_args)
        self._pipeline.start()
        log.info("writing to %s under %s/", store.where, store.topics_dir)

    @property
    def pipeline(self) -> UploadPipeline:
        if self._pipeline is None:
            raise RuntimeError("the task is not started")
        return self._pipeline

    def open(self, partitions: Collection[TopicPartition]) -> None:
        rewinds: dict[TopicPartition, int] = {}
        for tp in partitions:
            writer = self._writer(tp)
            point = self._resume.pop(tp, None)
            if point is not None and point[0] < point[1]:
                writer.rewind = point
                rewinds[tp] = point[0]
        if rewinds:
            log.info("partitions assigned again; rewinding to the last uploaded records: %s", rewinds)
            self.context.offset(rewinds)

    def _writer(self, tp: TopicPartition) -> TopicPartitionWriter:
        writer = self._writers.get(tp)
        if writer is None:
            writer = TopicPartitionWriter(
                tp, self.settings, self._format, self._partitioner, self._namer, self.pipeline, self._bad_record
            )
            self._writers[tp] = writer
        return writer

    def put(self, records: Sequence[SinkRecord]) -> None:
        try:
            self.pipeline.check()
            partitions = list(map(_partition_of, records))
            if partitions and partitions.count(partitions[0]) == len(partitions):
                self._writer(partitions[0]).write(records)
            else:
                start = 0
                for index in range(1, len(records) + 1):  # runs of one topic partition, in order
                    if index == len(records) or partitions[index] != partitions[start]:
                        self._writer(partitions[start]).write(records[start:index])
                        start = index
            if not records:
                for writer in self._writers.values():
                    writer.rotate_if_scheduled()
        except RetriableError as exc:
            log.warning("S3 is unavailable; the batch is redelivered in %d ms: %s", self.settings.retry_backoff_ms, exc)
            self.context.timeout(self.settings.retry_backoff_ms)
            raise

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        for each in self._writers.values():
            each.rotate_if_scheduled()
        self.pipeline.wait()
        safe: dict[TopicPartition, int] = {}
        for tp, consumed in offsets.items():
            writer = self._writers.get(tp)
            if writer is None:
                continue
            offset = writer.committable(consumed)
            if offset is not None:
                safe[tp] = min(offset, consumed)
        return safe

    def close(self, partitions: Collection[TopicPartition]) -> None:
        if self._pipeline is None:
            return
        closing = [tp for tp in partitions if tp in self._writers]
        self._pipeline.wait(closing)
        for tp in closing:
            writer = self._writers.pop(tp)
            point = writer.resume_point()
            if point is not None:
                self._resume[tp] = point
            writer.discard()
        self._pipeline.forget(closing)

    def stop(self) -> None:
        self._stopped.set()
        for writer in self._writers.values():
            writer.discard()
        self._writers.clear()
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None
        if self._bucket is not None:
            self._bucket.close()
            self._bucket = None

    def _bad_record(self, record: SinkRecord, error: BaseException) -> None:
        where = f"{record.original_topic}-{record.original_kafka_partition}@{record.original_kafka_offset}"
        reporter = self.context.errant_record_reporter
        if reporter is None:
            raise ConnectorError(f"record {where} cannot be written: {error}") from error
        cause = error if isinstance(error, DataError) else DataError(str(error))
        if cause is not error:
            cause.__cause__ = error
        reported = reporter.report(record, cause)
        if reported.done() and reported.exception() is not None:
            raise ConnectorError(f"record {where} cannot be written: {error}") from error
        log.warning("record %s not written (reported as errant): %s", where, error)
