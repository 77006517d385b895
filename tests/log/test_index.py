"""Offset and time indexes: lookups, persistence, truncation, and the sanity checks recovery relies on."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hub.log.index import IndexCorruptError, OffsetIndex, TimeIndex


def _offset_index(path: Path, entries: list[tuple[int, int]], base: int = 100) -> OffsetIndex:
    index = OffsetIndex(path / "00000000000000000100.index", base)
    index.open(load=False)
    for last_offset, position in entries:
        index.append(last_offset, position)
    return index


def test_offset_lookup_finds_the_batch_at_or_before_the_offset(tmp_path: Path) -> None:
    # Entries carry a batch's last offset and that batch's start position.
    index = _offset_index(tmp_path, [(109, 0), (119, 4096), (129, 8192)])
    assert index.lookup(100) == 0
    assert index.lookup(110) == 0  # 110 is after the batch ending at 109: scan from the previous entry
    assert index.lookup(120) == 4096
    assert index.lookup(500) == 8192
    index.close()


def test_offset_entries_reach_the_file_as_8_byte_relative_entries(tmp_path: Path) -> None:
    index = _offset_index(tmp_path, [(109, 0), (119, 4096)])
    index.flush()
    data = index.path.read_bytes()
    assert list(struct.iter_unpack(">ii", data)) == [(9, 0), (19, 4096)]
    index.close()
    reloaded = OffsetIndex(index.path, 100)
    reloaded.open()
    assert list(reloaded.relative_offsets) == [9, 19]
    assert list(reloaded.positions) == [0, 4096]
    reloaded.check_within(log_size=5000, next_offset=120)
    with pytest.raises(IndexCorruptError, match="beyond its segment"):
        reloaded.check_within(log_size=4096, next_offset=120)
    reloaded.close()


def test_offset_index_truncation_drops_entries_at_or_after_a_position(tmp_path: Path) -> None:
    index = _offset_index(tmp_path, [(109, 0), (119, 4096), (129, 8192)])
    index.truncate_to_position(4096)
    assert list(index.positions) == [0]
    assert index.path.stat().st_size == 8
    index.close()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00" * 7, "not a multiple of 8"),
        (struct.pack(">iiii", 5, 100, 4, 200), "not increasing"),
        (struct.pack(">iiii", 5, 100, 6, 50), "not increasing"),
    ],
)
def test_malformed_offset_index_is_detected(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "00000000000000000000.index"
    path.write_bytes(content)
    index = OffsetIndex(path, 0)
    with pytest.raises(IndexCorruptError, match=problem):
        index.open()
    index.close()


def test_time_index_is_monotonic_and_finds_a_starting_offset(tmp_path: Path) -> None:
    index = TimeIndex(tmp_path / "00000000000000000000.timeindex", 0)
    index.open(load=False)
    index.append(1000, 0)
    index.append(900, 5)  # not larger: ignored, timestamps in the index only increase
    index.append(2000, 10)
    index.append(3000, 20)
    assert list(index.timestamps) == [1000, 2000, 3000]
    assert index.lookup(500) == 0
    assert index.lookup(2500) == 10  # every record up to the batch at 10 is below 2500
    assert index.max_timestamp == 3000
    index.flush()
    assert list(struct.iter_unpack(">qi", index.path.read_bytes())) == [(1000, 0), (2000, 10), (3000, 20)]
    index.truncate_to_offset(10)
    assert list(index.timestamps) == [1000]
    index.close()


def test_malformed_time_index_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000000.timeindex"
    path.write_bytes(struct.pack(">qiqi", 2000, 1, 1000, 2))
    index = TimeIndex(path, 0)
    with pytest.raises(IndexCorruptError, match="not increasing"):
        index.open()
    index.close()
    path.write_bytes(b"\x01" * 13)
    index = TimeIndex(path, 0)
    with pytest.raises(IndexCorruptError, match="not a multiple of 12"):
        index.open()
    index.close()
