"""SingleNodeCluster: the ``ClusterAdmin`` of a store with no metadata quorum — a cluster of exactly one node.

What a one-node Kafka (KRaft, combined mode) cluster is: one broker, node ``NODE_ID``, which is also the controller
and the only voter of the metadata quorum, and so its leader. Every partition has that broker as its only replica,
ISR member and leader, so no election is ever needed (ElectLeaders answers ELECTION_NOT_NEEDED), no reassignment can
move anything (a target of that broker is already in place; cancelling finds NO_REASSIGNMENT_IN_PROGRESS), and
CreatePartitions is ``TopicStore.add_partitions``. The store keeps its metadata in ``topics.json`` rather than in a
log, so the quorum's metadata log is reported empty (offset 0) at epoch 0, the leader's fetch times being now (as
Kafka reports them for a leader).

Thread-safe: every call reads or changes the TopicStore, which is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hub.log.errors import (
    ElectionNotNeededError,
    InvalidReplicaAssignmentError,
    LogError,
    NoReassignmentInProgressError,
    UnknownTopicOrPartitionError,
)
from hub.log.server.cluster_view import QuorumStatus, ReplicaStatus, TopicPartition
from hub.log.server.context import ServerIdentity
from hub.log.store import TopicInfo, TopicStore

NODE_ID = 0
LISTENER_NAME = "PLAINTEXT"


@dataclass(frozen=True, slots=True)
class LocalBroker:
    """The one broker (a BrokerView)."""

    node_id: int
    host: str
    port: int
    rack: str | None = None
    fenced: bool = False


@dataclass(frozen=True, slots=True)
class LocalPartition:
    """A partition of the one node: its only replica, ISR member and leader (a PartitionView)."""

    replicas: tuple[int, ...] = (NODE_ID,)
    isr: tuple[int, ...] = (NODE_ID,)
    leader: int = NODE_ID
    leader_epoch: int = 0
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalTopic:
    """A topic of the one node (a TopicView)."""

    name: str
    partitions: tuple[LocalPartition, ...]


@dataclass(frozen=True, slots=True)
class LocalCluster:
    """The one node's metadata (a ClusterView)."""

    cluster_id: str
    brokers: Mapping[int, LocalBroker]
    topics: Mapping[str, LocalTopic]
    controller_id: int = NODE_ID


class SingleNodeCluster:
    """A cluster of one node over its TopicStore (see the module docstring)."""

    def __init__(self, store: TopicStore, identity: ServerIdentity, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.identity = identity
        self.clock = clock

    def _broker(self) -> LocalBroker:
        return LocalBroker(NODE_ID, self.identity.host, self.identity.port)

    def snapshot(self) -> LocalCluster:
        topics = {name: _local_topic(info) for name, info in self.store.topics().items()}
        return LocalCluster(self.identity.cluster_id, {NODE_ID: self._broker()}, topics)

    def create_partitions(self, name: str, total: int, assignments: Sequence[Sequence[int]] | None = None) -> TopicInfo:
        for replicas in assignments or ():
            if list(replicas) != [NODE_ID]:
                raise InvalidReplicaAssignmentError(
                    f"The manual partition assignment {list(replicas)} is not [{NODE_ID}], the only broker."
                )
        return self.store.add_partitions(name, total)

    def elect_leaders(
        self, partitions: Sequence[TopicPartition] | None, unclean: bool
    ) -> dict[TopicPartition, LogError | None]:
        topics = self.store.topics()
        if partitions is None:
            partitions = [(name, p) for name, info in sorted(topics.items()) for p in range(info.partitions)]
        results: dict[TopicPartition, LogError | None] = {}
        for topic, partition in partitions:
            info = topics.get(topic)
            if info is None or not 0 <= partition < info.partitions:
                results[(topic, partition)] = UnknownTopicOrPartitionError(f"No such partition as {topic}-{partition}")
            else:
                results[(topic, partition)] = ElectionNotNeededError("Leader election not needed for topic partition.")
        return results

    def alter_reassignments(
        self, reassignments: Mapping[TopicPartition, Sequence[int] | None]
    ) -> dict[TopicPartition, LogError | None]:
        topics = self.store.topics()
        results: dict[TopicPartition, LogError | None] = {}
        for (topic, partition), target in reassignments.items():
            info = topics.get(topic)
            if info is None or not 0 <= partition < info.partitions:
                results[(topic, partition)] = UnknownTopicOrPartitionError(
                    f"Unable to find partition {topic}:{partition}."
                )
            elif target is None:
                results[(topic, partition)] = NoReassignmentInProgressError("No partition reassignment is in progress.")
            elif list(target) != [NODE_ID]:
                results[(topic, partition)] = InvalidReplicaAssignmentError(
                    f"The manual partition assignment {list(target)} is not [{NODE_ID}], the only broker."
                )
            else:
                results[(topic, partition)] = None  # already where it is asked to be
        return results

    def quorum_status(self) -> QuorumStatus:
        now_ms = int(self.clock() * 1000)
        leader = ReplicaStatus(NODE_ID, 0, now_ms, now_ms)
        endpoints = {NODE_ID: [(LISTENER_NAME, self.identity.host, self.identity.port)]}
        return QuorumStatus(NODE_ID, 0, 0, (leader,), (), endpoints)


def _local_topic(info: TopicInfo) -> LocalTopic:
    return LocalTopic(info.name, tuple(LocalPartition() for _ in range(info.partitions)))
