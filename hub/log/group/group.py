"""The state of one group: its members, generation, chosen protocol, leader and committed offsets; and what
ListGroups and DescribeGroups show of it.

States (Kafka's classic protocol)::

    Empty ──join──► PreparingRebalance ──all joined / deadline──► CompletingRebalance ──leader's sync──► Stable
      ▲                     ▲                                              │                              │
      └── last member leaves┴──────────── join, leave, expiry ─────────────┴──────────────────────────────┘
    any ──delete──► Dead

Plain data guarded by the coordinator's lock; no methods here block. Results known while the lock is held are
collected as Resolutions and set by ``resolve()`` once it is released, so no future's callback runs under it.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import Enum

from hub.log.error_codes import ErrorCode
from hub.log.protocol import decode_data

#: The protocol type of Kafka's consumers (whose subscriptions the coordinator can read).
CONSUMER_PROTOCOL_TYPE = "consumer"


class GroupState(Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(frozen=True, slots=True)
class JoinedMember:
    """A member as the leader sees it in its JoinGroup response."""

    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True, slots=True)
class JoinGroupResult:
    error: ErrorCode
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    member_id: str = ""
    members: tuple[JoinedMember, ...] = ()
    #: A static leader rejoined a stable group: it is told the members but must not assign again (KIP-814).
    skip_assignment: bool = False


@dataclass(frozen=True, slots=True)
class SyncGroupResult:
    error: ErrorCode
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = -1


@dataclass
class Member:
    """One member of a group (mutable, owned by its Group)."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    last_heartbeat: float = 0.0
    join_future: Future[JoinGroupResult] | None = None
    sync_future: Future[SyncGroupResult] | None = None
    is_new: bool = True

    def metadata_for(self, protocol: str) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        return b""

    def supports(self, protocol: str) -> bool:
        return any(name == protocol for name, _ in self.protocols)


@dataclass
class Group:
    """One group's state (see the module docstring)."""

    group_id: str
    state: GroupState = GroupState.EMPTY
    protocol_type: str | None = None
    protocol: str | None = None
    generation_id: int = 0
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    pending_members: set[str] = field(default_factory=set)
    static_members: dict[str, str] = field(default_factory=dict)
    offsets: dict[tuple[str, int], CommittedOffset] = field(default_factory=dict)
    rebalance_deadline: float = 0.0
    initial_delay_until: float = 0.0
    sync_deadline: float = 0.0
    state_timestamp_ms: int = 0

    @property
    def is_empty(self) -> bool:
        return not self.members

    def candidate_protocols(self) -> set[str]:
        """Protocols every member supports."""
        supported: set[str] | None = None
        for member in self.members.values():
            names = {name for name, _ in member.protocols}
            supported = names if supported is None else supported & names
        return supported or set()

    def supports(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        """Whether a (re)joining member fits: same protocol type and a protocol in common with the others."""
        if self.is_empty:
            return bool(protocols)
        if protocol_type != self.protocol_type:
            return False
        names = {name for name, _ in protocols}
        return bool(names & self.candidate_protocols())

    def select_protocol(self) -> str:
        """Each member votes for its most preferred candidate; the most votes wins (ties: the first seen)."""
        candidates = self.candidate_protocols()
        votes: Counter[str] = Counter()
        for member in self.members.values():
            for name, _ in member.protocols:
                if name in candidates:
                    votes[name] += 1
                    break
        return votes.most_common(1)[0][0]

    def all_joined(self) -> bool:
        return all(member.join_future is not None for member in self.members.values())


@dataclass(frozen=True, slots=True)
class GroupOverview:
    group_id: str
    protocol_type: str
    state: str
    #: Kafka's group type: "classic", or "consumer" for a group of the consumer group protocol (KIP-848)
    group_type: str = "classic"


@dataclass(frozen=True, slots=True)
class MemberDescription:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupDescription:
    error: ErrorCode
    group_id: str
    state: str = ""
    protocol_type: str = ""
    protocol: str = ""
    members: tuple[MemberDescription, ...] = ()


def overview(group: Group) -> GroupOverview:
    return GroupOverview(group.group_id, group.protocol_type or "", group.state.value)


def describe(group_id: str, group: Group | None) -> GroupDescription:
    """A group as DescribeGroups shows it: Dead when unknown; assignments and protocol only once Stable."""
    if group is None:
        return GroupDescription(ErrorCode.NONE, group_id, GroupState.DEAD.value)
    stable = group.state is GroupState.STABLE
    protocol = group.protocol or ""
    members = tuple(
        MemberDescription(
            m.member_id,
            m.group_instance_id,
            m.client_id,
            m.client_host,
            m.metadata_for(protocol),
            m.assignment if stable else b"",
        )
        for m in group.members.values()
    )
    return GroupDescription(
        ErrorCode.NONE,
        group_id,
        group.state.value,
        group.protocol_type or "",
        protocol if stable else "",
        members,
    )


Resolution = tuple[Future[JoinGroupResult] | Future[SyncGroupResult], JoinGroupResult | SyncGroupResult]


def resolve(resolutions: list[Resolution]) -> None:
    """Set the collected results (call it without the lock)."""
    for future, result in resolutions:
        if not future.done():
            future.set_result(result)  # type: ignore[arg-type]


def subscribed_topics(group: Group) -> set[str] | None:
    """The topics a consumer group's members subscribe to, as Kafka's coordinator reads them (the version 0 prefix
    of each member's ``ConsumerProtocolSubscription``); None when they cannot be read, meaning "maybe any".
    A group of another protocol type subscribes to nothing the coordinator knows of."""
    if group.protocol_type != CONSUMER_PROTOCOL_TYPE:
        return set()
    topics: set[str] = set()
    for member in group.members.values():
        try:
            _, value = decode_data("ConsumerProtocolSubscription", member.metadata_for(group.protocol or ""))
            topics.update(value["topics"])
        except Exception:  # a member's bytes Kafka's parser would refuse: the coordinator cannot tell
            return None
    return topics
