"""LogMarkerWriter: the log's side of ending a transaction — write its COMMIT or ABORT marker to each partition this
node leads (hub.log.txn.contracts.MarkerWriter), then tell the registered MarkerListeners.

Per partition a marker is appended or it is not (``PartitionLog.append_marker``); a retry of a marker already
written is a no-op success. A marker is *committed* once it is durable per the topic's flush policy and, in a
cluster, replicated as a Produce with acks=all is: appended by the leader in its leader epoch (refused with
NOT_ENOUGH_REPLICAS when the ISR is below ``min.insync.replicas``), then waited for until the in-sync replicas have
it (REQUEST_TIMED_OUT past ``timeout_s``). Followers take markers through replication like any batch. Errors are
Kafka's codes per (producer id, partition): NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR…

Listeners are called after a marker is committed (again for a retried marker: they must be idempotent), on the
writer's thread, and must not block; the group coordinator listens for ``__consumer_offsets``.

Thread-safe: ``write_markers`` hands the work to a small pool of writer threads and returns a future at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import ReplicationTimeoutError
from hub.log.store import TopicStore
from hub.log.txn.contracts import MarkerListener, TopicPartitionKey, TxnMarker

if TYPE_CHECKING:
    from hub.log.cluster.replica_manager import ReplicaManager

log = logging.getLogger("hub.log.marker_writer")

#: How long a marker waits for the in-sync replicas (Kafka's coordinator waits request.timeout.ms).
REPLICATION_TIMEOUT_S = 30.0
#: Writer threads: a marker request waits on fsyncs and replication, never on the caller's thread.
WRITER_THREADS = 4

MarkerErrors = dict[tuple[int, TopicPartitionKey], ErrorCode]


class LogMarkerWriter:
    """Writes transaction markers to the partitions this node leads (see the module docstring): those of ``store``,
    or on a cluster those ``replicas`` (the node's ReplicaManager) says it leads."""

    def __init__(
        self, store: TopicStore, replicas: ReplicaManager | None = None, *, timeout_s: float = REPLICATION_TIMEOUT_S
    ) -> None:
        self.store = store
        self.replicas = replicas
        self.timeout_s = timeout_s
        self._listeners: list[MarkerListener] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def add_listener(self, listener: MarkerListener) -> None:
        """Be told of every marker committed from now on: ``listener(topic, partition, producer_id, commit,
        offset)``."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def close(self) -> None:
        """Refuse new markers and wait for those being written."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def write_markers(self, markers: Sequence[TxnMarker]) -> Future[MarkerErrors]:
        """Write every marker to each of its partitions; the future resolves once all are committed or failed,
        with an error code per (producer id, partition)."""
        with self._lock:
            if self._closed:
                refused: Future[MarkerErrors] = Future()
                refused.set_result(
                    {(m.producer_id, tp): ErrorCode.NOT_LEADER_OR_FOLLOWER for m in markers for tp in m.partitions}
                )
                return refused
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="hub-log-markers")
            return self._pool.submit(self.write_markers_now, markers)

    def write_markers_now(self, markers: Sequence[TxnMarker]) -> MarkerErrors:
        """``write_markers`` on the calling thread (blocks until every marker is committed or failed)."""
        errors: MarkerErrors = {}
        pending: list[tuple[TxnMarker, TopicPartitionKey, int, Future[None] | None, Future[None]]] = []
        for marker in markers:
            for key in marker.partitions:
                try:
                    pending.append((marker, key, *self._append(marker, key)))
                except Exception as exc:
                    errors[(marker.producer_id, key)] = self._code(exc, marker, key)
        committed: list[tuple[TxnMarker, TopicPartitionKey, int]] = []
        for marker, key, offset, replicated, durable in pending:
            try:
                durable.result(self.timeout_s)
                if replicated is not None:
                    try:
                        replicated.result(self.timeout_s)
                    except TimeoutError:
                        raise ReplicationTimeoutError(
                            f"{key[0]}-{key[1]}: marker written, but not replicated within {self.timeout_s:g} s"
                        ) from None
            except Exception as exc:
                errors[(marker.producer_id, key)] = self._code(exc, marker, key)
                continue
            errors[(marker.producer_id, key)] = ErrorCode.NONE
            committed.append((marker, key, offset))
        listeners = self._listeners
        for marker, (topic, partition), offset in committed:
            for listener in listeners:
                try:
                    listener(topic, partition, marker.producer_id, marker.commit, offset)
                except Exception:
                    log.exception("marker listener failed for %s-%d", topic, partition)
        return errors

    def _append(self, marker: TxnMarker, key: TopicPartitionKey) -> tuple[int, Future[None] | None, Future[None]]:
        """Append one marker; its offset, the replication future (None on a single node) and the durability one."""
        topic, partition = key
        if self.replicas is None:
            log_ = self.store.partition(topic, partition)
            result = log_.append_marker(
                marker.producer_id, marker.producer_epoch, marker.commit, marker.coordinator_epoch
            )
            return result.base_offset, None, result.durable
        leadership = self.replicas.leadership(topic, partition)
        leadership.check_can_append(-1)
        result = leadership.log.append_marker(
            marker.producer_id,
            marker.producer_epoch,
            marker.commit,
            marker.coordinator_epoch,
            leader_epoch=leadership.epoch,
        )
        return result.base_offset, leadership.replicated(result.base_offset + 1), result.durable

    @staticmethod
    def _code(exc: BaseException, marker: TxnMarker, key: TopicPartitionKey) -> ErrorCode:
        code = error_code_for(exc)
        if code is ErrorCode.UNKNOWN_SERVER_ERROR:
            if isinstance(exc, OSError):
                code = ErrorCode.KAFKA_STORAGE_ERROR
            log.error(
                "marker of producer %d to %s-%d failed: %s", marker.producer_id, key[0], key[1], exc, exc_info=exc
            )
        return code
