"""LogMarkerWriter: markers appended to the partitions this node leads, answered per partition with Kafka's codes,
retries as no-ops, listeners told after commit; on a cluster a marker waits for the in-sync replicas (acks=all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from hub.log.cluster.leadership import PartitionLeadership
from hub.log.cluster.metadata import PartitionState
from hub.log.config import TopicConfig
from hub.log.error_codes import ErrorCode
from hub.log.marker_writer import LogMarkerWriter
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch
from hub.log.store import TopicStore
from hub.log.txn.contracts import TxnMarker

PID = 9001


def _txn_batch(sequence: int = 0, epoch: int = 0) -> bytes:
    return encode_batch(
        [NewRecord(None, b"v")], producer_id=PID, producer_epoch=epoch, base_sequence=sequence, transactional=True
    )


def test_markers_are_written_per_partition_with_kafkas_codes(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("t", 2)
        writer = LogMarkerWriter(store)
        heard: list[tuple[str, int, int, bool, int]] = []
        writer.add_listener(lambda *args: heard.append(args))
        store.partition("t", 0).append_and_wait(_txn_batch())
        marker = TxnMarker(PID, 0, True, 3, (("t", 0), ("t", 1), ("t", 7), ("missing", 0)))
        answer = writer.write_markers([marker]).result(10)
        assert answer == {
            (PID, ("t", 0)): ErrorCode.NONE,
            (PID, ("t", 1)): ErrorCode.NONE,  # no batch of the producer there: the marker is written all the same
            (PID, ("t", 7)): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            (PID, ("missing", 0)): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        }
        assert heard == [("t", 0, PID, True, 1), ("t", 1, PID, True, 0)]
        assert store.partition("t", 0).last_stable_offset == 2
        # A retry is answered NONE and writes nothing; listeners hear it again (they are idempotent).
        assert writer.write_markers([marker]).result(10)[(PID, ("t", 0))] is ErrorCode.NONE
        assert store.partition("t", 0).log_end_offset == 2
        assert heard[-2:] == [("t", 0, PID, True, 1), ("t", 1, PID, True, 0)]
        writer.close()


def test_fenced_markers_are_refused(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("t", 1)
        writer = LogMarkerWriter(store)
        store.partition("t", 0).append_and_wait(_txn_batch(epoch=5))
        write = writer.write_markers_now
        assert write([TxnMarker(PID, 4, False, 1, (("t", 0),))]) == {(PID, ("t", 0)): ErrorCode.INVALID_PRODUCER_EPOCH}
        assert write([TxnMarker(PID, 5, False, 2, (("t", 0),))]) == {(PID, ("t", 0)): ErrorCode.NONE}
        store.partition("t", 0).append_and_wait(_txn_batch(sequence=1, epoch=5))
        assert write([TxnMarker(PID, 5, True, 1, (("t", 0),))]) == {
            (PID, ("t", 0)): ErrorCode.TRANSACTION_COORDINATOR_FENCED
        }
        writer.close()
        assert writer.write_markers([TxnMarker(PID, 5, True, 2, (("t", 0),))]).result(10) == {
            (PID, ("t", 0)): ErrorCode.NOT_LEADER_OR_FOLLOWER
        }


class _Replicas:
    """A cluster's ReplicaManager as the writer sees it: leaderships by partition."""

    def __init__(self, leaderships: dict[tuple[str, int], PartitionLeadership]) -> None:
        self.leaderships = leaderships

    def leadership(self, topic: str, partition: int) -> PartitionLeadership:
        return self.leaderships[(topic, partition)]


def test_on_a_cluster_a_marker_waits_for_the_in_sync_replicas(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", "t", 0, TopicConfig.build({}))
    log.open()
    leadership = PartitionLeadership(1, log, PartitionState((1, 2), (1, 2), 1, 7, 0), min_insync=lambda: 2)
    store = cast(Any, None)  # on a cluster every partition is reached through its leadership
    writer = LogMarkerWriter(store, cast(Any, _Replicas({("t", 0): leadership})), timeout_s=10)
    log.append_and_wait(_txn_batch(), leader_epoch=7)
    pending = writer.write_markers([TxnMarker(PID, 0, False, 0, (("t", 0),))])
    assert leadership.record_fetch(2, 1) is False  # the follower has the data batch, not the marker
    assert not pending.done()
    leadership.record_fetch(2, 2)
    assert pending.result(10) == {(PID, ("t", 0)): ErrorCode.NONE}
    assert log.last_stable_offset == 2
    assert log.epochs[-1] == (7, 0)
    # Below min.insync.replicas a marker is refused, as an acks=all produce is.
    leadership.update(PartitionState((1, 2), (1,), 1, 7, 1))
    assert writer.write_markers_now([TxnMarker(PID, 0, True, 0, (("t", 0),))]) == {
        (PID, ("t", 0)): ErrorCode.NOT_ENOUGH_REPLICAS
    }
    writer.close()
    log.close()
