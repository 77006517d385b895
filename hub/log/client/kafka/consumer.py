"""KafkaConsumer: reads records with confluent-kafka (librdkafka), in a consumer group or from assigned partitions.

Offsets are committed only when asked (``enable.auto.commit`` is off), synchronously. Group rebalances run the
``on_assign`` / ``on_revoke`` callbacks inside ``poll``. ``wakeup`` ends a blocked ``poll`` within about 100 ms.
Not thread-safe (one thread polls), except ``wakeup``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from hub.log.client.api import Consumer, PartitionsCallback
from hub.log.client.errors import ClientClosedError, ClientError
from hub.log.client.kafka.translate import LIBRDKAFKA_LOG, import_confluent, translate
from hub.log.client.types import ConsumerRecord, IsolationLevel, OffsetSpec, TimestampType, TopicPartition

_SLICE_S = 0.1
_EARLIEST, _LATEST = -2, -1


class KafkaConsumer(Consumer):
    """Consumer over any Kafka-protocol broker (see the module docstring)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self._confluent = import_confluent()
        settings = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id or "hub-unassigned",
            "enable.auto.commit": False,
            "auto.offset.reset": auto_offset_reset,
            "enable.partition.eof": False,
            "isolation.level": isolation_level.value,
            "logger": LIBRDKAFKA_LOG,
            **(config or {}),
        }
        self._consumer = self._confluent.Consumer(settings)
        self.group_id = group_id
        self._reset = auto_offset_reset
        self._woken = threading.Event()
        self._closed = False

    def group_metadata_handle(self) -> Any:
        """librdkafka's group metadata of this consumer, for a transactional producer's
        ``send_offsets_to_transaction``."""
        self._check()
        return self._consumer.consumer_group_metadata()

    def _tp(self, tp: TopicPartition, offset: int | None = None) -> Any:
        if offset is None:
            return self._confluent.TopicPartition(tp.topic, tp.partition)
        return self._confluent.TopicPartition(tp.topic, tp.partition, offset)

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError("consumer is closed")

    def subscribe(
        self,
        topics: Collection[str],
        *,
        on_assign: PartitionsCallback | None = None,
        on_revoke: PartitionsCallback | None = None,
    ) -> None:
        self._check()
        if not self.group_id:
            raise ClientError("this consumer has no group_id: give one to subscribe")

        def assigned(_consumer: Any, partitions: list[Any]) -> None:
            if on_assign is not None:
                on_assign({TopicPartition(p.topic, p.partition) for p in partitions})

        def revoked(_consumer: Any, partitions: list[Any]) -> None:
            if on_revoke is not None:
                on_revoke({TopicPartition(p.topic, p.partition) for p in partitions})

        self._consumer.subscribe(list(topics), on_assign=assigned, on_revoke=revoked)

    def assign(self, partitions: Collection[TopicPartition]) -> None:
        self._check()
        self._consumer.assign([self._tp(tp, self._initial(tp)) for tp in partitions])

    def _initial(self, tp: TopicPartition) -> int:
        if self.group_id:
            committed = self.committed([tp])[tp]
            if committed is not None:
                return committed
        return self._watermark(tp, _EARLIEST if self._reset == "earliest" else _LATEST)

    def _watermark(self, tp: TopicPartition, which: int) -> int:
        try:
            low, high = self._consumer.get_watermark_offsets(self._tp(tp), timeout=30)
        except Exception as exc:
            raise translate(exc, f"reading the offsets of {tp}") from exc
        return int(low if which == _EARLIEST else high)

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(p.topic, p.partition) for p in self._consumer.assignment()}

    def poll(self, timeout_s: float, max_records: int = 500) -> list[ConsumerRecord]:
        self._check()
        deadline = time.monotonic() + timeout_s
        while True:
            if self._woken.is_set():
                self._woken.clear()
                return []
            remaining = deadline - time.monotonic()
            try:
                messages = self._consumer.consume(max_records, max(0.0, min(_SLICE_S, remaining)))
            except Exception as exc:
                raise translate(exc, "polling") from exc
            records = [self._record(m) for m in messages if self._readable(m)]
            if records or remaining <= 0:
                return records

    def _readable(self, message: Any) -> bool:
        error = message.error()
        if error is None:
            return True
        raise translate(self._confluent.KafkaException(error), f"reading {message.topic()}-{message.partition()}")

    @staticmethod
    def _record(message: Any) -> ConsumerRecord:
        kind, timestamp = message.timestamp()
        return ConsumerRecord(
            message.topic(),
            message.partition(),
            message.offset(),
            timestamp,
            message.key(),
            message.value(),
            tuple(message.headers() or ()),
            TimestampType.LOG_APPEND_TIME if kind == 2 else TimestampType.CREATE_TIME,
        )

    def wakeup(self) -> None:
        self._woken.set()

    def seek(self, partition: TopicPartition, offset: int | OffsetSpec) -> None:
        if isinstance(offset, OffsetSpec):
            offset = self._watermark(partition, _EARLIEST if offset is OffsetSpec.EARLIEST else _LATEST)
        try:
            self._consumer.seek(self._tp(partition, offset))
        except Exception:
            # librdkafka seeks only partitions it is already fetching; otherwise restart the assignment there.
            current = [
                p
                for p in self._consumer.assignment()
                if (p.topic, p.partition) != (partition.topic, partition.partition)
            ]
            self._consumer.assign([*current, self._tp(partition, offset)])

    def position(self, partition: TopicPartition) -> int:
        found = self._consumer.position([self._tp(partition)])[0].offset
        return int(found) if found >= 0 else self._initial(partition)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.pause([self._tp(tp) for tp in partitions])

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.resume([self._tp(tp) for tp in partitions])

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None, *, metadata: str = "") -> None:
        self._check()
        try:
            if offsets is None:
                self._consumer.commit(asynchronous=False)
            else:
                self._consumer.commit(
                    offsets=[self._tp(tp, offset) for tp, offset in offsets.items()], asynchronous=False
                )
        except Exception as exc:
            raise translate(exc, f"committing offsets of group {self.group_id}") from exc

    def committed(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        try:
            found = self._consumer.committed([self._tp(tp) for tp in partitions], timeout=30)
        except Exception as exc:
            raise translate(exc, f"reading committed offsets of group {self.group_id}") from exc
        return {TopicPartition(p.topic, p.partition): (p.offset if p.offset >= 0 else None) for p in found}

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self._watermark(tp, _LATEST) for tp in partitions}

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._woken.set()
            self._consumer.close()
