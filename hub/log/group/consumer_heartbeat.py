"""ConsumerGroups: the table of consumer-protocol groups (KIP-848) and the ConsumerGroupHeartbeat logic over it —
joining (member epoch 0), heartbeats, leaving (-1; -2 for a static member), session and revocation expiry, and the
checks OffsetCommit and OffsetFetch make for members of such groups.

Kafka's rules, with its error codes: a bad request (empty group id, a first heartbeat without subscription or
rebalance timeout, a version-1 join without the member id the client chose) is INVALID_REQUEST; an assignor not
configured is UNSUPPORTED_ASSIGNOR, a regex Python cannot compile INVALID_REGULAR_EXPRESSION; a member unknown to
the group UNKNOWN_MEMBER_ID; an epoch ahead of the member's, or behind it other than the previous epoch with a
subset of its partitions (the answer that raised it may have been lost), FENCED_MEMBER_EPOCH; joining with an
instance id held by a member that has not left with -2 UNRELEASED_INSTANCE_ID; a heartbeat or leave naming an
instance id no member holds UNKNOWN_MEMBER_ID, one another member holds FENCED_INSTANCE_ID; a full group
GROUP_MAX_SIZE_REACHED. A leave from a group not known gets GROUP_ID_NOT_FOUND, a heartbeat UNKNOWN_MEMBER_ID (so
that members of a group lost with its coordinator rejoin).

The group's state lives in memory only (see docs/groups.md): a coordinator that takes over starts with no consumer
groups, so its members' heartbeats get UNKNOWN_MEMBER_ID and they rejoin with epoch 0; committed offsets are in
``__consumer_offsets`` and survive.

Thread-safety: every method runs under the GroupCoordinator's lock.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hub.log.error_codes import ErrorCode
from hub.log.group.assignors import ASSIGNORS, Partitions
from hub.log.group.consumer_group import (
    LEFT_STATIC_EPOCH,
    ConsumerGroup,
    ConsumerMember,
    is_subset,
    subscribed,
)

LEAVE_EPOCH = -1

#: topic name -> (topic id as 32 hex digits, partition count), Kafka's internal topics left out
TopicSource = Callable[[], Mapping[str, tuple[str, int]]]


@dataclass(frozen=True, slots=True)
class ConsumerHeartbeat:
    """A ConsumerGroupHeartbeat request, as decoded (topic ids as 32 hex digits)."""

    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: tuple[str, ...] | None = None
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    owned: tuple[tuple[str, tuple[int, ...]], ...] | None = None
    version: int = 1
    client_id: str = ""
    client_host: str = ""


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    error: ErrorCode
    message: str | None = None
    member_id: str | None = None
    member_epoch: int = 0
    heartbeat_interval_ms: int = 0
    #: topic id -> partitions; None when the assignment is unchanged
    assignment: dict[str, tuple[int, ...]] | None = None


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """Kafka's ``group.consumer.*`` broker settings, with its defaults."""

    heartbeat_interval_ms: int = 5_000
    session_timeout_ms: int = 45_000
    max_size: int = 2**31 - 1
    assignors: tuple[str, ...] = ("uniform", "range")


class _RefusedError(Exception):
    def __init__(self, error: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class ConsumerGroups:
    """The consumer groups this coordinator serves (see the module docstring)."""

    def __init__(self, settings: ConsumerSettings, topics: TopicSource) -> None:
        for name in settings.assignors:
            if name not in ASSIGNORS:
                raise ValueError(f"unknown assignor {name!r} in group.consumer.assignors")
        self.settings = settings
        self._topics = topics
        self.groups: dict[str, ConsumerGroup] = {}

    def topics(self) -> Mapping[str, tuple[str, int]]:
        return self._topics()

    def subscribed_topics(self, group: ConsumerGroup) -> set[str]:
        """The existing topics the group's members subscribe to (OffsetDelete keeps their offsets)."""
        return set(self._snapshot(group, self._topics()))

    def get(self, group_id: str) -> ConsumerGroup | None:
        return self.groups.get(group_id)

    def clear(self) -> None:
        self.groups.clear()

    # --- ConsumerGroupHeartbeat --------------------------------------------------------------------------------

    def heartbeat(
        self, request: ConsumerHeartbeat, now: float, now_ms: int, classic_in_use: Callable[[str], bool]
    ) -> HeartbeatResult:
        """Answer one heartbeat. ``classic_in_use(group_id)`` tells whether a classic group with members holds the
        id (the id is then not a consumer group's: GROUP_ID_NOT_FOUND)."""
        try:
            self._validate(request)
            if request.member_epoch in (LEAVE_EPOCH, LEFT_STATIC_EPOCH):
                return self._leave(request)
            return self._heartbeat(request, now, now_ms, classic_in_use)
        except _RefusedError as refused:
            return HeartbeatResult(refused.error, refused.message, member_id=request.member_id or None)

    def _validate(self, r: ConsumerHeartbeat) -> None:
        def bad(message: str) -> _RefusedError:
            return _RefusedError(ErrorCode.INVALID_REQUEST, message)

        if (r.version >= 1 or r.member_epoch > 0 or r.member_epoch == LEAVE_EPOCH) and _blank(r.member_id):
            raise bad("MemberId can't be empty.")
        if _blank(r.group_id):
            raise bad("GroupId can't be empty.")
        if r.instance_id is not None and _blank(r.instance_id):
            raise bad("InstanceId can't be empty.")
        if r.rack_id is not None and _blank(r.rack_id):
            raise bad("RackId can't be empty.")
        if r.member_epoch == 0:
            if r.rebalance_timeout_ms == -1:
                raise bad("RebalanceTimeoutMs must be provided in first request.")
            if r.owned is None or r.owned:
                raise bad("TopicPartitions must be empty when (re-)joining.")
            if not r.subscribed_topic_names and not r.subscribed_topic_regex:
                raise bad("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
        elif r.member_epoch == LEFT_STATIC_EPOCH:
            if r.instance_id is None:
                raise bad("InstanceId can't be null.")
        elif r.member_epoch < LEFT_STATIC_EPOCH:
            raise bad("MemberEpoch is invalid.")
        if r.server_assignor is not None and r.server_assignor not in self.settings.assignors:
            raise _RefusedError(
                ErrorCode.UNSUPPORTED_ASSIGNOR,
                f"ServerAssignor {r.server_assignor} is not supported. "
                f"Supported assignors: {', '.join(self.settings.assignors)}.",
            )
        if r.subscribed_topic_regex is not None:
            try:
                re.compile(r.subscribed_topic_regex)
            except re.error as exc:
                raise _RefusedError(ErrorCode.INVALID_REGULAR_EXPRESSION, f"Invalid regular expression: {exc}") from exc

    def _heartbeat(
        self, r: ConsumerHeartbeat, now: float, now_ms: int, classic_in_use: Callable[[str], bool]
    ) -> HeartbeatResult:
        group = self.groups.get(r.group_id)
        if group is None:
            if r.member_epoch != 0:
                raise _RefusedError(ErrorCode.UNKNOWN_MEMBER_ID, _not_member(r.member_id, r.group_id))
            if classic_in_use(r.group_id):
                raise _RefusedError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {r.group_id} is not a consumer group.")
            group = self.groups[r.group_id] = ConsumerGroup(r.group_id, now_ms)
        topics = self._topics()
        changed = False
        if r.member_epoch == 0:
            member, changed = self._join(group, r, now)
            joined = True
        else:
            member = self._known_member(group, r)
            joined = False
        before = dict(member.assigned)
        member.last_heartbeat = now
        changed = self._update(member, r) or changed
        snapshot = self._snapshot(group, topics)
        if changed or snapshot != group.topic_snapshot:
            group.group_epoch += 1
            group.compute_target(snapshot, self.settings.assignors)
        owned = None if r.owned is None else _names(r.owned, topics)
        group.reconcile(member, owned, now)
        send = joined or member.assigned != before or (owned is not None and owned != member.assigned)
        return HeartbeatResult(
            ErrorCode.NONE,
            member_id=member.member_id,
            member_epoch=member.member_epoch,
            heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
            assignment=_ids(member.assigned, topics) if send else None,
        )

    def _join(self, group: ConsumerGroup, r: ConsumerHeartbeat, now: float) -> tuple[ConsumerMember, bool]:
        """The member joining with epoch 0 (a new one, a static member taking its place back, or one rejoining);
        whether the group epoch must move."""
        member_id = r.member_id or uuid.uuid4().hex[:22]
        if r.instance_id is not None:
            holder_id = group.static_members.get(r.instance_id)
            if holder_id is not None and holder_id != member_id:
                holder = group.members[holder_id]
                if holder.member_epoch != LEFT_STATIC_EPOCH:
                    raise _RefusedError(
                        ErrorCode.UNRELEASED_INSTANCE_ID,
                        f"Static member {holder_id} with instance id {r.instance_id} is not released yet.",
                    )
                # The returning static member takes the place of the one that left: same partitions, same epoch.
                del group.members[holder_id]
                member = _new_member(member_id, r)
                member.assigned, member.revoking, member.state = holder.assigned, holder.revoking, holder.state
                member.subscribed_topic_names = holder.subscribed_topic_names
                member.subscribed_topic_regex = holder.subscribed_topic_regex
                member.server_assignor = holder.server_assignor
                member.member_epoch = member.previous_member_epoch = holder.previous_member_epoch
                group.members[member_id] = member
                group.static_members[r.instance_id] = member_id
                if holder_id in group.target:
                    group.target[member_id] = group.target.pop(holder_id)
                return member, False
        old = group.members.pop(member_id, None)
        if old is None and len(group.members) >= self.settings.max_size:
            raise _RefusedError(
                ErrorCode.GROUP_MAX_SIZE_REACHED,
                f"The consumer group has reached its maximum capacity of {self.settings.max_size} members.",
            )
        member = _new_member(member_id, r)
        group.members[member_id] = member
        if r.instance_id is not None:
            group.static_members[r.instance_id] = member_id
        return member, True

    def _known_member(self, group: ConsumerGroup, r: ConsumerHeartbeat) -> ConsumerMember:
        if r.instance_id is not None:
            self._static_member(group, r)
        member = group.members.get(r.member_id)
        if member is None or member.member_epoch == LEFT_STATIC_EPOCH:
            raise _RefusedError(ErrorCode.UNKNOWN_MEMBER_ID, _not_member(r.member_id, group.group_id))
        if r.member_epoch > member.member_epoch or (
            r.member_epoch < member.member_epoch
            and (
                r.member_epoch != member.previous_member_epoch
                or r.owned is None
                or not is_subset(_names(r.owned, self._topics()), member.assigned)
            )
        ):
            raise _RefusedError(
                ErrorCode.FENCED_MEMBER_EPOCH,
                f"The member epoch {r.member_epoch} is not the one the coordinator knows ({member.member_epoch}). "
                "The member must abandon all its partitions and rejoin.",
            )
        return member

    @staticmethod
    def _update(member: ConsumerMember, r: ConsumerHeartbeat) -> bool:
        """Apply what the heartbeat changes; whether the assignment depends on the change."""
        changed = False
        if r.rebalance_timeout_ms != -1:
            member.rebalance_timeout_ms = r.rebalance_timeout_ms
        if r.rack_id is not None:
            member.rack_id = r.rack_id
        if r.subscribed_topic_names is not None and tuple(r.subscribed_topic_names) != member.subscribed_topic_names:
            member.subscribed_topic_names = tuple(r.subscribed_topic_names)
            changed = True
        # an empty regex clears the regex subscription (librdkafka sends one with every topic-name subscription)
        regex = r.subscribed_topic_regex or None
        if r.subscribed_topic_regex is not None and regex != member.subscribed_topic_regex:
            member.subscribed_topic_regex = regex
            changed = True
        if r.server_assignor is not None and r.server_assignor != member.server_assignor:
            member.server_assignor = r.server_assignor
            changed = True
        return changed

    @staticmethod
    def _snapshot(group: ConsumerGroup, topics: Mapping[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
        """The subscribed topics as they are now: a difference from the group's snapshot reassigns."""
        names: set[str] = set()
        for member in group.members.values():
            names |= subscribed(member, topics)
        return {name: topics[name] for name in sorted(names)}

    def _leave(self, r: ConsumerHeartbeat) -> HeartbeatResult:
        group = self.groups.get(r.group_id)
        if group is None:
            raise _RefusedError(ErrorCode.GROUP_ID_NOT_FOUND, f"Consumer group {r.group_id} not found.")
        if r.instance_id is None:
            member = group.members.get(r.member_id)
            if member is None:
                raise _RefusedError(ErrorCode.UNKNOWN_MEMBER_ID, _not_member(r.member_id, r.group_id))
        else:
            member = self._static_member(group, r)
        if r.member_epoch == LEFT_STATIC_EPOCH:
            # It keeps its partitions until its session ends, for the same instance to come back to them.
            if member.member_epoch != LEFT_STATIC_EPOCH:
                member.previous_member_epoch = member.member_epoch
                member.member_epoch = LEFT_STATIC_EPOCH
        else:
            self.remove(group, member)
        return HeartbeatResult(ErrorCode.NONE, member_id=member.member_id, member_epoch=r.member_epoch)

    @staticmethod
    def _static_member(group: ConsumerGroup, r: ConsumerHeartbeat) -> ConsumerMember:
        """The member holding the request's instance id: UNKNOWN_MEMBER_ID when none does, FENCED_INSTANCE_ID when
        another member id does."""
        holder_id = group.static_members.get(r.instance_id or "")
        if holder_id is None:
            raise _RefusedError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {r.instance_id} is unknown.")
        if holder_id != r.member_id:
            raise _RefusedError(
                ErrorCode.FENCED_INSTANCE_ID,
                f"Static member {r.member_id} with instance id {r.instance_id} was fenced by member {holder_id}.",
            )
        return group.members[holder_id]

    def remove(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        """Take a member out; the others get its partitions."""
        del group.members[member.member_id]
        if member.instance_id is not None and group.static_members.get(member.instance_id) == member.member_id:
            del group.static_members[member.instance_id]
        group.target.pop(member.member_id, None)
        group.group_epoch += 1
        group.compute_target(self._snapshot(group, self._topics()), self.settings.assignors)

    def expire(self, now: float) -> list[tuple[str, str]]:
        """Remove members whose session lapsed or who did not revoke within their rebalance timeout; returns
        ``(group id, member id)`` of each removed."""
        removed = []
        session = self.settings.session_timeout_ms / 1000
        for group in self.groups.values():
            for member in list(group.members.values()):
                late_revoke = member.revocation_deadline is not None and now > member.revocation_deadline
                if now - member.last_heartbeat > session or late_revoke:
                    self.remove(group, member)
                    removed.append((group.group_id, member.member_id))
        return removed

    # --- offsets -----------------------------------------------------------------------------------------------

    def check_commit(self, group: ConsumerGroup, member_id: str, member_epoch: int, api_version: int) -> ErrorCode:
        """Kafka's rule for OffsetCommit to a consumer group: anyone with epoch -1 while it has no member, else a
        member at its current epoch through version 9 or later."""
        if member_epoch < 0 and not group.members:
            return ErrorCode.NONE
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if api_version < 9:
            return ErrorCode.UNSUPPORTED_VERSION
        return ErrorCode.NONE if member_epoch == member.member_epoch else ErrorCode.STALE_MEMBER_EPOCH

    def check_fetch(self, group: ConsumerGroup, member_id: str | None, member_epoch: int) -> ErrorCode:
        """Kafka's rule for OffsetFetch (version 9 names the member): anyone without member id and epoch -1."""
        if member_id is None and member_epoch < 0:
            return ErrorCode.NONE
        member = group.members.get(member_id or "")
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        return ErrorCode.NONE if member_epoch == member.member_epoch else ErrorCode.STALE_MEMBER_EPOCH


def _new_member(member_id: str, r: ConsumerHeartbeat) -> ConsumerMember:
    return ConsumerMember(
        member_id=member_id,
        instance_id=r.instance_id,
        rack_id=r.rack_id,
        client_id=r.client_id,
        client_host=r.client_host,
        rebalance_timeout_ms=r.rebalance_timeout_ms,
    )


def _names(owned: tuple[tuple[str, tuple[int, ...]], ...], topics: Mapping[str, tuple[str, int]]) -> Partitions:
    """Owned partitions by topic name (ids of topics that no longer exist are left out)."""
    by_id = {topic_id: name for name, (topic_id, _) in topics.items()}
    named: dict[str, frozenset[int]] = {}
    for topic_id, partitions in owned:
        name = by_id.get(topic_id)
        if name is not None and partitions:
            named[name] = named.get(name, frozenset()) | frozenset(partitions)
    return named


def _ids(assigned: Partitions, topics: Mapping[str, tuple[str, int]]) -> dict[str, tuple[int, ...]]:
    return {topics[name][0]: tuple(sorted(parts)) for name, parts in sorted(assigned.items()) if name in topics}


def _blank(value: str) -> bool:
    """Kafka's test for an empty string: nothing but whitespace."""
    return not value.strip()


def _not_member(member_id: str, group_id: str) -> str:
    return f"Member {member_id} is not a member of group {group_id}."
