"""SinkTaskRunner: consumer (group ``connect-NAME``) → converters → transforms → ``put(batch)`` → commits.

Offsets: the runner remembers, per partition, the offset after the last record handed to ``put`` (or skipped by
a transform or error tolerance). Every ``offset.flush.interval.ms``, before partitions are revoked, and when the
task stops, it waits for dead-letter writes, asks ``task.pre_commit(offsets)`` (by default: ``flush`` then all
of them) and commits what that returns — so only what the sink made durable is ever committed.

As Connect: offsets ``pre_commit`` returns for partitions not assigned, or beyond what the task was given, are
ignored with a warning; when ``pre_commit`` raises, nothing is committed and the consumer is rewound to the last
committed offsets (or, before any commit, to where it started reading), so those records are delivered again —
except while partitions are being closed, when it is only logged. A ConnectorError from ``pre_commit`` fails the
task (Hub's addition: the sink says it cannot go on).
A RetriableError from ``put`` pauses consumption and redelivers the same batch after ``context.timeout(ms)``
(default 1 s; group membership is kept alive meanwhile). ``topics.regex`` subscriptions follow new topics by
looking at the topic list every 5 s.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Mapping
from concurrent.futures import Future
from functools import partial
from typing import Any

from hub.log.client import Consumer, ConsumerRecord, StoreClients, TimestampType, TopicPartition, UnknownTopicError
from hub.runtime.errors import Stage, ToleranceOperator
from hub.runtime.stores import TargetState
from hub.runtime.task_runner import TaskRunner, TaskSetup
from hub.runtime.transactions import read_committed_consumer
from hub.sdk.connector import ErrantRecordReporter, SinkTask, SinkTaskContext
from hub.sdk.converter import SchemaAndValue
from hub.sdk.errors import ConnectorError, RetriableError
from hub.sdk.records import Header, Headers, SinkRecord

_REGEX_REFRESH_S = 5.0
#: How long a task whose topic does not exist yet waits before it subscribes again: first, doubling up to the most.
_MISSING_TOPIC_WAIT_S = 0.25
_MISSING_TOPIC_WAIT_MAX_S = 5.0
_NO_HEADERS = Headers()
_DEFAULT_RETRY_S = 1.0


class _Reporter(ErrantRecordReporter):
    def __init__(self, errors: ToleranceOperator, originals: dict[tuple[str, int, int], ConsumerRecord]) -> None:
        self._errors = errors
        self._originals = originals

    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        key = (record.original_topic, record.original_kafka_partition, record.original_kafka_offset)
        original = self._originals.get(key) or ConsumerRecord(
            record.original_topic, record.original_kafka_partition, record.original_kafka_offset, 0, None, None
        )
        return self._errors.report(original, error)


class _SinkContext(SinkTaskContext):
    def __init__(self, runner: SinkTaskRunner) -> None:
        self._runner = runner
        self.seeks: dict[TopicPartition, int] = {}
        self.retry_timeout_s = _DEFAULT_RETRY_S
        self.commit_requested = False
        self.reporter: ErrantRecordReporter | None = None

    @property
    def config(self) -> dict[str, str]:
        return dict(self._runner.setup.config)

    def assignment(self) -> set[tuple[str, int]]:
        return set(self._runner.assigned)

    def offset(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.seeks.update({TopicPartition(*tp): offset for tp, offset in offsets.items()})

    def timeout(self, timeout_ms: int) -> None:
        self.retry_timeout_s = max(0, timeout_ms) / 1000

    def pause(self, *partitions: tuple[str, int]) -> None:
        self._runner.consumer.pause([TopicPartition(*tp) for tp in partitions])

    def resume(self, *partitions: tuple[str, int]) -> None:
        self._runner.consumer.resume([TopicPartition(*tp) for tp in partitions])

    def request_commit(self) -> None:
        self.commit_requested = True

    @property
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        return self.reporter


class SinkTaskRunner(TaskRunner):
    """Runs a SinkTask (see the module docstring)."""

    task: SinkTask

    def __init__(
        self,
        setup: TaskSetup,
        task: SinkTask,
        target: TargetState,
        *,
        clients: StoreClients,
        consumer_options: Mapping[str, str],
        max_poll_records: int = 500,
    ) -> None:
        super().__init__(setup, task, target)
        self._clients = clients
        self._consumer_options = consumer_options
        self._max_poll_records = max_poll_records
        self.assigned: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        #: Where a failed ``pre_commit`` rewinds each partition to: its last committed offset, else its first read.
        self._rewind_to: dict[TopicPartition, int] = {}
        self._originals: dict[tuple[str, int, int], ConsumerRecord] = {}
        self._context = _SinkContext(self)
        self._task_started = False
        self._consumer_paused = False
        self._warned_missing = False
        self._consumer: Consumer | None = None  # made on the task thread, in execute()
        self._topics: set[str] = set()

    @property
    def consumer(self) -> Consumer:
        """The task's consumer; exists from the start of ``execute`` on the task thread."""
        if self._consumer is None:
            raise RuntimeError(f"sink task {self.id} has no consumer before it started")
        return self._consumer

    # --- the loop ----------------------------------------------------------------------------------------------

    def execute(self) -> None:
        setup = self.setup
        connector = setup.task_id.connector
        self._consumer = read_committed_consumer(  # as Connect: consumer.override.isolation.level may change it
            self._clients, group_id=f"connect-{connector}", auto_offset_reset="earliest", options=self._consumer_options
        )
        options = setup.connector_config
        if options.get("errors.deadletterqueue.topic.name") or options.get("errors.log.enable"):
            self._context.reporter = _Reporter(setup.errors, self._originals)
        self.task.initialize(self._context)
        self.task.start(dict(setup.config))
        self._task_started = True
        topics = [t for t in options.get("topics") or [] if t]
        regex = str(options.get("topics.regex") or "")
        self._subscribe(topics, regex)
        self.log.info("sink task started on %s", ", ".join(topics) if topics else f"topics matching {regex!r}")
        self.report_running()
        next_commit = time.monotonic() + setup.offset_flush_interval_s
        next_refresh = time.monotonic() + _REGEX_REFRESH_S
        missing_wait_s = _MISSING_TOPIC_WAIT_S
        try:
            while not self.stopping.is_set():
                if not self.wait_if_paused():
                    break
                if self._consumer_paused:
                    self.consumer.resume(self.assigned)
                    self._consumer_paused = False
                if regex and time.monotonic() >= next_refresh:
                    self._subscribe([], regex)
                    next_refresh = time.monotonic() + _REGEX_REFRESH_S
                self._apply_seeks()
                try:
                    records = self.consumer.poll(0.5, self._max_poll_records)
                except UnknownTopicError as exc:
                    if not self._warned_missing:
                        self.log.warning("waiting for the topic to be created: %s", exc)
                        self._warned_missing = True
                    self.stopping.wait(missing_wait_s)
                    missing_wait_s = min(_MISSING_TOPIC_WAIT_MAX_S, missing_wait_s * 2)
                    # Subscribing again makes librdkafka look the topics up now; on its own it looks again only
                    # seconds later, after the source that creates the topic has long written to it.
                    self._topics = set()
                    self._subscribe(topics, regex)
                    continue
                missing_wait_s = _MISSING_TOPIC_WAIT_S
                if records:
                    self._deliver(self._convert_all(records), records)
                    self.meter.add(len(records))
                else:
                    self._deliver([], [])  # as Connect: put() also runs when nothing came, so sinks can move on
                self.tick_progress()
                if self._context.commit_requested or time.monotonic() >= next_commit:
                    self._context.commit_requested = False
                    self.commit(self.assigned)
                    next_commit = time.monotonic() + setup.offset_flush_interval_s
        finally:
            if self._task_started and self.assigned:
                self._close_partitions(set(self.assigned))

    def _subscribe(self, topics: list[str], regex: str) -> None:
        if regex:
            with self._clients.admin() as admin:
                pattern = re.compile(regex)
                topics = sorted(t for t in admin.list_topics() if pattern.fullmatch(t))
            if not topics or set(topics) == self._topics:
                return
        self._topics = set(topics)
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _apply_seeks(self) -> None:
        seeks, self._context.seeks = self._context.seeks, {}
        for tp, offset in seeks.items():
            if tp in self.assigned:
                self.consumer.seek(tp, offset)
                self._positions[tp] = offset

    def _convert_all(self, records: list[ConsumerRecord]) -> list[SinkRecord]:
        converted: list[SinkRecord] = []
        transforms = self.setup.transforms if self.setup.transforms.stages else None
        last_offsets: dict[tuple[str, int], int] = {}
        converters = self.setup.converters
        key_of, value_of = converters.key.to_connect, converters.value.to_connect
        for record in records:
            topic = record.topic
            last_offsets[topic, record.partition] = record.offset
            try:  # the common case in one step; on any error, again stage by stage for retries and error reports
                key = key_of(topic, record.key)
                value = value_of(topic, record.value)
                headers = (
                    Headers(tuple(self._header(topic, name, data) for name, data in record.headers))
                    if record.headers
                    else _NO_HEADERS
                )
            except Exception:
                sink_record = self._convert_by_stage(record)
                if sink_record is None:
                    continue
            else:
                sink_record = self._sink_record(record, key, value, headers)
            transformed: SinkRecord | None = sink_record
            if transforms is not None:
                _, transformed = self.setup.errors.execute(
                    Stage.TRANSFORMATION, partial(transforms.apply, sink_record), origin="transforms", record=record
                )
            if transformed is not None:
                converted.append(transformed)
                if self._context.reporter is not None:
                    self._originals[(record.topic, record.partition, record.offset)] = record
        rewind_to = self._rewind_to
        for (topic, partition), offset in last_offsets.items():  # once per partition, not per record
            tp = TopicPartition(topic, partition)
            self._positions[tp] = offset + 1
            if tp not in rewind_to:  # the first records read of this partition since it was assigned
                rewind_to[tp] = next(r.offset for r in records if r.topic == topic and r.partition == partition)
        return converted

    def _sink_record(
        self, record: ConsumerRecord, key: SchemaAndValue, value: SchemaAndValue, headers: Headers
    ) -> SinkRecord:
        return SinkRecord(  # positionally: keywords cost a third of the call on this path, once per record
            record.topic,
            value.value,
            value.schema,
            key.value,
            key.schema,
            record.partition,
            record.timestamp,
            headers,
            record.offset,
            "LogAppendTime" if record.timestamp_type is TimestampType.LOG_APPEND_TIME else "CreateTime",
        )

    def _convert_by_stage(self, record: ConsumerRecord) -> SinkRecord | None:
        setup = self.setup
        converters = setup.converters
        ok, key = setup.errors.execute(
            Stage.KEY_CONVERTER,
            lambda: converters.key.to_connect(record.topic, record.key),
            origin=type(converters.key).__name__,
            record=record,
        )
        if not ok or key is None:
            return None
        ok, value = setup.errors.execute(
            Stage.VALUE_CONVERTER,
            lambda: converters.value.to_connect(record.topic, record.value),
            origin=type(converters.value).__name__,
            record=record,
        )
        if not ok or value is None:
            return None
        ok, headers = setup.errors.execute(
            Stage.HEADER_CONVERTER,
            lambda: Headers(tuple(self._header(record.topic, name, data) for name, data in record.headers)),
            origin=type(converters.header).__name__,
            record=record,
        )
        if not ok or headers is None:
            return None
        return self._sink_record(record, key, value, headers)

    def _header(self, topic: str, name: str, data: bytes | None) -> Header:
        schema, value = self.setup.converters.header.to_connect_header(topic, name, data)
        return Header(name, value, schema)

    def _deliver(self, batch: list[SinkRecord], records: list[ConsumerRecord]) -> None:
        """Hand a batch to ``put``, redelivering it after RetriableErrors until it is taken or the task stops."""
        retries = 0
        while not self.stopping.is_set():
            try:
                started = time.monotonic()
                self.task.put(batch)
                if batch:
                    counters = self.counters
                    counters.batches += 1
                    counters.records_out += len(batch)
                    counters.batch_seconds += time.monotonic() - started
                return
            except RetriableError as exc:
                wait_s = self._context.retry_timeout_s
                retries += 1
                level = logging.WARNING if retries == 1 else logging.DEBUG  # once per streak: sinks push back this way
                self.log.log(
                    level, "put() asked for a retry; redelivering %d records in %.1f s: %s", len(batch), wait_s, exc
                )
                self._context.retry_timeout_s = _DEFAULT_RETRY_S
                self._wait_keeping_membership(wait_s)
        # Stopping with a batch not taken: rewind so nothing is committed past it.
        for record in records:
            tp = record.topic_partition
            if self._positions.get(tp, -1) > record.offset:
                self._positions[tp] = record.offset

    def _wait_keeping_membership(self, wait_s: float) -> None:
        assigned = set(self.assigned)
        self.consumer.pause(assigned)
        deadline = time.monotonic() + wait_s
        try:
            while not self.stopping.is_set():  # polls at least once, also for a wait of 0 (group membership)
                self.consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())), 1)
                if time.monotonic() >= deadline:
                    break
        finally:
            self.consumer.resume(assigned & self.assigned)

    def on_paused_tick(self) -> None:
        if self._consumer is not None:
            self._consumer.pause(self.assigned)
            self._consumer_paused = True
            self._consumer.poll(0.1, 1)  # keeps the group session; paused partitions return nothing

    # --- offsets -----------------------------------------------------------------------------------------------

    def commit(self, partitions: Collection[TopicPartition], *, closing: bool = False) -> None:
        """Commit, for these partitions, what the task says is durable (never once cancelled)."""
        current = {tp: self._positions[tp] for tp in partitions if tp in self._positions}
        if not current or self.cancelled:
            return
        self.setup.errors.wait_for_reports(self.setup.offset_flush_timeout_s)
        try:
            safe = self.task.pre_commit({(tp.topic, tp.partition): offset for tp, offset in current.items()})
        except ConnectorError:
            raise  # the task says it cannot go on (e.g. a write it found refused): it fails
        except Exception as exc:
            if closing:
                self.log.warning("pre_commit failed while closing partitions; offsets not committed: %s", exc)
            else:
                self.log.error("pre_commit failed; rewinding to the last committed offsets: %s", exc)
                self._rewind(current)
            return
        to_commit = self._checked(safe, current)
        if not to_commit:
            return
        started = time.monotonic()
        try:
            self.consumer.commit(to_commit)
        except Exception as exc:
            self.counters.offset_commit_failures += 1
            self.log.warning("committing offsets failed (they will be committed later): %s", exc)
            return
        self.counters.offset_commits += 1
        self.counters.offset_commit_seconds += time.monotonic() - started
        self._committed.update(to_commit)
        self._rewind_to.update(to_commit)
        self._forget_originals(to_commit)
        self.log.debug("committed %s", {str(tp): o for tp, o in to_commit.items()})

    def positions(self) -> dict[TopicPartition, int]:
        """The next offset to hand the task in each assigned partition (its last commit before any read); safe
        from any thread (copies)."""
        known = {**self._committed, **self._positions}
        return {tp: known[tp] for tp in set(self.assigned) if tp in known}

    def runner_progress(self) -> Mapping[str, Any]:
        """``lag_records``: records in the assigned partitions not yet handed to the task."""
        if not self.assigned:
            return {"lag_records": 0}
        try:
            ends = self.consumer.end_offsets(set(self.assigned))
        except Exception as exc:  # progress is best effort; the next report tries again
            self.log.debug("end offsets unavailable: %s", exc)
            return {}
        lag = sum(max(0, end - self._positions.get(tp, self._committed.get(tp, end))) for tp, end in ends.items())
        return {"lag_records": lag}

    def _forget_originals(self, committed: Mapping[TopicPartition, int]) -> None:
        """Drops the raw records kept for error reports once their offsets are committed (a sink may report a
        record after ``put`` returned, until it lets its offset be committed)."""
        if not self._originals:
            return
        done = [key for key in self._originals if key[2] < committed.get(TopicPartition(key[0], key[1]), -1)]
        for key in done:
            del self._originals[key]

    def _on_assign(self, partitions: set[TopicPartition]) -> None:
        new = partitions - self.assigned
        self.assigned |= partitions
        for topic in {tp.topic for tp in new}:
            self.setup.on_topic(topic)
        if new:
            committed = self.consumer.committed(new)
            for tp in new:
                if committed.get(tp) is not None:
                    self._committed[tp] = self._rewind_to[tp] = committed[tp]  # type: ignore[assignment]
            self.task.open(new)
            self.log.info("assigned %s", ", ".join(sorted(map(str, new))))
        if not self.resumed.is_set():
            self.consumer.pause(partitions)
            self._consumer_paused = True

    def _checked(
        self, offsets: Mapping[tuple[str, int], int], current: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """The offsets a task returned that may be committed and are new (the others are ignored, with a warning)."""
        checked = {}
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            if tp not in current:
                self.log.warning(
                    "ignoring the offset %d pre_commit returned for %s: the partition is not being "
                    "committed (assigned: %s)",
                    offset,
                    tp,
                    sorted(map(str, self.assigned)),
                )
            elif offset > current[tp]:
                self.log.warning(
                    "ignoring the offset %d pre_commit returned for %s: not yet consumed (the task was "
                    "given records up to %d)",
                    offset,
                    tp,
                    current[tp],
                )
            elif self._committed.get(tp) != offset:
                checked[tp] = offset
        return checked

    def _rewind(self, partitions: Collection[TopicPartition]) -> None:
        """Deliver again everything after the last committed offsets of ``partitions``."""
        for tp in partitions:
            offset = self._rewind_to.get(tp)
            if offset is not None and tp in self.assigned:
                self.log.debug("rewinding %s to offset %d", tp, offset)
                self.consumer.seek(tp, offset)
                self._positions[tp] = offset

    def _on_revoke(self, partitions: set[TopicPartition]) -> None:
        self._close_partitions(partitions & self.assigned)

    def _close_partitions(self, partitions: set[TopicPartition]) -> None:
        if not partitions:
            return
        self.commit(partitions, closing=True)
        try:
            self.task.close(partitions)
        finally:
            self.assigned -= partitions
            for tp in partitions:
                self._positions.pop(tp, None)
                self._committed.pop(tp, None)
                self._rewind_to.pop(tp, None)
            if self._originals:
                for key in [k for k in self._originals if TopicPartition(k[0], k[1]) in partitions]:
                    del self._originals[key]
            self.log.info("revoked %s", ", ".join(sorted(map(str, partitions))))

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def wakeup(self) -> None:
        if self._consumer is not None:
            self._consumer.wakeup()

    def close_resources(self) -> None:
        if self._task_started:
            try:
                self.task.stop()
            except Exception as exc:
                self.log.warning("task stop() failed: %s", exc)
        if self._consumer is not None:
            self._consumer.close()
