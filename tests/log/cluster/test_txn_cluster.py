"""Transactions on a three-node replicated store: the coordinator of a transactional id is the leader of its
``__transaction_state`` partition, markers reach partitions led by other nodes (WriteTxnMarkers), and when the
coordinator's node dies the next leader of that partition takes the id over — a read_committed consumer then sees
every committed transaction whole and nothing of the aborted ones."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from hub.log.error_codes import ErrorCode
from hub.log.txn.contracts import TRANSACTION_STATE_TOPIC
from hub.log.txn.state_format import partition_for
from tests.harness.store_cluster import ClusterFactory, StoreCluster
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STATE_PARTITIONS = 3


def _coordinator_of(cluster: StoreCluster, transactional_id: str) -> int:
    partition = partition_for(transactional_id, STATE_PARTITIONS)

    def leader() -> int | None:
        node = cluster.partition(TRANSACTION_STATE_TOPIC, partition).leader
        return node if node >= 0 else None

    return cluster.wait_until(leader, what=f"a leader of {TRANSACTION_STATE_TOPIC}-{partition}")


def _committed_values(bootstrap: str, topic: str, partitions: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: list[bytes] = []
    idle = 0
    while idle < 6:
        message = consumer.poll(0.5)
        if message is None:
            idle += 1
            continue
        if not message.error():
            idle = 0
            values.append(message.value())
    consumer.close()
    return values


def test_the_coordinator_of_an_id_is_the_leader_of_its_partition(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3, options={"transaction.state.log.num.partitions": str(STATE_PARTITIONS)})
    transactional_id = f"tx-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": transactional_id})
    producer.init_transactions(60)  # FindCoordinator creates __transaction_state; InitProducerId at its leader
    coordinator = _coordinator_of(cluster, transactional_id)
    for via in cluster.running():
        node = cluster.nodes[via]
        with RawKafkaConnection(node.host, node.port) as connection:
            found = connection.request(10, 4, {"key_type": 1, "coordinator_keys": [transactional_id]})
            assert found["coordinators"][0]["node_id"] == coordinator
            init = {"transactional_id": transactional_id, "transaction_timeout_ms": 60_000}
            answer = connection.request(22, 4, {**init, "producer_id": -1, "producer_epoch": -1})
            assert answer["error_code"] == (ErrorCode.NONE if via == coordinator else ErrorCode.NOT_COORDINATOR)


def test_transactions_across_nodes_survive_the_death_of_their_coordinator(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3, options={"transaction.state.log.num.partitions": str(STATE_PARTITIONS)})
    topic, transactional_id = f"t-{uuid.uuid4().hex[:8]}", f"tx-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, 3, 3)
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap, "transactional.id": transactional_id, "transaction.timeout.ms": 20_000}
    )
    producer.init_transactions(60)
    expected: list[bytes] = []

    def transaction(round_: int, commit: bool) -> None:
        producer.begin_transaction()
        values = [b"%d-%d" % (round_, p) for p in range(3)]
        for partition, value in enumerate(values):
            producer.produce(topic, value, partition=partition)
        if commit:
            producer.commit_transaction(60)
            expected.extend(values)
        else:
            producer.abort_transaction(60)

    for round_ in range(4):
        transaction(round_, commit=round_ != 2)
    cluster.kill(_coordinator_of(cluster, transactional_id))
    for round_ in range(4, 7):
        transaction(round_, commit=round_ != 5)
    assert sorted(_committed_values(cluster.bootstrap, topic, 3)) == sorted(expected)
