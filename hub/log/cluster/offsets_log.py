"""ReplicatedOffsetsLog: the group coordinator's OffsetsLog on a cluster — ``__consumer_offsets`` partition 0,
appended as its leader does (in the leader epoch, acks=all: returned once the ISR has the records and they are
below the high watermark) and read back from this node's replica.

The coordinator runs on the node that leads the partition (``ClusterNode`` moves it with the leadership), so
``append`` raises NotLeaderOrFollowerError once another node leads — the coordinator's sign to resign.
Thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.log.cluster.replica_manager import ReplicaManager
from hub.log.errors import ReplicationTimeoutError
from hub.log.group.offsets_log import OFFSETS_TOPIC, Record, StoredRecord, TopicOffsetsLog, encode_transactional
from hub.log.records import NewRecord, encode_batch

#: How long an append waits for the in-sync replicas (Kafka's offsets.commit.timeout.ms default).
COMMIT_TIMEOUT_S = 5.0


class ReplicatedOffsetsLog:
    """See the module docstring."""

    def __init__(self, replicas: ReplicaManager) -> None:
        self.replicas = replicas

    def append(self, records: Sequence[Record], *, producer_id: int = -1, producer_epoch: int = -1) -> None:
        if not records:
            return
        leadership = self.replicas.leadership(OFFSETS_TOPIC, 0)
        leadership.check_can_append(-1)
        if producer_id < 0:
            batch = encode_batch([NewRecord(key, value) for key, value in records])
        else:
            batch = encode_transactional(leadership.log, records, producer_id, producer_epoch)
        result = leadership.log.append_and_wait(batch, leader_epoch=leadership.epoch, timeout_s=COMMIT_TIMEOUT_S)
        try:
            leadership.replicated(result.last_offset + 1).result(COMMIT_TIMEOUT_S)
        except TimeoutError:
            raise ReplicationTimeoutError(
                f"{OFFSETS_TOPIC}-0: not replicated to the in-sync replicas within {COMMIT_TIMEOUT_S:g} s"
            ) from None

    def read_all(self) -> Iterable[StoredRecord]:
        return TopicOffsetsLog.read_stored(self.replicas.store.partition(OFFSETS_TOPIC, 0))
