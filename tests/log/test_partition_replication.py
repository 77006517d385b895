"""PartitionLog as a replica: follower appends keep the leader's offsets and epochs, epoch lookups answer
OffsetsForLeaderEpoch, truncation repairs a divergent tail, the high watermark is replication's."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.log.config import TopicConfig
from hub.log.errors import InvalidBatchError, UnexpectedAppendOffsetError
from hub.log.partition import PartitionLog
from hub.log.records import iter_records
from tests.log.conftest import BatchFactory


def _open(path: Path, name: str = "t-0") -> PartitionLog:
    log = PartitionLog(path / name, "t", 0, TopicConfig.build({}))
    log.open()
    return log


def _values(log: PartitionLog) -> list[bytes | None]:
    return [record.value for record in iter_records(log.read(log.log_start_offset, 1 << 30))]


def test_follower_append_keeps_offsets_and_epochs(tmp_path: Path, make_batch: BatchFactory) -> None:
    leader = _open(tmp_path, "leader")
    leader.start_leader_epoch(1)
    leader.append_and_wait(make_batch([b"a", b"b"]), leader_epoch=1)
    leader.start_leader_epoch(4)
    leader.append_and_wait(make_batch([b"c"]), leader_epoch=4)
    follower = _open(tmp_path, "follower")
    assert follower.append_replicated(leader.read(0, 1 << 20)) == 3
    assert follower.read(0, 1 << 20) == leader.read(0, 1 << 20)
    assert follower.epochs == [(1, 0), (4, 2)]
    # A repeated fetch appends nothing twice.
    assert follower.append_replicated(leader.read(0, 1 << 20)) == 3
    assert _values(follower) == [b"a", b"b", b"c"]
    leader.close()
    follower.close()


def test_follower_append_refuses_a_gap_and_a_corrupt_batch(tmp_path: Path, make_batch: BatchFactory) -> None:
    leader = _open(tmp_path, "leader")
    for value in (b"a", b"b"):
        leader.append_and_wait(make_batch([value]))
    follower = _open(tmp_path, "follower")
    with pytest.raises(InvalidBatchError, match="starts at offset 1, log end is 0"):
        follower.append_replicated(leader.read(1, 1 << 20))
    corrupt = bytearray(leader.read(0, 1 << 20))
    corrupt[-1] ^= 0xFF
    with pytest.raises(InvalidBatchError, match="CRC"):
        follower.append_replicated(corrupt)
    assert follower.log_end_offset == 0
    # A trailing partial batch waits for the next fetch.
    whole = leader.read(0, 1 << 20)
    assert follower.append_replicated(whole[:-3]) == 1
    leader.close()
    follower.close()


def test_end_offset_for_epoch_answers_as_kafka(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    assert log.end_offset_for_epoch(0) == (-1, -1)
    log.start_leader_epoch(2)
    log.append_and_wait(make_batch([b"a", b"b"]), leader_epoch=2)
    log.start_leader_epoch(5)
    log.append_and_wait(make_batch([b"c"]), leader_epoch=5)
    assert log.end_offset_for_epoch(1) == (-1, -1)  # older than the first epoch
    assert log.end_offset_for_epoch(2) == (2, 2)
    assert log.end_offset_for_epoch(3) == (2, 2)  # the largest epoch <= 3, ending where epoch 5 starts
    assert log.end_offset_for_epoch(5) == (5, 3)
    assert log.end_offset_for_epoch(9) == (5, 3)
    log.truncate_to(2)
    assert log.epochs == [(2, 0)]
    assert log.end_offset_for_epoch(5) == (2, 2)
    log.close()


def test_high_watermark_is_replications_and_survives_a_restart(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    for value in (b"a", b"b", b"c"):
        log.append_and_wait(make_batch([value]))
    assert log.high_watermark == 3
    assert not log.replicated
    assert log.update_high_watermark(1)
    assert log.high_watermark == 1
    assert log.replicated
    assert not log.update_high_watermark(0)  # never back, except by truncation
    assert log.update_high_watermark(10)
    assert log.high_watermark == 3
    log.truncate_to(2)
    assert log.high_watermark == 2
    log.close()
    reopened = _open(tmp_path)
    assert reopened.checkpointed_high_watermark == 2
    reopened.close()


def test_truncate_fully_and_start_at(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    log.append_and_wait(make_batch([b"a"]), leader_epoch=1)
    log.truncate_fully_and_start_at(100)
    assert (log.log_start_offset, log.log_end_offset, log.epochs) == (100, 100, [])
    log.close()
    reopened = _open(tmp_path)
    assert (reopened.log_start_offset, reopened.log_end_offset) == (100, 100)
    reopened.close()


def test_truncate_fully_at_a_dropped_segments_base_offset(tmp_path: Path, make_batch: BatchFactory) -> None:
    """The new segment starts where the dropped one did (same file names): it starts empty, and what is appended
    to it survives the dropped segment's deletion and a reopen."""
    log = _open(tmp_path)
    log.append_and_wait(make_batch([b"old-a", b"old-b"]))
    log.truncate_fully_and_start_at(0)
    assert (log.log_end_offset, log.active.size, _values(log)) == (0, 0, [])
    assert log.append_replicated(make_batch([b"new"])) == 1
    assert _values(log) == [b"new"]
    log.close()
    reopened = _open(tmp_path)
    assert (reopened.log_start_offset, reopened.log_end_offset, _values(reopened)) == (0, 1, [b"new"])
    reopened.close()


def test_a_batch_starting_below_the_log_end_is_named(tmp_path: Path, make_batch: BatchFactory) -> None:
    leader = _open(tmp_path, "leader")
    leader.append_and_wait(make_batch([b"a", b"b", b"c"]))
    follower = _open(tmp_path, "follower")
    follower.truncate_fully_and_start_at(1)  # the leader's log start, inside its first batch
    with pytest.raises(UnexpectedAppendOffsetError) as raised:
        follower.append_replicated(leader.read(1, 1 << 20))
    assert raised.value.first_offset == 0
    leader.close()
    follower.close()
