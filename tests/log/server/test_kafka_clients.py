"""Hub's Kafka listener with real clients nobody here wrote: confluent-kafka (librdkafka), kafka-python,
aiokafka and kcat, against `hub log serve` running as a subprocess."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.harness.hub import HubServer

pytestmark = pytest.mark.integration


def _topic() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def _consume(consumer: Consumer, count: int, timeout_s: float = 30) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while len(values) < count and time.monotonic() < deadline:
        for message in consumer.consume(500, 0.5):
            assert message.error() is None, message.error()
            values.append(message.value())
    return values


def test_confluent_admin_creates_lists_and_deletes_topics(hub_server: HubServer) -> None:
    admin = AdminClient({"bootstrap.servers": hub_server.bootstrap})
    name = _topic()
    for future in admin.create_topics([NewTopic(name, 3, 1, config={"retention.ms": "60000"})]).values():
        assert future.result(10) is None
    with pytest.raises(Exception, match=r"TOPIC_ALREADY_EXISTS|already exists"):
        next(iter(admin.create_topics([NewTopic(name, 3, 1)]).values())).result(10)
    with pytest.raises(Exception, match=r"INVALID_REPLICATION_FACTOR|replication factor"):
        next(iter(admin.create_topics([NewTopic(_topic(), 1, 3)]).values())).result(10)
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.topics[name].partitions) == 3
    for future in admin.delete_topics([name]).values():
        assert future.result(10) is None
    assert name not in admin.list_topics(timeout=10).topics


def test_confluent_idempotent_producer_and_consumer_group(hub_server: HubServer) -> None:
    topic = _topic()
    admin = AdminClient({"bootstrap.servers": hub_server.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": hub_server.bootstrap, "enable.idempotence": True, "acks": "all"})
    failures: list[KafkaError] = []
    for i in range(400):
        producer.produce(
            topic,
            key=b"k%d" % (i % 7),
            value=b"%d" % i,
            on_delivery=lambda err, _msg: failures.append(err) if err else None,
        )
    assert producer.flush(30) == 0
    assert failures == []
    settings = {
        "bootstrap.servers": hub_server.bootstrap,
        "group.id": f"g-{topic}",
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "enable.auto.commit": False,
    }
    first = Consumer(settings)
    first.subscribe([topic])
    got = _consume(first, 400)
    assert sorted(int(v) for v in got) == list(range(400))
    second = Consumer(settings)
    second.subscribe([topic])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (first.assignment() and second.assignment()):
        first.poll(0.2)
        second.poll(0.2)
    assert len(first.assignment()) == len(second.assignment()) == 1
    second.close()  # leaving: the first member takes both partitions back
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(first.assignment()) != 2:
        first.poll(0.2)
    assert len(first.assignment()) == 2
    first.commit(offsets=[TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 20)], asynchronous=False)
    committed = first.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
    assert [tp.offset for tp in committed] == [10, 20]
    first.close()


def test_confluent_offsets_for_times_and_seek(hub_server: HubServer) -> None:
    topic = _topic()
    producer = Producer({"bootstrap.servers": hub_server.bootstrap})
    base = 1_700_000_000_000
    for i in range(10):
        producer.produce(topic, value=b"%d" % i, partition=0, timestamp=base + i * 1000)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": hub_server.bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    found = consumer.offsets_for_times([TopicPartition(topic, 0, base + 4500)], timeout=10)
    assert found[0].offset == 5
    consumer.assign([TopicPartition(topic, 0, 7)])
    assert _consume(consumer, 3) == [b"7", b"8", b"9"]
    consumer.seek(TopicPartition(topic, 0, 2))
    assert _consume(consumer, 1)[0] == b"2"
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert (low, high) == (0, 10)
    consumer.close()


def test_kafka_python_produces_consumes_in_a_group_and_commits(hub_server: HubServer) -> None:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KpTopicPartition

    topic = _topic()
    producer = KafkaProducer(bootstrap_servers=hub_server.bootstrap, acks="all")
    for i in range(50):
        producer.send(topic, key=b"k", value=b"%d" % i)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=hub_server.bootstrap,
        group_id=f"kp-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15000,
    )
    values = []
    for message in consumer:
        values.append(message.value)
        if len(values) == 50:
            break
    consumer.commit()
    assert values == [b"%d" % i for i in range(50)]
    assert consumer.committed(KpTopicPartition(topic, 0)) == 50
    consumer.close()


def test_aiokafka_produces_consumes_in_a_group_and_commits(hub_server: HubServer) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    topic = _topic()

    async def scenario() -> tuple[list[bytes], int | None]:
        producer = AIOKafkaProducer(bootstrap_servers=hub_server.bootstrap)
        await producer.start()
        try:
            for i in range(30):
                await producer.send_and_wait(topic, b"%d" % i, partition=0)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=hub_server.bootstrap,
            group_id=f"aio-{topic}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        values: list[bytes] = []
        try:
            while len(values) < 30:
                batches = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
                values += [m.value for messages in batches.values() for m in messages]
            await consumer.commit()
            committed = await consumer.committed(AioTopicPartition(topic, 0))
        finally:
            await consumer.stop()
        return values, committed

    values, committed = asyncio.run(scenario())
    assert values == [b"%d" % i for i in range(30)]
    assert committed == 30


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is installed by scripts/test")
def test_kcat_metadata_produce_consume_and_group(hub_server: HubServer) -> None:
    topic = _topic()
    bootstrap = ["-b", hub_server.bootstrap]

    def kcat(*args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            ["kcat", *bootstrap, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    kcat("-P", "-t", topic, "-p", "0", stdin="one\ntwo\nthree\n")
    assert f'topic "{topic}" with 1 partitions' in kcat("-L")
    assert kcat("-C", "-t", topic, "-o", "beginning", "-e").split() == ["one", "two", "three"]
    assert kcat("-C", "-t", topic, "-o", "1", "-e", "-p", "0").split() == ["two", "three"]
    grouped = subprocess.run(
        ["kcat", *bootstrap, "-G", f"kc-{topic}", topic, "-o", "beginning", "-e"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert grouped.stdout.split() == ["one", "two", "three"], grouped.stderr


def test_malformed_request_closes_only_that_connection(hub_server: HubServer) -> None:
    with socket.create_connection(("127.0.0.1", hub_server.port), timeout=5) as bad:
        bad.sendall((12).to_bytes(4, "big") + b"\x00\x03\x00\x08garbage!")  # Metadata v8 with a broken body
        assert bad.recv(100) == b""  # closed by the server
    with socket.create_connection(("127.0.0.1", hub_server.port), timeout=5) as huge:
        huge.sendall((2**31 - 1).to_bytes(4, "big"))
        assert huge.recv(100) == b""
    admin = AdminClient({"bootstrap.servers": hub_server.bootstrap})
    assert admin.list_topics(timeout=10).brokers  # everyone else is served as before


def test_kill_9_during_produce_loses_no_acknowledged_message(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.harness.process import free_port

    base = tmp_path_factory.mktemp("kill")
    server = HubServer(base / "data", free_port(), base / "server.log")
    server.start()
    topic = _topic()
    acknowledged: list[bytes] = []
    producer = Producer(
        {
            "bootstrap.servers": server.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "message.timeout.ms": 5000,
            "reconnect.backoff.ms": 50,
        }
    )
    deadline = time.monotonic() + 1.5
    i = 0
    while time.monotonic() < deadline:
        producer.produce(
            topic,
            value=b"%d" % i,
            partition=0,
            on_delivery=lambda err, msg: acknowledged.append(msg.value()) if err is None else None,
        )
        producer.poll(0)
        i += 1
        if i % 500 == 0:
            time.sleep(0.01)
    server.kill()
    producer.flush(10)
    server.start()
    consumer = Consumer(
        {
            "bootstrap.servers": server.bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    stored = set(_consume(consumer, high - low))
    consumer.close()
    assert acknowledged, "nothing was acknowledged before the kill"
    missing = [value for value in acknowledged if value not in stored]
    assert not missing, f"{len(missing)} acknowledged message(s) lost"
    assert server.stop() == 0
