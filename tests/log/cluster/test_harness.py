"""The fault-test harness itself, against today's single store: processes killed and restarted, a store in one
network namespace and confluent-kafka clients in others, partitions that cut and heal, and netem delay."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness.netns import Network
from tests.harness.store_cluster import NAMESPACE_PORT, ClusterFactory
from tests.log.cluster.clients import SequenceProducer, run_client, topic_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _values(tag: str) -> list[str]:
    return [f"{tag}-{i}" for i in range(20)]


def test_killed_node_restarts_with_every_acknowledged_record(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(1)
    topic = topic_name()
    cluster.create_topic(topic, 1, 1)
    producer = SequenceProducer(cluster.bootstrap, topic).start()
    for _ in range(3):
        producer.wait_acked(200)
        cluster.kill(1)
        cluster.restart(1)
    producer.wait_acked(200)
    producer.stop()
    assert producer.errors == []
    view = cluster.partition(topic)
    assert (view.leader, view.isr) == (view.replicas[0], view.replicas)
    cluster.stop(1)
    stored = [(record.offset, record.value) for record in cluster.replica_records(1, topic)]
    assert [value for _, value in stored] == producer.expected()  # exactly once, in order
    assert sorted(producer.acked) == stored


def test_paused_node_answers_nothing_until_resumed(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(1)
    topic = topic_name()
    cluster.create_topic(topic, 1, 1)
    cluster.pause(1)
    with pytest.raises(ConnectionError, match="no answer from"):
        cluster.partition(topic, timeout_s=2)
    cluster.resume(1)
    assert cluster.wait_until(lambda: cluster.partition(topic), timeout_s=10).leader >= 0


def test_isolation_cuts_a_namespace_off_and_heal_restores_it(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory
) -> None:
    network = network_namespaces(3)
    cluster = store_cluster(1, network=network)
    topic = topic_name()
    cluster.create_topic(topic, 1, 1)

    before = run_client(network, 2, cluster.bootstrap, topic, "roundtrip", "a")
    assert (before["errors"], before["consumed"]) == ([], _values("a"))

    network.isolate(1, peers=[2])  # namespace 3 and the observer still reach the store
    cut = run_client(network, 2, cluster.bootstrap, topic, "produce", "b")
    assert len(cut["errors"]) == 20
    assert all("timed out" in error.lower() for error in cut["errors"]), cut["errors"][:3]
    assert cut["acked"] == cut["consumed"] == []
    beside = run_client(network, 3, cluster.bootstrap, topic, "roundtrip", "c")
    assert (beside["errors"], beside["consumed"]) == ([], _values("a") + _values("c"))
    assert cluster.partition(topic).leader >= 0

    network.heal()
    after = run_client(network, 2, cluster.bootstrap, topic, "roundtrip", "d")
    assert (after["errors"], after["consumed"]) == ([], _values("a") + _values("c") + _values("d"))


def test_loss_on_the_kafka_port_cuts_a_client_off_and_other_ports_pass(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory
) -> None:
    network = network_namespaces(2)
    cluster = store_cluster(1, network=network)
    topic = topic_name()
    cluster.create_topic(topic, 1, 1)
    network.add_loss(2, 90, dport=NAMESPACE_PORT + 1)  # another port: the client is not touched
    passed = run_client(network, 2, cluster.bootstrap, topic, "produce", "a")
    assert (passed["errors"], len(passed["acked"])) == ([], 20)
    network.add_loss(2, 100, dport=NAMESPACE_PORT)
    lost = run_client(network, 2, cluster.bootstrap, topic, "produce", "b")
    assert (len(lost["errors"]), lost["acked"]) == (20, [])
    network.remove_loss(2)
    after = run_client(network, 2, cluster.bootstrap, topic, "produce", "c")
    assert (after["errors"], len(after["acked"])) == ([], 20)


def test_netem_delay_lengthens_round_trips_of_a_namespace_or_of_one_port(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory
) -> None:
    network = network_namespaces(2)
    reason = network.netem_unavailable()
    if reason:
        pytest.skip(reason)
    cluster = store_cluster(1, network=network)
    topic = topic_name()
    cluster.create_topic(topic, 1, 1)

    def median_s() -> float:
        return float(run_client(network, 2, cluster.bootstrap, topic, "latency", count=10)["median_s"])

    plain = median_s()
    # A harness check, not a speed target: each acknowledged produce waits for at least one delayed packet.
    network.delay(1, 300)  # everything the store's namespace sends
    assert median_s() - plain > 0.15
    network.undelay(1)
    network.delay(2, 300, dport=NAMESPACE_PORT)  # only the client's packets to the Kafka port
    assert median_s() - plain > 0.15
    network.delay(2, 300, dport=NAMESPACE_PORT + 1)  # another port: the client is not held
    assert median_s() - plain < 0.15
