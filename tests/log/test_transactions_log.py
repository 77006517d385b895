"""Transactions in a partition log: open transactions, markers, the last stable offset, the transaction index and
its recovery after a crash (truncated or missing files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.log.batch import iter_batches
from hub.log.config import TopicConfig
from hub.log.control import ABORT, COMMIT, control_type, decode_marker, encode_marker
from hub.log.errors import (
    InvalidProducerEpochError,
    InvalidRecordError,
    InvalidTxnStateError,
    TransactionCoordinatorFencedError,
)
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, decode_batch, encode_batch
from hub.log.txn_index import ENTRY_SIZE, AbortedTxn

PID_A = 1000
PID_B = 2000


def _open(path: Path, **configs: object) -> PartitionLog:
    log = PartitionLog(path / "t-0", "t", 0, TopicConfig.build({k.replace("_", "."): v for k, v in configs.items()}))
    log.open()
    return log


class Producer:
    """A transactional producer's batches, numbered as a Kafka client numbers them."""

    def __init__(self, pid: int, epoch: int = 0) -> None:
        self.pid = pid
        self.epoch = epoch
        self.sequence = 0

    def batch(self, *values: bytes, transactional: bool = True, timestamp: int | None = None) -> bytes:
        data = encode_batch(
            [NewRecord(b"k", value, timestamp=timestamp) for value in values],
            producer_id=self.pid,
            producer_epoch=self.epoch,
            base_sequence=self.sequence,
            transactional=transactional,
        )
        self.sequence += len(values)
        return data


def _read_all(log: PartitionLog, start: int = 0, upper: int | None = None) -> bytes:
    data = b""
    offset = start
    while chunk := log.read(offset, 1 << 30, max_offset=upper):
        data += chunk
        offset = [header for _, header in iter_batches(chunk)][-1].next_offset
    return data


def _committed_values(log: PartitionLog, start: int = 0) -> list[bytes | None]:
    """What a read_committed consumer gets: records below the LSO, minus aborted transactions and markers."""
    upper = log.last_stable_offset
    data = _read_all(log, start, upper)
    aborted = {
        (entry.producer_id, entry.first_offset, entry.last_offset) for entry in log.aborted_transactions(start, upper)
    }
    values: list[bytes | None] = []
    position = 0
    while position < len(data):
        decoded = decode_batch(data, position)
        position += decoded.header.size
        header = decoded.header
        if header.is_control or header.base_offset >= upper:
            continue
        skip = any(pid == header.producer_id and first <= header.base_offset <= last for pid, first, last in aborted)
        if not skip:
            values.extend(record.value for record in decoded.records)
    return values


def test_marker_format_is_kafkas_control_record() -> None:
    batch = encode_marker(7, 3, True, 11, timestamp=5)
    decoded = decode_batch(batch)
    assert decoded.header.is_control
    assert decoded.header.is_transactional
    assert (decoded.header.producer_id, decoded.header.producer_epoch, decoded.header.base_sequence) == (7, 3, -1)
    (record,) = decoded.records
    assert record.key == b"\x00\x00\x00\x01"  # version 0, type COMMIT
    assert record.value == b"\x00\x00\x00\x00\x00\x0b"  # version 0, coordinator epoch 11
    assert decode_marker(batch).coordinator_epoch == 11
    assert control_type(b"\x00\x00\x00\x00") == ABORT
    assert control_type(b"\x00\x00\x00\x01") == COMMIT
    with pytest.raises(InvalidRecordError):
        control_type(b"\x00\x00\x00\x05")


def test_open_transaction_holds_the_last_stable_offset_until_its_marker(tmp_path: Path) -> None:
    log = _open(tmp_path)
    a = Producer(PID_A)
    log.append(encode_batch([NewRecord(None, b"plain")])).wait()
    log.append(a.batch(b"a1", b"a2")).wait()
    log.append(encode_batch([NewRecord(None, b"later")])).wait()
    assert log.high_watermark == 4
    assert log.last_stable_offset == 1
    result = log.append_marker(PID_A, 0, True, 0).wait()
    assert result.base_offset == 4
    assert log.last_stable_offset == log.log_end_offset == 5
    assert _committed_values(log) == [b"plain", b"a1", b"a2", b"later"]
    assert log.aborted_transactions(0, 5) == []
    log.close()


def test_aborted_transaction_is_indexed_in_its_markers_segment(tmp_path: Path) -> None:
    log = _open(tmp_path)
    a, b = Producer(PID_A), Producer(PID_B)
    log.append(a.batch(b"a1")).wait()  # 0
    log.append(b.batch(b"b1")).wait()  # 1
    log.append(a.batch(b"a2")).wait()  # 2
    assert log.last_stable_offset == 0
    log.append_marker(PID_A, 0, False, 0).wait()  # 3
    assert log.last_stable_offset == 1  # b's transaction is still open
    (entry,) = log.aborted_transactions(0, 4)
    assert entry == AbortedTxn(PID_A, 0, 3, 1)
    log.append_marker(PID_B, 0, True, 0).wait()  # 4
    assert log.last_stable_offset == 5
    assert _committed_values(log) == [b"b1"]
    assert log.aborted_transactions(4, 5) == []  # a's records all lie below the range
    txn_files = list((tmp_path / "t-0").glob("*.txnindex"))
    assert [path.stat().st_size for path in txn_files] == [ENTRY_SIZE]
    log.close()


def test_non_transactional_write_inside_an_open_transaction_is_refused(tmp_path: Path) -> None:
    log = _open(tmp_path)
    a = Producer(PID_A)
    log.append(a.batch(b"a1")).wait()
    with pytest.raises(InvalidTxnStateError):
        log.append(a.batch(b"x", transactional=False))
    assert log.log_end_offset == 1
    log.close()


def test_markers_are_fenced_by_producer_and_coordinator_epochs_and_retries_are_noops(tmp_path: Path) -> None:
    log = _open(tmp_path)
    a = Producer(PID_A, epoch=2)
    log.append(a.batch(b"a1")).wait()
    with pytest.raises(InvalidProducerEpochError):
        log.append_marker(PID_A, 1, True, 5)
    first = log.append_marker(PID_A, 2, True, 5).wait()
    retry = log.append_marker(PID_A, 2, True, 5).wait()
    assert (retry.base_offset, retry.batch_count) == (first.base_offset, 0)
    assert log.log_end_offset == 2
    log.append(a.batch(b"a2")).wait()
    with pytest.raises(TransactionCoordinatorFencedError):
        log.append_marker(PID_A, 2, False, 4)
    # A timed-out transaction is aborted by the coordinator with the producer's epoch bumped.
    bumped = log.append_marker(PID_A, 3, False, 5).wait()
    assert bumped.batch_count == 1
    assert log.active_producers() == [(PID_A, 3, -1, log.active_producers()[0][3], 5, -1)]
    log.close()


def test_describe_view_shows_the_open_transaction(tmp_path: Path) -> None:
    log = _open(tmp_path)
    log.append(encode_batch([NewRecord(None, b"x")])).wait()
    log.append(Producer(PID_A, epoch=4).batch(b"a1")).wait()
    ((pid, epoch, last_sequence, _, coordinator_epoch, txn_start),) = log.active_producers()
    assert (pid, epoch, last_sequence, coordinator_epoch, txn_start) == (PID_A, 4, 0, -1, 1)
    log.close()


def _aborted_log(tmp_path: Path) -> PartitionLog:
    """Two segments: a's aborted transaction spans them, b's committed one is in the second."""
    log = _open(tmp_path)
    a, b = Producer(PID_A), Producer(PID_B)
    log.append(a.batch(b"a1")).wait()
    log.roll()
    log.append(b.batch(b"b1")).wait()
    log.append(a.batch(b"a2")).wait()
    log.append_marker(PID_A, 0, False, 0).wait()
    log.append_marker(PID_B, 0, True, 0).wait()
    return log


def test_reopen_recovers_the_same_state(tmp_path: Path) -> None:
    log = _aborted_log(tmp_path)
    before = (log.aborted_transactions(0, 10), log.last_stable_offset, log.active_producers())
    log.close()
    log = _open(tmp_path)
    assert (log.aborted_transactions(0, 10), log.last_stable_offset, log.active_producers()) == before
    assert _committed_values(log) == [b"b1"]
    log.close()


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_a_lost_or_torn_transaction_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    log = _aborted_log(tmp_path)
    expected = log.aborted_transactions(0, 10)
    log.close()
    (path,) = (tmp_path / "t-0").glob("*.txnindex")
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        os.truncate(path, ENTRY_SIZE - 5)
    else:
        path.write_bytes(b"\x00\x07" + b"\xff" * (ENTRY_SIZE - 2))
    log = _open(tmp_path)
    assert log.aborted_transactions(0, 10) == expected
    assert path.stat().st_size == ENTRY_SIZE
    log.close()


def test_crash_that_tears_the_marker_leaves_the_transaction_open(tmp_path: Path) -> None:
    """kill -9 style: the log file ends inside the marker (and the index had its entry): after recovery the
    transaction is open again, so the coordinator's retried marker decides it."""
    log = _aborted_log(tmp_path)
    log.close()
    directory = tmp_path / "t-0"
    last_log = sorted(directory.glob("*.log"))[-1]
    os.truncate(last_log, last_log.stat().st_size - 30)  # into the COMMIT marker of b
    (directory / "partition.checkpoint").unlink()  # an unclean shutdown: no recovery point
    log = _open(tmp_path)
    assert log.log_end_offset == 4
    assert log.last_stable_offset == 1  # b's transaction, begun at 1, is open again
    assert [entry.last_offset for entry in log.aborted_transactions(0, 4)] == [3]
    log.append_marker(PID_B, 0, True, 0).wait()
    assert _committed_values(log) == [b"b1"]
    log.close()


def test_truncation_trims_the_index(tmp_path: Path) -> None:
    log = _aborted_log(tmp_path)
    log.truncate_to(2)  # drops a2, both markers
    assert log.aborted_transactions(0, 10) == []
    assert log.last_stable_offset == 0  # both transactions are open again
    assert not list((tmp_path / "t-0").glob("*.txnindex"))
    log.close()


def test_replicated_markers_update_the_followers_state(tmp_path: Path) -> None:
    leader = _aborted_log(tmp_path / "leader")
    follower = _open(tmp_path / "follower")
    follower.append_replicated(_read_all(leader))
    assert follower.log_end_offset == leader.log_end_offset
    assert follower.aborted_transactions(0, 10) == leader.aborted_transactions(0, 10)
    assert follower.active_producers() == leader.active_producers()
    leader.close()
    follower.close()


def test_retention_stops_at_the_last_stable_offset(tmp_path: Path) -> None:
    log = _open(tmp_path, retention_ms=1)
    a = Producer(PID_A)
    log.append(a.batch(b"a1", timestamp=1000)).wait()
    log.roll()
    log.append(encode_batch([NewRecord(None, b"x", timestamp=1000)])).wait()
    log.roll()
    log.append(encode_batch([NewRecord(None, b"y", timestamp=1000)])).wait()
    assert log.apply_retention(now_ms=10_000_000) == 0  # the open transaction's segment pins everything
    log.append_marker(PID_A, 0, True, 0).wait()
    assert log.apply_retention(now_ms=10_000_000) >= 2
    log.close()


def test_segment_files_include_the_index_when_deleted(tmp_path: Path) -> None:
    log = _aborted_log(tmp_path)
    log.delete()
    assert not (tmp_path / "t-0").exists()


def test_marker_batches_are_valid_stored_batches(tmp_path: Path) -> None:
    log = _aborted_log(tmp_path)
    kinds = [header.is_control for _, header in iter_batches(_read_all(log))]
    assert kinds == [False, False, False, True, True]
    log.close()


def test_an_ended_transaction_stays_unstable_until_its_marker_is_replicated(tmp_path: Path) -> None:
    log = _open(tmp_path)
    log.update_high_watermark(0)  # replicated mode: the high watermark is replication's
    log.append(Producer(PID_A).batch(b"a1")).wait()
    log.append_marker(PID_A, 0, True, 0).wait()
    log.update_high_watermark(1)
    assert log.last_stable_offset == 0  # the marker (offset 1) is not below the high watermark yet
    log.update_high_watermark(2)
    assert log.last_stable_offset == 2
    log.close()


def test_producers_with_an_open_transaction_do_not_expire(tmp_path: Path) -> None:
    log = _open(tmp_path)
    log.append(Producer(PID_A).batch(b"a1", timestamp=1000)).wait()
    log.append(
        encode_batch([NewRecord(None, b"x", timestamp=1000)], producer_id=PID_B, producer_epoch=0, base_sequence=0)
    )
    assert log.producer_state.expire(10_000_000, 1000) == 1
    assert [entry[0] for entry in log.active_producers()] == [PID_A]
    assert log.last_stable_offset == 0
    log.close()


def test_a_replicated_control_batch_that_is_no_marker_ends_nothing(tmp_path: Path) -> None:
    follower = _open(tmp_path)
    follower.append_replicated(Producer(PID_A).batch(b"a1"))
    odd = encode_batch(
        [NewRecord(b"\x00\x00\x00\x03", b"")], base_offset=1, producer_id=PID_A, producer_epoch=0, control=True
    )
    assert follower.append_replicated(odd) == 2
    assert follower.last_stable_offset == 0  # still open: that batch was no COMMIT or ABORT
    follower.close()
    follower = _open(tmp_path)
    assert follower.last_stable_offset == 0
    follower.close()
