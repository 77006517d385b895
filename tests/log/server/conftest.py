"""Admin clients of real Kafka clients (confluent-kafka's AdminClient, kafka-python's KafkaAdminClient) over the
module's own ``server`` fixture, a module-scoped ``tests.harness.hub.HubServer``; a module that has none, or wants
other clients, defines its own ``confluent`` / ``kafka_python`` fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient

from tests.harness.hub import HubServer


@pytest.fixture(scope="module")
def confluent(server: HubServer) -> AdminClient:
    return AdminClient({"bootstrap.servers": server.bootstrap})


@pytest.fixture(scope="module")
def kafka_python(server: HubServer) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=server.bootstrap, request_timeout_ms=10_000)
    yield client
    client.close()
