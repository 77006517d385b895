"""PartitionLeadership: what the leader of one partition tracks — its leader epoch and ISR as the metadata gave
them, each follower's log end offset and when it was last caught up, the high watermark, and the acks=all
produce requests waiting for it.

Kafka's rules (``Partition.scala``, ``Replica.scala``): the high watermark is the least log end offset among the
in-sync replicas (the leader's own included) and never moves back while this node leads; a follower is caught up
when its fetch reaches the leader's log end offset as it was at that fetch or at the one before; the leader asks
the controller to add a follower to the ISR once its log end offset reaches the high watermark, and to remove one
not caught up for ``replica.lag.time.max.ms``.

Thread-safe: one lock per partition; futures are resolved outside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from hub.log.cluster.metadata import PartitionState
from hub.log.errors import (
    FencedLeaderEpochError,
    NotEnoughReplicasError,
    NotLeaderOrFollowerError,
    UnknownLeaderEpochError,
)
from hub.log.partition import PartitionLog


@dataclass
class FollowerProgress:
    """One follower as the leader sees it; ``log_end_offset`` is -1 until its first fetch in this epoch."""

    log_end_offset: int = -1
    last_caught_up_ms: float = field(default_factory=lambda: time.monotonic() * 1000)
    last_fetch_leader_end: int = 0
    last_fetch_ms: float = 0.0


class PartitionLeadership:
    """This node leads ``log`` in ``state.leader_epoch`` (see the module docstring)."""

    def __init__(self, node_id: int, log: PartitionLog, state: PartitionState, *, min_insync: Callable[[], int]):
        self.node_id = node_id
        self.log = log
        self._min_insync = min_insync
        self._lock = threading.Lock()
        self.state = state
        self.followers = {replica: FollowerProgress() for replica in state.replicas if replica != node_id}
        self._waiters: list[tuple[int, Future[None]]] = []
        self.resigned = False
        log.start_leader_epoch(state.leader_epoch)
        log.update_high_watermark(min(log.checkpointed_high_watermark, log.log_end_offset))

    @property
    def epoch(self) -> int:
        return self.state.leader_epoch

    def min_insync(self) -> int:
        """The partition's ``min.insync.replicas`` now (a topic config change applies at once)."""
        return self._min_insync()

    def update(self, state: PartitionState) -> None:
        """The same leadership with a new ISR or replica set (same leader epoch, newer partition epoch)."""
        with self._lock:
            self.state = state
            for replica in state.replicas:
                if replica != self.node_id and replica not in self.followers:
                    self.followers[replica] = FollowerProgress()
            for replica in list(self.followers):
                if replica not in state.replicas and replica not in state.adding:
                    del self.followers[replica]
        self.maybe_advance()

    def check_epoch(self, requested: int) -> None:
        """A request's ``current_leader_epoch`` (-1: not given) against this leadership's."""
        if requested < 0 or requested == self.epoch:
            return
        if requested < self.epoch:
            raise FencedLeaderEpochError(f"{self.log.name}: leader epoch {requested} is older than {self.epoch}")
        raise UnknownLeaderEpochError(f"{self.log.name}: leader epoch {requested} is newer than {self.epoch}")

    def check_can_append(self, acks: int) -> None:
        if self.resigned:
            raise NotLeaderOrFollowerError(f"{self.log.name}: this node no longer leads it")
        required = self.min_insync()
        if acks == -1 and len(self.state.isr) < required:
            raise NotEnoughReplicasError(
                f"{self.log.name}: {len(self.state.isr)} in-sync replica(s) {list(self.state.isr)}, "
                f"min.insync.replicas is {required}"
            )

    def record_fetch(self, replica: int, fetch_offset: int) -> bool:
        """A follower fetched from ``fetch_offset`` (so its log ends there); True when it should join the ISR."""
        now = time.monotonic() * 1000
        leader_end = self.log.log_end_offset
        with self._lock:
            progress = self.followers.get(replica)
            if progress is None:
                raise NotLeaderOrFollowerError(f"{self.log.name}: node {replica} is not one of its replicas")
            progress.log_end_offset = fetch_offset
            if fetch_offset >= leader_end:
                progress.last_caught_up_ms = now
            elif fetch_offset >= progress.last_fetch_leader_end:
                progress.last_caught_up_ms = max(progress.last_caught_up_ms, progress.last_fetch_ms)
            progress.last_fetch_leader_end = leader_end
            progress.last_fetch_ms = now
            joins = (
                replica not in self.state.isr
                and replica in self.state.replicas + self.state.adding
                and fetch_offset >= self.log.high_watermark
                and fetch_offset >= self._epoch_start()
            )
        self.maybe_advance()
        return joins

    def _epoch_start(self) -> int:
        epochs = self.log.epochs
        return epochs[-1][1] if epochs and epochs[-1][0] == self.epoch else 0

    def lagging(self, lag_ms: float) -> list[int]:
        """ISR followers not caught up within ``lag_ms``."""
        now = time.monotonic() * 1000
        with self._lock:
            return [
                replica
                for replica in self.state.isr
                if replica != self.node_id
                and replica in self.followers
                and now - self.followers[replica].last_caught_up_ms > lag_ms
            ]

    def maybe_advance(self) -> bool:
        """Move the high watermark to the ISR's least log end offset; True when it moved."""
        with self._lock:
            ends = [self.log.log_end_offset]
            for replica in self.state.isr:
                if replica != self.node_id:
                    progress = self.followers.get(replica)
                    ends.append(progress.log_end_offset if progress is not None else -1)
            moved = self.log.update_high_watermark(min(ends))
            high_watermark = self.log.high_watermark
            ready = [waiter for waiter in self._waiters if waiter[0] <= high_watermark]
            self._waiters = [waiter for waiter in self._waiters if waiter[0] > high_watermark]
        for _, future in ready:
            if not future.done():
                future.set_result(None)
        return moved

    def replicated(self, end_offset: int) -> Future[None]:
        """A future resolved once the high watermark reaches ``end_offset`` (an acks=all produce's wait)."""
        future: Future[None] = Future()
        with self._lock:
            if self.resigned:
                future.set_exception(NotLeaderOrFollowerError(f"{self.log.name}: this node no longer leads it"))
                return future
            self._waiters.append((end_offset, future))
        self.maybe_advance()
        return future

    def resign(self) -> None:
        """Leadership ended: every waiting acks=all produce fails with NOT_LEADER_OR_FOLLOWER (the producer
        retries on the new leader; an idempotent producer's retry is deduplicated there)."""
        with self._lock:
            self.resigned = True
            waiters, self._waiters = self._waiters, []
        for _, future in waiters:
            if not future.done():
                future.set_exception(NotLeaderOrFollowerError(f"{self.log.name}: leadership moved"))
