"""Slow followers on a real slow link (issue 21): a follower's replica fetches delayed by tc netem, or mostly lost
(nftables, for kernels without netem), while its metadata-quorum traffic, on another port, flows at full speed. The
follower leaves the ISR for lagging, acks=all writes go on while min.insync.replicas=2 holds and are refused with
NOT_ENOUGH_REPLICAS once the leader is alone; healed, both followers return, and every acknowledged record is on
every replica exactly once, in order (read as test_failover reads them).

test_failover's stalled-follower test stops a follower's process instead (SIGSTOP), which needs no namespaces.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import KafkaError

from tests.harness.netns import Network
from tests.harness.store_cluster import NAMESPACE_PORT, ClusterFactory
from tests.log.cluster.clients import SequenceProducer, topic_name
from tests.log.cluster.test_failover import IN_SYNC_2, _assert_replicas_hold_exactly, _produce_once, _wait_whole

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]


@pytest.fixture(params=["netem-delay", "nft-loss"])
def slow_link(request: pytest.FixtureRequest) -> str:
    """How a follower is slowed: its fetches held 3 s each (tc netem), or 90 % of them lost (nftables, where the
    kernel has no netem), TCP's retransmissions then making each fetch take seconds."""
    return str(request.param)


def _slow_fetches(network: Network, node_id: int, how: str) -> None:
    # Only the follower's packets to the Kafka port (its fetches) suffer: the metadata quorum runs on another port
    # at full speed, so the controller can commit the ISR changes (its elections time out in about a second).
    if how == "netem-delay":
        network.delay(node_id, 3000, dport=NAMESPACE_PORT)
    else:
        network.add_loss(node_id, 90, dport=NAMESPACE_PORT)


def _restore_fetches(network: Network, node_id: int) -> None:
    network.undelay(node_id)
    network.remove_loss(node_id)


def test_slow_followers_leave_the_isr_and_min_insync_replicas_guards_acks(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory, slow_link: str
) -> None:
    network = network_namespaces(3)
    reason = network.netem_unavailable() if slow_link == "netem-delay" else None
    if reason:
        pytest.skip(reason)
    # Heartbeats stay well inside the session, so a follower leaves the ISR for lagging, not for being fenced.
    options = {"replica.lag.time.max.ms": "1000", "broker.session.timeout.ms": "15000"}
    cluster = store_cluster(3, network=network, options=options)
    topic = topic_name()
    cluster.create_topic(topic, 1, 3, IN_SYNC_2)
    producer = SequenceProducer(cluster.bootstrap, topic, "slow").start()
    view = _wait_whole(cluster, topic, "before the delay")
    leader = view.leader
    first, second = (node_id for node_id in view.replicas if node_id != leader)
    producer.wait_acked(200)

    _slow_fetches(network, first, slow_link)
    cluster.wait_until(
        lambda: set(cluster.partition(topic, via=leader).isr) == {1, 2, 3} - {first},
        60,
        f"slow follower {first} leaves the ISR",
    )
    producer.wait_acked(200)  # the leader and one follower satisfy min.insync.replicas=2

    _slow_fetches(network, second, slow_link)
    cluster.wait_until(
        lambda: cluster.partition(topic, via=leader).isr == (leader,), 60, "both slow followers leave the ISR"
    )
    error = _produce_once(cluster.nodes[leader].bootstrap, topic)
    assert error is not None
    assert error.code() == KafkaError.NOT_ENOUGH_REPLICAS, error

    _restore_fetches(network, first)
    _restore_fetches(network, second)
    _wait_whole(cluster, topic, "after the delays end", via=leader)
    producer.wait_acked(200)  # what waited for the ISR is acknowledged now, and new records too
    producer.stop()
    _assert_replicas_hold_exactly(cluster, topic, producer)
