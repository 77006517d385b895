"""Runtime tests run on every store backend: embedded, the Kafka protocol against Hub's listener, and tansu."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.log.client import StoreClients
from hub.log.client.embedded import EmbeddedClients
from hub.log.client.kafka import KafkaClients
from hub.log.node import LogNode, node_config
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import local_stores, topic_stores
from hub.runtime.worker_config import WorkerConfig

FAST_WORKER = {"offset.flush.interval.ms": "200", "task.shutdown.graceful.timeout.ms": "10000"}
KAFKA_CLIENT_OPTIONS = {"consumer.session.timeout.ms": "6000", "consumer.heartbeat.interval.ms": "500"}


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return Plugins.discover()


@pytest.fixture(params=["embedded", "hub-listener"])
def clients(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreClients]:
    if request.param == "embedded":
        node = LogNode(node_config(tmp_path / "store", {"group.initial.rebalance.delay.ms": "0"}))
        node.open()
        yield EmbeddedClients(node.broker)
        node.close()
    else:
        yield KafkaClients(request.getfixturevalue("hub_server").bootstrap)


HerderFactory = Callable[..., StandaloneHerder]


@pytest.fixture
def make_herder(clients: StoreClients, plugins: Plugins) -> Iterator[HerderFactory]:
    """Builds herders on the backend under test, stopping them at the end."""
    made: list[StandaloneHerder] = []
    suffix = str(time.monotonic_ns())

    def make(*, local: bool = False, **options: str) -> StandaloneHerder:
        raw = {
            **FAST_WORKER,
            "config.storage.topic": f"configs-{suffix}",
            "offset.storage.topic": f"offsets-{suffix}",
            "status.storage.topic": f"status-{suffix}",
            **(KAFKA_CLIENT_OPTIONS if isinstance(clients, KafkaClients) else {}),
            **options,
        }
        config = WorkerConfig.parse(raw)
        stores = local_stores(clients, config) if local else topic_stores(clients, config)
        herder = StandaloneHerder("127.0.0.1:8083", config, plugins, clients, *stores)
        herder.start()
        made.append(herder)
        return herder

    yield make
    for herder in made:
        herder.stop()


def wait_for(condition: Callable[[], object], timeout_s: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
