"""Group commit: one thread fsyncs partitions for every append waiting on durability, many appends per fsync.

Appenders call ``request(partition, offset)`` and wait on the returned future. The flusher thread takes every
request queued so far, fsyncs each partition once up to the highest offset asked of it, and resolves the futures;
requests that arrive during an fsync are served by the next round. So N concurrent appends to a partition cost
about one fsync, not N.

Thread-safe. ``start()`` launches the thread, ``close()`` serves what is queued, then stops it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

from hub.log.errors import LogClosedError

if TYPE_CHECKING:
    from hub.log.partition import PartitionLog

log = logging.getLogger("hub.log.flusher")


class Flusher:
    """The store's fsync thread (see the module docstring)."""

    def __init__(self) -> None:
        self._pending: dict[PartitionLog, list[tuple[int, Future[None]]]] = {}
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.fsync_rounds = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hub-log-flusher", daemon=True)
        self._thread.start()

    def request(self, partition: PartitionLog, offset: int) -> Future[None]:
        """A future resolved once ``partition`` is fsynced up to ``offset``."""
        future: Future[None] = Future()
        with self._condition:
            if self._stopping or self._thread is None:
                future.set_exception(LogClosedError("the store is closed"))
                return future
            self._pending.setdefault(partition, []).append((offset, future))
            self._condition.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if not self._pending and self._stopping:
                    return
                batch, self._pending = self._pending, {}
            self.fsync_rounds += 1
            for partition, waiters in batch.items():
                try:
                    partition.flush(max(offset for offset, _ in waiters))
                except Exception as exc:
                    log.error("%s: fsync failed: %s", partition.name, exc)
                    for _, future in waiters:
                        future.set_exception(exc)
                    continue
                for _, future in waiters:
                    future.set_result(None)

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
