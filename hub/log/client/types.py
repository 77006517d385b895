"""Values that cross the store client interface: topic partitions, records, metadata, group results.

All are immutable and safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple


class TopicPartition(NamedTuple):
    """One partition of one topic."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


class TimestampType(Enum):
    CREATE_TIME = 0
    LOG_APPEND_TIME = 1


class IsolationLevel(Enum):
    """Which records a consumer reads (Kafka's ``isolation.level``).

    ``READ_UNCOMMITTED`` reads every record up to the high watermark, including those of open and aborted
    transactions; ``READ_COMMITTED`` stops at the last stable offset (before the first open transaction) and skips
    the records of aborted transactions and the transaction markers.
    """

    READ_UNCOMMITTED = "read_uncommitted"
    READ_COMMITTED = "read_committed"


class OffsetSpec(Enum):
    """A symbolic position in a partition, for list_offsets and seeks."""

    EARLIEST = "earliest"
    LATEST = "latest"


@dataclass(frozen=True, slots=True)
class ConsumerRecord:
    """A record read from the store, with where it came from."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_type: TimestampType = TimestampType.CREATE_TIME

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the store put an acknowledged record."""

    topic: str
    partition: int
    offset: int
    timestamp: int


class SendOutcome:
    """What became of the records of one ``Producer.send_batch``, by their index in the batch: where each was
    written, or the error that failed it. Filled by the producer before the batch's future resolves; read-only
    after that."""

    __slots__ = ("_topics", "_written", "errors")

    def __init__(self, topics: list[str]) -> None:
        self._topics = topics
        self._written: list[tuple[int, int, int] | None] = [None] * len(topics)
        #: Index → error, for the records that were not written.
        self.errors: dict[int, BaseException] = {}

    def written(self, index: int, partition: int, offset: int, timestamp: int) -> None:
        """Record where record ``index`` went (producers call this)."""
        self._written[index] = (partition, offset, timestamp)

    def topic(self, index: int) -> str:
        """The topic record ``index`` was sent to."""
        return self._topics[index]

    def metadata(self, index: int) -> RecordMetadata | None:
        """Where record ``index`` was written; None when it failed (see ``errors``)."""
        where = self._written[index]
        return None if where is None else RecordMetadata(self._topics[index], *where)

    def __len__(self) -> int:
        return len(self._topics)


@dataclass(frozen=True, slots=True)
class NewTopic:
    """A topic to create; ``configs`` use Kafka's topic config names."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """A topic's partition count and effective configs."""

    name: str
    partitions: int
    configs: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class GroupProtocol:
    """One protocol a group member supports, with its opaque metadata (e.g. Connect's worker state)."""

    name: str
    metadata: bytes


@dataclass(frozen=True, slots=True)
class GroupMemberInfo:
    """A member as the group leader sees it when computing assignments."""

    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True, slots=True)
class JoinResult:
    """The outcome of joining a group: the generation, this member, and (for the leader) every member."""

    generation_id: int
    member_id: str
    leader_id: str
    protocol: str
    members: tuple[GroupMemberInfo, ...] = ()

    @property
    def is_leader(self) -> bool:
        return self.member_id == self.leader_id


@dataclass(frozen=True, slots=True)
class BrokerNode:
    """A node of the store, as Kafka's ``Admin.describeCluster`` lists it (registered, not fenced); ``host`` is
    "" for a store in this process without a Kafka listener address of its own."""

    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True, slots=True)
class GroupListing:
    """A group the store knows, as ListGroups answers it: its id, state (``Stable``, ``Empty``, ...) and protocol
    type (``consumer`` for consumers, ``connect`` for workers; ``""`` for a group that only commits offsets)."""

    group_id: str
    state: str
    protocol_type: str = ""


@dataclass(frozen=True, slots=True)
class GroupMemberDescription:
    """One member of a described group: its ids, host and the partitions assigned to it (empty for members of a
    protocol whose assignment is not a consumer's, such as Connect workers)."""

    member_id: str
    client_id: str
    host: str
    assignment: frozenset[TopicPartition] = frozenset()
    group_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """A group with its members, as DescribeGroups answers it (state ``Dead`` for a group the store does not
    know)."""

    group_id: str
    state: str
    protocol_type: str = ""
    protocol: str = ""
    members: tuple[GroupMemberDescription, ...] = ()
