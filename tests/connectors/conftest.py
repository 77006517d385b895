"""Connector tests run through the real runtime: a standalone herder over an embedded store in a temp directory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hub.log.client import StoreClients
from hub.log.client.embedded import EmbeddedClients
from hub.log.client.errors import UnknownTopicError
from hub.log.client.types import ConsumerRecord, TopicPartition
from hub.log.node import LogNode, node_config
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig

FAST_WORKER = {
    "offset.flush.interval.ms": "200",
    "task.shutdown.graceful.timeout.ms": "10000",
    "hub.status.progress.interval.ms": "200",
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
}


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return Plugins.discover()


@dataclass
class Runtime:
    """A store and herders over it; ``restart()`` stops the herder and starts a new one on the same store."""

    clients: StoreClients
    plugins: Plugins
    options: dict[str, str]
    herders: list[StandaloneHerder] = field(default_factory=list)

    @property
    def herder(self) -> StandaloneHerder:
        return self.herders[-1]

    def start(self) -> StandaloneHerder:
        config = WorkerConfig.parse(self.options)
        herder = StandaloneHerder(
            "127.0.0.1:8083", config, self.plugins, self.clients, *topic_stores(self.clients, config)
        )
        herder.start()
        herder.wait_until_ready(30)
        self.herders.append(herder)
        return herder

    def restart(self) -> StandaloneHerder:
        self.herder.stop()
        return self.start()

    def create(self, name: str, config: Mapping[str, str]) -> None:
        self.herder.put_connector_config(name, {"name": name, **config}, allow_replace=True)

    def store(self, name: str, config: Mapping[str, str]) -> None:
        """Stores a config without validating it, as one stored before its server changed (a password changed,
        a bucket deleted): what a worker meets when it starts the connector later."""
        self.herder.configs.put_connector_config(name, {"name": name, **config})

    def problems(self, config: Mapping[str, str]) -> dict[str, list[str]]:
        """The errors ``…/config/validate`` reports for ``config``, per key (only the keys with errors)."""
        response = self.herder.validate({"name": "checked", **config})
        listed = {item["value"]["name"]: item["value"]["errors"] for item in response["configs"]}
        return {key: errors for key, errors in listed.items() if errors}

    def wait_running(self, name: str, tasks: int = 1, timeout_s: float = 60.0) -> dict[str, Any]:
        """The status once the connector and ``tasks`` tasks run; fails with the status (and traces) otherwise."""
        status: dict[str, Any] = {}

        def running() -> bool:
            nonlocal status
            status = self.herder.connector_status(name)
            states = [task["state"] for task in status["tasks"]]
            if "FAILED" in states or status["connector"]["state"] == "FAILED":
                raise AssertionError(f"{name} failed: {status}")
            return status["connector"]["state"] == "RUNNING" and states.count("RUNNING") == tasks

        wait_for(running, timeout_s, lambda: f"{name} running: {status}")
        return status

    def wait_state(self, name: str, task_state: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """The status once task 0 is in ``task_state`` (e.g. FAILED)."""
        status: dict[str, Any] = {}

        def reached() -> bool:
            nonlocal status
            status = self.herder.connector_status(name)
            return bool(status["tasks"]) and status["tasks"][0]["state"] == task_state

        wait_for(reached, timeout_s, lambda: f"{name} task 0 {task_state}: {status}")
        return status

    def read_topic(self, topic: str) -> list[ConsumerRecord]:
        """Every record now in ``topic``, partition by partition in offset order (none while it does not exist:
        a source creates its topic with its first records)."""
        try:
            count = self.clients.admin().describe_topics([topic])[topic].partitions
        except UnknownTopicError:
            return []
        partitions = [TopicPartition(topic, p) for p in range(count)]
        records: list[ConsumerRecord] = []
        with self.clients.consumer() as consumer:
            consumer.assign(partitions)
            ends = consumer.end_offsets(partitions)
            want = sum(ends.values())
            wait_for(lambda: records.extend(consumer.poll(0.2, 5000)) or len(records) >= want, what=f"{topic}")
        return sorted(records, key=lambda r: (r.partition, r.offset))

    def produce(self, topic: str, items: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        """Sends (key, value) pairs to ``topic`` and waits for them to be stored."""
        with self.clients.producer() as producer:
            for key, value in items:
                producer.send(topic, key=key, value=value)
            producer.flush(30)

    def stop(self) -> None:
        for herder in self.herders:
            herder.stop()


@pytest.fixture
def runtime(tmp_path: Path, plugins: Plugins) -> Iterator[Runtime]:
    """A started standalone runtime with JSON converters (schemas enabled) and fast offset commits."""
    node = LogNode(node_config(tmp_path / "store", {"group.initial.rebalance.delay.ms": "0"}))
    node.open()
    suffix = str(time.monotonic_ns())
    options = {
        **FAST_WORKER,
        "config.storage.topic": f"configs-{suffix}",
        "offset.storage.topic": f"offsets-{suffix}",
        "status.storage.topic": f"status-{suffix}",
    }
    runtime = Runtime(EmbeddedClients(node.broker), plugins, options)
    runtime.start()
    yield runtime
    runtime.stop()
    node.close()


def wait_for(condition: Callable[[], object], timeout_s: float = 30.0, what: str | Callable[[], str] = "") -> None:
    """Polls ``condition`` until true; fails naming ``what`` (a string or a function giving one) on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
