"""Broker: the topic store seen as a Kafka broker — produce with acks, fetch with long polling, offset lookups,
topic auto-creation. The Kafka protocol server and the embedded client both stand on it, so both behave alike.

Thread-safe. Waiting fetches are woken by the store's append listener; ``add_append_listener`` lets an event loop
be woken too (the listener runs on the appending thread and must only hand the news over).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hub.log.batch import next_offset_after
from hub.log.errors import LogError, OffsetOutOfRangeError, UnknownTopicOrPartitionError
from hub.log.group import GroupCoordinator
from hub.log.partition import AppendResult, PartitionLog
from hub.log.producer_ids import ProducerIdAllocator
from hub.log.store import TopicInfo, TopicStore, check_topic_name

if TYPE_CHECKING:
    from hub.log.cluster.cluster_node import ClusterNode
    from hub.log.txn.coordinator import TransactionCoordinator

log = logging.getLogger("hub.log.broker")

EARLIEST: Final = -2
LATEST: Final = -1
#: Default of the broker setting ``fetch.max.bytes`` (Kafka's): the most a Fetch answer to a Kafka client carries,
#: whatever the client asks for; the first partition with data always gives at least one batch.
FETCH_MAX_BYTES = 55 << 20
#: Node ids of a cluster are below this: producer ids are interleaved by node id.
MAX_NODES = 1024


#: FetchRequest's isolation levels (Kafka's numbers).
READ_UNCOMMITTED: Final = 0
READ_COMMITTED: Final = 1


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """Read ``topic``-``partition`` from ``offset``, at most ``max_bytes`` (at least one batch is returned);
    READ_COMMITTED stops at the last stable offset and answers the aborted transactions of what it read."""

    topic: str
    partition: int
    offset: int
    max_bytes: int = 1 << 20
    isolation_level: int = READ_UNCOMMITTED


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Stored batches for one request, with the partition's positions; ``error`` instead of data on failure.
    ``aborted_transactions`` (read_committed only) lists ``(producer_id, first_offset)`` of the aborted
    transactions holding records in ``records`` (hub.log.committed_batches filters them)."""

    topic: str
    partition: int
    records: bytes
    high_watermark: int
    log_start_offset: int
    error: Exception | None = None
    last_stable_offset: int = -1
    aborted_transactions: tuple[tuple[int, int], ...] = ()


class Broker:
    """Produce, fetch and offsets over a TopicStore, groups through its GroupCoordinator, transactions through its
    TransactionCoordinator; ``auto_create_topics``, ``num_partitions`` and ``fetch_max_bytes`` as Kafka's broker
    settings."""

    def __init__(
        self,
        store: TopicStore,
        *,
        coordinator: GroupCoordinator | None = None,
        transactions: TransactionCoordinator | None = None,
        auto_create_topics: bool = True,
        num_partitions: int = 1,
        fetch_max_bytes: int = FETCH_MAX_BYTES,
    ) -> None:
        self.store = store
        self.coordinator = coordinator
        self.transactions = transactions
        self.producer_ids = ProducerIdAllocator(store.data_dir)
        self.auto_create_topics = auto_create_topics
        self.num_partitions = num_partitions
        self.fetch_max_bytes = fetch_max_bytes
        self._arrived = threading.Condition()
        self._listeners: list[Callable[[PartitionLog], None]] = []
        self._create_lock = threading.Lock()
        #: This node's part in a cluster (set by LogNode when the store is replicated); None on a single node.
        self.cluster: ClusterNode | None = None

    def open(self) -> None:
        self.store.set_append_listener(self._on_append)

    def close(self) -> None:
        self.store.set_append_listener(None)
        with self._arrived:
            self._arrived.notify_all()

    def add_append_listener(self, listener: Callable[[PartitionLog], None]) -> None:
        self._listeners.append(listener)

    def notify_data(self, partition: PartitionLog) -> None:
        """New data is readable in ``partition`` (appended, or its high watermark moved): wake waiting fetches."""
        self._on_append(partition)

    def _on_append(self, partition: PartitionLog) -> None:
        with self._arrived:
            self._arrived.notify_all()
        for listener in self._listeners:
            try:
                listener(partition)
            except Exception:
                log.exception("append listener failed for %s", partition.name)

    # --- topics ------------------------------------------------------------------------------------------------

    def topic(self, name: str, *, create: bool = False) -> TopicInfo:
        """The topic, auto-created (with ``num_partitions``) when allowed and asked for."""
        try:
            return self.store.topic(name)
        except UnknownTopicOrPartitionError:
            if not (create and self.auto_create_topics):
                raise
        check_topic_name(name)  # before the name reaches the log: a client's name may hold any character
        if self.cluster is not None:
            self.cluster.create_topic(name, self.num_partitions, -1, None, {}, exists_ok=True)
            return self.store.topic(name)
        with self._create_lock:
            try:
                return self.store.topic(name)
            except UnknownTopicOrPartitionError:
                log.info("auto-creating topic %s with %d partition(s)", name, self.num_partitions)
                return self.store.create_topic(name, self.num_partitions)

    def partition(self, topic: str, partition: int, *, create: bool = False) -> PartitionLog:
        self.topic(topic, create=create)
        return self.store.partition(topic, partition)

    # --- produce and fetch -------------------------------------------------------------------------------------

    def produce(
        self, topic: str, partition: int, data: bytes | bytearray | memoryview, *, acks: int = -1
    ) -> AppendResult:
        """Append batches. acks=0 and acks=1 return once written; acks=-1 (all) once durable per the topic's
        flush policy (on one node "all replicas" is this one). On a cluster node, in-process producers are not
        offered (they would bypass leadership): its clients use the Kafka listener."""
        if self.cluster is not None:
            raise LogError("in-process produce is not offered on a cluster node; use its Kafka listener")
        log_ = self.partition(topic, partition, create=True)
        if acks == -1:
            return log_.append_and_wait(data)
        return log_.append(data)

    def fetch(
        self, requests: Sequence[FetchRequest], *, max_wait_ms: int = 0, min_bytes: int = 1, max_bytes: int = 50 << 20
    ) -> list[FetchResult]:
        """Read each partition; wait up to ``max_wait_ms`` until ``min_bytes`` are available (Kafka's long poll)."""
        deadline = time.monotonic() + max_wait_ms / 1000
        while True:
            results = self._read(requests, max_bytes)
            available = sum(len(result.records) for result in results)
            remaining = deadline - time.monotonic()
            if available >= min_bytes or remaining <= 0 or any(r.error is not None for r in results):
                return results
            with self._arrived:
                if not self._has_new_data(requests):
                    self._arrived.wait(remaining)

    def _has_new_data(self, requests: Sequence[FetchRequest]) -> bool:
        for request in requests:
            try:
                partition = self.store.partition(request.topic, request.partition)
                end = (
                    partition.last_stable_offset
                    if request.isolation_level == READ_COMMITTED
                    else partition.log_end_offset
                )
                if end > request.offset:
                    return True
            except UnknownTopicOrPartitionError:
                return True
        return False

    def _read(self, requests: Sequence[FetchRequest], max_bytes: int) -> list[FetchResult]:
        results: list[FetchResult] = []
        budget = max_bytes
        for request in requests:
            try:
                partition = self.store.partition(request.topic, request.partition)
                limit = min(request.max_bytes, budget)
                stable = partition.last_stable_offset
                upper = stable if request.isolation_level == READ_COMMITTED else partition.high_watermark
                data = partition.read(request.offset, limit, max_offset=upper) if budget > 0 else b""
                budget -= len(data)
                aborted: tuple[tuple[int, int], ...] = ()
                if data and request.isolation_level == READ_COMMITTED:
                    aborted = tuple(
                        (txn.producer_id, txn.first_offset)
                        for txn in partition.aborted_transactions(request.offset, next_offset_after(data))
                    )
                results.append(
                    FetchResult(
                        request.topic,
                        request.partition,
                        data,
                        partition.high_watermark,
                        partition.log_start_offset,
                        last_stable_offset=stable,
                        aborted_transactions=aborted,
                    )
                )
            except (UnknownTopicOrPartitionError, OffsetOutOfRangeError) as exc:
                results.append(FetchResult(request.topic, request.partition, b"", -1, -1, exc))
        return results

    def init_producer_id(self) -> tuple[int, int]:
        """A new idempotent producer's (producer id, epoch); ids are never reused (Kafka's InitProducerId). In a
        cluster each node hands out the ids congruent to its node id (modulo ``MAX_NODES``), so no two nodes
        ever give the same id."""
        allocated = self.producer_ids.allocate()
        if self.cluster is None:
            return allocated, 0
        return allocated * MAX_NODES + self.cluster.node_id, 0

    # --- offsets -----------------------------------------------------------------------------------------------

    def list_offset(
        self, topic: str, partition: int, spec: int, *, isolation_level: int = READ_UNCOMMITTED
    ) -> tuple[int, int] | None:
        """(offset, timestamp) for EARLIEST (-2), LATEST (-1) or the first record at or after a timestamp (ms);
        None when no record is that recent. The timestamp is -1 for EARLIEST and LATEST. LATEST is the high
        watermark, or the last stable offset for READ_COMMITTED."""
        log_ = self.store.partition(topic, partition)
        if spec == EARLIEST:
            return log_.log_start_offset, -1
        if spec == LATEST:
            return (log_.last_stable_offset if isolation_level == READ_COMMITTED else log_.high_watermark), -1
        return log_.offset_for_timestamp(spec)
