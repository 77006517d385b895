"""EmbeddedGroupMember: membership in a group through the in-process group coordinator.

The owner calls ``join`` then ``sync``; from then on a heartbeat thread keeps the session alive every
``heartbeat_interval_ms``, and flags a rejoin when the coordinator answers that the group is rebalancing or
that this member's generation is gone. ``poll`` reports that flag. A member whose session lapsed (it stopped
heartbeating, e.g. a frozen process) learns it on its next heartbeat and must stop its work before rejoining.

Not thread-safe except ``wakeup`` and the heartbeat thread's own work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from hub.log.client.api import GroupMember
from hub.log.client.errors import ClientClosedError, ClientTimeoutError, raise_for
from hub.log.client.types import GroupMemberInfo, GroupProtocol, JoinResult
from hub.log.error_codes import ErrorCode
from hub.log.group import GroupCoordinator

log = logging.getLogger("hub.log.client.group")

_REJOIN = {ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID}


class EmbeddedGroupMember(GroupMember):
    """GroupMember over an in-process GroupCoordinator (see the module docstring)."""

    def __init__(
        self,
        coordinator: GroupCoordinator,
        group_id: str,
        protocol_type: str,
        *,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 60_000,
        heartbeat_interval_ms: int = 3_000,
        group_instance_id: str | None = None,
        client_id: str = "hub",
    ) -> None:
        self._coordinator = coordinator
        self.group_id = group_id
        self.protocol_type = protocol_type
        self._session_timeout_ms = session_timeout_ms
        self._rebalance_timeout_ms = rebalance_timeout_ms
        self._heartbeat_s = heartbeat_interval_ms / 1000
        self._instance_id = group_instance_id
        self._client_id = client_id
        self._member_id = ""
        self._generation_id = -1
        self._rejoin = threading.Event()
        self._woken = threading.Event()
        self._stop_heartbeats = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._closed = False

    @property
    def member_id(self) -> str:
        return self._member_id

    @property
    def generation_id(self) -> int:
        return self._generation_id

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError(f"group member of {self.group_id} is closed")

    def join(self, protocols: Sequence[GroupProtocol], *, timeout_s: float) -> JoinResult:
        self._check()
        self._stop_heartbeat_thread()
        future = self._coordinator.join_group(
            self.group_id,
            self._member_id,
            self.protocol_type,
            [(p.name, p.metadata) for p in protocols],
            session_timeout_ms=self._session_timeout_ms,
            rebalance_timeout_ms=self._rebalance_timeout_ms,
            group_instance_id=self._instance_id,
            client_id=self._client_id,
            client_host="embedded",
        )
        try:
            result = future.result(timeout_s)
        except TimeoutError:
            raise ClientTimeoutError(f"joining group {self.group_id} took longer than {timeout_s} s") from None
        if result.error is ErrorCode.UNKNOWN_MEMBER_ID:
            self._member_id = ""
        raise_for(result.error, f"joining group {self.group_id}")
        self._member_id = result.member_id
        self._generation_id = result.generation_id
        self._rejoin.clear()
        return JoinResult(
            result.generation_id,
            result.member_id,
            result.leader,
            result.protocol_name or "",
            tuple(GroupMemberInfo(m.member_id, m.group_instance_id, m.metadata) for m in result.members),
        )

    def sync(self, assignments: Mapping[str, bytes] | None, *, timeout_s: float) -> bytes:
        self._check()
        future = self._coordinator.sync_group(
            self.group_id, self._generation_id, self._member_id, assignments, group_instance_id=self._instance_id
        )
        try:
            result = future.result(timeout_s)
        except TimeoutError:
            raise ClientTimeoutError(f"syncing group {self.group_id} took longer than {timeout_s} s") from None
        if result.error in _REJOIN:
            self._rejoin.set()
        raise_for(result.error, f"syncing group {self.group_id}")
        self._start_heartbeat_thread()
        return result.assignment

    def _start_heartbeat_thread(self) -> None:
        self._stop_heartbeats.clear()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name=f"hub-heartbeat-{self.group_id}", daemon=True
        )
        self._heartbeat_thread.start()

    def _stop_heartbeat_thread(self) -> None:
        self._stop_heartbeats.set()
        if self._heartbeat_thread is not None and self._heartbeat_thread is not threading.current_thread():
            self._heartbeat_thread.join()
        self._heartbeat_thread = None

    def _heartbeat_loop(self) -> None:
        while not self._stop_heartbeats.wait(self._heartbeat_s):
            error = self._coordinator.heartbeat(
                self.group_id, self._generation_id, self._member_id, group_instance_id=self._instance_id
            )
            if error in _REJOIN or error is ErrorCode.FENCED_INSTANCE_ID:
                log.info("group %s: member %s must rejoin (%s)", self.group_id, self._member_id, error.name)
                if error is ErrorCode.UNKNOWN_MEMBER_ID:
                    self._member_id = ""
                self._rejoin.set()
                self._woken.set()
                return

    def poll(self, timeout_s: float) -> bool:
        self._check()
        if self._rejoin.is_set():
            return True
        self._woken.wait(timeout_s)
        self._woken.clear()
        return self._rejoin.is_set()

    def needs_rejoin(self) -> bool:
        return self._rejoin.is_set() or self._generation_id < 0

    def wakeup(self) -> None:
        self._woken.set()

    def leave(self) -> None:
        self._stop_heartbeat_thread()
        if self._member_id:
            self._coordinator.leave_group(self.group_id, [(self._member_id, self._instance_id)])
        self._member_id = ""
        self._generation_id = -1

    def close(self) -> None:
        if self._closed:
            return
        self.leave()
        self._closed = True
        self._woken.set()
