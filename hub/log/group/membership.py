"""Membership of the classic group protocol: joins, syncs, heartbeats and leaves, generations and rebalances.

Kafka's GroupCoordinator keeps this part itself and leaves the groups' durable state to its GroupMetadataManager;
here GroupMembership holds these rules and the OffsetsManager (hub.log.group.offsets_manager) holds the groups.

Rebalance rules: a new member, a member leaving or expiring, or a member rejoining with changed metadata starts
a rebalance; every known member must rejoin within the largest rebalance timeout (those that do not are removed);
a group's first rebalance waits ``initial_rebalance_delay_ms`` for more members — except a group of Connect
workers (protocol type ``connect``), whose incremental rebalances make a later member cheap to add, so a worker
alone is assigned its work at once; the generation increases with each completed rebalance; the leader (kept when
it stays) receives every member's metadata and sends the assignments with its SyncGroup, which completes the
rebalance once the group's metadata is durable. Static members (``group.instance.id``) keep their place across
restarts. A member whose session lapses expires; so does one that does not sync in time.

Calls that must wait (JoinGroup, a follower's SyncGroup) get a ``concurrent.futures.Future``; every result that
is known while the lock is held is collected as a Resolution and set with ``resolve()`` after the lock is
released, so no callback runs under it.

Thread-safety: none of its own; GroupCoordinator calls every method under the one lock that guards all groups
(``check_join`` needs none).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.log.error_codes import ErrorCode
from hub.log.group.group import Group, GroupState, JoinedMember, JoinGroupResult, Member, SyncGroupResult
from hub.log.group.offsets_manager import OffsetsManager

if TYPE_CHECKING:
    from hub.log.group.coordinator import CoordinatorConfig

log = logging.getLogger("hub.log.group")

#: Protocol type of Kafka Connect's (and Hub's) worker groups: no initial rebalance delay (module docstring).
WORKER_PROTOCOL_TYPE = "connect"

Resolution = tuple[Future[JoinGroupResult] | Future[SyncGroupResult], JoinGroupResult | SyncGroupResult]


def resolve(resolutions: list[Resolution]) -> None:
    """Set the collected results (call it without the lock)."""
    for future, result in resolutions:
        if not future.done():
            future.set_result(result)  # type: ignore[arg-type]


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
        self.wall_clock = wall_clock

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
        self._maybe_complete_join(group, now, resolutions)

    def check_join(self, group_id: str, session_timeout_ms: int, protocols: Sequence[tuple[str, bytes]]) -> ErrorCode:
        if not group_id:
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
            self._fail_member_futures(old, resolutions, ErrorCode.FENCED_INSTANCE_ID)
            old.member_id = new_id
            request.refresh(old, now)
            group.members[new_id] = old
            group.static_members[instance_id or ""] = new_id
            if group.state is GroupState.STABLE and group.protocol is not None and old.supports(group.protocol):
                old.join_future = None
                resolutions.append(
                    (request.future, self._join_result(group, old, include_members=new_id == group.leader_id))
                )
                return
            self._prepare_rebalance(group, now, f"static member {instance_id} rejoined", resolutions)
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
            resolutions.append((request.future, self._join_result(group, member, include_members=False)))
            return
        self._prepare_rebalance(group, now, f"member {member_id} rejoined", resolutions)

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
        self._prepare_rebalance(group, now, f"member {member_id} joined", resolutions)

    def _prepare_rebalance(self, group: Group, now: float, reason: str, resolutions: list[Resolution]) -> None:
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
            log.info("group %s: preparing rebalance (%s)", group.group_id, reason)
        elif group.initial_delay_until:
            group.initial_delay_until = min(
                now + self.config.initial_rebalance_delay_ms / 1000, group.rebalance_deadline
            )

    def _maybe_complete_join(self, group: Group, now: float, resolutions: list[Resolution]) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        delayed = group.initial_delay_until and now < group.initial_delay_until
        if group.all_joined() and not delayed and group.members:
            self._complete_join(group, now, resolutions)
        elif now >= group.rebalance_deadline and not delayed:
            for member_id, member in list(group.members.items()):
                if member.join_future is None:
                    log.info("group %s: removing member %s, which did not rejoin in time", group.group_id, member_id)
                    self._remove_member(group, member_id)
            self._complete_join(group, now, resolutions)

    def _complete_join(self, group: Group, now: float, resolutions: list[Resolution]) -> None:
        group.initial_delay_until = 0.0
        group.generation_id += 1
        group.state_timestamp_ms = int(self.wall_clock() * 1000)
        if not group.members:
            group.state = GroupState.EMPTY
            group.protocol = group.leader_id = None
            group.protocol_type = None if not group.offsets else group.protocol_type
            try:
                self.groups.store_group(group)
            except Exception as exc:
                log.error("group %s: storing its metadata failed: %s", group.group_id, exc)
            log.info("group %s: empty at generation %d", group.group_id, group.generation_id)
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
                result = self._join_result(group, member, include_members=member.member_id == group.leader_id)
                resolutions.append((member.join_future, result))
                member.join_future = None
        log.info(
            "group %s: generation %d with %d member(s), protocol %s, leader %s",
            group.group_id,
            group.generation_id,
            len(group.members),
            group.protocol,
            group.leader_id,
        )

    def _join_result(self, group: Group, member: Member, *, include_members: bool) -> JoinGroupResult:
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

    # --- sync, heartbeat, leave ---------------------------------------------------------------------------------

    def sync(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes] | None,
        group_instance_id: str | None,
        future: Future[SyncGroupResult],
        resolutions: list[Resolution],
    ) -> None:
        """Followers wait for the leader's assignments; the leader's call (with ``assignments``) completes the
        rebalance once they are durable."""
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
            for other in group.members.values():
                other.assignment = bytes(assignments.get(other.member_id, b""))
            try:
                self.groups.store_group(group)
            except Exception as exc:
                log.error("group %s: storing the assignment failed: %s", group.group_id, exc)
                for other in group.members.values():
                    if other.sync_future is not None:
                        resolutions.append((other.sync_future, SyncGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)))
                        other.sync_future = None
                self._prepare_rebalance(group, self.clock(), "storing the assignment failed", resolutions)
            else:
                group.state = GroupState.STABLE
                group.state_timestamp_ms = int(self.wall_clock() * 1000)
                for other in group.members.values():
                    if other.sync_future is not None:
                        result = SyncGroupResult(ErrorCode.NONE, other.assignment, group.protocol_type, group.protocol)
                        resolutions.append((other.sync_future, result))
                        other.sync_future = None

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
            self._fail_member_futures(member, resolutions, ErrorCode.UNKNOWN_MEMBER_ID)
            self._remove_member(group, member_id)
            log.info("group %s: member %s left", group_id, member_id)
            errors.append(ErrorCode.NONE)
        if group is not None and any(error is ErrorCode.NONE for error in errors):
            now = self.clock()
            self._prepare_rebalance(group, now, "members left", resolutions)
            self._maybe_complete_join(group, now, resolutions)
        return errors

    def _remove_member(self, group: Group, member_id: str) -> None:
        member = group.members.pop(member_id, None)
        if member is not None and member.group_instance_id:
            group.static_members.pop(member.group_instance_id, None)
        if group.leader_id == member_id:
            group.leader_id = next(iter(group.members), None)

    @staticmethod
    def _fail_member_futures(member: Member, resolutions: list[Resolution], error: ErrorCode) -> None:
        if member.join_future is not None:
            resolutions.append((member.join_future, JoinGroupResult(error, member_id=member.member_id)))
            member.join_future = None
        if member.sync_future is not None:
            resolutions.append((member.sync_future, SyncGroupResult(error)))
            member.sync_future = None

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
                    "group %s: member %s expired (no heartbeat for %d ms)",
                    group.group_id,
                    member.member_id,
                    member.session_timeout_ms,
                )
                self._fail_member_futures(member, resolutions, ErrorCode.UNKNOWN_MEMBER_ID)
                self._remove_member(group, member.member_id)
            if expired and group.state is not GroupState.DEAD:
                self._prepare_rebalance(group, now, "members expired", resolutions)
            if group.state is GroupState.COMPLETING_REBALANCE and now >= group.sync_deadline:
                for member_id, member in list(group.members.items()):
                    if member.sync_future is None:
                        self._remove_member(group, member_id)
                self._prepare_rebalance(group, now, "members did not sync in time", resolutions)
            self._maybe_complete_join(group, now, resolutions)

    def fail_waiting(self, resolutions: list[Resolution]) -> None:
        """Fail every waiting join and sync with COORDINATOR_NOT_AVAILABLE (the coordinator is closing)."""
        for group in self.groups.groups():
            for member in group.members.values():
                if member.join_future is not None:
                    resolutions.append((member.join_future, JoinGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)))
                    member.join_future = None
                if member.sync_future is not None:
                    resolutions.append((member.sync_future, SyncGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)))
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
