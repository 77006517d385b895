"""The transaction coordinator on a cluster: ``__transaction_state`` replicated (ReplicatedTxnStateLog) and where each
transactional id's coordinator is (TransactionPlacement).

ReplicatedTxnStateLog appends as the partition's leader does (in its leader epoch, acks=all: returned once the
in-sync replicas have the records and they are below the high watermark) and reads back this node's replica. The
coordinator runs, per partition, on the node leading it (ClusterNode moves it with the leadership), so an append
raises NotLeaderOrFollowerError once another node leads — the coordinator's sign to resign that partition.

TransactionPlacement answers FindCoordinator for a transactional id: the leader of its ``__transaction_state``
partition. As Kafka, the topic is created on the first such question (``transaction.state.log.num.partitions``
partitions, ``transaction.state.log.replication.factor`` replicas — at most as many as the cluster has voters —
and ``min.insync.replicas`` = ``transaction.state.log.min.isr``); until it exists and has a leader the answer is
None (COORDINATOR_NOT_AVAILABLE, which clients retry).

Thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from hub.log.errors import LogError, ReplicationTimeoutError
from hub.log.group.offsets_log import Record, TopicOffsetsLog
from hub.log.records import NewRecord, encode_batch
from hub.log.txn.contracts import TRANSACTION_STATE_TOPIC
from hub.log.txn.coordinator import TransactionConfig
from hub.log.txn.state_format import partition_for
from hub.log.txn.state_log import STATE_TOPIC_CONFIGS

if TYPE_CHECKING:
    from hub.log.cluster.cluster_node import ClusterNode

log = logging.getLogger("hub.log.cluster")

#: How long an append waits for the in-sync replicas (Kafka's default request timeout for these writes).
COMMIT_TIMEOUT_S = 5.0


class ReplicatedTxnStateLog:
    """See the module docstring."""

    def __init__(self, cluster: ClusterNode, config: TransactionConfig) -> None:
        self.cluster = cluster
        self.config = config

    def partition_count(self) -> int:
        topic = self.cluster.metadata().topics.get(TRANSACTION_STATE_TOPIC)
        return self.config.num_partitions if topic is None else len(topic.partitions)

    def append(self, partition: int, records: Sequence[Record]) -> None:
        if not records:
            return
        leadership = self.cluster.replicas.leadership(TRANSACTION_STATE_TOPIC, partition)
        leadership.check_can_append(-1)
        batch = encode_batch([NewRecord(key, value) for key, value in records])
        result = leadership.log.append_and_wait(batch, leader_epoch=leadership.epoch, timeout_s=COMMIT_TIMEOUT_S)
        try:
            leadership.replicated(result.last_offset + 1).result(COMMIT_TIMEOUT_S)
        except TimeoutError:
            raise ReplicationTimeoutError(
                f"{TRANSACTION_STATE_TOPIC}-{partition}: not replicated to the in-sync replicas within "
                f"{COMMIT_TIMEOUT_S:g} s"
            ) from None

    def read_all(self, partition: int) -> Iterable[Record]:
        return TopicOffsetsLog.read_partition(self.cluster.store.partition(TRANSACTION_STATE_TOPIC, partition))


class TransactionPlacement:
    """See the module docstring."""

    def __init__(self, cluster: ClusterNode, config: TransactionConfig) -> None:
        self.cluster = cluster
        self.config = config
        self._creating: threading.Thread | None = None
        self._lock = threading.Lock()

    def transaction_node(self, transactional_id: str) -> tuple[int, str, int] | None:
        topic = self.cluster.metadata().topics.get(TRANSACTION_STATE_TOPIC)
        if topic is None:
            self._create_topic()
            return None
        return self.cluster.partition_leader(
            TRANSACTION_STATE_TOPIC, partition_for(transactional_id, len(topic.partitions))
        )

    def leader_id(self, topic: str, partition: int) -> int | None:
        leader = self.cluster.partition_leader(topic, partition)
        return None if leader is None else leader[0]

    def exists(self, topic: str, partition: int) -> bool:
        state = self.cluster.metadata().topics.get(topic)
        return state is not None and 0 <= partition < len(state.partitions)

    def _create_topic(self) -> None:
        with self._lock:
            if self._creating is not None and self._creating.is_alive():
                return
            self._creating = threading.Thread(target=self._create, name="hub-txn-state-topic", daemon=True)
            self._creating.start()

    def _create(self) -> None:
        factor = max(1, min(self.config.replication_factor, len(self.cluster.settings.voters)))
        configs = {**STATE_TOPIC_CONFIGS, "min.insync.replicas": str(min(self.config.min_isr, factor))}
        try:
            self.cluster.create_topic(
                TRANSACTION_STATE_TOPIC, self.config.num_partitions, factor, None, configs, exists_ok=True
            )
            log.info(
                "created %s (%d partitions, %d replicas)", TRANSACTION_STATE_TOPIC, self.config.num_partitions, factor
            )
        except LogError as exc:
            log.info("%s not created yet: %s", TRANSACTION_STATE_TOPIC, exc)
