"""Kafka's checks of admin requests, and the cluster admin handlers, over a cluster of several brokers given as
plain metadata (what the metadata quorum's snapshot holds): replication factors, fenced brokers and reassignments
in progress, which a store of one node never has."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.errors import LogError, NoReassignmentInProgressError
from hub.log.protocol import RequestHeader
from hub.log.server.cluster_checks import create_partitions_problem, reassignment_problem, replica_list_problem
from hub.log.server.cluster_handlers import ClusterAdminHandlers
from hub.log.server.cluster_view import TopicPartition
from hub.log.server.context import RequestContext
from hub.log.server.single_node import LocalBroker, LocalCluster, LocalPartition, LocalTopic, QuorumStatus
from hub.log.store import TopicStore

MOVING = LocalPartition(replicas=(1, 2, 3), isr=(1, 2), leader=1, adding=(3,), removing=(2,))
SNAPSHOT = LocalCluster(
    cluster_id="c-1",
    brokers={
        1: LocalBroker(1, "h1", 9091, rack="r1"),
        2: LocalBroker(2, "h2", 9092, fenced=True),
        3: LocalBroker(3, "h3", 9093),
    },
    topics={
        "orders": LocalTopic("orders", (LocalPartition(replicas=(1, 3), isr=(1, 3), leader=1), MOVING)),
    },
    controller_id=2,
)


class FixedCluster:
    """A ClusterAdmin whose metadata is SNAPSHOT and whose commands record what they were asked, or fail."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.asked: list[Any] = []

    def snapshot(self) -> LocalCluster:
        return SNAPSHOT

    def create_partitions(self, name: str, total: int, assignments: Sequence[Sequence[int]] | None = None) -> None:
        self.asked.append((name, total, assignments))

    def elect_leaders(
        self, partitions: Sequence[TopicPartition] | None, unclean: bool
    ) -> dict[TopicPartition, LogError | None]:
        return {}

    def alter_reassignments(
        self, reassignments: Mapping[TopicPartition, Sequence[int] | None]
    ) -> dict[TopicPartition, LogError | None]:
        if self.failure is not None:
            raise self.failure
        self.asked.append(dict(reassignments))
        return {key: None if target else NoReassignmentInProgressError("gone") for key, target in reassignments.items()}

    def quorum_status(self) -> QuorumStatus:
        return QuorumStatus(1, 4, 100, ())


def _handle(handler: Any, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
    context = RequestContext(RequestHeader(api_key, version, 1, "test", 2), "127.0.0.1")
    result: dict[str, Any] = asyncio.run(handler(context, body))
    return result


@pytest.fixture
def store(tmp_path: Path) -> TopicStore:
    opened = TopicStore(tmp_path / "data")
    opened.open()
    yield opened
    opened.close()


def test_replica_lists_must_name_distinct_registered_brokers_at_the_topics_replication_factor() -> None:
    assert replica_list_problem(SNAPSHOT, [1, 3], 2) is None
    assert replica_list_problem(SNAPSHOT, [3, 2, 1]) is None
    assert "empty replica list" in str(replica_list_problem(SNAPSHOT, []))
    assert "broker 4, but no such broker is registered" in str(replica_list_problem(SNAPSHOT, [1, 4]))
    assert "the broker 3 more than once" in str(replica_list_problem(SNAPSHOT, [3, 1, 3]))
    assert "with 3 replica(s), but this is not consistent with previous partitions, which have 2" in str(
        replica_list_problem(SNAPSHOT, [1, 2, 3], 2)
    )


def test_new_partitions_need_a_live_broker_among_their_replicas() -> None:
    def problem(assignments: list[list[int]]) -> tuple[ErrorCode, str | None]:
        topic = {
            "name": "orders",
            "count": 2 + len(assignments),
            "assignments": [{"broker_ids": a} for a in assignments],
        }
        return create_partitions_problem(SNAPSHOT, topic, internal=False)

    assert problem([[3, 1], [2, 3]]) == (ErrorCode.NONE, None)
    code, message = problem([[3, 1], [2, 2]])
    assert code is ErrorCode.INVALID_REPLICA_ASSIGNMENT
    code, message = problem([[2, 1], [1, 3], [2]])
    assert code is ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert "which have 2 replica(s)" in str(message)


def test_a_reassignment_in_progress_can_be_cancelled() -> None:
    assert reassignment_problem(SNAPSHOT, ("orders", 1), None) is None
    assert reassignment_problem(SNAPSHOT, ("orders", 0), None) == (
        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
        "No partition reassignment is in progress.",
    )
    assert reassignment_problem(SNAPSHOT, ("orders", 0), [3, 1]) is None
    assert reassignment_problem(SNAPSHOT, ("orders", 2), [3, 1]) == (
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        "Unable to find partition orders:2.",
    )


def test_list_reassignments_shows_the_partitions_being_moved(store: TopicStore) -> None:
    handlers = ClusterAdminHandlers(FixedCluster(), store)
    expected = [
        {
            "name": "orders",
            "partitions": [
                {"partition_index": 1, "replicas": [1, 2, 3], "adding_replicas": [3], "removing_replicas": [2]}
            ],
        }
    ]
    assert _handle(handlers.list_partition_reassignments, 46, 0, {"topics": None})["topics"] == expected
    named = {"topics": [{"name": "orders", "partition_indexes": [0, 1, 5]}, {"name": "nope", "partition_indexes": [0]}]}
    assert _handle(handlers.list_partition_reassignments, 46, 0, named)["topics"] == expected


def test_describe_cluster_lists_live_brokers_only_and_no_fenced_controller(store: TopicStore) -> None:
    handlers = ClusterAdminHandlers(FixedCluster(), store)
    described = _handle(
        handlers.describe_cluster, 60, 1, {"include_cluster_authorized_operations": False, "endpoint_type": 1}
    )
    assert [(b["broker_id"], b["rack"]) for b in described["brokers"]] == [(1, "r1"), (3, None)]
    assert described["controller_id"] == -1  # broker 2 is fenced
    assert described["cluster_id"] == "c-1"


def test_valid_reassignments_reach_the_cluster_and_its_failure_is_the_top_level_error(store: TopicStore) -> None:
    cluster = FixedCluster()
    handlers = ClusterAdminHandlers(cluster, store)
    targets = [{"partition_index": 0, "replicas": [3, 1]}, {"partition_index": 1, "replicas": None}]
    body = {"topics": [{"name": "orders", "partitions": [*targets, {"partition_index": 0, "replicas": [9]}]}]}
    answer = _handle(handlers.alter_partition_reassignments, 45, 0, body)
    assert cluster.asked == [{("orders", 0): [3, 1], ("orders", 1): None}]
    codes = [p["error_code"] for p in answer["responses"][0]["partitions"]]
    assert codes == [ErrorCode.NONE, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, ErrorCode.INVALID_REPLICA_ASSIGNMENT]

    failing = ClusterAdminHandlers(FixedCluster(failure=NoReassignmentInProgressError("all gone")), store)
    answer = _handle(failing.alter_partition_reassignments, 45, 0, body)
    assert (answer["error_code"], answer["error_message"]) == (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "all gone")
    codes = [p["error_code"] for p in answer["responses"][0]["partitions"]]
    assert codes == [ErrorCode.NO_REASSIGNMENT_IN_PROGRESS] * 2 + [ErrorCode.INVALID_REPLICA_ASSIGNMENT]


def test_create_partitions_hands_the_cluster_the_assignments(store: TopicStore) -> None:
    cluster = FixedCluster()
    handlers = ClusterAdminHandlers(cluster, store)
    body = {
        "topics": [{"name": "orders", "count": 3, "assignments": [{"broker_ids": [3, 1]}]}],
        "timeout_ms": 1000,
        "validate_only": False,
    }
    answer = _handle(handlers.create_partitions, 37, 3, body)
    assert answer["results"] == [{"name": "orders", "error_code": ErrorCode.NONE, "error_message": None}]
    assert cluster.asked == [("orders", 3, [[3, 1]])]
