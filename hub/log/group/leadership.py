"""Leadership: whether this node is the group coordinator now — Kafka's coordinator follows the leader of the
``__consumer_offsets`` partition — and the term that fences the writes of an earlier leadership.

States: RESIGNED (the start, and after ``resign``) ──become──► LOADING ──loaded──► ACTIVE ──resign──► RESIGNED;
any ──close──► CLOSED. Requests are answered as Kafka's GroupCoordinator answers them: NOT_COORDINATOR while
RESIGNED, COORDINATOR_LOAD_IN_PROGRESS while LOADING, COORDINATOR_NOT_AVAILABLE once CLOSED.

Each become and each resign starts a new term. A write is current only while its term is: one queued or
under way when the node resigned is not applied to the groups (nor appended, when it had not started).
A leader epoch older than the last one seen is stale: its become or resign is ignored (Kafka's coordinator epoch).

Thread-safety: none of its own; the coordinator changes it under its lock. ``is_current`` may be read without the
lock (the writer's early check; the coordinator checks again under the lock).
"""

from __future__ import annotations

from enum import Enum

from hub.log.error_codes import ErrorCode
from hub.log.errors import LogError


class Status(Enum):
    RESIGNED = "resigned"
    LOADING = "loading"
    ACTIVE = "active"
    CLOSED = "closed"


_REFUSALS = {
    Status.RESIGNED: ErrorCode.NOT_COORDINATOR,
    Status.LOADING: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    Status.CLOSED: ErrorCode.COORDINATOR_NOT_AVAILABLE,
}


class NotCoordinatorError(LogError):
    """This node does not serve groups now; ``error`` is the Kafka error to answer with."""

    def __init__(self, error: ErrorCode) -> None:
        super().__init__(f"the group coordinator is not serving ({error.name})")
        self.error = error


class Leadership:
    """This node's coordinatorship (see the module docstring)."""

    def __init__(self) -> None:
        self.status = Status.RESIGNED
        self.leader_epoch = -1
        self.term = 0

    def refusal(self) -> ErrorCode | None:
        """The error every group request gets now, or None while ACTIVE."""
        return _REFUSALS.get(self.status)

    def is_current(self, term: int) -> bool:
        """Whether a write of ``term`` may still be applied (also while closing: its writes are drained)."""
        return self.term == term and self.status in (Status.ACTIVE, Status.CLOSED)

    def begin_load(self, leader_epoch: int) -> int | None:
        """Become coordinator under ``leader_epoch``: the new term to load in, or None when there is nothing to
        load (a stale epoch, or already loading or serving — then only the epoch moves on, as in Kafka)."""
        if self.status is Status.CLOSED or leader_epoch < self.leader_epoch:
            return None
        self.leader_epoch = leader_epoch
        if self.status is not Status.RESIGNED:
            return None
        self.status = Status.LOADING
        self.term += 1
        return self.term

    def finish_load(self, term: int) -> bool:
        """Serve once loaded; False when the load was overtaken (a resign or close came meanwhile)."""
        if self.status is not Status.LOADING or self.term != term:
            return False
        self.status = Status.ACTIVE
        return True

    def resign(self, leader_epoch: int | None) -> bool:
        """Stop coordinating; False when there is nothing to stop or ``leader_epoch`` is stale."""
        if self.status in (Status.RESIGNED, Status.CLOSED):
            return False
        if leader_epoch is not None:
            if leader_epoch < self.leader_epoch:
                return False
            self.leader_epoch = leader_epoch
        self.status = Status.RESIGNED
        self.term += 1
        return True

    def close(self) -> None:
        self.status = Status.CLOSED
