"""ClusterAdminHandlers: the Kafka APIs that describe and change the cluster — CreatePartitions, ElectLeaders,
AlterPartitionReassignments, ListPartitionReassignments, DescribeLogDirs, DescribeCluster, DescribeQuorum.

They work against a ``ClusterAdmin`` (``cluster_view``): the metadata quorum of a replicated store, or
``SingleNodeCluster`` for a store of one node. Requests are validated against the cluster's current snapshot with
Kafka's rules, error codes and messages (as Kafka's controller validates them), and only then handed to the
cluster's commands, which block until committed and so run in a worker thread. DescribeLogDirs describes this
node's own TopicStore: its data directory is the one log directory.

Hub's own rule, as for Produce and DeleteTopics: partitions are not added to internal topics (INVALID_TOPIC_EXCEPTION)
— the group coordinator and the worker's topics place keys by partition count.

Safe for one event loop; the cluster and the store are thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import LogError
from hub.log.server.cluster_checks import (
    UNKNOWN_PARTITION,
    assignment_lists,
    create_partitions_problem,
    reassignment_problem,
)
from hub.log.server.cluster_view import (
    METADATA_PARTITION,
    METADATA_TOPIC,
    ClusterAdmin,
    ClusterView,
    ReplicaStatusView,
    TopicPartition,
)
from hub.log.server.context import Body, RequestContext
from hub.log.store import TopicStore

log = logging.getLogger("hub.log.server")

#: At most this many new partitions per CreatePartitions request (as ``topic_handlers.MAX_PARTITIONS_PER_REQUEST``).
MAX_NEW_PARTITIONS_PER_REQUEST = 10_000
ENDPOINT_TYPE_BROKER = 1
ENDPOINT_TYPE_CONTROLLER = 2
ELECTION_PREFERRED = 0
ELECTION_UNCLEAN = 1
#: Kafka's operations on the cluster resource with no authorizer: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION,
#: DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE (AclOperation codes 5, 7-12) as a bit field.
CLUSTER_AUTHORIZED_OPERATIONS = sum(1 << code for code in (5, 7, 8, 9, 10, 11, 12))
AUTHORIZED_OPERATIONS_OMITTED = -(1 << 31)


class ClusterAdminHandlers:
    """The cluster admin APIs (see the module docstring)."""

    def __init__(self, cluster: ClusterAdmin, store: TopicStore) -> None:
        self.cluster = cluster
        self.store = store

    @property
    def routes(self) -> dict[int, Callable[[RequestContext, Body], Awaitable[Body]]]:
        """The handler of each API key served here."""
        return {
            35: self.describe_log_dirs,
            37: self.create_partitions,
            43: self.elect_leaders,
            45: self.alter_partition_reassignments,
            46: self.list_partition_reassignments,
            55: self.describe_quorum,
            60: self.describe_cluster,
        }

    # --- CreatePartitions ------------------------------------------------------------------------------------

    async def create_partitions(self, ctx: RequestContext, body: Body) -> Body:
        snapshot = self.cluster.snapshot()
        counts = Counter(topic["name"] for topic in body["topics"])
        new = sum(_additional(snapshot, topic) for topic in body["topics"] if counts[topic["name"]] == 1)
        results: list[Body] = []
        answered: set[str] = set()
        for topic in body["topics"]:
            name = topic["name"]
            if name in answered:
                continue
            answered.add(name)
            error: ErrorCode
            message: str | None
            if counts[name] > 1:
                error, message = ErrorCode.INVALID_REQUEST, "Duplicate topic name."
            elif new > MAX_NEW_PARTITIONS_PER_REQUEST:
                error, message = (
                    ErrorCode.POLICY_VIOLATION,
                    (
                        f"Unable to perform excessively large batch operation: {new} partitions requested, "
                        f"at most {MAX_NEW_PARTITIONS_PER_REQUEST} per request"
                    ),
                )
            else:
                error, message = create_partitions_problem(snapshot, topic, self.store.is_internal(name))
                if error is ErrorCode.NONE and not body["validate_only"]:
                    error, message = await _run(
                        self.cluster.create_partitions, name, topic["count"], assignment_lists(topic)
                    )
            results.append({"name": name, "error_code": error, "error_message": message})
        return {"throttle_time_ms": 0, "results": results}

    # --- ElectLeaders ----------------------------------------------------------------------------------------

    async def elect_leaders(self, ctx: RequestContext, body: Body) -> Body:
        election_type = body["election_type"] if ctx.header.api_version >= 1 else ELECTION_PREFERRED
        requested = body["topic_partitions"]
        wanted = None if requested is None else [(t["topic"], p) for t in requested for p in t["partitions"]]
        if election_type not in (ELECTION_PREFERRED, ELECTION_UNCLEAN):
            return _elect_failure(wanted, ErrorCode.INVALID_REQUEST, f"Unknown election type {election_type}")
        try:
            outcome = await asyncio.to_thread(self.cluster.elect_leaders, wanted, election_type == ELECTION_UNCLEAN)
        except Exception as exc:
            return _elect_failure(wanted, _code(exc, "elect leaders"), str(exc))
        by_topic: dict[str, list[Body]] = {}
        for topic, partition in outcome if wanted is None else wanted:
            results = by_topic.setdefault(topic, [])
            error = outcome.get((topic, partition))
            code = ErrorCode.NONE if error is None else error_code_for(error)
            if wanted is None and code is ErrorCode.ELECTION_NOT_NEEDED:
                continue  # Kafka leaves out partitions already led as wanted when asked for all of them
            results.append(
                {"partition_id": partition, "error_code": code, "error_message": None if error is None else str(error)}
            )
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "replica_election_results": [{"topic": t, "partition_result": r} for t, r in by_topic.items()],
        }

    # --- partition reassignments -----------------------------------------------------------------------------

    async def alter_partition_reassignments(self, ctx: RequestContext, body: Body) -> Body:
        """Each entry of the request is answered in place; entries that pass Kafka's checks go to the cluster in
        one command (a partition named twice gets the last of its targets)."""
        snapshot = self.cluster.snapshot()
        problems: dict[tuple[int, int], tuple[ErrorCode, str] | None] = {}
        valid: dict[TopicPartition, Sequence[int] | None] = {}
        for t, topic in enumerate(body["topics"]):
            for p, request in enumerate(topic["partitions"]):
                key, replicas = (topic["name"], request["partition_index"]), request["replicas"]
                problems[(t, p)] = reassignment_problem(snapshot, key, replicas)
                if problems[(t, p)] is None and not body.get("allow_replication_factor_change", True):
                    problems[(t, p)] = _replication_factor_change(snapshot, key, replicas)
                if problems[(t, p)] is None:
                    valid[key] = None if replicas is None else list(replicas)
        top_error: ErrorCode = ErrorCode.NONE
        top_message: str | None = None
        outcome: Mapping[TopicPartition, LogError | None] = {}
        if valid:
            try:
                outcome = await asyncio.to_thread(self.cluster.alter_reassignments, valid)
            except Exception as exc:
                top_error, top_message = _code(exc, "alter partition reassignments"), str(exc)
        responses: list[Body] = []
        for t, topic in enumerate(body["topics"]):
            partitions: list[Body] = []
            for p, request in enumerate(topic["partitions"]):
                problem = problems[(t, p)]
                error = outcome.get((topic["name"], request["partition_index"]))
                code: ErrorCode
                message: str | None
                if problem is not None:
                    code, message = problem[0], problem[1]
                elif top_error is not ErrorCode.NONE:
                    code, message = top_error, top_message
                else:
                    code, message = (ErrorCode.NONE, None) if error is None else (error_code_for(error), str(error))
                partitions.append(
                    {"partition_index": request["partition_index"], "error_code": code, "error_message": message}
                )
            responses.append({"name": topic["name"], "partitions": partitions})
        return {
            "throttle_time_ms": 0,
            "allow_replication_factor_change": body.get("allow_replication_factor_change", True),
            "error_code": top_error,
            "error_message": top_message,
            "responses": responses,
        }

    async def list_partition_reassignments(self, ctx: RequestContext, body: Body) -> Body:
        snapshot = self.cluster.snapshot()
        requested = body["topics"]
        if requested is None:
            wanted = [(name, list(range(len(t.partitions)))) for name, t in sorted(snapshot.topics.items())]
        else:
            wanted = [(t["name"], t["partition_indexes"]) for t in requested if t["name"] in snapshot.topics]
        topics: list[Body] = []
        for name, indexes in wanted:
            partitions = snapshot.topics[name].partitions
            ongoing = [
                {
                    "partition_index": index,
                    "replicas": list(partitions[index].replicas),
                    "adding_replicas": list(partitions[index].adding),
                    "removing_replicas": list(partitions[index].removing),
                }
                for index in indexes
                if 0 <= index < len(partitions) and (partitions[index].adding or partitions[index].removing)
            ]
            if ongoing:
                topics.append({"name": name, "partitions": ongoing})
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "topics": topics}

    # --- describing ------------------------------------------------------------------------------------------

    async def describe_log_dirs(self, ctx: RequestContext, body: Body) -> Body:
        requested = body["topics"]
        wanted = None if requested is None else {(t["topic"], p) for t in requested for p in t["partitions"]}
        result = await asyncio.to_thread(self._describe_log_dir, wanted)
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "results": [result]}

    def _describe_log_dir(self, wanted: set[TopicPartition] | None) -> Body:
        path = str(self.store.data_dir.resolve())
        try:
            volume = os.statvfs(path)
        except OSError as exc:
            log.warning("cannot describe log directory %s: %s", path, exc)
            return {"error_code": ErrorCode.KAFKA_STORAGE_ERROR, "log_dir": path, "topics": []}
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for partition in self.store.partitions():
            if wanted is not None and (partition.topic, partition.partition) not in wanted:
                continue
            by_topic.setdefault(partition.topic, []).append(
                {
                    "partition_index": partition.partition,
                    "partition_size": partition.size_bytes,
                    # Kafka's lag of a current (not future) log: how far its end is behind the high watermark.
                    "offset_lag": max(partition.high_watermark - partition.log_end_offset, 0),
                    "is_future_key": False,
                }
            )
        for parts in by_topic.values():
            parts.sort(key=lambda entry: int(entry["partition_index"]))
        topics = [{"name": name, "partitions": parts} for name, parts in sorted(by_topic.items())]
        return {
            "error_code": ErrorCode.NONE,
            "log_dir": path,
            "topics": topics,
            "total_bytes": volume.f_blocks * volume.f_frsize,
            "usable_bytes": volume.f_bavail * volume.f_frsize,
        }

    async def describe_cluster(self, ctx: RequestContext, body: Body) -> Body:
        answer: Body = {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None}
        endpoint_type = body["endpoint_type"]
        answer["endpoint_type"] = endpoint_type
        if endpoint_type != ENDPOINT_TYPE_BROKER:
            known = endpoint_type == ENDPOINT_TYPE_CONTROLLER
            answer["error_code"] = ErrorCode.MISMATCHED_ENDPOINT_TYPE if known else ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
            answer["error_message"] = (
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                if known
                else f"Unsupported endpoint type {endpoint_type}"
            )
            return answer
        snapshot = self.cluster.snapshot()
        alive = [b for _, b in sorted(snapshot.brokers.items()) if not b.fenced]
        alive_ids = {b.node_id for b in alive}
        # Version 2 (KIP-1073) lists fenced brokers too when asked, marked as such.
        listed = sorted(snapshot.brokers.items()) if body.get("include_fenced_brokers") else [(0, b) for b in alive]
        answer.update(
            cluster_id=snapshot.cluster_id,
            controller_id=snapshot.controller_id if snapshot.controller_id in alive_ids else -1,
            brokers=[
                {"broker_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack, "is_fenced": b.fenced}
                for _, b in listed
            ],
            cluster_authorized_operations=CLUSTER_AUTHORIZED_OPERATIONS
            if body["include_cluster_authorized_operations"]
            else AUTHORIZED_OPERATIONS_OMITTED,
        )
        return answer

    async def describe_quorum(self, ctx: RequestContext, body: Body) -> Body:
        topics = body["topics"]
        if not (
            len(topics) == 1
            and topics[0]["topic_name"] == METADATA_TOPIC
            and len(topics[0]["partitions"]) == 1
            and topics[0]["partitions"][0]["partition_index"] == METADATA_PARTITION
        ):
            unknown = {"error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "error_message": UNKNOWN_PARTITION}
            return {
                "error_code": ErrorCode.NONE,
                "error_message": None,
                "topics": [
                    {
                        "topic_name": t["topic_name"],
                        "partitions": [{"partition_index": p["partition_index"], **unknown} for p in t["partitions"]],
                    }
                    for t in topics
                ],
            }
        try:
            status = await asyncio.to_thread(self.cluster.quorum_status)
        except Exception as exc:
            return {"error_code": _code(exc, "describe the quorum"), "error_message": str(exc), "topics": []}
        partition = {
            "partition_index": METADATA_PARTITION,
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "leader_id": status.leader_id,
            "leader_epoch": status.leader_epoch,
            "high_watermark": status.high_watermark,
            "current_voters": [_replica_state(r) for r in status.voters],
            "observers": [_replica_state(r) for r in status.observers],
        }
        nodes = [
            {"node_id": node, "listeners": [{"name": n, "host": h, "port": p} for n, h, p in listeners]}
            for node, listeners in sorted(status.endpoints.items())
        ]
        return {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "topics": [{"topic_name": METADATA_TOPIC, "partitions": [partition]}],
            "nodes": nodes,
        }


def _replication_factor_change(
    snapshot: ClusterView, key: TopicPartition, replicas: Sequence[int] | None
) -> tuple[ErrorCode, str] | None:
    """Version 1's refusal (KIP-860) of a reassignment that changes the partition's replication factor while the
    request does not allow it; a cancellation (no replicas) changes none."""
    if replicas is None:
        return None
    current = snapshot.topics[key[0]].partitions[key[1]]
    now = len(current.replicas) - len(current.adding)
    if len(replicas) == now:
        return None
    return (
        ErrorCode.INVALID_REPLICATION_FACTOR,
        f"The replication factor is changed from {now} to {len(replicas)} but allowReplicationFactorChange was false.",
    )


def _additional(snapshot: ClusterView, topic: Body) -> int:
    current = snapshot.topics.get(topic["name"])
    return max(topic["count"] - len(current.partitions), 0) if current is not None else 0


def _elect_failure(wanted: list[TopicPartition] | None, code: ErrorCode, message: str) -> Body:
    """Kafka's error response to ElectLeaders: the error at the top and for every requested partition."""
    by_topic: dict[str, list[Body]] = {}
    for topic, partition in wanted or ():
        by_topic.setdefault(topic, []).append({"partition_id": partition, "error_code": code, "error_message": message})
    return {
        "throttle_time_ms": 0,
        "error_code": code,
        "replica_election_results": [{"topic": t, "partition_result": r} for t, r in by_topic.items()],
    }


def _replica_state(replica: ReplicaStatusView) -> Body:
    return {
        "replica_id": replica.replica_id,
        "log_end_offset": replica.log_end_offset,
        "last_fetch_timestamp": replica.last_fetch_timestamp,
        "last_caught_up_timestamp": replica.last_caught_up_timestamp,
    }


def _code(exc: BaseException, what: str) -> ErrorCode:
    code = error_code_for(exc)
    if code is ErrorCode.UNKNOWN_SERVER_ERROR:
        log.error("failed to %s", what, exc_info=exc)
    return code


async def _run(command: Any, *args: Any) -> tuple[ErrorCode, str | None]:
    """Run a blocking cluster command in a worker thread; its outcome as (error code, message)."""
    try:
        await asyncio.to_thread(command, *args)
    except Exception as exc:
        return _code(exc, "change the cluster"), str(exc)
    return ErrorCode.NONE, None
