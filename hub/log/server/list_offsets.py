"""ListOffsets (Kafka's API key 2): the offset each partition answers for a timestamp or one of Kafka's special
timestamps, with the version each needs (Kafka refuses one sent in an older version, or an unknown negative one,
with UNSUPPORTED_VERSION for that partition):

- -2 earliest and -1 latest (v1+): the log start offset, and the high watermark — the last stable offset for
  ``isolation_level`` 1 (read_committed, v2+), as a read_committed consumer may read no further;
- -3 max timestamp (v7+, KIP-734): the offset of the first record with the largest timestamp in the log;
- -4 earliest local (v8+, KIP-405): the log start offset, as on a Kafka broker without tiered storage;
- -5 latest tiered (v9+, KIP-1005): offset -1 and epoch -1, as on a Kafka broker without tiered storage;
- any other timestamp: the first record at or after it (no offset when none is that recent).

As on a Kafka broker, an offset found by timestamp (or -3) at or past what the isolation level may read (the
high watermark, or the last stable offset for read_committed) is not answered: offset and timestamp -1.

On a cluster the partition's leader answers (epoch checks, its leader epoch in the answer). Safe for one event
loop; the scans of -3 run in a worker thread.
"""

from __future__ import annotations

import asyncio

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.partition import PartitionLog
from hub.log.records import iter_records
from hub.log.server.context import Body, RequestContext

EARLIEST, LATEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -2, -1, -3, -4, -5
#: The first version in which each special timestamp may be asked (Kafka's ReplicaManager table).
READ_COMMITTED = 1
SPECIAL_TIMESTAMP_MIN_VERSION = {EARLIEST: 1, LATEST: 1, MAX_TIMESTAMP: 7, EARLIEST_LOCAL: 8, LATEST_TIERED: 9}


async def list_offsets(broker: Broker, ctx: RequestContext, body: Body) -> Body:
    version = ctx.header.api_version
    topics = []
    for topic in body["topics"]:
        partitions = []
        for request in topic["partitions"]:
            partitions.append(await _answer(broker, topic["name"], request, version, body.get("isolation_level", 0)))
        topics.append({"name": topic["name"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}


async def _answer(broker: Broker, topic: str, request: Body, version: int, isolation_level: int) -> Body:
    partition, timestamp = request["partition_index"], request["timestamp"]
    answer: Body = {
        "partition_index": partition,
        "error_code": ErrorCode.NONE,
        "timestamp": -1,
        "offset": -1,
        "leader_epoch": -1,
    }
    if timestamp < 0 and version < SPECIAL_TIMESTAMP_MIN_VERSION.get(timestamp, 1 << 15):
        answer["error_code"] = ErrorCode.UNSUPPORTED_VERSION
        return answer
    try:
        epoch = 0
        if broker.cluster is not None:
            leadership = broker.cluster.replicas.leadership(topic, partition)
            leadership.check_epoch(request.get("current_leader_epoch", -1))
            epoch = leadership.epoch
        if timestamp == LATEST_TIERED:
            return answer
        log_ = broker.store.partition(topic, partition)
        fetchable = log_.last_stable_offset if isolation_level == READ_COMMITTED else log_.high_watermark
        if timestamp == MAX_TIMESTAMP:
            found = await asyncio.to_thread(_max_timestamp, log_)
            if found is not None and found[0] < fetchable:
                answer.update(offset=found[0], timestamp=found[1], leader_epoch=found[2])
            return answer
        if timestamp == LATEST:
            answer.update(offset=fetchable, leader_epoch=epoch)
            return answer
        spec = EARLIEST if timestamp == EARLIEST_LOCAL else timestamp
        found_offset = broker.list_offset(topic, partition, spec)
        if found_offset is not None and (spec == EARLIEST or found_offset[0] < fetchable):
            answer.update(offset=found_offset[0], timestamp=found_offset[1], leader_epoch=epoch)
    except Exception as exc:
        answer["error_code"] = error_code_for(exc)
    return answer


def _max_timestamp(log_: PartitionLog) -> tuple[int, int, int] | None:
    """(offset, timestamp, leader epoch) of the first record with the log's largest timestamp; None for an empty
    log. Reads every batch header, then the one batch holding that record."""
    best = None
    start = log_.log_start_offset
    for header in log_.stored_headers():
        if header.base_offset + header.last_offset_delta < start or header.is_control:
            continue
        if best is None or header.max_timestamp > best.max_timestamp:
            best = header
    if best is None:
        return None
    for record in iter_records(log_.read(best.base_offset, best.size)):
        if record.offset >= best.base_offset and record.timestamp == best.max_timestamp:
            return record.offset, record.timestamp, max(best.partition_leader_epoch, -1)
    return best.base_offset + best.last_offset_delta, best.max_timestamp, max(best.partition_leader_epoch, -1)
