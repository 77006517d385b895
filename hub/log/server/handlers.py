"""RequestHandlers: one coroutine per Kafka API, turning decoded requests into response dicts over a Broker.

Requests and responses are the protocol codec's plain dicts (hub.log.protocol); the group APIs are routed to
GroupHandlers (``group_handlers``), the cluster admin APIs to ClusterAdminHandlers (``cluster_handlers``) over the
cluster given, or over this store as a cluster of one node. Work that may block — waiting for an fsync, a group
rebalance, a durable offset commit — is awaited without blocking the event loop (``asyncio.wrap_future`` on the
store's futures, or a worker thread). Every error becomes the error code Kafka would send for it.

Internal topics (``TopicStore.is_internal``) are the store's own: Produce and DeleteTopics to them are refused with
INVALID_TOPIC_EXCEPTION (Kafka refuses appends to its internal topics with it, and deletes their records with it);
reading them is allowed, as in Kafka.

Safe for one event loop; the Broker underneath is thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import (
    InternalTopicError,
    InvalidConfigError,
    LogError,
    ReplicationTimeoutError,
)
from hub.log.partition import PartitionLog
from hub.log.security.scram_credentials import ScramCredentialStore
from hub.log.server import sasl_handlers
from hub.log.server.cluster_handlers import ClusterAdminHandlers
from hub.log.server.cluster_metadata import cluster_brokers, cluster_partitions
from hub.log.server.cluster_view import ClusterAdmin
from hub.log.server.config_handlers import ConfigHandlers
from hub.log.server.consumer_group_handlers import ConsumerGroupHandlers
from hub.log.server.context import Body, CoordinatorNode, RequestContext, ServerIdentity
from hub.log.server.group_admin_handlers import GroupAdminHandlers
from hub.log.server.group_handlers import GroupHandlers
from hub.log.server.quorum_admin import QuorumAdmin
from hub.log.server.record_handlers import RecordHandlers
from hub.log.server.security_handlers import SecurityHandlers
from hub.log.server.single_node import SingleNodeCluster
from hub.log.server.topic_handlers import TopicHandlers
from hub.log.server.versions import ADVERTISED, MIN_PRODUCE_WITH_RECORD_BATCHES
from hub.log.store import TopicInfo

log = logging.getLogger("hub.log.server")

NODE_ID = 0
LONG_POLL_SLICE_S = 1.0


class RequestHandlers:
    """The Kafka APIs over a Broker (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        identity: ServerIdentity,
        wait_for_data: Callable[[float], Awaitable[None]],
        cluster: ClusterAdmin | None = None,
        *,
        coordinator_node: CoordinatorNode | None = None,
        security: SecurityHandlers | None = None,
    ) -> None:
        self.broker = broker
        self.identity = identity
        self._wait_for_data = wait_for_data
        if broker.cluster is not None:
            identity = self.identity = replace(identity, node_id=broker.cluster.node_id)
            cluster = cluster or QuorumAdmin(broker.cluster)
            coordinator_node = coordinator_node or broker.cluster.coordinator_node
        self.coordinator_node = coordinator_node or self._this_node
        self.groups = GroupHandlers(lambda: self.broker.coordinator, identity.node_id, self.coordinator_node)
        self.topics = TopicHandlers(broker)
        self.cluster_admin = ClusterAdminHandlers(cluster or SingleNodeCluster(broker.store, identity), broker.store)
        self.routes: dict[int, Callable[[RequestContext, Body], Awaitable[Body | None]]] = {
            0: self.produce,
            1: self.fetch,
            2: self.list_offsets,
            3: self.metadata,
            8: self.groups.offset_commit,
            9: self.groups.offset_fetch,
            10: self.groups.find_coordinator,
            11: self.groups.join_group,
            12: self.groups.heartbeat,
            13: self.groups.leave_group,
            14: self.groups.sync_group,
            15: self.groups.describe_groups,
            16: self.groups.list_groups,
            18: self.api_versions,
            22: self.init_producer_id,
            23: self.offset_for_leader_epoch,
            **self.topics.routes,
            **self.cluster_admin.routes,
            **RecordHandlers(broker).routes,
            **ConfigHandlers(broker, identity.node_id).routes,
            **GroupAdminHandlers(lambda: self.broker.coordinator, identity.node_id, self.coordinator_node).routes,
            **(security or SecurityHandlers(None, ScramCredentialStore.in_directory(broker.store.data_dir))).routes,
            **ConsumerGroupHandlers(lambda: self.broker.coordinator, identity.node_id, self.coordinator_node).routes,
            **sasl_handlers.routes,
        }

    def _this_node(self) -> tuple[int, str, int]:
        """The single-node answer to "who is the coordinator": this server."""
        return self.identity.node_id, self.identity.host, self.identity.port

    # --- cluster -----------------------------------------------------------------------------------------------

    async def api_versions(self, ctx: RequestContext, body: Body) -> Body:
        keys = [
            {"api_key": key, "min_version": low, "max_version": high} for key, (low, high) in sorted(ADVERTISED.items())
        ]
        return {"error_code": ErrorCode.NONE, "api_keys": keys, "throttle_time_ms": 0}

    async def metadata(self, ctx: RequestContext, body: Body) -> Body:
        version = ctx.header.api_version
        requested = body.get("topics")
        store_topics = self.broker.store.topics()
        if requested is None or (version == 0 and not requested):
            names = sorted(store_topics)
        else:
            names, unknown_ids = _requested_names(requested, store_topics)
            topics_by_id = [
                _metadata_topic(None, ErrorCode.UNKNOWN_TOPIC_ID, []) | {"topic_id": i} for i in unknown_ids
            ]
        allow_create = body.get("allow_auto_topic_creation", True) if version >= 4 else True
        cluster = self.broker.cluster
        topics = [] if requested is None or (version == 0 and not requested) else topics_by_id
        for name in names:
            info = store_topics.get(name)
            if info is None and allow_create and self.broker.auto_create_topics:
                try:
                    info = await asyncio.to_thread(self.broker.topic, name, create=True)
                except InvalidConfigError:
                    topics.append(_metadata_topic(name, ErrorCode.INVALID_TOPIC_EXCEPTION, []))
                    continue
                except LogError as exc:
                    topics.append(_metadata_topic(name, error_code_for(exc), []))
                    continue
            if info is None:
                topics.append(_metadata_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []))
                continue
            if cluster is None:
                partitions = [_single_node_partition(index) for index in range(info.partitions)]
            else:
                partitions = cluster_partitions(cluster.metadata(), name)
            entry = _metadata_topic(name, ErrorCode.NONE, partitions)
            entry["is_internal"] = info.internal
            entry["topic_id"] = uuid.UUID(hex=info.topic_id)
            topics.append(entry)
        if cluster is None:
            brokers = [{"node_id": NODE_ID, "host": self.identity.host, "port": self.identity.port, "rack": None}]
            controller = NODE_ID
        else:
            metadata = cluster.metadata()
            brokers = cluster_brokers(metadata)
            # Every node takes admin requests (they go through the quorum), so a node answers with itself while
            # no live controller is known, as a KRaft broker names any live broker.
            live = metadata.live_brokers()
            if metadata.controller_id in live:
                controller = metadata.controller_id
            else:
                controller = cluster.node_id if cluster.node_id in live else (live[0] if live else -1)
        return {
            "throttle_time_ms": 0,
            "brokers": brokers,
            "cluster_id": self.identity.cluster_id if cluster is None else cluster.cluster_id,
            "controller_id": controller,
            "topics": topics,
            "cluster_authorized_operations": -2147483648,
        }

    # --- produce and fetch -------------------------------------------------------------------------------------

    async def produce(self, ctx: RequestContext, body: Body) -> Body | None:
        acks = body["acks"]
        version = ctx.header.api_version
        responses = []
        for topic in body["topic_data"]:
            partitions = []
            for data in topic["partition_data"]:
                partitions.append(
                    await self._produce_partition(
                        topic["name"], data["index"], data["records"], acks, version, body["timeout_ms"]
                    )
                )
            responses.append({"name": topic["name"], "partition_responses": partitions})
        # (acks=all answers wait for replication; the request's timeout_ms bounds that wait, as in Kafka)
        if acks == 0:
            return None
        return {"responses": responses, "throttle_time_ms": 0}

    async def _produce_partition(
        self, topic: str, partition: int, records: Any, acks: int, version: int, timeout_ms: int
    ) -> Body:
        answer: Body = {
            "index": partition,
            "error_code": ErrorCode.NONE,
            "base_offset": -1,
            "log_append_time_ms": -1,
            "log_start_offset": -1,
            "record_errors": [],
            "error_message": None,
        }
        if version < MIN_PRODUCE_WITH_RECORD_BATCHES:
            answer["error_code"] = ErrorCode.UNSUPPORTED_VERSION
            return answer
        if acks not in (-1, 0, 1):
            answer["error_code"] = ErrorCode.INVALID_REQUIRED_ACKS
            return answer
        if records is None or len(records) == 0:
            answer["error_code"] = ErrorCode.CORRUPT_MESSAGE
            answer["error_message"] = "no records"
            return answer
        try:
            if self.broker.store.is_internal(topic):
                raise InternalTopicError(f"Cannot append to internal topic {topic}")
            if self.broker.cluster is None:
                log_ = self.broker.partition(topic, partition, create=True)
                result = log_.append(bytes(records))
                if acks != 0:
                    await asyncio.wrap_future(result.durable)
            else:
                await asyncio.to_thread(self.broker.topic, topic, create=True)
                leadership = self.broker.cluster.replicas.leadership(topic, partition)
                leadership.check_can_append(acks)
                log_ = leadership.log
                result = log_.append(bytes(records), leader_epoch=leadership.epoch)
                if acks != 0:
                    await asyncio.wrap_future(result.durable)
                if acks == -1:
                    await self._replicated(leadership.replicated(result.last_offset + 1), timeout_ms, log_.name)
        except Exception as exc:
            answer["error_code"] = error_code_for(exc)
            answer["error_message"] = str(exc)
            if answer["error_code"] is ErrorCode.UNKNOWN_SERVER_ERROR:
                log.exception("produce to %s-%d failed", topic, partition)
            return answer
        answer.update(
            base_offset=result.base_offset,
            log_append_time_ms=result.log_append_time_ms,
            log_start_offset=log_.log_start_offset,
        )
        return answer

    @staticmethod
    async def _replicated(done: Future[None], timeout_ms: int, name: str) -> None:
        try:
            await asyncio.wait_for(asyncio.wrap_future(done), max(timeout_ms, 0) / 1000)
        except TimeoutError:
            raise ReplicationTimeoutError(
                f"{name}: written, but not replicated to the in-sync replicas within {timeout_ms} ms"
            ) from None

    async def fetch(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's Fetch with long polling. The answer carries at most the broker's ``fetch.max.bytes`` (and the
        request's ``max_bytes``), each partition at most its ``partition_max_bytes``, and always one batch if any
        partition has data. Partitions are read starting after the last one that gave data in the previous answer
        on this connection (as Kafka's fetch sessions move served partitions to the back), so a capped answer
        starves none of them; the answer lists them in the request's order. A poll ends early when its client has
        disconnected."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + body["max_wait_ms"] / 1000
        min_bytes = body["min_bytes"]
        max_bytes = min(body.get("max_bytes", 0x7FFFFFFF) or 0x7FFFFFFF, self.broker.fetch_max_bytes)
        # A partition named twice is read once, the last request for it winning in the first one's place (Kafka
        # keys fetch data by partition): otherwise one answer could repeat the same data a thousand times.
        unique = {(t["topic"], r["partition"]): (t["topic"], r) for t in body["topics"] for r in t["partitions"]}
        requested = list(unique.values())
        replica = body.get("replica_id", -1)
        while True:
            answers, total, errors, next_start = self._read_fetch(
                requested, max_bytes, ctx.connection.fetch_start, replica
            )
            remaining = deadline - loop.time()
            if total >= min_bytes or remaining <= 0 or errors or ctx.connection.closed():
                if log.isEnabledFor(logging.DEBUG):
                    asked = [(topic, request["partition"], request["fetch_offset"]) for topic, request in requested]
                    log.debug(
                        "fetch %s: %d bytes after %.3f s", asked, total, body["max_wait_ms"] / 1000 - max(remaining, 0)
                    )
                ctx.connection.fetch_start = next_start
                responses: list[Body] = []
                for (topic, _), answer in zip(requested, answers, strict=True):
                    if not responses or responses[-1]["topic"] != topic:
                        responses.append({"topic": topic, "partitions": []})
                    responses[-1]["partitions"].append(answer)
                return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "session_id": 0, "responses": responses}
            # In slices, so a poll whose client has gone ends within a slice instead of holding its connection
            # (and file descriptor) for up to max_wait_ms, which a client may set to 24 days.
            await self._wait_for_data(min(remaining, LONG_POLL_SLICE_S))

    def _read_fetch(
        self, requested: list[tuple[str, Body]], max_bytes: int, start: int, replica: int
    ) -> tuple[list[Body], int, bool, int]:
        """Each requested partition's answer (in request order), the bytes read, whether any failed, and where
        the next fetch starts (after the last partition that gave data, or where this one started). A follower
        (``replica`` >= 0) reads up to the log end, a consumer up to the high watermark."""
        count = len(requested)
        answers: list[Body] = [{}] * count
        total = 0
        errors = False
        next_start = start
        for step in range(count):
            index = (start + step) % count
            topic, request = requested[index]
            answer: Body = {
                "partition_index": request["partition"],
                "error_code": ErrorCode.NONE,
                "high_watermark": -1,
                "last_stable_offset": -1,
                "log_start_offset": -1,
                "aborted_transactions": None,
                "preferred_read_replica": -1,
                "records": b"",
            }
            try:
                log_, limit = self._readable(topic, request, replica)
                budget = min(request["partition_max_bytes"], max_bytes - total)
                data = log_.read(request["fetch_offset"], budget, max_offset=limit) if budget > 0 or total == 0 else b""
                if total and len(data) > budget:  # only the first partition with data may exceed (one batch)
                    data = b""
                if data:
                    total += len(data)
                    next_start = (index + 1) % count
                answer.update(
                    high_watermark=log_.high_watermark,
                    last_stable_offset=log_.high_watermark,
                    log_start_offset=log_.log_start_offset,
                    records=data,
                )
            except Exception as exc:
                answer["error_code"] = error_code_for(exc)
                errors = True
            answers[index] = answer
        return answers, total, errors, next_start

    def _readable(self, topic: str, request: Body, replica: int) -> tuple[PartitionLog, int | None]:
        """The log a fetch reads and the offset it may not read past (None: the log end)."""
        cluster = self.broker.cluster
        if cluster is None:
            return self.broker.store.partition(topic, request["partition"]), None
        partition, epoch = request["partition"], request.get("current_leader_epoch", -1)
        if replica >= 0:
            cluster.replicas.follower_fetched(topic, partition, replica, request["fetch_offset"], epoch)
            return cluster.replicas.leadership(topic, partition).log, None
        leadership = cluster.replicas.leadership(topic, partition)
        leadership.check_epoch(epoch)
        return leadership.log, leadership.log.high_watermark

    async def offset_for_leader_epoch(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's OffsetForLeaderEpoch: where each asked leader epoch ends in this leader's log (a follower
        truncates its divergent tail there). A single node answers from its own log."""
        cluster = self.broker.cluster
        topics = []
        for topic in body["topics"]:
            partitions = []
            for request in topic["partitions"]:
                answer: Body = {
                    "error_code": ErrorCode.NONE,
                    "partition": request["partition"],
                    "leader_epoch": -1,
                    "end_offset": -1,
                }
                try:
                    if cluster is None:
                        log_ = self.broker.store.partition(topic["topic"], request["partition"])
                    else:
                        leadership = cluster.replicas.leadership(topic["topic"], request["partition"])
                        leadership.check_epoch(request.get("current_leader_epoch", -1))
                        log_ = leadership.log
                    epoch, end = log_.end_offset_for_epoch(request["leader_epoch"])
                    answer.update(leader_epoch=epoch, end_offset=end)
                except Exception as exc:
                    answer["error_code"] = error_code_for(exc)
                partitions.append(answer)
            topics.append({"topic": topic["topic"], "partitions": partitions})
        return {"throttle_time_ms": 0, "topics": topics}

    async def list_offsets(self, ctx: RequestContext, body: Body) -> Body:
        topics = []
        for topic in body["topics"]:
            partitions = []
            for request in topic["partitions"]:
                answer: Body = {
                    "partition_index": request["partition_index"],
                    "error_code": ErrorCode.NONE,
                    "timestamp": -1,
                    "offset": -1,
                    "leader_epoch": -1,
                }
                try:
                    epoch = 0
                    if self.broker.cluster is not None:
                        leadership = self.broker.cluster.replicas.leadership(topic["name"], request["partition_index"])
                        leadership.check_epoch(request.get("current_leader_epoch", -1))
                        epoch = leadership.epoch
                    found = self.broker.list_offset(topic["name"], request["partition_index"], request["timestamp"])
                    if found is not None:
                        answer.update(offset=found[0], timestamp=found[1], leader_epoch=epoch)
                except Exception as exc:
                    answer["error_code"] = error_code_for(exc)
                partitions.append(answer)
            topics.append({"name": topic["name"], "partitions": partitions})
        return {"throttle_time_ms": 0, "topics": topics}

    async def init_producer_id(self, ctx: RequestContext, body: Body) -> Body:
        if body.get("transactional_id") is not None:
            return {
                "throttle_time_ms": 0,
                "error_code": ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                "producer_id": -1,
                "producer_epoch": -1,
            }
        producer_id, epoch = await asyncio.to_thread(self.broker.init_producer_id)
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "producer_id": producer_id,
            "producer_epoch": epoch,
        }


def _requested_names(requested: list[Body], topics: Mapping[str, TopicInfo]) -> tuple[list[str], list[uuid.UUID]]:
    """Metadata's requested topics as names; from version 12 a topic may be named by its id alone (the consumer
    group protocol's assignments carry ids). Ids of no topic are returned apart."""
    by_id = {info.topic_id: name for name, info in topics.items()}
    names: list[str] = []
    unknown: list[uuid.UUID] = []
    for entry in requested:
        if entry.get("name") is not None:
            names.append(entry["name"])
            continue
        topic_id = entry.get("topic_id")
        name = by_id.get(topic_id.hex) if isinstance(topic_id, uuid.UUID) else None
        if name is None:
            unknown.append(topic_id if isinstance(topic_id, uuid.UUID) else uuid.UUID(int=0))
        else:
            names.append(name)
    return names, unknown


def _metadata_topic(name: str | None, error: ErrorCode, partitions: list[Body]) -> Body:
    return {
        "error_code": error,
        "name": name,
        "is_internal": False,
        "topic_authorized_operations": -2147483648,
        "partitions": partitions,
    }


def _single_node_partition(index: int) -> Body:
    return {
        "error_code": ErrorCode.NONE,
        "partition_index": index,
        "leader_id": NODE_ID,
        "leader_epoch": 0,
        "replica_nodes": [NODE_ID],
        "isr_nodes": [NODE_ID],
        "offline_replicas": [],
    }
