"""EmbeddedAdmin: topic administration straight on the broker's store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from hub.log.broker import EARLIEST, LATEST, READ_COMMITTED, READ_UNCOMMITTED, Broker
from hub.log.client.api import Admin
from hub.log.client.consumer_protocol import decode_assignment
from hub.log.client.embedded.errors import translated_errors
from hub.log.client.embedded.transactions import fence_producers
from hub.log.client.errors import ClientClosedError, ClientError, InvalidTopicConfigError
from hub.log.client.types import (
    BrokerNode,
    GroupDescription,
    GroupListing,
    GroupMemberDescription,
    IsolationLevel,
    NewTopic,
    OffsetSpec,
    TopicDescription,
    TopicPartition,
)
from hub.log.errors import TopicExistsError
from hub.log.group import GroupCoordinator
from hub.log.txn.contracts import TransactionCoordinatorApi


class EmbeddedAdmin(Admin):
    """Admin over an in-process Broker. Thread-safe."""

    def __init__(self, broker: Broker, transactions: TransactionCoordinatorApi | None = None) -> None:
        self._broker = broker
        self._transactions = transactions
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError("admin client is closed")

    def create_topics(self, topics: Sequence[NewTopic], *, if_not_exists: bool = False) -> None:
        self._check()
        for topic in topics:
            if topic.replication_factor > 1:
                raise InvalidTopicConfigError(
                    f"topic {topic.name!r}: replication factor {topic.replication_factor} is larger than the "
                    "1 node this store has"
                )
        for topic in topics:
            with translated_errors():
                try:
                    self._broker.store.create_topic(topic.name, topic.partitions, dict(topic.configs))
                except TopicExistsError:
                    if not if_not_exists:
                        raise

    def delete_topics(self, names: Collection[str]) -> None:
        self._check()
        with translated_errors():
            for name in names:
                self._broker.store.delete_topic(name)

    def list_topics(self) -> dict[str, int]:
        self._check()
        with translated_errors():
            return {name: info.partitions for name, info in self._broker.store.topics().items()}

    def cluster_id(self) -> str:
        self._check()
        return self._broker.store.cluster_id

    def describe_cluster(self) -> list[BrokerNode]:
        self._check()
        cluster = self._broker.cluster
        if cluster is None:
            return [BrokerNode(0, "", 0)]  # the one node, in this process (its Metadata answers node id 0)
        brokers = cluster.metadata().brokers
        return [
            BrokerNode(node_id, broker.host, broker.port, broker.rack)
            for node_id, broker in sorted(brokers.items())
            if not broker.fenced
        ]

    def describe_topics(self, names: Collection[str]) -> dict[str, TopicDescription]:
        self._check()
        with translated_errors():
            described: dict[str, TopicDescription] = {}
            for name in names:
                info = self._broker.store.topic(name)
                described[name] = TopicDescription(name, info.partitions, info.config.effective())
            return described

    def alter_topic_configs(self, name: str, updates: Mapping[str, str | None]) -> None:
        self._check()
        with translated_errors():
            self._broker.store.alter_topic_config(name, updates)

    def list_offsets(
        self,
        partitions: Collection[TopicPartition],
        spec: OffsetSpec | int,
        *,
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
    ) -> dict[TopicPartition, int | None]:
        self._check()
        level = READ_COMMITTED if isolation_level is IsolationLevel.READ_COMMITTED else READ_UNCOMMITTED
        code = EARLIEST if spec is OffsetSpec.EARLIEST else LATEST if spec is OffsetSpec.LATEST else int(spec)
        with translated_errors():
            found: dict[TopicPartition, int | None] = {}
            for partition in partitions:
                located = self._broker.list_offset(partition.topic, partition.partition, code, isolation_level=level)
                found[partition] = None if located is None else located[0]
            return found

    def fence_producers(self, transactional_ids: Collection[str], *, timeout_s: float = 30.0) -> None:
        self._check()
        if self._transactions is None:
            raise ClientError("the embedded store has no transaction coordinator")
        fence_producers(self._transactions, transactional_ids, timeout_s)

    def log_sizes(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        self._check()
        with translated_errors():
            return {tp: self._broker.store.partition(tp.topic, tp.partition).size_bytes for tp in partitions}

    def list_groups(self) -> list[GroupListing]:
        coordinator = self._coordinator()
        with translated_errors():
            return [GroupListing(g.group_id, g.state, g.protocol_type) for g in coordinator.list_groups()]

    def describe_groups(self, group_ids: Collection[str]) -> dict[str, GroupDescription]:
        coordinator = self._coordinator()
        wanted = list(group_ids)
        with translated_errors():
            # A group of the consumer group protocol (KIP-848) is described by ConsumerGroupDescribe's view.
            modern = {d.group_id: d for d in coordinator.describe_consumer_groups(wanted) if d.error == 0 and d.state}
            described: dict[str, GroupDescription] = {}
            for group_id in wanted:
                if group_id in modern:
                    group = modern[group_id]
                    members = tuple(
                        GroupMemberDescription(
                            m.member_id,
                            m.client_id,
                            m.client_host,
                            frozenset(TopicPartition(a.topic_name, p) for a in m.assignment for p in a.partitions),
                            m.instance_id,
                        )
                        for m in group.members
                    )
                    described[group_id] = GroupDescription(
                        group_id, group.state, "consumer", group.assignor_name, members
                    )
                    continue
                classic = coordinator.describe_group(group_id)
                described[group_id] = GroupDescription(
                    group_id,
                    classic.state,
                    classic.protocol_type,
                    classic.protocol,
                    tuple(
                        GroupMemberDescription(
                            m.member_id,
                            m.client_id,
                            m.client_host,
                            _assigned(classic.protocol_type, m.assignment),
                            m.group_instance_id,
                        )
                        for m in classic.members
                    ),
                )
            return described

    def list_group_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        coordinator = self._coordinator()
        with translated_errors():
            committed = coordinator.fetch_offsets(group_id)
        return {TopicPartition(t, p): c.offset for (t, p), c in committed.items() if c is not None}

    def _coordinator(self) -> GroupCoordinator:
        self._check()
        if self._broker.coordinator is None:
            raise ClientError("the embedded store has no group coordinator")
        return self._broker.coordinator

    def close(self) -> None:
        self._closed = True


def _assigned(protocol_type: str, assignment: bytes) -> frozenset[TopicPartition]:
    """A consumer's assignment; nothing for other protocols (a Connect worker's is no list of partitions)."""
    if protocol_type != "consumer" or not assignment:
        return frozenset()
    try:
        return frozenset(decode_assignment(assignment))
    except Exception:  # a client's own assignment format: show the member without partitions
        return frozenset()
