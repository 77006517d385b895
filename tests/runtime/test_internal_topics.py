"""Internal topics are created compacted, and a worker refuses ones that are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.log.client import NewTopic
from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.runtime.stores import ConfigStore, TopicBackedLog
from hub.sdk.errors import ConnectorError


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
