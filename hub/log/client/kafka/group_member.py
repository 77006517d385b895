"""KafkaGroupMember: group membership over the Kafka protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup),
for any broker — Hub's listener, tansu, Apache Kafka. confluent-kafka has no API for custom protocol types, so
this speaks the protocol with Hub's own codec.

The session and heartbeat behaviour is SessionMember's (hub.log.client.membership), shared with the embedded
backend. The coordinator found by FindCoordinator is kept until it answers that it is not (or no longer) the
coordinator, or its connection fails: the next request looks it up again, so a member follows a coordinator that
moved to another broker. ``security`` (the client options: ``security.protocol``, ``sasl.*``, ``ssl.*``) secures
its connections as it does confluent-kafka's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from hub.log.client.errors import ClientError, RetriableClientError, raise_for
from hub.log.client.kafka.connection import KafkaConnection
from hub.log.client.membership import SessionMember
from hub.log.client.types import GroupMemberInfo, GroupProtocol, JoinResult
from hub.log.error_codes import ErrorCode
from hub.log.security.client import client_security

log = logging.getLogger("hub.log.client.group")

Body = dict[str, Any]

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
#: Answers after which the coordinator is looked up again (as Kafka's clients mark the coordinator unknown).
COORDINATOR_MOVED = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE})


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """Every HOST:PORT of a bootstrap list, in order."""
    servers = []
    for entry in (part.strip() for part in bootstrap.split(",")):
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit():
            raise ClientError(f"bootstrap server {entry!r} is not HOST:PORT")
        servers.append((host.strip("[]"), int(port)))
    return servers


class KafkaGroupMember(SessionMember):
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
        security: Mapping[str, Any] | None = None,
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
        self._bootstrap = parse_bootstrap(bootstrap_servers)
        self._security = client_security(security)
        self._connection: KafkaConnection | None = None
        self._lookup = threading.Lock()  # the heartbeat thread and the caller share the coordinator

    def _coordinator(self) -> KafkaConnection:
        with self._lookup:
            if self._connection is None:
                found = self._find_coordinator()
                raise_for(found["error_code"], f"finding the coordinator of {self.group_id}")
                self._connection = KafkaConnection(
                    found["host"], found["port"], client_id=self.client_id, security=self._security
                )
            return self._connection

    def _find_coordinator(self) -> Body:
        """FindCoordinator, asked of each bootstrap server in turn until one answers (the first may be down)."""
        failure: RetriableClientError | None = None
        for host, port in self._bootstrap:
            bootstrap = KafkaConnection(host, port, client_id=self.client_id, security=self._security)
            try:
                return bootstrap.request(FIND_COORDINATOR, 1, {"key": self.group_id, "key_type": 0})
            except RetriableClientError as exc:
                failure = exc
            finally:
                bootstrap.close()
        assert failure is not None  # parse_bootstrap gives at least one server
        raise failure

    def _request(self, api_key: int, version: int, body: Body, *, timeout_s: float | None = None) -> Body:
        """One request to the coordinator; forgets it when it moved or its connection failed."""
        connection = self._coordinator()
        try:
            response = connection.request(api_key, version, body, timeout_s=timeout_s)
        except RetriableClientError:
            self._forget_coordinator(connection)
            raise
        if response.get("error_code") in COORDINATOR_MOVED:
            self._forget_coordinator(connection)
        return response

    def _forget_coordinator(self, connection: KafkaConnection) -> None:
        with self._lookup:
            if self._connection is connection:
                self._connection = None
        connection.close()

    def join(self, protocols: Sequence[GroupProtocol], *, timeout_s: float) -> JoinResult:
        self._check_open()
        self._stop_heartbeat_thread()
        for _ in range(2):  # a second round when the coordinator asks for a member id first (JoinGroup v4+)
            response = self._request(
                JOIN_GROUP,
                5,
                {
                    "group_id": self.group_id,
                    "session_timeout_ms": self.session_timeout_ms,
                    "rebalance_timeout_ms": self.rebalance_timeout_ms,
                    "member_id": self._member_id,
                    "group_instance_id": self.group_instance_id,
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
            self._joined(response["member_id"], response["generation_id"])
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
        self._check_open()
        response = self._request(
            SYNC_GROUP,
            3,
            {
                "group_id": self.group_id,
                "generation_id": self._generation_id,
                "member_id": self._member_id,
                "group_instance_id": self.group_instance_id,
                "assignments": [{"member_id": m, "assignment": a} for m, a in (assignments or {}).items()],
            },
            timeout_s=timeout_s,
        )
        error = ErrorCode(response["error_code"])
        self._synced(error)
        raise_for(error, f"syncing group {self.group_id}")
        return bytes(response["assignment"])

    def _heartbeat(self) -> ErrorCode:
        response = self._request(
            HEARTBEAT,
            3,
            {
                "group_id": self.group_id,
                "generation_id": self._generation_id,
                "member_id": self._member_id,
                "group_instance_id": self.group_instance_id,
            },
        )
        return ErrorCode(response["error_code"])

    def _leave(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.request(
                LEAVE_GROUP,
                3,
                {
                    "group_id": self.group_id,
                    "members": [{"member_id": self._member_id, "group_instance_id": self.group_instance_id}],
                },
            )
        except ClientError as exc:
            log.warning("group %s: leaving failed: %s", self.group_id, exc)

    def close(self) -> None:
        super().close()
        if self._connection is not None:
            self._connection.close()
