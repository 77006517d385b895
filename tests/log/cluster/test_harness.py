"""The fault-test harness itself, against today's single store: processes killed and restarted, a store in one
network namespace and confluent-kafka clients in others, partitions that cut and heal, and netem delay."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Producer

from tests.harness.netns import Network
from tests.log.cluster.conftest import ClusterFactory

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENT = """
import json, statistics, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic, mode, tag = sys.argv[1:5]
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 3000, "linger.ms": 0})
if mode == "latency":
    samples = []
    for i in range(10):
        began = time.monotonic()
        producer.produce(topic, b"%d" % i)
        producer.flush(10)
        samples.append(time.monotonic() - began)
    print(json.dumps({"median_s": statistics.median(samples[3:])}))
    sys.exit(0)
errors = []
for i in range(20):
    producer.produce(topic, b"%s-%d" % (tag.encode(), i), on_delivery=lambda e, m: errors.append(str(e)) if e else None)
producer.flush(10)
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "harness", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, 0, 0)])
consumed, deadline = [], time.monotonic() + 5
while time.monotonic() < deadline:
    message = consumer.poll(0.2)
    if message is not None and message.error() is None:
        consumed.append(message.value().decode())
consumer.close()
print(json.dumps({"errors": errors, "consumed": consumed}))
"""


def _topic() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def _client(network: Network, index: int, bootstrap: str, topic: str, mode: str, tag: str = "") -> dict[str, Any]:
    """Run the confluent-kafka client script inside namespace ``index``; its JSON answer."""
    result = network.run(index, [sys.executable, "-c", CLIENT, bootstrap, topic, mode, tag], timeout_s=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _values(tag: str) -> list[str]:
    return [f"{tag}-{i}" for i in range(20)]


def test_killed_node_restarts_with_every_acknowledged_record(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(1)
    topic = _topic()
    cluster.create_topic(topic, 1, 1)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(100):
        producer.produce(topic, b"%d" % i)
    assert producer.flush(30) == 0
    cluster.kill(1)
    cluster.restart(1)
    view = cluster.wait_until(lambda: cluster.partition(topic), what="metadata after restart")
    assert view.leader == view.replicas[0]
    assert view.isr == view.replicas
    cluster.stop(1)
    assert [record.value for record in cluster.replica_records(1, topic)] == [b"%d" % i for i in range(100)]


def test_isolation_cuts_a_namespace_off_and_heal_restores_it(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory
) -> None:
    network = network_namespaces(3)
    cluster = store_cluster(1, network=network)
    topic = _topic()
    cluster.create_topic(topic, 1, 1)

    before = _client(network, 2, cluster.bootstrap, topic, "roundtrip", "a")
    assert before == {"errors": [], "consumed": _values("a")}

    network.isolate(1, peers=[2])  # namespace 3 and the observer still reach the store
    cut = _client(network, 2, cluster.bootstrap, topic, "roundtrip", "b")
    assert len(cut["errors"]) == 20
    assert all("timed out" in error.lower() for error in cut["errors"]), cut["errors"][:3]
    assert cut["consumed"] == []
    beside = _client(network, 3, cluster.bootstrap, topic, "roundtrip", "c")
    assert beside == {"errors": [], "consumed": _values("a") + _values("c")}
    assert cluster.partition(topic).leader >= 0

    network.heal()
    after = _client(network, 2, cluster.bootstrap, topic, "roundtrip", "d")
    assert after == {"errors": [], "consumed": _values("a") + _values("c") + _values("d")}


def test_netem_delay_lengthens_a_round_trip(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory
) -> None:
    network = network_namespaces(2)
    reason = network.netem_unavailable()
    if reason:
        pytest.skip(reason)
    cluster = store_cluster(1, network=network)
    topic = _topic()
    cluster.create_topic(topic, 1, 1)
    plain = _client(network, 2, cluster.bootstrap, topic, "latency")["median_s"]
    network.delay(1, 300)
    delayed = _client(network, 2, cluster.bootstrap, topic, "latency")["median_s"]
    network.undelay(1)
    # A harness check, not a speed target: each acknowledged produce waits for at least one delayed answer.
    assert delayed - plain > 0.15, (plain, delayed)
