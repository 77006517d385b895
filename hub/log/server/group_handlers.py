"""GroupHandlers: the Kafka APIs of consumer groups — FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
OffsetCommit, OffsetFetch, DescribeGroups, ListGroups — over the broker's GroupCoordinator.

FindCoordinator answers the node ``coordinator_node()`` names (COORDINATOR_NOT_AVAILABLE while it names none).

A group request is served only by the coordinator: when ``coordinator_node()`` names another node (or none) it is
answered NOT_COORDINATOR, and COORDINATOR_NOT_AVAILABLE when this broker has no GroupCoordinator; otherwise the
coordinator answers, itself refusing while it does not lead ``__consumer_offsets`` (its leadership may trail the
metadata by a moment). ListGroups on a broker that coordinates nothing lists no groups, as Kafka's brokers answer.

Calls that wait (a rebalance, a committed offset commit) are awaited without blocking the event loop. Safe for one
event loop; the coordinator underneath is thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from typing import Any

from hub.log.error_codes import ErrorCode
from hub.log.group import CommittedOffset, GroupCoordinator, NotCoordinatorError
from hub.log.server.context import Body, RequestContext
from hub.log.server.coordinator_lookup import CoordinatorLookup

log = logging.getLogger("hub.log.server")

#: The first JoinGroup version with ``skip_assignment`` (KIP-814).
SKIP_ASSIGNMENT_VERSION = 9
#: DescribeGroups answers a group it does not know with GROUP_ID_NOT_FOUND from this version (KIP-1043).
DESCRIBE_GROUPS_NOT_FOUND_VERSION = 6
#: OffsetFetch asks for stable offsets (KIP-447) from this version.
REQUIRE_STABLE_VERSION = 7

#: Errors that refuse a whole group request (this node is not, or not yet, the coordinator).
COORDINATOR_ERRORS = frozenset(
    {ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE}
)


class GroupHandlers:
    """The group APIs (see the module docstring)."""

    def __init__(self, lookup: CoordinatorLookup) -> None:
        self._lookup = lookup

    async def find_coordinator(self, ctx: RequestContext, body: Body) -> Body:
        """The coordinator of a group (``key_type`` 0) or a transactional id (1); COORDINATOR_NOT_AVAILABLE while
        there is none, INVALID_REQUEST for another key type. From version 4 a request names many keys (KIP-699),
        each answered in ``coordinators``."""
        key_type = body.get("key_type", 0) if ctx.header.api_version >= 1 else 0
        if ctx.header.api_version < 4:
            return {"throttle_time_ms": 0, **self._coordinator_answer(key_type, body["key"])}
        return {
            "throttle_time_ms": 0,
            "coordinators": [
                {"key": key, **self._coordinator_answer(key_type, key)} for key in body["coordinator_keys"]
            ],
        }

    def _coordinator_answer(self, key_type: int, key: str) -> Body:
        node = self._lookup.node_for(key_type, key)
        if isinstance(node, ErrorCode):
            return {
                "error_code": node,
                "error_message": f"unknown coordinator key type {key_type}",
                "node_id": -1,
                "host": "",
                "port": -1,
            }
        if node is None:
            return {
                "error_code": ErrorCode.COORDINATOR_NOT_AVAILABLE,
                "error_message": "the coordinator is not available",
                "node_id": -1,
                "host": "",
                "port": -1,
            }
        node_id, host, port = node
        return {"error_code": ErrorCode.NONE, "error_message": None, "node_id": node_id, "host": host, "port": port}

    async def join_group(self, ctx: RequestContext, body: Body) -> Body:
        version = ctx.header.api_version
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            return _join_answer(coordinator, member_id=body["member_id"])
        if body.get("reason"):
            log.info("member %r (re)joins group %r: %s", body["member_id"], body["group_id"], body["reason"])
        future = coordinator.join_group(
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
        # A static leader back in a stable group (KIP-814): from version 9 it gets the members with skip_assignment;
        # before, Kafka gives it no members, so it does not compute an assignment the group would ignore.
        skip = result.skip_assignment and version >= SKIP_ASSIGNMENT_VERSION
        members = () if result.skip_assignment and not skip else result.members
        answer = _join_answer(
            result.error,
            generation_id=result.generation_id,
            protocol_type=result.protocol_type,
            protocol_name=result.protocol_name or "",
            leader=result.leader,
            member_id=result.member_id,
            members=[
                {"member_id": m.member_id, "group_instance_id": m.group_instance_id, "metadata": m.metadata}
                for m in members
            ],
        )
        answer["skip_assignment"] = skip
        return answer

    async def sync_group(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            return _sync_answer(coordinator)
        assignments = {a["member_id"]: bytes(a["assignment"]) for a in body["assignments"]} or None
        future = coordinator.sync_group(
            body["group_id"],
            body["generation_id"],
            body["member_id"],
            assignments,
            group_instance_id=body.get("group_instance_id"),
        )
        result = await _await(future)
        return _sync_answer(result.error, result.protocol_type, result.protocol_name, result.assignment)

    async def heartbeat(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            return {"throttle_time_ms": 0, "error_code": coordinator}
        error = coordinator.heartbeat(
            body["group_id"], body["generation_id"], body["member_id"], group_instance_id=body.get("group_instance_id")
        )
        return {"throttle_time_ms": 0, "error_code": error}

    async def leave_group(self, ctx: RequestContext, body: Body) -> Body:
        if ctx.header.api_version < 3:
            members = [(body["member_id"], None)]
        else:
            members = [(m["member_id"], m["group_instance_id"]) for m in body["members"]]
            for m in body["members"]:
                if m.get("reason"):
                    log.info("member %r leaves group %r: %s", m["member_id"], body["group_id"], m["reason"])
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            errors = [coordinator] * len(members)
        else:
            errors = coordinator.leave_group(body["group_id"], members)
        if ctx.header.api_version < 3:
            return {"throttle_time_ms": 0, "error_code": errors[0]}
        refused = next((error for error in errors if error in COORDINATOR_ERRORS), None)
        if refused is not None:
            return {"throttle_time_ms": 0, "error_code": refused, "members": []}
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
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            results = dict.fromkeys(offsets, coordinator)
        else:
            results = await asyncio.to_thread(
                coordinator.commit_offsets,
                body["group_id"],
                body["generation_id_or_member_epoch"],
                body["member_id"],
                offsets,
                group_instance_id=body.get("group_instance_id"),
                api_version=ctx.header.api_version,
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
        """Kafka's OffsetFetch: one group before version 8, many from 8 (each answered on its own). Version 9's member
        id and epoch are checked for a consumer group (KIP-848); a classic group takes no notice of them, as in
        Kafka. From version 7 ``require_stable`` answers UNSTABLE_OFFSET_COMMIT for a partition whose offset is pending
        in a transaction (without it, the last committed offset)."""
        stable = bool(body.get("require_stable")) and ctx.header.api_version >= REQUIRE_STABLE_VERSION
        if ctx.header.api_version < 8:
            found, refused = self._fetch_offsets(body["group_id"], body.get("topics"), stable)
            return {"throttle_time_ms": 0, "error_code": refused, "topics": found}
        groups = []
        coordinator = self._lookup.serving()
        for group in body["groups"]:
            error = ErrorCode.NONE
            if ctx.header.api_version >= 9 and isinstance(coordinator, GroupCoordinator):
                # A member of a consumer group (KIP-848) names itself and its epoch, which Kafka checks.
                error = coordinator.check_offset_fetch(group["group_id"], group["member_id"], group["member_epoch"])
            topics: list[Body] = []
            if error is ErrorCode.NONE:
                topics, error = self._fetch_offsets(group["group_id"], group["topics"], stable)
            if error is not ErrorCode.NONE:
                topics = []
            groups.append({"group_id": group["group_id"], "topics": topics, "error_code": error})
        return {"throttle_time_ms": 0, "groups": groups}

    def _fetch_offsets(
        self, group_id: str, requested: list[Body] | None, require_stable: bool = False
    ) -> tuple[list[Body], ErrorCode]:
        """The committed offsets of ``requested`` (None: all) by topic, and the error refusing the group."""
        wanted = None if requested is None else [(t["name"], p) for t in requested for p in t["partition_indexes"]]
        coordinator = self._lookup.serving()
        unstable: set[tuple[str, int]] = set()
        try:
            if isinstance(coordinator, ErrorCode):
                raise NotCoordinatorError(coordinator)
            if require_stable:
                stored, unstable = coordinator.fetch_stable_offsets(group_id, wanted)
            else:
                stored = coordinator.fetch_offsets(group_id, wanted)
            error = ErrorCode.NONE
        except NotCoordinatorError as exc:
            # Versions before 2 carry no top-level error: each requested partition carries it.
            stored, error = dict.fromkeys(wanted or ()), exc.error
        by_topic: dict[str, list[Body]] = {}
        for (topic, partition), committed in sorted(stored.items()):
            if (topic, partition) in unstable:
                committed = None
            by_topic.setdefault(topic, []).append(
                {
                    "partition_index": partition,
                    "committed_offset": committed.offset if committed else -1,
                    "committed_leader_epoch": committed.leader_epoch if committed else -1,
                    "metadata": committed.metadata if committed else "",
                    "error_code": ErrorCode.UNSTABLE_OFFSET_COMMIT if (topic, partition) in unstable else error,
                }
            )
        return [{"name": name, "partitions": partitions} for name, partitions in by_topic.items()], error

    async def describe_groups(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's DescribeGroups: one answer per group named, in order. A group named more than once is described
        once and its answer repeated (the same objects), so a request repeating a large group's name a thousand
        times costs the encoded answer only, not a thousand copies of its members."""
        coordinator = self._lookup.serving()
        described: dict[str, Body] = {}
        groups = []
        for group_id in body["groups"]:
            answer = described.get(group_id)
            if answer is None:
                answer = described[group_id] = self._describe_group(coordinator, group_id, ctx.header.api_version)
            groups.append(answer)
        return {"throttle_time_ms": 0, "groups": groups}

    @staticmethod
    def _describe_group(coordinator: GroupCoordinator | ErrorCode, group_id: str, version: int) -> Body:
        if isinstance(coordinator, ErrorCode):
            return _described(group_id, coordinator)
        described = coordinator.describe_group(group_id)
        if (
            version >= DESCRIBE_GROUPS_NOT_FOUND_VERSION
            and described.error is ErrorCode.NONE
            and described.state == "Dead"
        ):
            return {
                **_described(group_id, ErrorCode.GROUP_ID_NOT_FOUND),
                "error_message": f"Group {group_id} not found.",
            }
        return _described(
            group_id,
            described.error,
            described.state,
            described.protocol_type,
            described.protocol,
            [
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
        )

    async def list_groups(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._lookup.serving()
        error, listed = ErrorCode.NONE, []
        if coordinator is ErrorCode.COORDINATOR_NOT_AVAILABLE:
            error = coordinator
        elif isinstance(coordinator, GroupCoordinator):
            try:
                listed = coordinator.list_groups(body.get("states_filter") or None)
            except NotCoordinatorError as exc:
                error = exc.error
        # Kafka matches type names case-insensitively.
        types = {name.lower() for name in body.get("types_filter") or ()}
        if types:
            listed = [g for g in listed if g.group_type.lower() in types]
        return {
            "throttle_time_ms": 0,
            "error_code": error,
            "groups": [
                {
                    "group_id": g.group_id,
                    "protocol_type": g.protocol_type,
                    "group_state": g.state,
                    "group_type": g.group_type,
                }
                for g in listed
            ],
        }


def _join_answer(
    error: ErrorCode,
    *,
    generation_id: int = -1,
    protocol_type: str | None = None,
    protocol_name: str = "",
    leader: str = "",
    member_id: str = "",
    members: list[Body] | None = None,
) -> Body:
    return {
        "throttle_time_ms": 0,
        "error_code": error,
        "generation_id": generation_id,
        "protocol_type": protocol_type,
        "protocol_name": protocol_name,
        "leader": leader,
        "member_id": member_id,
        "members": members or [],
    }


def _sync_answer(
    error: ErrorCode, protocol_type: str | None = None, protocol_name: str | None = None, assignment: bytes = b""
) -> Body:
    return {
        "throttle_time_ms": 0,
        "error_code": error,
        "protocol_type": protocol_type,
        "protocol_name": protocol_name,
        "assignment": assignment,
    }


def _described(
    group_id: str,
    error: ErrorCode,
    state: str = "",
    protocol_type: str = "",
    protocol: str = "",
    members: list[Body] | None = None,
) -> Body:
    return {
        "error_code": error,
        "group_id": group_id,
        "group_state": state,
        "protocol_type": protocol_type,
        "protocol_data": protocol,
        "members": members or [],
        "authorized_operations": -2147483648,
    }


async def _await(future: Future[Any]) -> Any:
    return await asyncio.wrap_future(future)
