"""The distributed herder's strategies: what of the group's work runs here, and who may write.

- GroupPlacement: the connectors and tasks the group's leader assigned to this worker; the Reconciler runs exactly
  those. Replaced whole by the membership thread on every assignment.
- LeaderGate: only the leader writes. Elsewhere a write raises NotLeaderError carrying the leader's URL, and the
  REST layer forwards the request there. A write that arrives before this worker's first assignment (so before
  it knows its leader) waits for it, up to ``FIRST_ASSIGNMENT_WAIT_S``, unless a join fails or the worker stops.

Thread-safety: both are read from any thread and changed by the membership thread; every field is replaced whole
(an atomic reference store) or is a threading.Event.
"""

from __future__ import annotations

import threading
import time

from hub.runtime.distributed.assignor import Work
from hub.runtime.herder import NotLeaderError

#: How long a write that arrives before the worker's first assignment waits for it (and so for a known leader).
FIRST_ASSIGNMENT_WAIT_S = 30.0


class GroupPlacement:
    """Placement of a worker of a group: its share of the group's assignment."""

    def __init__(self) -> None:
        self._work: frozenset[Work] = frozenset()

    @property
    def work(self) -> frozenset[Work]:
        """Every connector and task assigned to this worker."""
        return self._work

    def replace(self, work: frozenset[Work]) -> None:
        self._work = work

    def owns_connector(self, name: str) -> bool:
        return Work(name) in self._work

    def owned_tasks(self, name: str, count: int) -> set[int]:
        return {w.task for w in self._work if w.connector == name and w.task is not None and w.task < count}


class LeaderGate:
    """Write gate of a worker of a group: only its leader writes (see the module docstring)."""

    def __init__(self, worker_url: str) -> None:
        self._worker_url = worker_url
        self._leader_url: str | None = None
        self._assigned = threading.Event()  # set once the first assignment is applied
        self._join_failed = threading.Event()  # a join failed: writes waiting for the first assignment give up
        self._closing = threading.Event()

    @property
    def leader_url(self) -> str | None:
        """The URL of the group's leader, None until the first assignment names it."""
        return self._leader_url

    @property
    def is_leader(self) -> bool:
        return self._leader_url == self._worker_url

    def leader_is(self, url: str) -> None:
        """An assignment named the leader."""
        self._leader_url = url

    def assignment_applied(self) -> None:
        """This worker applied an assignment: writes waiting for the first one go on."""
        self._assigned.set()

    def join_failed(self) -> None:
        """A join failed: writes waiting for the first assignment stop waiting."""
        self._join_failed.set()

    def close(self) -> None:
        """The worker stops: writes stop waiting."""
        self._closing.set()

    def check(self) -> None:
        deadline = time.monotonic() + FIRST_ASSIGNMENT_WAIT_S
        while not (self._assigned.is_set() or self._join_failed.is_set() or self._closing.is_set()):
            if time.monotonic() > deadline:  # a worker just started learns its leader in a moment: wait for it
                break
            self._assigned.wait(0.1)
        if not self.is_leader:
            raise NotLeaderError(self._leader_url)

    def wait_for_leader(self, timeout_s: float) -> None:
        """Block until an assignment named the leader (NotLeaderError after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self._leader_url is None:
            if time.monotonic() > deadline:
                raise NotLeaderError(None, f"worker {self._worker_url} did not join its group in {timeout_s:.0f} s")
            time.sleep(0.05)
