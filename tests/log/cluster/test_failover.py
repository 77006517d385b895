"""Fault tests of the replicated store (issue 21): a leader killed with SIGKILL again and again, a leader cut off
by a network partition, slow followers. Every test ends the same way: the producer's acknowledged records are on
every replica exactly once, in order, and nothing else is.

How a replica is read: consumers only ever read a partition's leader, up to its high watermark, so they cannot
show what a follower stores. Once the records are acknowledged and the ISR is whole again, every node is stopped
cleanly (SIGTERM, exit code 0) and each node's data directory is read with hub.log's own TopicStore to its log
end (StoreCluster.replica_records): that shows every record a replica holds, a divergent tail included.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import NewTopic

from tests.harness.netns import Network
from tests.harness.store_cluster import ClusterFactory, PartitionView, StoreCluster
from tests.log.cluster.clients import SequenceProducer, WatchingConsumer, run_client, topic_name

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

IN_SYNC_2 = {"min.insync.replicas": "2"}


def _whole(cluster: StoreCluster, topic: str, via: int | None = None) -> PartitionView | None:
    """The partition's view when it has a leader and every replica is in the ISR, else None."""
    view = cluster.partition(topic, via=via)
    return view if view.leader in view.replicas and set(view.isr) == set(view.replicas) == {1, 2, 3} else None


def _wait_whole(cluster: StoreCluster, topic: str, what: str, via: int | None = None) -> PartitionView:
    return cluster.wait_until(lambda: _whole(cluster, topic, via), 60, f"{what}: a leader and all three in the ISR")


def _assert_replicas_hold_exactly(cluster: StoreCluster, topic: str, producer: SequenceProducer) -> None:
    """Once every replica is back in the ISR, stop every node cleanly and compare each replica's whole log with what
    the producer had acknowledged."""
    assert producer.errors == [], producer.errors[:5]
    assert len(producer.acked) == producer.sent
    # A follower that fell behind under load after the last check misses what was acknowledged without it; it
    # rejoins the ISR only once it holds everything below the high watermark, i.e. every acknowledged record.
    _wait_whole(cluster, topic, "before the replicas are compared")
    # ... as every node answers Metadata, not only the one asked above (one may answer from an older ISR).
    cluster.wait_until(
        lambda: all(cluster.in_every_isr(node_id) for node_id in cluster.nodes),
        60,
        "every node in every ISR, as each node sees it",
    )
    for node_id in cluster.running():
        cluster.stop(node_id)
    for node_id in cluster.nodes:
        stored = [(record.offset, record.value) for record in cluster.replica_records(node_id, topic)]
        values = [value for _, value in stored]
        assert values == producer.expected(), f"node {node_id}: not every acknowledged record once, in order"
        assert stored == sorted(producer.acked), f"node {node_id}: offsets differ from the acknowledged ones"


def _led_by_another(cluster: StoreCluster, topic: str, old: int) -> bool:
    return cluster.partition(topic).leader not in (-1, old)


def test_leader_killed_ten_times_loses_and_duplicates_nothing(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic = topic_name()
    cluster.create_topic(topic, 1, 3, IN_SYNC_2)
    producer = SequenceProducer(cluster.bootstrap, topic, "kill").start()
    watcher = WatchingConsumer(cluster.bootstrap, topic).start()
    for round_ in range(10):
        before = _wait_whole(cluster, topic, f"round {round_}")
        producer.wait_acked(100)
        cluster.kill(before.leader)
        cluster.wait_until(
            partial(_led_by_another, cluster, topic, before.leader),
            30,
            f"round {round_}: a new leader after node {before.leader} was killed",
        )
        producer.wait_acked(100)  # two replicas in sync satisfy min.insync.replicas=2
        cluster.restart(before.leader)
    _wait_whole(cluster, topic, "after the last restart")
    producer.wait_acked(100)
    producer.stop()
    seen = watcher.stop()
    assert len(seen) > 1000
    _assert_replicas_hold_exactly(cluster, topic, producer)
    # What the consumer read below the high watermark never went away: it is in the final log, at its offset.
    final = {record.offset: record.value for record in cluster.replica_records(1, topic)}
    assert all(final.get(offset) == value for offset, value in seen)


def test_partitioned_leader_acknowledges_nothing_and_truncates_after_heal(
    network_namespaces: Callable[[int], Network], store_cluster: ClusterFactory
) -> None:
    network = network_namespaces(3)
    cluster = store_cluster(3, network=network)
    topic = topic_name()
    cluster.create_topic(topic, 1, 3, IN_SYNC_2)
    # Requests that the isolated leader cannot complete fail after 5 s, not librdkafka's 60 s.
    fail_fast = {"request.timeout.ms": 5000, "socket.timeout.ms": 5000}
    producer = SequenceProducer(cluster.bootstrap, topic, "obs", **fail_fast).start()
    old = _wait_whole(cluster, topic, "before the partition").leader
    producer.wait_acked(200)
    majority = [node_id for node_id in cluster.nodes if node_id != old]

    # The test process still reaches the old leader: a node out of touch with the quorum closes its clients'
    # connections, so the producer, which asks the node it is connected to for metadata, finds the new leader.
    network.isolate(old)
    # A client on the minority side reaches only the old leader: acks=all cannot be satisfied there.
    minority = run_client(network, old, cluster.nodes[old].bootstrap, topic, "produce", "minority", 20)
    assert minority["acked"] == []
    assert len(minority["errors"]) == 20
    cluster.wait_until(
        lambda: (view := cluster.partition(topic, via=majority[0])).leader in majority and old not in view.isr,
        30,
        f"the majority elects a leader among {majority} and drops node {old} from the ISR",
    )
    producer.wait_acked(200)  # the majority keeps acknowledging

    network.heal()
    _wait_whole(cluster, topic, "after the heal", via=majority[0])
    producer.wait_acked(200)
    producer.stop()
    _assert_replicas_hold_exactly(cluster, topic, producer)  # the old leader's unacknowledged tail is gone


def _produce_once(bootstrap: str, topic: str) -> KafkaError | None:
    """One acks=all record, no retries: its delivery error (None = acknowledged)."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0, "message.timeout.ms": 10_000})
    outcome: list[KafkaError | None] = []
    producer.produce(topic, b"probe", partition=0, on_delivery=lambda error, _message: outcome.append(error))
    producer.flush(15)
    assert len(outcome) == 1
    return outcome[0]


def test_a_stalled_follower_leaves_the_isr_and_min_insync_replicas_guards_acks(store_cluster: ClusterFactory) -> None:
    """A follower whose fetches stop (its process is stopped with SIGSTOP: Linux's netem, which could delay them
    instead, is missing from many kernels) leaves the ISR after replica.lag.time.max.ms. The leader keeps serving
    a topic whose min.insync.replicas=2 still holds and refuses acks=all writes to one where it does not (3);
    resumed, the follower catches up and returns to the ISR, and nothing acknowledged is lost."""
    # The session outlasts the stall, so the follower leaves the ISR for lagging, not for being fenced; one
    # stalled voter of three leaves the metadata quorum its majority.
    options = {"replica.lag.time.max.ms": "1000", "broker.session.timeout.ms": "60000"}
    cluster = store_cluster(3, options=options)
    topic, strict = topic_name(), topic_name()
    cluster.create_topic(topic, 1, 3, IN_SYNC_2)
    producer = SequenceProducer(cluster.bootstrap, topic, "slow").start()
    view = _wait_whole(cluster, topic, "before the stall")
    leader = view.leader
    follower = next(node_id for node_id in view.replicas if node_id != leader)
    replicas = [leader, *(node_id for node_id in view.replicas if node_id != leader)]
    strict_topic = NewTopic(strict, 1, replica_assignment=[replicas], config={"min.insync.replicas": "3"})
    admin = cluster.admin()  # kept until the future resolves: destroying the client fails it
    admin.create_topics([strict_topic])[strict].result(30)
    _wait_whole(cluster, strict, "the strict topic, led by the same node")
    producer.wait_acked(200)
    assert _produce_once(cluster.nodes[leader].bootstrap, strict) is None

    cluster.pause(follower)
    try:
        for name in (topic, strict):
            cluster.wait_until(
                lambda name=name: set(cluster.partition(name, via=leader).isr) == {1, 2, 3} - {follower},
                60,
                f"{name}: stalled follower {follower} leaves the ISR",
            )
        producer.wait_acked(200)  # the leader and one follower satisfy min.insync.replicas=2
        error = _produce_once(cluster.nodes[leader].bootstrap, strict)
        assert error is not None
        assert error.code() == KafkaError.NOT_ENOUGH_REPLICAS, error
    finally:
        cluster.resume(follower)
    _wait_whole(cluster, topic, "after the stall ends", via=leader)
    assert _produce_once(cluster.nodes[leader].bootstrap, strict) is None
    producer.wait_acked(200)
    producer.stop()
    _assert_replicas_hold_exactly(cluster, topic, producer)
