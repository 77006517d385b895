"""EmbeddedGroupMember: membership in a group through the in-process group coordinator (see
hub.log.client.membership for the session and heartbeat behaviour all backends share)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.log.client.errors import ClientTimeoutError, raise_for
from hub.log.client.membership import SessionMember
from hub.log.client.types import GroupMemberInfo, GroupProtocol, JoinResult
from hub.log.error_codes import ErrorCode
from hub.log.group import GroupCoordinator


class EmbeddedGroupMember(SessionMember):
    """GroupMember over an in-process GroupCoordinator."""

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
        super().__init__(
            group_id,
            protocol_type,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            group_instance_id=group_instance_id,
            client_id=client_id,
        )
        self._coordinator = coordinator

    def join(self, protocols: Sequence[GroupProtocol], *, timeout_s: float) -> JoinResult:
        self._check_open()
        self._stop_heartbeat_thread()
        future = self._coordinator.join_group(
            self.group_id,
            self._member_id,
            self.protocol_type,
            [(p.name, p.metadata) for p in protocols],
            session_timeout_ms=self.session_timeout_ms,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            group_instance_id=self.group_instance_id,
            client_id=self.client_id,
            client_host="embedded",
        )
        try:
            result = future.result(timeout_s)
        except TimeoutError:
            raise ClientTimeoutError(f"joining group {self.group_id} took longer than {timeout_s} s") from None
        if result.error is ErrorCode.UNKNOWN_MEMBER_ID:
            self._member_id = ""
        raise_for(result.error, f"joining group {self.group_id}")
        self._joined(result.member_id, result.generation_id)
        return JoinResult(
            result.generation_id,
            result.member_id,
            result.leader,
            result.protocol_name or "",
            tuple(GroupMemberInfo(m.member_id, m.group_instance_id, m.metadata) for m in result.members),
        )

    def sync(self, assignments: Mapping[str, bytes] | None, *, timeout_s: float) -> bytes:
        self._check_open()
        future = self._coordinator.sync_group(
            self.group_id, self._generation_id, self._member_id, assignments, group_instance_id=self.group_instance_id
        )
        try:
            result = future.result(timeout_s)
        except TimeoutError:
            raise ClientTimeoutError(f"syncing group {self.group_id} took longer than {timeout_s} s") from None
        self._synced(result.error)
        raise_for(result.error, f"syncing group {self.group_id}")
        return result.assignment

    def _heartbeat(self) -> ErrorCode:
        return self._coordinator.heartbeat(
            self.group_id, self._generation_id, self._member_id, group_instance_id=self.group_instance_id
        )

    def _leave(self) -> None:
        self._coordinator.leave_group(self.group_id, [(self._member_id, self.group_instance_id)])
