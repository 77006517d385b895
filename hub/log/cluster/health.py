"""The replication health of a cluster node, counted as Kafka counts it, for the store's metrics (hub.log.metrics).

``leader_counts``: the partitions this node leads, as Kafka's ReplicaManager gauges count them from its
``Partition`` objects (``Partition.scala``): under-replicated when the ISR is smaller than the replication factor
(the replicas without those being added by a reassignment), under min ISR when it is smaller than the effective
``min.insync.replicas`` (the topic's, at most the number of replicas), at min ISR when it equals it, reassigning
while replicas are added or removed. A node counts only what it leads, so a cluster's figure is the sum over its
nodes, as with Kafka.

``cluster_counts``: the figures Kafka's controllers publish from the metadata (``ControllerMetadataMetrics``):
offline partitions (no leader), partitions whose leader is not their preferred replica, fenced and active brokers,
topics and partitions. Every Hub node holds the same metadata, so every node reports them (Kafka: every
controller); ``active_controller`` is 1 on the node whose controller is the active one.

Pure functions over immutable metadata and a copy of the leaderships: callers take the snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.log.cluster.leadership import PartitionLeadership
from hub.log.cluster.metadata import NO_LEADER, ClusterMetadata


@dataclass(frozen=True)
class LeaderCounts:
    """Kafka's ReplicaManager gauges of one node (see the module docstring)."""

    leaders: int = 0
    under_replicated: int = 0
    under_min_isr: int = 0
    at_min_isr: int = 0
    reassigning: int = 0


@dataclass(frozen=True)
class ClusterCounts:
    """Kafka's controller gauges, from one metadata snapshot (see the module docstring)."""

    offline_partitions: int = 0
    preferred_replica_imbalance: int = 0
    fenced_brokers: int = 0
    active_brokers: int = 0
    topics: int = 0
    partitions: int = 0


def leader_counts(leaderships: Iterable[PartitionLeadership]) -> LeaderCounts:
    """Count the partitions of ``leaderships`` (this node's current ones) per Kafka's rules."""
    leaders = under_replicated = under_min = at_min = reassigning = 0
    for leadership in leaderships:
        if leadership.resigned:
            continue
        state = leadership.state
        isr = len(state.isr)
        leaders += 1
        replication_factor = sum(1 for replica in state.replicas if replica not in state.adding)
        if isr < replication_factor:
            under_replicated += 1
        min_isr = min(leadership.min_insync(), len(state.replicas))
        if isr < min_isr:
            under_min += 1
        elif isr == min_isr:
            at_min += 1
        if state.reassigning:
            reassigning += 1
    return LeaderCounts(leaders, under_replicated, under_min, at_min, reassigning)


def cluster_counts(metadata: ClusterMetadata) -> ClusterCounts:
    """Count the metadata's partitions and brokers per Kafka's controller metrics."""
    offline = imbalanced = partitions = 0
    for topic in metadata.topics.values():
        for state in topic.partitions:
            partitions += 1
            if state.leader == NO_LEADER:
                offline += 1
            elif state.leader != state.preferred_leader:
                imbalanced += 1
    fenced = sum(1 for broker in metadata.brokers.values() if broker.fenced)
    return ClusterCounts(
        offline_partitions=offline,
        preferred_replica_imbalance=imbalanced,
        fenced_brokers=fenced,
        active_brokers=len(metadata.brokers) - fenced,
        topics=len(metadata.topics),
        partitions=partitions,
    )
