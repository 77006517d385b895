"""Offsets sent to a transaction by real clients (``send_offsets_to_transaction``): confluent-kafka's,
kafka-python's and aiokafka's transactional producers commit a consumer group's offsets in a transaction, which the
group sees only once the transaction commits, never when it aborts; meanwhile OffsetFetch with ``require_stable``
answers UNSTABLE_OFFSET_COMMIT (KIP-447). These need the whole transaction path (InitProducerId with a transactional id,
AddOffsetsToTxn, EndTxn and markers): skipped while the server does not advertise it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition as AioPartition
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaProducer
from kafka import TopicPartition as KafkaPythonPartition
from kafka.structs import OffsetAndMetadata

from hub.log.error_codes import ErrorCode
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

#: AddOffsetsToTxn, EndTxn and TxnOffsetCommit: what ``send_offsets_to_transaction`` and a commit use.
TRANSACTION_APIS = (25, 26, 28)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base: Path = tmp_path_factory.mktemp("txn-offsets-clients")
    hub = HubServer(base / "data", free_port(), base / "server.log")
    hub.start()
    yield hub
    if hub.running:
        hub.stop()


def _software() -> dict[str, str]:
    return {"client_software_name": "raw-test", "client_software_version": "1.0"}


@pytest.fixture(scope="module")
def topic(server: HubServer) -> str:
    name = f"txn-in-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(10)
    producer = Producer({"bootstrap.servers": server.bootstrap})
    for index in range(10):
        producer.produce(name, f"v{index}".encode(), partition=index % 2)
    assert producer.flush(10) == 0
    return name


def _stable_fetch(server: HubServer, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """OffsetFetch v8 with require_stable: (error, offset) per partition."""
    host, port = server.bootstrap.rsplit(":", 1)
    body = {
        "groups": [
            {
                "group_id": group,
                "member_id": None,
                "member_epoch": -1,
                "topics": [{"name": topic, "partition_indexes": [0, 1]}],
            }
        ],
        "require_stable": True,
    }
    with RawKafkaConnection(host, int(port)) as raw:
        (answered,) = raw.request(9, 8, body)["groups"]
    return {
        p["partition_index"]: (p["error_code"], p["committed_offset"])
        for t in answered["topics"]
        for p in t["partitions"]
    }


def _settled_fetch(server: HubServer, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """``_stable_fetch`` once the transaction's markers have landed (EndTxn is answered before they are written, so
    a partition may be UNSTABLE_OFFSET_COMMIT for a moment after a commit or an abort, as with Kafka)."""
    deadline = time.monotonic() + 30
    while True:
        answered = _stable_fetch(server, group, topic)
        if all(error != ErrorCode.UNSTABLE_OFFSET_COMMIT for error, _ in answered.values()):
            return answered
        assert time.monotonic() < deadline, f"offsets still pending: {answered}"
        time.sleep(0.05)


def _confluent_producer(server: HubServer, transactional_id: str) -> Producer:
    producer = Producer({"bootstrap.servers": server.bootstrap, "transactional.id": transactional_id})
    producer.init_transactions(15)
    return producer


def _group_metadata(server: HubServer, group: str, topic: str) -> Consumer:
    """A consumer of ``group`` reading ``topic`` (for its group metadata), joined and assigned."""
    consumer = Consumer(
        {
            "bootstrap.servers": server.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    for _ in range(40):
        consumer.poll(0.5)
        if consumer.assignment():
            break
    assert consumer.assignment()
    return consumer


def test_confluent_offsets_sent_to_a_transaction_count_once_it_commits(server: HubServer, topic: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = _group_metadata(server, group, topic)
    producer = _confluent_producer(server, f"t-{group}")
    try:
        producer.begin_transaction()
        producer.produce(topic, b"out", partition=0)
        offsets = [TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 4)]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 15)
        assert _stable_fetch(server, group, topic) == {
            0: (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1),
            1: (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1),
        }
        producer.commit_transaction(15)
        assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, 3), 1: (ErrorCode.NONE, 4)}
        committed = consumer.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], 10)
        assert [(tp.partition, tp.offset) for tp in committed] == [(0, 3), (1, 4)]

        producer.begin_transaction()
        producer.send_offsets_to_transaction([TopicPartition(topic, 0, 5)], consumer.consumer_group_metadata(), 15)
        producer.abort_transaction(15)
        assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, 3), 1: (ErrorCode.NONE, 4)}
    finally:
        consumer.close()


def test_a_fenced_confluent_producer_cannot_commit_offsets(server: HubServer, topic: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = _group_metadata(server, group, topic)
    zombie = _confluent_producer(server, f"t-{group}")
    try:
        zombie.begin_transaction()
        _confluent_producer(server, f"t-{group}")  # a new instance fences the zombie

        def send_and_commit() -> None:
            zombie.send_offsets_to_transaction([TopicPartition(topic, 0, 7)], consumer.consumer_group_metadata(), 15)
            zombie.commit_transaction(15)

        with pytest.raises(KafkaException):
            send_and_commit()
        assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, -1), 1: (ErrorCode.NONE, -1)}
    finally:
        consumer.close()


def test_kafka_python_offsets_sent_to_a_transaction_count_once_it_commits(server: HubServer, topic: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=server.bootstrap, transactional_id=f"t-{group}")
    admin = KafkaAdminClient(bootstrap_servers=server.bootstrap, request_timeout_ms=10_000)
    tp0, tp1 = KafkaPythonPartition(topic, 0), KafkaPythonPartition(topic, 1)
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(topic, b"out", partition=1)
        producer.send_offsets_to_transaction(
            {tp0: OffsetAndMetadata(2, "", -1), tp1: OffsetAndMetadata(6, "", -1)}, group
        )
        assert _stable_fetch(server, group, topic)[0] == (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1)
        producer.commit_transaction()
        assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, 2), 1: (ErrorCode.NONE, 6)}
        committed = admin.list_group_offsets({group: None})[group]
        assert {tp: o.offset for tp, o in committed.items()} == {tp0: 2, tp1: 6}

        producer.begin_transaction()
        producer.send_offsets_to_transaction({tp0: OffsetAndMetadata(9, "", -1)}, group)
        producer.abort_transaction()
        assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, 2), 1: (ErrorCode.NONE, 6)}
        assert {tp: o.offset for tp, o in admin.list_group_offsets({group: None})[group].items()} == {tp0: 2, tp1: 6}
    finally:
        producer.close()
        admin.close()


def test_aiokafka_offsets_sent_to_a_transaction_count_once_it_commits(server: HubServer, topic: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=server.bootstrap, transactional_id=f"t-{group}")
        await producer.start()
        try:
            offsets = {AioPartition(topic, 0): 1, AioPartition(topic, 1): 2}
            async with producer.transaction():
                await producer.send_and_wait(topic, b"out", partition=0)
                await producer.send_offsets_to_transaction(offsets, group)
            assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, 1), 1: (ErrorCode.NONE, 2)}

            async def abort_with_offsets() -> None:
                async with producer.transaction():  # leaving it with an error aborts the transaction
                    await producer.send_offsets_to_transaction({AioPartition(topic, 0): 8}, group)
                    raise RuntimeError("abort")

            with pytest.raises(RuntimeError, match="abort"):
                await abort_with_offsets()
            assert _settled_fetch(server, group, topic) == {0: (ErrorCode.NONE, 1), 1: (ErrorCode.NONE, 2)}
        finally:
            await producer.stop()

    asyncio.run(run())
