"""The cluster's metadata as plain, immutable data, and the partition-change and broker transitions applied to it.

Every node's metadata quorum applies the same committed commands to this state in the same order, so every
function here is deterministic: it depends on its arguments only (random choices arrive inside the command) and
returns a new ``ClusterMetadata`` (or raises a ``LogError`` and changes nothing). Topic and partition commands
live in ``transitions``.

Rules (Kafka's controller, ``PartitionChangeBuilder``): a leader change bumps ``leader_epoch`` and
``partition_epoch``; any other change (ISR, replicas, reassignment) bumps ``partition_epoch``, and so does the
removal of a replica from the assignment, which also bumps the leader epoch. The ISR is never emptied: when its
last member is fenced the partition goes offline (leader -1) and keeps that member as its ISR.

Immutable values; thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

from hub.log.errors import BrokerIdNotRegisteredError, StaleBrokerEpochError
from hub.log.security.acl import AclBinding
from hub.log.security.contracts import ScramCredential

NO_LEADER = -1
UNCLEAN_CONFIG = "unclean.leader.election.enable"


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """A registered broker: where clients reach it, and whether the controller has fenced it."""

    node_id: int
    host: str
    port: int
    rack: str | None
    incarnation: str
    fenced: bool


@dataclass(frozen=True, slots=True)
class PartitionState:
    """A partition's assignment (``replicas``, preferred leader first), ISR, leader and epochs; ``adding`` and
    ``removing`` are non-empty while a reassignment runs (``replicas`` then holds the target and the old ones)."""

    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int
    partition_epoch: int
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()

    @property
    def preferred_leader(self) -> int:
        return self.replicas[0] if self.replicas else NO_LEADER

    @property
    def reassigning(self) -> bool:
        return bool(self.adding or self.removing)


@dataclass(frozen=True, slots=True)
class TopicState:
    """A topic: its id (32 hex digits), config overrides (strings, Kafka's names) and partitions by index."""

    name: str
    topic_id: str
    configs: dict[str, str]
    partitions: tuple[PartitionState, ...]


@dataclass(frozen=True, slots=True)
class ClusterMetadata:
    """One immutable snapshot of the cluster: ``offset`` is the quorum log index of the last change applied,
    ``controller_id`` the node whose controller is active (-1 before the first one took over)."""

    cluster_id: str = ""
    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    topics: dict[str, TopicState] = field(default_factory=dict)
    controller_id: int = -1
    offset: int = 0
    #: Dynamic broker configs (hub.log.broker_configs): "" the cluster-wide defaults, "<node id>" a broker's own.
    broker_configs: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The ACLs and SCRAM credentials every node enforces (``hub.log.cluster.security_state``).
    acls: tuple[AclBinding, ...] = ()
    scram: Mapping[str, Mapping[str, ScramCredential]] = field(default_factory=dict)

    def live_brokers(self) -> list[int]:
        """The ids of registered, unfenced brokers, ascending."""
        return sorted(node for node, broker in self.brokers.items() if not broker.fenced)

    def is_live(self, node_id: int) -> bool:
        broker = self.brokers.get(node_id)
        return broker is not None and not broker.fenced


def offline_replicas(state: ClusterMetadata, partition: PartitionState | None = None) -> frozenset[int]:
    """Replicas that are fenced or not registered: of one partition, or of every partition when none is given."""
    partitions: Iterable[PartitionState] = (
        [partition] if partition is not None else (p for t in state.topics.values() for p in t.partitions)
    )
    return frozenset(r for p in partitions for r in p.replicas if not state.is_live(r))


def unclean_enabled(topic: TopicState, default: bool, state: ClusterMetadata | None = None) -> bool:
    """The topic's ``unclean.leader.election.enable`` override, else the cluster-wide dynamic one (of ``state``),
    else the broker default."""
    value = topic.configs.get(UNCLEAN_CONFIG)
    if value is None and state is not None:
        value = state.broker_configs.get("", {}).get(UNCLEAN_CONFIG)
    return default if value is None else value.lower() == "true"


class Election(Enum):
    """How a partition change picks its leader (Kafka's ``PartitionChangeBuilder.Election``)."""

    PREFERRED = "preferred"  # the first replica if it can lead, else keep a valid leader, else any ISR member
    ONLINE = "online"  # keep a valid leader, else the first ISR member in replica order
    UNCLEAN = "unclean"  # as ONLINE, then any live replica (its ISR becomes just itself: data may be lost)


def change_partition(
    part: PartitionState,
    is_live: set[int] | frozenset[int],
    *,
    election: Election = Election.ONLINE,
    isr: tuple[int, ...] | None = None,
    replicas: tuple[int, ...] | None = None,
    adding: tuple[int, ...] | None = None,
    removing: tuple[int, ...] | None = None,
) -> PartitionState:
    """The partition after a change to its target ISR/assignment and a leader election among ``is_live`` brokers;
    the same object when nothing changes. A reassignment completes once every adding replica is in the ISR."""
    t_isr = part.isr if isr is None else isr
    t_replicas = part.replicas if replicas is None else replicas
    t_adding = part.adding if adding is None else adding
    t_removing = part.removing if removing is None else removing
    if t_adding or t_removing:
        kept_isr = tuple(r for r in t_isr if r not in t_removing)
        if kept_isr and all(r in kept_isr for r in t_adding):
            t_isr = kept_isr
            t_replicas = tuple(r for r in t_replicas if r not in t_removing)
            t_adding = t_removing = ()

    def valid(node: int) -> bool:
        return node in t_isr and node in is_live

    leader, unclean = _elect(part.leader, t_replicas, valid, is_live, election)
    if unclean:
        t_isr = (leader,)
    elif not t_isr:
        t_isr = part.isr  # an ISR is never emptied
    leader_changed = leader != part.leader or not all(r in t_replicas for r in part.replicas)
    changed = leader_changed or (t_isr, t_replicas, t_adding, t_removing) != (
        part.isr,
        part.replicas,
        part.adding,
        part.removing,
    )
    if not changed:
        return part
    return PartitionState(
        replicas=t_replicas,
        isr=t_isr,
        leader=leader,
        leader_epoch=part.leader_epoch + (1 if leader_changed else 0),
        partition_epoch=part.partition_epoch + 1,
        adding=t_adding,
        removing=t_removing,
    )


def _elect(
    current: int,
    replicas: tuple[int, ...],
    valid: Callable[[int], bool],
    is_live: set[int] | frozenset[int],
    election: Election,
) -> tuple[int, bool]:
    if election is Election.PREFERRED and replicas and valid(replicas[0]):
        return replicas[0], False
    if valid(current):
        return current, False
    for node in replicas:
        if valid(node):
            return node, False
    if election is Election.UNCLEAN:
        for node in replicas:
            if node in is_live:
                return node, True
    return NO_LEADER, False


def _with_partitions(
    state: ClusterMetadata, changed: dict[str, dict[int, PartitionState]], brokers: dict[int, BrokerInfo] | None = None
) -> ClusterMetadata:
    topics = dict(state.topics)
    for name, parts in changed.items():
        topic = topics[name]
        new = list(topic.partitions)
        for index, part in parts.items():
            new[index] = part
        topics[name] = replace(topic, partitions=tuple(new))
    return replace(state, topics=topics, brokers=state.brokers if brokers is None else brokers)


def _reelect_all(
    state: ClusterMetadata, brokers: dict[int, BrokerInfo], node_id: int, unclean_default: bool, *, fencing: bool
) -> ClusterMetadata:
    """Apply a broker's fencing (drop it from ISRs, move its leaderships) or unfencing (lead offline partitions)."""
    live = frozenset(n for n, b in brokers.items() if not b.fenced)
    changed: dict[str, dict[int, PartitionState]] = {}
    for name, topic in state.topics.items():
        election = Election.UNCLEAN if unclean_enabled(topic, unclean_default, state) else Election.ONLINE
        for index, part in enumerate(topic.partitions):
            if fencing and node_id in part.isr:
                new = change_partition(part, live, election=election, isr=tuple(r for r in part.isr if r != node_id))
            elif not fencing and part.leader == NO_LEADER and node_id in part.replicas:
                new = change_partition(part, live, election=election)
            else:
                continue
            if new is not part:
                changed.setdefault(name, {})[index] = new
    return _with_partitions(state, changed, brokers)


def register_broker(
    state: ClusterMetadata, node_id: int, host: str, port: int, rack: str | None, incarnation: str
) -> ClusterMetadata:
    """Register a broker process. A new incarnation (the process restarted) starts fenced, like a fenced broker:
    out of every ISR until its leaders let it back in; the same incarnation again only updates its address."""
    current = state.brokers.get(node_id)
    if current is not None and current.incarnation == incarnation:
        updated = replace(current, host=host, port=port, rack=rack)
        return state if updated == current else replace(state, brokers={**state.brokers, node_id: updated})
    info = BrokerInfo(node_id, host, port, rack, incarnation, fenced=True)
    brokers = {**state.brokers, node_id: info}
    return _reelect_all(state, brokers, node_id, unclean_default=False, fencing=True)


def fence_broker(state: ClusterMetadata, node_id: int, unclean_default: bool = False) -> ClusterMetadata:
    """Fence a broker: it leaves every ISR it is in (unless it is the last member) and leads nothing."""
    current = _broker(state, node_id)
    brokers = {**state.brokers, node_id: replace(current, fenced=True)}
    result = _reelect_all(state, brokers, node_id, unclean_default, fencing=True)
    return state if result == state else result


def unfence_broker(state: ClusterMetadata, node_id: int, unclean_default: bool = False) -> ClusterMetadata:
    """Unfence a broker: offline partitions it can lead (it is in their ISR, or unclean election is on) get it."""
    current = _broker(state, node_id)
    if not current.fenced:
        return state
    brokers = {**state.brokers, node_id: replace(current, fenced=False)}
    return _reelect_all(state, brokers, node_id, unclean_default, fencing=False)


def heartbeat(
    state: ClusterMetadata, node_id: int, incarnation: str, want_fence: bool, unclean_default: bool = False
) -> ClusterMetadata:
    """A broker's heartbeat: unfences it, or fences it when it asks to (controlled shutdown). A heartbeat from an
    older incarnation is refused with StaleBrokerEpochError."""
    current = _broker(state, node_id)
    if current.incarnation != incarnation:
        raise StaleBrokerEpochError(f"broker {node_id} is registered by another process ({current.incarnation})")
    if want_fence:
        return fence_broker(state, node_id, unclean_default)
    return unfence_broker(state, node_id, unclean_default)


def set_controller(state: ClusterMetadata, node_id: int) -> ClusterMetadata:
    """Record the node whose controller became active."""
    return state if state.controller_id == node_id else replace(state, controller_id=node_id)


def _broker(state: ClusterMetadata, node_id: int) -> BrokerInfo:
    broker = state.brokers.get(node_id)
    if broker is None:
        raise BrokerIdNotRegisteredError(f"broker {node_id} is not registered")
    return broker
