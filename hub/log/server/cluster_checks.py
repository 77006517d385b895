"""Kafka's controller checks of admin requests against a snapshot of the cluster's metadata: which partition
counts, replica lists and reassignments are refused, with Kafka's error codes and messages.

Pure functions of their arguments; thread-safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.log.error_codes import ErrorCode
from hub.log.server.cluster_view import ClusterView, TopicPartition
from hub.log.server.context import Body

UNKNOWN_PARTITION = "This server does not host this topic-partition."


def create_partitions_problem(snapshot: ClusterView, topic: Body, internal: bool) -> tuple[ErrorCode, str | None]:
    """Kafka's checks of one topic of a CreatePartitions request: (NONE, None) when it may go ahead."""
    name, count, assignments = topic["name"], topic["count"], assignment_lists(topic)
    current = snapshot.topics.get(name)
    if current is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_PARTITION
    if internal:
        return ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot add partitions to internal topic {name}"
    existing = len(current.partitions)
    if count == existing:
        return ErrorCode.INVALID_PARTITIONS, f"Topic already has {existing} partition(s)."
    if count < existing:
        return ErrorCode.INVALID_PARTITIONS, (
            f"The topic {name} currently has {existing} partition(s); {count} would not be an increase."
        )
    if assignments is None:
        return ErrorCode.NONE, None
    if len(assignments) != count - existing:
        return ErrorCode.INVALID_REPLICA_ASSIGNMENT, (
            f"Attempted to add {count - existing} additional partition(s), but only {len(assignments)} "
            "assignment(s) were specified."
        )
    factor = len(current.partitions[0].replicas) if current.partitions else None
    for index, replicas in enumerate(assignments, start=existing):
        problem = replica_list_problem(snapshot, replicas, factor)
        if problem is None and all(snapshot.brokers[b].fenced for b in replicas):
            problem = (
                f"All brokers specified in the manual partition assignment for partition {index} are fenced "
                "or in controlled shutdown."
            )
        if problem is not None:
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem
    return ErrorCode.NONE, None


def replica_list_problem(snapshot: ClusterView, replicas: Sequence[int], factor: int | None = None) -> str | None:
    """Why Kafka's controller refuses a manual replica list (empty, unregistered or repeated broker, or a length
    other than the topic's replication factor ``factor``), or None when it is acceptable."""
    if not replicas:
        return "The manual partition assignment includes an empty replica list."
    seen: set[int] = set()
    for broker in sorted(replicas):
        if broker not in snapshot.brokers:
            return f"The manual partition assignment includes broker {broker}, but no such broker is registered."
        if broker in seen:
            return f"The manual partition assignment includes the broker {broker} more than once."
        seen.add(broker)
    if factor is not None and len(replicas) != factor:
        return (
            f"The manual partition assignment includes a partition with {len(replicas)} replica(s), but this is "
            f"not consistent with previous partitions, which have {factor} replica(s)."
        )
    return None


def reassignment_problem(
    snapshot: ClusterView, key: TopicPartition, replicas: Sequence[int] | None
) -> tuple[ErrorCode, str] | None:
    """Why Kafka refuses to move partition ``key`` to ``replicas`` (or to cancel its move, ``None``), or None."""
    topic, partition = key
    current = snapshot.topics.get(topic)
    if current is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {topic}."
    if not 0 <= partition < len(current.partitions):
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic}:{partition}."
    if replicas is None:
        state = current.partitions[partition]
        if not (state.adding or state.removing):
            return ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."
        return None
    problem = replica_list_problem(snapshot, replicas)
    return None if problem is None else (ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem)


def assignment_lists(topic: Body) -> list[list[int]] | None:
    """A CreatePartitions topic's replica lists of the new partitions, or None when the cluster is to place them."""
    assignments = topic["assignments"]
    return None if assignments is None else [list(a["broker_ids"]) for a in assignments]
