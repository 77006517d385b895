"""The cluster admin APIs of `hub log serve` (a cluster of one node) with real clients nobody here wrote:
confluent-kafka's AdminClient (librdkafka), kafka-python's KafkaAdminClient and aiokafka's admin client."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import kafka.errors as kerrors
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin import NewPartitions as AioNewPartitions
from confluent_kafka import ElectionType, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaPythonPartition

from tests.harness.hub import HubServer

pytestmark = pytest.mark.integration


def _topic() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def _create(admin: AdminClient, name: str, partitions: int = 1) -> None:
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(10)


def _partition_count(admin: AdminClient, name: str) -> int:
    return len(admin.list_topics(name, timeout=10).topics[name].partitions)


def _confluent_error(future: object) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result(10)  # type: ignore[attr-defined]
    error: KafkaError = info.value.args[0]
    return error


@pytest.fixture
def confluent(hub_server: HubServer) -> AdminClient:
    return AdminClient({"bootstrap.servers": hub_server.bootstrap})


@pytest.fixture
def kafka_python(hub_server: HubServer) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=hub_server.bootstrap, request_timeout_ms=10_000)
    yield client
    client.close()


# --- CreatePartitions ----------------------------------------------------------------------------------------


def test_confluent_create_partitions_grows_a_topic_and_refuses_bad_counts(confluent: AdminClient) -> None:
    name = _topic()
    _create(confluent, name)
    assert confluent.create_partitions([NewPartitions(name, 3)])[name].result(10) is None
    assert _partition_count(confluent, name) == 3
    assert _confluent_error(confluent.create_partitions([NewPartitions(name, 2)])[name]).code() == (
        KafkaError.INVALID_PARTITIONS
    )
    assert _confluent_error(confluent.create_partitions([NewPartitions(name, 3)])[name]).code() == (
        KafkaError.INVALID_PARTITIONS
    )
    missing = _topic()
    assert _confluent_error(confluent.create_partitions([NewPartitions(missing, 2)])[missing]).code() == (
        KafkaError.UNKNOWN_TOPIC_OR_PART
    )
    assert _partition_count(confluent, name) == 3


def test_confluent_create_partitions_with_assignments_and_validate_only(confluent: AdminClient) -> None:
    name = _topic()
    _create(confluent, name)
    assert confluent.create_partitions([NewPartitions(name, 2)], validate_only=True)[name].result(10) is None
    assert _partition_count(confluent, name) == 1
    bad = confluent.create_partitions([NewPartitions(name, 3, [[0], [1]])])[name]
    assert _confluent_error(bad).code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert confluent.create_partitions([NewPartitions(name, 3, [[0], [0]])])[name].result(10) is None
    assert _partition_count(confluent, name) == 3


def test_new_partitions_take_records(hub_server: HubServer, confluent: AdminClient) -> None:
    name = _topic()
    _create(confluent, name)
    confluent.create_partitions([NewPartitions(name, 2)])[name].result(10)
    producer = Producer({"bootstrap.servers": hub_server.bootstrap, "topic.metadata.refresh.interval.ms": 500})
    failures: list[KafkaError] = []
    producer.produce(name, b"v", partition=1, on_delivery=lambda err, _m: failures.append(err) if err else None)
    assert producer.flush(30) == 0
    assert failures == []


def test_kafka_python_create_partitions(confluent: AdminClient, kafka_python: KafkaAdminClient) -> None:
    name = _topic()
    _create(confluent, name)
    kafka_python.create_partitions({name: 4})
    assert _partition_count(confluent, name) == 4
    with pytest.raises(kerrors.InvalidPartitionsError):
        kafka_python.create_partitions({name: 2})
    with pytest.raises(kerrors.InvalidReplicationAssignmentError):
        kafka_python.create_partitions({name: {"count": 6, "assignments": [[0]]}})
    kafka_python.create_partitions({name: {"count": 5, "assignments": [[0]]}})
    assert _partition_count(confluent, name) == 5


def test_aiokafka_create_partitions(hub_server: HubServer, confluent: AdminClient) -> None:
    name = _topic()
    _create(confluent, name)

    async def scenario() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=hub_server.bootstrap)
        await admin.start()
        try:
            await admin.create_partitions({name: AioNewPartitions(total_count=3)})
            with pytest.raises(Exception, match="Could not create partitions") as info:
                await admin.create_partitions({name: AioNewPartitions(total_count=3)})
            assert getattr(info.value, "errno", None) == 37  # INVALID_PARTITIONS
        finally:
            await admin.close()

    asyncio.run(scenario())
    assert _partition_count(confluent, name) == 3


# --- DescribeCluster -----------------------------------------------------------------------------------------


def test_describe_cluster_lists_the_one_broker_with_the_stores_cluster_id(
    hub_server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    theirs = kafka_python.describe_cluster()  # DescribeCluster
    ours = confluent.describe_cluster().result(10)  # librdkafka asks Metadata: the two must agree
    assert theirs["cluster_id"] == ours.cluster_id == confluent.list_topics(timeout=10).cluster_id
    assert theirs["controller_id"] == ours.controller.id == 0
    assert theirs["brokers"] == [
        {"broker_id": 0, "host": "127.0.0.1", "port": hub_server.port, "rack": None, "is_fenced": False}
    ]
    assert [(n.id, n.host, n.port) for n in ours.nodes] == [(0, "127.0.0.1", hub_server.port)]
    # With no authorizer Kafka grants every cluster operation.
    assert set(theirs["authorized_operations"]) == {
        "CREATE",
        "ALTER",
        "DESCRIBE",
        "CLUSTER_ACTION",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE",
    }


# --- ElectLeaders --------------------------------------------------------------------------------------------


def test_confluent_elect_leaders_finds_no_election_needed(confluent: AdminClient) -> None:
    name = _topic()
    _create(confluent, name, 2)
    for election in (ElectionType.PREFERRED, ElectionType.UNCLEAN):
        results = confluent.elect_leaders(election, [TopicPartition(name, 0), TopicPartition(name, 7)]).result(10)
        errors = {tp.partition: err.code() for tp, err in results.items()}
        assert errors == {0: KafkaError.ELECTION_NOT_NEEDED, 7: KafkaError.UNKNOWN_TOPIC_OR_PART}


def test_kafka_python_elect_leaders(confluent: AdminClient, kafka_python: KafkaAdminClient) -> None:
    name = _topic()
    _create(confluent, name, 2)
    response = kafka_python.elect_leaders(0, {name: [0, 1]}, raise_errors=False)
    codes = {
        (t.topic, p.partition_id): p.error_code for t in response.replica_election_results for p in t.partition_result
    }
    assert codes == {(name, 0): 84, (name, 1): 84}  # ELECTION_NOT_NEEDED


# --- reassignments, log dirs, quorum -------------------------------------------------------------------------


def test_kafka_python_partition_reassignments(confluent: AdminClient, kafka_python: KafkaAdminClient) -> None:
    name = _topic()
    _create(confluent, name, 3)
    result = kafka_python.alter_partition_reassignments(
        {
            KafkaPythonPartition(name, 0): [0],
            KafkaPythonPartition(name, 1): None,
            KafkaPythonPartition(name, 2): [0, 1],
            KafkaPythonPartition(name, 9): [0],
        }
    )
    assert result[KafkaPythonPartition(name, 0)] is None
    assert result[KafkaPythonPartition(name, 1)] is kerrors.NoReassignmentInProgressError
    assert result[KafkaPythonPartition(name, 2)] is kerrors.InvalidReplicationAssignmentError
    assert result[KafkaPythonPartition(name, 9)] is kerrors.UnknownTopicOrPartitionError
    assert kafka_python.list_partition_reassignments() == {}
    assert kafka_python.list_partition_reassignments({name: [0, 1]}) == {}


def test_kafka_python_describe_log_dirs(
    hub_server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    name = _topic()
    _create(confluent, name, 2)
    producer = Producer({"bootstrap.servers": hub_server.bootstrap})
    for _ in range(20):
        producer.produce(name, b"x" * 100, partition=0)
    assert producer.flush(30) == 0
    deadline = time.monotonic() + 10
    while True:
        (broker,) = kafka_python.describe_log_dirs({name: [0, 1, 5]})
        (log_dir,) = broker["log_dirs"]
        if log_dir["topics"] or time.monotonic() > deadline:
            break
    assert broker["broker"] == 0
    assert log_dir["error_code"] == 0
    assert Path(log_dir["log_dir"]) == hub_server.data_dir.resolve()
    assert log_dir["total_bytes"] >= log_dir["usable_bytes"] > 0
    (topic,) = log_dir["topics"]
    assert topic["name"] == name
    sizes = {p["partition_index"]: p["partition_size"] for p in topic["partitions"]}
    assert sizes[0] > 20 * 100
    assert sizes[1] == 0
    assert 5 not in sizes
    assert {p["offset_lag"] for p in topic["partitions"]} == {0}
    everything = kafka_python.describe_log_dirs()[0]["log_dirs"][0]["topics"]
    assert name in {t["name"] for t in everything}


def test_kafka_python_describe_metadata_quorum_shows_the_node_as_leader_and_only_voter(
    hub_server: HubServer, kafka_python: KafkaAdminClient
) -> None:
    quorum = kafka_python.describe_metadata_quorum()
    (topic,) = quorum["topics"]
    assert topic["topic_name"] == "__cluster_metadata"
    (partition,) = topic["partitions"]
    assert (partition["partition_index"], partition["leader_id"], partition["observers"]) == (0, 0, [])
    assert [v["replica_id"] for v in partition["current_voters"]] == [0]
    assert quorum["nodes"] == [
        {"node_id": 0, "listeners": [{"name": "PLAINTEXT", "host": "127.0.0.1", "port": hub_server.port}]}
    ]
