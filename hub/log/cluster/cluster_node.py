"""ClusterNode: one node's parts of a replicated store, wired — its member of the metadata quorum, the controller
that acts while this node leads the quorum, the broker lifecycle (registration, heartbeats, controlled shutdown)
and the replica manager (leaders and followers of the partitions the metadata assigns here).

``start`` is called once the node's Kafka listener is up (followers fetch from it as soon as the node is
registered); ``close`` shuts down in Kafka's order: leaderships are moved away first (controlled shutdown), then
replication stops, then the quorum member leaves. Topic changes go through the quorum and return once this
node's store mirrors them, so a client that created a topic here can use it here at once.

Thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from hub.log.cluster.controller import BrokerLifecycle, QuorumController
from hub.log.cluster.metadata import ClusterMetadata, TopicState
from hub.log.cluster.quorum import MetadataQuorum
from hub.log.cluster.replica_manager import ReplicaManager
from hub.log.cluster.settings import ClusterSettings
from hub.log.cluster.transitions import create_topic as plan_topic
from hub.log.config import TopicConfig
from hub.log.errors import LogError, QuorumTimeoutError, TopicExistsError
from hub.log.group import GroupCoordinator
from hub.log.group.offsets_log import OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS
from hub.log.partition import PartitionLog
from hub.log.store import KAFKA_INTERNAL_TOPICS, TopicStore
from hub.log.txn.contracts import TRANSACTION_STATE_TOPIC

if TYPE_CHECKING:
    from hub.log.txn.coordinator import TransactionCoordinator

log = logging.getLogger("hub.log.cluster")

#: How long a topic change waits for this node's store to mirror it after the quorum committed it.
MIRROR_TIMEOUT_S = 10.0


class ClusterNode:
    """See the module docstring. ``on_high_watermark`` wakes the listener's waiting fetches."""

    def __init__(
        self, settings: ClusterSettings, store: TopicStore, *, on_high_watermark: Callable[[PartitionLog], None]
    ) -> None:
        self.settings = settings
        self.node_id = settings.node_id
        self.store = store
        self.quorum = MetadataQuorum(
            settings.node_id,
            {node: f"{host}:{port}" for node, (host, port) in settings.voters.items()},
            store.data_dir,
            password=settings.quorum_password,
            unclean_leader_election=settings.unclean_leader_election,
            default_replication_factor=settings.default_replication_factor,
        )
        self.replicas = ReplicaManager(
            store,
            self.quorum,
            settings.replication,
            on_high_watermark=on_high_watermark,
            in_touch=self.in_touch,
        )
        self.controller = QuorumController(
            self.quorum,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            auto_leader_rebalance=settings.auto_leader_rebalance,
            imbalance_check_interval_s=settings.leader_imbalance_check_interval_s,
            imbalance_percentage=settings.leader_imbalance_percentage,
        )
        self.lifecycle: BrokerLifecycle | None = None
        #: Who coordinates a transactional id (FindCoordinator); set with the transaction coordinator's placement.
        self.transaction_node: Callable[[str], tuple[int, str, int] | None] | None = None
        self._coordinator_moves: ThreadPoolExecutor | None = None
        self._mirrored = threading.Condition()
        self._closing = threading.Event()
        self._catch_up = threading.Thread(target=self._wait_caught_up, name="hub-cluster-catch-up", daemon=True)
        self.quorum.add_listener(self._on_metadata)

    def start(self, host: str, port: int) -> None:
        """Join the quorum and register as a broker reachable at ``host:port`` (the advertised listener)."""
        advertised = self.settings.advertised or (host, port)
        if self.settings.quorum_password is None and self.node_id in self.settings.voters:
            log.warning(
                "controller.quorum.password is not set: whoever reaches the quorum port %s:%d can run code in this "
                "process (docs/replication.md, Security); set it, and keep the port private",
                *self.settings.voters[self.node_id],
            )
        self.replicas.start()
        self.quorum.start()
        self.controller.start()
        self.lifecycle = BrokerLifecycle(
            self.quorum,
            *advertised,
            rack=self.settings.rack,
            heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
        )
        self._catch_up.start()
        log.info(
            "node %d joining the cluster of voters %s as %s:%d",
            self.node_id,
            sorted(self.settings.voters),
            *advertised,
        )

    def _wait_caught_up(self) -> None:
        while not self._closing.is_set():
            try:
                self.quorum.wait_ready(timeout_s=5.0)
            except LogError as exc:
                log.info("node %d: waiting for the metadata quorum: %s", self.node_id, exc)
                continue
            self.replicas.activate(self.quorum.snapshot())
            with self._mirrored:
                self._mirrored.notify_all()
            if self.lifecycle is not None:
                self.lifecycle.start()  # registered (and so unfenced) only once caught up, as in Kafka
            self._ensure_offsets_topic()
            return

    def close(self) -> None:
        self._closing.set()
        if self.lifecycle is not None:
            self.lifecycle.close(controlled_shutdown=True)
        self.controller.close()
        self.replicas.close()
        if self._coordinator_moves is not None:
            self._coordinator_moves.shutdown(wait=True)
        self.quorum.close()

    def _on_metadata(self, old: ClusterMetadata, new: ClusterMetadata) -> None:
        self.replicas.on_metadata(old, new)
        with self._mirrored:
            self._mirrored.notify_all()

    def in_touch(self) -> bool:
        """Whether this node's last applied heartbeat was sent within ``broker.session.timeout.ms``. A node out of
        touch must assume the controller fenced it and moved its leaderships: it stops leading (its acks=all
        writes could not commit anyway) and closes its clients' connections, so they ask another node."""
        lifecycle = self.lifecycle
        contact = lifecycle.last_contact if lifecycle is not None else None
        return contact is not None and time.monotonic() - contact < self.settings.session_timeout_ms / 1000

    def serving(self) -> bool:
        """Whether the Kafka listener serves requests: not while this node is out of touch with the quorum after
        having been in touch (see ``in_touch``)."""
        return not self.replicas.out_of_touch

    def metadata(self) -> ClusterMetadata:
        return self.quorum.snapshot()

    @property
    def cluster_id(self) -> str:
        return self.quorum.snapshot().cluster_id

    # --- topics ------------------------------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int,
        assignments: Mapping[int, Sequence[int]] | None,
        configs: Mapping[str, str],
        *,
        validate_only: bool = False,
        exists_ok: bool = False,
    ) -> TopicState:
        """Create a topic through the quorum (Kafka's CreateTopics rules and errors); -1 replicas means
        ``default.replication.factor``, and Kafka's internal topics get min(``offsets.topic.replication.factor``,
        live brokers). Returns once this node's store holds the topic."""
        TopicConfig.build(configs)
        ordered = None
        if assignments:
            ordered = [list(assignments[index]) for index in sorted(assignments)]
            if sorted(assignments) != list(range(len(assignments))):
                from hub.log.errors import InvalidReplicaAssignmentError

                raise InvalidReplicaAssignmentError(
                    f"partition indexes {sorted(assignments)} are not consecutive from 0"
                )
        factor = replication_factor
        if factor == -1:
            factor = self.settings.default_replication_factor
            if name in KAFKA_INTERNAL_TOPICS:
                factor = max(1, min(self.settings.offsets_topic_replication_factor, len(self.settings.voters)))
        if validate_only:
            start = int.from_bytes(uuid.uuid4().bytes[:4], "big")
            _, planned = plan_topic(self.metadata(), name, "0" * 32, partitions, factor, ordered, configs, start)
            return planned
        try:
            topic = self.quorum.create_topic(name, partitions, factor, ordered, configs)
        except TopicExistsError:
            if not exists_ok:
                raise
            topic = self.metadata().topics[name]
        self._wait_mirrored(lambda: self._has_local(topic), f"topic {name!r} to appear in this node's store")
        return topic

    def create_partitions(
        self, name: str, total: int, assignments: Sequence[Sequence[int]] | None = None
    ) -> TopicState:
        """Grow a topic through the quorum; returns once this node's store has the new partitions."""
        topic = self.quorum.create_partitions(name, total, assignments)
        self._wait_mirrored(
            lambda: name in self.store.topics() and self.store.topics()[name].partitions >= total,
            f"topic {name!r} to have {total} partitions in this node's store",
        )
        return topic

    def delete_topic(self, name: str) -> None:
        self.quorum.delete_topic(name)
        self._wait_mirrored(lambda: name not in self.store.topics(), f"topic {name!r} to leave this node's store")

    def _has_local(self, topic: TopicState) -> bool:
        local = self.store.topics().get(topic.name)
        return local is not None and local.topic_id == topic.topic_id

    def _wait_mirrored(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + MIRROR_TIMEOUT_S
        with self._mirrored:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QuorumTimeoutError(f"timed out waiting for {what}")
                self._mirrored.wait(min(remaining, 0.1))

    # --- groups ------------------------------------------------------------------------------------------------

    def follow_coordinator(
        self, coordinator: GroupCoordinator, transactions: TransactionCoordinator | None = None
    ) -> None:
        """Make ``coordinator`` coordinate while this node leads ``__consumer_offsets`` partition 0 (Kafka's
        coordinator moves with that leadership), and ``transactions`` the ids of each ``__transaction_state``
        partition this node leads. Their loads and resignations run in order on one thread, never on the metadata
        dispatcher."""
        moves = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-coordinator-moves")
        self._coordinator_moves = moves

        def on_leadership(topic: str, partition: int, epoch: int | None) -> None:
            if topic == TRANSACTION_STATE_TOPIC and transactions is not None:
                if epoch is None:
                    moves.submit(self._log_failure, transactions.resign, partition)
                else:
                    moves.submit(self._log_failure, transactions.become_coordinator, partition, epoch)
                return
            if (topic, partition) != (OFFSETS_TOPIC, 0):
                return
            if epoch is None:
                moves.submit(self._log_failure, coordinator.resign)
            else:
                moves.submit(self._log_failure, coordinator.become_coordinator, epoch)

        self.replicas.on_leadership = on_leadership

    @staticmethod
    def _log_failure(call: Callable[..., None], *args: object) -> None:
        try:
            call(*args)
        except Exception:
            log.exception("group coordinator: %s failed", getattr(call, "__name__", call))

    def coordinator_node(self) -> tuple[int, str, int] | None:
        """Who coordinates groups: the leader of ``__consumer_offsets`` partition 0 (None while it has none)."""
        return self.partition_leader(OFFSETS_TOPIC, 0)

    def _ensure_offsets_topic(self) -> None:
        """Create ``__consumer_offsets`` once enough brokers are registered for its replication factor."""
        while not self._closing.is_set():
            try:
                self.create_topic(OFFSETS_TOPIC, 1, -1, None, OFFSETS_TOPIC_CONFIGS, exists_ok=True)
                return
            except LogError as exc:
                log.debug("node %d: %s not created yet: %s", self.node_id, OFFSETS_TOPIC, exc)
                self._closing.wait(0.5)

    def partition_leader(self, topic: str, partition: int) -> tuple[int, str, int] | None:
        """(node id, host, port) of a partition's leader, None while it has none (or the topic is unknown)."""
        metadata = self.metadata()
        state = metadata.topics.get(topic)
        if state is None or partition >= len(state.partitions):
            return None
        broker = metadata.brokers.get(state.partitions[partition].leader)
        if broker is None or broker.fenced:
            return None
        return broker.node_id, broker.host, broker.port
