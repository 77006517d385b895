"""SourceTaskRunner: ``poll()`` → transforms → converters → producer, and source offsets committed safely.

Offsets: records are tracked per source partition in poll order; an offset becomes committable only when that
record and every earlier record of its source partition were acknowledged by the store (or dropped by a transform
or by error tolerance). Every ``offset.flush.interval.ms``, and when the task stops, the latest committable offset
of each source partition is written to the offset store, then ``task.commit()`` is called. A crash therefore
replays at most the records after the last commit (at-least-once), never skips one.

A RetriableError from ``poll()`` is retried indefinitely, as Connect does: logged (a warning at the first of a
streak), then the task is polled again after POLL_RETRY_S; any other exception from ``poll()`` fails the task.

Topics a source writes to are created on first use with the connector's ``topic.creation.*`` settings when it
has them (KIP-158); otherwise the store's auto-creation applies.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hub.log.client import NewTopic, OutgoingRecord, Producer, RecordMetadata, SendOutcome, StoreClients
from hub.runtime.errors import Stage
from hub.runtime.options import prefixed
from hub.runtime.stores import OffsetStore, TargetState, canonical
from hub.runtime.stores.offsets import check_map
from hub.runtime.task_runner import TaskRunner, TaskSetup
from hub.sdk.connector import OffsetReader, SourceTask, SourceTaskContext, TransactionContext
from hub.sdk.errors import ConfigError, RetriableError
from hub.sdk.records import SourceRecord

_Converted = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]

#: Records sent but not yet acknowledged above which polling waits (bounds memory when the store is slow).
MAX_IN_FLIGHT = 20_000
#: How long a task that raised RetriableError from poll() waits before it is polled again.
POLL_RETRY_S = 0.1
#: Producer settings under the worker's ``producer.*`` and a connector's ``producer.override.*``. One request in
#: flight per connection, as Connect sets it: a broker answers a connection's requests one at a time anyway, and
#: librdkafka's idempotent producer busy-polls while a partition has a request in flight and its next batch is
#: ready, unless that batch's request is already waiting behind the connection's limit. A linger longer than a
#: broker's answer takes (Kafka's producers default to 5 ms) keeps the next batch from being ready that early, so a
#: source writing to one partition does not spin either (docs/runtime.md, "Producer settings").
PRODUCER_DEFAULTS = {"max.in.flight.requests.per.connection": "1", "linger.ms": "20"}


@dataclass(slots=True)
class _Polled:
    """One poll's records in flight: the last offset of each source partition among them, and their count."""

    offsets: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]]
    count: int
    settled: bool = False


@dataclass
class SubmittedRecords:
    """Polled batches in flight, in poll order; yields the offsets that are safe to commit.

    A batch is settled once every record of it was acknowledged by the store, dropped by a transform or skipped by
    error tolerance; an offset becomes committable when its batch and every earlier batch are settled. Tracking
    whole polls (each is sent as one ``send_batch``) keeps the per-record work to one dictionary store. Used by
    the task's thread only (acknowledgements are collected there), so it takes no locks.
    """

    _batches: deque[_Polled] = field(default_factory=deque)
    _in_flight: int = 0
    _last_partition: Mapping[str, Any] | None = None
    _last_key: str = ""

    def submit(self, records: Sequence[SourceRecord]) -> _Polled:
        offsets: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}
        for record in records:
            partition = record.source_partition
            if partition is not self._last_partition:  # connectors usually reuse one map per stream: key it once
                check_map("partition", partition)
                self._last_partition, self._last_key = partition, canonical(partition)
            if record.source_offset:
                offsets[self._last_key] = (partition, record.source_offset)
        polled = _Polled(offsets, len(records))
        self._batches.append(polled)
        self._in_flight += polled.count
        return polled

    def settle(self, polled: _Polled) -> None:
        if not polled.settled:
            polled.settled = True
            self._in_flight -= polled.count

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def committable(self) -> dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]]:
        """The newest offset per source partition whose batch and every earlier one are settled (removed)."""
        found: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}
        batches = self._batches
        while batches and batches[0].settled:
            found.update(batches.popleft().offsets)
        return found


class _OffsetReader(OffsetReader):
    def __init__(self, store: OffsetStore, connector: str) -> None:
        self._store = store
        self._connector = connector

    def offsets(self, partitions: Collection[Mapping[str, Any]]) -> dict[str, Mapping[str, Any] | None]:
        return self._store.offsets(self._connector, partitions)


class _SourceContext(SourceTaskContext):
    def __init__(
        self, config: Mapping[str, str], reader: OffsetReader, transactions: TransactionContext | None = None
    ) -> None:
        self._config = dict(config)
        self._reader = reader
        self._transactions = transactions

    @property
    def config(self) -> dict[str, str]:
        return self._config

    @property
    def offset_reader(self) -> OffsetReader:
        return self._reader

    @property
    def transaction_context(self) -> TransactionContext | None:
        return self._transactions


class TopicCreator:
    """Creates a source's topics on first use from ``topic.creation.default.*`` and ``topic.creation.GROUP.*``."""

    def __init__(self, clients: StoreClients, config: Mapping[str, str], enabled: bool) -> None:
        self._clients = clients
        self._known: set[str] = set()
        options = prefixed(config, "topic.creation.")
        self._groups: list[tuple[str, re.Pattern[str], re.Pattern[str] | None, dict[str, str]]] = []
        if not enabled or ("default.partitions" not in options and "default.replication.factor" not in options):
            self.enabled = False
            return
        self.enabled = True
        names = [g.strip() for g in options.get("groups", "").split(",") if g.strip()]
        problems: dict[str, list[str]] = {}
        for group in [*names, "default"]:
            settings = prefixed(options, f"{group}.")
            include = settings.pop("include", ".*" if group == "default" else "")
            exclude = settings.pop("exclude", "")
            try:
                self._groups.append(
                    (
                        group,
                        re.compile("|".join(f"(?:{p.strip()})" for p in include.split(",") if p.strip()) or "(?!)"),
                        re.compile("|".join(f"(?:{p.strip()})" for p in exclude.split(","))) if exclude else None,
                        settings,
                    )
                )
            except re.error as exc:
                problems.setdefault(f"topic.creation.{group}.include", []).append(f"invalid regex: {exc}")
        if problems:
            raise ConfigError(problems)
        self._defaults = self._groups[-1][3]

    def ensure(self, topic: str) -> None:
        if not self.enabled or topic in self._known:
            return
        for _, include, exclude, settings in self._groups:
            if include.fullmatch(topic) and not (exclude is not None and exclude.fullmatch(topic)):
                merged = {**self._defaults, **settings}
                partitions = int(merged.pop("partitions", "-1"))
                replication = int(merged.pop("replication.factor", "-1"))
                with self._clients.admin() as admin:
                    admin.create_topics(
                        [NewTopic(topic, partitions if partitions > 0 else 1, max(1, replication), merged)],
                        if_not_exists=True,
                    )
                break
        self._known.add(topic)


class SourceTaskRunner(TaskRunner):
    """Runs a SourceTask (see the module docstring)."""

    task: SourceTask

    def __init__(
        self,
        setup: TaskSetup,
        task: SourceTask,
        target: TargetState,
        *,
        clients: StoreClients,
        offsets: OffsetStore,
        producer_options: Mapping[str, str],
        topic_creation: bool,
    ) -> None:
        super().__init__(setup, task, target)
        self._clients = clients
        self._offsets = offsets
        self._producer_options = producer_options
        self._topic_creation = topic_creation
        self._submitted = SubmittedRecords()
        self._send_error: BaseException | None = None
        self._topics_used: set[str] = set()
        self._wants_commit_record = type(task).commit_record is not SourceTask.commit_record
        self._sent: deque[tuple[Future[SendOutcome], _Polled, list[SourceRecord]]] = deque()
        self._producer: Producer | None = None
        self._task_started = False
        self._poll_retries = 0  # RetriableErrors from poll() in a row

    def execute(self) -> None:
        setup = self.setup
        self._producer = self._clients.producer(options=self._producer_options)
        creator = TopicCreator(self._clients, setup.raw_connector_config, self._topic_creation)
        self.task.initialize(_SourceContext(setup.config, _OffsetReader(self._offsets, setup.task_id.connector)))
        self.task.start(dict(setup.config))
        self._task_started = True
        self.log.info("source task started")
        self.report_running()
        next_commit = time.monotonic() + setup.offset_flush_interval_s
        batch: Sequence[SourceRecord] = ()
        try:
            while not self.stopping.is_set():
                if self._send_error is not None:
                    raise self._send_error
                if time.monotonic() >= next_commit:
                    self.commit_offsets()
                    next_commit = time.monotonic() + setup.offset_flush_interval_s
                if not self.wait_if_paused():
                    break
                self.tick_progress()
                self._collect_acknowledgements()
                if self._submitted.in_flight >= MAX_IN_FLIGHT:
                    self.stopping.wait(0.005)
                    continue
                if not batch:
                    started = time.monotonic()
                    batch = self._poll()
                    if not batch or self.cancelled:
                        continue
                    self.counters.batches += 1
                    self.counters.batch_seconds += time.monotonic() - started
                self._send_batch(batch, creator)
                self.meter.add(len(batch))
                batch = ()
        finally:
            self._finish()

    @property
    def in_flight(self) -> int:
        """Records polled and not yet settled (read by metrics scrapes on other threads)."""
        return self._submitted.in_flight

    def _poll(self) -> list[SourceRecord]:
        """The task's next records; a RetriableError means "nothing now, ask again" (as Connect, whatever the
        ``errors.*`` options say); any other error fails the task."""
        try:
            polled = self.task.poll()
        except RetriableError as exc:
            self._poll_retries += 1
            level = logging.WARNING if self._poll_retries == 1 else logging.DEBUG  # once per streak
            self.log.log(level, "poll() asked for a retry; polling again in %.1f s: %s", POLL_RETRY_S, exc)
            self.stopping.wait(POLL_RETRY_S)
            return []
        self._poll_retries = 0
        return list(polled) if polled else []

    def _send_batch(self, batch: Sequence[SourceRecord], creator: TopicCreator) -> _Polled:
        """Transform, convert and send a batch (as one ``send_batch``); what is in flight of it."""
        setup = self.setup
        assert self._producer is not None
        polled = self._submitted.submit(batch)  # offsets are checked when they are committed
        transforms = setup.transforms if setup.transforms.stages else None
        converters = setup.converters
        key_bytes, value_bytes = converters.key.from_connect, converters.value.from_connect
        header_bytes = converters.header.from_connect_header
        outgoing: list[OutgoingRecord] = []
        sent: list[SourceRecord] = []
        for record in batch:
            out: SourceRecord | None = record
            if transforms is not None:
                _, out = setup.errors.execute(
                    Stage.TRANSFORMATION, partial(transforms.apply, record), origin="transforms"
                )
            if out is None:
                self._dropped(record)
                continue
            topic = out.topic
            try:  # the common case in one step; on any error, again stage by stage for retries and error reports
                key = key_bytes(topic, out.key_schema, out.key)
                value = value_bytes(topic, out.value_schema, out.value)
                headers = (
                    [(h.key, header_bytes(topic, h.key, h.schema, h.value)) for h in out.headers] if out.headers else ()
                )
            except Exception:
                converted = self._convert_by_stage(out)
                if converted is None:
                    self._dropped(record)
                    continue
                key, value, headers = converted
            if topic not in self._topics_used:
                self._topics_used.add(topic)
                creator.ensure(topic)
                setup.on_topic(topic)
            outgoing.append((topic, key, value, headers, out.kafka_partition, out.timestamp))
            sent.append(record)
        if outgoing:
            self._sent.append((self._producer.send_batch(outgoing), polled, sent))
        else:
            self._submitted.settle(polled)
        return polled

    def _convert_by_stage(self, record: SourceRecord) -> _Converted | None:
        setup = self.setup
        converters = setup.converters
        ok_key, key = setup.errors.execute(
            Stage.KEY_CONVERTER,
            lambda: converters.key.from_connect(record.topic, record.key_schema, record.key),
            origin=type(converters.key).__name__,
        )
        if not ok_key:
            return None
        ok_value, value = setup.errors.execute(
            Stage.VALUE_CONVERTER,
            lambda: converters.value.from_connect(record.topic, record.value_schema, record.value),
            origin=type(converters.value).__name__,
        )
        if not ok_value:
            return None
        ok_headers, headers = setup.errors.execute(
            Stage.HEADER_CONVERTER,
            lambda: [
                (h.key, converters.header.from_connect_header(record.topic, h.key, h.schema, h.value))
                for h in record.headers
            ],
            origin=type(converters.header).__name__,
        )
        if not ok_headers:
            return None
        return key, value, headers or []

    def _collect_acknowledgements(self) -> None:
        """Settle the batches the store has answered for, oldest first (on the task thread: no callbacks, no
        locks shared with the producer's thread per record)."""
        sent = self._sent
        while sent and sent[0][0].done():
            future, polled, records = sent.popleft()
            outcome = future.result()
            failed = False
            for index, error in sorted(outcome.errors.items()):
                record = records[index]
                if self.setup.errors.tolerate_all:
                    self.log.error(
                        "sending a record to %s failed; skipped (errors.tolerance=all): %s", record.topic, error
                    )
                else:
                    failed = True  # the batch stays unsettled: none of its offsets is committed
                    if self._send_error is None:
                        self._send_error = error
            if not failed:
                self._submitted.settle(polled)
            self.counters.records_out += len(records) - len(outcome.errors)
            if self._wants_commit_record:
                for index, record in enumerate(records):
                    if index not in outcome.errors or not failed:
                        self._commit_record(record, outcome.metadata(index))

    def _dropped(self, record: SourceRecord) -> None:
        """A record a transform or error tolerance dropped: nothing to wait for."""
        if self._wants_commit_record:
            self._commit_record(record, None)

    def _commit_record(self, record: SourceRecord, metadata: RecordMetadata | None) -> None:
        try:
            self.task.commit_record(record, metadata)
        except Exception as exc:
            self.log.warning("commit_record failed: %s", exc)

    def commit_offsets(self) -> None:
        """Write the offsets of every acknowledged record, then tell the task (never once cancelled)."""
        self._collect_acknowledgements()
        offsets = self._submitted.committable()
        if not offsets or self.cancelled:
            return
        started = time.monotonic()
        try:
            self._offsets.write(self.setup.task_id.connector, offsets)
        except Exception:
            self.counters.offset_commit_failures += 1
            raise
        self.counters.offset_commits += 1
        self.counters.offset_commit_seconds += time.monotonic() - started
        self.log.debug("committed offsets of %d source partitions", len(offsets))
        try:
            self.task.commit()
        except Exception as exc:
            self.log.warning("task commit() failed: %s", exc)

    def _finish(self) -> None:
        if self._producer is not None and not self.cancelled:
            try:
                self._producer.flush(self.setup.offset_flush_timeout_s)
            except Exception as exc:
                self.log.warning("records still in flight at stop will be sent again after restart: %s", exc)
        self.commit_offsets()

    def stop(self) -> None:
        super().stop()
        if self._task_started:
            try:
                self.task.stop()  # from this (another) thread, so a blocked poll() returns
            except Exception as exc:
                self.log.warning("task stop() failed: %s", exc)

    def discard_output(self) -> None:
        # Closing may wait for the store's answers; the worker's thread must not.
        producer = self._producer
        if producer is not None:
            threading.Thread(target=producer.close, name=f"hub-cancel-{self.id}", daemon=True).start()

    def close_resources(self) -> None:
        if not self.stopping.is_set() and self._task_started:
            try:
                self.task.stop()
            except Exception as exc:
                self.log.warning("task stop() failed: %s", exc)
        if self._producer is not None:
            self._producer.close()
