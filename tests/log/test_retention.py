"""Retention removes whole closed segments by time and size and never the active segment's data too early."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hub.log.config import TopicConfig
from hub.log.partition import PartitionLog
from hub.log.store import TopicStore
from tests.log.conftest import BatchFactory

NOW_MS = 10_000_000


def _log(path: Path, **configs: str) -> PartitionLog:
    config = TopicConfig.build({"segment.bytes": "500", "file.delete.delay.ms": "0", **configs})
    log = PartitionLog(path / "t-0", "t", 0, config, clock=lambda: NOW_MS / 1000)
    log.open()
    return log


def test_time_retention_deletes_old_closed_segments(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.ms": "1000"})
    for i in range(20):
        log.append(make_batch([b"v" * 60], timestamp=NOW_MS - 5000 if i < 10 else NOW_MS)).wait()
    segments_before = len(log.segments)
    removed = log.apply_retention(NOW_MS)
    assert removed > 0
    assert len(log.segments) == segments_before - removed
    assert log.log_start_offset == log.segments[0].base_offset
    assert log.log_start_offset <= 10
    assert all(segment.max_timestamp >= NOW_MS - 1000 for segment in log.segments if segment.size)
    assert log.log_end_offset == 20
    assert not list((tmp_path / "t-0").glob("*.deleted"))
    log.close()


def test_expired_active_segment_is_rolled_then_deleted(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.ms": "1000", "segment.bytes": "100000"})
    for _ in range(5):
        log.append(make_batch([b"old"], timestamp=NOW_MS - 60_000)).wait()
    assert len(log.segments) == 1
    log.apply_retention(NOW_MS)
    assert log.log_start_offset == log.log_end_offset == 5
    assert log.read(5, 100) == b""
    log.append(make_batch([b"new"], timestamp=NOW_MS)).wait()
    assert log.log_end_offset == 6
    log.close()


def test_size_retention_keeps_the_newest_bytes(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.bytes": "1200", "retention.ms": "-1"})
    for _ in range(40):
        log.append(make_batch([b"s" * 80], timestamp=NOW_MS)).wait()
    log.apply_retention(NOW_MS)
    assert log.size_bytes - log.segments[0].size < 1200 <= log.size_bytes or len(log.segments) == 1
    assert log.log_end_offset == 40
    log.close()


def test_compacted_topics_are_not_deleted_by_time(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.ms": "1", "cleanup.policy": "compact"})
    for _ in range(20):
        log.append(make_batch([b"c" * 60], timestamp=NOW_MS - 50_000)).wait()
    assert log.apply_retention(NOW_MS) == 0
    assert log.log_start_offset == 0
    log.close()


def test_deleted_segments_wait_for_the_delete_delay(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.ms": "1000", "file.delete.delay.ms": "200"})
    for i in range(15):
        log.append(make_batch([b"d" * 60], timestamp=NOW_MS - 5000 if i < 10 else NOW_MS)).wait()
    log.apply_retention(NOW_MS)
    assert list((tmp_path / "t-0").glob("*.log.deleted"))
    time.sleep(0.25)
    log.apply_retention(NOW_MS)
    assert not list((tmp_path / "t-0").glob("*.deleted"))
    log.close()


def test_store_maintenance_thread_applies_retention(tmp_path: Path, make_batch: BatchFactory) -> None:
    with TopicStore(tmp_path, retention_check_interval_ms=50) as store:
        store.create_topic("t", 1, {"retention.ms": "1000", "segment.bytes": "300", "file.delete.delay.ms": "0"})
        partition = store.partition("t", 0)
        now = int(time.time() * 1000)
        for _ in range(10):
            partition.append(make_batch([b"m" * 60], timestamp=now - 10_000)).wait()
        deadline = time.monotonic() + 5
        while partition.log_start_offset < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert partition.log_start_offset == 10


def test_a_segment_without_timestamps_ages_by_its_file_time(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.ms": "1000"})
    for _ in range(12):
        log.append(make_batch([b"n" * 60], timestamp=-1)).wait()  # NO_TIMESTAMP on every record
    first = log.segments[0]
    assert first.max_timestamp < 0
    assert log.apply_retention(NOW_MS) == 0  # the files are new: nothing is older than retention.ms
    old_s = (NOW_MS - 60_000) / 1000
    os.utime(first.log_path, (old_s, old_s))
    assert log.apply_retention(NOW_MS) == 1
    assert log.segments[0] is not first
    log.close()


def test_size_and_time_limits_combine_and_spare_the_active_segment(tmp_path: Path, make_batch: BatchFactory) -> None:
    log = _log(tmp_path, **{"retention.bytes": "1", "retention.ms": "1000"})
    for _ in range(12):
        log.append(make_batch([b"z" * 60], timestamp=NOW_MS)).wait()
    active = log.active
    log.apply_retention(NOW_MS)
    assert log.segments == [active]
    assert log.log_start_offset == active.base_offset
    assert log.read(log.log_start_offset, 1 << 20)
    log.close()
