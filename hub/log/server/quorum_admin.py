"""QuorumAdmin: a replicated store's cluster as the admin APIs see it (``cluster_view.ClusterAdmin``), over this
node's ClusterNode: the metadata snapshot, the quorum's commands, and DescribeQuorum's view of the Raft state.

A topic grown here is usable here once the command returns (ClusterNode waits for its store to mirror it).
Thread-safe, as the ClusterNode is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.log.cluster.cluster_node import ClusterNode
from hub.log.cluster.metadata import ClusterMetadata
from hub.log.errors import LogError
from hub.log.server.cluster_view import QuorumStatus, ReplicaStatus, TopicPartition

#: The listener name DescribeQuorum gives the voters' quorum endpoints (Kafka's default controller listener name).
QUORUM_LISTENER = "CONTROLLER"


class QuorumAdmin:
    """See the module docstring."""

    def __init__(self, cluster: ClusterNode) -> None:
        self.cluster = cluster

    def snapshot(self) -> ClusterMetadata:
        return self.cluster.metadata()

    def create_partitions(self, name: str, total: int, assignments: Sequence[Sequence[int]] | None = None) -> object:
        return self.cluster.create_partitions(name, total, assignments)

    def elect_leaders(
        self, partitions: Sequence[TopicPartition] | None, unclean: bool
    ) -> Mapping[TopicPartition, LogError | None]:
        return self.cluster.quorum.elect_leaders(partitions, unclean=unclean)

    def alter_reassignments(
        self, reassignments: Mapping[TopicPartition, Sequence[int] | None]
    ) -> Mapping[TopicPartition, LogError | None]:
        return self.cluster.quorum.alter_reassignments(reassignments)

    def quorum_status(self) -> QuorumStatus:
        status = self.cluster.quorum.quorum_status()
        voters = tuple(
            ReplicaStatus(voter["node_id"], voter["log_end_offset"], voter["last_fetch_timestamp"])
            for voter in status["voters"]
        )
        endpoints = {
            node: [(QUORUM_LISTENER, host, port)] for node, (host, port) in self.cluster.settings.voters.items()
        }
        return QuorumStatus(
            status["leader_id"], status["leader_epoch"], status["high_watermark"], voters, (), endpoints
        )
