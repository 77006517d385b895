"""LocalMarkerWriter: a MarkerWriter (hub.log.txn.contracts) over this node's own partitions.

Each marker is appended with ``PartitionLog.append_marker`` (the log's control batch, which ends the producer's
transaction in that partition) and committed before its partition is answered NONE: durable on a single node, and on
a cluster appended by the partition's leader in its leader epoch and replicated to the in-sync replicas (acks=all,
as Kafka writes markers). A partition this node does not lead is answered NOT_LEADER_OR_FOLLOWER, one that does not
exist UNKNOWN_TOPIC_OR_PARTITION; any failure is answered with its Kafka error code, never raised. After each marker
committed, the MarkerListeners are told (the group coordinator listens for ``__consumer_offsets``).

The writes run on one worker thread, so callers (the coordinator's threads, the listener's event loop) never wait.
Thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol, cast

from hub.log.append_batches import AppendResult
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import ReplicationTimeoutError
from hub.log.store import TopicStore
from hub.log.txn.contracts import MarkerListener, TopicPartitionKey, TxnMarker

if TYPE_CHECKING:
    from hub.log.cluster.replica_manager import ReplicaManager

log = logging.getLogger("hub.log.txn")

#: How long a marker waits for the in-sync replicas (Kafka's request.timeout.ms default for its marker requests).
REPLICATION_TIMEOUT_S = 30.0

MarkerResults = dict[tuple[int, TopicPartitionKey], ErrorCode]


class _MarkerLog(Protocol):
    """The log's side: ``PartitionLog.append_marker``, which writes the control batch ending a transaction."""

    def append_marker(
        self, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int, *, leader_epoch: int = 0
    ) -> AppendResult: ...


class LocalMarkerWriter:
    """See the module docstring. ``replicas`` is the cluster's ReplicaManager (None on a single node)."""

    def __init__(self, store: TopicStore, replicas: ReplicaManager | None = None) -> None:
        self.store = store
        self.replicas = replicas
        self.listeners: list[MarkerListener] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-txn-marker-writer")

    def add_listener(self, listener: MarkerListener) -> None:
        self.listeners.append(listener)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def write_markers(self, markers: Sequence[TxnMarker]) -> Future[MarkerResults]:
        try:
            return self._pool.submit(self._write, list(markers))
        except RuntimeError:  # shut down
            future: Future[MarkerResults] = Future()
            future.set_result(
                {(m.producer_id, tp): ErrorCode.NOT_LEADER_OR_FOLLOWER for m in markers for tp in m.partitions}
            )
            return future

    def _write(self, markers: list[TxnMarker]) -> MarkerResults:
        # Every marker is appended first and then waited for, so the fsyncs (and replications) of the
        # partitions overlap rather than follow one another.
        results: MarkerResults = {}
        appended: list[tuple[TxnMarker, TopicPartitionKey, AppendResult, Future[None] | None]] = []
        for marker in markers:
            for topic, partition in marker.partitions:
                try:
                    appended.append((marker, (topic, partition), *self._append(marker, topic, partition)))
                except Exception as exc:
                    results[(marker.producer_id, (topic, partition))] = self._failed(exc, topic, partition)
        for marker, (topic, partition), result, replicated in appended:
            try:
                result.wait(REPLICATION_TIMEOUT_S)
                if replicated is not None:
                    try:
                        replicated.result(REPLICATION_TIMEOUT_S)
                    except TimeoutError:
                        raise ReplicationTimeoutError(
                            f"{topic}-{partition}: marker not replicated within {REPLICATION_TIMEOUT_S:g} s"
                        ) from None
            except Exception as exc:
                results[(marker.producer_id, (topic, partition))] = self._failed(exc, topic, partition)
                continue
            results[(marker.producer_id, (topic, partition))] = ErrorCode.NONE
            for listener in self.listeners:
                try:
                    listener(topic, partition, marker.producer_id, marker.commit, result.last_offset)
                except Exception:
                    log.exception("a transaction marker listener failed for %s-%d", topic, partition)
        return results

    @staticmethod
    def _failed(exc: Exception, topic: str, partition: int) -> ErrorCode:
        error = error_code_for(exc)
        if error is ErrorCode.UNKNOWN_SERVER_ERROR:
            log.exception("writing a transaction marker to %s-%d failed", topic, partition, exc_info=exc)
        return error

    def _append(self, marker: TxnMarker, topic: str, partition: int) -> tuple[AppendResult, Future[None] | None]:
        """Append the marker; its durability and (on a cluster) replication are the futures to wait for."""
        if self.replicas is None:
            log_ = cast(_MarkerLog, self.store.partition(topic, partition))
            result = log_.append_marker(
                marker.producer_id, marker.producer_epoch, marker.commit, marker.coordinator_epoch
            )
            return result, None
        leadership = self.replicas.leadership(topic, partition)
        leadership.check_can_append(-1)
        result = cast(_MarkerLog, leadership.log).append_marker(
            marker.producer_id,
            marker.producer_epoch,
            marker.commit,
            marker.coordinator_epoch,
            leader_epoch=leadership.epoch,
        )
        return result, leadership.replicated(result.last_offset + 1)
