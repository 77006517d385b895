"""Offsets pending in a transaction across the death of the group coordinator on the replicated store: the
TxnOffsetCommit's records are replicated as the producer's transactional batch, so the next leader of
``__consumer_offsets``-0 loads them as pending again (UNSTABLE_OFFSET_COMMIT with ``require_stable``), not as
committed offsets."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from tests.harness.store_cluster import ClusterFactory, StoreCluster
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RETRIABLE = {ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE}


def _coordinator(cluster: StoreCluster) -> RawKafkaConnection:
    node_id = cluster.partition("__consumer_offsets").leader
    host, port = cluster.nodes[node_id].bootstrap.rsplit(":", 1)
    return RawKafkaConnection(host, int(port))


def _request(cluster: StoreCluster, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
    """The coordinator's answer, once it serves (a node that has just taken over may still be loading)."""
    answer: dict[str, Any] = {}

    def answered() -> bool:
        nonlocal answer
        try:
            with _coordinator(cluster) as conn:
                answer = conn.request(api_key, version, body)
        except (ConnectionError, OSError):
            return False
        return not RETRIABLE & set(_error_codes(answer))

    cluster.wait_until(answered, 60, f"an answer to API {api_key} from the group coordinator")
    return answer


def _error_codes(answer: Any) -> list[int]:
    if isinstance(answer, dict):
        codes = [answer["error_code"]] if "error_code" in answer else []
        return codes + [code for value in answer.values() for code in _error_codes(value)]
    if isinstance(answer, list):
        return [code for item in answer for code in _error_codes(item)]
    return []


def _fetch(cluster: StoreCluster, group: str, topic: str, *, stable: bool) -> dict[int, tuple[int, int]]:
    body = {
        "groups": [
            {
                "group_id": group,
                "member_id": None,
                "member_epoch": -1,
                "topics": [{"name": topic, "partition_indexes": [0, 1]}],
            }
        ],
        "require_stable": stable,
    }
    (answered,) = _request(cluster, 9, 8, body)["groups"]
    return {
        p["partition_index"]: (p["error_code"], p["committed_offset"])
        for t in answered["topics"]
        for p in t["partitions"]
    }


def test_a_pending_transactional_offset_stays_pending_on_the_next_coordinator(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3)
    topic, group = f"t-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, 2, 3)
    committed = _request(
        cluster,
        8,
        9,
        {
            "group_id": group,
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [{"name": topic, "partitions": [{"partition_index": 1, "committed_offset": 4}]}],
        },
    )
    assert _error_codes(committed) == [ErrorCode.NONE]
    sent = _request(
        cluster,
        28,
        5,
        {
            "transactional_id": "txn",
            "group_id": group,
            "producer_id": 42,
            "producer_epoch": 0,
            "generation_id": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": 0, "committed_offset": 7, "committed_leader_epoch": -1},
                        {"partition_index": 1, "committed_offset": 8, "committed_leader_epoch": -1},
                    ],
                }
            ],
        },
    )
    assert _error_codes(sent) == [ErrorCode.NONE, ErrorCode.NONE]
    unstable = {0: (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1), 1: (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1)}
    assert _fetch(cluster, group, topic, stable=True) == unstable

    coordinator = cluster.partition("__consumer_offsets").leader
    cluster.kill(coordinator)
    cluster.wait_until(
        lambda: cluster.partition("__consumer_offsets").leader not in (-1, coordinator), 60, "a new coordinator"
    )
    assert _fetch(cluster, group, topic, stable=True) == unstable
    assert _fetch(cluster, group, topic, stable=False) == {0: (ErrorCode.NONE, -1), 1: (ErrorCode.NONE, 4)}
