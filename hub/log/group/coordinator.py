"""GroupCoordinator: Kafka's classic group protocol for any protocol type, plus committed offsets.

Consumers (protocol type ``consumer``) and Hub's workers (``connect``) form groups through it. The Kafka server
calls it from its event loop and the embedded client from threads: calls that must wait — JoinGroup until the
rebalance completes, a follower's SyncGroup until the leader's assignments arrive — return a
``concurrent.futures.Future``; the others answer at once. A timer thread expires members whose session lapsed
and completes rebalances whose deadline passed.

The coordinator is the entry point and owns the lock; as in Kafka, its parts are two: GroupMembership
(hub.log.group.membership: joins, syncs, heartbeats, leaves, expiry; with hub.log.group.rebalance for the steps
of a rebalance and its generations) and the OffsetsManager (hub.log.group.offsets_manager: the table of groups,
committed offsets, and their records in ``__consumer_offsets``, written before a commit or a completed rebalance
is acknowledged and read back by ``load()`` on start). This module also answers the administrative calls (list,
describe, delete).

Thread-safety: one lock guards all groups (both parts are called under it); futures are resolved outside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from hub.log.error_codes import ErrorCode
from hub.log.group.group import CommittedOffset, GroupState, JoinGroupResult, SyncGroupResult
from hub.log.group.membership import GroupMembership, JoinRequest
from hub.log.group.offsets_manager import OffsetsLog, OffsetsManager, TopicPartitionKey
from hub.log.group.rebalance import Resolution, resolve

log = logging.getLogger("hub.log.group")


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
        self._groups = OffsetsManager(offsets_log, max_metadata_bytes=self.config.max_metadata_bytes)
        self._membership = GroupMembership(self._groups, self.config, clock, wall_clock)
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
        resolutions: list[Resolution] = []
        with self._lock:
            self._membership.fail_waiting(resolutions)
        resolve(resolutions)

    def load(self) -> None:
        """Rebuild groups and offsets from the OffsetsLog (last record per key wins; tombstones delete)."""
        groups = self._groups.read_groups(self.clock)
        with self._lock:
            self._groups.replace_groups(groups)
        log.info("loaded %d group(s) from __consumer_offsets", len(groups))

    def _run_timer(self) -> None:
        while not self._stop.wait(self.config.tick_ms / 1000):
            try:
                self.tick()
            except Exception:
                log.exception("group coordinator timer failed")

    def tick(self) -> None:
        """Expire lapsed sessions and complete due rebalances (the timer thread calls this)."""
        resolutions: list[Resolution] = []
        with self._lock:
            self._membership.expire(resolutions)
        resolve(resolutions)

    # --- membership --------------------------------------------------------------------------------------------

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
        request = JoinRequest(
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
        error = self._membership.check_join(group_id, session_timeout_ms, protocols)
        if error is not ErrorCode.NONE:
            request.future.set_result(JoinGroupResult(error, member_id=member_id))
            return request.future
        resolutions: list[Resolution] = []
        with self._lock:
            self._membership.join(group_id, request, require_known_member_id, resolutions)
        resolve(resolutions)
        return request.future

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
        resolutions: list[Resolution] = []
        with self._lock:
            self._membership.sync(
                group_id, generation_id, member_id, assignments, group_instance_id, future, resolutions
            )
        resolve(resolutions)
        return future

    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, *, group_instance_id: str | None = None
    ) -> ErrorCode:
        with self._lock:
            return self._membership.heartbeat(group_id, generation_id, member_id, group_instance_id=group_instance_id)

    def leave_group(self, group_id: str, members: Sequence[tuple[str, str | None]]) -> list[ErrorCode]:
        """Remove members (``(member_id, group_instance_id)``; a static member may be named by instance id
        alone); the others rebalance at once."""
        resolutions: list[Resolution] = []
        with self._lock:
            errors = self._membership.leave(group_id, members, resolutions)
        resolve(resolutions)
        return errors

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
                self._membership.check_commit(group, generation_id, member_id, group_instance_id)
                if group_id
                else (ErrorCode.INVALID_GROUP_ID)
            )
            if error is not ErrorCode.NONE:
                return dict.fromkeys(offsets, error)
            if group is None:
                group = self._groups.get_or_create(group_id)
            return self._groups.store_offsets(group, offsets, int(self.wall_clock() * 1000))

    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartitionKey] | None = None
    ) -> dict[TopicPartitionKey, CommittedOffset | None]:
        """Committed offsets of a group (all of them when ``partitions`` is None); None where none is."""
        with self._lock:
            return self._groups.offsets(group_id, partitions)

    # --- administration ----------------------------------------------------------------------------------------

    def list_groups(self, states: Iterable[str] | None = None) -> list[GroupOverview]:
        wanted = {state.lower() for state in states} if states else None
        with self._lock:
            return [
                GroupOverview(group.group_id, group.protocol_type or "", group.state.value)
                for group in self._groups.groups()
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
                elif group.members:
                    results[group_id] = ErrorCode.NON_EMPTY_GROUP
                else:
                    results[group_id] = self._groups.delete_group(group)
        return results
