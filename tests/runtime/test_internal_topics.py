"""Internal topics are created compacted with the worker's replication factors (-1 by default: the store's
default.replication.factor), and a worker refuses ones that are not compacted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.log.client import ClientError, NewTopic
from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.runtime.stores import ConfigStore, TopicBackedLog
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.errors import ConfigError, ConnectorError


def test_internal_topics_are_compacted_and_wrong_ones_refused(tmp_path: Path) -> None:
    with LogNode(node_config(tmp_path, {})) as node:
        clients = EmbeddedClients(node.broker)
        store = ConfigStore(lambda callback: TopicBackedLog(clients, "configs", callback, exact_partitions=True))
        store.start()
        store.put_connector_config("c", {"connector.class": "X"})
        store.stop()
        with clients.admin() as admin:
            assert admin.describe_topics(["configs"])["configs"].configs["cleanup.policy"] == "compact"
            admin.create_topics([NewTopic("deleting", 1, configs={"cleanup.policy": "delete"})])
            admin.create_topics([NewTopic("wide", 3, configs={"cleanup.policy": "compact"})])
        again = ConfigStore(lambda callback: TopicBackedLog(clients, "configs", callback, exact_partitions=True))
        again.start()
        assert again.snapshot().connectors == {"c": {"connector.class": "X"}}
        again.stop()
        with pytest.raises(ConnectorError, match=r"cleanup\.policy='delete'"):
            TopicBackedLog(clients, "deleting", lambda k, v: None).start()
        with pytest.raises(ConnectorError, match="exactly 1"):
            TopicBackedLog(clients, "wide", lambda k, v: None, exact_partitions=True).start()


def test_internal_topic_replication_factors_default_to_the_stores_default() -> None:
    config = WorkerConfig.parse({})
    for store in ("config", "offset", "status"):
        assert config[f"{store}.storage.replication.factor"] == -1  # KIP-464: the broker's default.replication.factor
    assert WorkerConfig.parse({"offset.storage.replication.factor": "3"})["offset.storage.replication.factor"] == 3
    for bad in ("0", "-2"):
        with pytest.raises(ConfigError, match="at least 1, or -1"):
            WorkerConfig.parse({"status.storage.replication.factor": bad})


def test_the_embedded_store_takes_the_default_and_refuses_more_replicas_than_it_has(tmp_path: Path) -> None:
    with LogNode(node_config(tmp_path, {})) as node:
        clients = EmbeddedClients(node.broker)
        stores = topic_stores(clients, WorkerConfig.parse({}))
        stores.configs.start()
        stores.configs.stop()
        refused = topic_stores(clients, WorkerConfig.parse({"config.storage.topic": "c3", **THREE}))
        with pytest.raises(ClientError, match="replication factor 3"):
            refused.configs.start()


THREE = {"config.storage.replication.factor": "3"}


class _LateLeaderClients:
    """The store's clients, but each consumer's first ``refusals`` assigns fail as on a cluster whose partition
    leader has not yet learnt of a topic another node just created (librdkafka: ``Local: Unknown partition``)."""

    def __init__(self, clients: EmbeddedClients, refusals: int) -> None:
        self.clients = clients
        self.refusals = refusals
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.clients, name)

    def consumer(self, **kwargs: Any) -> Any:
        consumer = self.clients.consumer(**kwargs)
        assign = consumer.assign

        def late_assign(partitions: Any) -> None:
            if self.refused < self.refusals:
                self.refused += 1
                raise ClientError(
                    "reading the offsets of configs-0: Failed to get watermark offsets: Unknown partition"
                )
            assign(partitions)

        consumer.assign = late_assign
        return consumer


def test_an_internal_topic_whose_partitions_are_not_known_yet_is_read_once_they_are(tmp_path: Path) -> None:
    with LogNode(node_config(tmp_path, {})) as node:
        clients = EmbeddedClients(node.broker)
        store = ConfigStore(lambda callback: TopicBackedLog(clients, "configs", callback))
        store.start()
        store.put_connector_config("c", {"connector.class": "X"})
        store.stop()
        late = _LateLeaderClients(clients, refusals=3)
        again = ConfigStore(lambda callback: TopicBackedLog(late, "configs", callback))  # type: ignore[arg-type]
        again.start()
        assert late.refused == 3
        assert again.snapshot().connectors == {"c": {"connector.class": "X"}}
        again.stop()
        never = _LateLeaderClients(clients, refusals=1_000_000)
        with pytest.raises(ClientError, match="Unknown partition"):
            TopicBackedLog(never, "configs", lambda k, v: None).start(timeout_s=0.5)  # type: ignore[arg-type]
