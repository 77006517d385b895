"""Hub's Kafka-protocol clients (hub.log.client.kafka) across a leader's death on the replicated store."""

from __future__ import annotations

import pytest

from hub.log.client import OffsetSpec, TopicPartition
from hub.log.client.kafka import KafkaClients
from tests.harness.store_cluster import ClusterFactory
from tests.log.cluster.clients import topic_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_admin_lists_offsets_from_the_new_leader_after_the_old_one_died(store_cluster: ClusterFactory) -> None:
    # librdkafka's admin client keeps the leaders it cached: without fresh metadata it would wait out its timeout
    # on the dead node and answer no offset at all (which a reader took for 0).
    cluster = store_cluster(3)
    topic = topic_name()
    cluster.create_topic(topic, 1, 3)
    partition = TopicPartition(topic, 0)
    clients = KafkaClients(cluster.bootstrap)
    with clients.producer() as producer:
        for number in range(10):
            producer.send(topic, key=None, value=str(number).encode())
        producer.flush(30)
    with clients.admin() as admin:
        assert admin.list_offsets([partition], OffsetSpec.LATEST) == {partition: 10}  # leaders now cached
        leader = cluster.partition(topic).leader
        cluster.kill(leader)
        cluster.wait_until(lambda: cluster.partition(topic).leader not in (-1, leader), 30, "a new leader")
        # A new leader may answer its own high watermark until the remaining follower fetched once more.
        cluster.wait_until(lambda: admin.list_offsets([partition], OffsetSpec.LATEST) == {partition: 10}, 60)
        assert admin.list_offsets([partition], OffsetSpec.EARLIEST) == {partition: 0}
