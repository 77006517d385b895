"""How a cluster's metadata reads in Kafka's Metadata answer: the live brokers, and per partition its leader,
leader epoch, replicas, in-sync replicas and offline replicas (LEADER_NOT_AVAILABLE while it has no leader).

Pure functions of a ClusterMetadata snapshot.
"""

from __future__ import annotations

from hub.log.cluster.metadata import ClusterMetadata, offline_replicas
from hub.log.error_codes import ErrorCode
from hub.log.server.context import Body


def cluster_brokers(metadata: ClusterMetadata) -> list[Body]:
    """The unfenced brokers, as Kafka lists only live brokers."""
    return [
        {"node_id": broker.node_id, "host": broker.host, "port": broker.port, "rack": broker.rack}
        for broker in sorted(metadata.brokers.values(), key=lambda broker: broker.node_id)
        if not broker.fenced
    ]


def cluster_partitions(metadata: ClusterMetadata, topic: str) -> list[Body]:
    state = metadata.topics.get(topic)
    if state is None:
        return []
    return [
        {
            "error_code": ErrorCode.NONE if partition.leader >= 0 else ErrorCode.LEADER_NOT_AVAILABLE,
            "partition_index": index,
            "leader_id": partition.leader,
            "leader_epoch": partition.leader_epoch,
            "replica_nodes": list(partition.replicas),
            "isr_nodes": list(partition.isr),
            "offline_replicas": sorted(offline_replicas(metadata, partition)),
        }
        for index, partition in enumerate(state.partitions)
    ]
