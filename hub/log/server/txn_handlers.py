"""TransactionHandlers: the Kafka APIs of transactional producers — InitProducerId, AddPartitionsToTxn,
AddOffsetsToTxn, EndTxn, ListTransactions, DescribeTransactions — over the broker's TransactionCoordinator.

InitProducerId without a ``transactional_id`` is the idempotent producer's: a new producer id at epoch 0 from the
broker. With one, the coordinator answers; a broker without a coordinator answers COORDINATOR_NOT_AVAILABLE, and
the coordinator itself answers NOT_COORDINATOR for an id whose ``__transaction_state`` partition this node does not
lead. PRODUCER_FENCED becomes INVALID_PRODUCER_EPOCH for the versions before it existed (KIP-588: InitProducerId
below 4, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn below 2), as KafkaApis does.

AddPartitionsToTxn below version 4 is a client's, for one transaction; from 4 a broker's, a batch of transactions
each answered on its own (``verify_only`` asks whether the partitions are in the transaction). A partition of no
topic gets UNKNOWN_TOPIC_OR_PARTITION and the others of its transaction OPERATION_NOT_ATTEMPTED (nothing is added),
as Kafka. Access rules (TRANSACTIONAL_ID WRITE, TOPIC WRITE, GROUP READ, CLUSTER_ACTION for the broker form) are
``request_authorization``'s.

WriteTxnMarkers (a broker's, CLUSTER_ACTION) writes markers for another node's coordinator to the partitions this
node leads.

Calls that wait (a write to ``__transaction_state``) are awaited without blocking the event loop. Safe for one
event loop; the coordinator underneath is thread-safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode
from hub.log.server.context import Body, RequestContext
from hub.log.txn.contracts import TopicPartitionKey, TxnMarker
from hub.log.txn.coordinator import TransactionCoordinator

T = TypeVar("T")

#: The first versions that may answer PRODUCER_FENCED (KIP-588); earlier ones get INVALID_PRODUCER_EPOCH.
PRODUCER_FENCED_VERSIONS = {22: 4, 24: 2, 25: 2, 26: 2}
#: AddPartitionsToTxn from this version is a broker's batch of transactions.
BATCHED_ADD_PARTITIONS_VERSION = 4


def fenced_for_version(api_key: int, version: int, error: ErrorCode) -> ErrorCode:
    if error is ErrorCode.PRODUCER_FENCED and version < PRODUCER_FENCED_VERSIONS[api_key]:
        return ErrorCode.INVALID_PRODUCER_EPOCH
    return error


async def _await(future: Future[T]) -> T:
    return await asyncio.wrap_future(future)


class TransactionHandlers:
    """The transaction APIs (see the module docstring)."""

    def __init__(self, broker: Broker, coordinator: Callable[[], TransactionCoordinator | None]) -> None:
        self.broker = broker
        self._coordinator = coordinator
        self.routes: dict[int, Callable[[RequestContext, Body], Awaitable[Body | None]]] = {
            22: self.init_producer_id,
            24: self.add_partitions_to_txn,
            25: self.add_offsets_to_txn,
            26: self.end_txn,
            27: self.write_txn_markers,
            65: self.describe_transactions,
            66: self.list_transactions,
        }

    async def init_producer_id(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's InitProducerId. From version 3 (KIP-360) a producer may send its current id and epoch: one
        without the other is refused with INVALID_REQUEST. An idempotent producer gets a new id at epoch 0 either
        way (its epoch bump happens in the client)."""
        answer: Body = {"throttle_time_ms": 0, "producer_id": -1, "producer_epoch": -1}
        producer_id, epoch = body.get("producer_id", -1), body.get("producer_epoch", -1)
        if (producer_id == -1) != (epoch == -1):
            return {**answer, "error_code": ErrorCode.INVALID_REQUEST}
        tid = body.get("transactional_id")
        if tid is None:
            producer_id, epoch = await asyncio.to_thread(self.broker.init_producer_id)
            return {**answer, "error_code": ErrorCode.NONE, "producer_id": producer_id, "producer_epoch": epoch}
        coordinator = self._coordinator()
        if coordinator is None:
            return {**answer, "error_code": ErrorCode.COORDINATOR_NOT_AVAILABLE}
        # off the event loop: a new producer id may wait for the id block's fsync (hub.log.producer_ids)
        future = await asyncio.to_thread(
            coordinator.init_producer_id, tid, body["transaction_timeout_ms"], producer_id, epoch
        )
        result = await _await(future)
        return {
            **answer,
            "error_code": fenced_for_version(22, ctx.header.api_version, result.error),
            "producer_id": result.producer_id,
            "producer_epoch": result.producer_epoch,
        }

    async def add_partitions_to_txn(self, ctx: RequestContext, body: Body) -> Body:
        version = ctx.header.api_version
        if version < BATCHED_ADD_PARTITIONS_VERSION:
            results = await self._add_partitions(
                version,
                body["v3_and_below_transactional_id"],
                body["v3_and_below_producer_id"],
                body["v3_and_below_producer_epoch"],
                body["v3_and_below_topics"],
                False,
            )
            return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": results}
        answers = await asyncio.gather(
            *(
                self._add_partitions(
                    version, t["transactional_id"], t["producer_id"], t["producer_epoch"], t["topics"], t["verify_only"]
                )
                for t in body["transactions"]
            )
        )
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "results_by_transaction": [
                {"transactional_id": t["transactional_id"], "topic_results": results}
                for t, results in zip(body["transactions"], answers, strict=True)
            ],
        }

    async def _add_partitions(
        self, version: int, tid: str, producer_id: int, epoch: int, topics: list[Body], verify_only: bool
    ) -> list[Body]:
        wanted: list[TopicPartitionKey] = [(t["name"], p) for t in topics for p in t["partitions"]]
        known = self.broker.store.topics()
        missing = {(topic, p) for topic, p in wanted if topic not in known or not 0 <= p < known[topic].partitions}
        errors: dict[TopicPartitionKey, ErrorCode]
        coordinator = self._coordinator()
        if missing:
            errors = {
                tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if tp in missing else ErrorCode.OPERATION_NOT_ATTEMPTED
                for tp in wanted
            }
        elif coordinator is None:
            errors = dict.fromkeys(wanted, ErrorCode.COORDINATOR_NOT_AVAILABLE)
        elif verify_only:
            errors = coordinator.verify_partitions(tid, producer_id, epoch, wanted)
        else:
            errors = await _await(coordinator.add_partitions(tid, producer_id, epoch, wanted))
        return _topic_results(wanted, {tp: fenced_for_version(24, version, e) for tp, e in errors.items()})

    async def add_offsets_to_txn(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._coordinator()
        if coordinator is None:
            error = ErrorCode.COORDINATOR_NOT_AVAILABLE
        else:
            future = coordinator.add_offsets(
                body["transactional_id"], body["producer_id"], body["producer_epoch"], body["group_id"]
            )
            error = fenced_for_version(25, ctx.header.api_version, await _await(future))
        return {"throttle_time_ms": 0, "error_code": error}

    async def end_txn(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's EndTxn; answered once PrepareCommit/PrepareAbort is written (the markers follow). Version 5's
        producer id and epoch are the producer's own: Hub bumps no epoch per transaction (transaction.version 2)."""
        coordinator = self._coordinator()
        if coordinator is None:
            error = ErrorCode.COORDINATOR_NOT_AVAILABLE
        else:
            future = coordinator.end_transaction(
                body["transactional_id"], body["producer_id"], body["producer_epoch"], body["committed"]
            )
            error = fenced_for_version(26, ctx.header.api_version, await _await(future))
        ok = error is ErrorCode.NONE
        return {
            "throttle_time_ms": 0,
            "error_code": error,
            "producer_id": body["producer_id"] if ok else -1,
            "producer_epoch": body["producer_epoch"] if ok else -1,
        }

    async def write_txn_markers(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's WriteTxnMarkers (from another node's coordinator): each marker written to the partitions this node
        leads, through its MarkerWriter; each partition answered with its outcome (NOT_LEADER_OR_FOLLOWER where this
        node does not lead it)."""
        coordinator = self._coordinator()
        markers = [
            TxnMarker(
                m["producer_id"],
                m["producer_epoch"],
                m["transaction_result"],
                m["coordinator_epoch"],
                tuple((t["name"], p) for t in m["topics"] for p in t["partition_indexes"]),
            )
            for m in body["markers"]
        ]
        if coordinator is None:
            results = {(m.producer_id, tp): ErrorCode.COORDINATOR_NOT_AVAILABLE for m in markers for tp in m.partitions}
        else:
            results = await _await(coordinator.markers.writer.write_markers(markers))
        return {
            "markers": [
                {
                    "producer_id": m["producer_id"],
                    "topics": [
                        {
                            "name": t["name"],
                            "partitions": [
                                {
                                    "partition_index": p,
                                    "error_code": results.get(
                                        (m["producer_id"], (t["name"], p)), ErrorCode.UNKNOWN_SERVER_ERROR
                                    ),
                                }
                                for p in t["partition_indexes"]
                            ],
                        }
                        for t in m["topics"]
                    ],
                }
                for m in body["markers"]
            ]
        }

    async def list_transactions(self, ctx: RequestContext, body: Body) -> Body:
        """The ids this node coordinates, filtered by state, producer id, (v1) running time and (v2) a regular
        expression of the id; an unknown state filter is echoed in ``unknown_state_filters``."""
        answer: Body = {"throttle_time_ms": 0, "unknown_state_filters": [], "transaction_states": []}
        coordinator = self._coordinator()
        if coordinator is None:
            return {**answer, "error_code": ErrorCode.NONE}
        error, unknown, listed = coordinator.list_transactions(
            body.get("state_filters") or (),
            body.get("producer_id_filters") or (),
            body.get("duration_filter", -1),
            body.get("transactional_id_pattern"),
        )
        return {
            **answer,
            "error_code": error,
            "unknown_state_filters": unknown,
            "transaction_states": [
                {"transactional_id": t.transactional_id, "producer_id": t.producer_id, "transaction_state": t.state}
                for t in listed
            ],
        }

    async def describe_transactions(self, ctx: RequestContext, body: Body) -> Body:
        coordinator = self._coordinator()
        ids = body["transactional_ids"]
        if coordinator is None:
            states = [_described(tid, ErrorCode.COORDINATOR_NOT_AVAILABLE) for tid in ids]
        else:
            states = []
            for d in coordinator.describe_transactions(ids):
                entry = _described(d.transactional_id, d.error)
                if d.error is ErrorCode.NONE:
                    by_topic: dict[str, list[int]] = {}
                    for topic, partition in d.partitions:
                        by_topic.setdefault(topic, []).append(partition)
                    entry.update(
                        transaction_state=d.state,
                        transaction_timeout_ms=d.timeout_ms,
                        transaction_start_time_ms=d.start_ms,
                        producer_id=d.producer_id,
                        producer_epoch=d.producer_epoch,
                        topics=[{"topic": t, "partitions": p} for t, p in by_topic.items()],
                    )
                states.append(entry)
        return {"throttle_time_ms": 0, "transaction_states": states}


def _described(tid: str, error: ErrorCode) -> Body:
    return {
        "error_code": error,
        "transactional_id": tid,
        "transaction_state": "",
        "transaction_timeout_ms": 0,
        "transaction_start_time_ms": -1,
        "producer_id": -1,
        "producer_epoch": -1,
        "topics": [],
    }


def _topic_results(wanted: list[TopicPartitionKey], errors: dict[TopicPartitionKey, ErrorCode]) -> list[Body]:
    by_topic: dict[str, list[Body]] = {}
    for topic, partition in wanted:
        by_topic.setdefault(topic, []).append(
            {"partition_index": partition, "partition_error_code": errors.get((topic, partition), ErrorCode.NONE)}
        )
    return [{"name": topic, "results_by_partition": results} for topic, results in by_topic.items()]
