"""The access rules of the transaction APIs (Kafka's KafkaApis), applied by ``request_authorization``.

- AddPartitionsToTxn below version 4 (a client's): WRITE on the TRANSACTIONAL_ID (else every partition is answered
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic but Kafka's internal ones (a partition of a denied
  topic gets TOPIC_AUTHORIZATION_FAILED, the others OPERATION_NOT_ATTEMPTED: nothing is added). From version 4 (a
  broker's): CLUSTER_ACTION, else CLUSTER_AUTHORIZATION_FAILED for the request.
- AddOffsetsToTxn: WRITE on the TRANSACTIONAL_ID, then READ on the GROUP. EndTxn: WRITE on the TRANSACTIONAL_ID.
- WriteTxnMarkers (brokers only): CLUSTER_ACTION, else each partition CLUSTER_AUTHORIZATION_FAILED.
- DescribeTransactions: DESCRIBE on each TRANSACTIONAL_ID (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the others);
  the partitions of a described transaction are listed only for topics the principal may DESCRIBE.
- ListTransactions: only the ids the principal may DESCRIBE are listed.

Pure functions over the codec's dicts; safe for one event loop.
"""

from __future__ import annotations

from hub.log.error_codes import ErrorCode
from hub.log.security.acl import AclOperation, ResourceType
from hub.log.server.authorization_support import CLUSTER_DENIED, TOPIC_DENIED, TXN_DENIED, Check, Route, Rule
from hub.log.server.context import Body, RequestContext
from hub.log.store import KAFKA_INTERNAL_TOPICS


def _partition_results(topics: list[Body], error_of: dict[str, ErrorCode]) -> list[Body]:
    return [
        {
            "name": t["name"],
            "results_by_partition": [
                {"partition_index": p, "partition_error_code": error_of[t["name"]]} for p in t["partitions"]
            ],
        }
        for t in topics
    ]


async def _add_partitions(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if ctx.header.api_version >= 4:
        if check.cluster(AclOperation.CLUSTER_ACTION):
            return await route(ctx, body)
        return {"throttle_time_ms": 0, "error_code": CLUSTER_DENIED, "results_by_transaction": []}
    topics = body["v3_and_below_topics"]
    if not check.may(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body["v3_and_below_transactional_id"]):
        errors = {t["name"]: TXN_DENIED for t in topics}
        return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": _partition_results(topics, errors)}
    write = check.topic(AclOperation.WRITE)
    denied = {t["name"] for t in topics if t["name"] not in KAFKA_INTERNAL_TOPICS and write(t["name"]) is not None}
    if not denied:
        return await route(ctx, body)
    errors = {t["name"]: TOPIC_DENIED if t["name"] in denied else ErrorCode.OPERATION_NOT_ATTEMPTED for t in topics}
    return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": _partition_results(topics, errors)}


async def _add_offsets(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if not check.may(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body["transactional_id"]):
        return {"throttle_time_ms": 0, "error_code": TXN_DENIED}
    if not check.may(AclOperation.READ, ResourceType.GROUP, body["group_id"]):
        return {"throttle_time_ms": 0, "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED}
    return await route(ctx, body)


async def _end_txn(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if check.may(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body["transactional_id"]):
        return await route(ctx, body)
    return {"throttle_time_ms": 0, "error_code": TXN_DENIED, "producer_id": -1, "producer_epoch": -1}


async def _write_txn_markers(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if check.cluster(AclOperation.CLUSTER_ACTION):
        return await route(ctx, body)
    return {
        "markers": [
            {
                "producer_id": marker["producer_id"],
                "topics": [
                    {
                        "name": t["name"],
                        "partitions": [
                            {"partition_index": p, "error_code": CLUSTER_DENIED} for p in t["partition_indexes"]
                        ],
                    }
                    for t in marker["topics"]
                ],
            }
            for marker in body["markers"]
        ]
    }


async def _describe_transactions(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    ids = body["transactional_ids"]
    allowed = [tid for tid in ids if check.may(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, tid)]
    answered: dict[str, Body] = {}
    if allowed:
        answer = await route(ctx, {**body, "transactional_ids": allowed})
        describe = check.topic(AclOperation.DESCRIBE)
        for state in answer["transaction_states"] if answer else ():
            state["topics"] = [t for t in state["topics"] if describe(t["topic"]) is None]
            answered[state["transactional_id"]] = state
    states = []
    for tid in ids:
        states.append(
            answered.get(tid)
            or {
                "error_code": TXN_DENIED,
                "transactional_id": tid,
                "transaction_state": "",
                "transaction_timeout_ms": 0,
                "transaction_start_time_ms": -1,
                "producer_id": -1,
                "producer_epoch": -1,
                "topics": [],
            }
        )
    return {"throttle_time_ms": 0, "transaction_states": states}


async def _list_transactions(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    answer = await route(ctx, body)
    if answer is not None:
        answer["transaction_states"] = [
            state
            for state in answer["transaction_states"]
            if check.may(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, state["transactional_id"])
        ]
    return answer


#: The rule of each transaction API key (InitProducerId's is ``request_authorization``'s, shared with idempotence).
TXN_RULES: dict[int, Rule] = {
    24: _add_partitions,
    25: _add_offsets,
    26: _end_txn,
    27: _write_txn_markers,
    65: _describe_transactions,
    66: _list_transactions,
}
