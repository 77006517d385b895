"""The transaction APIs' access rules (Kafka's KafkaApis): TRANSACTIONAL_ID WRITE for the producer's requests, TOPIC
WRITE for AddPartitionsToTxn, GROUP READ for AddOffsetsToTxn, CLUSTER_ACTION for the brokers' requests, DESCRIBE
for the listings. Every answer must encode at its API version (the Harness checks)."""

from __future__ import annotations

from hub.log.error_codes import ErrorCode
from hub.log.security.acl import AclOperation, PatternType, ResourceType
from hub.log.server.context import Body
from tests.log.server.test_request_authorization import Harness, allow

TXN = ResourceType.TRANSACTIONAL_ID
TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
Op = AclOperation


def _codes(answer: Body | None) -> dict[str, list[int]]:
    assert answer is not None
    return {
        t["name"]: [p["partition_error_code"] for p in t["results_by_partition"]]
        for t in answer["results_by_topic_v3_and_below"]
    }


def _add(topics: list[str]) -> Body:
    return {
        "v3_and_below_transactional_id": "tx",
        "v3_and_below_producer_id": 1,
        "v3_and_below_producer_epoch": 0,
        "v3_and_below_topics": [{"name": name, "partitions": [0, 1]} for name in topics],
    }


def _added(request: Body) -> Body:
    return {
        "results_by_topic_v3_and_below": [
            {
                "name": t["name"],
                "results_by_partition": [{"partition_index": p, "partition_error_code": 0} for p in t["partitions"]],
            }
            for t in request["v3_and_below_topics"]
        ]
    }


def test_add_partitions_needs_write_on_the_transactional_id_and_each_topic() -> None:
    nothing = Harness()
    assert _codes(nothing.run(24, 3, _add(["ok"]), _added)) == {"ok": [TXN_DENIED, TXN_DENIED]}
    assert nothing.seen == []
    h = Harness(allow(TXN, "tx", Op.WRITE), allow(ResourceType.TOPIC, "ok", Op.WRITE))
    assert _codes(h.run(24, 3, _add(["ok", "no"]), _added)) == {
        "ok": [ErrorCode.OPERATION_NOT_ATTEMPTED] * 2,
        "no": [ErrorCode.TOPIC_AUTHORIZATION_FAILED] * 2,
    }
    assert h.seen == []
    assert _codes(h.run(24, 3, _add(["ok", "__consumer_offsets"]), _added)) == {
        "ok": [0, 0],
        "__consumer_offsets": [0, 0],
    }


def test_the_brokers_batched_add_partitions_needs_cluster_action() -> None:
    body = {
        "transactions": [
            {"transactional_id": "tx", "producer_id": 1, "producer_epoch": 0, "verify_only": True, "topics": []}
        ]
    }
    answer = Harness(allow(TXN, "tx", Op.WRITE)).run(24, 4, body, lambda r: {"results_by_transaction": []})
    assert answer is not None
    assert answer["error_code"] == ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    broker = Harness(allow(ResourceType.CLUSTER, "kafka-cluster", Op.CLUSTER_ACTION))
    assert broker.run(24, 4, body, lambda r: {"results_by_transaction": []}) == {"results_by_transaction": []}


def test_add_offsets_needs_write_on_the_transactional_id_then_read_on_the_group() -> None:
    body = {"transactional_id": "tx", "producer_id": 1, "producer_epoch": 0, "group_id": "g"}
    ok = {"error_code": 0}
    assert Harness().run(25, 3, body, lambda r: ok) == {"throttle_time_ms": 0, "error_code": TXN_DENIED}
    writer = Harness(allow(TXN, "tx", Op.WRITE))
    assert writer.run(25, 3, body, lambda r: ok) == {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED,
    }
    assert (
        Harness(allow(TXN, "tx", Op.WRITE), allow(ResourceType.GROUP, "g", Op.READ)).run(25, 3, body, lambda r: ok)
        == ok
    )


def test_end_txn_needs_write_on_the_transactional_id() -> None:
    body = {"transactional_id": "tx", "producer_id": 1, "producer_epoch": 0, "committed": True}
    ok = {"error_code": 0}
    denied = Harness(allow(TXN, "other", Op.WRITE)).run(26, 5, body, lambda r: ok)
    assert denied is not None
    assert denied["error_code"] == TXN_DENIED
    assert Harness(allow(TXN, "t", Op.WRITE, PatternType.PREFIXED)).run(26, 5, body, lambda r: ok) == ok


def test_write_txn_markers_needs_cluster_action() -> None:
    body = {"markers": [{"producer_id": 5, "producer_epoch": 0, "transaction_result": True, "coordinator_epoch": 0,
                         "topics": [{"name": "t", "partition_indexes": [0, 1]}]}]}  # fmt: skip
    answer = Harness().run(27, 1, body, lambda r: {"markers": []})
    assert answer is not None
    codes = [p["error_code"] for p in answer["markers"][0]["topics"][0]["partitions"]]
    assert codes == [ErrorCode.CLUSTER_AUTHORIZATION_FAILED] * 2


def test_describe_and_list_transactions_show_only_what_the_principal_may_describe() -> None:
    h = Harness(allow(TXN, "mine", Op.DESCRIBE), allow(ResourceType.TOPIC, "seen", Op.DESCRIBE))

    def described(request: Body) -> Body:
        return {"transaction_states": [
            {"error_code": 0, "transactional_id": tid, "transaction_state": "Ongoing", "transaction_timeout_ms": 1,
             "transaction_start_time_ms": 1, "producer_id": 1, "producer_epoch": 0,
             "topics": [{"topic": "seen", "partitions": [0]}, {"topic": "hidden", "partitions": [0]}]}
            for tid in request["transactional_ids"]
        ]}  # fmt: skip

    answer = h.run(65, 0, {"transactional_ids": ["theirs", "mine"]}, described)
    assert answer is not None
    assert h.seen[-1]["transactional_ids"] == ["mine"]
    assert [(s["transactional_id"], s["error_code"]) for s in answer["transaction_states"]] == [
        ("theirs", TXN_DENIED),
        ("mine", 0),
    ]
    assert answer["transaction_states"][1]["topics"] == [{"topic": "seen", "partitions": [0]}]
    listing = {"error_code": 0, "unknown_state_filters": [], "transaction_states": [
        {"transactional_id": tid, "producer_id": 1, "transaction_state": "Ongoing"} for tid in ("mine", "theirs")
    ]}  # fmt: skip
    listed = h.run(66, 1, {}, lambda r: listing)
    assert listed is not None
    assert [s["transactional_id"] for s in listed["transaction_states"]] == ["mine"]
