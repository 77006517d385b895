"""MarkerDispatcher: has a transaction's markers written to every partition it touched, until all are, as Kafka's
TransactionMarkerChannelManager does.

Each partition's marker goes to its leader: through the MarkerWriter (the log's side) for partitions this node
leads, through ``remote`` (WriteTxnMarkers, API 27, to the leader) for the others. Outcomes per partition, as
Kafka's TransactionMarkerRequestCompletionHandler treats them:

- NONE (or UNSUPPORTED_FOR_MESSAGE_FORMAT) — written;
- UNKNOWN_TOPIC_OR_PARTITION of a partition that no longer exists (its topic was deleted), or a partition with no
  leader that does not exist — skipped, as written;
- TRANSACTION_COORDINATOR_FENCED, INVALID_PRODUCER_EPOCH, PRODUCER_FENCED — another coordinator (a newer epoch) owns
  the transaction now: sending stops and the transaction is left to it (``done(False)``);
- anything else (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, a timeout, a lost connection) — retried after
  ``retry_backoff_ms`` with the leader looked up afresh.

``done(True)`` runs once every partition is written or skipped; ``cancelled()`` is asked before each attempt, and a
cancelled send ends with ``done(False)`` (the coordinator resigned the transaction's partition). ``done`` runs on
the thread that completed the last write (or the dispatcher's) and must not block.

Thread-safe: ``send`` may be called from any thread; retries are timed by one dispatcher thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from hub.log.error_codes import ErrorCode
from hub.log.txn.contracts import MarkerWriter, TopicPartitionKey, TxnMarker

log = logging.getLogger("hub.log.txn")

MarkerResults = dict[tuple[int, TopicPartitionKey], ErrorCode]
#: Sends WriteTxnMarkers to node ``node_id``: the future's error code per (producer id, partition).
RemoteMarkers = Callable[[int, Sequence[TxnMarker]], Future[MarkerResults]]

_WRITTEN = frozenset({ErrorCode.NONE, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT})
_FENCED = frozenset(
    {ErrorCode.TRANSACTION_COORDINATOR_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED}
)


@dataclass(eq=False)
class _Send:
    marker: TxnMarker
    done: Callable[[bool], None]
    cancelled: Callable[[], bool]
    remaining: set[TopicPartitionKey]
    outstanding: int = 0
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class MarkerDispatcher:
    """See the module docstring. ``leader_of(topic, partition)`` names the leader's node id (None: none now);
    ``exists(topic, partition)`` whether the partition still exists."""

    def __init__(
        self,
        writer: MarkerWriter,
        *,
        node_id: int = 0,
        leader_of: Callable[[str, int], int | None] | None = None,
        exists: Callable[[str, int], bool],
        remote: RemoteMarkers | None = None,
        retry_backoff_ms: int = 100,
    ) -> None:
        self.writer = writer
        self.node_id = node_id
        self.leader_of = leader_of or (lambda topic, partition: node_id)
        self.exists = exists
        self.remote = remote
        self.retry_backoff_ms = retry_backoff_ms
        self._due: list[tuple[float, int, _Send]] = []
        self._sequence = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._cond:
            self._closed = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hub-txn-markers", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop retrying: sends still waiting for a retry end with ``done(False)``."""
        with self._cond:
            self._closed = True
            waiting = [send for _, _, send in self._due]
            self._due.clear()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        for send in waiting:
            self._finish(send, False)

    def send(self, marker: TxnMarker, done: Callable[[bool], None], cancelled: Callable[[], bool]) -> None:
        """Have ``marker`` written to each of its partitions (see the module docstring)."""
        job = _Send(marker, done, cancelled, set(marker.partitions))
        self._attempt(job)

    def _attempt(self, job: _Send) -> None:
        if job.cancelled():
            self._finish(job, False)
            return
        by_node: dict[int, list[TopicPartitionKey]] = defaultdict(list)
        with job.lock:
            for tp in sorted(job.remaining):
                leader = self.leader_of(*tp)
                if leader is None:
                    if not self.exists(*tp):
                        job.remaining.discard(tp)
                    continue
                by_node[leader].append(tp)
            job.outstanding = len(by_node)
            remaining = bool(job.remaining)
        if not remaining:
            self._finish(job, True)
            return
        if not by_node:
            self._retry(job)
            return
        for node, partitions in by_node.items():
            marker = replace(job.marker, partitions=tuple(partitions))
            try:
                if node == self.node_id:
                    future = self.writer.write_markers([marker])
                elif self.remote is not None:
                    future = self.remote(node, [marker])
                else:
                    future = Future()
                    future.set_exception(RuntimeError(f"no way to reach node {node}"))
            except Exception as exc:
                future = Future()
                future.set_exception(exc)
            future.add_done_callback(self._on_written(job, partitions))

    def _on_written(self, job: _Send, partitions: list[TopicPartitionKey]) -> Callable[[Future[MarkerResults]], None]:
        return lambda future: self._written(job, partitions, future)

    def _written(self, job: _Send, partitions: list[TopicPartitionKey], future: Future[MarkerResults]) -> None:
        pid = job.marker.producer_id
        try:
            results = future.result()
        except Exception as exc:
            log.info("transaction markers of producer %d: %s; retrying", pid, exc)
            results = {}
        with job.lock:
            for tp in partitions:
                error = results.get((pid, tp), ErrorCode.REQUEST_TIMED_OUT)
                if error in _WRITTEN:
                    job.remaining.discard(tp)
                elif error in _FENCED:
                    log.info(
                        "transaction marker of producer %d to %s-%d: %s; left to the newer coordinator",
                        pid,
                        *tp,
                        error.name,
                    )
                    job.abandoned = True
                elif error is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and not self.exists(*tp):
                    job.remaining.discard(tp)
                else:
                    log.debug("transaction marker of producer %d to %s-%d: %s; retrying", pid, *tp, error.name)
            job.outstanding -= 1
            if job.outstanding:
                return
            finished = job.abandoned or not job.remaining
        if finished:
            self._finish(job, not job.abandoned)
        else:
            self._retry(job)

    def _retry(self, job: _Send) -> None:
        with self._cond:
            if self._closed:
                closed = True
            else:
                closed = False
                due = time.monotonic() + self.retry_backoff_ms / 1000
                heapq.heappush(self._due, (due, next(self._sequence), job))
                self._cond.notify_all()
        if closed:
            self._finish(job, False)

    @staticmethod
    def _finish(job: _Send, ok: bool) -> None:
        try:
            job.done(ok)
        except Exception:
            log.exception("completing the transaction markers of producer %d failed", job.marker.producer_id)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._due or self._due[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._due else max(self._due[0][0] - time.monotonic(), 0))
                if self._closed:
                    return
                _, _, job = heapq.heappop(self._due)
            try:
                self._attempt(job)
            except Exception:
                log.exception("sending transaction markers failed")
                self._retry(job)
