"""KafkaClients: the store clients of any Kafka-protocol cluster, from ``bootstrap.servers`` and client options."""

from __future__ import annotations

from collections.abc import Mapping

from hub.log.client.api import Admin, Consumer, GroupMember, Producer, StoreClients
from hub.log.client.kafka.admin import KafkaAdmin
from hub.log.client.kafka.consumer import KafkaConsumer
from hub.log.client.kafka.group_member import KafkaGroupMember
from hub.log.client.kafka.producer import KafkaProducer


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

    def consumer(
        self,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        options: Mapping[str, str] | None = None,
    ) -> Consumer:
        return KafkaConsumer(
            self._bootstrap,
            group_id=group_id,
            auto_offset_reset=auto_offset_reset,
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
