"""OrderedWriter: appends a coordinator's records to its internal topic on one thread, in the order they were queued.

A coordinator (groups: ``__consumer_offsets``; transactions: ``__transaction_state``) decides what to write under
its lock and queues it here, so the log holds records in the order of those decisions, while the wait for an
append to commit (an fsync, or a replicated acks=all write) happens outside its lock: heartbeats, joins and a
resignation never wait behind a write.

Each write has a key that says where and how it is appended (a partition; a transaction's producer). Writes queued
while an append is under way go together into the next append when they have the same key and the key may share
(``shares(key)``), up to ``max_batch_bytes``, so concurrent writes share one wait.

Each write carries ``current()``, asked just before its append: a write that is no longer current (its
coordinator resigned since) is not appended and completes with StaleWriteError. Every write completes exactly
once, in queue order, on the writer thread: ``done(None)`` once committed, ``done(error)`` otherwise.

Thread-safety: ``submit`` and ``barrier`` may be called from any thread (``barrier`` not from ``done``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.log.errors import LogError

log = logging.getLogger("hub.log")

Record = tuple[bytes, bytes | None]
WriteDone = Callable[[BaseException | None], None]
K = TypeVar("K")


class StaleWriteError(LogError):
    """A write queued by a coordinator that has resigned since: it was not appended."""


class WriterClosedError(LogError):
    """The writer is closed."""


@dataclass(frozen=True, slots=True)
class _Write(Generic[K]):
    key: K
    records: Sequence[Record]
    current: Callable[[], bool]
    done: WriteDone

    @property
    def size(self) -> int:
        return sum(len(key) + len(value or b"") for key, value in self.records)


class OrderedWriter(Generic[K]):
    """One coordinator's writing thread (see the module docstring). ``append(key, records)`` returns once the
    records are committed and raises otherwise; ``topic`` names the log in thread names and log lines."""

    def __init__(
        self,
        append: Callable[[K, list[Record]], None],
        *,
        topic: str,
        barrier_key: K,
        shares: Callable[[K], bool] = lambda key: True,
        max_batch_bytes: int = 256 * 1024,
    ) -> None:
        self._append = append
        self.topic = topic
        self._barrier_key = barrier_key
        self._shares = shares
        self.max_batch_bytes = max_batch_bytes
        self._queue: deque[_Write[K]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        with self._cond:
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._run, name=f"hub-writer-{self.topic}", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Complete what is queued (stale writes are skipped), then stop; later submits fail."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def submit(self, key: K, records: Sequence[Record], current: Callable[[], bool], done: WriteDone) -> None:
        """Queue a write; ``done`` runs on the writer thread once it is committed or failed."""
        with self._cond:
            if self._closing or self._thread is None:
                raise WriterClosedError(f"the writer of {self.topic} is not running")
            self._queue.append(_Write(key, records, current, done))
            self._cond.notify_all()

    def barrier(self) -> None:
        """Return once every write queued before this call has completed."""
        passed = threading.Event()
        try:
            self.submit(self._barrier_key, (), lambda: True, lambda _: passed.set())
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
                key, size = batch[0].key, batch[0].size
                while (
                    self._shares(key)
                    and self._queue
                    and self._queue[0].key == key
                    and size + self._queue[0].size <= self.max_batch_bytes
                ):
                    size += self._queue[0].size
                    batch.append(self._queue.popleft())
            self._write(batch)

    def _write(self, batch: list[_Write[K]]) -> None:
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
                self._append(batch[0].key, records)
            except Exception as exc:
                error = exc
        for write, stale in zip(batch, outcome, strict=True):
            try:
                write.done(stale or error)
            except Exception:
                log.exception("completing a %s write failed", self.topic)
