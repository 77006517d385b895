"""The consumer group protocol (KIP-848) over the Kafka listener: confluent-kafka consumers with
``group.protocol=consumer`` sharing partitions under the server-side assignors, the AdminClient describing the
group through ConsumerGroupDescribe, and the protocol spoken raw with Hub's codec (kafka-python and aiokafka do
not speak it) for what no real client sends.

One `hub log serve` for the module, with a short ``group.consumer.heartbeat.interval.ms``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupType,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from hub.log.error_codes import ErrorCode
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.server.raw_kafka import RawKafkaConnection
from tests.log.server.test_coordinator_moves import ServedNode

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base = tmp_path_factory.mktemp("kip848")
    hub = HubServer(
        base / "data",
        free_port(),
        base / "server.log",
        options=("group.consumer.heartbeat.interval.ms=300", "group.consumer.session.timeout.ms=10000"),
    )
    hub.start()
    yield hub
    hub.stop()


def _topic(admin: AdminClient, partitions: int) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(10)
    return name


def _produce(bootstrap: str, topic: str, values: range, partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in values:
        producer.produce(topic, value=b"%d" % i, partition=i % partitions)
    assert producer.flush(15) == 0


def _consumer(bootstrap: str, group: str, **extra: Any) -> Consumer:
    settings = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **extra,
    }
    return Consumer(settings)


def _poll_and_commit(consumer: Consumer, into: list[int], seconds: float, uncommitted: list[int] | None = None) -> None:
    """Poll for a while, committing each message before the next (so committed progress is exactly what was
    consumed). A commit refused (the member was fenced) fails the test unless ``uncommitted`` collects it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = consumer.poll(0.1)
        if message is None:
            continue
        assert message.error() is None, message.error()
        value = int(message.value() or b"-1")
        into.append(value)
        try:
            _commit(consumer, message)
        except KafkaException as exc:
            fenced = exc.args[0].code() in (KafkaError.UNKNOWN_MEMBER_ID, KafkaError.FENCED_MEMBER_EPOCH)
            if uncommitted is None or not fenced:
                raise
            uncommitted.append(value)


def _commit(consumer: Consumer, message: Message) -> None:
    """Commit after ``message``. A commit that raced a heartbeat moving the member to its next epoch gets
    STALE_MEMBER_EPOCH, as from Kafka, and is sent again (librdkafka leaves that to the application; the
    partition is still the member's: it gives partitions up only inside poll)."""
    for _ in range(50):
        try:
            consumer.commit(message=message, asynchronous=False)
            return
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.STALE_MEMBER_EPOCH:
                raise
            time.sleep(0.05)
    consumer.commit(message=message, asynchronous=False)


def _until(
    condition: Any,
    consumers: list[tuple[Consumer, list[int]]],
    seconds: float = 30,
    uncommitted: list[int] | None = None,
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        for consumer, into in consumers:
            _poll_and_commit(consumer, into, 0.2, uncommitted)


def _assigned(consumer: Consumer) -> set[int]:
    return {tp.partition for tp in consumer.assignment()}


@pytest.mark.parametrize("assignor", ["uniform", "range"])
def test_consumers_share_partitions_and_hand_them_over_without_loss_or_duplicates(
    server: HubServer, assignor: str
) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    topic, group = _topic(admin, 4), f"g-{uuid.uuid4().hex[:8]}"
    _produce(server.bootstrap, topic, range(200), 4)
    first = _consumer(server.bootstrap, group, **{"group.remote.assignor": assignor})
    second = _consumer(server.bootstrap, group, **{"group.remote.assignor": assignor})
    got_first: list[int] = []
    got_second: list[int] = []
    first_closed = False
    try:
        first.subscribe([topic])
        _until(lambda: _assigned(first) == {0, 1, 2, 3}, [(first, got_first)])
        second.subscribe([topic])
        both = [(first, got_first), (second, got_second)]
        _until(lambda: len(_assigned(first)) == 2 and len(_assigned(second)) == 2, both)
        assert _assigned(first).isdisjoint(_assigned(second))
        described = admin.describe_consumer_groups([group])[group].result(10)
        assert described.type is ConsumerGroupType.CONSUMER
        assert described.partition_assignor == assignor
        _produce(server.bootstrap, topic, range(200, 300), 4)
        _until(lambda: len(got_first) + len(got_second) >= 300, both)
        first.close()
        first_closed = True
        _produce(server.bootstrap, topic, range(300, 400), 4)
        _until(lambda: _assigned(second) == {0, 1, 2, 3} and len(got_first) + len(got_second) >= 400, both[1:])
        _poll_and_commit(second, got_second, 1)
        assert sorted(got_first + got_second) == list(range(400))  # nothing lost, nothing twice
        assert got_second  # the second consumer took its share
        committed = second.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
        assert sum(tp.offset for tp in committed) == 400
    finally:
        second.close()
        if not first_closed:
            first.close()


def test_the_admin_client_describes_a_consumer_group(server: HubServer) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    topic, group = _topic(admin, 3), f"g-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(server.bootstrap, group, **{"client.id": "describe-me"})
    try:
        consumer.subscribe([topic])
        _until(lambda: _assigned(consumer) == {0, 1, 2}, [(consumer, [])])
        deadline = time.monotonic() + 20
        while True:
            described = admin.describe_consumer_groups([group])[group].result(10)
            if described.state is ConsumerGroupState.STABLE or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert described.type is ConsumerGroupType.CONSUMER
        assert described.state is ConsumerGroupState.STABLE
        assert described.partition_assignor == "uniform"
        [member] = described.members
        assert member.client_id == "describe-me"
        assert {tp.partition for tp in member.assignment.topic_partitions} == {0, 1, 2}
        assert member.target_assignment is not None
        assert {(tp.topic, tp.partition) for tp in member.target_assignment.topic_partitions} == {
            (topic, p) for p in range(3)
        }
    finally:
        consumer.close()


def test_new_partitions_are_assigned_to_the_group(server: HubServer) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    topic, group = _topic(admin, 2), f"g-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(server.bootstrap, group)
    got: list[int] = []
    try:
        consumer.subscribe([topic])
        _until(lambda: _assigned(consumer) == {0, 1}, [(consumer, got)])
        admin.create_partitions([NewPartitions(topic, 3)])[topic].result(10)
        _until(lambda: _assigned(consumer) == {0, 1, 2}, [(consumer, got)])
        _produce(server.bootstrap, topic, range(3), 3)
        _until(lambda: sorted(got) == [0, 1, 2], [(consumer, got)])
    finally:
        consumer.close()


def test_a_regex_subscription_takes_topics_created_later(server: HubServer) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    prefix = f"rx{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(f"{prefix}-a", 1, 1)])[f"{prefix}-a"].result(10)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(server.bootstrap, group)
    try:
        consumer.subscribe([f"^{prefix}-.*"])
        _until(lambda: {tp.topic for tp in consumer.assignment()} == {f"{prefix}-a"}, [(consumer, [])])
        with RawKafkaConnection("127.0.0.1", server.port) as connection:
            described = connection.request(69, 1, {"group_ids": [group], "include_authorized_operations": False})
        [member] = described["groups"][0]["members"]
        assert member["subscribed_topic_regex"] == f"(^{prefix}-.*)"  # librdkafka sends its regexes, or-ed
        admin.create_topics([NewTopic(f"{prefix}-b", 2, 1)])[f"{prefix}-b"].result(10)
        expected = {(f"{prefix}-a", 0), (f"{prefix}-b", 0), (f"{prefix}-b", 1)}
        _until(lambda: {(tp.topic, tp.partition) for tp in consumer.assignment()} == expected, [(consumer, [])])
    finally:
        consumer.close()


# --- raw protocol ---------------------------------------------------------------------------------------------


def _heartbeat(connection: RawKafkaConnection, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "group_id": "raw",
        "member_id": "",
        "member_epoch": 0,
        "instance_id": None,
        "rack_id": None,
        "rebalance_timeout_ms": 30_000,
        "subscribed_topic_names": [],
        "subscribed_topic_regex": None,
        "server_assignor": None,
        "topic_partitions": [],
    }
    body.update(fields)
    version = fields.pop("version", 1) if "version" in fields else 1
    body.pop("version", None)
    if version == 0:
        body.pop("subscribed_topic_regex")
    return connection.request(68, version, body)


def _topic_id(connection: RawKafkaConnection, topic: str) -> uuid.UUID:
    answer = connection.request(
        3,
        12,
        {
            "topics": [{"topic_id": uuid.UUID(int=0), "name": topic}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False,
        },
    )
    topic_id = answer["topics"][0]["topic_id"]
    assert isinstance(topic_id, uuid.UUID)
    return topic_id


def test_raw_heartbeats_epochs_and_errors(server: HubServer) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    topic = _topic(admin, 2)
    group = f"raw-{uuid.uuid4().hex[:8]}"
    with RawKafkaConnection("127.0.0.1", server.port) as connection:
        topic_id = _topic_id(connection, topic)
        bad = _heartbeat(connection, group_id="", member_id="m", subscribed_topic_names=[topic])
        assert bad["error_code"] == ErrorCode.INVALID_REQUEST
        bad = _heartbeat(
            connection,
            group_id=group,
            member_id="m",
            subscribed_topic_names=[topic],
            server_assignor="cooperative-sticky",
        )
        assert bad["error_code"] == ErrorCode.UNSUPPORTED_ASSIGNOR
        assert "uniform, range" in bad["error_message"]
        bad = _heartbeat(connection, group_id=group, member_id="", subscribed_topic_names=[topic])
        assert bad["error_code"] == ErrorCode.INVALID_REQUEST  # v1: the client chooses its member id
        missing = _heartbeat(connection, group_id=group, member_id="ghost", subscribed_topic_names=["no-such-topic"])
        assert missing["error_code"] == ErrorCode.NONE
        assert missing["assignment"] == {"topic_partitions": []}
        left = _heartbeat(connection, group_id=group, member_id="ghost", member_epoch=-1)
        assert (left["error_code"], left["member_epoch"]) == (ErrorCode.NONE, -1)

        joined = _heartbeat(connection, group_id=group, member_id="m1", subscribed_topic_names=[topic])
        assert joined["error_code"] == ErrorCode.NONE
        assert joined["heartbeat_interval_ms"] == 300
        epoch = joined["member_epoch"]
        assert joined["assignment"]["topic_partitions"] == [{"topic_id": topic_id, "partitions": [0, 1]}]
        owned = [{"topic_id": topic_id, "partitions": [0, 1]}]
        steady = _heartbeat(
            connection,
            group_id=group,
            member_id="m1",
            member_epoch=epoch,
            rebalance_timeout_ms=-1,
            subscribed_topic_names=None,
            topic_partitions=owned,
        )
        assert (steady["error_code"], steady["member_epoch"], steady["assignment"]) == (ErrorCode.NONE, epoch, None)
        stale = _heartbeat(
            connection,
            group_id=group,
            member_id="m1",
            member_epoch=epoch - 1,
            rebalance_timeout_ms=-1,
            subscribed_topic_names=None,
            topic_partitions=owned,
        )
        assert stale["error_code"] == ErrorCode.FENCED_MEMBER_EPOCH
        unknown = _heartbeat(
            connection,
            group_id=group,
            member_id="m2",
            member_epoch=epoch,
            subscribed_topic_names=None,
            topic_partitions=None,
        )
        assert unknown["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID

        # OffsetCommit 9 carries the member epoch
        commit = {
            "group_id": group,
            "generation_id_or_member_epoch": epoch - 1,
            "member_id": "m1",
            "group_instance_id": None,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 1,
                            "committed_leader_epoch": -1,
                            "committed_metadata": None,
                        }
                    ],
                }
            ],
        }
        answer = connection.request(8, 9, commit)
        assert answer["topics"][0]["partitions"][0]["error_code"] == ErrorCode.STALE_MEMBER_EPOCH
        commit["generation_id_or_member_epoch"] = epoch
        answer = connection.request(8, 9, commit)
        assert answer["topics"][0]["partitions"][0]["error_code"] == ErrorCode.NONE

        # ConsumerGroupDescribe, v0 and v1; DescribeGroups sees no classic group there
        for version in (0, 1):
            described = connection.request(
                69, version, {"group_ids": [group, "no-such-group"], "include_authorized_operations": False}
            )
            found, not_found = described["groups"]
            assert (found["error_code"], found["group_state"], found["assignor_name"]) == (0, "Stable", "uniform")
            [member] = found["members"]
            assert member["member_id"] == "m1"
            assert member["member_epoch"] == epoch
            assert member["subscribed_topic_names"] == [topic]
            assert member["assignment"]["topic_partitions"] == [
                {"topic_id": topic_id, "topic_name": topic, "partitions": [0, 1]}
            ]
            if version == 1:
                assert member["member_type"] == 1
            assert not_found["error_code"] == ErrorCode.GROUP_ID_NOT_FOUND
        classic = connection.request(15, 4, {"groups": [group], "include_authorized_operations": False})
        assert classic["groups"][0]["group_state"] == "Dead"
        listed = {g["group_id"]: g for g in connection.request(16, 2, {})["groups"]}
        assert listed[group]["protocol_type"] == "consumer"

        # a classic JoinGroup to the consumer group is refused
        join = connection.request(
            11,
            5,
            {
                "group_id": group,
                "session_timeout_ms": 10_000,
                "rebalance_timeout_ms": 10_000,
                "member_id": "",
                "group_instance_id": None,
                "protocol_type": "consumer",
                "protocols": [{"name": "range", "metadata": b""}],
            },
        )
        assert join["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL

        left = _heartbeat(connection, group_id=group, member_id="m1", member_epoch=-1)
        assert left["error_code"] == ErrorCode.NONE


def test_raw_version_0_lets_the_coordinator_choose_the_member_id(server: HubServer) -> None:
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    topic = _topic(admin, 1)
    with RawKafkaConnection("127.0.0.1", server.port) as connection:
        joined = _heartbeat(
            connection, version=0, group_id=f"v0-{uuid.uuid4().hex[:6]}", subscribed_topic_names=[topic]
        )
        assert joined["error_code"] == ErrorCode.NONE
        assert joined["member_id"]
        assert joined["member_epoch"] == 1


# --- the coordinator moves ------------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedNode]:
    node = ServedNode(tmp_path / "data")
    node.start()
    yield node
    node.stop()


def test_consumers_rejoin_when_the_coordinator_moves_away_and_back(served: ServedNode) -> None:
    admin = AdminClient({"bootstrap.servers": served.bootstrap})
    topic, group = _topic(admin, 2), f"g-{uuid.uuid4().hex[:8]}"
    _produce(served.bootstrap, topic, range(20), 2)
    consumer = _consumer(served.bootstrap, group)
    got: list[int] = []
    try:
        consumer.subscribe([topic])
        _until(lambda: len(got) == 20, [(consumer, got)])
        served.move_away()
        _poll_and_commit(consumer, got, 1.5)
        served.come_back()  # the new coordinator knows no consumer group: the member is fenced and rejoins
        _produce(served.bootstrap, topic, range(20, 40), 2)
        uncommitted: list[int] = []
        _until(lambda: set(got) == set(range(40)), [(consumer, got)], uncommitted=uncommitted)
        _poll_and_commit(consumer, got, 1)
        # only what the fenced member could not commit comes again, as after any fencing
        twice = [value for value in set(got) if got.count(value) > 1]
        assert set(twice) <= set(uncommitted)
        [group_description] = served.node.coordinator.describe_consumer_groups([group])
        assert group_description.error is ErrorCode.NONE
        assert len(group_description.members) == 1
    finally:
        consumer.close()
