"""EmbeddedProducer: batches records per partition and appends them to the in-process broker.

Records wait in a per-partition accumulator until ``batch_size_bytes`` is reached or ``linger_ms`` has passed
since the first of them, then one sender thread encodes each partition's records as RecordBatches of at most
``batch_size_bytes`` (records keep arriving while it appends) and appends them. ``send`` blocks while more than
``buffer_memory_bytes`` wait for the sender (Kafka's ``buffer.memory``), so memory stays bounded. Futures
resolve with the record's offset once the append is acknowledged (``acks``: -1 waits for durability, per the
topic's flush policy); ``send_batch`` takes many records under one lock and resolves one future when the last
of them is settled. Records to one partition are appended in send order. An idempotent producer
(the default) gets a producer id from the broker and numbers its batches per partition, so the store refuses
a gap and never writes a batch twice.

Thread-safe: any thread may send; the sender thread does the appends.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from hub.log.broker import Broker
from hub.log.client.api import Header, OutgoingRecord, Producer
from hub.log.client.embedded.errors import translate
from hub.log.client.errors import ClientClosedError, ClientError, ClientTimeoutError, RecordTooLargeError
from hub.log.client.partitioner import partition_for_key
from hub.log.client.types import RecordMetadata, SendOutcome
from hub.log.compression import Compression
from hub.log.records import Header as RecordHeader
from hub.log.records import NewRecord, encode_batch

#: How long a topic's partition count is used before it is looked up again (added partitions get records after).
PARTITIONS_MAX_AGE_S = 1.0


class _Batch:
    """The records of one ``send_batch`` still waiting for the sender; resolves its future at the last."""

    __slots__ = ("future", "outcome", "remaining")

    def __init__(self, outcome: SendOutcome) -> None:
        self.future: Future[SendOutcome] = Future()
        self.outcome = outcome
        self.remaining = len(outcome)

    def settle_one(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.future.set_result(self.outcome)


#: Who waits for a queued record: its own future (with index -1), or a _Batch and the record's index in it.
_Waiter = tuple[Future[RecordMetadata], int] | tuple[_Batch, int]


def _fail_waiters(waiters: Sequence[_Waiter], error: ClientError) -> None:
    for waiter, index in waiters:
        if isinstance(waiter, _Batch):
            waiter.outcome.errors[index] = error
            waiter.settle_one()
        else:
            waiter.set_exception(error)


@dataclass
class _Pending:
    records: list[NewRecord] = field(default_factory=list)
    waiters: list[_Waiter] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    size_bytes: int = 0
    first_ms: float = 0.0


class EmbeddedProducer(Producer):
    """Producer over an in-process Broker (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        *,
        acks: int = -1,
        linger_ms: int = 5,
        batch_size_bytes: int = 1 << 20,
        compression: Compression = Compression.NONE,
        max_request_bytes: int = 1_048_576,
        idempotent: bool = True,
        buffer_memory_bytes: int = 32 << 20,
    ) -> None:
        if acks not in (-1, 0, 1):
            raise ValueError(f"acks must be -1 (all), 0 or 1, not {acks}")
        self._broker = broker
        self._acks = acks
        self._linger_s = linger_ms / 1000
        self._batch_size_bytes = batch_size_bytes
        self._compression = compression
        self._max_request_bytes = max_request_bytes
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._unacknowledged = 0
        self._buffered_bytes = 0
        self._buffer_memory_bytes = buffer_memory_bytes
        self._condition = threading.Condition()
        self._flush_requested = 0
        self._closed = False
        self._sticky = itertools.count()
        self._partition_counts: dict[str, tuple[int, float]] = {}
        self._producer_id, self._producer_epoch = broker.init_producer_id() if idempotent else (-1, -1)
        self._sequences: dict[tuple[str, int], int] = {}
        self._transactional = False
        self._sender = threading.Thread(target=self._run, name="hub-embedded-producer", daemon=True)
        self._sender.start()

    def send(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Future[RecordMetadata]:
        future: Future[RecordMetadata] = Future()
        try:
            target, record, size = self._prepare(topic, key, value, headers, partition, timestamp_ms)
        except Exception as exc:
            future.set_exception(translate(exc))
            return future
        with self._condition:
            self._enqueue(target, record, size, (future, -1))
        return future

    def send_batch(self, records: Sequence[OutgoingRecord]) -> Future[SendOutcome]:
        batch = _Batch(SendOutcome([record[0] for record in records]))
        prepared = []
        for index, (topic, key, value, headers, partition, timestamp_ms) in enumerate(records):
            try:
                prepared.append((*self._prepare(topic, key, value, headers, partition, timestamp_ms), index))
            except Exception as exc:
                batch.outcome.errors[index] = translate(exc)
                batch.settle_one()
        if not records:
            batch.future.set_result(batch.outcome)
        with self._condition:  # once for the batch: the sender sees it whole
            for target, record, size, index in prepared:
                self._enqueue(target, record, size, (batch, index))
        return batch.future

    def _prepare(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header],
        partition: int | None,
        timestamp_ms: int | None,
    ) -> tuple[tuple[str, int], NewRecord, int]:
        """Where a record goes, the record and its size; RecordTooLargeError or the topic lookup's error."""
        size = len(key or b"") + len(value or b"") + 32
        if headers:
            size += sum(len(k) + len(v or b"") for k, v in headers)
        if size > self._max_request_bytes:
            raise RecordTooLargeError(f"record of {size} bytes exceeds max.request.size")
        if partition is None:
            count = self._partition_count(topic)
            partition = partition_for_key(key, count) if key is not None else next(self._sticky) % count
        record = NewRecord(
            key,
            value,
            tuple(RecordHeader(k, v) for k, v in headers) if headers else (),
            int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        )
        return (topic, partition), record, size

    def _enqueue(self, target: tuple[str, int], record: NewRecord, size: int, waiter: _Waiter) -> None:
        """Add a record to its partition's pending batch; called holding the condition."""
        while self._buffered_bytes > self._buffer_memory_bytes and not self._closed:
            self._condition.wait()  # Kafka's buffer.memory: the sender is behind, wait for it
        if self._closed:
            raise ClientClosedError("producer is closed")
        pending = self._pending.get(target)
        if pending is None:
            pending = self._pending[target] = _Pending(first_ms=time.monotonic())
        pending.records.append(record)
        pending.waiters.append(waiter)
        pending.sizes.append(size)
        pending.size_bytes += size
        self._buffered_bytes += size
        self._unacknowledged += 1
        if len(pending.records) == 1 or pending.size_bytes >= self._batch_size_bytes:
            self._condition.notify_all()  # the sender computes its linger deadline from the first record

    def _partition_count(self, topic: str) -> int:
        """The topic's partition count, looked up at most every PARTITIONS_MAX_AGE_S (as Kafka's clients cache
        metadata): asking the store for every record makes the task threads queue on its lock."""
        now = time.monotonic()
        known = self._partition_counts.get(topic)
        if known is not None and now - known[1] < PARTITIONS_MAX_AGE_S:
            return known[0]
        count = self._broker.topic(topic, create=True).partitions
        self._partition_counts[topic] = (count, now)
        return count

    def _ready(self, now: float) -> dict[tuple[str, int], _Pending]:
        if self._flush_requested or self._closed:
            ready = self._pending
            self._pending = {}
            return ready
        ready = {
            target: pending
            for target, pending in self._pending.items()
            if pending.size_bytes >= self._batch_size_bytes or now - pending.first_ms >= self._linger_s
        }
        for target in ready:
            del self._pending[target]
        return ready

    def _run(self) -> None:
        while True:
            with self._condition:
                while True:
                    ready = self._ready(time.monotonic())
                    if ready or (self._closed and not self._pending):
                        break
                    wait = None
                    if self._pending:
                        oldest = min(pending.first_ms for pending in self._pending.values())
                        wait = max(0.0, oldest + self._linger_s - time.monotonic())
                    self._condition.wait(wait)
                if not ready and self._closed:
                    self._condition.notify_all()
                    return
            for (topic, partition), pending in ready.items():
                self._append(topic, partition, pending)
            with self._condition:
                self._unacknowledged -= sum(len(pending.records) for pending in ready.values())
                self._buffered_bytes -= sum(pending.size_bytes for pending in ready.values())
                self._condition.notify_all()

    def _append(self, topic: str, partition: int, pending: _Pending) -> None:
        """Append the pending records as batches of at most ``batch_size_bytes`` (records keep arriving while the
        sender appends, so one partition's pending records may exceed it)."""
        limit = min(self._batch_size_bytes, self._max_request_bytes)
        chunk = _Pending()
        for record, waiter, size in zip(pending.records, pending.waiters, pending.sizes, strict=True):
            if chunk.records and chunk.size_bytes + size > limit:
                self._append_batch(topic, partition, chunk)
                chunk = _Pending()
            chunk.records.append(record)
            chunk.waiters.append(waiter)
            chunk.size_bytes += size
        if chunk.records:
            self._append_batch(topic, partition, chunk)

    def _append_batch(self, topic: str, partition: int, pending: _Pending) -> None:
        sequence = self._sequences.get((topic, partition), 0) if self._producer_id >= 0 else -1
        try:
            self._before_append(topic, partition)
            batch = encode_batch(
                pending.records,
                compression=self._compression,
                producer_id=self._producer_id,
                producer_epoch=self._producer_epoch,
                base_sequence=sequence,
                transactional=self._transactional,
            )
            result = self._broker.produce(topic, partition, batch, acks=self._acks)
        except Exception as exc:
            error = self._append_failed(translate(exc))
            _fail_waiters(pending.waiters, error)
            return
        if self._producer_id >= 0:
            self._sequences[(topic, partition)] = (sequence + len(pending.records)) & 0x7FFFFFFF
        offset = result.base_offset
        append_time = result.log_append_time_ms
        for record, (waiter, index) in zip(pending.records, pending.waiters, strict=True):
            timestamp = (append_time if append_time >= 0 else record.timestamp) or 0
            if isinstance(waiter, _Batch):
                waiter.outcome.written(index, partition, offset, timestamp)
                waiter.settle_one()
            else:
                waiter.set_result(RecordMetadata(topic, partition, offset, timestamp))
            offset += 1

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("producer is closed")

    def _before_append(self, topic: str, partition: int) -> None:
        """Called by the sender thread before it appends to a partition (the transactional producer adds the
        partition to its transaction there); an exception fails the batch."""

    def _append_failed(self, error: ClientError) -> ClientError:
        """The error a failed append gives its records (the transactional producer also marks its transaction)."""
        return error

    def _purge(self, error: ClientError) -> None:
        """Fail every record still waiting for the sender with ``error`` (records being appended are kept)."""
        with self._condition:
            purged, self._pending = self._pending, {}
            for pending in purged.values():
                _fail_waiters(pending.waiters, error)
                self._unacknowledged -= len(pending.records)
                self._buffered_bytes -= pending.size_bytes
            self._condition.notify_all()

    def flush(self, timeout_s: float | None = None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._condition:
            self._flush_requested += 1
            self._condition.notify_all()
            try:
                while self._unacknowledged:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise ClientTimeoutError(f"{self._unacknowledged} record(s) not acknowledged in time")
                    self._condition.wait(remaining)
            finally:
                self._flush_requested -= 1

    def close(self) -> None:
        with self._condition:
            if self._closed:
                return
            self._closed = True
            self._condition.notify_all()
        self._sender.join()
