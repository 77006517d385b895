"""The admin APIs of issue 22 on a replicated store of three `hub log serve` nodes: DeleteRecords moves the
leader's log start and the followers follow it, DescribeProducers is answered by the leader only, and topic and
dynamic broker configs go through the metadata quorum to every node, surviving a node's restart."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, ResourceType
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaPythonPartition

from hub.log.error_codes import ErrorCode
from hub.log.partition import CHECKPOINT_FILE
from tests.harness.store_cluster import ClusterFactory, StoreCluster
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

TOPIC, BROKER = 2, 4


def _log_start(cluster: StoreCluster, node_id: int, topic: str) -> int:
    checkpoint = cluster.nodes[node_id].data_dir / f"{topic}-0" / CHECKPOINT_FILE
    return int(json.loads(checkpoint.read_text())["log_start_offset"])


def _raw(cluster: StoreCluster, node_id: int, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
    node = cluster.nodes[node_id]
    with RawKafkaConnection(node.host, node.port) as connection:
        return connection.request(api_key, version, body)


def _describe(cluster: StoreCluster, node_id: int, kind: int, name: str, key: str) -> tuple[str, int]:
    answer = _raw(
        cluster,
        node_id,
        32,
        4,
        {
            "resources": [{"resource_type": kind, "resource_name": name, "configuration_keys": [key]}],
            "include_synonyms": False,
            "include_documentation": False,
        },
    )
    config = answer["results"][0]["configs"][0]
    return config["value"], config["config_source"]


def test_admin_apis_on_a_replicated_store(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic = f"t-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, 1, 3)
    cluster.wait_until(lambda: set(cluster.partition(topic).isr) == {1, 2, 3}, 60, "all three in the ISR")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "acks": "all"})
    for index in range(10):
        producer.produce(topic, f"v{index}".encode())
    assert producer.flush(30) == 0
    leader = cluster.partition(topic).leader
    follower = next(node for node in (1, 2, 3) if node != leader)

    # DeleteRecords: through the leader, followers take the new log start from its Fetch answers
    admin = cluster.admin()
    done = admin.delete_records([TopicPartition(topic, 0, 6)])[TopicPartition(topic, 0, 6)].result(30)
    assert done.low_watermark == 6
    for node in (1, 2, 3):
        cluster.wait_until(lambda node=node: _log_start(cluster, node, topic) == 6, 30, f"node {node}'s log start")
    refused = _raw(
        cluster,
        follower,
        21,
        2,
        {"topics": [{"name": topic, "partitions": [{"partition_index": 0, "offset": 8}]}], "timeout_ms": 5000},
    )
    assert refused["topics"][0]["partitions"][0]["error_code"] == ErrorCode.NOT_LEADER_OR_FOLLOWER

    # DescribeProducers: the leader knows the idempotent producer, a follower refuses
    kafka_python = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=10_000)
    try:
        states = kafka_python.describe_producers([KafkaPythonPartition(topic, 0)])
        (state,) = states[KafkaPythonPartition(topic, 0)].active_producers
        assert state.last_sequence == 9
        more = kafka_python.delete_records({KafkaPythonPartition(topic, 0): -1})
        assert more[KafkaPythonPartition(topic, 0)]["low_watermark"] == 10
    finally:
        kafka_python.close()
    answer = _raw(cluster, follower, 61, 0, {"topics": [{"name": topic, "partition_indexes": [0]}]})
    assert answer["topics"][0]["partitions"][0]["error_code"] == ErrorCode.NOT_LEADER_OR_FOLLOWER

    # configs through the quorum: a topic's, the cluster-wide default, one broker's own
    entry = ConfigEntry("retention.bytes", "777777", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(30)
    cluster_wide = {
        "resources": [
            {
                "resource_type": BROKER,
                "resource_name": "",
                "configs": [{"name": "log.retention.ms", "config_operation": 0, "value": "3600000"}],
            }
        ],
        "validate_only": False,
    }
    assert _raw(cluster, 2, 44, 1, cluster_wide)["responses"][0]["error_code"] == ErrorCode.NONE
    entry = ConfigEntry("log.retention.ms", "120000", incremental_operation=AlterConfigOpType.SET)
    own = ConfigResource(ResourceType.BROKER, "3", incremental_configs=[entry])
    admin.incremental_alter_configs([own])[own].result(30)
    expected = {
        1: ("3600000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value),
        2: ("3600000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value),
        3: ("120000", ConfigSource.DYNAMIC_BROKER_CONFIG.value),
    }
    for node, retention in expected.items():
        cluster.wait_until(
            lambda node=node, retention=retention: _describe(cluster, node, TOPIC, topic, "retention.ms") == retention,
            30,
            f"node {node}'s retention.ms",
        )
        assert _describe(cluster, node, TOPIC, topic, "retention.bytes") == ("777777", 1)
    cluster.restart(3)  # back from its copy of the quorum's log, once it has caught up
    cluster.wait_until(
        lambda: _describe(cluster, 3, BROKER, "3", "log.retention.ms") == expected[3], 30, "node 3's own config"
    )
    assert _describe(cluster, 3, TOPIC, topic, "retention.ms") == expected[3]
    assert _describe(cluster, 3, BROKER, "", "log.retention.ms") == expected[1]
