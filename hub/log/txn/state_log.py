"""TxnStateLog: where the transaction coordinator keeps its records (``__transaction_state``), its single-node form,
and the writer that appends to it on one thread.

Contract of a TxnStateLog, on one node or replicated (as hub.log.group.offsets_log's OffsetsLog, per partition):

- ``partition_count()``: how many partitions ``__transaction_state`` has (creating it when absent, with
  ``transaction.state.log.num.partitions``);
- ``append(partition, records)`` returns once the records are committed (durable; in a cluster below the high
  watermark, acks=all) and raises otherwise — an error whose Kafka code is NOT_LEADER_OR_FOLLOWER or
  FENCED_LEADER_EPOCH (``leadership_lost``) means this node no longer leads the partition;
- ``read_all(partition)`` yields every committed keyed record of the partition, oldest first.

``state_writer`` keeps the coordinator's decisions in order while their wait happens off its lock
(hub.log.ordered_writer): consecutive writes to one partition share an append; a write no longer current (its
partition's coordinatorship ended) is not appended and completes with StaleWriteError.

Thread-safety: TopicTxnStateLog is thread-safe as the store is; see hub.log.ordered_writer for the writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from hub.log.errors import UnknownTopicOrPartitionError
from hub.log.group.offsets_log import Record, TopicOffsetsLog
from hub.log.ordered_writer import OrderedWriter
from hub.log.records import NewRecord, encode_batch
from hub.log.store import TopicStore
from hub.log.txn.contracts import TRANSACTION_STATE_TOPIC

log = logging.getLogger("hub.log.txn")

#: Kafka's settings of the topic: compacted, with its segment size default (its records are written uncompressed,
#: which the store keeps as written).
STATE_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": str(100 * 1024 * 1024)}


class TxnStateLog(Protocol):
    """Committed key/value records of the transaction coordinator (see the module docstring)."""

    def partition_count(self) -> int: ...

    def append(self, partition: int, records: Sequence[Record]) -> None: ...

    def read_all(self, partition: int) -> Iterable[Record]: ...


class TopicTxnStateLog:
    """The single-node TxnStateLog: the store's own ``__transaction_state``, one batch per append, durable before
    returning. A topic already there keeps its partition count (ids were placed by it)."""

    def __init__(self, store: TopicStore, num_partitions: int = 50) -> None:
        self.store = store
        self.num_partitions = num_partitions
        self._lock = threading.Lock()
        self._count: int | None = None

    def partition_count(self) -> int:
        """The topic's partition count, or ``num_partitions`` while it does not exist (it is created by the first
        append, as Kafka creates it on first use)."""
        with self._lock:
            if self._count is None:
                try:
                    self._count = self.store.topic(TRANSACTION_STATE_TOPIC).partitions
                except UnknownTopicOrPartitionError:
                    return self.num_partitions
                if self._count != self.num_partitions:
                    log.warning(
                        "%s has %d partitions, not transaction.state.log.num.partitions=%d: keeping %d",
                        TRANSACTION_STATE_TOPIC,
                        self._count,
                        self.num_partitions,
                        self._count,
                    )
            return self._count

    def append(self, partition: int, records: Sequence[Record]) -> None:
        if not records:
            return
        with self._lock:
            if self._count is None:
                try:
                    self._count = self.store.topic(TRANSACTION_STATE_TOPIC).partitions
                except UnknownTopicOrPartitionError:
                    self.store.create_topic(TRANSACTION_STATE_TOPIC, self.num_partitions, STATE_TOPIC_CONFIGS)
                    self._count = self.num_partitions
        batch = encode_batch([NewRecord(key, value) for key, value in records])
        self.store.partition(TRANSACTION_STATE_TOPIC, partition).append_and_wait(batch)

    def read_all(self, partition: int) -> Iterable[Record]:
        try:
            log_ = self.store.partition(TRANSACTION_STATE_TOPIC, partition)
        except UnknownTopicOrPartitionError:
            return []
        return TopicOffsetsLog.read_partition(log_)


def state_writer(state_log: TxnStateLog) -> OrderedWriter[int]:
    """A writer appending to ``state_log`` (not started); a write's key is its partition."""
    return OrderedWriter(state_log.append, topic=TRANSACTION_STATE_TOPIC, barrier_key=-1)
