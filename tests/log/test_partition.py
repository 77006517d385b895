"""PartitionLog: append, read, offsets by time, rolls, rejected batches, concurrency, truncation."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from hub.log.batch import iter_batches, validate_batch
from hub.log.config import TopicConfig
from hub.log.errors import InvalidBatchError, OffsetOutOfRangeError, RecordTooLargeError
from hub.log.partition import PartitionLog
from hub.log.records import iter_records
from tests.log.conftest import BatchFactory


def _open(path: Path, **configs: object) -> PartitionLog:
    log = PartitionLog(path / "t-0", "t", 0, TopicConfig.build({k.replace("_", "."): v for k, v in configs.items()}))
    log.open()
    return log


def _values(data: bytes) -> list[bytes | None]:
    return [record.value for record in iter_records(data)]


def test_append_assigns_offsets_and_stores_bytes_as_sent(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    first = make_batch([b"a", b"b", b"c"])
    result = log.append(first, leader_epoch=3).wait()
    assert (result.base_offset, result.last_offset, result.record_count) == (0, 2, 3)
    second = log.append(make_batch([b"d"])).wait()
    assert second.base_offset == 3
    stored = log.read(0, 1 << 20)
    assert stored[12:][:4] == (3).to_bytes(4, "big")  # partition leader epoch stamped
    assert stored[16 : len(first)] == first[16:]  # everything after the leader epoch is byte-identical
    assert _values(stored) == [b"a", b"b", b"c", b"d"]
    assert _values(log.read(2, 1 << 20)) == [b"a", b"b", b"c", b"d"]  # the batch holding offset 2 comes whole
    assert _values(log.read(3, 1 << 20)) == [b"d"]
    assert log.read(4, 1 << 20) == b""
    log.close()


def test_read_returns_at_least_one_batch_and_whole_batches_only(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    for i in range(10):
        log.append(make_batch([bytes([i]) * 100])).wait()
    one = log.read(0, 10)
    assert len(list(iter_batches(one))) == 1
    some = log.read(0, 500)
    assert 1 <= len(list(iter_batches(some))) < 10
    assert _values(log.read(0, 1 << 20, max_offset=4)) == [bytes([i]) * 100 for i in range(4)]
    log.close()


def test_out_of_range_reads(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    log.append(make_batch([b"x"])).wait()
    with pytest.raises(OffsetOutOfRangeError, match=r"offset 5 is outside \[0, 1\]"):
        log.read(5, 100)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(-1, 100)
    log.close()


def test_bad_request_writes_nothing(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, max_message_bytes=500)
    good = make_batch([b"ok"])
    corrupt = bytearray(make_batch([b"bad"]))
    corrupt[-1] ^= 0xFF
    with pytest.raises(InvalidBatchError, match="CRC mismatch"):
        log.append(good + bytes(corrupt))
    with pytest.raises(RecordTooLargeError, match=r"max\.message\.bytes is 500"):
        log.append(good + make_batch([b"x" * 1000]))
    with pytest.raises(InvalidBatchError):
        log.append(good[:-3])
    assert log.log_end_offset == 0
    assert log.active.size == 0
    log.close()


def test_compacted_topics_need_keys(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, cleanup_policy="compact")
    with pytest.raises(InvalidBatchError, match="needs a key"):
        log.append(make_batch([b"v"], keys=[None]))
    log.append(make_batch([b"v"], keys=[b"k"])).wait()
    log.close()


def test_log_append_time_restamps_and_keeps_crc_valid(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, message_timestamp_type="LogAppendTime")
    result = log.append(make_batch([b"a"], timestamp=5)).wait()
    header = validate_batch(log.read(0, 1000))
    assert header.timestamp_type == 1
    assert header.max_timestamp == result.log_append_time_ms > 5
    log.close()


def test_rolls_by_size_and_reads_across_segments(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, segment_bytes=1000, index_interval_bytes=200)
    for i in range(40):
        log.append(make_batch([b"%03d" % i * 20], timestamp=10_000 + i)).wait()
    assert len(log.segments) > 3
    assert all(segment.size <= 1000 for segment in log.segments)
    seen: list[bytes | None] = []
    offset = 0
    while offset < log.log_end_offset:
        chunk = log.read(offset, 700)
        seen += _values(chunk)
        offset = list(iter_batches(chunk))[-1][1].next_offset
    assert seen == [b"%03d" % i * 20 for i in range(40)]
    assert log.offset_for_timestamp(10_017) == (17, 10_017)
    assert log.offset_for_timestamp(99_999) is None
    log.close()


def test_rolls_when_timestamps_pass_segment_ms(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, segment_ms=1000)
    log.append(make_batch([b"a"], timestamp=1_000_000)).wait()
    log.append(make_batch([b"b"], timestamp=1_000_500)).wait()
    assert len(log.segments) == 1
    log.append(make_batch([b"c"], timestamp=1_002_000)).wait()
    assert [s.base_offset for s in log.segments] == [0, 2]
    log.close()


def test_concurrent_appends_keep_every_batch_whole_and_ordered(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, segment_bytes=20_000)
    errors: list[BaseException] = []

    def writer(thread: int) -> None:
        try:
            for i in range(50):
                log.append(make_batch([b"%d-%d" % (thread, i)] * 3)).wait()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert log.log_end_offset == 8 * 50 * 3
    offsets = [
        record.offset for segment in log.segments for record in iter_records(segment.read(segment.base_offset, 1 << 30))
    ]
    assert offsets == list(range(1200))
    for thread in range(8):
        mine = [
            v
            for s in log.segments
            for v in _values(s.read(s.base_offset, 1 << 30))
            if v and v.startswith(b"%d-" % thread)
        ]
        assert mine == [b"%d-%d" % (thread, i) for i in range(50) for _ in range(3)]
    log.close()


def test_truncate_to_removes_later_batches_and_epochs(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, segment_bytes=400)
    for i in range(10):
        log.append(make_batch([b"v%d" % i] * 2), leader_epoch=i // 5).wait()
    assert log.epochs == [(0, 0), (1, 10)]
    log.truncate_to(8)
    assert log.log_end_offset == 8
    assert log.epochs == [(0, 0)]
    assert _values(log.read(6, 1000))[-1] == b"v3"
    log.append(make_batch([b"after"]), leader_epoch=2).wait()
    log.close()
    reopened = _open(tmp_path)
    assert reopened.log_end_offset == 9
    assert reopened.epochs == [(0, 0), (2, 8)]
    reopened.close()


def test_delete_records_before_advances_log_start(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, segment_bytes=300, file_delete_delay_ms=0)
    for i in range(20):
        log.append(make_batch([b"v%d" % i])).wait()
    before = len(log.segments)
    assert log.delete_records_before(12) == 12
    assert len(log.segments) < before
    with pytest.raises(OffsetOutOfRangeError):
        log.read(11, 100)
    assert _values(log.read(12, 1 << 20))[0] is not None
    log.close()
    reopened = _open(tmp_path)
    assert reopened.log_start_offset == 12
    reopened.close()


def test_read_slices_point_at_the_bytes_read_returns(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, segment_bytes=1000)
    for i in range(20):
        log.append(make_batch([b"s%02d" % i] * 2)).wait()
    for offset, max_bytes, max_offset in [(0, 1 << 20, None), (7, 150, None), (13, 1 << 20, 20), (39, 1, None)]:
        slices = log.read_slices(offset, max_bytes, max_offset=max_offset)
        assert len(slices) == 1
        sent = b"".join(os.pread(piece.fd, piece.length, piece.position) for piece in slices)
        assert sent == log.read(offset, max_bytes, max_offset=max_offset)
        assert slices[-1].next_offset == [header for _, header in iter_batches(sent)][-1].next_offset
    assert log.read_slices(40, 100) == []
    with pytest.raises(OffsetOutOfRangeError):
        log.read_slices(41, 100)
    log.close()


def test_append_and_wait_shares_fsyncs_between_threads(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    batch = make_batch([b"w" * 100] * 5)

    def writer() -> None:
        for _ in range(40):
            assert log.append_and_wait(batch).durable.done()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.flushed_offset == log.log_end_offset == 8 * 40 * 5
    assert log.fsync_count < 8 * 40
    log.close()


def test_flush_messages_acknowledges_at_write_and_fsyncs_by_count(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path, flush_messages=10)
    for _ in range(3):
        assert log.append(make_batch([b"a", b"b"])).durable.done()  # acknowledged before any fsync
    assert log.fsync_count == 0
    assert log.flushed_offset == 0
    log.flush()
    assert log.flushed_offset == 6
    assert log.fsync_count == 1
    log.close()


def test_leader_epoch_checkpoint_is_kafkas_text_format(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    log.append(make_batch([b"a", b"b"]), leader_epoch=1).wait()
    log.append(make_batch([b"c"]), leader_epoch=1).wait()
    log.append(make_batch([b"d"]), leader_epoch=4).wait()
    assert (tmp_path / "t-0" / "leader-epoch-checkpoint").read_text() == "0\n2\n1 0\n4 3\n"
    log.close()


def test_replace_segments_swaps_cleaned_data_in_and_keeps_readers_working(
    tmp_path: Path, make_batch: BatchFactory
) -> None:
    log = _open(tmp_path, segment_bytes=300, file_delete_delay_ms=60_000)
    for i in range(12):
        log.append(make_batch([b"r%02d" % i], keys=[b"same"])).wait()
    old = log.closed_segments()[:3]
    held = old[1]
    cleaned = log.new_cleaned_segment(old[0].base_offset)
    last = old[-1].read(old[-1].next_offset - 1, 1 << 20)  # the newest batch of the replaced range stays
    cleaned.append(bytearray(last), [(0, validate_batch(last))])
    log.replace_segments(old, cleaned)
    assert log.segments[0] is cleaned
    names = sorted(path.name for path in (tmp_path / "t-0").glob("*.log*"))
    assert f"{old[0].base_offset:020d}.log" in names
    assert f"{old[1].base_offset:020d}.log.deleted" in names
    assert not [name for name in names if name.endswith((".cleaned", ".swap"))]
    assert _values(log.read(0, 1 << 20)) == [b"r%02d" % (old[-1].next_offset - 1)]
    assert _values(held.read(held.base_offset, 1 << 20))  # a reader holding an old segment can still read it
    with pytest.raises(ValueError, match="no longer in the log"):
        log.replace_segments(old, log.new_cleaned_segment(old[0].base_offset))
    log.close()
    reopened = _open(tmp_path)
    assert _values(reopened.read(0, 1 << 20)) == [b"r%02d" % (old[-1].next_offset - 1)]
    assert reopened.log_end_offset == 12
    reopened.close()


def test_offset_for_timestamp_skips_records_below_the_log_start(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _open(tmp_path)
    log.append(make_batch([b"a", b"b", b"c", b"d"], timestamp=100)).wait()  # offsets 0-3, timestamps 100-103
    log.append(make_batch([b"e"], timestamp=200)).wait()
    assert log.offset_for_timestamp(101) == (1, 101)
    log.delete_records_before(2)
    assert log.offset_for_timestamp(101) == (2, 102)
    assert log.offset_for_timestamp(150) == (4, 200)
    assert log.offset_for_timestamp(201) is None
    log.close()


def test_offset_for_timestamp_uses_the_append_time_under_log_append_time(
    tmp_path: Path, make_batch: BatchFactory
) -> None:
    log = PartitionLog(
        tmp_path / "t-0", "t", 0, TopicConfig.build({"message.timestamp.type": "LogAppendTime"}), clock=lambda: 50.0
    )
    log.open()
    log.append(make_batch([b"a", b"b"], timestamp=999_999)).wait()  # producer times are ignored: appended at 50 s
    assert log.offset_for_timestamp(40_000) == (0, 50_000)
    assert log.offset_for_timestamp(50_001) is None
    log.close()


def test_rolls_when_the_index_is_full(tmp_path: Path, make_batch: BatchFactory) -> None:
    # Room for two 12-byte time index entries; an entry is added every 10 bytes of appends.
    log = _open(tmp_path, segment_index_bytes=24, index_interval_bytes=10)
    for i in range(8):
        log.append(make_batch([b"i%d" % i], timestamp=1000 + i)).wait()
    assert len(log.segments) >= 3
    assert all(len(segment.time_index.timestamps) <= 2 for segment in log.segments)
    assert [_values(log.read(offset, 1))[0] for offset in range(8)] == [b"i%d" % i for i in range(8)]
    assert log.log_end_offset == 8
    log.close()


def test_readers_and_retention_running_with_appends_only_see_whole_batches(
    tmp_path: Path, make_batch: BatchFactory
) -> None:
    # Retired segments stay open for a second: readers holding one finish their read (file.delete.delay.ms).
    log = _open(tmp_path, segment_bytes=2000, retention_bytes=6000, file_delete_delay_ms=1000, flush_messages=10**6)
    stop = threading.Event()
    problems: list[BaseException] = []
    seen_batches = 0

    def reader() -> None:
        nonlocal seen_batches
        while not stop.is_set():
            offset = log.log_start_offset
            try:
                while offset < log.log_end_offset:
                    data = log.read(offset, 3000)
                    headers = [header for _, header in iter_batches(data, corrupt=True)]  # CRC of every batch
                    seen_batches += len(headers)
                    offset = headers[-1].next_offset
            except OffsetOutOfRangeError:
                continue  # retention moved the log start past us: start again
            except BaseException as exc:
                problems.append(exc)
                return

    def retention() -> None:
        while not stop.wait(0.001):
            log.apply_retention()

    helpers = [threading.Thread(target=reader), threading.Thread(target=reader), threading.Thread(target=retention)]
    for helper in helpers:
        helper.start()
    try:
        for i in range(300):
            log.append(make_batch([b"%04d" % i * 25] * 2))
    finally:
        stop.set()
        for helper in helpers:
            helper.join()
    assert not problems
    assert seen_batches > 0
    assert log.log_end_offset == 600
    assert log.log_start_offset > 0
    assert log.size_bytes < 6000 + 2000
    log.close()
