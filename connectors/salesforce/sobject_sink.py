"""SalesforceSObjectSink: writes records to an sObject — insert, update, upsert by external id or delete, per
record — answering to Confluent's ``io.confluent.salesforce.SalesforceSObjectSinkConnector``.

``sink_changes.plan`` decides each record's operation (``override.event.type``, a CDC ``changeType``, a
PushTopic ``_EventType``, a tombstone, or ``salesforce.sink.object.operation``); ``writes.Writer`` applies them in
record order, through the sObject Collections API or, past ``hub.salesforce.bulk.threshold``, a Bulk API 2.0
ingest job.

``put`` buffers the changes until ``hub.salesforce.bulk.threshold`` of them wait (so a large backlog goes
through Bulk API 2.0 although the runtime hands records over in batches of a few hundred), until a ``put`` brings
nothing new, or until ``flush`` (before each offset commit). A row Salesforce refuses (DUPLICATE_VALUE,
REQUIRED_FIELD_MISSING, …) and a record that cannot be planned go to the errant record reporter (the DLQ) with the
server's error code and message, or fail the task naming the record when the connector has no DLQ. The offsets
the runtime commits therefore never pass a record that was neither accepted nor reported. When Salesforce stays
unavailable (REQUEST_LIMIT_EXCEEDED, 5xx, network) past ``request.max.retries.time.ms``, the write raises
RetriableError; the records written are dropped from the buffer, the others stay, and records the runtime delivers
again (the same batch, or everything after the last commit) are skipped while they are buffered or written, so
nothing is written twice by one task.

A task is used by its task thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping, Sequence

from connectors.salesforce.bulk_source import check_login
from connectors.salesforce.config import SOBJECT_SINK_CONFIG
from connectors.salesforce.schema import ObjectDescription
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import SObjectSinkSettings
from connectors.salesforce.sink_changes import Change, plan
from connectors.salesforce.writes import Writer
from hub.sdk import ConfigDef, PartitionedSinkConnector, SinkRecord, SinkTask
from hub.sdk.errors import ConfigError, ConnectorError, DataError, RetriableError

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


class SalesforceSObjectSinkConnector(PartitionedSinkConnector):
    """Plans sObject sink tasks: every task takes the whole config; the consumer group spreads the partitions."""

    aliases = ("io.confluent.salesforce.SalesforceSObjectSinkConnector", "SalesforceSObjectSink")

    def config_def(self) -> ConfigDef:
        return SOBJECT_SINK_CONFIG

    def task_class(self) -> type[SinkTask]:
        return SalesforceSObjectSinkTask

    def check(self, config: dict[str, str]) -> None:
        SObjectSinkSettings.parse(config)

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        try:
            settings = SObjectSinkSettings.parse(config)
        except ConfigError as exc:
            return exc.errors
        return check_login(settings.connection)


def _where(record: SinkRecord) -> str:
    return f"{record.original_topic}-{record.original_kafka_partition}@{record.original_kafka_offset}"


class SalesforceSObjectSinkTask(SinkTask):
    """Writes records to the sObject (see the module docstring)."""

    settings: SObjectSinkSettings

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._session: SalesforceSession | None = None
        self._writer: Writer | None = None
        self._description: ObjectDescription | None = None
        self._seen: dict[TopicPartition, int] = {}  # per partition, the last offset buffered, written or reported
        self._buffer: list[tuple[SinkRecord, list[Change]]] = []  # in arrival order
        self._buffered = 0  # changes in the buffer

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = SObjectSinkSettings.parse(config)
        self._stopped.clear()
        self._session = SalesforceSession(settings.connection, self._stopped).open()
        describe = self._session.request("GET", f"sobjects/{settings.object}/describe").json()
        self._description = ObjectDescription.of(describe)
        custom = settings.custom_id_field
        if custom and custom not in self._description.types:
            raise ConnectorError(f"{settings.object} has no field {custom} (salesforce.custom.id.field.name)")
        self._writer = Writer(self._session, settings.object, custom, settings.bulk_threshold, self._refused)
        log.info("writing to %s at %s", settings.object, settings.connection.where)

    def open(self, partitions: Collection[TopicPartition]) -> None:
        self._forget(partitions)

    def put(self, records: Sequence[SinkRecord]) -> None:
        assert self._description is not None
        for record in records:
            tp = (record.original_topic, record.original_kafka_partition)
            if record.original_kafka_offset <= self._seen.get(tp, -1):
                continue  # buffered or written already: a redelivery
            self._seen[tp] = record.original_kafka_offset
            try:
                changes = plan(record, self.settings, self._description)
            except DataError as exc:
                self._report(record, str(exc), exc)
                changes = []
            self._buffer.append((record, changes))
            self._buffered += len(changes)
        if self._buffered >= self.settings.bulk_threshold or (not records and self._buffer):
            try:
                self._write_buffer()
            except RetriableError:
                self.context.timeout(max(self.settings.connection.retry_backoff_ms, 100))
                raise

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Writes every buffered record: the offsets the runtime then commits pass only written records."""
        self._write_buffer()

    def _write_buffer(self) -> None:
        assert self._writer is not None
        changes = [change for _, planned in self._buffer for change in planned]
        done = 0

        def count(run: list[Change]) -> None:
            nonlocal done
            done += len(run)

        try:
            self._writer.apply(changes, count)
        except BaseException:
            # The runs written form a prefix of the changes; keep the records with a change not written yet.
            while self._buffer and len(self._buffer[0][1]) <= done:
                done -= len(self._buffer[0][1])
                self._buffered -= len(self._buffer[0][1])
                self._buffer.pop(0)
            raise
        self._buffer.clear()
        self._buffered = 0

    def _forget(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions gone or assigned anew: their records come again from the committed offsets."""
        gone = set(partitions)
        for tp in gone:
            self._seen.pop(tp, None)
        kept = [(r, c) for r, c in self._buffer if (r.original_topic, r.original_kafka_partition) not in gone]
        self._buffer = kept
        self._buffered = sum(len(c) for _, c in kept)

    def _refused(self, change: Change, message: str) -> None:
        self._report(change.record, f"Salesforce refused the {change.operation} of {change.target}: {message}")

    def _report(self, record: SinkRecord, message: str, cause: BaseException | None = None) -> None:
        reporter = self.context.errant_record_reporter
        error = DataError(message)
        if reporter is None:
            raise ConnectorError(f"record {_where(record)} cannot be written: {message}") from cause
        reported = reporter.report(record, error)
        if reported.done() and reported.exception() is not None:
            raise ConnectorError(f"record {_where(record)} cannot be written: {message}") from cause
        log.warning("record %s not written (sent to the dead letter queue): %s", _where(record), message)

    def close(self, partitions: Collection[TopicPartition]) -> None:
        self._forget(partitions)

    def stop(self) -> None:
        self._stopped.set()
        if self._session is not None:
            self._session.close()
