"""The runtime's consumers read committed records by default; a user's isolation.level wins."""

from __future__ import annotations

from typing import Any, cast

from hub.log.client import StoreClients
from hub.runtime.transactions import read_committed_consumer


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
