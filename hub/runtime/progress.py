"""Live progress of a running task, published with its status so `hub connectors status` and the REST status show
it on every worker of a cluster.

Every task reports what the runtime counts — ``records`` moved since it started and ``records_per_second`` over the
last interval — plus what its runner knows (a sink's ``lag_records``: records behind the end of its partitions)
and what the task itself reports through ``Task.progress()`` (e.g. a change-data-capture source's ``lag_bytes`` of
WAL not yet read, or ``phase``, ``done`` and ``total`` while it snapshots). When ``done`` and ``total`` are given
and records are moving, ``percent`` and ``eta_seconds`` are added.

The runtime's figures win: a key the task reports under one of the runtime's names (``RUNTIME_KEYS`` or its
runner's) is dropped, so ``records`` is always what the runtime counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

#: How often a running task publishes its progress.
INTERVAL_S = 5.0

#: The figures the meter itself computes; a task's ``progress()`` cannot replace them.
RUNTIME_KEYS = frozenset({"records", "records_per_second", "percent", "eta_seconds"})


class ProgressMeter:
    """Counts a task's records and says, every ``interval_s``, what to publish. Used by the task's thread only."""

    def __init__(self, publish: Callable[[dict[str, Any]], None], interval_s: float = INTERVAL_S) -> None:
        self._publish = publish
        self.interval_s = interval_s
        self.records = 0
        self._last_records = 0
        self._last_at = time.monotonic()
        self._next_at = self._last_at + interval_s
        self._last_published: dict[str, Any] | None = None

    def add(self, count: int) -> None:
        self.records += count

    def due(self) -> bool:
        return time.monotonic() >= self._next_at

    def publish(self, extra: Mapping[str, Any] | None) -> None:
        """Publishes the counts with ``extra`` (the runner's and the task's own figures, never replacing the
        counts) when they changed."""
        now = time.monotonic()
        elapsed = max(now - self._last_at, 1e-9)
        rate = (self.records - self._last_records) / elapsed
        self._last_records, self._last_at, self._next_at = self.records, now, now + self.interval_s
        progress: dict[str, Any] = {**(extra or {}), "records": self.records, "records_per_second": round(rate, 1)}
        done, total = progress.get("done"), progress.get("total")
        if isinstance(done, int | float) and isinstance(total, int | float) and total > 0:
            progress["percent"] = round(min(100.0, 100.0 * done / total), 1)
            if rate > 0 and total > done:
                progress["eta_seconds"] = round((total - done) / rate)
        if progress != self._last_published:
            self._last_published = progress
            self._publish(progress)
