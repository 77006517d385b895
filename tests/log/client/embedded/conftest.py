"""A broker with a group coordinator over a fresh store, for embedded client tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.log.broker import Broker
from hub.log.group import CoordinatorConfig, GroupCoordinator, TopicOffsetsLog
from hub.log.store import TopicStore

FAST_GROUPS = CoordinatorConfig(min_session_timeout_ms=100, initial_rebalance_delay_ms=0, tick_ms=20)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with TopicStore(tmp_path / "data") as store:
        coordinator = GroupCoordinator(TopicOffsetsLog(store), FAST_GROUPS)
        coordinator.start()
        opened = Broker(store, coordinator=coordinator, num_partitions=3)
        opened.open()
        yield opened
        opened.close()
        coordinator.close()
