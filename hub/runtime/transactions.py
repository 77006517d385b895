"""The store clients' transaction surface, as the runtime uses it: transactional producers, fencing of
transactional ids, and ``read_committed`` consumers.

The runtime reaches these through the functions here only, so the rest of it states *what* it needs
(``transactional_producer``, ``fence_producers``, ``read_committed_consumer``) and a store client backend that
lacks transactions fails with one clear ConnectorError instead of an AttributeError deep in a task.

Thread-safety: as the underlying clients (``hub.log.client.api``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from hub.log.client import Admin, Consumer, OutgoingRecord, SendOutcome, StoreClients
from hub.sdk.errors import ConnectorError

READ_COMMITTED = "read_committed"
ISOLATION_LEVEL = "isolation.level"


class TransactionalSender(Protocol):
    """What the exactly-once source runner needs of a transactional producer (``TransactionalProducer``)."""

    def init_transactions(self, timeout_s: float = 60.0) -> None: ...

    def begin_transaction(self) -> None: ...

    def send_batch(self, records: Sequence[OutgoingRecord]) -> Future[SendOutcome]: ...

    def commit_transaction(self, timeout_s: float = 60.0) -> None: ...

    def abort_transaction(self, timeout_s: float = 60.0) -> None: ...

    def flush(self, timeout_s: float | None = None) -> None: ...

    def close(self) -> None: ...


def transactional_producer(
    clients: StoreClients, transactional_id: str, *, transaction_timeout_ms: int, options: Mapping[str, str]
) -> TransactionalSender:
    """A new transactional producer of ``clients`` (not yet initialised)."""
    make = getattr(clients, "transactional_producer", None)
    if make is None:
        raise ConnectorError(f"the store clients ({clients.location}) cannot produce in transactions")
    producer: TransactionalSender = make(
        transactional_id, transaction_timeout_ms=transaction_timeout_ms, options=dict(options)
    )
    return producer


def fence_producers(admin: Admin, transactional_ids: Collection[str], timeout_s: float = 30.0) -> None:
    """Fence every producer of these transactional ids (``Admin.fence_producers``, KIP-618)."""
    fence = getattr(admin, "fence_producers", None)
    if fence is None:
        raise ConnectorError("the store's admin client cannot fence transactional producers")
    fence(list(transactional_ids), timeout_s=timeout_s)


def read_committed_consumer(clients: StoreClients, **kwargs: Any) -> Consumer:
    """A consumer that reads only committed records (``isolation.level=read_committed``), unless ``options``
    name another isolation level (a user's override wins)."""
    options = dict(kwargs.pop("options", None) or {})
    level = options.get(ISOLATION_LEVEL, READ_COMMITTED)
    try:
        from hub.log.client import IsolationLevel  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # a client interface without isolation levels reads everything as committed
        return clients.consumer(options={**options, ISOLATION_LEVEL: level}, **kwargs)
    consumer: Consumer = clients.consumer(  # type: ignore[call-arg,unused-ignore]
        isolation_level=IsolationLevel(level), options={**options, ISOLATION_LEVEL: level}, **kwargs
    )
    return consumer
