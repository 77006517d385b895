"""DescribeTopicPartitions (Kafka's API key 75, KIP-966): what Metadata says of topics and their partitions, paged
by partitions, which Kafka 4's Java admin client uses for ``describeTopics``.

As Kafka's broker answers it: the topics asked for (all topics when none are named), in name order; an unknown
one with UNKNOWN_TOPIC_OR_PARTITION. An answer holds at most ``response_partition_limit`` partitions (and at most
``MAX_PARTITIONS_PER_ANSWER``, Kafka's default ``max.request.partition.size.limit``); when partitions are left,
``next_cursor`` names the first of them, and a request whose ``cursor`` names it goes on from there. A cursor naming
a topic the request does not ask for is refused with INVALID_REQUEST. Hub keeps no eligible leader replicas
(KIP-966's ELR is off), so both ELR lists are empty.

Stateless; safe for one event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.log.error_codes import ErrorCode
from hub.log.server.context import Body, RequestContext
from hub.log.server.topic_ids import topic_uuid
from hub.log.store import TopicInfo, TopicStore

MAX_PARTITIONS_PER_ANSWER = 2000
#: The partitions of a topic as Metadata describes them.
Partitions = Callable[[str, TopicInfo], list[Body]]


async def describe_topic_partitions(
    store: TopicStore, partitions_of: Partitions, ctx: RequestContext, body: Body
) -> Body:
    topics = store.topics()
    cursor = body["cursor"]
    named = sorted({t["name"] for t in body["topics"]})
    if cursor is not None and named and cursor["topic_name"] not in named:
        return {
            "throttle_time_ms": 0,
            "topics": [{**_topic(name, ErrorCode.INVALID_REQUEST), "name": name} for name in named],
            "next_cursor": None,
        }
    names = named or sorted(topics)
    first_partition = 0
    if cursor is not None:
        names = [name for name in names if name >= cursor["topic_name"]]
        first_partition = max(cursor["partition_index"], 0)
    room = min(max(body["response_partition_limit"], 0), MAX_PARTITIONS_PER_ANSWER)
    answered: list[Body] = []
    next_cursor = None
    for position, name in enumerate(names):
        info = topics.get(name)
        if info is None:
            answered.append(_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            continue
        start = first_partition if cursor is not None and name == cursor["topic_name"] else 0
        if room == 0:
            next_cursor = {"topic_name": name, "partition_index": start}
            break
        listed = [p for p in partitions_of(name, info) if p["partition_index"] >= start]
        listed.sort(key=lambda p: int(p["partition_index"]))
        shown = listed[:room]
        room -= len(shown)
        entry = _topic(name, ErrorCode.NONE)
        entry.update(
            topic_id=topic_uuid(info),
            is_internal=info.internal,
            partitions=[{**p, "eligible_leader_replicas": [], "last_known_elr": []} for p in shown],
        )
        answered.append(entry)
        if len(shown) < len(listed):
            next_cursor = {"topic_name": name, "partition_index": listed[len(shown)]["partition_index"]}
            break
        if room == 0 and position + 1 < len(names):
            next_cursor = {"topic_name": names[position + 1], "partition_index": 0}
            break
    return {"throttle_time_ms": 0, "topics": answered, "next_cursor": next_cursor}


def _topic(name: str, error: ErrorCode) -> Body:
    return {
        "error_code": error,
        "name": name,
        "is_internal": False,
        "partitions": [],
        "topic_authorized_operations": -2147483648,
    }
