"""ElasticsearchSink: keeps search indices (Elasticsearch or OpenSearch) in step with topics, with the options and
semantics of Confluent's ``io.confluent.connect.elasticsearch.ElasticsearchSinkConnector``.

Each record becomes one operation on its document — index (``write.method=INSERT``), partial update creating the
document when absent (``UPSERT``), delete (a tombstone with ``behavior.on.null.values=DELETE``) or create in a data
stream — written by the BulkWriter (bulk.py: batching, concurrency, retries, the latest write per document wins).

Delivery: consumer offsets are committed only up to the first record not yet written (or not yet sent to the dead
letter queue), per partition, so a crash replays what may not have reached the index; replays are idempotent
(documents have ids, writes per id keep their order). Once ``max.buffered.records`` are waiting, ``put`` waits
while requests are out and the server has not failed them, sending more as they finish (a server slower than the
topic is fed never idles for want of requests, however long one request takes). When the server is unavailable
(requests failed after their retries) it asks the runtime to hold the batch and redeliver it after the backoff
(RetriableError), so the task stays RUNNING and nothing is lost however long an outage lasts; after
BACKPRESSURE_MAX_S of waiting it hands the batch back for an immediate redelivery, so the runtime keeps the task's
group membership alive.

Records that cannot be written are handled as Confluent's connector handles them: each goes to the dead letter
queue first (when the runtime provides an errant record reporter), then the options decide. A record that cannot
become a document is dropped (``drop.invalid.message=true``) or fails the task; a document the server refuses
for its content (mapping and parsing errors) follows ``behavior.on.malformed.documents`` (IGNORE, WARN or FAIL); a
version conflict (another writer changed the document) is logged and the task goes on; any other refusal fails the
task, naming the record, the document and the server's reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from connectors.elasticsearch.bulk import BulkWriter, Op, Refused
from connectors.elasticsearch.client import SearchClient, UnavailableError
from connectors.elasticsearch.config import CONFIG, Settings, parse
from connectors.elasticsearch.documents import (
    data_stream_name,
    document,
    document_id,
    index_name,
    timestamp_for,
)
from connectors.elasticsearch.mappings import index_mappings
from hub.sdk import ConfigDef, PartitionedSinkConnector, SinkRecord, SinkTask
from hub.sdk.errors import ConfigError, ConnectorError, DataError, RetriableError
from hub.sdk.schema import Schema

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]

#: The longest ``put`` waits with the buffer full before handing its batch back for an immediate redelivery (the
#: runtime polls the consumer in between, which keeps the group membership).
BACKPRESSURE_MAX_S = 10.0
#: How long a dead letter queue report may take before the task fails.
REPORT_TIMEOUT_S = 60.0
_REPORTED = " (sent to the dead letter queue)"


class ElasticsearchSinkConnector(PartitionedSinkConnector):
    """Plans ``tasks.max`` identical tasks; the runtime spreads the topics' partitions over them."""

    aliases = ("io.confluent.connect.elasticsearch.ElasticsearchSinkConnector", "ElasticsearchSink")
    #: Longest wait for the server's answer when checking the connection at validation, in seconds.
    check_timeout_s = 5.0

    def config_def(self) -> ConfigDef:
        return CONFIG

    def task_class(self) -> type[SinkTask]:
        return ElasticsearchSinkTask

    def check(self, config: dict[str, str]) -> None:
        parse(config)

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The checks that span options, then one request to the server with short timeouts: refused credentials
        on ``connection.password`` (``connection.api.key`` with a key), anything else on ``connection.url``."""
        try:
            settings = parse(config)
        except ConfigError as exc:
            return exc.errors
        timeout_s = min(settings.read_timeout_s, self.check_timeout_s)
        client = SearchClient(replace(settings, read_timeout_s=timeout_s, connect_timeout_s=timeout_s), pool_size=1)
        try:
            client.connect()
        except UnavailableError as exc:
            return {"connection.url": [str(exc)]}
        except ConnectorError as exc:
            refused = "refused the credentials" in str(exc)
            secret = "connection.api.key" if settings.api_key else "connection.password"
            return {secret if refused else "connection.url": [str(exc)]}
        finally:
            client.close()
        return {}


@dataclass(slots=True)
class _Entry:
    """A record put and not yet known to be written (or reported)."""

    record: SinkRecord
    done: bool = False


class ElasticsearchSinkTask(SinkTask):
    """See the module docstring. Runs on the task's thread; requests run on the writer's pool."""

    def start(self, config: dict[str, str]) -> None:
        self.settings: Settings = parse(config)
        self.name = config.get("name", "elasticsearch-sink")
        self._stopped = threading.Event()
        self.client = SearchClient(self.settings, self.settings.in_flight)
        try:
            info = self.client.connect()
            log.info(
                "%s: writing to %s %s",
                self.name,
                self.settings.connection_type,
                info.get("version", {}).get("number", "?"),
            )
        except UnavailableError as exc:
            log.warning("%s: the search server does not answer yet (%s); documents will wait for it", self.name, exc)
        s = self.settings
        self.writer = BulkWriter(
            self.client,
            batch_size=s.batch_size,
            bulk_bytes=s.bulk_bytes,
            in_flight=s.in_flight,
            max_retries=s.max_retries,
            backoff_s=s.backoff_s,
            timeout_s=s.read_timeout_s,
            stopped=self._stopped,
            name=self.name,
        )
        self._pending: dict[TopicPartition, deque[_Entry]] = {}
        self._targets: dict[str, str] = {}  # topic -> index or data stream known to exist
        self._schemas: dict[str, Schema | None] = {}  # topic -> the value schema its mapping follows

    # --- put ------------------------------------------------------------------------------------------------------

    def put(self, records: Sequence[SinkRecord]) -> None:
        self._drain(0.0)
        if records:
            self._make_room()
        prepared = [self._prepare(record) for record in records]  # may raise RetriableError: nothing taken yet
        for record, op in zip(records, prepared, strict=True):
            entry = _Entry(record)
            self._pending.setdefault(_partition(record), deque()).append(entry)
            if isinstance(op, Op):
                op.records.append(entry)
                self.writer.add(op)
            elif isinstance(op, DataError):
                self._invalid(entry, op)
            else:
                entry.done = True
        self.writer.dispatch()

    def _make_room(self) -> None:
        """Waits while the buffer is full and the server is writing (see the module docstring); RetriableError
        with a backoff while the server is unavailable, without one after BACKPRESSURE_MAX_S."""
        started = time.monotonic()
        while self.writer.buffered >= self.settings.max_buffered:
            if self.writer.outage_since is not None:
                self.context.timeout(int(max(self.settings.backoff_s, 1.0) * 1000))
                raise RetriableError(f"{self.writer.buffered} records wait for the search server, which is unavailable")
            if time.monotonic() - started >= BACKPRESSURE_MAX_S:
                self.context.timeout(0)
                raise RetriableError(f"{self.writer.buffered} records wait for the search server, which is writing")
            self._drain(0.1)

    def _prepare(self, record: SinkRecord) -> Op | DataError | None:
        """The record's operation; None when it writes nothing; the DataError when it cannot become one."""
        try:
            return self._operation(record)
        except DataError as exc:
            return exc

    def _operation(self, record: SinkRecord) -> Op | None:
        s = self.settings
        if record.value is None:
            if s.on_null == "IGNORE":
                return None
            if s.on_null == "FAIL":
                raise DataError(f"record {_where(record)} has a null value (behavior.on.null.values=FAIL)")
            if record.key is None:
                return None
            return Op(self._target(record), document_id(record, False), "delete", None, [])
        doc = document(record, s.compact_maps)
        if not isinstance(doc, Mapping):
            raise DataError(f"record {_where(record)}: a {type(doc).__name__} value cannot be a document")
        target = self._target(record)
        doc_id = None if s.autogenerated_ids else document_id(record, s.ignores_key(record.topic))
        if s.data_stream:
            body = {**doc, "@timestamp": timestamp_for(record, doc, s.timestamp_fields)}
            return Op(target, doc_id, "create", body, [])
        return Op(target, doc_id, "update" if s.upsert else "index", dict(doc), [])

    def _target(self, record: SinkRecord) -> str:
        """The record's index or data stream, created on first use (and its mapping extended when the record's
        schema gained fields); RetriableError while the server is away."""
        known = self._targets.get(record.topic)
        if known is not None:
            schema, mapped = record.value_schema, self._schemas.get(record.topic)
            if schema is not None and schema is not mapped and schema != mapped:
                self._extend_mapping(known, record)
            return known
        s = self.settings
        if s.data_stream:
            name = data_stream_name(s.data_stream_type, s.data_stream_dataset, s.data_stream_namespace, record.topic)
        else:
            name = index_name(s.index_format, record.topic)
        try:
            # A data stream is created by its first write, from the index template matching its name.
            if not s.data_stream and not self.client.index_exists(name):
                schema = record.value_schema
                mappings = None
                if schema is not None and not s.ignores_schema(record.topic):
                    mappings = index_mappings(schema, s.compact_maps)
                self.client.create_index(name, mappings)
                log.info("%s: created index %s", self.name, name)
        except UnavailableError as exc:
            self.context.timeout(int(max(s.backoff_s, 1.0) * 1000))
            raise RetriableError(f"cannot check or create {name}: {exc}") from exc
        self._targets[record.topic] = name
        self._schemas[record.topic] = record.value_schema
        return name

    def _extend_mapping(self, index: str, record: SinkRecord) -> None:
        """A new schema for the topic (a column added or renamed at the source): map its fields too. A field the
        index maps differently keeps its mapping (the server refuses a change); documents keep flowing."""
        s = self.settings
        self._schemas[record.topic] = record.value_schema
        if s.data_stream or s.ignores_schema(record.topic) or record.value_schema is None:
            return
        try:
            self.client.put_mapping(index, index_mappings(record.value_schema, s.compact_maps))
            log.info("%s: mapping of %s follows the new schema of %s", self.name, index, record.topic)
        except UnavailableError as exc:
            self._schemas.pop(record.topic, None)  # try again with the next record
            log.warning("%s: cannot update the mapping of %s yet: %s", self.name, index, exc)
        except ConnectorError as exc:
            log.warning("%s: the mapping of %s keeps fields the new schema maps differently: %s", self.name, index, exc)

    # --- outcomes -------------------------------------------------------------------------------------------------

    def _drain(self, timeout_s: float) -> None:
        """Applies the outcomes of finished requests and sends what can go."""
        for outcome in self.writer.collect(timeout_s):
            if outcome.fatal is not None:
                raise ConnectorError(f"{self.name}: the search server refused a bulk request: {outcome.fatal}")
            for op in outcome.written:
                for entry in op.records:
                    entry.done = True
            for refused in outcome.refused:
                self._refused(refused)
        self.writer.dispatch()

    def _invalid(self, entry: _Entry, error: DataError) -> None:
        """A record that cannot become a document: reported, then dropped (``drop.invalid.message``) or fatal."""
        reported = _REPORTED if self._report([entry], error) else ""
        if not self.settings.drop_invalid:
            raise ConnectorError(
                f"{self.name}: record {_where(entry.record)}: {error}{reported} (drop.invalid.message=false)"
            ) from error
        log.warning("%s: dropping record %s%s: %s", self.name, _where(entry.record), reported, error)
        entry.done = True

    def _refused(self, refused: Refused) -> None:
        """A document the server refused: reported, then a version conflict is logged, a malformed document follows
        ``behavior.on.malformed.documents``, and any other refusal fails the task."""
        entries = refused.op.records
        where = f"document {refused.op.doc_id} in {refused.op.index}"
        error = DataError(f"{where} refused: {refused.reason}")
        reported = _REPORTED if self._report(entries, error) else ""
        if refused.conflict:
            log.warning("%s: %s not written, version conflict%s: %s", self.name, where, reported, refused.reason)
        elif refused.malformed and self.settings.on_malformed != "FAIL":
            level = logging.WARNING if self.settings.on_malformed == "WARN" else logging.DEBUG
            log.log(level, "%s: %s refused%s: %s", self.name, where, reported, refused.reason)
        else:
            cause = " (behavior.on.malformed.documents=FAIL)" if refused.malformed else ""
            raise ConnectorError(f"{self.name}: record {_where(entries[0].record)}: {error}{reported}{cause}")
        for entry in entries:
            entry.done = True

    def _report(self, entries: Sequence[_Entry], error: DataError) -> bool:
        """Sends the records to the dead letter queue and waits until it has them; False when there is none. A
        report refused (``errors.tolerance=none``) or not stored in time fails the task, whichever call found it."""
        reporter = self.context.errant_record_reporter
        if reporter is None:
            return False
        reports = [(entry, reporter.report(entry.record, error)) for entry in entries]
        for entry, report in reports:
            try:
                report.result(REPORT_TIMEOUT_S)
            except Exception as exc:
                raise ConnectorError(
                    f"{self.name}: record {_where(entry.record)}: {error}; not reported: {exc}"
                ) from exc
        return True

    # --- commits and lifecycle ------------------------------------------------------------------------------------

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        self._drain(0.0)
        safe: dict[TopicPartition, int] = {}
        for tp, offset in offsets.items():
            queue = self._pending.get(tp)
            while queue and queue[0].done:
                queue.popleft()
            safe[tp] = queue[0].record.original_kafka_offset if queue else offset
        return safe

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Waits until every document put so far is written (``flush.timeout.ms`` at most)."""
        deadline = time.monotonic() + self.settings.flush_timeout_s
        while not self.writer.idle:
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"{self.name}: flush timed out with {self.writer.buffered} records not yet written "
                    f"(flush.timeout.ms={int(self.settings.flush_timeout_s * 1000)})"
                )
            self._drain(0.1)
            if not self.writer.idle and self.writer.outage_since is not None:
                self._stopped.wait(0.1)

    def close(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self._pending.pop(tp, None)

    def stop(self) -> None:
        self._stopped.set()
        self.writer.close()
        self.client.close()


def _partition(record: SinkRecord) -> TopicPartition:
    return (record.original_topic, record.original_kafka_partition)


def _where(record: SinkRecord) -> str:
    return f"{record.original_topic}-{record.original_kafka_partition}@{record.original_kafka_offset}"
