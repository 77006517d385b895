"""TxnOffsetHandlers: Kafka's TxnOffsetCommit (API 28, versions 0-5) over the broker's GroupCoordinator.

A transactional producer commits a consumer group's offsets inside its transaction (``send_offsets_to_transaction``
after AddOffsetsToTxn). As Kafka's KafkaApis answers it: a topic that does not exist, or a partition beyond its
count, is answered UNKNOWN_TOPIC_OR_PARTITION and left out; the rest goes to the group's coordinator, which checks
group, member and generation (versions 3+ name them) and writes the offsets into the producer's transaction
(hub.log.group.coordinator). This broker answers NOT_COORDINATOR when another node coordinates groups,
COORDINATOR_NOT_AVAILABLE without a coordinator. Versions 0 and 1 get COORDINATOR_NOT_AVAILABLE instead of
COORDINATOR_LOAD_IN_PROGRESS, which producers before Kafka 2.0 did not expect. The access rules (TRANSACTIONAL_ID
WRITE, GROUP READ, TOPIC READ) are ``group_authorization``'s.

Safe for one event loop; the coordinator underneath is thread-safe (its call waits in a worker thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from hub.log.error_codes import ErrorCode
from hub.log.group import CommittedOffset
from hub.log.server.context import Body, RequestContext
from hub.log.server.coordinator_lookup import CoordinatorLookup

#: Versions before this one are answered COORDINATOR_NOT_AVAILABLE for COORDINATOR_LOAD_IN_PROGRESS (KAFKA-7296).
LOAD_IN_PROGRESS_VERSION = 2

#: The partition count of a topic by name (None: no such topic).
PartitionCount = Callable[[str], int | None]


class TxnOffsetHandlers:
    """TxnOffsetCommit (see the module docstring); ``routes`` maps its key."""

    def __init__(self, lookup: CoordinatorLookup, partition_count: PartitionCount) -> None:
        self._lookup = lookup
        self._partition_count = partition_count
        self.routes: dict[int, Callable[[RequestContext, Body], Awaitable[Body | None]]] = {
            28: self.txn_offset_commit,
        }

    async def txn_offset_commit(self, ctx: RequestContext, body: Body) -> Body:
        results: dict[tuple[str, int], ErrorCode] = {}
        offsets: dict[tuple[str, int], CommittedOffset] = {}
        for topic in body["topics"]:
            count = self._partition_count(topic["name"])
            for p in topic["partitions"]:
                tp = (topic["name"], p["partition_index"])
                if count is None or not 0 <= tp[1] < count:
                    results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    continue
                offsets[tp] = CommittedOffset(
                    p["committed_offset"], p.get("committed_leader_epoch", -1), p.get("committed_metadata") or ""
                )
        if offsets:
            coordinator = self._lookup.serving()
            if isinstance(coordinator, ErrorCode):
                results.update(dict.fromkeys(offsets, coordinator))
            else:
                results.update(
                    await asyncio.to_thread(
                        coordinator.commit_transactional_offsets,
                        body["group_id"],
                        body["transactional_id"],
                        body["producer_id"],
                        body["producer_epoch"],
                        offsets,
                        generation_id=body.get("generation_id", -1),
                        member_id=body.get("member_id", ""),
                        group_instance_id=body.get("group_instance_id"),
                    )
                )
        if ctx.header.api_version < LOAD_IN_PROGRESS_VERSION:
            results = {
                tp: ErrorCode.COORDINATOR_NOT_AVAILABLE if error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS else error
                for tp, error in results.items()
            }
        return {"throttle_time_ms": 0, "topics": _by_topic(body, results)}


def _by_topic(body: Body, results: Mapping[tuple[str, int], ErrorCode]) -> list[Body]:
    """The answer in request order, one entry per topic named."""
    answered: dict[str, list[Body]] = {}
    for topic in body["topics"]:
        partitions = answered.setdefault(topic["name"], [])
        for p in topic["partitions"]:
            partitions.append(
                {"partition_index": p["partition_index"], "error_code": results[(topic["name"], p["partition_index"])]}
            )
    return [{"name": name, "partitions": partitions} for name, partitions in answered.items()]
