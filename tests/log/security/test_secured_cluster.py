"""A replicated store cluster whose only listener is SASL_SSL: the brokers replicate to each other over it with
the inter-broker credentials of its JAAS configuration, and clients use it with TLS and SASL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from tests.harness.hub import HubServer
from tests.harness.store_cluster import StoreCluster
from tests.log.security.conftest import Certificates

pytestmark = pytest.mark.integration

JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" '
    'user_broker="broker-secret" user_alice="alice-secret";'
)


class SecuredStoreCluster(StoreCluster):
    """StoreCluster whose nodes serve one SASL_SSL listener (named PLAINTEXT, as the harness advertises it)."""

    def __init__(self, base_dir: Path, certificates: Certificates) -> None:
        client = {
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(certificates.ca.pem),
            "sasl.mechanism": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
        }
        options = {
            "listener.security.protocol.map": "PLAINTEXT:SASL_SSL",
            "ssl.keystore.location": str(certificates.server.bundle),
            "ssl.key.password": "key-secret",
            "ssl.truststore.location": str(certificates.ca.pem),
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.plaintext.plain.sasl.jaas.config": JAAS,
        }
        super().__init__(base_dir, 3, options=options, client=client)

    def _node(self, node_id: int, host: str, port: int) -> HubServer:
        node = super()._node(node_id, host, port)
        return replace(node, options=(*node.options, f"listeners=PLAINTEXT://{host}:{port}"))


@pytest.fixture
def secured_cluster(tmp_path: Path, certificates: Certificates) -> Any:
    cluster = SecuredStoreCluster(tmp_path, certificates)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


def test_a_cluster_replicates_over_its_sasl_ssl_listener(secured_cluster: SecuredStoreCluster) -> None:
    cluster = secured_cluster
    # acks=all with min.insync.replicas=3 succeeds only once both followers fetch over SASL_SSL
    cluster.create_topic("secured-replicated", configs={"min.insync.replicas": "3"})
    cluster.wait_until(lambda: len(cluster.partition("secured-replicated").isr) == 3, 30, "every replica in the ISR")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", **cluster.client})
    for index in range(20):
        producer.produce("secured-replicated", str(index).encode())
    assert producer.flush(30) == 0
    view = cluster.partition("secured-replicated")
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "unused", **cluster.client})
    consumer.assign([TopicPartition("secured-replicated", 0, OFFSET_BEGINNING)])
    received: list[bytes] = []
    try:
        for _ in range(120):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value())
            if len(received) == 20:
                break
    finally:
        consumer.close()
    assert received == [str(index).encode() for index in range(20)]
    # what a follower fetched over the listener is in its own log
    follower = next(node for node in view.replicas if node != view.leader)
    cluster.stop(follower)
    stored = [record.value for record in cluster.replica_records(follower, "secured-replicated")]
    assert stored == [str(index).encode() for index in range(20)]
