"""TopicBackedLog: a compacted topic read from the start and tailed, with writes and read-your-writes.

The three topic-backed stores (configs, offsets, status) are thin adapters over this class. On ``start()`` it
creates the topic when missing (with the given partitions and replication factor — -1: the store's
``default.replication.factor`` — and ``cleanup.policy=compact``), refuses one whose policy is not exactly
``compact`` (compaction is what keeps these topics small; ``delete`` would lose configs), assigns every partition,
and replays everything into the callback before returning. A background thread then tails new records.
``read_to_end()`` blocks until every record written before the call has been given to the callback, which is how
a writer reads its own writes.

The callback runs on the tailing thread (and on the caller's thread during ``start()``), one record at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TypeVar

from hub.log.client import (
    Admin,
    ClientError,
    Consumer,
    ConsumerRecord,
    IsolationLevel,
    NewTopic,
    OffsetSpec,
    Producer,
    RecordMetadata,
    StoreClients,
    TopicDescription,
    TopicPartition,
)
from hub.runtime.stores.key_value_log import KeyValueLog, RecordCallback
from hub.runtime.transactions import read_committed_consumer
from hub.sdk.errors import ConnectorError

log = logging.getLogger("hub.runtime.stores")

READ_COMMITTED = IsolationLevel.READ_COMMITTED

C = TypeVar("C", Admin, Producer, Consumer)


class TopicBackedLog(KeyValueLog):
    """One compacted internal topic, replayed and tailed (see the module docstring)."""

    def __init__(
        self,
        clients: StoreClients,
        topic: str,
        callback: RecordCallback,
        *,
        partitions: int = 1,
        replication_factor: int = -1,
        topic_configs: Mapping[str, str] | None = None,
        exact_partitions: bool = False,
        producer_options: Mapping[str, str] | None = None,
    ) -> None:
        self.topic = topic
        self._clients = clients
        self._callback = callback
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._topic_configs = {**(topic_configs or {}), "cleanup.policy": "compact"}
        self._exact_partitions = exact_partitions
        self._producer_options = producer_options
        self._lock = threading.Condition()
        self._positions: dict[TopicPartition, int] = {}
        self._awaited: dict[TopicPartition, int] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened: list[Admin | Producer | Consumer] = []  # clients made by start(), closed by stop()

    def start(self, timeout_s: float = 60.0) -> None:
        """Create or check the topic, replay it into the callback, and start tailing."""
        try:
            self._start(timeout_s)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout_s: float) -> None:
        self._admin = self._open(self._clients.admin())
        self._admin.create_topics(
            [NewTopic(self.topic, self._partitions, self._replication_factor, self._topic_configs)],
            if_not_exists=True,
        )
        description = self._describe(timeout_s)
        policy = description.configs.get("cleanup.policy", "")
        if policy.replace(" ", "") != "compact":
            raise ConnectorError(
                f"internal topic {self.topic!r} has cleanup.policy={policy!r}; it must be 'compact' only, "
                "or retention would delete its records: set its cleanup.policy to compact, or configure another topic"
            )
        if self._exact_partitions and description.partitions != self._partitions:
            raise ConnectorError(
                f"internal topic {self.topic!r} has {description.partitions} partitions; it must have exactly "
                f"{self._partitions} so its records stay in one order"
            )
        self._producer = self._open(self._clients.producer(options=self._producer_options))
        # read_committed: what exactly-once source tasks wrote counts only once their transaction committed
        self._consumer = self._open(read_committed_consumer(self._clients, auto_offset_reset="earliest"))
        partitions = [TopicPartition(self.topic, p) for p in range(description.partitions)]
        self._assign(partitions, timeout_s)
        for partition in partitions:
            self._consumer.seek(partition, 0)
        with self._lock:
            self._positions = dict.fromkeys(partitions, 0)
        self._catch_up(self._end_offsets(), timeout_s)
        self._thread = threading.Thread(target=self._tail, name=f"hub-tail-{self.topic}", daemon=True)
        self._thread.start()

    def _open(self, client: C) -> C:
        self._opened.append(client)
        return client

    def _assign(self, partitions: list[TopicPartition], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:  # a partition's leader may learn of a just-created topic after the node that described it
            try:
                self._consumer.assign(partitions)
                return
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _describe(self, timeout_s: float) -> TopicDescription:
        deadline = time.monotonic() + timeout_s
        while True:  # a just-created topic may take a moment to appear in a cluster's metadata
            try:
                return self._admin.describe_topics([self.topic])[self.topic]
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _catch_up(self, ends: Mapping[TopicPartition, int], timeout_s: float) -> None:
        """Poll on this thread until every partition reached ``ends`` (used before the tail thread runs)."""
        deadline = time.monotonic() + timeout_s
        self._awaited = dict(ends)
        while not self._reached(ends):
            if time.monotonic() > deadline:
                raise ConnectorError(f"timed out after {timeout_s:.0f} s reading internal topic {self.topic!r}")
            records = self._consumer.poll(0.2, max_records=5000)
            self._deliver(records)
            self._refresh_positions()

    def _reached(self, ends: Mapping[TopicPartition, int]) -> bool:
        with self._lock:
            return all(self._positions.get(tp, 0) >= end for tp, end in ends.items())

    def _deliver(self, records: list[ConsumerRecord]) -> None:
        for record in records:
            try:
                self._callback(record.key or b"", record.value)
            except Exception:
                log.exception(
                    "skipping unreadable record at %s-%d@%d of internal topic",
                    record.topic,
                    record.partition,
                    record.offset,
                )
        with self._lock:
            for record in records:
                self._positions[record.topic_partition] = record.offset + 1
            self._lock.notify_all()

    def _tail(self) -> None:
        while not self._stopping.is_set():
            try:
                records = self._consumer.poll(0.5, max_records=5000)
            except Exception as exc:
                if self._stopping.is_set():
                    return
                log.warning("reading internal topic %s failed, retrying: %s", self.topic, exc)
                time.sleep(0.5)
                continue
            self._deliver(records)
            self._refresh_positions()

    def _refresh_positions(self) -> None:
        # Compaction and transaction markers leave offsets no record carries: while a reader waits for an end the
        # records do not reach, take the consumer's position for the partitions it waits on — after every poll, as
        # other partitions may keep the consumer busy (a position lookup may cost a round trip: only for those).
        with self._lock:
            lagging = [tp for tp, end in self._awaited.items() if self._positions.get(tp, 0) < end]
        for tp in lagging:
            try:
                position = self._consumer.position(tp)
            except ClientError:
                continue
            with self._lock:
                self._positions[tp] = max(self._positions[tp], position)
                self._lock.notify_all()

    def send(self, key: bytes, value: bytes | None) -> Future[RecordMetadata]:
        return self._producer.send(self.topic, key=key, value=value)

    def flush(self, timeout_s: float = 30.0) -> None:
        self._producer.flush(timeout_s)

    def read_to_end(self, timeout_s: float = 30.0) -> None:
        ends = self._end_offsets()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._awaited = ends
            while not all(self._positions.get(tp, 0) >= end for tp, end in ends.items()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConnectorError(f"timed out after {timeout_s:.0f} s reading internal topic {self.topic!r}")
                self._lock.wait(min(remaining, 0.5))

    def _end_offsets(self) -> dict[TopicPartition, int]:
        # Where a read_committed reader stops (the last stable offset): an open transaction of another writer must
        # not make a read to the end wait for it. The admin client asks each partition's current leader.
        found = self._admin.list_offsets(list(self._positions), OffsetSpec.LATEST, isolation_level=READ_COMMITTED)
        return {tp: offset or 0 for tp, offset in found.items()}

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._consumer.wakeup()
            self._thread.join(10)
        for client in reversed(self._opened):  # consumer, producer (flushed first), admin: whatever was opened
            try:
                if isinstance(client, Producer):
                    client.flush(10)
            finally:
                client.close()
        self._opened.clear()
