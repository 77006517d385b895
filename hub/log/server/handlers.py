"""RequestHandlers: one coroutine per Kafka API, turning decoded requests into response dicts over a Broker.

Requests and responses are the protocol codec's plain dicts (hub.log.protocol); the group APIs are routed to
GroupHandlers (``group_handlers``), the transaction APIs (InitProducerId included) to TransactionHandlers
(``txn_handlers``), the cluster admin APIs to ClusterAdminHandlers (``cluster_handlers``) over the
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
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from hub.log.batch import next_offset_after
from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import (
    InternalTopicError,
    InvalidConfigError,
    LogError,
    ReplicationTimeoutError,
    UnknownTopicIdError,
)
from hub.log.partition import PartitionLog
from hub.log.security.scram_credentials import ScramCredentialStore
from hub.log.server import sasl_handlers
from hub.log.server.api_versions import api_versions
from hub.log.server.cluster_handlers import ClusterAdminHandlers
from hub.log.server.cluster_metadata import cluster_brokers, cluster_partitions
from hub.log.server.cluster_view import ClusterAdmin
from hub.log.server.config_handlers import ConfigHandlers
from hub.log.server.consumer_group_handlers import ConsumerGroupHandlers
from hub.log.server.context import Body, CoordinatorNode, RequestContext, ServerIdentity
from hub.log.server.coordinator_lookup import CoordinatorLookup
from hub.log.server.describe_topic_partitions import describe_topic_partitions
from hub.log.server.group_admin_handlers import GroupAdminHandlers
from hub.log.server.group_handlers import GroupHandlers
from hub.log.server.list_offsets import list_offsets
from hub.log.server.quorum_admin import QuorumAdmin
from hub.log.server.record_handlers import RecordHandlers
from hub.log.server.security_handlers import SecurityHandlers
from hub.log.server.single_node import SingleNodeCluster
from hub.log.server.topic_handlers import TopicHandlers
from hub.log.server.topic_ids import ZERO_UUID, TopicIds, topic_uuid
from hub.log.server.txn_handlers import TransactionHandlers
from hub.log.server.txn_offset_handlers import TxnOffsetHandlers
from hub.log.store import TopicInfo

log = logging.getLogger("hub.log.server")

NODE_ID = 0
#: From these versions (KIP-951) a partition answered NOT_LEADER_OR_FOLLOWER (Fetch: or FENCED_LEADER_EPOCH)
#: carries its current leader, and the answer the endpoints of those leaders.
CURRENT_LEADER_PRODUCE_VERSION = 10
CURRENT_LEADER_FETCH_VERSION = 16
_LEADER_MOVED = frozenset({ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH})
LONG_POLL_SLICE_S = 1.0
#: Fetch's and ListOffsets' ``isolation_level`` for read_committed (0 is read_uncommitted).
READ_COMMITTED = 1


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
        transaction_node = broker.cluster.transaction_node if broker.cluster is not None else None
        coordinators = CoordinatorLookup(
            lambda: self.broker.coordinator, identity.node_id, self.coordinator_node, transaction_node
        )
        self.groups = GroupHandlers(coordinators)
        configs = ConfigHandlers(broker, identity.node_id)
        self.topics = TopicHandlers(broker, configs.topic_configs)
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
            18: api_versions,
            23: self.offset_for_leader_epoch,
            75: self.describe_topic_partitions,
            **self.topics.routes,
            **self.cluster_admin.routes,
            **RecordHandlers(broker).routes,
            **configs.routes,
            **GroupAdminHandlers(coordinators).routes,
            **(security or SecurityHandlers(None, ScramCredentialStore.in_directory(broker.store.data_dir))).routes,
            **ConsumerGroupHandlers(coordinators).routes,
            **TxnOffsetHandlers(coordinators, self._partition_count).routes,
            **sasl_handlers.routes,
            **TransactionHandlers(broker, lambda: self.broker.transactions).routes,
        }

    def _partition_count(self, topic: str) -> int | None:
        info = self.broker.store.topics().get(topic)
        return None if info is None else info.partitions

    def _this_node(self) -> tuple[int, str, int]:
        """The single-node answer to "who is the coordinator": this server."""
        return self.identity.node_id, self.identity.host, self.identity.port

    # --- cluster -----------------------------------------------------------------------------------------------

    async def metadata(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's Metadata. From version 10 each topic carries its id; from 12 topics may be asked by id (an unknown
        one answered UNKNOWN_TOPIC_ID, as Kafka does; a request naming any id is answered for its ids only); 10 and 11
        refuse ids and null names with INVALID_REQUEST."""
        version = ctx.header.api_version
        requested = body.get("topics")
        store_topics = self.broker.store.topics()
        ids = TopicIds(store_topics)
        by_id: list[Body] = []
        if requested is not None and any(t["name"] is None or t["topic_id"] != ZERO_UUID for t in requested):
            if version < 12:
                return _metadata_refused(requested, version)
            names = []
            for entry in requested:
                if entry["topic_id"] == ZERO_UUID:
                    continue
                name = ids.name(entry["topic_id"])
                if name is None:
                    unknown = _metadata_topic(None, ErrorCode.UNKNOWN_TOPIC_ID, [])
                    by_id.append({**unknown, "topic_id": entry["topic_id"]})
                else:
                    names.append(name)
        elif requested is None or (version == 0 and not requested):
            names = sorted(store_topics)
        else:
            names = [entry["name"] for entry in requested]
        allow_create = body.get("allow_auto_topic_creation", True) if version >= 4 else True
        cluster = self.broker.cluster
        topics: list[Body] = []
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
            entry = _metadata_topic(name, ErrorCode.NONE, self._partitions_of(name, info))
            entry["is_internal"] = info.internal
            entry["topic_id"] = topic_uuid(info)
            topics.append(entry)
        topics += by_id
        brokers = self._brokers()
        if cluster is None:
            controller = NODE_ID
        else:
            metadata = cluster.metadata()
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
            "error_code": ErrorCode.NONE,
        }

    def _partitions_of(self, name: str, info: TopicInfo) -> list[Body]:
        """The topic's partitions as Metadata (and DescribeTopicPartitions) describe them."""
        cluster = self.broker.cluster
        if cluster is None:
            return [_single_node_partition(index) for index in range(info.partitions)]
        return cluster_partitions(cluster.metadata(), name)

    def _brokers(self) -> list[Body]:
        """The live brokers as Metadata lists them."""
        cluster = self.broker.cluster
        if cluster is None:
            return [{"node_id": NODE_ID, "host": self.identity.host, "port": self.identity.port, "rack": None}]
        return cluster_brokers(cluster.metadata())

    def _hint_leaders(
        self, answer: Body, partitions: list[tuple[tuple[str, int], Body]], codes: Collection[ErrorCode]
    ) -> None:
        """KIP-951: each partition answered with one of ``codes`` gets its ``current_leader`` as the metadata knows
        it, and the answer the endpoints of those leaders that are alive (Kafka's hints after a leader moved)."""
        moved = [(key, partition) for key, partition in partitions if partition["error_code"] in codes]
        if not moved:
            return
        topics = self.broker.store.topics()
        leaders: dict[tuple[str, int], Body] = {}
        for (topic, partition), partition_answer in moved:
            info = topics.get(topic)
            known = {p["partition_index"]: p for p in self._partitions_of(topic, info)} if info is not None else {}
            entry = known.get(partition)
            leaders[(topic, partition)] = partition_answer["current_leader"] = {
                "leader_id": entry["leader_id"] if entry else -1,
                "leader_epoch": entry["leader_epoch"] if entry else -1,
            }
        wanted = {leader["leader_id"] for leader in leaders.values()}
        answer["node_endpoints"] = [broker for broker in self._brokers() if broker["node_id"] in wanted]

    async def describe_topic_partitions(self, ctx: RequestContext, body: Body) -> Body:
        return await describe_topic_partitions(self.broker.store, self._partitions_of, ctx, body)

    # --- produce and fetch -------------------------------------------------------------------------------------

    async def produce(self, ctx: RequestContext, body: Body) -> Body | None:
        """Kafka's Produce; version 13 names topics by id (an unknown id is answered UNKNOWN_TOPIC_ID for each of
        its partitions, and creates nothing)."""
        acks = body["acks"]
        by_id = ctx.header.api_version >= 13
        ids = TopicIds(self.broker.store.topics()) if by_id else None
        responses: list[Body] = []
        names: list[str | None] = []
        for topic in body["topic_data"]:
            topic_id = topic.get("topic_id", ZERO_UUID)
            name = ids.name(topic_id) if ids is not None else topic["name"]
            partitions = []
            for data in topic["partition_data"]:
                if name is None:
                    partitions.append(_produce_answer(data["index"], ErrorCode.UNKNOWN_TOPIC_ID))
                    continue
                partitions.append(
                    await self._produce_partition(name, data["index"], data["records"], acks, body["timeout_ms"])
                )
            responses.append({"name": topic.get("name", ""), "topic_id": topic_id, "partition_responses": partitions})
            names.append(name)
        # (acks=all answers wait for replication; the request's timeout_ms bounds that wait, as in Kafka)
        if acks == 0:
            return None
        answer: Body = {"responses": responses, "throttle_time_ms": 0}
        if ctx.header.api_version >= CURRENT_LEADER_PRODUCE_VERSION:
            partitions_answered = [
                ((name or "", p["index"]), p)
                for name, t in zip(names, responses, strict=True)
                for p in t["partition_responses"]
            ]
            self._hint_leaders(answer, partitions_answered, {ErrorCode.NOT_LEADER_OR_FOLLOWER})
        return answer

    async def _produce_partition(self, topic: str, partition: int, records: Any, acks: int, timeout_ms: int) -> Body:
        answer = _produce_answer(partition, ErrorCode.NONE)
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
        disconnected.

        Versions 13+ name topics by id (UNKNOWN_TOPIC_ID for an unknown one). Fetch sessions (KIP-227) are not
        kept, as on a Kafka broker whose session cache has no room: a full fetch (epoch 0 or -1) is answered in full
        with session id 0, which tells the client to go on with full fetches, and an incremental one (epoch > 0)
        with FETCH_SESSION_ID_NOT_FOUND. A partition whose ``last_fetched_epoch`` (12+) ends before the fetch offset
        in this log is answered with its ``diverging_epoch`` and no records, as Kafka's leader does."""
        version = ctx.header.api_version
        if body.get("session_epoch", -1) > 0:
            return {
                "throttle_time_ms": 0,
                "error_code": ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
                "session_id": 0,
                "responses": [],
            }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + body["max_wait_ms"] / 1000
        min_bytes = body["min_bytes"]
        max_bytes = min(body.get("max_bytes", 0x7FFFFFFF) or 0x7FFFFFFF, self.broker.fetch_max_bytes)
        ids = TopicIds(self.broker.store.topics()) if version >= 13 else None
        # A partition named twice is read once, the last request for it winning in the first one's place (Kafka
        # keys fetch data by partition): otherwise one answer could repeat the same data a thousand times.
        unique: dict[tuple[Any, int], tuple[FetchTopic, Body]] = {}
        for t in body["topics"]:
            topic_id = t.get("topic_id", ZERO_UUID)
            topic = FetchTopic(t["topic"], topic_id) if ids is None else FetchTopic(ids.name(topic_id), topic_id)
            for r in t["partitions"]:
                unique[(t["topic"] if ids is None else topic_id, r["partition"])] = (topic, r)
        requested = list(unique.values())
        replica = body.get("replica_id", -1) if version < 15 else body.get("replica_state", {}).get("replica_id", -1)
        committed = replica < 0 and body.get("isolation_level", 0) == READ_COMMITTED
        while True:
            answers, total, errors, next_start = self._read_fetch(
                requested, max_bytes, ctx.connection.fetch_start, replica, committed
            )
            remaining = deadline - loop.time()
            if total >= min_bytes or remaining <= 0 or errors or ctx.connection.closed():
                if log.isEnabledFor(logging.DEBUG):
                    asked = [
                        (topic.name, request["partition"], request["fetch_offset"]) for topic, request in requested
                    ]
                    log.debug(
                        "fetch %s: %d bytes after %.3f s", asked, total, body["max_wait_ms"] / 1000 - max(remaining, 0)
                    )
                ctx.connection.fetch_start = next_start
                answer: Body = {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "session_id": 0}
                if version >= CURRENT_LEADER_FETCH_VERSION:
                    named = [(topic.name or "", request["partition"]) for topic, request in requested]
                    self._hint_leaders(answer, list(zip(named, answers, strict=True)), _LEADER_MOVED)
                responses: list[Body] = []
                previous: FetchTopic | None = None
                for (topic, _), partition_answer in zip(requested, answers, strict=True):
                    if topic != previous:
                        responses.append({"topic": topic.name or "", "topic_id": topic.id, "partitions": []})
                        previous = topic
                    responses[-1]["partitions"].append(partition_answer)
                answer["responses"] = responses
                return answer
            # In slices, so a poll whose client has gone ends within a slice instead of holding its connection
            # (and file descriptor) for up to max_wait_ms, which a client may set to 24 days.
            await self._wait_for_data(min(remaining, LONG_POLL_SLICE_S))

    def _read_fetch(
        self, requested: list[tuple[FetchTopic, Body]], max_bytes: int, start: int, replica: int, committed: bool
    ) -> tuple[list[Body], int, bool, int]:
        """Each requested partition's answer (in request order), the bytes read, whether any failed or diverged, and
        where the next fetch starts (after the last partition that gave data, or where this one started). A follower
        (``replica`` >= 0) reads up to the log end, a consumer up to the high watermark — up to the last stable
        offset when ``committed`` (read_committed), with the aborted transactions of the range it returns (the
        consumer drops their records and the markers itself, as Kafka's clients do)."""
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
                if topic.name is None:
                    raise UnknownTopicIdError(f"no topic has the id {topic.id}")
                log_, limit = self._readable(topic.name, request, replica)
                stable = log_.last_stable_offset
                answer.update(
                    high_watermark=log_.high_watermark,
                    last_stable_offset=stable,
                    log_start_offset=log_.log_start_offset,
                )
                if committed:
                    limit = stable if limit is None else min(limit, stable)
                diverging = _diverging_epoch(log_, request)
                if diverging is not None:
                    answer["diverging_epoch"] = diverging
                    answers[index] = answer
                    errors = True  # answered at once, as Kafka answers a diverging fetcher
                    continue
                budget = min(request["partition_max_bytes"], max_bytes - total)
                data = log_.read(request["fetch_offset"], budget, max_offset=limit) if budget > 0 or total == 0 else b""
                if total and len(data) > budget:  # only the first partition with data may exceed (one batch)
                    data = b""
                if data:
                    total += len(data)
                    next_start = (index + 1) % count
                if committed:
                    answer["aborted_transactions"] = _aborted(log_, request["fetch_offset"], data)
                answer["records"] = data
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
        return await list_offsets(self.broker, ctx, body)


@dataclass(frozen=True)
class FetchTopic:
    """A topic a Fetch names: its name (None for an id no topic has) and its id (the zero uuid before v13)."""

    name: str | None
    id: uuid.UUID


def _diverging_epoch(log_: PartitionLog, request: Body) -> Body | None:
    """Where the fetcher's log diverges from this one, when its ``last_fetched_epoch`` ends before its fetch offset
    here (Kafka's check); None when it does not, or the fetcher sent no epoch."""
    last_epoch = request.get("last_fetched_epoch", -1)
    if last_epoch < 0:
        return None
    epoch, end_offset = log_.end_offset_for_epoch(last_epoch)
    if epoch < last_epoch or end_offset < request["fetch_offset"]:
        return {"epoch": epoch, "end_offset": end_offset}
    return None


def _aborted(log_: PartitionLog, fetch_offset: int, data: bytes) -> list[Body]:
    """The aborted transactions holding records among the batches read (Fetch's ``aborted_transactions``)."""
    if not data:
        return []
    return [
        {"producer_id": txn.producer_id, "first_offset": txn.first_offset}
        for txn in log_.aborted_transactions(fetch_offset, next_offset_after(data))
    ]


def _produce_answer(partition: int, error: ErrorCode) -> Body:
    return {
        "index": partition,
        "error_code": error,
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": -1,
        "record_errors": [],
        "error_message": None,
    }


def _metadata_refused(requested: list[Body], version: int) -> Body:
    """Kafka's answer to a Metadata request of version 10 or 11 naming a topic by id (or by a null name)."""
    return {
        "throttle_time_ms": 0,
        "brokers": [],
        "cluster_id": None,
        "controller_id": -1,
        "topics": [
            {**_metadata_topic(t["name"] or "", ErrorCode.INVALID_REQUEST, []), "topic_id": t["topic_id"]}
            for t in requested
        ],
        "error_code": ErrorCode.INVALID_REQUEST,
    }


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
