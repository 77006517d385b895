"""Topic and partition commands of the metadata quorum as pure functions of ``ClusterMetadata``.

Kafka's controller rules (``ReplicationControlManager``): replica assignment spread round-robin over the live
brokers from a start offset, AlterPartition with its epoch checks, ElectLeaders with its per-partition errors,
and partition reassignment (target replicas, adding/removing, completion once every adding replica is in the ISR).
Each function returns the new state (and its answer) or raises a ``LogError``, leaving the state unchanged.
Randomness (topic ids, the assignment's start offset) comes in as arguments so that every node computes the same.

Pure; thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from hub.log import broker_configs
from hub.log.cluster.metadata import (
    NO_LEADER,
    ClusterMetadata,
    Election,
    PartitionState,
    TopicState,
    change_partition,
    unclean_enabled,
)
from hub.log.config import parse_configs
from hub.log.errors import (
    ElectionNotNeededError,
    EligibleLeadersNotAvailableError,
    FencedLeaderEpochError,
    IneligibleReplicaError,
    InvalidPartitionsError,
    InvalidReplicaAssignmentError,
    InvalidReplicationFactorError,
    InvalidRequestError,
    InvalidTopicError,
    InvalidUpdateVersionError,
    LogError,
    NoReassignmentInProgressError,
    NotControllerError,
    PreferredLeaderNotAvailableError,
    TopicExistsError,
    UnknownTopicOrPartitionError,
)
from hub.log.store import check_topic_name

TopicPartition = tuple[str, int]


def assign_replicas(
    brokers: Sequence[int], partitions: int, replication_factor: int, start: int, first: int = 0
) -> list[tuple[int, ...]]:
    """Replica lists for partitions ``first .. first+partitions-1``: the first replica round-robin over ``brokers``
    from ``start``, the followers at a shift that grows every full round (Kafka's rack-unaware placement)."""
    count = len(brokers)
    if replication_factor < 1 or replication_factor > count:
        raise InvalidReplicationFactorError(
            f"replication factor {replication_factor} must be between 1 and the {count} live brokers"
        )
    start_index, shift = start % count, (start // count) % count
    result: list[tuple[int, ...]] = []
    for partition in range(first, first + partitions):
        round_shift = shift + partition // count
        head = (partition + start_index) % count
        replicas = [brokers[head]]
        for j in range(replication_factor - 1):
            replicas.append(brokers[(head + 1 + (round_shift + j) % (count - 1)) % count])
        result.append(tuple(replicas))
    return result


def _check_assignments(state: ClusterMetadata, assignments: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    checked = [tuple(int(r) for r in replicas) for replicas in assignments]
    if not checked:
        raise InvalidPartitionsError("a topic needs at least one partition")
    for index, replicas in enumerate(checked):
        if not replicas or len(set(replicas)) != len(replicas):
            raise InvalidReplicaAssignmentError(f"partition {index}: replicas {list(replicas)} are empty or repeat")
        if len(replicas) != len(checked[0]):
            raise InvalidReplicaAssignmentError("every partition needs the same number of replicas")
        unknown = [r for r in replicas if r not in state.brokers]
        if unknown:
            raise InvalidReplicaAssignmentError(f"partition {index}: brokers {unknown} are not registered")
    return checked


def _new_partitions(state: ClusterMetadata, assignments: list[tuple[int, ...]]) -> tuple[PartitionState, ...]:
    result = []
    for index, replicas in enumerate(assignments):
        isr = tuple(r for r in replicas if state.is_live(r))
        if not isr:
            raise InvalidReplicaAssignmentError(f"every broker assigned to partition {index} is fenced")
        result.append(PartitionState(replicas=replicas, isr=isr, leader=isr[0], leader_epoch=0, partition_epoch=0))
    return tuple(result)


def _topic(state: ClusterMetadata, name: str) -> TopicState:
    topic = state.topics.get(name)
    if topic is None:
        raise UnknownTopicOrPartitionError(f"unknown topic {name!r}")
    return topic


def _check_configs(configs: Mapping[str, str]) -> dict[str, str]:
    parse_configs(configs)
    return {name: str(value).strip() for name, value in configs.items()}


def create_topic(
    state: ClusterMetadata,
    name: str,
    topic_id: str,
    partitions: int,
    replication_factor: int,
    assignments: Sequence[Sequence[int]] | None,
    configs: Mapping[str, str],
    start: int,
) -> tuple[ClusterMetadata, TopicState]:
    """A new topic; without ``assignments`` its replicas are spread over the live brokers from ``start``."""
    check_topic_name(name)
    if name in state.topics:
        raise TopicExistsError(f"topic {name!r} already exists")
    folded = name.replace(".", "_")
    colliding = [other for other in state.topics if other.replace(".", "_") == folded]
    if colliding:
        raise InvalidTopicError(f"topic {name!r} collides with {colliding[0]!r} ('.' and '_' are confused)")
    if assignments:
        placed = _check_assignments(state, assignments)
    else:
        if partitions < 1:
            raise InvalidPartitionsError(f"a topic needs at least one partition, got {partitions}")
        placed = assign_replicas(state.live_brokers(), partitions, replication_factor, start)
    topic = TopicState(name, topic_id, _check_configs(configs), _new_partitions(state, placed))
    return replace(state, topics={**state.topics, name: topic}), topic


def delete_topic(state: ClusterMetadata, name: str) -> ClusterMetadata:
    _topic(state, name)
    return replace(state, topics={n: t for n, t in state.topics.items() if n != name})


def create_partitions(
    state: ClusterMetadata, name: str, total: int, assignments: Sequence[Sequence[int]] | None, start: int
) -> tuple[ClusterMetadata, TopicState]:
    """Grow a topic to ``total`` partitions, with the replication factor of its first partition."""
    topic = _topic(state, name)
    current = len(topic.partitions)
    if total <= current:
        raise InvalidPartitionsError(f"topic {name!r} has {current} partitions; {total} is not an increase")
    if assignments:
        placed = _check_assignments(state, assignments)
        if len(placed) != total - current or len(placed[0]) != len(topic.partitions[0].replicas):
            raise InvalidReplicaAssignmentError(f"{total - current} assignments of the topic's size are needed")
    else:
        factor = len(topic.partitions[0].replicas)
        placed = assign_replicas(state.live_brokers(), total - current, factor, start, first=current)
    grown = replace(topic, partitions=topic.partitions + _new_partitions(state, placed))
    return replace(state, topics={**state.topics, name: grown}), grown


def alter_topic_config(state: ClusterMetadata, name: str, configs: Mapping[str, str | None]) -> ClusterMetadata:
    """Set overrides incrementally; None removes one (back to the default)."""
    topic = _topic(state, name)
    merged = {k: v for k, v in topic.configs.items() if configs.get(k, "") is not None}
    merged.update({k: v for k, v in configs.items() if v is not None})
    return replace(state, topics={**state.topics, name: replace(topic, configs=_check_configs(merged))})


def alter_broker_config(
    state: ClusterMetadata, resource: str, configs: Mapping[str, str | None], replace_all: bool
) -> ClusterMetadata:
    """Dynamic broker configs of one level ("" cluster-wide, a node id that broker's): set incrementally (None
    removes one) or, with ``replace_all``, replaced by the values given (Kafka's legacy AlterConfigs)."""
    current = {} if replace_all else dict(state.broker_configs.get(resource, {}))
    for name, value in configs.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    broker_configs.check_dynamic(current, per_broker=resource != broker_configs.CLUSTER_DEFAULT)
    return replace(state, broker_configs=broker_configs.altered(state.broker_configs, resource, current))


def _partition(state: ClusterMetadata, topic: str, partition: int) -> PartitionState:
    parts = _topic(state, topic).partitions
    if not 0 <= partition < len(parts):
        raise UnknownTopicOrPartitionError(f"unknown partition {topic}-{partition}")
    return parts[partition]


def _put(state: ClusterMetadata, topic: str, partition: int, part: PartitionState) -> ClusterMetadata:
    t = state.topics[topic]
    parts = list(t.partitions)
    parts[partition] = part
    return replace(state, topics={**state.topics, topic: replace(t, partitions=tuple(parts))})


def _live(state: ClusterMetadata) -> frozenset[int]:
    return frozenset(state.live_brokers())


def alter_partition(
    state: ClusterMetadata,
    topic: str,
    partition: int,
    leader_id: int,
    leader_epoch: int,
    partition_epoch: int,
    new_isr: Sequence[int],
) -> tuple[ClusterMetadata, PartitionState]:
    """A partition leader changes its ISR (Kafka's AlterPartition). The answer is the partition afterwards; if
    the change completed a reassignment that moved the leadership away, its leader is no longer ``leader_id``."""
    part = _partition(state, topic, partition)
    if leader_epoch > part.leader_epoch or partition_epoch > part.partition_epoch:
        raise NotControllerError(f"{topic}-{partition}: the request's epochs are newer than this controller's")
    if leader_epoch < part.leader_epoch:
        raise FencedLeaderEpochError(f"{topic}-{partition}: leader epoch {leader_epoch} < {part.leader_epoch}")
    if leader_id != part.leader:
        raise InvalidRequestError(f"{topic}-{partition}: broker {leader_id} is not the leader ({part.leader})")
    if partition_epoch < part.partition_epoch:
        raise InvalidUpdateVersionError(
            f"{topic}-{partition}: partition epoch {partition_epoch} < {part.partition_epoch}"
        )
    isr = tuple(int(r) for r in new_isr)
    if len(set(isr)) != len(isr) or any(r not in part.replicas for r in isr):
        raise InvalidRequestError(f"{topic}-{partition}: ISR {list(isr)} is not a subset of {list(part.replicas)}")
    if part.leader not in isr:
        raise InvalidRequestError(f"{topic}-{partition}: ISR {list(isr)} does not include the leader")
    ineligible = [r for r in isr if r not in part.isr and not state.is_live(r)]
    if ineligible:
        raise IneligibleReplicaError(f"{topic}-{partition}: brokers {ineligible} are fenced or not registered")
    new = change_partition(part, _live(state), isr=isr)
    return _put(state, topic, partition, new), new


def elect_leaders(
    state: ClusterMetadata, partitions: Iterable[TopicPartition] | None, unclean: bool
) -> tuple[ClusterMetadata, dict[TopicPartition, LogError | None]]:
    """Kafka's ElectLeaders: per partition None (elected) or its error. ``partitions=None`` means every
    partition, and then the partitions that need no election are left out of the answer."""
    everything = partitions is None
    wanted = (
        [(name, i) for name, t in sorted(state.topics.items()) for i in range(len(t.partitions))]
        if partitions is None
        else list(partitions)
    )
    live = _live(state)
    results: dict[TopicPartition, LogError | None] = {}
    for topic, index in wanted:
        try:
            part = _partition(state, topic, index)
        except UnknownTopicOrPartitionError as exc:
            results[(topic, index)] = exc
            continue
        needed = part.leader == NO_LEADER if unclean else part.leader != part.preferred_leader
        if not needed:
            if not everything:
                results[(topic, index)] = ElectionNotNeededError(f"{topic}-{index} needs no election")
            continue
        election = Election.UNCLEAN if unclean else Election.PREFERRED
        new = change_partition(part, live, election=election)
        if new is part or new.leader == NO_LEADER:
            kind = EligibleLeadersNotAvailableError if unclean else PreferredLeaderNotAvailableError
            results[(topic, index)] = kind(f"{topic}-{index}: no eligible leader is available")
            continue
        state = _put(state, topic, index, new)
        results[(topic, index)] = None
    return state, results


def alter_reassignments(
    state: ClusterMetadata, reassignments: Mapping[TopicPartition, Sequence[int] | None], unclean_default: bool
) -> tuple[ClusterMetadata, dict[TopicPartition, LogError | None]]:
    """Kafka's AlterPartitionReassignments: a target replica list starts (or replaces) a reassignment, None
    cancels one. The new replicas join ``adding``; the reassignment completes when they are all in the ISR."""
    results: dict[TopicPartition, LogError | None] = {}
    for (topic, index), target in reassignments.items():
        try:
            state = _reassign(state, topic, index, target, unclean_default)
            results[(topic, index)] = None
        except LogError as exc:
            results[(topic, index)] = exc
    return state, results


def _reassign(
    state: ClusterMetadata, topic: str, index: int, target: Sequence[int] | None, unclean_default: bool
) -> ClusterMetadata:
    part = _partition(state, topic, index)
    # Revert any reassignment in progress first: back to the original replicas, without the adding ones.
    original = tuple(r for r in part.replicas if r not in part.adding)
    reverted_isr = tuple(r for r in part.isr if r not in part.adding)
    if target is None and not part.reassigning:
        raise NoReassignmentInProgressError(f"{topic}-{index} has no reassignment in progress")
    if not reverted_isr:
        raise InvalidReplicaAssignmentError(f"{topic}-{index}: reverting would leave no replica in the ISR")
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()
    if target is None:
        replicas = original
    else:
        wanted = tuple(int(r) for r in target)
        if not wanted or len(set(wanted)) != len(wanted):
            raise InvalidReplicaAssignmentError(f"{topic}-{index}: replicas {list(wanted)} are empty or repeat")
        unknown = [r for r in wanted if r not in state.brokers]
        if unknown:
            raise InvalidReplicaAssignmentError(f"{topic}-{index}: brokers {unknown} are not registered")
        adding = tuple(r for r in wanted if r not in original)
        removing = tuple(r for r in original if r not in wanted)
        replicas = wanted + removing
    unclean = unclean_enabled(state.topics[topic], unclean_default, state)
    new = change_partition(
        part,
        _live(state),
        election=Election.UNCLEAN if unclean else Election.ONLINE,
        isr=reverted_isr,
        replicas=replicas,
        adding=adding,
        removing=removing,
    )
    return _put(state, topic, index, new)


def list_reassignments(
    state: ClusterMetadata, partitions: Iterable[TopicPartition] | None = None
) -> dict[TopicPartition, PartitionState]:
    """The partitions with a reassignment in progress (of those asked for, or all)."""
    result: dict[TopicPartition, PartitionState] = {}
    asked = None if partitions is None else set(partitions)
    for name, topic in sorted(state.topics.items()):
        for index, part in enumerate(topic.partitions):
            if part.reassigning and (asked is None or (name, index) in asked):
                result[(name, index)] = part
    return result
