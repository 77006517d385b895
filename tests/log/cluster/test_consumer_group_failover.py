"""A consumer group of the consumer group protocol (KIP-848) across the death of its coordinator on the replicated
store: the node that leads ``__consumer_offsets``-0 is killed, the next leader knows no consumer group (their state
is kept in memory), its members rejoin, and consumption resumes from the committed offsets."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupType, KafkaError, KafkaException, Producer

from tests.harness.bounded import within
from tests.harness.store_cluster import ClusterFactory

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _produce(bootstrap: str, topic: str, values: range) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 60_000})
    for value in values:
        producer.produce(topic, value=b"%d" % value, partition=value % 2)
    assert producer.flush(90) == 0


def test_consumers_rejoin_when_the_coordinator_node_dies(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3, options={"group.consumer.heartbeat.interval.ms": "300"})
    topic, group = f"t-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, 2, 3)
    _produce(cluster.bootstrap, topic, range(50))
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    got: list[int] = []
    uncommitted: list[int] = []

    def poll(until: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not set(range(until)) <= set(got):
            assert time.monotonic() < deadline, f"consumed {sorted(set(got))[-5:]} of {until}"
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            value = int(message.value() or b"-1")
            got.append(value)
            try:
                consumer.commit(message=message, asynchronous=False)
            except KafkaException as exc:
                fenced = (
                    KafkaError.UNKNOWN_MEMBER_ID,
                    KafkaError.FENCED_MEMBER_EPOCH,
                    KafkaError.STALE_MEMBER_EPOCH,  # raced a heartbeat that moved the member's epoch on
                    KafkaError.NOT_COORDINATOR,
                )
                if exc.args[0].code() not in fenced and not exc.args[0].retriable():
                    raise
                uncommitted.append(value)

    try:
        consumer.subscribe([topic])
        poll(50, 60)
        coordinator = cluster.partition("__consumer_offsets").leader
        cluster.kill(coordinator)
        cluster.wait_until(
            lambda: cluster.partition("__consumer_offsets").leader not in (-1, coordinator), 60, "a new coordinator"
        )
        _produce(cluster.bootstrap, topic, range(50, 100))
        poll(100, 90)
        twice = {value for value in got if got.count(value) > 1}
        assert twice <= set(uncommitted)  # only what could not be committed came again
        # the group lives again on the new coordinator, rebuilt from its member's heartbeats
        admin = cluster.admin()
        described = cluster.wait_until(
            lambda: admin.describe_consumer_groups([group])[group].result(10), 60, "the group described"
        )
        assert described.type is ConsumerGroupType.CONSUMER
        assert described.coordinator.id != coordinator
        [member] = described.members
        assert {tp.partition for tp in member.assignment.topic_partitions} == {0, 1}
    finally:
        within(30, consumer.close, "closing the consumer")
