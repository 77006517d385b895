"""PLACEHOLDER for integration: replaced by the quorum branch's metadata module."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None = None
    incarnation: str = ""
    fenced: bool = False


@dataclass(frozen=True)
class PartitionState:
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int
    partition_epoch: int
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()


@dataclass(frozen=True)
class TopicState:
    name: str
    topic_id: str
    configs: dict[str, str]
    partitions: tuple[PartitionState, ...]


@dataclass(frozen=True)
class ClusterMetadata:
    cluster_id: str = ""
    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    topics: dict[str, TopicState] = field(default_factory=dict)
    controller_id: int = -1
    offset: int = 0


def offline_replicas(metadata: ClusterMetadata, state: PartitionState) -> list[int]:
    return [
        replica for replica in state.replicas if replica not in metadata.brokers or metadata.brokers[replica].fenced
    ]
