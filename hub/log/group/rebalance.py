"""Rebalances of one group: from PREPARING_REBALANCE through COMPLETING_REBALANCE to STABLE (or EMPTY).

Rules: a rebalance starts when membership changes (GroupMembership says when); every known member must rejoin
within the largest rebalance timeout, and those that do not are removed; a group's first rebalance waits
``initial_rebalance_delay_ms`` for more members — except a group of Connect workers (protocol type ``connect``),
whose incremental rebalances make a later member cheap to add, so a worker alone is assigned its work at once.
Completing the join increases the generation, picks the protocol and the leader (kept when it stays), and answers
every waiting JoinGroup, the leader's with every member's metadata. The leader's SyncGroup completes the
rebalance once the assignments are committed (the group's record in ``__consumer_offsets``, written through the
coordinator's writer, without its lock held); members that do not sync in time are removed and the group
rebalances again.

Results known while the lock is held are collected as Resolutions and set by ``resolve()`` after it is released,
so no future's callback runs under the lock.

Thread-safety: none of its own; called under the coordinator's lock, as GroupMembership is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from hub.log.error_codes import ErrorCode
from hub.log.group.group import (
    Group,
    GroupState,
    JoinedMember,
    JoinGroupResult,
    Member,
    Resolution,
    SyncGroupResult,
)
from hub.log.group.offsets_manager import OffsetsManager

if TYPE_CHECKING:
    from hub.log.group.coordinator import CoordinatorConfig

log = logging.getLogger("hub.log.group")

#: Protocol type of Kafka Connect's (and Hub's) worker groups: no initial rebalance delay (module docstring).
WORKER_PROTOCOL_TYPE = "connect"


class Rebalancer:
    """The rebalance steps of every group (see the module docstring)."""

    def __init__(
        self,
        groups: OffsetsManager,
        config: CoordinatorConfig,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.groups = groups
        self.config = config
        self.clock = clock
        self.wall_clock = wall_clock

    def prepare(self, group: Group, now: float, reason: str, resolutions: list[Resolution]) -> None:
        """Start a rebalance (waiting syncs get REBALANCE_IN_PROGRESS), or, during one, push a first rebalance's
        initial delay out again."""
        if group.state is GroupState.COMPLETING_REBALANCE:
            for member in group.members.values():
                if member.sync_future is not None:
                    resolutions.append((member.sync_future, SyncGroupResult(ErrorCode.REBALANCE_IN_PROGRESS)))
                    member.sync_future = None
        timeout_s = max((m.rebalance_timeout_ms for m in group.members.values()), default=0) / 1000
        if group.state is not GroupState.PREPARING_REBALANCE:
            if (
                group.state is GroupState.EMPTY
                and self.config.initial_rebalance_delay_ms > 0
                and group.protocol_type != WORKER_PROTOCOL_TYPE
            ):
                group.initial_delay_until = now + self.config.initial_rebalance_delay_ms / 1000
            group.state = GroupState.PREPARING_REBALANCE
            group.rebalance_deadline = now + timeout_s
            group.state_timestamp_ms = int(self.wall_clock() * 1000)
            log.info("group %r: preparing rebalance (%r)", group.group_id, reason)
        elif group.initial_delay_until:
            group.initial_delay_until = min(
                now + self.config.initial_rebalance_delay_ms / 1000, group.rebalance_deadline
            )

    def maybe_complete_join(self, group: Group, now: float, resolutions: list[Resolution]) -> None:
        """Complete the join once every member rejoined (after any initial delay), or at the deadline without the
        members that did not."""
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        delayed = group.initial_delay_until and now < group.initial_delay_until
        if group.all_joined() and not delayed and group.members:
            self._complete_join(group, now, resolutions)
        elif now >= group.rebalance_deadline and not delayed:
            for member_id, member in list(group.members.items()):
                if member.join_future is None:
                    log.info("group %r: removing member %r, which did not rejoin in time", group.group_id, member_id)
                    self.remove_member(group, member_id)
            self._complete_join(group, now, resolutions)

    def _complete_join(self, group: Group, now: float, resolutions: list[Resolution]) -> None:
        group.initial_delay_until = 0.0
        group.generation_id += 1
        group.state_timestamp_ms = int(self.wall_clock() * 1000)
        if not group.members:
            group.state = GroupState.EMPTY
            group.protocol = group.leader_id = None
            group.protocol_type = None if not group.offsets else group.protocol_type
            self.groups.store_group(group, _log_failure(group.group_id, "storing its metadata"))
            log.info("group %r: empty at generation %d", group.group_id, group.generation_id)
            return
        group.protocol = group.select_protocol()
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        group.state = GroupState.COMPLETING_REBALANCE
        group.sync_deadline = now + max(m.rebalance_timeout_ms for m in group.members.values()) / 1000
        for member in group.members.values():
            member.is_new = False
            member.assignment = b""
            if member.join_future is not None:
                result = self.join_result(group, member, include_members=member.member_id == group.leader_id)
                resolutions.append((member.join_future, result))
                member.join_future = None
        log.info(
            "group %r: generation %d with %d member(s), protocol %r, leader %r",
            group.group_id,
            group.generation_id,
            len(group.members),
            group.protocol,
            group.leader_id,
        )

    def join_result(self, group: Group, member: Member, *, include_members: bool) -> JoinGroupResult:
        """The member's answer for the current generation; the leader's (``include_members``) lists every member."""
        protocol = group.protocol or ""
        members = (
            tuple(
                JoinedMember(m.member_id, m.group_instance_id, m.metadata_for(protocol)) for m in group.members.values()
            )
            if include_members
            else ()
        )
        return JoinGroupResult(
            ErrorCode.NONE,
            group.generation_id,
            group.protocol_type,
            group.protocol,
            group.leader_id or "",
            member.member_id,
            members,
        )

    def complete_sync(self, group: Group, assignments: Mapping[str, bytes]) -> None:
        """The leader's assignments: store them; once committed, if the group is still completing this generation,
        it is STABLE and every waiting member gets its own. When storing fails, every waiting member gets the error
        and the group rebalances (after a resignation the members were answered already)."""
        for other in group.members.values():
            other.assignment = bytes(assignments.get(other.member_id, b""))
        generation = group.generation_id

        def written(error: ErrorCode, resolutions: list[Resolution]) -> None:
            if (
                self.groups.get(group.group_id) is not group
                or group.state is not GroupState.COMPLETING_REBALANCE
                or group.generation_id != generation
            ):
                return
            if error is not ErrorCode.NONE:
                log.error("group %r: storing the assignment failed: %s", group.group_id, error.name)
                for other in group.members.values():
                    other.assignment = b""
                    if other.sync_future is not None:
                        resolutions.append((other.sync_future, SyncGroupResult(error)))
                        other.sync_future = None
                self.prepare(group, self.clock(), "storing the assignment failed", resolutions)
                return
            group.state = GroupState.STABLE
            group.state_timestamp_ms = int(self.wall_clock() * 1000)
            for other in group.members.values():
                if other.sync_future is not None:
                    result = SyncGroupResult(ErrorCode.NONE, other.assignment, group.protocol_type, group.protocol)
                    resolutions.append((other.sync_future, result))
                    other.sync_future = None

        self.groups.store_group(group, written)

    def expire_sync(self, group: Group, now: float, resolutions: list[Resolution]) -> None:
        """Past the sync deadline, remove the members that did not sync and rebalance again."""
        if group.state is not GroupState.COMPLETING_REBALANCE or now < group.sync_deadline:
            return
        for member_id, member in list(group.members.items()):
            if member.sync_future is None:
                self.remove_member(group, member_id)
        self.prepare(group, now, "members did not sync in time", resolutions)

    @staticmethod
    def remove_member(group: Group, member_id: str) -> None:
        """Drop a member (and its static id); a new leader is picked when it led."""
        member = group.members.pop(member_id, None)
        if member is not None and member.group_instance_id:
            group.static_members.pop(member.group_instance_id, None)
        if group.leader_id == member_id:
            group.leader_id = next(iter(group.members), None)

    @staticmethod
    def fail_member_futures(member: Member, resolutions: list[Resolution], error: ErrorCode) -> None:
        """Answer the member's waiting join and sync with ``error``."""
        if member.join_future is not None:
            resolutions.append((member.join_future, JoinGroupResult(error, member_id=member.member_id)))
            member.join_future = None
        if member.sync_future is not None:
            resolutions.append((member.sync_future, SyncGroupResult(error)))
            member.sync_future = None


def _log_failure(group_id: str, what: str) -> Callable[[ErrorCode, list[Resolution]], None]:
    def written(error: ErrorCode, _: list[Resolution]) -> None:
        if error is not ErrorCode.NONE:
            log.error("group %r: %s failed: %s", group_id, what, error.name)

    return written
