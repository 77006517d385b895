"""JdbcSink: writes the records of topics to tables of PostgreSQL, MySQL/MariaDB or SQLite, with the options and
semantics of Confluent's ``io.confluent.connect.jdbc.JdbcSinkConnector``.

Each ``put`` writes its records before returning: per destination table, in chunks of ``batch.size`` records,
each chunk in one transaction. ``pre_commit`` therefore returns every offset put so far — except for partitions
whose last ``put`` did not finish, which stop at the last record written. A crash replays at most the batch being
written; with ``insert.mode=upsert`` replays are harmless. A batch redelivered after a transient error skips the
records already written by the failed attempt.

Errors: connection failures are retried by the Database (``connection.attempts``, ``connection.backoff.ms``); if
they persist the batch is redelivered ``max.retries`` times, ``retry.backoff.ms`` apart, then the task fails. A
record the database refuses (constraint, value out of range) or that cannot be mapped to columns goes to the
errant record reporter when the runtime provides one; without one the task fails with the database's message.
Missing tables or columns the settings do not allow to create fail the task.

A task is used by its task thread only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence

from sqlalchemy import exc as sa_exc

from connectors.jdbc.connection import Database, check_connection, database_message
from connectors.jdbc.sink.config import SINK_CONFIG, SinkSettings, TableId
from connectors.jdbc.sink.rows import RowPlan, RowPlanner
from connectors.jdbc.sink.tables import TableBinding, TableManager
from connectors.jdbc.sink.writer import BoundOp, ChunkWriter, enable_savepoints
from hub.sdk import ConfigDef, PartitionedSinkConnector, SinkRecord, SinkTask
from hub.sdk.errors import ConfigError, ConnectorError, DataError, RetriableError

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
_TABLE_ID_CACHE_LIMIT = 1000


class JdbcSinkConnector(PartitionedSinkConnector):
    """Plans JdbcSink tasks: every task gets the whole config, the consumer group spreads the partitions."""

    aliases = ("io.confluent.connect.jdbc.JdbcSinkConnector", "JdbcSink")

    def config_def(self) -> ConfigDef:
        return SINK_CONFIG

    def task_class(self) -> type[SinkTask]:
        return JdbcSinkTask

    def check(self, config: dict[str, str]) -> None:
        SinkSettings.parse(config)  # names the options in trouble

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The checks that span options, then a connection to the database."""
        try:
            self.check(config)
        except ConfigError as exc:
            return exc.errors
        return check_connection(config)


class WriteProgress:
    """Per partition, how far the records handed to ``put`` are in the database (what ``pre_commit`` may commit).

    ``written`` is the offset after the last record written (or reported as bad); ``unfinished`` holds the
    partitions whose last ``put`` failed before writing all of their records.
    """

    def __init__(self) -> None:
        self.written: dict[TopicPartition, int] = {}
        self.unfinished: set[TopicPartition] = set()

    def begin(self, records: Sequence[SinkRecord]) -> Sequence[SinkRecord]:
        """Start a put: the records not written yet (a redelivered batch skips what the failed put wrote)."""
        fresh = records
        if self.unfinished:
            fresh = [
                record
                for record in records
                if _partition(record) not in self.unfinished
                or record.original_kafka_offset >= self.written.get(_partition(record), -1)
            ]
        self.unfinished.update(_partitions(records))
        return fresh

    def advance(self, records: Iterable[SinkRecord]) -> None:
        """These records (in offset order per partition) are in the database, or were reported."""
        written = self.written
        for record in records:
            partition = (record.original_topic, record.original_kafka_partition)
            offset = record.original_kafka_offset + 1
            current = written.get(partition)
            if current is None:
                written[partition] = max(0, offset)
            elif offset > current:
                written[partition] = offset

    def finish(self, records: Sequence[SinkRecord]) -> None:
        """The put of ``records`` wrote all of them."""
        self.unfinished.difference_update(_partitions(records))

    def safe(self, offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The offsets that may be committed: all of them, except partitions with an unfinished put."""
        safe: dict[TopicPartition, int] = {}
        for partition, offset in offsets.items():
            if partition not in self.unfinished:
                safe[partition] = offset
            elif partition in self.written:
                safe[partition] = min(offset, self.written[partition])
        return safe

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        for partition in partitions:
            self.written.pop(partition, None)
            self.unfinished.discard(partition)


class JdbcSinkTask(SinkTask):
    """Writes records to tables (see the module docstring)."""

    settings: SinkSettings  # the parts below exist from start() on
    _planner: RowPlanner
    _tables: TableManager
    _writer: ChunkWriter

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._db: Database | None = None
        self._progress = WriteProgress()
        self._retries_left = 0
        self._table_ids: dict[str, TableId] = {}

    def start(self, config: dict[str, str]) -> None:
        self.settings = SinkSettings.parse(config)
        self._stopped.clear()
        self._db = Database.from_settings(self.settings.connection, self._stopped, f"JdbcSink {config.get('name')}")
        enable_savepoints(self._db.engine)
        self._planner = RowPlanner(self.settings)
        self._tables = TableManager(self._db, self.settings)
        self._writer = ChunkWriter(self._db, self.settings)
        self._retries_left = self.settings.max_retries
        self._table_ids.clear()

    def put(self, records: Sequence[SinkRecord]) -> None:
        if not records:
            return
        fresh = self._progress.begin(records)
        try:
            for table_id, group in self._by_table(fresh).items():
                for start in range(0, len(group), self.settings.batch_size):
                    chunk = group[start : start + self.settings.batch_size]
                    self._write_chunk(table_id, chunk)
                    self._progress.advance(chunk)
        except RetriableError as exc:
            self._tables.forget()  # a redelivery looks at the tables again (one may have changed meanwhile)
            raise self._retry(exc) from exc
        self._progress.finish(records)
        self._retries_left = self.settings.max_retries

    def _write_chunk(self, table_id: TableId, chunk: Sequence[SinkRecord]) -> None:
        bound: list[BoundOp] = []
        plan_of, bind = self._planner.plan, self._tables.bind
        last_plan: RowPlan | None = None  # records come in runs of one plan: each run is bound once
        last_binding: TableBinding | None = None
        try:
            for record in chunk:
                try:
                    plan = plan_of(record)
                    if plan is None:
                        continue
                    if plan is last_plan:
                        binding = last_binding
                    else:
                        binding = bind(table_id, plan.shape, create=not plan.delete)
                        last_plan, last_binding = (plan, binding) if binding is not None else (None, None)
                    if binding is not None:
                        bound.append(BoundOp(record, plan.delete, binding, plan.read(record)))
                except DataError as exc:
                    self._reject(table_id, record, exc)
            if bound:
                self._writer.write(bound, lambda record, error: self._reject(table_id, record, error))
        except sa_exc.DBAPIError as exc:
            self._tables.forget()  # the table may have changed under us
            raise ConnectorError(f"writing to table {table_id} failed: {database_message(exc)}") from exc

    def _by_table(self, records: Iterable[SinkRecord]) -> dict[TableId, list[SinkRecord]]:
        """Records per destination table, in their order."""
        tables: dict[TableId, list[SinkRecord]] = {}
        table_ids = self._table_ids
        last_id: TableId | None = None
        last_group: list[SinkRecord] = []
        for record in records:
            table_id = table_ids.get(record.topic)
            if table_id is None:
                if len(table_ids) >= _TABLE_ID_CACHE_LIMIT:
                    table_ids.clear()
                table_id = table_ids[record.topic] = self.settings.table_id(record.topic)
            if table_id is not last_id:
                last_id, last_group = table_id, tables.setdefault(table_id, [])
            last_group.append(record)
        return tables

    def _reject(self, table_id: TableId, record: SinkRecord, error: BaseException) -> None:
        """Send a record that cannot be written to the errant record reporter, or fail the task with its error."""
        message = str(error) if isinstance(error, DataError) else database_message(error)
        where = f"{record.topic}-{record.kafka_partition}@{record.kafka_offset}"
        reporter = self.context.errant_record_reporter
        if reporter is None:
            raise ConnectorError(f"record {where} cannot be written to table {table_id}: {message}") from error
        if isinstance(error, DataError):
            cause = error
        else:
            cause = DataError(message)  # the database's message, without SQLAlchemy's statement dump
            cause.__cause__ = error
        reported = reporter.report(record, cause)
        if reported.done() and reported.exception() is not None:
            raise ConnectorError(f"record {where} cannot be written to table {table_id}: {message}") from error
        log.warning("record %s not written to table %s (reported as errant): %s", where, table_id, message)

    def _retry(self, error: RetriableError) -> Exception:
        """The error to raise after a transient failure: RetriableError while retries are left, then ConnectorError."""
        if self._retries_left <= 0:
            return ConnectorError(f"giving up after {self.settings.max_retries} retries: {error}")
        self._retries_left -= 1
        log.warning(
            "transient database error, batch redelivered in %d ms (%d retries left): %s",
            self.settings.retry_backoff_ms,
            self._retries_left,
            error,
        )
        self.context.timeout(self.settings.retry_backoff_ms)
        return RetriableError(str(error))

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Nothing to do: ``put`` commits its transactions before returning."""

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        return self._progress.safe(offsets)

    def close(self, partitions: Collection[TopicPartition]) -> None:
        self._progress.forget(partitions)

    def stop(self) -> None:
        self._stopped.set()
        if self._db is not None:
            self._db.dispose()
            self._db = None


def _partition(record: SinkRecord) -> TopicPartition:
    return (record.original_topic, record.original_kafka_partition)


def _partitions(records: Iterable[SinkRecord]) -> set[TopicPartition]:
    return {(record.original_topic, record.original_kafka_partition) for record in records}
