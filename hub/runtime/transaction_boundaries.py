"""Where an exactly-once source task's transactions end: per poll, per interval, or where the task says.

``TransactionBoundaries`` answers the runner's two questions — after which record of a polled batch a transaction
ends (and whether it commits or aborts), and whether one ends after the whole batch — for the connector's
``transaction.boundary``:

- ``poll``: a transaction per non-empty batch; the last open one is committed when the task stops or pauses.
- ``interval``: a transaction ends after the first batch handed over once ``transaction.boundary.interval.ms``
  passed since the last one ended; committed too at stop and pause.
- ``connector``: the task calls its ``TransactionContext`` from ``poll()``; a request naming a record ends the
  transaction right after that record, one without after the batch. A transaction the task did not end stays
  open at stop (it is aborted by the store, and redone by the task's successor from the committed offsets).

An abort drops the transaction's records; their source offsets are still committed (in a transaction of their
own), as Connect does, so the task is not handed the records it chose to abort again.

Thread-safety: used on the task's thread only (``poll()`` runs there).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from hub.runtime.exactly_once_config import Boundary
from hub.sdk.connector import TransactionContext
from hub.sdk.records import SourceRecord


class End(Enum):
    """How a transaction ends."""

    COMMIT = "commit"
    ABORT = "abort"


@dataclass(frozen=True)
class Segment:
    """Records of a batch that belong to one transaction, and how that transaction ends after them (None: it
    stays open)."""

    records: Sequence[SourceRecord]
    end: End | None


class TaskTransactionContext(TransactionContext):
    """The TransactionContext a task gets with ``transaction.boundary=connector``: it only records requests."""

    def __init__(self) -> None:
        self.batch_end: End | None = None
        self.record_ends: dict[int, End] = {}  # id() of a record of the current batch → how its transaction ends

    def commit_transaction(self, record: SourceRecord | None = None) -> None:
        self._request(record, End.COMMIT)

    def abort_transaction(self, record: SourceRecord | None = None) -> None:
        self._request(record, End.ABORT)

    def _request(self, record: SourceRecord | None, end: End) -> None:
        if record is None:
            self.batch_end = end
        else:
            self.record_ends[id(record)] = end

    def take(self) -> tuple[End | None, dict[int, End]]:
        """The requests made since the last call, cleared."""
        requests = self.batch_end, self.record_ends
        self.batch_end, self.record_ends = None, {}
        return requests


class TransactionBoundaries:
    """Splits polled batches into transactions (see the module docstring)."""

    def __init__(self, boundary: Boundary, interval_s: float) -> None:
        self.boundary = boundary
        self._interval_s = interval_s
        self._last_end = time.monotonic()
        self.context = TaskTransactionContext() if boundary is Boundary.CONNECTOR else None

    def split(self, batch: Sequence[SourceRecord]) -> list[Segment]:
        """The batch cut where transactions end, in order; the last segment may leave its transaction open."""
        if self.context is not None:
            batch_end, record_ends = self.context.take()
            segments: list[Segment] = []
            start = 0
            if record_ends:
                for index, record in enumerate(batch):
                    end = record_ends.get(id(record))
                    if end is not None:
                        segments.append(Segment(batch[start : index + 1], end))
                        start = index + 1
            rest = batch[start:]
            if rest or batch_end is not None:
                segments.append(Segment(rest, batch_end))
            return segments
        if not batch:
            return []
        if self.boundary is Boundary.POLL:
            return [Segment(batch, End.COMMIT)]
        now = time.monotonic()
        if now - self._last_end >= self._interval_s:
            return [Segment(batch, End.COMMIT)]
        return [Segment(batch, None)]

    def ended(self) -> None:
        """A transaction ended (the interval restarts)."""
        self._last_end = time.monotonic()

    def due(self) -> bool:
        """With ``interval``: the open transaction should end even though no batch came (an idle source)."""
        return self.boundary is Boundary.INTERVAL and time.monotonic() - self._last_end >= self._interval_s

    @property
    def commits_at_stop(self) -> bool:
        """Whether an open transaction is committed when the task stops or pauses (not with ``connector``)."""
        return self.boundary is not Boundary.CONNECTOR
