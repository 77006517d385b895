"""The runtime's view of the store's transaction surface: read_committed consumers by default (a user's
isolation.level wins), and one clear error from a client backend without transactions."""

from __future__ import annotations

from typing import Any, cast

import pytest

from hub.log.client import StoreClients
from hub.runtime.transactions import fence_producers, read_committed_consumer, transactional_producer
from hub.sdk.errors import ConnectorError


class _Recording:
    location = "recording"

    def __init__(self) -> None:
        self.asked: dict[str, Any] = {}

    def consumer(self, **kwargs: Any) -> object:
        self.asked = kwargs
        return object()


def _level(asked: dict[str, Any]) -> str:
    level = asked.get("isolation_level")
    return str(getattr(level, "value", None) or asked["options"]["isolation.level"])


def test_consumers_read_committed_by_default() -> None:
    clients = _Recording()
    read_committed_consumer(cast(StoreClients, clients), group_id="connect-s", options={"max.poll.records": "5"})
    assert _level(clients.asked) == "read_committed"
    assert clients.asked["group_id"] == "connect-s"
    assert clients.asked["options"]["max.poll.records"] == "5"


def test_an_isolation_level_among_the_options_wins() -> None:
    clients = _Recording()
    read_committed_consumer(cast(StoreClients, clients), options={"isolation.level": "read_uncommitted"})
    assert _level(clients.asked) == "read_uncommitted"


def test_a_backend_without_transactions_is_named_in_one_error() -> None:
    with pytest.raises(ConnectorError, match="cannot produce in transactions"):
        transactional_producer(cast(StoreClients, _Recording()), "t", transaction_timeout_ms=1, options={})
    with pytest.raises(ConnectorError, match="cannot fence"):
        fence_producers(cast(Any, object()), ["t"])
