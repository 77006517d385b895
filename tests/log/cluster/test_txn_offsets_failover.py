"""Offsets pending in a transaction across the death of the group coordinator on the replicated store: the
TxnOffsetCommit's records are replicated as the producer's transactional batch, so the next leader of
``__consumer_offsets``-0 loads them as pending again (UNSTABLE_OFFSET_COMMIT with ``require_stable``), not as
committed offsets; and with real transactions, commits and aborts across the nodes come back the same."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from hub.log.error_codes import ErrorCode
from tests.harness.store_cluster import ClusterFactory, StoreCluster
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOFTWARE = {"client_software_name": "raw-test", "client_software_version": "1.0"}
RETRIABLE = {ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE}


def _coordinator(cluster: StoreCluster) -> RawKafkaConnection:
    """A connection to the leader of ``__consumer_offsets``-0, once it has one (a cluster just started or a leader
    just killed has none for a while)."""

    def leader() -> str | None:
        node_id = cluster.partition("__consumer_offsets").leader
        return cluster.nodes[node_id].bootstrap if node_id in cluster.nodes else None

    host, port = cluster.wait_until(leader, 60, "a leader of __consumer_offsets-0").rsplit(":", 1)
    return RawKafkaConnection(host, int(port))


def _request(cluster: StoreCluster, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
    """The coordinator's answer, once it serves (a node that has just taken over may still be loading)."""
    answer: dict[str, Any] = {}

    def answered() -> bool:
        nonlocal answer
        try:
            with _coordinator(cluster) as conn:
                answer = conn.request(api_key, version, body)
        except (ConnectionError, OSError):
            return False
        return not RETRIABLE & set(_error_codes(answer))

    cluster.wait_until(answered, 60, f"an answer to API {api_key} from the group coordinator")
    return answer


def _begin(cluster: StoreCluster, transactional_id: str, group: str) -> tuple[int, int]:
    """A transaction at ``transactional_id``'s coordinator (InitProducerId, then AddOffsetsToTxn for ``group``):
    its producer id and epoch."""

    def at_transaction_coordinator(api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any] | None:
        via = cluster.nodes[cluster.running()[0]]
        with RawKafkaConnection(via.host, via.port) as conn:
            (found,) = conn.request(10, 4, {"key_type": 1, "coordinator_keys": [transactional_id]})["coordinators"]
        if found["error_code"] != ErrorCode.NONE:
            return None
        with RawKafkaConnection(found["host"], found["port"]) as conn:
            answer = conn.request(api_key, version, body)
        return None if answer["error_code"] in RETRIABLE | {ErrorCode.CONCURRENT_TRANSACTIONS} else answer

    def answer(api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
        return cluster.wait_until(
            lambda: at_transaction_coordinator(api_key, version, body), 60, f"API {api_key} for {transactional_id}"
        )

    init = {"transactional_id": transactional_id, "transaction_timeout_ms": 300_000}
    started = answer(22, 4, {**init, "producer_id": -1, "producer_epoch": -1})
    assert started["error_code"] == ErrorCode.NONE
    producer = {"producer_id": started["producer_id"], "producer_epoch": started["producer_epoch"]}
    added = answer(25, 3, {"transactional_id": transactional_id, **producer, "group_id": group})
    assert added["error_code"] == ErrorCode.NONE
    return started["producer_id"], started["producer_epoch"]


def _error_codes(answer: Any) -> list[int]:
    if isinstance(answer, dict):
        codes = [answer["error_code"]] if "error_code" in answer else []
        return codes + [code for value in answer.values() for code in _error_codes(value)]
    if isinstance(answer, list):
        return [code for item in answer for code in _error_codes(item)]
    return []


def _fetch(cluster: StoreCluster, group: str, topic: str, *, stable: bool) -> dict[int, tuple[int, int]]:
    body = {
        "groups": [
            {
                "group_id": group,
                "member_id": None,
                "member_epoch": -1,
                "topics": [{"name": topic, "partition_indexes": [0, 1]}],
            }
        ],
        "require_stable": stable,
    }
    (answered,) = _request(cluster, 9, 8, body)["groups"]
    return {
        p["partition_index"]: (p["error_code"], p["committed_offset"])
        for t in answered["topics"]
        for p in t["partitions"]
    }


def test_a_pending_transactional_offset_stays_pending_on_the_next_coordinator(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic, group = f"t-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, 2, 3)
    committed = _request(
        cluster,
        8,
        9,
        {
            "group_id": group,
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [{"name": topic, "partitions": [{"partition_index": 1, "committed_offset": 4}]}],
        },
    )
    assert _error_codes(committed) == [ErrorCode.NONE]
    transactional_id = f"txn-{group}"
    producer_id, producer_epoch = _begin(cluster, transactional_id, group)
    sent = _request(
        cluster,
        28,
        5,
        {
            "transactional_id": transactional_id,
            "group_id": group,
            "producer_id": producer_id,
            "producer_epoch": producer_epoch,
            "generation_id": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": 0, "committed_offset": 7, "committed_leader_epoch": -1},
                        {"partition_index": 1, "committed_offset": 8, "committed_leader_epoch": -1},
                    ],
                }
            ],
        },
    )
    assert _error_codes(sent) == [ErrorCode.NONE, ErrorCode.NONE]
    unstable = {0: (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1), 1: (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1)}
    assert _fetch(cluster, group, topic, stable=True) == unstable

    coordinator = cluster.partition("__consumer_offsets").leader
    cluster.kill(coordinator)
    cluster.wait_until(
        lambda: cluster.partition("__consumer_offsets").leader not in (-1, coordinator), 60, "a new coordinator"
    )
    assert _fetch(cluster, group, topic, stable=True) == unstable
    assert _fetch(cluster, group, topic, stable=False) == {0: (ErrorCode.NONE, -1), 1: (ErrorCode.NONE, 4)}


def test_offsets_sent_to_transactions_survive_the_coordinators_death(store_cluster: ClusterFactory) -> None:
    """confluent-kafka's transactional producer across the nodes: markers reach the offsets partition's leader
    (WriteTxnMarkers from the transaction coordinator's node when it is another), and the next coordinator loads
    committed and aborted transactions alike."""
    cluster = store_cluster(3)
    topic, group = f"t-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, 2, 3)
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        cluster.wait_until(lambda: consumer.poll(0.2) is None and consumer.assignment(), 60, "an assignment")
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": f"t-{group}"})
        producer.init_transactions(30)
        for offset, commit in ((10, True), (20, False), (30, True), (40, False)):
            producer.begin_transaction()
            producer.produce(topic, b"x", partition=0)
            sent = [TopicPartition(topic, 0, offset)]
            producer.send_offsets_to_transaction(sent, consumer.consumer_group_metadata(), 30)
            (producer.commit_transaction if commit else producer.abort_transaction)(30)
            expected = 10 if offset < 30 else 30
            settled = cluster.wait_until(
                lambda: _settled(_fetch(cluster, group, topic, stable=True)), 30, "the transaction's marker"
            )
            assert settled[0] == (ErrorCode.NONE, expected)
        coordinator = cluster.partition("__consumer_offsets").leader
        cluster.kill(coordinator)
        cluster.wait_until(
            lambda: cluster.partition("__consumer_offsets").leader not in (-1, coordinator), 60, "a new coordinator"
        )
        assert _fetch(cluster, group, topic, stable=True) == {0: (ErrorCode.NONE, 30), 1: (ErrorCode.NONE, -1)}
    finally:
        consumer.close()


def _settled(answer: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]] | None:
    return None if any(error == ErrorCode.UNSTABLE_OFFSET_COMMIT for error, _ in answer.values()) else answer
