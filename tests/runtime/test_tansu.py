"""The runtime on a broker nobody here wrote: tansu, through the Kafka-protocol backend."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.log.client import NewTopic
from hub.log.client.kafka import KafkaClients
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import local_stores
from hub.runtime.worker_config import WorkerConfig
from tests.harness.servers import KafkaServer
from tests.runtime.conftest import FAST_WORKER, KAFKA_CLIENT_OPTIONS, wait_for


@pytest.mark.integration
def test_file_pipeline_on_tansu(kafka_broker: KafkaServer, plugins: Plugins, tmp_path: Path) -> None:
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("".join(f"{i}\n" for i in range(50)))
    config = WorkerConfig.parse({**FAST_WORKER, **KAFKA_CLIENT_OPTIONS})
    clients = KafkaClients(kafka_broker.bootstrap)
    herder = StandaloneHerder("127.0.0.1:8083", config, plugins, clients, *local_stores(clients, config))
    herder.start()
    topic = f"tansu-{time.monotonic_ns()}"
    with clients.admin() as admin:
        admin.create_topics([NewTopic(topic, 1)])  # one partition: lines keep their order
    try:
        herder.put_connector_config(
            "src", {"connector.class": "FileStreamSource", "file": str(source), "topic": topic}, allow_replace=False
        )
        herder.put_connector_config(
            "dst", {"connector.class": "FileStreamSink", "file": str(sink), "topics": topic}, allow_replace=False
        )
        wait_for(lambda: sink.exists() and len(sink.read_text().splitlines()) == 50, 60, "50 lines via tansu")
        assert sink.read_text().splitlines() == [str(i) for i in range(50)]
    finally:
        herder.stop()
