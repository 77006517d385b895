"""EmbeddedAdmin: topic administration straight on the broker's store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from hub.log.broker import EARLIEST, LATEST, READ_COMMITTED, READ_UNCOMMITTED, Broker
from hub.log.client.api import Admin
from hub.log.client.embedded.errors import translated_errors
from hub.log.client.embedded.transactions import fence_producers
from hub.log.client.errors import ClientClosedError, ClientError, InvalidTopicConfigError
from hub.log.client.types import IsolationLevel, NewTopic, OffsetSpec, TopicDescription, TopicPartition
from hub.log.errors import TopicExistsError
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

    def close(self) -> None:
        self._closed = True
