"""KafkaClients: the store clients of any Kafka-protocol cluster, from ``bootstrap.servers`` and client options."""

from __future__ import annotations

from collections.abc import Mapping

from hub.log.client.api import Admin, Consumer, GroupMember, Producer, StoreClients, TransactionalProducer
from hub.log.client.kafka.admin import KafkaAdmin
from hub.log.client.kafka.consumer import KafkaConsumer
from hub.log.client.kafka.group_member import KafkaGroupMember
from hub.log.client.kafka.producer import KafkaProducer
from hub.log.client.kafka.transactions import KafkaTransactionalProducer
from hub.log.client.types import IsolationLevel


class KafkaClients(StoreClients):
    """Clients speaking the Kafka protocol; ``common`` options (security, client.id…) go to every client."""

    def __init__(self, bootstrap_servers: str, common: Mapping[str, str] | None = None) -> None:
        self.location = bootstrap_servers
        self._bootstrap = bootstrap_servers
        self._common = dict(common or {})

    def admin(self) -> Admin:
        return KafkaAdmin(self._bootstrap, config=self._common)

    def producer(self, *, idempotent: bool = True, options: Mapping[str, str] | None = None) -> Producer:
        return KafkaProducer(
            self._bootstrap, config={**self._common, "enable.idempotence": idempotent, **(options or {})}
        )

    def transactional_producer(
        self,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 60_000,
        options: Mapping[str, str] | None = None,
    ) -> TransactionalProducer:
        return KafkaTransactionalProducer(
            self._bootstrap,
            transactional_id,
            transaction_timeout_ms=transaction_timeout_ms,
            config={**self._common, **(options or {})},
        )

    def consumer(
        self,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        options: Mapping[str, str] | None = None,
    ) -> Consumer:
        # An isolation.level among the options (a user's override) wins over the caller's default.
        return KafkaConsumer(
            self._bootstrap,
            group_id=group_id,
            auto_offset_reset=auto_offset_reset,
            isolation_level=isolation_level,
            config={**self._common, **(options or {})},
        )

    def group_member(
        self,
        group_id: str,
        protocol_type: str,
        *,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 60_000,
        heartbeat_interval_ms: int = 3_000,
    ) -> GroupMember:
        return KafkaGroupMember(
            self._bootstrap,
            group_id,
            protocol_type,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            security=self._common,
        )
