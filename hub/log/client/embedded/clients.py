"""EmbeddedClients: the store clients of an in-process broker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.log.broker import Broker
from hub.log.client.api import Admin, Consumer, GroupMember, Producer, StoreClients, TransactionalProducer
from hub.log.client.embedded.admin import EmbeddedAdmin
from hub.log.client.embedded.consumer import EmbeddedConsumer
from hub.log.client.embedded.group_member import EmbeddedGroupMember
from hub.log.client.embedded.producer import EmbeddedProducer
from hub.log.client.embedded.transactions import EmbeddedTransactionalProducer
from hub.log.client.errors import ClientError
from hub.log.client.types import IsolationLevel
from hub.log.txn.contracts import TransactionCoordinatorApi

_CONSUMER_OPTIONS = {
    "session.timeout.ms": "session_timeout_ms",
    "heartbeat.interval.ms": "heartbeat_interval_ms",
    "max.poll.interval.ms": "rebalance_timeout_ms",
    "fetch.max.bytes": "fetch_max_bytes",
}
_PRODUCER_OPTIONS = {
    "linger.ms": "linger_ms",
    "batch.size": "batch_size_bytes",
    "max.request.size": "max_request_bytes",
}


def _known(options: Mapping[str, str] | None, names: Mapping[str, str]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key in names:
            try:
                picked[names[key]] = int(value)
            except ValueError:
                raise ClientError(f"client option {key}={value!r} is not an integer") from None
    return picked


def _isolation_level(options: Mapping[str, str] | None, default: IsolationLevel) -> IsolationLevel:
    """An ``isolation.level`` among the options (a user's override) wins over the caller's default."""
    value = (options or {}).get("isolation.level")
    if value is None:
        return default
    try:
        return IsolationLevel(value)
    except ValueError:
        raise ClientError(
            f"client option isolation.level={value!r} is not read_committed or read_uncommitted"
        ) from None


class EmbeddedClients(StoreClients):
    """Clients that call the in-process broker directly (Kafka client options they have no use for are ignored)."""

    location = "embedded"

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._transactions: TransactionCoordinatorApi | None = broker.transactions  # None: a store without them

    def admin(self) -> Admin:
        return EmbeddedAdmin(self._broker, self._transactions)

    def producer(self, *, idempotent: bool = True, options: Mapping[str, str] | None = None) -> Producer:
        return EmbeddedProducer(self._broker, idempotent=idempotent, **_known(options, _PRODUCER_OPTIONS))

    def transactional_producer(
        self,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 60_000,
        options: Mapping[str, str] | None = None,
    ) -> TransactionalProducer:
        if self._transactions is None:
            raise ClientError("the embedded store has no transaction coordinator")
        return EmbeddedTransactionalProducer(
            self._broker,
            self._transactions,
            transactional_id,
            transaction_timeout_ms=transaction_timeout_ms,
            **_known(options, _PRODUCER_OPTIONS),
        )

    def consumer(
        self,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        options: Mapping[str, str] | None = None,
    ) -> Consumer:
        return EmbeddedConsumer(
            self._broker,
            group_id=group_id,
            auto_offset_reset=auto_offset_reset,
            isolation_level=_isolation_level(options, isolation_level),
            **_known(options, _CONSUMER_OPTIONS),
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
        if self._broker.coordinator is None:
            raise ClientError("the embedded store has no group coordinator")
        return EmbeddedGroupMember(
            self._broker.coordinator,
            group_id,
            protocol_type,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
