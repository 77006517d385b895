"""OffsetsWriter: appends the coordinator's records to its OffsetsLog on one thread, in the order they were queued.

The coordinator decides what to write under its lock and queues it here, so the log holds records in the order of
those decisions, while the wait for an append to commit (an fsync, or a replicated acks=all write) happens outside
its lock: heartbeats, joins and a resignation never wait behind a write. Writes queued while an append is under
way go together into the next append (up to ``max_batch_bytes``), so concurrent commits share one wait.
A transaction's write (TxnOffsetCommit: ``producer`` set) is appended alone, as that producer's batch.

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

from hub.log.errors import LogError
from hub.log.group.offsets_log import OffsetsLog, Record

log = logging.getLogger("hub.log.group")

WriteDone = Callable[[BaseException | None], None]


class StaleWriteError(LogError):
    """A write queued by a coordinator that has resigned since: it was not appended."""


class WriterClosedError(LogError):
    """The OffsetsWriter is closed."""


@dataclass(frozen=True, slots=True)
class PendingWrite:
    records: Sequence[Record]
    current: Callable[[], bool]
    done: WriteDone
    #: (producer id, epoch) of a transaction's write; None for the coordinator's own records.
    producer: tuple[int, int] | None = None

    @property
    def size(self) -> int:
        return sum(len(key) + len(value or b"") for key, value in self.records)


class OffsetsWriter:
    """The coordinator's one writing thread (see the module docstring)."""

    def __init__(self, offsets_log: OffsetsLog, *, max_batch_bytes: int = 256 * 1024) -> None:
        self.offsets_log = offsets_log
        self.max_batch_bytes = max_batch_bytes
        self._queue: deque[PendingWrite] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        with self._cond:
            if self._thread is not None or self._closing:
                return
            self._thread = threading.Thread(target=self._run, name="hub-group-offsets-writer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Complete what is queued (stale writes are skipped), then stop; later submits fail."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def submit(
        self,
        records: Sequence[Record],
        current: Callable[[], bool],
        done: WriteDone,
        *,
        producer: tuple[int, int] | None = None,
    ) -> None:
        """Queue a write (a transaction's with ``producer``: its id and epoch); ``done`` runs on the writer thread
        once it is committed or failed."""
        with self._cond:
            if self._closing or self._thread is None:
                raise WriterClosedError("the group coordinator's offsets writer is not running")
            self._queue.append(PendingWrite(records, current, done, producer))
            self._cond.notify_all()

    def barrier(self) -> None:
        """Return once every write queued before this call has completed."""
        passed = threading.Event()
        try:
            self.submit((), lambda: True, lambda _: passed.set())
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
                size = batch[0].size
                while (
                    batch[0].producer is None
                    and self._queue
                    and self._queue[0].producer is None
                    and size + self._queue[0].size <= self.max_batch_bytes
                ):
                    size += self._queue[0].size
                    batch.append(self._queue.popleft())
            self._write(batch)

    def _write(self, batch: list[PendingWrite]) -> None:
        outcome: dict[int, BaseException | None] = {}
        records: list[Record] = []
        for index, write in enumerate(batch):
            if write.current():
                records.extend(write.records)
                outcome[index] = None
            else:
                outcome[index] = StaleWriteError("the coordinator resigned before this write")
        error: BaseException | None = None
        if records:
            producer = batch[0].producer
            try:
                if producer is None:
                    self.offsets_log.append(records)
                else:
                    self.offsets_log.append(records, producer_id=producer[0], producer_epoch=producer[1])
            except Exception as exc:
                error = exc
        for index, write in enumerate(batch):
            try:
                write.done(outcome[index] or error)
            except Exception:
                log.exception("completing a __consumer_offsets write failed")
