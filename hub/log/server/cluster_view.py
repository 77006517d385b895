"""What the cluster admin handlers (``cluster_handlers``) need from the cluster: a read-only view of its metadata
and the commands that change it — the ``ClusterAdmin`` protocol.

Two things satisfy it: the metadata quorum of a replicated store (``hub.log.cluster.quorum.MetadataQuorum``, whose
``snapshot()`` is a ``ClusterMetadata``) and, for a store of one node with no quorum, ``SingleNodeCluster``. The
views are structural and read-only, so frozen dataclasses with these attribute names satisfy them.

``snapshot()`` is called on the event loop, so it must return at once (the quorum hands out its current immutable
snapshot); reassignments in progress are read from it (``PartitionView.adding`` / ``removing``), so listing them
needs no command.

Contract of the commands: each blocks until the change is committed and applied (the handlers call them in a
worker thread); a failure of the whole command (no controller, a quorum timeout) is raised, a failure of one
partition is returned in the result map as one of the store's errors (``hub.log.errors``), which ``error_codes``
maps to Kafka's codes.
The handlers validate requests against ``snapshot()`` before calling a command, so a command sees only input that
was valid a moment ago; it still refuses what became invalid since (a broker fenced, a topic deleted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hub.log.errors import LogError

TopicPartition = tuple[str, int]

#: The metadata log's partition, as Kafka names it in DescribeQuorum.
METADATA_TOPIC = "__cluster_metadata"
METADATA_PARTITION = 0


class BrokerView(Protocol):
    """A registered broker; a fenced one has missed its heartbeats and is not alive."""

    @property
    def node_id(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def rack(self) -> str | None: ...
    @property
    def fenced(self) -> bool: ...


class PartitionView(Protocol):
    """A partition's replicas (the first is the preferred leader), ISR, leader (-1 = none) and reassignment."""

    @property
    def replicas(self) -> tuple[int, ...]: ...
    @property
    def isr(self) -> tuple[int, ...]: ...
    @property
    def leader(self) -> int: ...
    @property
    def leader_epoch(self) -> int: ...
    @property
    def adding(self) -> tuple[int, ...]: ...
    @property
    def removing(self) -> tuple[int, ...]: ...


class TopicView(Protocol):
    """A topic and its partitions, indexed by partition number."""

    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> Sequence[PartitionView]: ...


class ClusterView(Protocol):
    """An immutable snapshot of the cluster's metadata."""

    @property
    def cluster_id(self) -> str: ...
    @property
    def brokers(self) -> Mapping[int, BrokerView]: ...
    @property
    def topics(self) -> Mapping[str, TopicView]: ...
    @property
    def controller_id(self) -> int: ...


class ReplicaStatusView(Protocol):
    """One member of the metadata quorum as its leader sees it (-1 = unknown)."""

    @property
    def replica_id(self) -> int: ...
    @property
    def log_end_offset(self) -> int: ...
    @property
    def last_fetch_timestamp(self) -> int: ...
    @property
    def last_caught_up_timestamp(self) -> int: ...


class QuorumStatusView(Protocol):
    """The metadata quorum's state (DescribeQuorum): leader, epoch, committed offset, members and endpoints.

    ``endpoints`` maps each voter to its (listener name, host, port) list."""

    @property
    def leader_id(self) -> int: ...
    @property
    def leader_epoch(self) -> int: ...
    @property
    def high_watermark(self) -> int: ...
    @property
    def voters(self) -> Sequence[ReplicaStatusView]: ...
    @property
    def observers(self) -> Sequence[ReplicaStatusView]: ...
    @property
    def endpoints(self) -> Mapping[int, Sequence[tuple[str, str, int]]]: ...


class ClusterAdmin(Protocol):
    """The cluster as the admin APIs see it (see the module docstring for the commands' contract)."""

    def snapshot(self) -> ClusterView:
        """The current metadata."""
        ...

    def create_partitions(self, name: str, total: int, assignments: Sequence[Sequence[int]] | None = None) -> object:
        """Grow topic ``name`` to ``total`` partitions, the new ones on ``assignments`` (one replica list each)
        or placed by the cluster."""
        ...

    def elect_leaders(
        self, partitions: Sequence[TopicPartition] | None, unclean: bool
    ) -> Mapping[TopicPartition, LogError | None]:
        """Elect the preferred leader (or, ``unclean``, any live replica where there is no leader) of each partition
        (``None`` = every partition); the result holds every partition considered, ``None`` where a leader was
        elected, else why not (ElectionNotNeededError where the wanted leader already leads)."""
        ...

    def alter_reassignments(
        self, reassignments: Mapping[TopicPartition, Sequence[int] | None]
    ) -> Mapping[TopicPartition, LogError | None]:
        """Start moving each partition to its target replicas, or cancel its reassignment (target ``None``)."""
        ...

    def quorum_status(self) -> QuorumStatusView:
        """The metadata quorum's state."""
        ...


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """A quorum member's replication state (a ReplicaStatusView)."""

    replica_id: int
    log_end_offset: int
    last_fetch_timestamp: int = -1
    last_caught_up_timestamp: int = -1


@dataclass(frozen=True, slots=True)
class QuorumStatus:
    """The metadata quorum's state (a QuorumStatusView)."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: tuple[ReplicaStatus, ...]
    observers: tuple[ReplicaStatus, ...] = ()
    endpoints: Mapping[int, Sequence[tuple[str, str, int]]] = field(default_factory=dict)
