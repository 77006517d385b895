"""The cluster admin APIs of `hub log serve` at every advertised version, and Kafka's exact error codes for bad
input, over raw protocol requests (what no admin client sends)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.server.versions import ADVERTISED
from tests.harness.hub import HubServer
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

DESCRIBE_LOG_DIRS, CREATE_PARTITIONS, ELECT_LEADERS = 35, 37, 43
ALTER_REASSIGNMENTS, LIST_REASSIGNMENTS, DESCRIBE_QUORUM, DESCRIBE_CLUSTER = 45, 46, 55, 60
SOFTWARE = {"client_software_name": "raw", "client_software_version": "1"}
CLUSTER_APIS = {
    DESCRIBE_LOG_DIRS: (1, 4),
    CREATE_PARTITIONS: (0, 3),
    ELECT_LEADERS: (0, 2),
    ALTER_REASSIGNMENTS: (0, 1),
    LIST_REASSIGNMENTS: (0, 0),
    DESCRIBE_QUORUM: (0, 2),
    DESCRIBE_CLUSTER: (0, 2),
}


@pytest.fixture
def raw(hub_server: HubServer) -> Iterator[RawKafkaConnection]:
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        yield connection


def _topic(raw: RawKafkaConnection, partitions: int = 1) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    topic = {"name": name, "num_partitions": partitions, "replication_factor": 1, "assignments": [], "configs": []}
    response = raw.request(19, 4, {"topics": [topic], "timeout_ms": 10_000})
    assert response["topics"][0]["error_code"] == ErrorCode.NONE
    return name


def _create_partitions(raw: RawKafkaConnection, *topics: dict[str, Any], version: int = 3, **body: Any) -> list[Any]:
    request = {"topics": list(topics), "timeout_ms": 10_000, "validate_only": False, **body}
    results: list[Any] = raw.request(CREATE_PARTITIONS, version, request)["results"]
    return results


def _codes(results: list[Any]) -> dict[str, int]:
    return {r["name"]: r["error_code"] for r in results}


def test_api_versions_advertises_every_version_of_the_cluster_apis(raw: RawKafkaConnection) -> None:
    keys = {k["api_key"]: (k["min_version"], k["max_version"]) for k in raw.request(18, 3, SOFTWARE)["api_keys"]}
    assert {key: keys[key] for key in CLUSTER_APIS} == CLUSTER_APIS
    assert {key: ADVERTISED[key] for key in CLUSTER_APIS} == CLUSTER_APIS


def test_every_version_is_answered(raw: RawKafkaConnection) -> None:
    name = _topic(raw, 2)
    partitions = [{"topic": name, "partitions": [0, 1]}]
    for version in range(1, 5):
        results = raw.request(DESCRIBE_LOG_DIRS, version, {"topics": [{"topic": name, "partitions": [1]}]})["results"]
        assert [
            [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in r["topics"]] for r in results
        ] == [[(name, [1])]]
    for version in range(4):
        results = _create_partitions(
            raw, {"name": name, "count": 3, "assignments": None}, version=version, validate_only=True
        )
        assert _codes(results) == {name: ErrorCode.NONE}
    for version in range(3):
        body = {"election_type": 0, "topic_partitions": partitions, "timeout_ms": 10_000}
        (result,) = raw.request(ELECT_LEADERS, version, body)["replica_election_results"]
        assert [p["error_code"] for p in result["partition_result"]] == [ErrorCode.ELECTION_NOT_NEEDED] * 2
    for version in range(2):
        moved = raw.request(
            ALTER_REASSIGNMENTS,
            version,
            {"topics": [{"name": name, "partitions": [{"partition_index": 0, "replicas": [0]}]}]},
        )
        assert moved["responses"][0]["partitions"][0]["error_code"] == ErrorCode.NONE
    assert raw.request(LIST_REASSIGNMENTS, 0, {"topics": None})["topics"] == []
    metadata = {"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}
    for version in range(3):
        (topic,) = raw.request(DESCRIBE_QUORUM, version, {"topics": [metadata]})["topics"]
        assert (topic["partitions"][0]["error_code"], topic["partitions"][0]["leader_id"]) == (ErrorCode.NONE, 0)
    for version in range(3):
        described = raw.request(DESCRIBE_CLUSTER, version, {"include_cluster_authorized_operations": False})
        assert (described["error_code"], [b["broker_id"] for b in described["brokers"]]) == (ErrorCode.NONE, [0])
        assert described["cluster_authorized_operations"] == -(1 << 31)


def test_create_partitions_refuses_bad_input_with_kafkas_codes(raw: RawKafkaConnection) -> None:
    name, other = _topic(raw), _topic(raw)
    results = _create_partitions(
        raw,
        {"name": name, "count": 2, "assignments": None},
        {"name": name, "count": 3, "assignments": None},
        {"name": other, "count": 0, "assignments": None},
        {"name": "__consumer_offsets", "count": 60, "assignments": None},
    )
    assert results[0] == {
        "name": name,
        "error_code": ErrorCode.INVALID_REQUEST,
        "error_message": "Duplicate topic name.",
    }
    assert _codes(results[1:]) == {
        other: ErrorCode.INVALID_PARTITIONS,
        "__consumer_offsets": ErrorCode.INVALID_TOPIC_EXCEPTION,
    }
    assignments = [
        ([{"broker_ids": [0]}, {"broker_ids": [0]}], "Attempted to add 1 additional partition(s), but only 2"),
        ([{"broker_ids": []}], "empty replica list"),
        ([{"broker_ids": [0, 0]}], "includes the broker 0 more than once"),
        ([{"broker_ids": [3]}], "includes broker 3, but no such broker is registered"),
    ]
    for assignment, message in assignments:
        (result,) = _create_partitions(raw, {"name": name, "count": 2, "assignments": assignment})
        assert result["error_code"] == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        assert message in result["error_message"]
    (too_many,) = _create_partitions(raw, {"name": name, "count": 10_002, "assignments": None})
    assert too_many["error_code"] == ErrorCode.POLICY_VIOLATION
    (unknown,) = _create_partitions(raw, {"name": "no-such-topic", "count": 2, "assignments": None})
    assert unknown["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    metadata = raw.request(3, 8, {"topics": [{"name": name}], "allow_auto_topic_creation": False})
    assert len(metadata["topics"][0]["partitions"]) == 1


def test_elect_leaders_refuses_an_unknown_election_type_and_leaves_out_unneeded_elections(
    raw: RawKafkaConnection,
) -> None:
    name = _topic(raw)
    body = {"election_type": 5, "topic_partitions": [{"topic": name, "partitions": [0]}], "timeout_ms": 1000}
    refused = raw.request(ELECT_LEADERS, 2, body)
    assert refused["error_code"] == ErrorCode.INVALID_REQUEST
    assert refused["replica_election_results"][0]["partition_result"][0]["error_code"] == ErrorCode.INVALID_REQUEST
    everything = raw.request(ELECT_LEADERS, 2, {"election_type": 1, "topic_partitions": None, "timeout_ms": 1000})
    assert everything["error_code"] == ErrorCode.NONE
    results = {r["topic"]: r["partition_result"] for r in everything["replica_election_results"]}
    assert results[name] == []  # every partition already has its leader


def test_reassignments_refuse_bad_input_with_kafkas_codes(raw: RawKafkaConnection) -> None:
    name = _topic(raw)
    requests = [(0, None), (0, []), (0, [0, 0]), (0, [2]), (4, [0])]
    body = {"topics": [{"name": name, "partitions": [{"partition_index": p, "replicas": r} for p, r in requests]}]}
    body["topics"].append({"name": "no-such-topic", "partitions": [{"partition_index": 0, "replicas": [0]}]})
    response = raw.request(ALTER_REASSIGNMENTS, 0, body)
    assert response["error_code"] == ErrorCode.NONE
    codes = [[p["error_code"] for p in topic["partitions"]] for topic in response["responses"]]
    assert codes == [
        [
            ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ],
        [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]
    listed = raw.request(LIST_REASSIGNMENTS, 0, {"topics": [{"name": name, "partition_indexes": [0, 9]}]})
    assert (listed["error_code"], listed["topics"]) == (ErrorCode.NONE, [])


def test_describe_cluster_refuses_other_endpoint_types(raw: RawKafkaConnection) -> None:
    controllers = raw.request(DESCRIBE_CLUSTER, 1, {"endpoint_type": 2})
    assert (controllers["error_code"], controllers["brokers"]) == (ErrorCode.MISMATCHED_ENDPOINT_TYPE, [])
    assert raw.request(DESCRIBE_CLUSTER, 1, {"endpoint_type": 7})["error_code"] == ErrorCode.UNSUPPORTED_ENDPOINT_TYPE


def test_describe_quorum_of_another_partition_is_unknown(raw: RawKafkaConnection) -> None:
    wrong = [
        [{"topic_name": "orders", "partitions": [{"partition_index": 0}]}],
        [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 1}]}],
        [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}, {"partition_index": 0}]}],
    ]
    for topics in wrong:
        response = raw.request(DESCRIBE_QUORUM, 2, {"topics": topics})
        assert response["error_code"] == ErrorCode.NONE
        codes = [p["error_code"] for t in response["topics"] for p in t["partitions"]]
        assert codes == [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION] * len(topics[0]["partitions"])
