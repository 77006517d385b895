"""Real clients against the listener's Kafka 4.1 ranges: the versions they negotiate (recorded by the server's
routes) and the features of the new versions they use — kafka-python infers broker 4.1 from ApiVersions,
librdkafka fetches by topic id and reads Metadata 13, kafka-python lists groups with filters and fetches the
offsets of many groups in one OffsetFetch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic as NewKafkaTopic
from kafka.net.compat import KafkaNetClient

from tests.log.server.in_process import RecordingServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingServer]:
    server = RecordingServer(tmp_path_factory.mktemp("recorded"))
    server.start()
    yield server
    server.stop()


def _topic() -> str:
    return f"k41-{uuid.uuid4().hex[:8]}"


def test_kafka_python_infers_a_kafka_4_1_broker(served: RecordingServer) -> None:
    client = KafkaNetClient(bootstrap_servers=served.bootstrap)
    try:
        assert client.check_version() == (4, 1)
    finally:
        client.close()


def test_librdkafka_fetches_by_topic_id_and_reads_metadata_13(served: RecordingServer) -> None:
    name = _topic()
    admin = AdminClient({"bootstrap.servers": served.bootstrap})
    for future in admin.create_topics([NewTopic(name, 2, 1)]).values():
        assert future.result(10) is None
    producer = Producer({"bootstrap.servers": served.bootstrap, "enable.idempotence": True})
    for i in range(5):
        producer.produce(name, b"v%d" % i, partition=0)
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": served.bootstrap, "group.id": name, "auto.offset.reset": "earliest"})
    consumer.subscribe([name])
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(values) < 5 and time.monotonic() < deadline:
        values += [m.value() for m in consumer.consume(10, 0.5) if m.error() is None]
    consumer.commit(asynchronous=False)
    consumer.close()
    assert values == [b"v%d" % i for i in range(5)]
    described = admin.describe_topics(TopicCollection([name]))[name].result(10)
    assert len(described.partitions) == 2
    assert str(described.topic_id) != "AAAAAAAAAAAAAAAAAAAAAA"
    assert served.highest(3) == 13  # Metadata
    assert served.highest(1) >= 13  # Fetch by topic id
    assert served.highest(9) >= 8  # OffsetFetch of groups


def test_kafka_python_admin_uses_the_new_group_and_topic_versions(served: RecordingServer) -> None:
    name = _topic()
    producer = KafkaProducer(bootstrap_servers=served.bootstrap)
    for i in range(3):
        producer.send(name, b"x%d" % i, partition=0)
    producer.flush()
    producer.close()
    groups = [f"{name}-a", f"{name}-b"]
    for group in groups:
        consumer = KafkaConsumer(
            name, bootstrap_servers=served.bootstrap, group_id=group, auto_offset_reset="earliest",
            consumer_timeout_ms=3000,
        )  # fmt: skip
        assert [m.value for m in consumer] == [b"x0", b"x1", b"x2"]
        consumer.commit()
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=served.bootstrap)
    try:
        listed = admin.list_groups(states_filter=["empty"], types_filter=["classic"])
        assert {g["group_id"] for g in listed} >= set(groups)
        assert {g["group_type"] for g in listed} == {"classic"}
        assert not {g["group_id"] for g in admin.list_groups(types_filter=["consumer"])} & set(groups)
        offsets: dict[str, Any] = admin.list_group_offsets(dict.fromkeys(groups))
        assert {group: offsets[group][TopicPartition(name, 0)].offset for group in groups} == dict.fromkeys(groups, 3)
        assert admin.describe_groups([groups[0]])[groups[0]]["group_state"] == "Empty"
    finally:
        admin.close()
    assert served.highest(16) == 5  # ListGroups with types_filter
    assert served.highest(9) >= 8


def test_kafka_python_pages_through_describe_topic_partitions(served: RecordingServer) -> None:
    names = sorted(_topic() for _ in range(2))
    admin = KafkaAdminClient(bootstrap_servers=served.bootstrap)
    try:
        admin.create_topics([NewKafkaTopic(name, 3, 1) for name in names])
        seen: list[tuple[str, int]] = []
        cursor = None
        for _ in range(10):
            page = admin.describe_topic_partitions(names, response_partition_limit=2, cursor=cursor)
            seen += [(t["name"], p["partition_index"]) for t in page["topics"] for p in t["partitions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    finally:
        admin.close()
    assert seen == [(name, index) for name in names for index in range(3)]
    assert served.versions[(75, 0)] == 3
