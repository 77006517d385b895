"""Start-up recovery: torn and corrupt tails are truncated to the last good batch, indexes rebuilt, all logged."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from hub.log.batch import validate_batch
from hub.log.records import iter_records
from hub.log.segment import CLEANED_SUFFIX, SWAP_SUFFIX, LogSegment
from hub.log.store import TopicStore
from tests.log.conftest import BatchFactory


def _fill(path: Path, make_batch: BatchFactory, count: int = 30, **configs: str) -> None:
    with TopicStore(path) as store:
        store.create_topic(
            "t", 1, {"index.interval.bytes": "100", **{k.replace("_", "."): v for k, v in configs.items()}}
        )
        for i in range(count):
            store.partition("t", 0).append(make_batch([b"value-%d" % i] * 2)).wait()


def _values(store: TopicStore) -> list[bytes | None]:
    partition = store.partition("t", 0)
    return [r.value for s in partition.segments for r in iter_records(s.read(s.base_offset, 1 << 30))]


def _last_segment(path: Path) -> Path:
    return sorted((path / "t-0").glob("*.log"))[-1]


def _forget_recovery_point(path: Path) -> None:
    # A crash leaves the checkpoint behind the data: recovery must re-validate everything after it.
    (path / "t-0" / "partition.checkpoint").write_text('{"version": 1, "recovery_point": 0, "log_start_offset": 0}')


def test_torn_tail_is_truncated_and_reported(
    tmp_path: Path, make_batch: BatchFactory, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(tmp_path, make_batch)
    segment = _last_segment(tmp_path)
    size = segment.stat().st_size
    os.truncate(segment, size - 7)
    _forget_recovery_point(tmp_path)
    with caplog.at_level(logging.WARNING, logger="hub.log"), TopicStore(tmp_path) as store:
        assert _values(store) == [b"value-%d" % i for i in range(29) for _ in range(2)]
        assert store.partition("t", 0).log_end_offset == 58
    assert "t-0: recovery truncated segment 00000000000000000000.log" in caplog.text
    assert "from offset 58" in caplog.text


def test_flipped_byte_in_the_middle_truncates_from_that_batch(
    tmp_path: Path, make_batch: BatchFactory, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(tmp_path, make_batch)
    segment = _last_segment(tmp_path)
    data = bytearray(segment.read_bytes())
    batch_size = len(data) // 30
    data[batch_size * 10 + 70] ^= 0x55
    segment.write_bytes(bytes(data))
    _forget_recovery_point(tmp_path)
    with caplog.at_level(logging.WARNING, logger="hub.log"), TopicStore(tmp_path) as store:
        assert store.partition("t", 0).log_end_offset == 20
        assert _values(store)[-1] == b"value-9"
        store.partition("t", 0).append(make_batch([b"after"])).wait()
    assert "CRC mismatch" in caplog.text
    with TopicStore(tmp_path) as store:
        assert _values(store)[-1] == b"after"


def test_garbage_tail_and_later_segments_are_dropped(tmp_path: Path, make_batch: BatchFactory) -> None:
    _fill(tmp_path, make_batch, segment_bytes="600")
    logs = sorted((tmp_path / "t-0").glob("*.log"))
    assert len(logs) > 3
    with open(logs[1], "r+b") as handle:
        handle.seek(0)
        handle.write(b"\xff" * 20)
    _forget_recovery_point(tmp_path)
    with TopicStore(tmp_path) as store:
        partition = store.partition("t", 0)
        assert len(partition.segments) == 2
        assert partition.log_end_offset == int(logs[1].name[:20])
    assert not logs[2].exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_damaged_indexes_are_rebuilt(
    tmp_path: Path, make_batch: BatchFactory, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(tmp_path, make_batch, segment_bytes="900")
    index = sorted((tmp_path / "t-0").glob("*.index"))[0]
    assert index.stat().st_size > 0
    if damage == "truncate":
        os.truncate(index, index.stat().st_size - 3)
    elif damage == "garbage":
        index.write_bytes(b"\x7f\xff\xff\xff\x00\x00\x00\x01" * 4)
    else:
        index.unlink()
    with caplog.at_level(logging.WARNING, logger="hub.log"), TopicStore(tmp_path) as store:
        partition = store.partition("t", 0)
        assert _values(store) == [b"value-%d" % i for i in range(30) for _ in range(2)]
        for offset in range(0, 60, 7):
            assert next(iter_records(partition.read(offset, 1))).offset <= offset
    assert f"rebuilding indexes of {tmp_path / 't-0' / index.name.replace('.index', '.log')}" in caplog.text
    assert index.stat().st_size > 0


def _stage_cleaned_copy(directory: Path, base: int, batch: bytes, suffix: str) -> None:
    """Write what a cleaner would have produced for the segment at ``base``: one batch, under ``suffix``."""
    staged = LogSegment(directory, base, suffix=suffix)
    staged.open()
    staged.append(bytearray(batch), [(0, validate_batch(batch))])
    staged.flush()
    staged.close()


def _segments_and_newest_batch(path: Path, make_batch: BatchFactory) -> tuple[list[int], bytes]:
    _fill(path, make_batch, segment_bytes="600")
    with TopicStore(path) as store:
        partition = store.partition("t", 0)
        bases = [segment.base_offset for segment in partition.segments]
        first = partition.segments[0]
        newest = first.read(first.next_offset - 1, 1 << 20)
    return bases, newest


def test_interrupted_swap_with_a_swap_file_is_completed(
    tmp_path: Path, make_batch: BatchFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bases, newest = _segments_and_newest_batch(tmp_path, make_batch)
    _stage_cleaned_copy(tmp_path / "t-0", bases[0], newest, SWAP_SUFFIX)
    with caplog.at_level(logging.INFO, logger="hub.log.recovery"), TopicStore(tmp_path) as store:
        partition = store.partition("t", 0)
        assert [segment.base_offset for segment in partition.segments] == bases
        assert partition.read(0, 1 << 20) == newest  # the cleaned segment took the old one's place
        assert partition.log_end_offset == 60
    assert "completed an interrupted segment swap" in caplog.text
    assert not list((tmp_path / "t-0").glob("*.swap"))


def test_interrupted_swap_without_a_swap_file_is_rolled_back(
    tmp_path: Path, make_batch: BatchFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bases, newest = _segments_and_newest_batch(tmp_path, make_batch)
    _stage_cleaned_copy(tmp_path / "t-0", bases[0], newest, CLEANED_SUFFIX)
    with caplog.at_level(logging.INFO, logger="hub.log.recovery"), TopicStore(tmp_path) as store:
        assert _values(store) == [b"value-%d" % i for i in range(30) for _ in range(2)]
    assert "rolled back an unfinished segment swap" in caplog.text
    assert not list((tmp_path / "t-0").glob("*.cleaned"))


def test_recovery_point_checkpoint_is_versioned_and_tracks_flushed_data(
    tmp_path: Path, make_batch: BatchFactory
) -> None:
    _fill(tmp_path, make_batch, count=5)
    checkpoint = json.loads((tmp_path / "t-0" / "partition.checkpoint").read_text())
    assert checkpoint == {"version": 1, "recovery_point": 10, "log_start_offset": 0, "high_watermark": 10}
