"""Operations on the replicated store (issue 21) with real `hub log serve` processes and real clients: rolling
restarts under load from confluent-kafka, kafka-python and aiokafka producers and consumer groups, a killed
follower that rejoins, preferred leaders restored by the controller, and ElectLeaders and a partition
reassignment requested over the wire by admin clients."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import ElectionType, Producer
from confluent_kafka import TopicPartition as ConfluentPartition
from confluent_kafka.admin import NewTopic
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaPythonPartition

from tests.harness.store_cluster import ClusterFactory, PartitionView, StoreCluster
from tests.log.cluster.clients import SequenceProducer, read_partition, topic_name
from tests.log.cluster.load_clients import (
    AioKafkaConsumer,
    AioKafkaProducer,
    ConfluentConsumer,
    KafkaPythonConsumer,
    KafkaPythonProducer,
    LoadConsumer,
    LoadProducer,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

IN_SYNC_2 = {"min.insync.replicas": "2"}


def _whole(cluster: StoreCluster, topic: str) -> PartitionView:
    """Wait until the partition has a leader and all three nodes in its ISR; return its view."""
    return cluster.wait_until(
        lambda: (view := cluster.partition(topic)).leader in view.replicas and set(view.isr) == {1, 2, 3} and view,
        60,
        f"{topic}: a leader and all three nodes in the ISR",
    )


def _rejoined(cluster: StoreCluster, node_id: int) -> None:
    cluster.wait_until(lambda: cluster.in_every_isr(node_id), 60, f"node {node_id} back in every ISR")


def test_rolling_restarts_under_load_lose_no_acknowledged_record(store_cluster: ClusterFactory) -> None:
    """Every node is restarted in turn (SIGTERM, clean exit, start, back in every ISR) while a producer and a
    consumer group of each client family run. What Kafka guarantees, and so what is asserted: an acknowledged
    acks=all record stays at the offset it was acknowledged with; the idempotent producer's records are in the
    log exactly once and in order; a non-idempotent producer may have written a retried record twice (at least
    once), so of its records only presence is asserted."""
    cluster = store_cluster(3)
    topics = {family: topic_name() for family in ("confluent-kafka", "kafka-python", "aiokafka")}
    for topic in topics.values():
        cluster.create_topic(topic, 1, 3, IN_SYNC_2)
    idempotent = SequenceProducer(cluster.bootstrap, topics["confluent-kafka"], "confluent-kafka")
    producers: list[LoadProducer | SequenceProducer] = [
        idempotent,
        KafkaPythonProducer(cluster.bootstrap, topics["kafka-python"]),
        AioKafkaProducer(cluster.bootstrap, topics["aiokafka"]),
    ]
    group = f"g-{uuid.uuid4().hex[:6]}"
    consumers: list[LoadConsumer] = [
        kind(cluster.bootstrap, topics[kind.family], f"{group}-{kind.family}")
        for kind in (ConfluentConsumer, KafkaPythonConsumer, AioKafkaConsumer)
    ]
    clients = [*producers, *consumers]
    for client in clients:
        client.start()
    try:
        for client in clients:
            client.wait_progress(50)
        for node_id in cluster.nodes:
            cluster.stop(node_id)  # SIGTERM and exit code 0
            cluster.nodes[node_id].start()
            _rejoined(cluster, node_id)
            for producer in producers:
                producer.wait_progress(20)
        # After the last restart every client still makes progress and every group's committed offset moves on.
        committed = {consumer: cluster.committed(consumer.group, consumer.topic) for consumer in consumers}
        for client in clients:
            client.wait_progress(100)
        for consumer, before in committed.items():
            cluster.wait_until(
                lambda c=consumer, b=before: cluster.committed(c.group, c.topic) > b,
                30,
                f"{consumer.family} group commits beyond {before}",
            )
    finally:
        for client in clients:
            client.stop()

    assert idempotent.errors == [], idempotent.errors[:5]
    stored = read_partition(cluster.bootstrap, idempotent.topic)
    assert [value for _, value in stored] == idempotent.expected(), "idempotent: not exactly once, in order"
    assert stored == sorted(idempotent.acked)
    for producer in producers[1:]:
        assert isinstance(producer, LoadProducer)
        stored_set = set(read_partition(cluster.bootstrap, producer.topic))
        lost = [acked for acked in producer.acked if acked not in stored_set]
        assert lost == [], f"{producer.family}: {len(lost)} acknowledged records missing, e.g. {lost[:3]}"


def test_killed_follower_catches_up_and_holds_the_leaders_records(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic = topic_name()
    cluster.create_topic(topic, 1, 3, IN_SYNC_2)
    producer = SequenceProducer(cluster.bootstrap, topic, "rejoin").start()
    view = _whole(cluster, topic)
    producer.wait_acked(200)
    follower = next(node_id for node_id in view.replicas if node_id != view.leader)
    cluster.kill(follower)
    cluster.wait_until(lambda: follower not in cluster.partition(topic).isr, 30, f"node {follower} leaves the ISR")
    producer.wait_acked(500)  # written while the follower is away: it must fetch them all on its return
    cluster.restart(follower)
    _rejoined(cluster, follower)
    producer.wait_acked(100)
    producer.stop()
    assert producer.errors == [], producer.errors[:5]
    leader = cluster.partition(topic).leader
    for node_id in cluster.running():
        cluster.stop(node_id)
    leaders = cluster.replica_records(leader, topic)
    assert cluster.replica_records(follower, topic) == leaders
    assert [record.value for record in leaders] == producer.expected()


def test_preferred_leader_leads_again_after_its_restart(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3, options={"leader.imbalance.check.interval.seconds": "1"})
    topic = topic_name()
    cluster.create_topic(topic, 1, 3)
    preferred = _whole(cluster, topic).replicas[0]
    cluster.wait_until(lambda: cluster.partition(topic).leader == preferred, 30, f"node {preferred} leads")
    cluster.stop(preferred)
    moved = cluster.wait_until(
        lambda: (leader := cluster.partition(topic).leader) not in (-1, preferred) and leader,
        30,
        f"leadership moves off node {preferred}",
    )
    cluster.nodes[preferred].start()
    _rejoined(cluster, preferred)
    cluster.wait_until(
        lambda: cluster.partition(topic).leader == preferred,
        30,
        f"preferred leader {preferred} leads again (node {moved} led meanwhile)",
    )


def test_elect_leaders_and_reassignment_over_the_wire(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic = topic_name()
    admin = cluster.admin()
    admin.create_topics([NewTopic(topic, 1, replica_assignment=[[1, 2]])])[topic].result(30)
    cluster.wait_until(lambda: cluster.partition(topic) == PartitionView(1, (1, 2), (1, 2)), 30, "[1, 2] led by 1")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    for index in range(300):
        producer.produce(topic, b"r-%d" % index, partition=0)
    assert producer.flush(30) == 0
    expected = [b"r-%d" % index for index in range(300)]

    # Leadership leaves node 1 while it restarts; the preferred election (confluent-kafka) gives it back.
    cluster.restart(1)
    _rejoined(cluster, 1)
    cluster.wait_until(lambda: cluster.partition(topic).leader == 2, 30, "node 2 leads meanwhile")
    partition = ConfluentPartition(topic, 0)
    outcome = admin.elect_leaders(ElectionType.PREFERRED, [partition]).result(30)
    assert [error for error in outcome.values() if error is not None] == []
    cluster.wait_until(lambda: cluster.partition(topic).leader == 1, 10, "node 1 leads again")

    # kafka-python moves the replicas from [1, 2] to [2, 3].
    kafka_admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=30_000)
    try:
        moving = KafkaPythonPartition(topic, 0)
        assert kafka_admin.alter_partition_reassignments({moving: [2, 3]}) == {moving: None}
        cluster.wait_until(
            lambda: (
                kafka_admin.list_partition_reassignments([moving]) == {}
                and (view := cluster.partition(topic)).replicas == (2, 3)
                and set(view.isr) == {2, 3}
                and view.leader in (2, 3)
            ),
            60,
            "reassignment to [2, 3] complete",
        )
    finally:
        kafka_admin.close()
    assert [value for _, value in read_partition(cluster.bootstrap, topic)] == expected
