"""TopicHandlers: Kafka's topic APIs — CreateTopics (on one node into its store, on a cluster through the
metadata quorum with replication factors and replica assignments) and DeleteTopics — with Kafka's error codes for
bad input (the config APIs are in ``config_handlers``). Internal topics are refused to DeleteTopics with
INVALID_TOPIC_EXCEPTION.

Safe for one event loop; blocking store and quorum calls run in worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import InternalTopicError
from hub.log.server.context import Body, RequestContext
from hub.log.server.topic_ids import ZERO_UUID, TopicIds, topic_uuid

MAX_PARTITIONS_PER_REQUEST = 10_000
#: A topic's configs as DescribeConfigs reports them: (name, value, config source).
TopicConfigs = Callable[[str], list[tuple[str, str | None, int]]]


class TopicHandlers:
    """The topic APIs over a Broker (see the module docstring)."""

    def __init__(self, broker: Broker, topic_configs: TopicConfigs) -> None:
        self.broker = broker
        self._topic_configs = topic_configs
        self.routes: dict[int, Callable[[RequestContext, Body], Awaitable[Body | None]]] = {
            19: self.create_topics,
            20: self.delete_topics,
        }

    async def create_topics(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's CreateTopics. A request for more than ``MAX_PARTITIONS_PER_REQUEST`` partitions in all is refused
        whole with POLICY_VIOLATION, as Kafka's controller refuses an operation of more than 10,000 records: each
        partition holds three open files, so one request could otherwise exhaust the process's descriptors."""
        requested = sum(max(self._partitions_to_create(topic), 0) for topic in body["topics"])
        too_many = (
            f"Unable to perform excessively large batch operation: {requested} partitions requested, "
            f"at most {MAX_PARTITIONS_PER_REQUEST} per request"
        )
        results = []
        for topic in body["topics"]:
            answer: Body = {
                "name": topic["name"],
                "error_code": ErrorCode.NONE,
                "error_message": None,
                "num_partitions": -1,
                "replication_factor": -1,
                "configs": None,
            }
            partitions = self._partitions_to_create(topic)
            configs = {c["name"]: c["value"] for c in topic["configs"] if c["value"] is not None}
            if requested > MAX_PARTITIONS_PER_REQUEST:
                answer.update(error_code=ErrorCode.POLICY_VIOLATION, error_message=too_many)
            elif self.broker.cluster is not None:
                await self._create_in_cluster(topic, configs, bool(body.get("validate_only")), answer)
            elif topic["replication_factor"] not in (-1, 1):
                answer.update(
                    error_code=ErrorCode.INVALID_REPLICATION_FACTOR,
                    error_message=f"replication factor {topic['replication_factor']} is larger than the "
                    "1 node this store has",
                )
            elif topic["assignments"]:
                answer.update(
                    error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    error_message="manual replica assignment is not supported on a single node",
                )
            elif partitions < 1:
                answer.update(
                    error_code=ErrorCode.INVALID_PARTITIONS,
                    error_message=f"a topic needs at least one partition, got {partitions}",
                )
            elif body.get("validate_only"):
                answer.update(num_partitions=partitions, replication_factor=1)
            else:
                try:
                    await asyncio.to_thread(self.broker.store.create_topic, topic["name"], partitions, configs)
                    answer.update(num_partitions=partitions, replication_factor=1)
                except Exception as exc:
                    answer.update(error_code=error_code_for(exc), error_message=str(exc))
            if answer["error_code"] == ErrorCode.NONE and not body.get("validate_only"):
                self._describe_created(topic["name"], answer)
            results.append(answer)
        return {"throttle_time_ms": 0, "topics": results}

    async def _create_in_cluster(self, topic: Body, configs: dict[str, str], validate_only: bool, answer: Body) -> None:
        """CreateTopics through the metadata quorum, with Kafka's rules for counts and assignments."""
        cluster = self.broker.cluster
        assert cluster is not None
        assignments = {entry["partition_index"]: list(entry["broker_ids"]) for entry in topic["assignments"]}
        if assignments and (topic["num_partitions"] != -1 or topic["replication_factor"] != -1):
            answer.update(
                error_code=ErrorCode.INVALID_REQUEST,
                error_message="both a replica assignment and a partition count or replication factor were given",
            )
            return
        try:
            state = await asyncio.to_thread(
                cluster.create_topic,
                topic["name"],
                self._partitions_to_create(topic) if not assignments else len(assignments),
                topic["replication_factor"],
                assignments or None,
                configs,
                validate_only=validate_only,
            )
        except Exception as exc:
            answer.update(error_code=error_code_for(exc), error_message=str(exc))
            return
        answer.update(num_partitions=len(state.partitions), replication_factor=len(state.partitions[0].replicas))

    def _describe_created(self, name: str, answer: Body) -> None:
        """Version 5+ answers a created topic with its configs (KIP-525), 7+ with its id, as Kafka does."""
        info = self.broker.store.topics().get(name)
        if info is None:  # created in the cluster, not yet in this node's store
            return
        answer["topic_id"] = topic_uuid(info)
        answer["configs"] = [
            {"name": config, "value": value, "read_only": False, "config_source": source, "is_sensitive": False}
            for config, value, source in self._topic_configs(name)
        ]

    def _partitions_to_create(self, topic: Body) -> int:
        return int(topic["num_partitions"]) if topic["num_partitions"] != -1 else self.broker.num_partitions

    async def delete_topics(self, ctx: RequestContext, body: Body) -> Body:
        """Kafka's DeleteTopics. Version 6 names topics by name or by id (not both: INVALID_REQUEST; an unknown
        id: UNKNOWN_TOPIC_ID) and answers each with both."""
        ids = TopicIds(self.broker.store.topics())
        if ctx.header.api_version < 6:
            wanted = [(name, ZERO_UUID) for name in body["topic_names"]]
        else:
            wanted = [(t["name"], t["topic_id"]) for t in body["topics"]]
        responses = []
        for name, topic_id in wanted:
            answer: Body = {"name": name, "topic_id": topic_id, "error_code": ErrorCode.NONE, "error_message": None}
            responses.append(answer)
            if name is not None and topic_id != ZERO_UUID:
                answer.update(
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message="You may not specify both topic name and topic id.",
                )
                continue
            if name is None:
                name = answer["name"] = ids.name(topic_id)
                if name is None:
                    answer.update(error_code=ErrorCode.UNKNOWN_TOPIC_ID, error_message=f"unknown topic id {topic_id}")
                    continue
            else:
                answer["topic_id"] = ids.id(name)
            try:
                if self.broker.store.is_internal(name):
                    raise InternalTopicError(f"Cannot delete internal topic {name}")
                if self.broker.cluster is not None:
                    await asyncio.to_thread(self.broker.cluster.delete_topic, name)
                else:
                    await asyncio.to_thread(self.broker.store.delete_topic, name)
            except Exception as exc:
                answer.update(error_code=error_code_for(exc), error_message=str(exc))
        return {"throttle_time_ms": 0, "responses": responses}
