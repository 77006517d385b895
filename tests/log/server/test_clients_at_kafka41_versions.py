"""Real clients against the listener's Kafka 4.1 ranges: the versions they negotiate (recorded by the server's
routes) and the features of the new versions they use — kafka-python infers broker 4.1 from ApiVersions,
librdkafka fetches by topic id and reads Metadata 13, kafka-python lists groups with filters and fetches the
offsets of many groups in one OffsetFetch."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic as NewKafkaTopic
from kafka.net.compat import KafkaNetClient

from hub.log.node import LogNode, node_config
from hub.log.server import KafkaServer
from hub.log.server.context import Body, RequestContext

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


class RecordingServer:
    """A store node and its listener on an event loop thread; ``versions`` counts (api key, version) served."""

    def __init__(self, data_dir: Path) -> None:
        settings = {"group.min.session.timeout.ms": "100", "group.initial.rebalance.delay.ms": "0"}
        self.node = LogNode(node_config(data_dir, settings))
        self.server = KafkaServer(self.node.broker, HOST, 0)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-kafka-listener", daemon=True)
        self.versions: collections.Counter[tuple[int, int]] = collections.Counter()

    def start(self) -> None:
        self.node.open()
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        assert self.server.handlers is not None
        routes = self.server.handlers.routes
        for key, route in list(routes.items()):
            routes[key] = self._recording(route)

    def _recording(
        self, route: Callable[[RequestContext, Body], Awaitable[Body | None]]
    ) -> Callable[[RequestContext, Body], Awaitable[Body | None]]:
        async def recorded(ctx: RequestContext, body: Body) -> Body | None:
            self.versions[(ctx.header.api_key, ctx.header.api_version)] += 1
            return await route(ctx, body)

        return recorded

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.node.close()

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.server.port}"

    def highest(self, api_key: int) -> int:
        return max(version for key, version in self.versions if key == api_key)


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
        assert admin.list_groups(types_filter=["consumer"]) == []
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
