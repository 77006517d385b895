"""Growing and shrinking a cluster: a broker-only node (not a voter; an observer of the metadata quorum, as a
Kafka node with process.roles=broker) joins, partitions are reassigned onto it with AlterPartitionReassignments,
and a node is drained (its partitions reassigned away) and stopped — with every record still readable and every
acknowledged record on the new replicas."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from kafka.admin import KafkaAdminClient
from kafka.structs import TopicPartition as KafkaTopicPartition

from tests.harness.store_cluster import ClusterFactory, StoreCluster
from tests.log.cluster.clients import topic_name

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

RECORDS = 300
PARTITIONS = 2


def _produce(cluster: StoreCluster, topic: str, tag: str) -> list[tuple[int, int, bytes]]:
    """Write RECORDS records, record i to partition i % PARTITIONS, and return each as acknowledged: (partition,
    offset, value). The partition is named because librdkafka's sticky partitioner sends the keyless records of a
    producer that already has the topic's metadata to one partition for ``sticky.partitioning.linger.ms``: on a
    loaded machine a whole round landed in one partition, both rounds now and then in the same one, and the other
    partition, empty on every replica, read as a new replica that lost its records."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "acks": "all"})
    acknowledged: list[tuple[int, int, bytes]] = []
    failed: list[object] = []

    def delivered(error: object, message: Message) -> None:
        if error is not None:
            failed.append(error)
        else:
            acknowledged.append((message.partition(), message.offset(), message.value()))

    for index in range(RECORDS):
        producer.produce(topic, b"%s-%d" % (tag.encode(), index), partition=index % PARTITIONS, on_delivery=delivered)
    assert producer.flush(30) == 0
    assert failed == []
    return acknowledged


def _read_all(cluster: StoreCluster, topic: str, partitions: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": topic, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, index, 0) for index in range(partitions)])
    values: list[bytes] = []
    try:
        for _ in range(200):
            for message in consumer.consume(500, timeout=0.2):
                assert message.error() is None, message.error()
                values.append(message.value())
            if len(values) >= 2 * RECORDS:
                break
    finally:
        consumer.close()
    return sorted(values)


def _reassign(cluster: StoreCluster, topic: str, targets: dict[int, list[int]]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        moves = {KafkaTopicPartition(topic, index): replicas for index, replicas in targets.items()}
        assert set(admin.alter_partition_reassignments(moves).values()) == {None}
        cluster.wait_until(
            lambda: (
                not admin.list_partition_reassignments()
                and all(
                    tuple(cluster.partition(topic, index).replicas) == tuple(replicas)
                    and set(cluster.partition(topic, index).isr) == set(replicas)
                    for index, replicas in targets.items()
                )
            ),
            60,
            f"{topic} reassigned to {targets}",
        )
    finally:
        admin.close()


def _describe(cluster: StoreCluster) -> None:
    """DescribeCluster lists the four brokers; DescribeQuorum answers from the quorum: three voters, one leader."""
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        described = admin.describe_cluster()
        assert sorted(broker["broker_id"] for broker in described["brokers"]) == [1, 2, 3, 4]
        assert described["controller_id"] in (1, 2, 3)
        quorum = admin.describe_metadata_quorum()
        partition = quorum["topics"][0]["partitions"][0]
        assert partition["leader_id"] in (1, 2, 3)
        assert partition["leader_epoch"] >= 1
        assert partition["high_watermark"] > 0
        assert sorted(voter["replica_id"] for voter in partition["current_voters"]) == [1, 2, 3]
    finally:
        admin.close()


def test_a_broker_joins_takes_partitions_and_a_node_is_drained(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic = topic_name()
    admin = cluster.admin()
    admin.create_topics([NewTopic(topic, PARTITIONS, replica_assignment=[[1, 2, 3], [3, 1, 2]])])[topic].result(30)
    acknowledged = _produce(cluster, topic, "before")

    added = cluster.add_broker()
    assert added == 4
    _describe(cluster)
    _reassign(cluster, topic, {0: [4, 2, 3], 1: [3, 4, 2]})  # node 1 drained, node 4 takes its place
    assert {cluster.partition(topic, index).leader for index in range(PARTITIONS)} <= {2, 3, 4}
    acknowledged += _produce(cluster, topic, "after")

    cluster.stop(1)  # drained; the quorum keeps its majority with voters 2 and 3
    expected = sorted(b"%s-%d" % (tag, index) for tag in (b"before", b"after") for index in range(RECORDS))
    assert _read_all(cluster, topic, PARTITIONS) == expected
    for node_id in (2, 3, 4):
        cluster.stop(node_id)
    for index in range(PARTITIONS):  # the new replica holds every acknowledged record, offsets included
        written = sorted((offset, value) for partition, offset, value in acknowledged if partition == index)
        assert len(written) == 2 * RECORDS // PARTITIONS
        on_new = [(record.offset, record.value) for record in cluster.replica_records(4, topic, index)]
        assert on_new == written
        assert on_new == [(record.offset, record.value) for record in cluster.replica_records(3, topic, index)]
