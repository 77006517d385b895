"""KafkaAdmin: topic administration over the Kafka protocol with confluent-kafka's AdminClient; groups and log
sizes over Hub's own protocol connection (``GroupAdmin``), since librdkafka lists and describes consumer groups
only and has no DescribeLogDirs."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from hub.log.client.api import Admin
from hub.log.client.errors import ClientClosedError, ClientTimeoutError, TopicAlreadyExistsError
from hub.log.client.kafka.group_admin import GroupAdmin
from hub.log.client.kafka.transactions import fence_producers
from hub.log.client.kafka.translate import LIBRDKAFKA_LOG, import_confluent, translate
from hub.log.client.types import (
    BrokerNode,
    GroupDescription,
    GroupListing,
    IsolationLevel,
    NewTopic,
    OffsetSpec,
    TopicDescription,
    TopicPartition,
)


class KafkaAdmin(Admin):
    """Admin over any Kafka-protocol broker. Thread-safe."""

    def __init__(
        self, bootstrap_servers: str, *, timeout_s: float = 30.0, config: Mapping[str, Any] | None = None
    ) -> None:
        confluent = import_confluent()
        self._admin_module = confluent.admin
        self._client = confluent.admin.AdminClient(
            {"bootstrap.servers": bootstrap_servers, "logger": LIBRDKAFKA_LOG, **(config or {})}
        )
        self._timeout_s = timeout_s
        self._bootstrap = bootstrap_servers
        self._config = dict(config or {})
        self._closed = False
        #: ListGroups, DescribeGroups and DescribeLogDirs, which librdkafka lacks or limits to consumer groups.
        self._groups = GroupAdmin(bootstrap_servers, timeout_s=timeout_s, config=config)

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError("admin client is closed")

    def _wait(self, futures: Mapping[Any, Any], what: str) -> dict[Any, Any]:
        results: dict[Any, Any] = {}
        for key, future in futures.items():
            try:
                results[key] = future.result(self._timeout_s)
            except Exception as exc:
                raise translate(exc, f"{what} {key}") from exc
        return results

    def create_topics(self, topics: Sequence[NewTopic], *, if_not_exists: bool = False) -> None:
        self._check()
        requested = [
            self._admin_module.NewTopic(t.name, t.partitions, t.replication_factor, config=dict(t.configs))
            for t in topics
        ]
        for name, future in self._client.create_topics(requested, request_timeout=self._timeout_s).items():
            try:
                future.result(self._timeout_s)
            except Exception as exc:
                error = translate(exc, f"creating topic {name}")
                if if_not_exists and isinstance(error, TopicAlreadyExistsError):
                    continue
                raise error from exc

    def delete_topics(self, names: Collection[str]) -> None:
        self._check()
        self._wait(self._client.delete_topics(list(names), request_timeout=self._timeout_s), "deleting topic")

    def list_topics(self) -> dict[str, int]:
        self._check()
        try:
            metadata = self._client.list_topics(timeout=self._timeout_s)
        except Exception as exc:
            raise translate(exc, "listing topics") from exc
        return {name: len(topic.partitions) for name, topic in metadata.topics.items() if topic.error is None}

    def cluster_id(self) -> str:
        self._check()
        try:
            metadata = self._client.list_topics(timeout=self._timeout_s)
        except Exception as exc:
            raise translate(exc, "reading the cluster id") from exc
        return str(metadata.cluster_id or "")

    def describe_cluster(self) -> list[BrokerNode]:
        self._check()
        return self._groups.describe_cluster()

    def describe_topics(self, names: Collection[str]) -> dict[str, TopicDescription]:
        self._check()
        partitions = self.list_topics()
        resources = [self._admin_module.ConfigResource(self._admin_module.ResourceType.TOPIC, n) for n in names]
        configs = self._wait(
            self._client.describe_configs(resources, request_timeout=self._timeout_s), "describing topic"
        )
        described = {}
        for resource, entries in configs.items():
            name = resource.name
            described[name] = TopicDescription(
                name, partitions.get(name, 0), {key: entry.value for key, entry in entries.items()}
            )
        return described

    def alter_topic_configs(self, name: str, updates: Mapping[str, str | None]) -> None:
        self._check()
        admin = self._admin_module
        resource = admin.ConfigResource(
            admin.ResourceType.TOPIC,
            name,
            incremental_configs=[
                admin.ConfigEntry(
                    key,
                    value or "",
                    incremental_operation=admin.AlterConfigOpType.DELETE
                    if value is None
                    else admin.AlterConfigOpType.SET,
                )
                for key, value in updates.items()
            ],
        )
        self._wait(
            self._client.incremental_alter_configs([resource], request_timeout=self._timeout_s), "altering configs of"
        )

    def list_offsets(
        self,
        partitions: Collection[TopicPartition],
        spec: OffsetSpec | int,
        *,
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
    ) -> dict[TopicPartition, int | None]:
        self._check()
        confluent = import_confluent()
        admin = self._admin_module
        if spec is OffsetSpec.EARLIEST:
            request = admin.OffsetSpec.earliest()
        elif spec is OffsetSpec.LATEST:
            request = admin.OffsetSpec.latest()
        else:
            request = admin.OffsetSpec.for_timestamp(int(spec))
        asked = {confluent.TopicPartition(tp.topic, tp.partition): request for tp in partitions}
        self._refresh_leaders({tp.topic for tp in partitions})
        level = confluent.IsolationLevel[isolation_level.name]
        listed = self._client.list_offsets(asked, isolation_level=level, request_timeout=self._timeout_s)
        results = self._wait(listed, "listing offsets of")
        found: dict[TopicPartition, int | None] = {}
        for tp, info in results.items():
            if info.offset < 0 and isinstance(spec, OffsetSpec):
                # A log always has an earliest and a latest offset: a negative one is librdkafka's answer when no
                # leader answered (one that died since the last metadata), never an offset to read up to.
                raise ClientTimeoutError(f"listing offsets of {tp.topic}-{tp.partition}: no answer from its leader")
            found[TopicPartition(tp.topic, tp.partition)] = info.offset if info.offset >= 0 else None
        return found

    def fence_producers(self, transactional_ids: Collection[str], *, timeout_s: float = 30.0) -> None:
        self._check()
        fence_producers(self._bootstrap, transactional_ids, timeout_s=timeout_s, config=self._config)

    def log_sizes(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        self._check()
        return self._groups.log_sizes(partitions)

    def list_groups(self) -> list[GroupListing]:
        self._check()
        return self._groups.list_groups()

    def describe_groups(self, group_ids: Collection[str]) -> dict[str, GroupDescription]:
        self._check()
        return self._groups.describe_groups(group_ids)

    def list_group_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        self._check()
        request = [import_confluent().ConsumerGroupTopicPartitions(group_id)]
        futures = self._client.list_consumer_group_offsets(request, request_timeout=self._timeout_s)
        listed = self._wait(futures, "listing the offsets of group")[group_id]
        return {
            TopicPartition(tp.topic, tp.partition): tp.offset
            for tp in listed.topic_partitions or []
            if tp.offset >= 0 and tp.error is None
        }

    def _refresh_leaders(self, topics: Collection[str]) -> None:
        """Fresh metadata of ``topics`` before a request sent to their leaders, as Kafka's AdminClient asks for it
        with every ListOffsets: librdkafka's admin client otherwise uses cached leaders, which it never refreshes
        when one dies, and waits out the whole timeout on a dead node after every leader change."""
        for topic in topics:
            try:
                self._client.list_topics(topic, timeout=self._timeout_s)
            except Exception as exc:
                raise translate(exc, f"reading the metadata of {topic}") from exc

    def close(self) -> None:
        self._closed = True
        self._groups.close()
