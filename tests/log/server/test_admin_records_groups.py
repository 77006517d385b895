"""DeleteRecords, DescribeProducers, DeleteGroups and OffsetDelete of `hub log serve` with real clients nobody here
wrote (confluent-kafka's AdminClient, kafka-python's KafkaAdminClient, aiokafka's admin where it has the call) and
with raw requests for what no client sends. The server is this module's own: the last test restarts it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import kafka.errors as kerrors
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete
from aiokafka.structs import TopicPartition as AioPartition
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaPythonPartition

from hub.log.error_codes import ErrorCode
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base: Path = tmp_path_factory.mktemp("admin-records")
    hub = HubServer(base / "data", free_port(), base / "server.log")
    hub.start()
    yield hub
    if hub.running:
        hub.stop()


def _topic(confluent: AdminClient, partitions: int = 1) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    confluent.create_topics([NewTopic(name, partitions, 1)])[name].result(10)
    return name


def _produce(server: HubServer, topic: str, count: int, *, idempotent: bool = False, partition: int = 0) -> None:
    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": idempotent, "linger.ms": 0})
    for index in range(count):
        producer.produce(topic, f"v{index}".encode(), key=f"k{index}".encode(), partition=partition)
        producer.flush(10)  # one batch each, so producers show their last sequence
    assert producer.flush(10) == 0


def _earliest(server: HubServer, topic: str, partition: int = 0) -> int:
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "unused"})
    try:
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        consumer.close()
    return int(low)


# --- DeleteRecords -------------------------------------------------------------------------------------------


def test_confluent_delete_records_moves_the_log_start_and_refuses_offsets_past_the_high_watermark(
    server: HubServer, confluent: AdminClient
) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 10)
    result = confluent.delete_records([TopicPartition(topic, 0, 4)])[TopicPartition(topic, 0, 4)].result(10)
    assert result.low_watermark == 4
    assert _earliest(server, topic) == 4
    with pytest.raises(KafkaException) as info:
        confluent.delete_records([TopicPartition(topic, 0, 11)])[TopicPartition(topic, 0, 11)].result(10)
    assert info.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    # an offset below the log start leaves it where it is
    assert (
        confluent.delete_records([TopicPartition(topic, 0, 2)])[TopicPartition(topic, 0, 2)].result(10).low_watermark
        == 4
    )
    # -1: up to the high watermark
    everything = TopicPartition(topic, 0, -1)
    assert confluent.delete_records([everything])[everything].result(10).low_watermark == 10
    assert _earliest(server, topic) == 10


def test_kafka_python_delete_records_and_its_errors(
    server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    topic = _topic(confluent, partitions=2)
    _produce(server, topic, 5, partition=1)
    answer = kafka_python.delete_records({KafkaPythonPartition(topic, 1): 3})
    assert answer[KafkaPythonPartition(topic, 1)]["low_watermark"] == 3
    with pytest.raises(kerrors.OffsetOutOfRangeError):
        kafka_python.delete_records({KafkaPythonPartition(topic, 0): 1})
    assert _earliest(server, topic, 1) == 3


def test_aiokafka_delete_records(server: HubServer, confluent: AdminClient) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 6)

    async def delete() -> dict[AioPartition, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=server.bootstrap)
        await admin.start()
        try:
            return await admin.delete_records({AioPartition(topic, 0): RecordsToDelete(before_offset=5)})
        finally:
            await admin.close()

    assert asyncio.run(delete()) == {AioPartition(topic, 0): 5}
    assert _earliest(server, topic) == 5


def test_delete_records_raw_errors_for_what_clients_refuse_to_send(server: HubServer, confluent: AdminClient) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 2)
    with RawKafkaConnection(server.host, server.port) as connection:
        answer = connection.request(
            21,
            2,
            {
                "topics": [
                    {
                        "name": topic,
                        "partitions": [{"partition_index": 0, "offset": -5}, {"partition_index": 7, "offset": 0}],
                    },
                    {"name": "__consumer_offsets", "partitions": [{"partition_index": 0, "offset": 0}]},
                ],
                "timeout_ms": 1000,
            },
        )
    codes = [[p["error_code"] for p in t["partitions"]] for t in answer["topics"]]
    assert codes == [
        [ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        [ErrorCode.INVALID_TOPIC_EXCEPTION],
    ]


# --- DescribeProducers ---------------------------------------------------------------------------------------


def test_describe_producers_lists_the_idempotent_producers_of_a_partition(
    server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 3, idempotent=True)
    _produce(server, topic, 1)  # not idempotent: not a producer the partition tracks
    states = kafka_python.describe_producers([KafkaPythonPartition(topic, 0)])
    producers = states[KafkaPythonPartition(topic, 0)].active_producers
    assert len(producers) == 1
    producer = producers[0]
    assert producer.producer_id >= 0
    assert (producer.producer_epoch, producer.last_sequence, producer.coordinator_epoch) == (0, 2, -1)
    assert producer.last_timestamp > 0
    assert producer.current_transaction_start_offset == -1
    with RawKafkaConnection(server.host, server.port) as connection:
        answer = connection.request(61, 0, {"topics": [{"name": topic, "partition_indexes": [0, 4]}]})
    first, missing = answer["topics"][0]["partitions"]
    assert [p["producer_id"] for p in first["active_producers"]] == [producer.producer_id]
    assert missing["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


# --- DeleteGroups and OffsetDelete ---------------------------------------------------------------------------


def _commit(server: HubServer, group: str, offsets: list[TopicPartition]) -> None:
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def _committed(kafka_python: KafkaAdminClient, group: str) -> dict[tuple[str, int], int]:
    offsets = kafka_python.list_group_offsets(group).get(group, {})
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


def test_confluent_delete_groups_refuses_groups_with_members_and_unknown_ones(
    server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 1)
    idle, busy = f"g-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    _commit(server, idle, [TopicPartition(topic, 0, 1)])
    member = Consumer({"bootstrap.servers": server.bootstrap, "group.id": busy, "session.timeout.ms": 6000})
    member.subscribe([topic])
    try:
        while not member.assignment():
            member.poll(0.2)
        futures = confluent.delete_consumer_groups([idle, busy, "no-such-group"], request_timeout=10)
        assert futures[idle].result(10) is None
        for group, code in ((busy, KafkaError.NON_EMPTY_GROUP), ("no-such-group", KafkaError.GROUP_ID_NOT_FOUND)):
            with pytest.raises(KafkaException) as info:
                futures[group].result(10)
            assert info.value.args[0].code() == code
    finally:
        member.close()
    assert _committed(kafka_python, idle) == {}


def test_kafka_python_delete_groups(server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient) -> None:
    topic = _topic(confluent)
    group = f"g-{uuid.uuid4().hex[:6]}"
    _commit(server, group, [TopicPartition(topic, 0, 0)])
    results = dict(kafka_python.delete_groups([group, "absent-group"]))
    assert results == {group: "OK", "absent-group": kerrors.GroupIdNotFoundError.__name__}


def test_offset_delete_removes_offsets_of_topics_no_member_subscribes_to(
    server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    subscribed, other = _topic(confluent), _topic(confluent, partitions=2)
    _produce(server, subscribed, 1)
    group = f"g-{uuid.uuid4().hex[:6]}"
    _commit(server, group, [TopicPartition(other, 0, 0), TopicPartition(other, 1, 0)])
    member = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "session.timeout.ms": 6000})
    member.subscribe([subscribed])
    try:
        while not member.assignment():
            member.poll(0.2)
        member.commit(offsets=[TopicPartition(subscribed, 0, 1)], asynchronous=False)
        results = kafka_python.delete_group_offsets(group, [KafkaPythonPartition(other, 0)])
        assert results[KafkaPythonPartition(other, 0)] is None or not isinstance(
            results[KafkaPythonPartition(other, 0)], Exception
        )
        with RawKafkaConnection(server.host, server.port) as connection:
            answer = connection.request(
                47, 0, {"group_id": group, "topics": [{"name": subscribed, "partitions": [{"partition_index": 0}]}]}
            )
        assert answer["error_code"] == ErrorCode.NONE
        assert answer["topics"][0]["partitions"][0]["error_code"] == ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
    finally:
        member.close()
    assert _committed(kafka_python, group) == {(other, 1): 0, (subscribed, 0): 1}
    with RawKafkaConnection(server.host, server.port) as connection:
        unknown = connection.request(47, 0, {"group_id": "no-such-group", "topics": []})
        empty = connection.request(47, 0, {"group_id": "", "topics": []})
    assert unknown["error_code"] == ErrorCode.GROUP_ID_NOT_FOUND
    assert empty["error_code"] == ErrorCode.INVALID_GROUP_ID


# --- durability ----------------------------------------------------------------------------------------------


def test_deleted_records_groups_and_offsets_stay_deleted_after_a_restart(
    server: HubServer, confluent: AdminClient
) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 8)
    confluent.delete_records([TopicPartition(topic, 0, 6)])[TopicPartition(topic, 0, 6)].result(10)
    kept, deleted = f"g-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    _commit(server, kept, [TopicPartition(topic, 0, 7)])
    _commit(server, deleted, [TopicPartition(topic, 0, 7)])
    confluent.delete_consumer_groups([deleted])[deleted].result(10)
    server.stop()
    server.start()
    restarted = AdminClient({"bootstrap.servers": server.bootstrap})
    assert _earliest(server, topic) == 6
    client = KafkaAdminClient(bootstrap_servers=server.bootstrap, request_timeout_ms=10_000)
    try:
        assert _committed(client, kept) == {(topic, 0): 7}
        assert _committed(client, deleted) == {}
        with pytest.raises(KafkaException) as info:
            restarted.delete_consumer_groups([deleted])[deleted].result(10)
        assert info.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND
    finally:
        client.close()


def test_every_version_of_the_admin_apis_is_answered(server: HubServer, confluent: AdminClient) -> None:
    topic = _topic(confluent)
    _produce(server, topic, 5)
    with RawKafkaConnection(server.host, server.port) as connection:
        for version in range(3):
            body = {"topics": [{"name": topic, "partitions": [{"partition_index": 0, "offset": version + 1}]}]}
            answer = connection.request(21, version, {**body, "timeout_ms": 1000})
            assert answer["topics"][0]["partitions"][0]["low_watermark"] == version + 1
            deleted = connection.request(42, version, {"groups_names": ["never-seen"]})
            assert deleted["results"] == [{"group_id": "never-seen", "error_code": ErrorCode.GROUP_ID_NOT_FOUND}]
        described = [{"resource_type": 2, "resource_name": topic, "configuration_keys": ["retention.ms"]}]
        for version in range(1, 5):
            body = {"resources": described, "include_synonyms": True, "include_documentation": True}
            (result,) = connection.request(32, version, body)["results"]
            assert [(c["name"], c["value"]) for c in result["configs"]] == [("retention.ms", "604800000")]
        change = [{"resource_type": 2, "resource_name": topic, "configs": [{"name": "retention.ms", "value": "9"}]}]
        for version in range(3):
            answer = connection.request(33, version, {"resources": change, "validate_only": True})
            assert answer["responses"][0]["error_code"] == ErrorCode.NONE
        incremental = [{**change[0], "configs": [{"name": "retention.ms", "config_operation": 0, "value": "9"}]}]
        for version in range(2):
            answer = connection.request(44, version, {"resources": incremental, "validate_only": True})
            assert answer["responses"][0]["error_code"] == ErrorCode.NONE
        answer = connection.request(47, 0, {"group_id": "never-seen", "topics": []})
        assert answer["error_code"] == ErrorCode.GROUP_ID_NOT_FOUND
        answer = connection.request(61, 0, {"topics": [{"name": topic, "partition_indexes": [0]}]})
        assert answer["topics"][0]["partitions"][0]["active_producers"] == []
        versions = {
            k["api_key"]: (k["min_version"], k["max_version"])
            for k in connection.request(18, 3, {"client_software_name": "raw", "client_software_version": "1"})[
                "api_keys"
            ]
        }
    assert {key: versions[key] for key in (21, 32, 33, 42, 44, 47, 61)} == {
        21: (0, 2),
        32: (1, 4),
        33: (0, 2),
        42: (0, 2),
        44: (0, 1),
        47: (0, 0),
        61: (0, 0),
    }
