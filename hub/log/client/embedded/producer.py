"""EmbeddedProducer: batches records per partition and appends them to the in-process broker.

Records wait in a per-partition accumulator until ``batch_size_bytes`` is reached or ``linger_ms`` has passed
since the first of them, then one sender thread encodes each partition's records as RecordBatches of at most
``batch_size_bytes`` (records keep arriving while it appends) and appends them. ``send`` blocks while more than
``buffer_memory_bytes`` wait for the sender (Kafka's ``buffer.memory``), so memory stays bounded. Futures
resolve with the record's offset once the append is acknowledged (``acks``: -1 waits for durability, per the
topic's flush policy). Records to one partition are appended in send order. An idempotent producer
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
from hub.log.client.api import Header, Producer
from hub.log.client.embedded.errors import translate
from hub.log.client.errors import ClientClosedError, ClientTimeoutError, RecordTooLargeError
from hub.log.client.partitioner import partition_for_key
from hub.log.client.types import RecordMetadata
from hub.log.compression import Compression
from hub.log.records import Header as RecordHeader
from hub.log.records import NewRecord, encode_batch


@dataclass
class _Pending:
    records: list[NewRecord] = field(default_factory=list)
    futures: list[Future[RecordMetadata]] = field(default_factory=list)
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
        self._producer_id, self._producer_epoch = broker.init_producer_id() if idempotent else (-1, -1)
        self._sequences: dict[tuple[str, int], int] = {}
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
        size = len(key or b"") + len(value or b"") + sum(len(k) + len(v or b"") for k, v in headers) + 32
        if size > self._max_request_bytes:
            future.set_exception(RecordTooLargeError(f"record of {size} bytes exceeds max.request.size"))
            return future
        try:
            if partition is None:
                count = self._broker.topic(topic, create=True).partitions
                partition = partition_for_key(key, count) if key is not None else next(self._sticky) % count
        except Exception as exc:
            future.set_exception(translate(exc))
            return future
        record = NewRecord(
            key,
            value,
            tuple(RecordHeader(k, v) for k, v in headers),
            int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        )
        with self._condition:
            while self._buffered_bytes > self._buffer_memory_bytes and not self._closed:
                self._condition.wait()  # Kafka's buffer.memory: the sender is behind, wait for it
            if self._closed:
                raise ClientClosedError("producer is closed")
            pending = self._pending.get((topic, partition))
            if pending is None:
                pending = self._pending[(topic, partition)] = _Pending(first_ms=time.monotonic())
            pending.records.append(record)
            pending.futures.append(future)
            pending.sizes.append(size)
            pending.size_bytes += size
            self._buffered_bytes += size
            self._unacknowledged += 1
            if len(pending.records) == 1 or pending.size_bytes >= self._batch_size_bytes:
                self._condition.notify_all()  # the sender computes its linger deadline from the first record
        return future

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
        for record, future, size in zip(pending.records, pending.futures, pending.sizes, strict=True):
            if chunk.records and chunk.size_bytes + size > limit:
                self._append_batch(topic, partition, chunk)
                chunk = _Pending()
            chunk.records.append(record)
            chunk.futures.append(future)
            chunk.size_bytes += size
        if chunk.records:
            self._append_batch(topic, partition, chunk)

    def _append_batch(self, topic: str, partition: int, pending: _Pending) -> None:
        sequence = self._sequences.get((topic, partition), 0) if self._producer_id >= 0 else -1
        try:
            batch = encode_batch(
                pending.records,
                compression=self._compression,
                producer_id=self._producer_id,
                producer_epoch=self._producer_epoch,
                base_sequence=sequence,
            )
            result = self._broker.produce(topic, partition, batch, acks=self._acks)
        except Exception as exc:
            error = translate(exc)
            for future in pending.futures:
                future.set_exception(error)
            return
        if self._producer_id >= 0:
            self._sequences[(topic, partition)] = (sequence + len(pending.records)) & 0x7FFFFFFF
        for index, (record, future) in enumerate(zip(pending.records, pending.futures, strict=True)):
            timestamp = result.log_append_time_ms if result.log_append_time_ms >= 0 else record.timestamp
            future.set_result(RecordMetadata(topic, partition, result.base_offset + index, timestamp or 0))

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
