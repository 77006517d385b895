"""Group commit: one thread fsyncs partitions for every append waiting on durability, many appends per fsync.

Appends that do not wait themselves (an event loop's) ``schedule(partition)``; the flusher thread takes every
partition scheduled so far and flushes each once, which resolves every append it covers; partitions scheduled
during an fsync are served by the next round. Threads that wait do the fsync themselves (PartitionLog.flush).
Either way N concurrent appends to a partition cost about one fsync, not N.

Thread-safe. ``start()`` launches the thread, ``close()`` serves what is queued, then stops it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from hub.log.errors import LogClosedError

if TYPE_CHECKING:
    from hub.log.partition import PartitionLog

log = logging.getLogger("hub.log.flusher")


class Flusher:
    """The store's background fsync thread (see the module docstring)."""

    def __init__(self) -> None:
        self._pending: set[PartitionLog] = set()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.rounds = 0

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="hub-log-flusher", daemon=True)
        self._thread.start()

    def schedule(self, partition: PartitionLog) -> None:
        """fsync ``partition`` soon; its waiting appends are resolved by PartitionLog.flush."""
        with self._condition:
            if self._thread is None:
                raise LogClosedError("the store's flusher is not running")
            self._pending.add(partition)
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if not self._pending and self._stopping:
                    return
                batch, self._pending = self._pending, set()
            self.rounds += 1
            for partition in batch:
                try:
                    partition.flush()
                except Exception as exc:
                    log.error("%s: background flush failed: %s", partition.name, exc)

    def close(self) -> None:
        """Serve what is scheduled, then stop the thread."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
