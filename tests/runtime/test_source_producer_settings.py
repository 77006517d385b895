"""The settings a source task's producer is created with: Connect's one request in flight per connection and a 20 ms
linger unless the worker's ``producer.*`` or the connector's ``producer.override.*`` says otherwise."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from hub.log.client import Producer
from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from tests.runtime.conftest import FAST_WORKER, wait_for

pytestmark = pytest.mark.integration

IN_FLIGHT = "max.in.flight.requests.per.connection"


class RecordingClients(EmbeddedClients):
    """The embedded store's clients, keeping the options of every producer made (the worker's stores and the DLQ
    make theirs without any)."""

    def __init__(self, node: LogNode) -> None:
        super().__init__(node.broker)
        self.producer_options: list[dict[str, str]] = []

    def producer(self, *, idempotent: bool = True, options: Mapping[str, str] | None = None) -> Producer:
        if options:
            self.producer_options.append(dict(options))
        return super().producer(idempotent=idempotent, options=options)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[LogNode]:
    node = LogNode(node_config(tmp_path / "store", {"group.initial.rebalance.delay.ms": "0"}))
    node.open()
    yield node
    node.close()


def _source_producer_options(node: LogNode, worker: Mapping[str, str], connector: Mapping[str, str]) -> dict[str, str]:
    clients = RecordingClients(node)
    suffix = time.monotonic_ns()  # a worker of its own: it sees no connector an earlier one made
    topics = {f"{kind}.storage.topic": f"{kind}-{suffix}" for kind in ("config", "offset", "status")}
    config = WorkerConfig.parse({**FAST_WORKER, **topics, **worker})
    herder = StandaloneHerder("127.0.0.1:8083", config, Plugins.discover(), clients, *topic_stores(clients, config))
    herder.start()
    try:
        name = f"gen-{suffix}"
        herder.put_connector_config(
            name,
            {"connector.class": "Datagen", "topic": name, "quickstart": "bytes", "max.records": "10", **connector},
            allow_replace=False,
        )
        wait_for(lambda: clients.producer_options, 30, "the source task's producer")
        return clients.producer_options[0]
    finally:
        herder.stop()


def test_a_source_task_producer_has_one_request_in_flight_per_connection_and_lingers(node: LogNode) -> None:
    assert _source_producer_options(node, {}, {}) == {IN_FLIGHT: "1", "linger.ms": "20"}


def test_the_worker_and_the_connector_override_the_in_flight_limit_and_the_linger(node: LogNode) -> None:
    worker = {f"producer.{IN_FLIGHT}": "5", "producer.linger.ms": "50"}
    assert _source_producer_options(node, worker, {}) == {IN_FLIGHT: "5", "linger.ms": "50"}
    overridden = _source_producer_options(
        node, worker, {f"producer.override.{IN_FLIGHT}": "3", "producer.override.linger.ms": "5"}
    )
    assert overridden == {IN_FLIGHT: "3", "linger.ms": "5"}
