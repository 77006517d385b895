"""GroupHandlers: the Kafka APIs of consumer groups — JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
OffsetFetch, DescribeGroups, ListGroups — over the broker's GroupCoordinator.

Calls that wait (a rebalance, a durable offset commit) are awaited without blocking the event loop. Safe for one
event loop; the coordinator underneath is thread-safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from hub.log.error_codes import ErrorCode
from hub.log.group import CommittedOffset, GroupCoordinator
from hub.log.server.context import Body, RequestContext


class GroupHandlers:
    """The group APIs (see the module docstring)."""

    def __init__(self, coordinator: Callable[[], GroupCoordinator]) -> None:
        self._coordinator = coordinator

    @property
    def coordinator(self) -> GroupCoordinator:
        return self._coordinator()

    async def join_group(self, ctx: RequestContext, body: Body) -> Body:
        version = ctx.header.api_version
        future = self.coordinator.join_group(
            body["group_id"],
            body["member_id"],
            body["protocol_type"],
            [(p["name"], bytes(p["metadata"])) for p in body["protocols"]],
            session_timeout_ms=body["session_timeout_ms"],
            rebalance_timeout_ms=body["rebalance_timeout_ms"] if version >= 1 else body["session_timeout_ms"],
            group_instance_id=body.get("group_instance_id"),
            client_id=ctx.header.client_id or "",
            client_host=ctx.client_host,
            require_known_member_id=version >= 4,
        )
        result = await _await(future)
        return {
            "throttle_time_ms": 0,
            "error_code": result.error,
            "generation_id": result.generation_id,
            "protocol_type": result.protocol_type,
            "protocol_name": result.protocol_name or "",
            "leader": result.leader,
            "member_id": result.member_id,
            "members": [
                {"member_id": m.member_id, "group_instance_id": m.group_instance_id, "metadata": m.metadata}
                for m in result.members
            ],
        }

    async def sync_group(self, ctx: RequestContext, body: Body) -> Body:
        assignments = {a["member_id"]: bytes(a["assignment"]) for a in body["assignments"]} or None
        future = self.coordinator.sync_group(
            body["group_id"],
            body["generation_id"],
            body["member_id"],
            assignments,
            group_instance_id=body.get("group_instance_id"),
        )
        result = await _await(future)
        return {
            "throttle_time_ms": 0,
            "error_code": result.error,
            "protocol_type": result.protocol_type,
            "protocol_name": result.protocol_name,
            "assignment": result.assignment,
        }

    async def heartbeat(self, ctx: RequestContext, body: Body) -> Body:
        error = self.coordinator.heartbeat(
            body["group_id"], body["generation_id"], body["member_id"], group_instance_id=body.get("group_instance_id")
        )
        return {"throttle_time_ms": 0, "error_code": error}

    async def leave_group(self, ctx: RequestContext, body: Body) -> Body:
        if ctx.header.api_version < 3:
            errors = self.coordinator.leave_group(body["group_id"], [(body["member_id"], None)])
            return {"throttle_time_ms": 0, "error_code": errors[0]}
        members = [(m["member_id"], m["group_instance_id"]) for m in body["members"]]
        errors = self.coordinator.leave_group(body["group_id"], members)
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "members": [
                {"member_id": member_id, "group_instance_id": instance, "error_code": error}
                for (member_id, instance), error in zip(members, errors, strict=True)
            ],
        }

    async def offset_commit(self, ctx: RequestContext, body: Body) -> Body:
        offsets = {
            (topic["name"], p["partition_index"]): CommittedOffset(
                p["committed_offset"], p.get("committed_leader_epoch", -1), p.get("committed_metadata") or ""
            )
            for topic in body["topics"]
            for p in topic["partitions"]
        }
        results = await asyncio.to_thread(
            self.coordinator.commit_offsets,
            body["group_id"],
            body["generation_id_or_member_epoch"],
            body["member_id"],
            offsets,
            group_instance_id=body.get("group_instance_id"),
        )
        return {
            "throttle_time_ms": 0,
            "topics": [
                {
                    "name": topic["name"],
                    "partitions": [
                        {
                            "partition_index": p["partition_index"],
                            "error_code": results[(topic["name"], p["partition_index"])],
                        }
                        for p in topic["partitions"]
                    ],
                }
                for topic in body["topics"]
            ],
        }

    async def offset_fetch(self, ctx: RequestContext, body: Body) -> Body:
        requested = body.get("topics")
        wanted = None if requested is None else [(t["name"], p) for t in requested for p in t["partition_indexes"]]
        stored = self.coordinator.fetch_offsets(body["group_id"], wanted)
        by_topic: dict[str, list[Body]] = {}
        for (topic, partition), committed in sorted(stored.items()):
            by_topic.setdefault(topic, []).append(
                {
                    "partition_index": partition,
                    "committed_offset": committed.offset if committed else -1,
                    "committed_leader_epoch": committed.leader_epoch if committed else -1,
                    "metadata": committed.metadata if committed else "",
                    "error_code": ErrorCode.NONE,
                }
            )
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "topics": [{"name": name, "partitions": partitions} for name, partitions in by_topic.items()],
        }

    async def describe_groups(self, ctx: RequestContext, body: Body) -> Body:
        groups = []
        for group_id in body["groups"]:
            described = self.coordinator.describe_group(group_id)
            groups.append(
                {
                    "error_code": described.error,
                    "group_id": group_id,
                    "group_state": described.state,
                    "protocol_type": described.protocol_type,
                    "protocol_data": described.protocol,
                    "members": [
                        {
                            "member_id": m.member_id,
                            "group_instance_id": m.group_instance_id,
                            "client_id": m.client_id,
                            "client_host": m.client_host,
                            "member_metadata": m.metadata,
                            "member_assignment": m.assignment,
                        }
                        for m in described.members
                    ],
                    "authorized_operations": -2147483648,
                }
            )
        return {"throttle_time_ms": 0, "groups": groups}

    async def list_groups(self, ctx: RequestContext, body: Body) -> Body:
        listed = self.coordinator.list_groups(body.get("states_filter") or None)
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "groups": [
                {"group_id": g.group_id, "protocol_type": g.protocol_type, "group_state": g.state} for g in listed
            ],
        }


async def _await(future: Future[Any]) -> Any:
    return await asyncio.wrap_future(future)
