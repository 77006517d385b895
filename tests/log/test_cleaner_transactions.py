"""Compaction of partitions with transactions: aborted records go (and never supersede committed ones), markers stay
while their transaction has batches and go after delete.retention.ms, nothing at or past the last stable offset is
cleaned, and the cleaned log reopens with the same transaction state."""

from __future__ import annotations

from pathlib import Path

from hub.log.batch import iter_batches
from hub.log.cleaner import LogCleaner
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch, iter_records
from hub.log.store import TopicStore

NOW = 1_800_000_000_000
DAY_MS = 86_400_000
COMPACT = {
    "cleanup.policy": "compact",
    "min.cleanable.dirty.ratio": "0.01",
    "file.delete.delay.ms": "0",
    "delete.retention.ms": str(DAY_MS),
}
PID_X, PID_Y = 4001, 4002


class TxnProducer:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.sequence = 0

    def batch(self, *pairs: tuple[bytes, bytes]) -> bytes:
        data = encode_batch(
            [NewRecord(key, value, timestamp=NOW) for key, value in pairs],
            producer_id=self.pid,
            producer_epoch=0,
            base_sequence=self.sequence,
            transactional=True,
        )
        self.sequence += len(pairs)
        return data


def _plain(key: bytes, value: bytes) -> bytes:
    return encode_batch([NewRecord(key, value, timestamp=NOW)])


def _all(log: PartitionLog) -> bytes:
    return b"".join(segment.read_at(0, segment.size) for segment in log.segments)


def _values(log: PartitionLog) -> list[tuple[bytes | None, bytes | None]]:
    return [(record.key, record.value) for record in iter_records(_all(log))]


def _markers(log: PartitionLog) -> list[int]:
    return [header.base_offset for _, header in iter_batches(_all(log)) if header.is_control]


def _setup(store: TopicStore) -> PartitionLog:
    """k=committed-old (plain), then X aborts k=aborted, Y commits j=committed; then other producers' records so the
    transactions' batches are not their producers' last."""
    store.create_topic("c", 1, COMPACT)
    log = store.partition("c", 0)
    x, y = TxnProducer(PID_X), TxnProducer(PID_Y)
    log.append_and_wait(_plain(b"k", b"committed-old"))  # 0
    log.append_and_wait(x.batch((b"k", b"aborted")))  # 1
    log.append_and_wait(y.batch((b"j", b"committed")))  # 2
    log.append_marker(PID_X, 0, False, 0).wait()  # 3
    log.append_marker(PID_Y, 0, True, 0).wait()  # 4
    log.append_and_wait(x.batch((b"z", b"x-later")))  # 5: X's next transaction...
    log.append_marker(PID_X, 0, True, 0).wait()  # 6: ...committed
    log.append_and_wait(y.batch((b"w", b"y-later")))  # 7
    log.append_marker(PID_Y, 0, True, 0).wait()  # 8
    log.roll()
    log.append_and_wait(_plain(b"tail", b"t"))
    return log


def test_aborted_records_are_removed_and_do_not_supersede_committed_ones(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        log = _setup(store)
        LogCleaner(store).clean_partition(log, NOW, force=True)
        values = _values(log)
        assert (b"k", b"committed-old") in values
        assert (b"k", b"aborted") not in values
        assert (b"j", b"committed") in values
        # The ABORT marker stays this time: the walk removed its transaction's batch just now.
        assert 3 in _markers(log)
        assert [entry.last_offset for entry in log.aborted_transactions(0, 10)] == [3]
        # The cleaned segment's index took the final name with its log (through .cleaned and .swap); the replaced
        # segment's is retired with it.
        names = sorted(path.name for path in log.directory.iterdir() if "txnindex" in path.name)
        assert names == ["00000000000000000000.txnindex", "00000000000000000000.txnindex.deleted"]


def test_markers_go_after_their_transaction_and_the_delete_horizon(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        log = _setup(store)
        cleaner = LogCleaner(store)
        cleaner.clean_partition(log, NOW, force=True)
        # The next cleaning (new dirty data brings it): X's aborted batch is gone, so its ABORT marker gets a delete
        # horizon; Y's first COMMIT still has its batch (j is the latest value of its key), so that marker stays.
        log.append_and_wait(_plain(b"tail", b"t2"))
        log.roll()
        cleaner.clean_partition(log, NOW + 1, force=True)
        assert 3 in _markers(log)
        assert 4 in _markers(log)
        # Past delete.retention.ms the ABORT marker goes (the pending horizon brings that cleaning), with its entry.
        assert cleaner.clean_partition(log, NOW + 2 * DAY_MS) is not None
        assert 3 not in _markers(log)
        assert 4 in _markers(log)
        assert log.aborted_transactions(0, 10) == []
        assert (b"k", b"committed-old") in _values(log)


def test_nothing_at_or_past_the_last_stable_offset_is_cleaned(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, COMPACT)
        log = store.partition("c", 0)
        x = TxnProducer(PID_X)
        log.append_and_wait(_plain(b"k", b"v1"))
        log.append_and_wait(x.batch((b"k", b"open")))
        log.roll()
        log.append_and_wait(_plain(b"k", b"v2"))
        log.roll()
        log.append_and_wait(_plain(b"k", b"v3"))
        assert log.last_stable_offset == 1
        assert LogCleaner(store).clean_partition(log, NOW, force=True) is None
        assert [value for _, value in _values(log)] == [b"v1", b"open", b"v2", b"v3"]


def test_a_cleaned_log_reopens_with_the_same_transaction_state(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        log = _setup(store)
        LogCleaner(store).clean_partition(log, NOW, force=True)
        before = (log.aborted_transactions(0, 20), log.last_stable_offset, _values(log))
    with TopicStore(tmp_path) as store:
        log = store.partition("c", 0)
        assert log.last_stable_offset == before[1]
        assert _values(log) == before[2]
        assert [(e.producer_id, e.last_offset) for e in log.aborted_transactions(0, 20)] == [
            (e.producer_id, e.last_offset) for e in before[0]
        ]


def test_a_commit_marker_goes_once_its_transactions_records_are_compacted_away(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, COMPACT)
        log = store.partition("c", 0)
        y = TxnProducer(PID_Y)
        log.append_and_wait(y.batch((b"k", b"in-txn")))  # 0
        log.append_marker(PID_Y, 0, True, 0).wait()  # 1
        log.append_and_wait(y.batch((b"other", b"o")))  # 2: Y's later batches keep 0 from being its last
        log.append_marker(PID_Y, 0, True, 0).wait()  # 3
        log.append_and_wait(_plain(b"k", b"newer"))  # 4 supersedes offset 0
        log.roll()
        log.append_and_wait(_plain(b"tail", b"t"))
        cleaner = LogCleaner(store)
        cleaner.clean_partition(log, NOW, force=True)
        assert (b"k", b"in-txn") not in _values(log)
        assert 1 in _markers(log)  # its batch was there during this walk
        log.append_and_wait(_plain(b"tail", b"t2"))
        log.roll()
        cleaner.clean_partition(log, NOW + 1, force=True)  # now it may go: stamped with a delete horizon
        assert 1 in _markers(log)
        assert cleaner.clean_partition(log, NOW + 2 * DAY_MS) is not None
        assert 1 not in _markers(log)
        assert 3 in _markers(log)  # Y's last batch: kept for its producer state
        assert _values(log)[:2] == [(b"other", b"o"), (b"k", b"newer")]
