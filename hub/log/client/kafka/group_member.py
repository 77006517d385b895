"""KafkaGroupMember: group membership over the Kafka protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup),
for any broker — Hub's listener, tansu, Apache Kafka. confluent-kafka has no API for custom protocol types, so
this speaks the protocol with Hub's own codec.

Behaves like EmbeddedGroupMember: ``join`` then ``sync``; a heartbeat thread keeps the session and flags a
rejoin when the coordinator says the group is rebalancing or the member's generation is gone.
Not thread-safe except ``wakeup`` and the heartbeat thread's own work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from hub.log.client.api import GroupMember
from hub.log.client.errors import ClientClosedError, ClientError, raise_for
from hub.log.client.kafka.connection import KafkaConnection
from hub.log.client.types import GroupMemberInfo, GroupProtocol, JoinResult
from hub.log.error_codes import ErrorCode

log = logging.getLogger("hub.log.client.group")

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
_REJOIN = {ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID}


def parse_bootstrap(bootstrap: str) -> tuple[str, int]:
    """The first HOST:PORT of a bootstrap list."""
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise ClientError(f"bootstrap server {first!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class KafkaGroupMember(GroupMember):
    """GroupMember over the Kafka protocol (see the module docstring)."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        protocol_type: str,
        *,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 60_000,
        heartbeat_interval_ms: int = 3_000,
        group_instance_id: str | None = None,
        client_id: str = "hub",
    ) -> None:
        self._bootstrap = parse_bootstrap(bootstrap_servers)
        self.group_id = group_id
        self.protocol_type = protocol_type
        self._session_timeout_ms = session_timeout_ms
        self._rebalance_timeout_ms = rebalance_timeout_ms
        self._heartbeat_s = heartbeat_interval_ms / 1000
        self._instance_id = group_instance_id
        self._client_id = client_id
        self._connection: KafkaConnection | None = None
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

    def _coordinator(self) -> KafkaConnection:
        if self._connection is None:
            bootstrap = KafkaConnection(*self._bootstrap, client_id=self._client_id)
            try:
                found = bootstrap.request(FIND_COORDINATOR, 1, {"key": self.group_id, "key_type": 0})
            finally:
                bootstrap.close()
            raise_for(ErrorCode(found["error_code"]), f"finding the coordinator of {self.group_id}")
            self._connection = KafkaConnection(found["host"], found["port"], client_id=self._client_id)
        return self._connection

    def join(self, protocols: Sequence[GroupProtocol], *, timeout_s: float) -> JoinResult:
        if self._closed:
            raise ClientClosedError(f"group member of {self.group_id} is closed")
        self._stop_heartbeat_thread()
        for _ in range(2):  # a second round when the coordinator asks for a member id first (JoinGroup v4+)
            response = self._coordinator().request(
                JOIN_GROUP,
                5,
                {
                    "group_id": self.group_id,
                    "session_timeout_ms": self._session_timeout_ms,
                    "rebalance_timeout_ms": self._rebalance_timeout_ms,
                    "member_id": self._member_id,
                    "group_instance_id": self._instance_id,
                    "protocol_type": self.protocol_type,
                    "protocols": [{"name": p.name, "metadata": p.metadata} for p in protocols],
                },
                timeout_s=timeout_s,
            )
            error = ErrorCode(response["error_code"])
            if error is ErrorCode.MEMBER_ID_REQUIRED:
                self._member_id = response["member_id"]
                continue
            if error is ErrorCode.UNKNOWN_MEMBER_ID:
                self._member_id = ""
            raise_for(error, f"joining group {self.group_id}")
            self._member_id = response["member_id"]
            self._generation_id = response["generation_id"]
            self._rejoin.clear()
            return JoinResult(
                response["generation_id"],
                response["member_id"],
                response["leader"],
                response["protocol_name"] or "",
                tuple(
                    GroupMemberInfo(m["member_id"], m["group_instance_id"], bytes(m["metadata"]))
                    for m in response["members"]
                ),
            )
        raise ClientError(f"joining group {self.group_id}: the coordinator kept asking for a member id")

    def sync(self, assignments: Mapping[str, bytes] | None, *, timeout_s: float) -> bytes:
        response = self._coordinator().request(
            SYNC_GROUP,
            3,
            {
                "group_id": self.group_id,
                "generation_id": self._generation_id,
                "member_id": self._member_id,
                "group_instance_id": self._instance_id,
                "assignments": [{"member_id": m, "assignment": a} for m, a in (assignments or {}).items()],
            },
            timeout_s=timeout_s,
        )
        error = ErrorCode(response["error_code"])
        if error in _REJOIN:
            self._rejoin.set()
        raise_for(error, f"syncing group {self.group_id}")
        self._stop_heartbeats.clear()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name=f"hub-heartbeat-{self.group_id}", daemon=True
        )
        self._heartbeat_thread.start()
        return bytes(response["assignment"])

    def _stop_heartbeat_thread(self) -> None:
        self._stop_heartbeats.set()
        if self._heartbeat_thread is not None and self._heartbeat_thread is not threading.current_thread():
            self._heartbeat_thread.join()
        self._heartbeat_thread = None

    def _heartbeat_loop(self) -> None:
        while not self._stop_heartbeats.wait(self._heartbeat_s):
            try:
                response = self._coordinator().request(
                    HEARTBEAT,
                    3,
                    {
                        "group_id": self.group_id,
                        "generation_id": self._generation_id,
                        "member_id": self._member_id,
                        "group_instance_id": self._instance_id,
                    },
                )
            except ClientError as exc:
                log.warning("group %s: heartbeat failed: %s", self.group_id, exc)
                continue
            error = ErrorCode(response["error_code"])
            if error in _REJOIN or error is ErrorCode.FENCED_INSTANCE_ID:
                log.info("group %s: member %s must rejoin (%s)", self.group_id, self._member_id, error.name)
                if error is ErrorCode.UNKNOWN_MEMBER_ID:
                    self._member_id = ""
                self._rejoin.set()
                self._woken.set()
                return

    def poll(self, timeout_s: float) -> bool:
        if self._rejoin.is_set():
            return True
        self._woken.wait(timeout_s)
        self._woken.clear()
        return self._rejoin.is_set()

    def wakeup(self) -> None:
        self._woken.set()

    def leave(self) -> None:
        self._stop_heartbeat_thread()
        if self._member_id and self._connection is not None:
            try:
                self._connection.request(
                    LEAVE_GROUP,
                    3,
                    {
                        "group_id": self.group_id,
                        "members": [{"member_id": self._member_id, "group_instance_id": self._instance_id}],
                    },
                )
            except ClientError as exc:
                log.warning("group %s: leaving failed: %s", self.group_id, exc)
        self._member_id = ""
        self._generation_id = -1

    def close(self) -> None:
        if self._closed:
            return
        self.leave()
        self._closed = True
        self._woken.set()
        if self._connection is not None:
            self._connection.close()
