"""GroupAdminHandlers: Kafka's APIs that remove a group's state — DeleteGroups (the whole group: its metadata and
committed offsets) and OffsetDelete (some of its committed offsets) — over the broker's GroupCoordinator.

As every group request, they are served only by the group's coordinator (NOT_COORDINATOR elsewhere, see
``coordinator_lookup``). Deletions are tombstones in ``__consumer_offsets``, answered once committed, so a deleted
group or offset stays deleted across restarts and coordinator moves. Kafka's errors: INVALID_GROUP_ID for an
empty id, GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP for a group with members (DeleteGroups; OffsetDelete on a group
that is not a consumer group), GROUP_SUBSCRIBED_TO_TOPIC for the offsets of a topic a member subscribes to.

Safe for one event loop; the coordinator's blocking calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hub.log.error_codes import ErrorCode
from hub.log.server.context import Body, RequestContext
from hub.log.server.coordinator_lookup import CoordinatorLookup


class GroupAdminHandlers:
    """DeleteGroups and OffsetDelete (see the module docstring)."""

    def __init__(self, lookup: CoordinatorLookup) -> None:
        self._lookup = lookup

    @property
    def routes(self) -> dict[int, Callable[[RequestContext, Body], Awaitable[Body]]]:
        """The handler of each API key served here."""
        return {42: self.delete_groups, 47: self.offset_delete}

    async def delete_groups(self, ctx: RequestContext, body: Body) -> Body:
        names = list(dict.fromkeys(body["groups_names"]))
        coordinator = self._lookup.serving()
        if isinstance(coordinator, ErrorCode):
            errors = dict.fromkeys(names, coordinator)
        else:
            errors = dict.fromkeys((name for name in names if not name), ErrorCode.INVALID_GROUP_ID)
            valid = [name for name in names if name]
            if valid:
                errors.update(await asyncio.to_thread(coordinator.delete_groups, valid))
        return {
            "throttle_time_ms": 0,
            "results": [{"group_id": name, "error_code": errors[name]} for name in names],
        }

    async def offset_delete(self, ctx: RequestContext, body: Body) -> Body:
        asked = [(topic["name"], p["partition_index"]) for topic in body["topics"] for p in topic["partitions"]]
        coordinator = self._lookup.serving()
        errors: dict[tuple[str, int], ErrorCode] = {}
        if isinstance(coordinator, ErrorCode):
            error = coordinator
        elif not body["group_id"]:
            error = ErrorCode.INVALID_GROUP_ID
        else:
            error, errors = await asyncio.to_thread(coordinator.delete_offsets, body["group_id"], asked)
        topics: list[Body] = []
        if error is ErrorCode.NONE:
            by_topic: dict[str, list[Body]] = {}
            for topic, partition in dict.fromkeys(asked):
                answer = {"partition_index": partition, "error_code": errors[(topic, partition)]}
                by_topic.setdefault(topic, []).append(answer)
            topics = [{"name": name, "partitions": partitions} for name, partitions in by_topic.items()]
        return {"error_code": error, "throttle_time_ms": 0, "topics": topics}
