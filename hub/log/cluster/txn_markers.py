"""RemoteMarkerSender: sends transaction markers to the leaders of partitions on other nodes — Kafka's
WriteTxnMarkers (API 27, version 1), as its TransactionMarkerChannelManager does.

One connection per destination node (its inter-broker listener, with the cluster's client security), used by one
worker thread at a time. The future resolves with the error code per (producer id, partition) the leader answered;
a request that fails (no such node now, connection lost, timeout) answers each of its partitions
NOT_LEADER_OR_FOLLOWER or REQUEST_TIMED_OUT, which the MarkerDispatcher retries after looking the leader up again.

Thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from hub.log.client.kafka.connection import KafkaConnection
from hub.log.error_codes import ErrorCode
from hub.log.txn.contracts import TopicPartitionKey, TxnMarker

if TYPE_CHECKING:
    from hub.log.cluster.cluster_node import ClusterNode

log = logging.getLogger("hub.log.cluster")

WRITE_TXN_MARKERS = 27
WRITE_TXN_MARKERS_VERSION = 1
REQUEST_TIMEOUT_S = 30.0

MarkerResults = dict[tuple[int, TopicPartitionKey], ErrorCode]


class RemoteMarkerSender:
    """See the module docstring."""

    def __init__(self, cluster: ClusterNode) -> None:
        self.cluster = cluster
        self._connections: dict[tuple[int, str, int], KafkaConnection] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hub-txn-marker-sender")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for connection in self._connections.values():
            connection.close()

    def __call__(self, node_id: int, markers: Sequence[TxnMarker]) -> Future[MarkerResults]:
        try:
            return self._pool.submit(self._send, node_id, list(markers))
        except RuntimeError:
            future: Future[MarkerResults] = Future()
            future.set_result(_all(markers, ErrorCode.NOT_LEADER_OR_FOLLOWER))
            return future

    def _send(self, node_id: int, markers: list[TxnMarker]) -> MarkerResults:
        broker = self.cluster.metadata().brokers.get(node_id)
        if broker is None or broker.fenced:
            return _all(markers, ErrorCode.NOT_LEADER_OR_FOLLOWER)
        key = (node_id, broker.host, broker.port)
        connection = self._connections.get(key)
        if connection is None:
            connection = self._connections[key] = KafkaConnection(
                broker.host,
                broker.port,
                client_id=f"txn-marker-sender-{self.cluster.node_id}",
                timeout_s=REQUEST_TIMEOUT_S,
                security=self.cluster.settings.replication.client_security,
            )
        body = {"markers": [_request_marker(marker) for marker in markers]}
        try:
            response = connection.request(WRITE_TXN_MARKERS, WRITE_TXN_MARKERS_VERSION, body)
        except Exception as exc:
            log.info("WriteTxnMarkers to node %d failed: %s", node_id, exc)
            return _all(markers, ErrorCode.REQUEST_TIMED_OUT)
        results: MarkerResults = {}
        for answer in response["markers"]:
            for topic in answer["topics"]:
                for partition in topic["partitions"]:
                    key_tp = (answer["producer_id"], (topic["name"], partition["partition_index"]))
                    results[key_tp] = ErrorCode(partition["error_code"])
        return results


def _request_marker(marker: TxnMarker) -> dict[str, object]:
    by_topic: dict[str, list[int]] = {}
    for topic, partition in marker.partitions:
        by_topic.setdefault(topic, []).append(partition)
    return {
        "producer_id": marker.producer_id,
        "producer_epoch": marker.producer_epoch,
        "transaction_result": marker.commit,
        "topics": [{"name": topic, "partition_indexes": indexes} for topic, indexes in by_topic.items()],
        "coordinator_epoch": marker.coordinator_epoch,
    }


def _all(markers: Sequence[TxnMarker], error: ErrorCode) -> MarkerResults:
    return {(m.producer_id, tp): error for m in markers for tp in m.partitions}
