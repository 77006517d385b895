"""The active controller (on the Raft leader only) and each node's ``BrokerLifecycle``.

Heartbeats are replicated commands (``MetadataQuorum.heartbeat``). pysyncobj offers no other authenticated
channel between nodes, and a heartbeat costs one small journal entry: a few per second for a whole cluster. It
also keeps the broker transitions in the replicated, deterministic code: a heartbeat unfences its broker (and
elects it where it is the only ISR member of an offline partition), a heartbeat with ``want_fence`` fences it
(controlled shutdown: its leaderships move before the process goes), and a heartbeat of an old incarnation is
refused, so a restarted process registers again (and starts fenced, out of the ISRs).

The controller acts on time, which is not replicated: every node applies every heartbeat and notes when, but
only the Raft leader's ``QuorumController`` fences a broker whose last heartbeat is older than
``broker.session.timeout.ms``. Unlike Kafka's, a new controller knows when every broker last heartbeated (it
applied the heartbeats as a follower), so a broker lost with the old controller is fenced on time; live brokers
get at least half a session after the takeover for their next heartbeat to commit. The controller
also restores preferred leaders every ``leader.imbalance.check.interval.seconds`` when
``auto.leader.rebalance.enable`` is on (for brokers above ``leader.imbalance.per.broker.percentage``), and
elects uncleanly where a topic (or the broker default) allows it.

A node stops in this order: ``BrokerLifecycle.close()`` (controlled shutdown, through the quorum), then
``MetadataQuorum.close()`` (which hands Raft leadership over), then ``QuorumController.close()``.

Thread-safe: each object runs one daemon thread of its own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from hub.log.cluster.metadata import NO_LEADER, ClusterMetadata, unclean_enabled
from hub.log.cluster.quorum import MetadataQuorum, TopicPartition
from hub.log.errors import BrokerIdNotRegisteredError, LogError, StaleBrokerEpochError

log = logging.getLogger("hub.log.cluster.controller")


class QuorumController:
    """Fences silent brokers, restores preferred leaders and runs unclean elections, while its node leads Raft."""

    def __init__(
        self,
        quorum: MetadataQuorum,
        *,
        session_timeout_ms: int = 2000,
        heartbeat_interval_ms: int = 500,
        auto_leader_rebalance: bool = True,
        imbalance_check_interval_s: float = 300.0,
        imbalance_percentage: int = 10,
    ) -> None:
        self.quorum = quorum
        self.imbalance_percentage = imbalance_percentage
        self.session_timeout_s = session_timeout_ms / 1000
        self.heartbeat_interval_s = heartbeat_interval_ms / 1000
        self.auto_leader_rebalance = auto_leader_rebalance
        self.imbalance_check_interval_s = imbalance_check_interval_s
        self._tick_s = min(0.1, self.session_timeout_s / 10)
        self._active_since: float | None = None
        self._next_rebalance = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"hub-controller-{quorum.node_id}", daemon=True)

    @property
    def active(self) -> bool:
        return self._active_since is not None

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self.tick()
            except LogError as exc:
                log.info("controller %d: %s", self.quorum.node_id, exc)
            except Exception:
                log.exception("controller %d: tick failed", self.quorum.node_id)

    def tick(self) -> None:
        """One round of the controller's duties (a no-op unless this node leads Raft)."""
        if not self.quorum.is_leader():
            self._active_since = None
            return
        now = time.monotonic()
        if self._active_since is None:
            self.quorum.set_controller(self.quorum.node_id)
            self._active_since = now
            self._next_rebalance = now + self.imbalance_check_interval_s
            log.info("controller %d is active", self.quorum.node_id)
        state = self.quorum.snapshot()
        self._fence_silent_brokers(state, now)
        self._elect_unclean(self.quorum.snapshot())
        if self.auto_leader_rebalance and now >= self._next_rebalance:
            self._next_rebalance = now + self.imbalance_check_interval_s
            self.rebalance_leaders()

    def _fence_silent_brokers(self, state: ClusterMetadata, now: float) -> None:
        assert self._active_since is not None
        for node_id, broker in sorted(state.brokers.items()):
            if broker.fenced:
                continue
            # Heartbeats are replicated, so this node saw them as a follower too: a broker that stopped before
            # the takeover is fenced on time. Live ones get half a session after it to get through again.
            last = self.quorum.last_heartbeat(node_id)
            session = self.session_timeout_s
            if self.quorum.voter_unreachable(node_id):
                # A voter whose Raft connection is down and that missed two heartbeats cannot get one through:
                # fence it now rather than at the session's end (a killed process drops its connections at once).
                session = min(session, 2 * self.heartbeat_interval_s)
            deadline = max(
                self._active_since + session / 2,
                (self._active_since if last is None else last) + session,
            )
            if now > deadline:
                log.warning("controller %d: broker %d missed its heartbeats; fencing it", self.quorum.node_id, node_id)
                self.quorum.fence_broker(node_id)

    def _elect_unclean(self, state: ClusterMetadata) -> None:
        offline: list[TopicPartition] = []
        for name, topic in sorted(state.topics.items()):
            if not unclean_enabled(topic, self.quorum.unclean_leader_election, state):
                continue
            for index, part in enumerate(topic.partitions):
                if part.leader == NO_LEADER and any(state.is_live(r) for r in part.replicas):
                    offline.append((name, index))
        if offline:
            log.warning("controller %d: unclean leader election for %s", self.quorum.node_id, offline)
            self.quorum.elect_leaders(offline, unclean=True)

    def rebalance_leaders(self) -> dict[TopicPartition, LogError | None]:
        """Kafka's auto leader rebalance: for each broker whose share of partitions it prefers but does not lead
        exceeds ``leader.imbalance.per.broker.percentage``, elect it where it is live and in the ISR."""
        state = self.quorum.snapshot()
        preferred: dict[int, list[TopicPartition]] = {}
        not_led: dict[int, list[TopicPartition]] = {}
        for name, topic in sorted(state.topics.items()):
            for index, part in enumerate(topic.partitions):
                node = part.preferred_leader
                preferred.setdefault(node, []).append((name, index))
                if part.leader != node and node in part.isr and state.is_live(node):
                    not_led.setdefault(node, []).append((name, index))
        wanted = [
            tp
            for node, partitions in sorted(not_led.items())
            if len(partitions) * 100 > self.imbalance_percentage * len(preferred[node])
            for tp in partitions
        ]
        return self.quorum.elect_leaders(wanted, unclean=False) if wanted else {}


class BrokerLifecycle:
    """A node's broker side of the quorum: registers (with an incarnation id new per process), heartbeats every
    ``broker.heartbeat.interval.ms``, and on ``close`` shuts down in a controlled way (fences itself first)."""

    def __init__(
        self,
        quorum: MetadataQuorum,
        host: str,
        port: int,
        *,
        rack: str | None = None,
        heartbeat_interval_ms: int = 500,
    ) -> None:
        self.quorum = quorum
        self.node_id = quorum.node_id
        self.host, self.port, self.rack = host, port, rack
        self.incarnation = uuid.uuid4().hex
        self.interval_s = heartbeat_interval_ms / 1000
        self.registered = threading.Event()
        #: When the last heartbeat that the quorum applied was sent (monotonic s); None before the first.
        self.last_contact: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"hub-broker-lifecycle-{self.node_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, controlled_shutdown: bool = True, timeout_s: float = 5.0) -> None:
        """Stop heartbeating; with ``controlled_shutdown`` first fence this broker so its leaderships move."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if controlled_shutdown and self.registered.is_set():
            try:
                self.quorum.heartbeat(self.node_id, self.incarnation, want_fence=True, timeout_s=timeout_s)
            except LogError as exc:
                log.warning("broker %d: controlled shutdown failed: %s", self.node_id, exc)

    def _register(self) -> None:
        self.quorum.register_broker(self.node_id, self.host, self.port, self.incarnation, self.rack)
        self.registered.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if not self.registered.is_set():
                    self._register()
                self.quorum.heartbeat(self.node_id, self.incarnation, timeout_s=max(self.interval_s * 4, 1.0))
                self.last_contact = started
            except (StaleBrokerEpochError, BrokerIdNotRegisteredError):
                self.registered.clear()
            except LogError as exc:
                log.debug("broker %d: heartbeat failed: %s", self.node_id, exc)
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
