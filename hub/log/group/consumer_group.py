"""The state of one group of the consumer group protocol (KIP-848): members, epochs, target assignment, and the
reconciliation that moves each member from what it has to its target.

Epochs: the *group epoch* grows whenever what the assignment depends on changes (a member joins, leaves or changes
its subscription, a subscribed topic appears or grows); the target assignment is then recomputed at once and
carries that epoch as the *assignment epoch*. Each member has a *member epoch*: the assignment epoch it has
reconciled to. A member moves to a new epoch only in steps that never give a partition to two members:

- it first gives up (*revokes*) what its target no longer holds, keeping its epoch (state ``UNREVOKED_PARTITIONS``)
  until a heartbeat shows it no longer owns them;
- it then takes the new epoch and the partitions of its target that no other member still holds; those others
  still hold (assigned or being revoked) are given to it later, once released (state ``UNRELEASED_PARTITIONS``);
- with everything of its target, it is ``STABLE``.

States of the group as Kafka names them: Empty (no member), Assigning (target older than the group epoch; not
seen here, since the target is computed at once), Reconciling (a member is not yet at the target), Stable.

Plain data guarded by the coordinator's lock; nothing here blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from hub.log.group.assignors import ASSIGNORS, MemberSpec, Partitions


class MemberState(Enum):
    STABLE = "stable"
    UNREVOKED_PARTITIONS = "unrevoked_partitions"
    UNRELEASED_PARTITIONS = "unreleased_partitions"


#: A static member that left with epoch -2 keeps its place (and partitions) until its session ends.
LEFT_STATIC_EPOCH = -2


@dataclass
class ConsumerMember:
    """One member (mutable, owned by its ConsumerGroup)."""

    member_id: str
    instance_id: str | None
    rack_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = 0
    state: MemberState = MemberState.STABLE
    assigned: Partitions = field(default_factory=dict)
    revoking: Partitions = field(default_factory=dict)
    last_heartbeat: float = 0.0
    revocation_deadline: float | None = None


@dataclass
class ConsumerGroup:
    """One consumer group (see the module docstring)."""

    group_id: str
    created_ms: int
    group_epoch: int = 0
    assignment_epoch: int = 0
    members: dict[str, ConsumerMember] = field(default_factory=dict)
    target: dict[str, Partitions] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)
    #: topic -> (topic id, partition count) of the subscribed topics the target was computed from
    topic_snapshot: dict[str, tuple[str, int]] = field(default_factory=dict)
    assignor_name: str = ""

    @property
    def state(self) -> str:
        if not self.members:
            return "Empty"
        if self.assignment_epoch < self.group_epoch:
            return "Assigning"
        if any(m.member_epoch != self.assignment_epoch or m.state is not MemberState.STABLE for m in self.live()):
            return "Reconciling"
        return "Stable"

    def live(self) -> list[ConsumerMember]:
        """Members that have not left (a static member that left with -2 still holds its place)."""
        return [m for m in self.members.values() if m.member_epoch != LEFT_STATIC_EPOCH]

    def compute_target(self, topics: Mapping[str, tuple[str, int]], default_assignors: tuple[str, ...]) -> None:
        """Recompute the target assignment for the group epoch from ``topics`` (the subscribed topics: id and
        partition count)."""
        self.assignor_name = choose_assignor(self.members.values(), default_assignors)
        counts = {name: count for name, (_, count) in topics.items()}
        specs = {
            m.member_id: MemberSpec(frozenset(subscribed(m, counts)), _union(m.assigned, m.revoking), m.instance_id)
            for m in self.members.values()
        }
        self.target = ASSIGNORS[self.assignor_name](specs, counts)
        self.topic_snapshot = dict(topics)
        self.assignment_epoch = self.group_epoch

    def held_by_others(self, member_id: str) -> set[tuple[str, int]]:
        """Partitions assigned to, or still being revoked by, another member."""
        held: set[tuple[str, int]] = set()
        for other in self.members.values():
            if other.member_id != member_id:
                for topic, partitions in _union(other.assigned, other.revoking).items():
                    held.update((topic, p) for p in partitions)
        return held

    def reconcile(self, member: ConsumerMember, owned: Partitions | None, now: float) -> None:
        """Move ``member`` toward its target as far as it may go now (see the module docstring). ``owned`` is what
        the member's heartbeat says it owns (None: not said)."""
        if member.state is MemberState.UNREVOKED_PARTITIONS:
            if owned is None or _overlaps(owned, member.revoking):
                return  # still revoking
            member.revoking = {}
            member.revocation_deadline = None
            member.state = MemberState.STABLE
        if member.member_epoch == self.assignment_epoch and member.state is MemberState.STABLE:
            return
        target = self.target.get(member.member_id, {})
        keep = _intersection(member.assigned, target)
        revoke = _difference(member.assigned, target)
        if revoke:
            member.assigned = keep
            member.revoking = revoke
            member.state = MemberState.UNREVOKED_PARTITIONS
            member.revocation_deadline = now + member.rebalance_timeout_ms / 1000
            return
        held = self.held_by_others(member.member_id)
        granted: dict[str, set[int]] = {topic: set(parts) for topic, parts in keep.items()}
        unreleased = False
        for topic, partitions in target.items():
            for partition in partitions:
                if (topic, partition) in held:
                    unreleased = True
                else:
                    granted.setdefault(topic, set()).add(partition)
        if self.assignment_epoch != member.member_epoch:
            member.previous_member_epoch = member.member_epoch
            member.member_epoch = self.assignment_epoch
        member.assigned = {topic: frozenset(parts) for topic, parts in granted.items() if parts}
        member.state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE


def subscribed(member: ConsumerMember, topics: Mapping[str, object]) -> set[str]:
    """The existing topics ``member`` subscribes to: named ones and, with a regex, every match (whole name)."""
    names = {name for name in member.subscribed_topic_names if name in topics}
    if member.subscribed_topic_regex is not None:
        pattern = re.compile(member.subscribed_topic_regex)
        names.update(name for name in topics if pattern.fullmatch(name))
    return names


def choose_assignor(members: Iterable[ConsumerMember], default_assignors: tuple[str, ...]) -> str:
    """The assignor most members ask for (ties: the first asked), else the first configured one."""
    votes: dict[str, int] = {}
    for member in members:
        if member.server_assignor:
            votes[member.server_assignor] = votes.get(member.server_assignor, 0) + 1
    if not votes:
        return default_assignors[0]
    return max(votes, key=lambda name: votes[name])


def _union(a: Partitions, b: Partitions) -> Partitions:
    out = dict(a)
    for topic, parts in b.items():
        out[topic] = out.get(topic, frozenset()) | parts
    return out


def _intersection(a: Partitions, b: Partitions) -> Partitions:
    out = {topic: parts & b.get(topic, frozenset()) for topic, parts in a.items()}
    return {topic: parts for topic, parts in out.items() if parts}


def _difference(a: Partitions, b: Partitions) -> Partitions:
    out = {topic: parts - b.get(topic, frozenset()) for topic, parts in a.items()}
    return {topic: parts for topic, parts in out.items() if parts}


def _overlaps(a: Partitions, b: Partitions) -> bool:
    return any(parts & b.get(topic, frozenset()) for topic, parts in a.items())


def is_subset(a: Partitions, b: Partitions) -> bool:
    return not _difference(a, b)
