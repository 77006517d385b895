"""RecordHandlers: the Kafka APIs about a partition's records rather than its configuration — DeleteRecords (move
a partition's log start offset forward) and DescribeProducers (the producers a partition knows, with the coordinator
epoch of their last transaction marker and the first offset of the transaction they have open, -1 when none).

Both act on the partition's leader: on a cluster a node that does not lead the partition answers
NOT_LEADER_OR_FOLLOWER, as a Kafka broker does, and the client asks the leader. DeleteRecords follows Kafka's
rules: offset -1 means the high watermark, any other negative offset or one past the high watermark is
OFFSET_OUT_OF_RANGE, an offset below the log start leaves it where it is, and internal topics are refused with
INVALID_TOPIC_EXCEPTION. The new log start is checkpointed before the answer; followers take it from the leader's
Fetch answers. The answer gives the leader's new log start (Kafka waits until every follower has reached it; Hub
answers once the leader has moved, its followers following within a fetch).

Safe for one event loop; partition logs are thread-safe and their blocking work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import InternalTopicError, OffsetOutOfRangeError
from hub.log.partition import PartitionLog
from hub.log.server.context import Body, RequestContext

log = logging.getLogger("hub.log.server")

#: DeleteRecords' "up to the high watermark".
HIGH_WATERMARK = -1


class RecordHandlers:
    """DeleteRecords and DescribeProducers over a Broker (see the module docstring)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    @property
    def routes(self) -> dict[int, Callable[[RequestContext, Body], Awaitable[Body]]]:
        """The handler of each API key served here."""
        return {21: self.delete_records, 61: self.describe_producers}

    def _leader_log(self, topic: str, partition: int) -> PartitionLog:
        """The partition's log when this node may act on it as leader; raises UNKNOWN_TOPIC_OR_PARTITION or
        NOT_LEADER_OR_FOLLOWER errors otherwise."""
        cluster = self.broker.cluster
        if cluster is None:
            return self.broker.store.partition(topic, partition)
        return cluster.replicas.leadership(topic, partition).log

    # --- DeleteRecords -----------------------------------------------------------------------------------------

    async def delete_records(self, ctx: RequestContext, body: Body) -> Body:
        topics = []
        for topic in body["topics"]:
            partitions = []
            for request in topic["partitions"]:
                answer: Body = {"partition_index": request["partition_index"], "low_watermark": -1}
                try:
                    answer["low_watermark"] = await asyncio.to_thread(
                        self._delete_before, topic["name"], request["partition_index"], request["offset"]
                    )
                    answer["error_code"] = ErrorCode.NONE
                except Exception as exc:
                    answer["error_code"] = error_code_for(exc)
                    if answer["error_code"] is ErrorCode.UNKNOWN_SERVER_ERROR:
                        log.exception("delete records of %s-%d failed", topic["name"], request["partition_index"])
                partitions.append(answer)
            topics.append({"name": topic["name"], "partitions": partitions})
        return {"throttle_time_ms": 0, "topics": topics}

    def _delete_before(self, topic: str, partition: int, offset: int) -> int:
        if self.broker.store.is_internal(topic):
            raise InternalTopicError(f"Cannot delete records of internal topic {topic}")
        log_ = self._leader_log(topic, partition)
        high_watermark = log_.high_watermark
        if offset == HIGH_WATERMARK:
            offset = high_watermark
        if offset < 0 or offset > high_watermark:
            raise OffsetOutOfRangeError(
                f"{log_.name}: cannot delete records before offset {offset}: the high watermark is {high_watermark}"
            )
        if offset <= log_.log_start_offset:
            return log_.log_start_offset
        start = log_.delete_records_before(offset)
        log.info("%s: records before %d deleted on request (DeleteRecords)", log_.name, start)
        return start

    # --- DescribeProducers -------------------------------------------------------------------------------------

    async def describe_producers(self, ctx: RequestContext, body: Body) -> Body:
        topics = []
        for topic in body["topics"]:
            partitions = []
            for index in topic["partition_indexes"]:
                answer: Body = {
                    "partition_index": index,
                    "error_code": ErrorCode.NONE,
                    "error_message": None,
                    "active_producers": [],
                }
                try:
                    answer["active_producers"] = self._producers(self._leader_log(topic["name"], index))
                except Exception as exc:
                    answer.update(error_code=error_code_for(exc), error_message=str(exc))
                partitions.append(answer)
            topics.append({"name": topic["name"], "partitions": partitions})
        return {"throttle_time_ms": 0, "topics": topics}

    @staticmethod
    def _producers(log_: PartitionLog) -> list[Body]:
        return [
            {
                "producer_id": producer_id,
                "producer_epoch": epoch,
                "last_sequence": last_sequence,
                "last_timestamp": last_timestamp,
                "coordinator_epoch": coordinator_epoch,
                "current_txn_start_offset": txn_start,
            }
            for (
                producer_id,
                epoch,
                last_sequence,
                last_timestamp,
                coordinator_epoch,
                txn_start,
            ) in log_.active_producers()
        ]
