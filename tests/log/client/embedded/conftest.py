"""A broker over a fresh store for embedded client tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.log.broker import Broker
from hub.log.store import TopicStore


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with TopicStore(tmp_path / "data") as store:
        opened = Broker(store, num_partitions=3)
        opened.open()
        yield opened
        opened.close()
