"""EmbeddedConsumer: reads assigned partitions straight from the in-process broker.

Positions start from the group's committed offset when there is one, else from ``auto_offset_reset``
(earliest or latest), like Kafka's consumer; a position that falls out of the log (retention) is reset the same
way. ``poll`` returns decoded records in offset order per partition and long-polls the broker while none are
ready, waking early on ``wakeup()``.

Group membership (``subscribe``) and offset commits go through the store's group coordinator; a consumer
created without a ``group_id`` supports ``assign`` only.

Not thread-safe (one thread polls), except ``wakeup()``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping

from hub.log.batch import iter_batches
from hub.log.broker import EARLIEST, LATEST, Broker, FetchRequest
from hub.log.client.api import Consumer, PartitionsCallback
from hub.log.client.embedded.errors import translate, translated_errors
from hub.log.client.errors import ClientClosedError, ClientError, OffsetOutOfRangeClientError
from hub.log.client.types import ConsumerRecord, OffsetSpec, TimestampType, TopicPartition
from hub.log.errors import OffsetOutOfRangeError
from hub.log.records import decode_batch

_POLL_SLICE_MS = 100


class EmbeddedConsumer(Consumer):
    """Consumer over an in-process Broker (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        fetch_max_bytes: int = 1 << 20,
    ) -> None:
        if auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError(f"auto_offset_reset must be earliest, latest or none, not {auto_offset_reset!r}")
        self._broker = broker
        self.group_id = group_id
        self._reset = auto_offset_reset
        self._fetch_max_bytes = fetch_max_bytes
        self._assignment: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._buffer: deque[ConsumerRecord] = deque()
        self._woken = threading.Event()
        self._closed = False

    # --- assignment --------------------------------------------------------------------------------------------

    def subscribe(
        self,
        topics: Collection[str],
        *,
        on_assign: PartitionsCallback | None = None,
        on_revoke: PartitionsCallback | None = None,
    ) -> None:
        raise ClientError("group subscription needs the store's group coordinator, which this consumer was not given")

    def assign(self, partitions: Collection[TopicPartition]) -> None:
        self._check()
        with translated_errors():
            for partition in partitions:
                self._broker.store.partition(partition.topic, partition.partition)
        self._assignment = set(partitions)
        self._positions = {tp: offset for tp, offset in self._positions.items() if tp in self._assignment}
        self._paused &= self._assignment
        self._buffer = deque(record for record in self._buffer if record.topic_partition in self._assignment)

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError("consumer is closed")

    def _check_assigned(self, partition: TopicPartition) -> None:
        if partition not in self._assignment:
            raise ClientError(f"partition {partition} is not assigned to this consumer")

    # --- positions ---------------------------------------------------------------------------------------------

    def _initial_position(self, partition: TopicPartition) -> int:
        committed = self.committed([partition])[partition] if self.group_id else None
        if committed is not None:
            return committed
        return self._reset_position(partition)

    def _reset_position(self, partition: TopicPartition) -> int:
        if self._reset == "none":
            raise OffsetOutOfRangeClientError(f"no valid position for {partition} and auto_offset_reset is none")
        spec = EARLIEST if self._reset == "earliest" else LATEST
        with translated_errors():
            located = self._broker.list_offset(partition.topic, partition.partition, spec)
        assert located is not None
        return located[0]

    def position(self, partition: TopicPartition) -> int:
        self._check_assigned(partition)
        if partition not in self._positions:
            self._positions[partition] = self._initial_position(partition)
        return self._positions[partition]

    def seek(self, partition: TopicPartition, offset: int | OffsetSpec) -> None:
        self._check_assigned(partition)
        if isinstance(offset, OffsetSpec):
            spec = EARLIEST if offset is OffsetSpec.EARLIEST else LATEST
            with translated_errors():
                located = self._broker.list_offset(partition.topic, partition.partition, spec)
            assert located is not None
            offset = located[0]
        self._positions[partition] = offset
        self._buffer = deque(record for record in self._buffer if record.topic_partition != partition)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        for partition in partitions:
            self._check_assigned(partition)
            self._paused.add(partition)
        self._buffer = deque(record for record in self._buffer if record.topic_partition not in self._paused)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        self._paused.difference_update(partitions)

    # --- reading -----------------------------------------------------------------------------------------------

    def poll(self, timeout_s: float, max_records: int = 500) -> list[ConsumerRecord]:
        self._check()
        deadline = time.monotonic() + timeout_s
        while not self._buffer:
            if self._woken.is_set():
                self._woken.clear()
                return []
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            self._fetch(max(0, min(remaining_ms, _POLL_SLICE_MS)))
            if self._buffer or remaining_ms <= 0:
                break
        records: list[ConsumerRecord] = []
        while self._buffer and len(records) < max_records:
            record = self._buffer.popleft()
            records.append(record)
            self._positions[record.topic_partition] = record.offset + 1
        return records

    def _fetch(self, max_wait_ms: int) -> None:
        readable = [tp for tp in sorted(self._assignment) if tp not in self._paused]
        if not readable:
            if max_wait_ms:
                self._woken.wait(max_wait_ms / 1000)
            return
        requests = [FetchRequest(tp.topic, tp.partition, self.position(tp), self._fetch_max_bytes) for tp in readable]
        results = self._broker.fetch(requests, max_wait_ms=max_wait_ms, max_bytes=self._fetch_max_bytes * 4)
        for request, result in zip(requests, results, strict=True):
            partition = TopicPartition(request.topic, request.partition)
            if isinstance(result.error, OffsetOutOfRangeError):
                self._positions[partition] = self._reset_position(partition)
                continue
            if result.error is not None:
                raise translate(result.error)
            self._decode(partition, request.offset, result.records)

    def _decode(self, partition: TopicPartition, position: int, data: bytes) -> None:
        next_position = position
        added = False
        for offset_in_buffer, header in iter_batches(data):
            next_position = max(next_position, header.next_offset)
            if header.is_control:
                continue
            timestamp_type = TimestampType(header.timestamp_type)
            for record in decode_batch(data, offset_in_buffer).records:
                if record.offset < position:
                    continue
                timestamp = (
                    header.max_timestamp if timestamp_type is TimestampType.LOG_APPEND_TIME else record.timestamp
                )
                added = True
                self._buffer.append(
                    ConsumerRecord(
                        partition.topic,
                        partition.partition,
                        record.offset,
                        timestamp,
                        record.key,
                        record.value,
                        tuple((header_.key, header_.value) for header_ in record.headers),
                        timestamp_type,
                    )
                )
        if not added:
            # Nothing readable in what came back (control batches, compacted gaps): move past it.
            self._positions[partition] = next_position

    def wakeup(self) -> None:
        self._woken.set()

    # --- offsets -----------------------------------------------------------------------------------------------

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None, *, metadata: str = "") -> None:
        raise ClientError("committing offsets needs the store's group coordinator, which this consumer was not given")

    def committed(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        return dict.fromkeys(partitions)

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        with translated_errors():
            return {tp: self._broker.store.partition(tp.topic, tp.partition).high_watermark for tp in partitions}

    def close(self) -> None:
        self._closed = True
        self._woken.set()
