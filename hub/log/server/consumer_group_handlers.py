"""ConsumerGroupHandlers: the Kafka APIs of the consumer group protocol (KIP-848) — ConsumerGroupHeartbeat (68)
and ConsumerGroupDescribe (69) — over the broker's GroupCoordinator.

As every group request, they are served only by the coordinator (``coordinator_node()``): another node answers
NOT_COORDINATOR, a broker without GroupCoordinator COORDINATOR_NOT_AVAILABLE. Neither waits: a heartbeat is
answered at once with the member's epoch and, when it changed, its assignment (topic ids and partitions).

Safe for one event loop; the coordinator underneath is thread-safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from hub.log.error_codes import ErrorCode
from hub.log.group.consumer_describe import DescribedAssignment
from hub.log.group.consumer_heartbeat import ConsumerHeartbeat
from hub.log.server.context import Body, RequestContext
from hub.log.server.coordinator_lookup import CoordinatorLookup

UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648


class ConsumerGroupHandlers:
    """The consumer group protocol's APIs (see the module docstring); ``routes`` maps their keys."""

    def __init__(self, lookup: CoordinatorLookup) -> None:
        self._lookup = lookup
        self.routes: dict[int, Callable[[RequestContext, Body], Awaitable[Body | None]]] = {
            68: self.consumer_group_heartbeat,
            69: self.consumer_group_describe,
        }

    async def consumer_group_heartbeat(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            return _heartbeat_answer(coordinator)
        names = body.get("subscribed_topic_names")
        owned = body.get("topic_partitions")
        result = coordinator.consumer_group_heartbeat(
            ConsumerHeartbeat(
                group_id=body["group_id"],
                member_id=body["member_id"],
                member_epoch=body["member_epoch"],
                instance_id=body.get("instance_id"),
                rack_id=body.get("rack_id"),
                rebalance_timeout_ms=body["rebalance_timeout_ms"],
                subscribed_topic_names=None if names is None else tuple(names),
                subscribed_topic_regex=body.get("subscribed_topic_regex"),
                server_assignor=body.get("server_assignor"),
                owned=None if owned is None else tuple((_hex(t["topic_id"]), tuple(t["partitions"])) for t in owned),
                version=ctx.header.api_version,
                client_id=ctx.header.client_id or "",
                client_host=ctx.client_host,
            )
        )
        answer = _heartbeat_answer(result.error, result.message)
        answer.update(
            member_id=result.member_id,
            member_epoch=result.member_epoch,
            heartbeat_interval_ms=result.heartbeat_interval_ms,
        )
        if result.assignment is not None:
            answer["assignment"] = {
                "topic_partitions": [
                    {"topic_id": uuid.UUID(hex=topic_id), "partitions": list(partitions)}
                    for topic_id, partitions in result.assignment.items()
                ]
            }
        return answer

    async def consumer_group_describe(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._lookup.serving()
        group_ids = list(body["group_ids"])
        if isinstance(coordinator, ErrorCode):
            groups = [_group_answer(group_id, coordinator, None) for group_id in group_ids]
            return {"throttle_time_ms": 0, "groups": groups}
        groups = []
        for described in coordinator.describe_consumer_groups(group_ids):
            answer = _group_answer(described.group_id, described.error, described.error_message)
            answer.update(
                group_state=described.state,
                group_epoch=described.group_epoch,
                assignment_epoch=described.assignment_epoch,
                assignor_name=described.assignor_name,
                group_creation_time_ms=described.created_ms,
                members=[
                    {
                        "member_id": m.member_id,
                        "instance_id": m.instance_id,
                        "rack_id": m.rack_id,
                        "member_epoch": m.member_epoch,
                        "client_id": m.client_id,
                        "client_host": m.client_host,
                        "subscribed_topic_names": list(m.subscribed_topic_names),
                        "subscribed_topic_regex": m.subscribed_topic_regex,
                        "assignment": {"topic_partitions": _topic_partitions(m.assignment)},
                        "target_assignment": {"topic_partitions": _topic_partitions(m.target_assignment)},
                        "member_type": m.member_type,
                    }
                    for m in described.members
                ],
            )
            groups.append(answer)
        return {"throttle_time_ms": 0, "groups": groups}


def _heartbeat_answer(error: ErrorCode, message: str | None = None) -> Body:
    return {
        "throttle_time_ms": 0,
        "error_code": error,
        "error_message": message,
        "member_id": None,
        "member_epoch": 0,
        "heartbeat_interval_ms": 0,
        "assignment": None,
    }


def _group_answer(group_id: str, error: ErrorCode, message: str | None) -> Body:
    return {
        "error_code": error,
        "error_message": message,
        "group_id": group_id,
        "group_state": "",
        "group_epoch": 0,
        "assignment_epoch": 0,
        "assignor_name": "",
        "members": [],
        "group_creation_time_ms": -1,
        "authorized_operations": UNKNOWN_AUTHORIZED_OPERATIONS,
    }


def _topic_partitions(assignment: tuple[DescribedAssignment, ...]) -> list[Body]:
    return [
        {"topic_id": uuid.UUID(hex=a.topic_id), "topic_name": a.topic_name, "partitions": list(a.partitions)}
        for a in assignment
    ]


def _hex(topic_id: uuid.UUID | str) -> str:
    return topic_id.hex if isinstance(topic_id, uuid.UUID) else uuid.UUID(str(topic_id)).hex
