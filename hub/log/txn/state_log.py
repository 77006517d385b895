"""TxnStateLog: where the transaction coordinator keeps its records (``__transaction_state``), its single-node form,
and the StateWriter that appends to it on one thread.

Contract of a TxnStateLog, on one node or replicated (as hub.log.group.offsets_log's OffsetsLog, per partition):

- ``partition_count()``: how many partitions ``__transaction_state`` has (creating it when absent, with
  ``transaction.state.log.num.partitions``);
- ``append(partition, records)`` returns once the records are committed (durable; in a cluster below the high
  watermark, acks=all) and raises otherwise — an error whose Kafka code is NOT_LEADER_OR_FOLLOWER or
  FENCED_LEADER_EPOCH (``leadership_lost``) means this node no longer leads the partition;
- ``read_all(partition)`` yields every committed keyed record of the partition, oldest first.

The StateWriter keeps the coordinator's decisions in order while their wait happens off its lock: writes are
queued under the lock and appended by its thread; consecutive writes to one partition share an append. Each write
carries ``current()``, asked just before its append: one no longer current (its partition's coordinatorship ended)
is not appended and completes with StaleWriteError. Every write completes exactly once, on the writer thread.

Thread-safety: TopicTxnStateLog is thread-safe as the store is; StateWriter's ``submit``/``barrier`` may be called
from any thread (``barrier`` not from a ``done``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub.log.errors import UnknownTopicOrPartitionError
from hub.log.group.offsets_log import Record, TopicOffsetsLog
from hub.log.group.offsets_writer import StaleWriteError, WriterClosedError
from hub.log.records import NewRecord, encode_batch
from hub.log.store import TopicStore
from hub.log.txn.contracts import TRANSACTION_STATE_TOPIC

log = logging.getLogger("hub.log.txn")

#: Kafka's settings of the topic: compacted, with its segment size default (its records are written uncompressed,
#: which the store keeps as written).
STATE_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": str(100 * 1024 * 1024)}

WriteDone = Callable[[BaseException | None], None]


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


@dataclass(frozen=True, slots=True)
class _Write:
    partition: int
    records: Sequence[Record]
    current: Callable[[], bool]
    done: WriteDone


class StateWriter:
    """The coordinator's one writing thread (see the module docstring)."""

    def __init__(self, state_log: TxnStateLog) -> None:
        self.state_log = state_log
        self._queue: deque[_Write] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        with self._cond:
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._run, name="hub-txn-state-writer", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Complete what is queued (stale writes are skipped), then stop; later submits fail."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def submit(self, partition: int, records: Sequence[Record], current: Callable[[], bool], done: WriteDone) -> None:
        with self._cond:
            if self._closing or self._thread is None:
                raise WriterClosedError("the transaction coordinator's state writer is not running")
            self._queue.append(_Write(partition, records, current, done))
            self._cond.notify_all()

    def barrier(self) -> None:
        """Return once every write queued before this call has completed."""
        passed = threading.Event()
        try:
            self.submit(-1, (), lambda: True, lambda _: passed.set())
        except WriterClosedError:
            return
        passed.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft()]
                while self._queue and self._queue[0].partition == batch[0].partition and len(batch) < 500:
                    batch.append(self._queue.popleft())
            self._write(batch)

    def _write(self, batch: list[_Write]) -> None:
        outcome: list[BaseException | None] = []
        records: list[Record] = []
        for write in batch:
            if write.current():
                records.extend(write.records)
                outcome.append(None)
            else:
                outcome.append(StaleWriteError("the coordinator resigned before this write"))
        error: BaseException | None = None
        if records:
            try:
                self.state_log.append(batch[0].partition, records)
            except Exception as exc:
                error = exc
        for write, stale in zip(batch, outcome, strict=True):
            try:
                write.done(stale or error)
            except Exception:
                log.exception("completing a %s write failed", TRANSACTION_STATE_TOPIC)
