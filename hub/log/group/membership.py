"""Membership of the classic group protocol: who is in a group — joins, syncs, heartbeats, leaves, expiry.

Kafka's GroupCoordinator keeps this part itself and leaves the groups' durable state to its GroupMetadataManager;
here GroupMembership holds these rules, its Rebalancer (hub.log.group.rebalance) the steps of a rebalance, and
the OffsetsManager (hub.log.group.offsets_manager) the groups.

Rules: a new member, a member leaving or expiring, or a member rejoining with changed metadata starts a rebalance;
a follower rejoining a stable group with the same metadata gets the current generation back. Static members
(``group.instance.id``) keep their place across restarts: a restarted one takes the old member's place under a
new id and the old id is fenced. A member whose session lapses expires, as does a new member that does not
complete its join in ``new_member_join_timeout_ms``. Requests naming an unknown member, another generation or a
fenced instance are answered with Kafka's errors; a commit is allowed only to a member of the current generation
of a stable group (or to a client that keeps only its offsets here), and counts as a heartbeat.

Calls that must wait (JoinGroup, a follower's SyncGroup) get a ``concurrent.futures.Future``; results known while
the lock is held are collected as Resolutions, set after it is released.

Thread-safety: none of its own; GroupCoordinator calls every method under the one lock that guards all groups
(``check_join`` needs none).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hub.log.error_codes import ErrorCode
from hub.log.group.group import Group, GroupState, JoinGroupResult, Member, Resolution, SyncGroupResult
from hub.log.group.offsets_format import valid_group_id
from hub.log.group.offsets_manager import OffsetsManager
from hub.log.group.rebalance import Rebalancer

if TYPE_CHECKING:
    from hub.log.group.coordinator import CoordinatorConfig

log = logging.getLogger("hub.log.group")


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """One JoinGroup call, as the join helpers see it."""

    member_id: str
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    session_timeout_ms: int
    rebalance_timeout_ms: int
    group_instance_id: str | None
    client_id: str
    client_host: str
    future: Future[JoinGroupResult]

    def refresh(self, member: Member, now: float) -> None:
        """Apply this join to an existing member: new metadata and timeouts, alive now, waiting for the join."""
        member.protocols = self.protocols
        member.session_timeout_ms = self.session_timeout_ms
        member.rebalance_timeout_ms = self.rebalance_timeout_ms
        member.last_heartbeat = now
        member.join_future = self.future


class GroupMembership:
    """The membership rules of every group (see the module docstring)."""

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
        self.rebalance = Rebalancer(groups, config, clock, wall_clock)

    # --- join ----------------------------------------------------------------------------------------------------

    def join(
        self, group_id: str, request: JoinRequest, require_known_member_id: bool, resolutions: list[Resolution]
    ) -> None:
        """Join or rejoin ``request``'s member; its future resolves when the rebalance completes (or with an error)."""
        group = self.groups.get(group_id)
        if group is None and not request.member_id:
            group = self.groups.get_or_create(group_id)
        error = ErrorCode.NONE
        if group is None:
            error = ErrorCode.UNKNOWN_MEMBER_ID
        elif group.state is GroupState.DEAD:
            error = ErrorCode.COORDINATOR_NOT_AVAILABLE
        elif not group.supports(request.protocol_type, request.protocols):
            error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        if group is None or error is not ErrorCode.NONE:
            request.future.set_result(JoinGroupResult(error, member_id=request.member_id))
            return
        now = self.clock()
        if request.member_id:
            self._join_known_member(group, request, now, resolutions)
        else:
            self._join_new_member(group, request, require_known_member_id, now, resolutions)
        self.rebalance.maybe_complete_join(group, now, resolutions)

    def check_join(self, group_id: str, session_timeout_ms: int, protocols: Sequence[tuple[str, bytes]]) -> ErrorCode:
        if not valid_group_id(group_id):
            return ErrorCode.INVALID_GROUP_ID
        if not self.config.min_session_timeout_ms <= session_timeout_ms <= self.config.max_session_timeout_ms:
            return ErrorCode.INVALID_SESSION_TIMEOUT
        if not protocols:
            return ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        return ErrorCode.NONE

    def _join_new_member(
        self,
        group: Group,
        request: JoinRequest,
        require_known_member_id: bool,
        now: float,
        resolutions: list[Resolution],
    ) -> None:
        new_id = f"{request.client_id or 'member'}-{uuid.uuid4()}"
        instance_id = request.group_instance_id
        old = group.members.pop(group.static_members.get(instance_id or "", ""), None) if instance_id else None
        if old is not None:
            # A static member restarted: it takes the old member's place under a new id; the old one is fenced.
            if group.leader_id == old.member_id:
                group.leader_id = new_id
            self.rebalance.fail_member_futures(old, resolutions, ErrorCode.FENCED_INSTANCE_ID)
            old.member_id = new_id
            request.refresh(old, now)
            group.members[new_id] = old
            group.static_members[instance_id or ""] = new_id
            if group.state is GroupState.STABLE and group.protocol is not None and old.supports(group.protocol):
                old.join_future = None
                leader = new_id == group.leader_id
                result = self.rebalance.join_result(group, old, include_members=leader)
                resolutions.append((request.future, replace(result, skip_assignment=leader)))
                return
            self.rebalance.prepare(group, now, f"static member {instance_id} rejoined", resolutions)
            return
        if require_known_member_id and not instance_id:
            group.pending_members.add(new_id)
            resolutions.append((request.future, JoinGroupResult(ErrorCode.MEMBER_ID_REQUIRED, member_id=new_id)))
            return
        self._add_member(group, request, new_id, now, resolutions)

    def _join_known_member(self, group: Group, request: JoinRequest, now: float, resolutions: list[Resolution]) -> None:
        member_id = request.member_id
        if member_id in group.pending_members:
            group.pending_members.discard(member_id)
            self._add_member(group, request, member_id, now, resolutions)
            return
        member = group.members.get(member_id)
        if member is None:
            resolutions.append((request.future, JoinGroupResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id=member_id)))
            return
        if request.group_instance_id and group.static_members.get(request.group_instance_id) != member_id:
            resolutions.append((request.future, JoinGroupResult(ErrorCode.FENCED_INSTANCE_ID, member_id=member_id)))
            return
        if member.join_future is not None:
            resolutions.append((member.join_future, JoinGroupResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id=member_id)))
        changed = member.protocols != request.protocols
        request.refresh(member, now)
        if group.state is GroupState.PREPARING_REBALANCE:
            return
        if group.state is GroupState.STABLE and not changed and member_id != group.leader_id:
            # A follower rejoining with the same metadata gets the current generation back.
            member.join_future = None
            resolutions.append((request.future, self.rebalance.join_result(group, member, include_members=False)))
            return
        self.rebalance.prepare(group, now, f"member {member_id} rejoined", resolutions)

    def _add_member(
        self, group: Group, request: JoinRequest, member_id: str, now: float, resolutions: list[Resolution]
    ) -> None:
        if len(group.members) >= self.config.max_group_size:
            resolutions.append((request.future, JoinGroupResult(ErrorCode.GROUP_MAX_SIZE_REACHED, member_id=member_id)))
            return
        if group.is_empty:
            group.protocol_type = request.protocol_type
        member = Member(
            member_id,
            request.group_instance_id,
            request.client_id,
            request.client_host,
            request.session_timeout_ms,
            request.rebalance_timeout_ms,
            request.protocol_type,
            request.protocols,
            last_heartbeat=now,
            join_future=request.future,
        )
        group.members[member_id] = member
        if request.group_instance_id:
            group.static_members[request.group_instance_id] = member_id
        self.rebalance.prepare(group, now, f"member {member_id} joined", resolutions)

    # --- sync, heartbeat, leave ---------------------------------------------------------------------------------

    def sync(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes] | None,
        group_instance_id: str | None,
        future: Future[SyncGroupResult],
    ) -> None:
        """Followers wait for the leader's assignments; the leader's call (with ``assignments``) completes the
        rebalance once they are committed."""
        group = self.groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if group is None or member is None:
            future.set_result(SyncGroupResult(ErrorCode.UNKNOWN_MEMBER_ID))
            return
        if group_instance_id and group.static_members.get(group_instance_id) != member_id:
            future.set_result(SyncGroupResult(ErrorCode.FENCED_INSTANCE_ID))
            return
        if generation_id != group.generation_id:
            future.set_result(SyncGroupResult(ErrorCode.ILLEGAL_GENERATION))
            return
        if group.state is GroupState.PREPARING_REBALANCE:
            future.set_result(SyncGroupResult(ErrorCode.REBALANCE_IN_PROGRESS))
            return
        member.last_heartbeat = self.clock()
        if group.state is GroupState.STABLE:
            future.set_result(SyncGroupResult(ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol))
            return
        member.sync_future = future
        if member_id == group.leader_id and assignments is not None:
            self.rebalance.complete_sync(group, assignments)

    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, *, group_instance_id: str | None = None
    ) -> ErrorCode:
        group = self.groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if group is None or member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group_instance_id and group.static_members.get(group_instance_id) != member_id:
            return ErrorCode.FENCED_INSTANCE_ID
        member.last_heartbeat = self.clock()
        if group.state is GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        return ErrorCode.NONE

    def leave(
        self, group_id: str, members: Sequence[tuple[str, str | None]], resolutions: list[Resolution]
    ) -> list[ErrorCode]:
        """Remove members (``(member_id, group_instance_id)``; a static member may be named by instance id
        alone); the others rebalance at once."""
        errors: list[ErrorCode] = []
        group = self.groups.get(group_id)
        for member_id, instance_id in members:
            if group is None:
                errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                continue
            if not member_id and instance_id:
                member_id = group.static_members.get(instance_id, "")
            elif instance_id and group.static_members.get(instance_id) != member_id:
                errors.append(ErrorCode.FENCED_INSTANCE_ID)
                continue
            member = group.members.get(member_id)
            if member is None:
                errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                continue
            self.rebalance.fail_member_futures(member, resolutions, ErrorCode.UNKNOWN_MEMBER_ID)
            self.rebalance.remove_member(group, member_id)
            log.info("group %r: member %r left", group_id, member_id)
            errors.append(ErrorCode.NONE)
        if group is not None and any(error is ErrorCode.NONE for error in errors):
            now = self.clock()
            self.rebalance.prepare(group, now, "members left", resolutions)
            self.rebalance.maybe_complete_join(group, now, resolutions)
        return errors

    # --- expiry, closing, commits ------------------------------------------------------------------------------

    def expire(self, resolutions: list[Resolution]) -> None:
        """Expire lapsed sessions and complete due rebalances."""
        now = self.clock()
        for group in self.groups.groups():
            expired = [
                member
                for member in group.members.values()
                if member.join_future is None
                and member.sync_future is None
                and now - member.last_heartbeat > member.session_timeout_ms / 1000
            ]
            if group.state is GroupState.PREPARING_REBALANCE:
                expired += [
                    member
                    for member in group.members.values()
                    if member.join_future is not None
                    and member.is_new
                    and now - member.last_heartbeat > self.config.new_member_join_timeout_ms / 1000
                ]
            for member in expired:
                log.info(
                    "group %r: member %r expired (no heartbeat for %d ms)",
                    group.group_id,
                    member.member_id,
                    member.session_timeout_ms,
                )
                self.rebalance.fail_member_futures(member, resolutions, ErrorCode.UNKNOWN_MEMBER_ID)
                self.rebalance.remove_member(group, member.member_id)
            if expired and group.state is not GroupState.DEAD:
                self.rebalance.prepare(group, now, "members expired", resolutions)
            self.rebalance.expire_sync(group, now, resolutions)
            self.rebalance.maybe_complete_join(group, now, resolutions)

    def fail_waiting(self, error: ErrorCode, resolutions: list[Resolution]) -> None:
        """Answer every waiting join and sync with ``error`` (the coordinator resigns or closes)."""
        for group in self.groups.groups():
            for member in group.members.values():
                if member.join_future is not None:
                    resolutions.append((member.join_future, JoinGroupResult(error, member_id=member.member_id)))
                    member.join_future = None
                if member.sync_future is not None:
                    resolutions.append((member.sync_future, SyncGroupResult(error)))
                    member.sync_future = None

    def check_commit(
        self, group: Group | None, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> ErrorCode:
        """Whether a member may commit offsets now (a commit counts as a heartbeat); NONE when it may."""
        if group is None or group.state is GroupState.EMPTY:
            if generation_id < 0 and not member_id:
                return ErrorCode.NONE  # a client that only keeps its offsets here
            return ErrorCode.UNKNOWN_MEMBER_ID if group is None or member_id not in group.members else ErrorCode.NONE
        if group.state is GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and not member_id:
            return ErrorCode.ILLEGAL_GENERATION
        if group_instance_id and group.static_members.get(group_instance_id) != member_id:
            return ErrorCode.FENCED_INSTANCE_ID
        if member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.state is not GroupState.STABLE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        group.members[member_id].last_heartbeat = self.clock()
        return ErrorCode.NONE
