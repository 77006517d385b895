"""GroupCoordinator: Kafka's classic group protocol for any protocol type, plus committed offsets.

Consumers (protocol type ``consumer``) and Hub's workers (``connect``) form groups through it. The Kafka server
calls it from its event loop and the embedded client from threads: calls that must wait — JoinGroup until the
rebalance completes, a follower's SyncGroup until the leader's assignments arrive — return a
``concurrent.futures.Future``; the others answer at once. A timer thread expires members whose session lapsed
and completes rebalances whose deadline passed.

Rebalance rules: a new member, a member leaving or expiring, or a member rejoining with changed metadata starts
a rebalance; every known member must rejoin within the largest rebalance timeout (those that do not are removed);
a group's first rebalance waits ``initial_rebalance_delay_ms`` for more members — except a group of Connect
workers (protocol type ``connect``), whose incremental rebalances make a later member cheap to add, so a worker
alone is assigned its work at once; the generation increases with
each completed rebalance; the leader (kept when it stays) receives every member's metadata and sends the
assignments with its SyncGroup. Static members (``group.instance.id``) keep their place across restarts.

Offsets and group metadata are written to an OffsetsLog (the compacted ``__consumer_offsets`` topic) before a
commit or a completed rebalance is acknowledged, and ``load()`` rebuilds them on start.

Thread-safe: one lock guards all groups; futures are resolved outside it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from hub.log.error_codes import ErrorCode
from hub.log.group.group import (
    CommittedOffset,
    Group,
    GroupState,
    JoinedMember,
    JoinGroupResult,
    Member,
    SyncGroupResult,
)
from hub.log.group.offsets_format import (
    GroupKey,
    GroupValue,
    MemberValue,
    OffsetKey,
    OffsetsFormatError,
    OffsetValue,
    decode_group_value,
    decode_key,
    decode_offset_value,
    encode_group_key,
    encode_group_value,
    encode_offset_key,
    encode_offset_value,
)

log = logging.getLogger("hub.log.group")

#: Protocol type of Kafka Connect's (and Hub's) worker groups: no initial rebalance delay (module docstring).
WORKER_PROTOCOL_TYPE = "connect"

TopicPartitionKey = tuple[str, int]
_Resolution = tuple[Future[JoinGroupResult] | Future[SyncGroupResult], JoinGroupResult | SyncGroupResult]


class OffsetsLog(Protocol):
    """Durable key/value records of the coordinator (``__consumer_offsets``)."""

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        """Store records; returns once they are durable."""

    def read_all(self) -> Iterable[tuple[bytes, bytes | None]]:
        """Every stored record, oldest first."""


@dataclass(frozen=True, slots=True)
class CoordinatorConfig:
    """Kafka's broker settings for groups, with its defaults."""

    min_session_timeout_ms: int = 6_000
    max_session_timeout_ms: int = 1_800_000
    initial_rebalance_delay_ms: int = 3_000
    max_group_size: int = 2**31 - 1
    max_metadata_bytes: int = 4096
    new_member_join_timeout_ms: int = 300_000
    tick_ms: int = 50


@dataclass(frozen=True, slots=True)
class GroupOverview:
    group_id: str
    protocol_type: str
    state: str


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


@dataclass(frozen=True, slots=True)
class _JoinRequest:
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


class GroupCoordinator:
    """All groups of one store (see the module docstring). ``start()`` / ``close()``."""

    def __init__(
        self,
        offsets_log: OffsetsLog,
        config: CoordinatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.offsets_log = offsets_log
        self.config = config or CoordinatorConfig()
        self.clock = clock
        self.wall_clock = wall_clock
        self._groups: dict[str, Group] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load committed offsets and groups, then start the timer thread."""
        self.load()
        self._stop.clear()
        self._timer = threading.Thread(target=self._run_timer, name="hub-group-coordinator", daemon=True)
        self._timer.start()

    def close(self) -> None:
        """Stop the timer and fail every waiting call with COORDINATOR_NOT_AVAILABLE."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        resolutions: list[_Resolution] = []
        with self._lock:
            for group in self._groups.values():
                for member in group.members.values():
                    if member.join_future is not None:
                        resolutions.append((member.join_future, JoinGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)))
                        member.join_future = None
                    if member.sync_future is not None:
                        resolutions.append((member.sync_future, SyncGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)))
                        member.sync_future = None
        _resolve(resolutions)

    def load(self) -> None:
        """Rebuild groups and offsets from the OffsetsLog (last record per key wins; tombstones delete)."""
        latest: dict[bytes, bytes | None] = {}
        for raw, value in self.offsets_log.read_all():
            latest[raw] = value
        groups: dict[str, Group] = {}
        now = self.clock()
        for raw_key, raw_value in latest.items():
            try:
                key = decode_key(raw_key)
                if raw_value is None:
                    continue
                if isinstance(key, OffsetKey):
                    stored = decode_offset_value(raw_value)
                    group = groups.setdefault(key.group, Group(key.group))
                    group.offsets[(key.topic, key.partition)] = CommittedOffset(
                        stored.offset, stored.leader_epoch, stored.metadata, stored.commit_timestamp
                    )
                else:
                    self._restore_group(
                        groups.setdefault(key.group, Group(key.group)), decode_group_value(raw_value), now
                    )
            except OffsetsFormatError as exc:
                log.warning("skipping an unreadable __consumer_offsets record: %s", exc)
        with self._lock:
            self._groups = groups
        log.info("loaded %d group(s) from __consumer_offsets", len(groups))

    def _restore_group(self, group: Group, value: GroupValue, now: float) -> None:
        group.protocol_type = value.protocol_type or None
        group.generation_id = value.generation
        group.protocol = value.protocol
        group.leader_id = value.leader
        group.state = GroupState.STABLE if value.members else GroupState.EMPTY
        group.state_timestamp_ms = value.current_state_timestamp
        for stored in value.members:
            member = Member(
                stored.member_id,
                stored.group_instance_id,
                stored.client_id,
                stored.client_host,
                stored.session_timeout_ms,
                stored.rebalance_timeout_ms,
                value.protocol_type,
                [(value.protocol or "", stored.subscription)],
                stored.assignment,
                last_heartbeat=now,
                is_new=False,
            )
            group.members[member.member_id] = member
            if member.group_instance_id:
                group.static_members[member.group_instance_id] = member.member_id

    # --- join and sync -----------------------------------------------------------------------------------------

    def join_group(
        self,
        group_id: str,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
        *,
        session_timeout_ms: int,
        rebalance_timeout_ms: int = -1,
        group_instance_id: str | None = None,
        client_id: str = "",
        client_host: str = "",
        require_known_member_id: bool = False,
    ) -> Future[JoinGroupResult]:
        """Join or rejoin; the future resolves when the rebalance completes (or at once with an error)."""
        request = _JoinRequest(
            member_id,
            protocol_type,
            list(protocols),
            session_timeout_ms,
            rebalance_timeout_ms if rebalance_timeout_ms >= 0 else session_timeout_ms,
            group_instance_id,
            client_id,
            client_host,
            Future(),
        )
        error = self._check_join(group_id, session_timeout_ms, protocols)
        if error is not ErrorCode.NONE:
            request.future.set_result(JoinGroupResult(error, member_id=member_id))
            return request.future
        resolutions: list[_Resolution] = []
        with self._lock:
            group = self._groups.get(group_id)
            if group is None and not member_id:
                group = self._groups[group_id] = Group(group_id)
            if group is None:
                error = ErrorCode.UNKNOWN_MEMBER_ID
            elif group.state is GroupState.DEAD:
                error = ErrorCode.COORDINATOR_NOT_AVAILABLE
            elif not group.supports(protocol_type, request.protocols):
                error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL
            if group is None or error is not ErrorCode.NONE:
                request.future.set_result(JoinGroupResult(error, member_id=member_id))
                return request.future
            now = self.clock()
            if member_id:
                self._join_known_member(group, request, now, resolutions)
            else:
                self._join_new_member(group, request, require_known_member_id, now, resolutions)
            self._maybe_complete_join(group, now, resolutions)
        _resolve(resolutions)
        return request.future

    def _check_join(self, group_id: str, session_timeout_ms: int, protocols: Sequence[tuple[str, bytes]]) -> ErrorCode:
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
        request: _JoinRequest,
        require_known_member_id: bool,
        now: float,
        resolutions: list[_Resolution],
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

    def _join_known_member(
        self, group: Group, request: _JoinRequest, now: float, resolutions: list[_Resolution]
    ) -> None:
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
        self, group: Group, request: _JoinRequest, member_id: str, now: float, resolutions: list[_Resolution]
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

    def _prepare_rebalance(self, group: Group, now: float, reason: str, resolutions: list[_Resolution]) -> None:
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

    def _maybe_complete_join(self, group: Group, now: float, resolutions: list[_Resolution]) -> None:
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

    def _complete_join(self, group: Group, now: float, resolutions: list[_Resolution]) -> None:
        group.initial_delay_until = 0.0
        group.generation_id += 1
        group.state_timestamp_ms = int(self.wall_clock() * 1000)
        if not group.members:
            group.state = GroupState.EMPTY
            group.protocol = group.leader_id = None
            group.protocol_type = None if not group.offsets else group.protocol_type
            try:
                self._persist_group(group)
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

    def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes] | None = None,
        *,
        group_instance_id: str | None = None,
    ) -> Future[SyncGroupResult]:
        """Followers wait for the leader's assignments; the leader's call (with ``assignments``) completes the
        rebalance once they are durable."""
        future: Future[SyncGroupResult] = Future()
        resolutions: list[_Resolution] = []
        with self._lock:
            group = self._groups.get(group_id)
            member = group.members.get(member_id) if group is not None else None
            if group is None or member is None:
                future.set_result(SyncGroupResult(ErrorCode.UNKNOWN_MEMBER_ID))
                return future
            if group_instance_id and group.static_members.get(group_instance_id) != member_id:
                future.set_result(SyncGroupResult(ErrorCode.FENCED_INSTANCE_ID))
                return future
            if generation_id != group.generation_id:
                future.set_result(SyncGroupResult(ErrorCode.ILLEGAL_GENERATION))
                return future
            if group.state is GroupState.PREPARING_REBALANCE:
                future.set_result(SyncGroupResult(ErrorCode.REBALANCE_IN_PROGRESS))
                return future
            member.last_heartbeat = self.clock()
            if group.state is GroupState.STABLE:
                future.set_result(
                    SyncGroupResult(ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol)
                )
                return future
            member.sync_future = future
            if member_id == group.leader_id and assignments is not None:
                for other in group.members.values():
                    other.assignment = bytes(assignments.get(other.member_id, b""))
                try:
                    self._persist_group(group)
                except Exception as exc:
                    log.error("group %s: storing the assignment failed: %s", group.group_id, exc)
                    for other in group.members.values():
                        if other.sync_future is not None:
                            resolutions.append(
                                (other.sync_future, SyncGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
                            )
                            other.sync_future = None
                    self._prepare_rebalance(group, self.clock(), "storing the assignment failed", resolutions)
                else:
                    group.state = GroupState.STABLE
                    group.state_timestamp_ms = int(self.wall_clock() * 1000)
                    for other in group.members.values():
                        if other.sync_future is not None:
                            result = SyncGroupResult(
                                ErrorCode.NONE, other.assignment, group.protocol_type, group.protocol
                            )
                            resolutions.append((other.sync_future, result))
                            other.sync_future = None
        _resolve(resolutions)
        return future

    # --- heartbeats and leaving --------------------------------------------------------------------------------

    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, *, group_instance_id: str | None = None
    ) -> ErrorCode:
        with self._lock:
            group = self._groups.get(group_id)
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

    def leave_group(self, group_id: str, members: Sequence[tuple[str, str | None]]) -> list[ErrorCode]:
        """Remove members (``(member_id, group_instance_id)``; a static member may be named by instance id
        alone); the others rebalance at once."""
        errors: list[ErrorCode] = []
        resolutions: list[_Resolution] = []
        with self._lock:
            group = self._groups.get(group_id)
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
        _resolve(resolutions)
        return errors

    def _remove_member(self, group: Group, member_id: str) -> None:
        member = group.members.pop(member_id, None)
        if member is not None and member.group_instance_id:
            group.static_members.pop(member.group_instance_id, None)
        if group.leader_id == member_id:
            group.leader_id = next(iter(group.members), None)

    @staticmethod
    def _fail_member_futures(member: Member, resolutions: list[_Resolution], error: ErrorCode) -> None:
        if member.join_future is not None:
            resolutions.append((member.join_future, JoinGroupResult(error, member_id=member.member_id)))
            member.join_future = None
        if member.sync_future is not None:
            resolutions.append((member.sync_future, SyncGroupResult(error)))
            member.sync_future = None

    # --- timers ------------------------------------------------------------------------------------------------

    def _run_timer(self) -> None:
        while not self._stop.wait(self.config.tick_ms / 1000):
            try:
                self.tick()
            except Exception:
                log.exception("group coordinator timer failed")

    def tick(self) -> None:
        """Expire lapsed sessions and complete due rebalances (the timer thread calls this)."""
        resolutions: list[_Resolution] = []
        with self._lock:
            now = self.clock()
            for group in self._groups.values():
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
        _resolve(resolutions)

    # --- offsets -----------------------------------------------------------------------------------------------

    def commit_offsets(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        offsets: Mapping[TopicPartitionKey, CommittedOffset],
        *,
        group_instance_id: str | None = None,
    ) -> dict[TopicPartitionKey, ErrorCode]:
        """Store offsets durably; per-partition errors as Kafka gives them."""
        with self._lock:
            group = self._groups.get(group_id)
            error = (
                self._check_commit(group, generation_id, member_id, group_instance_id)
                if group_id
                else (ErrorCode.INVALID_GROUP_ID)
            )
            if error is not ErrorCode.NONE:
                return dict.fromkeys(offsets, error)
            if group is None:
                group = self._groups[group_id] = Group(group_id)
            now_ms = int(self.wall_clock() * 1000)
            results: dict[TopicPartitionKey, ErrorCode] = {}
            accepted: dict[TopicPartitionKey, CommittedOffset] = {}
            for tp, committed in offsets.items():
                if len(committed.metadata.encode()) > self.config.max_metadata_bytes:
                    results[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
                    continue
                stamped = CommittedOffset(
                    committed.offset,
                    committed.leader_epoch,
                    committed.metadata,
                    committed.commit_timestamp if committed.commit_timestamp >= 0 else now_ms,
                )
                accepted[tp] = stamped
            records = [
                (
                    encode_offset_key(OffsetKey(group_id, topic, partition)),
                    encode_offset_value(OffsetValue(c.offset, c.leader_epoch, c.metadata, c.commit_timestamp)),
                )
                for (topic, partition), c in accepted.items()
            ]
            try:
                if records:
                    self.offsets_log.append(records)
            except Exception as exc:
                log.error("group %s: storing offsets failed: %s", group_id, exc)
                results.update(dict.fromkeys(accepted, ErrorCode.COORDINATOR_NOT_AVAILABLE))
                return results
            group.offsets.update(accepted)
            results.update(dict.fromkeys(accepted, ErrorCode.NONE))
            return results

    def _check_commit(
        self, group: Group | None, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> ErrorCode:
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

    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartitionKey] | None = None
    ) -> dict[TopicPartitionKey, CommittedOffset | None]:
        """Committed offsets of a group (all of them when ``partitions`` is None); None where none is."""
        with self._lock:
            group = self._groups.get(group_id)
            stored = dict(group.offsets) if group is not None else {}
        if partitions is None:
            return dict(stored)
        return {tp: stored.get(tp) for tp in partitions}

    # --- administration ----------------------------------------------------------------------------------------

    def list_groups(self, states: Iterable[str] | None = None) -> list[GroupOverview]:
        wanted = {state.lower() for state in states} if states else None
        with self._lock:
            return [
                GroupOverview(group.group_id, group.protocol_type or "", group.state.value)
                for group in self._groups.values()
                if group.state is not GroupState.DEAD and (wanted is None or group.state.value.lower() in wanted)
            ]

    def describe_group(self, group_id: str) -> GroupDescription:
        with self._lock:
            group = self._groups.get(group_id)
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

    def delete_groups(self, group_ids: Iterable[str]) -> dict[str, ErrorCode]:
        """Delete empty groups and their offsets (tombstones); NON_EMPTY_GROUP while members remain."""
        results: dict[str, ErrorCode] = {}
        with self._lock:
            for group_id in group_ids:
                group = self._groups.get(group_id)
                if group is None or group.state is GroupState.DEAD:
                    results[group_id] = ErrorCode.GROUP_ID_NOT_FOUND
                    continue
                if group.members:
                    results[group_id] = ErrorCode.NON_EMPTY_GROUP
                    continue
                tombstones: list[tuple[bytes, bytes | None]] = [(encode_group_key(GroupKey(group_id)), None)]
                tombstones += [
                    (encode_offset_key(OffsetKey(group_id, topic, partition)), None)
                    for topic, partition in group.offsets
                ]
                try:
                    self.offsets_log.append(tombstones)
                except Exception as exc:
                    log.error("group %s: deleting failed: %s", group_id, exc)
                    results[group_id] = ErrorCode.COORDINATOR_NOT_AVAILABLE
                    continue
                group.state = GroupState.DEAD
                del self._groups[group_id]
                results[group_id] = ErrorCode.NONE
        return results

    def _persist_group(self, group: Group) -> None:
        protocol = group.protocol or ""
        value = GroupValue(
            group.protocol_type or "",
            group.generation_id,
            group.protocol,
            group.leader_id,
            group.state_timestamp_ms,
            tuple(
                MemberValue(
                    m.member_id,
                    m.group_instance_id,
                    m.client_id,
                    m.client_host,
                    m.rebalance_timeout_ms,
                    m.session_timeout_ms,
                    m.metadata_for(protocol),
                    m.assignment,
                )
                for m in group.members.values()
            ),
        )
        self.offsets_log.append([(encode_group_key(GroupKey(group.group_id)), encode_group_value(value))])


def _resolve(resolutions: list[_Resolution]) -> None:
    for future, result in resolutions:
        if not future.done():
            future.set_result(result)  # type: ignore[arg-type]
