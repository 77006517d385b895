"""The Kafka listener asks ``coordinator_node()`` who coordinates groups, and the coordinator may resign and come
back: FindCoordinator names the coordinator (COORDINATOR_NOT_AVAILABLE while there is none), group requests to
another node get NOT_COORDINATOR, and real kafka-python and confluent-kafka consumers ride out a coordinator
that moves away and back, keeping their committed offsets."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer as ConfluentConsumer
from confluent_kafka import TopicPartition as ConfluentTopicPartition

from hub.log.client.kafka import KafkaGroupMember
from hub.log.client.types import GroupProtocol
from hub.log.error_codes import ErrorCode
from tests.harness.process import free_port
from tests.log.server.in_process import HOST, QUICK_GROUPS, InProcessNode
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration


class ServedNode(InProcessNode):
    """A store node and its Kafka listener on an event loop thread; ``where`` is what ``coordinator_node()``
    answers, moved by ``move_away`` / ``come_back`` as a cluster's leadership changes would."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, QUICK_GROUPS)
        self.where: tuple[int, str, int] | None = None
        self.add_listener(coordinator_node=lambda: self.where)
        # A second listener over the same store, as node 1: the coordinator "moves" there without a reload.
        self.other = self.add_listener(node_id=1, coordinator_node=lambda: self.where)
        self.epoch = 0

    def start(self) -> None:
        super().start()
        self.where = (0, HOST, self.server.port)

    def move_away(self, to: tuple[int, str, int] | None = None) -> None:
        self.where = to
        self.node.coordinator.resign(self.epoch)

    def come_back(self) -> None:
        self.epoch += 1
        self.node.coordinator.become_coordinator(self.epoch)
        self.where = (0, HOST, self.server.port)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedNode]:
    node = ServedNode(tmp_path / "data")
    node.start()
    yield node
    node.stop()


def _topic() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def _produce(bootstrap: str, topic: str, values: range) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in values:
        producer.send(topic, value=b"%d" % i)
    producer.flush()
    producer.close()


def test_find_coordinator_and_group_requests_follow_coordinator_node(served: ServedNode) -> None:
    with RawKafkaConnection(HOST, served.server.port) as connection:
        found = connection.request(10, 1, {"key": "g", "key_type": 0})
        assert (found["error_code"], found["node_id"], found["port"]) == (0, 0, served.server.port)

        served.move_away()
        found = connection.request(10, 1, {"key": "g", "key_type": 0})
        assert (found["error_code"], found["node_id"]) == (ErrorCode.COORDINATOR_NOT_AVAILABLE, -1)
        beat = connection.request(12, 1, {"group_id": "g", "generation_id": 1, "member_id": "m"})
        assert beat["error_code"] == ErrorCode.NOT_COORDINATOR
        fetched = connection.request(9, 1, {"group_id": "g", "topics": [{"name": "t", "partition_indexes": [0]}]})
        assert fetched["topics"][0]["partitions"][0]["error_code"] == ErrorCode.NOT_COORDINATOR
        listed = connection.request(16, 1, {})
        assert (listed["error_code"], listed["groups"]) == (0, [])
        described = connection.request(15, 0, {"groups": ["g"]})
        assert described["groups"][0]["error_code"] == ErrorCode.NOT_COORDINATOR
        left = connection.request(13, 3, {"group_id": "g", "members": [{"member_id": "m", "group_instance_id": None}]})
        assert (left["error_code"], left["members"]) == (ErrorCode.NOT_COORDINATOR, [])

        served.where = (7, "elsewhere.example", 9092)  # another node leads __consumer_offsets now
        found = connection.request(10, 1, {"key": "g", "key_type": 0})
        assert (found["error_code"], found["node_id"], found["host"], found["port"]) == (
            0,
            7,
            "elsewhere.example",
            9092,
        )
        joined = connection.request(
            11,
            1,
            {
                "group_id": "g",
                "session_timeout_ms": 10_000,
                "rebalance_timeout_ms": 10_000,
                "member_id": "",
                "protocol_type": "consumer",
                "protocols": [{"name": "range", "metadata": b""}],
            },
        )
        assert joined["error_code"] == ErrorCode.NOT_COORDINATOR

        served.come_back()
        beat = connection.request(12, 1, {"group_id": "g", "generation_id": 1, "member_id": "m"})
        assert beat["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID  # served again: this member is simply unknown


def test_hubs_group_member_follows_the_coordinator_to_another_node(served: ServedNode) -> None:
    member = KafkaGroupMember(
        served.bootstrap, f"w-{uuid.uuid4().hex[:8]}", "connect", session_timeout_ms=6000, heartbeat_interval_ms=100
    )
    try:
        joined = member.join([GroupProtocol("default", b"")], timeout_s=10)
        member.sync({joined.member_id: b"work"}, timeout_s=10)
        served.where = (1, HOST, served.other.port)  # node 0 answers NOT_COORDINATOR from now on
        moved_at = time.monotonic()
        deadline = moved_at + 10
        while member.confirmed_at <= moved_at + 0.3 and time.monotonic() < deadline:
            assert not member.poll(0.1)  # no rejoin needed: the group is the same, only its coordinator moved
        assert member.confirmed_at > moved_at + 0.3  # heartbeats answered again, so by node 1
    finally:
        member.close()


def test_hubs_group_member_finds_the_coordinator_past_a_dead_bootstrap_server(served: ServedNode) -> None:
    dead = f"{HOST}:{free_port()}"  # nothing listens there, as on a store node that was killed
    member = KafkaGroupMember(f"{dead},{served.bootstrap}", f"w-{uuid.uuid4().hex[:8]}", "connect")
    try:
        joined = member.join([GroupProtocol("default", b"")], timeout_s=10)
        assert member.sync({joined.member_id: b"work"}, timeout_s=10) == b"work"
    finally:
        member.close()


@pytest.mark.slow
def test_kafka_python_consumer_rides_out_a_coordinator_that_moves_away_and_back(served: ServedNode) -> None:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KpTopicPartition

    topic, group = _topic(), f"kp-{uuid.uuid4().hex[:8]}"
    _produce(served.bootstrap, topic, range(10))
    settings = {
        "bootstrap_servers": served.bootstrap,
        "group_id": group,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 200,
    }
    consumer = KafkaConsumer(topic, **settings)
    try:
        assert _poll_kafka_python(consumer, 10) == list(range(10))
        consumer.commit()
        served.move_away()
        _poll_kafka_python(consumer, 0, seconds=1.5)  # heartbeats meet NOT_COORDINATOR, lookups find none
        served.come_back()
        _produce(served.bootstrap, topic, range(10, 20))
        assert _poll_kafka_python(consumer, 10) == list(range(10, 20))
        consumer.commit()
        assert consumer.committed(KpTopicPartition(topic, 0)) == 20
    finally:
        consumer.close()
    _produce(served.bootstrap, topic, range(20, 21))
    # Assigned, not subscribed: a new member's first assignment can miss the topic (kafka-python's leader assigns
    # before its metadata has it), which is not what this checks; the group's committed offset is read either way.
    successor = KafkaConsumer(**settings)
    successor.assign([KpTopicPartition(topic, 0)])
    try:
        assert _poll_kafka_python(successor, 1) == [20]  # starts from the offset committed across the move
    finally:
        successor.close()


def _poll_kafka_python(consumer: object, count: int, *, seconds: float = 30) -> list[int]:
    values: list[int] = []
    deadline = time.monotonic() + seconds
    while (count == 0 or len(values) < count) and time.monotonic() < deadline:
        for messages in consumer.poll(timeout_ms=200).values():  # type: ignore[attr-defined]
            values.extend(int(message.value) for message in messages)
    return values


@pytest.mark.slow
def test_confluent_consumer_rides_out_a_coordinator_that_moves_away_and_back(served: ServedNode) -> None:
    topic, group = _topic(), f"ck-{uuid.uuid4().hex[:8]}"
    _produce(served.bootstrap, topic, range(10))
    settings = {
        "bootstrap.servers": served.bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 200,
    }
    consumer = ConfluentConsumer(settings)
    consumer.subscribe([topic])
    try:
        assert _poll_confluent(consumer, 10) == list(range(10))
        consumer.commit(asynchronous=False)
        served.move_away()
        _poll_confluent(consumer, 0, seconds=1.5)
        served.come_back()
        _produce(served.bootstrap, topic, range(10, 20))
        assert _poll_confluent(consumer, 10) == list(range(10, 20))
        consumer.commit(asynchronous=False)
        [committed] = consumer.committed([ConfluentTopicPartition(topic, 0)], timeout=10)
        assert committed.offset == 20
    finally:
        consumer.close()


def _poll_confluent(consumer: ConfluentConsumer, count: int, *, seconds: float = 30) -> list[int]:
    values: list[int] = []
    deadline = time.monotonic() + seconds
    while (count == 0 or len(values) < count) and time.monotonic() < deadline:
        for message in consumer.consume(100, 0.2):
            assert message.error() is None, message.error()
            values.append(int(message.value() or b"-1"))
    return values
