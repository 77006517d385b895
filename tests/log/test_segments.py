"""LogSegments: a partition's ordered segments as one immutable value — lookups, changes, invariants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.log.config import TopicConfig
from hub.log.partition import PartitionLog
from hub.log.segment import LogSegment
from hub.log.segments import LogSegments
from tests.log.conftest import BatchFactory


def _segments(path: Path, *bases: int) -> list[LogSegment]:
    return [LogSegment(path, base) for base in bases]


@pytest.fixture
def rolled(tmp_path: Path, make_batch: BatchFactory) -> Iterator[PartitionLog]:
    """A partition of four segments holding offsets 0-1, 2-3, 4-5 and 6-7, timestamps 1000 + 10 * offset."""
    log = PartitionLog(tmp_path / "t-0", "t", 0, TopicConfig.build({}))
    log.open()
    for first in range(0, 8, 2):
        log.append(make_batch([b"a"], timestamp=1000 + 10 * first)).wait()
        log.append(make_batch([b"b"], timestamp=1000 + 10 * (first + 1))).wait()
        if first < 6:
            log.roll()
    yield log
    log.close()


def test_a_log_has_at_least_one_segment_in_increasing_offset_order(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one segment"):
        LogSegments([])
    with pytest.raises(ValueError, match="must increase"):
        LogSegments(_segments(tmp_path, 0, 10, 10))
    with pytest.raises(ValueError, match="must increase"):
        LogSegments(_segments(tmp_path, 10, 0))


def test_it_is_a_sequence_oldest_first_whose_last_segment_is_the_active_one(tmp_path: Path) -> None:
    parts = _segments(tmp_path, 0, 10, 20)
    segments = LogSegments(parts)
    assert len(segments) == 3
    assert list(segments) == parts
    assert segments[0] is parts[0]
    assert segments[-1] is parts[2]
    assert segments.active is parts[2]
    assert segments.closed == (parts[0], parts[1])
    assert segments == parts
    assert segments == tuple(parts)
    assert segments == LogSegments(parts)
    assert segments != parts[:2]


def test_from_offset_starts_at_the_segment_holding_the_offset(tmp_path: Path) -> None:
    parts = _segments(tmp_path, 5, 10, 20)
    segments = LogSegments(parts)
    assert segments.from_offset(0) == tuple(parts)  # below the first base: from the first
    assert segments.from_offset(5) == tuple(parts)
    assert segments.from_offset(9) == tuple(parts)
    assert segments.from_offset(10) == (parts[1], parts[2])
    assert segments.from_offset(19) == (parts[1], parts[2])
    assert segments.from_offset(20) == (parts[2],)
    assert segments.from_offset(10**12) == (parts[2],)


def test_changes_give_new_values_and_leave_the_old_one_as_it_was(tmp_path: Path) -> None:
    parts = _segments(tmp_path, 0, 10, 20)
    segments = LogSegments(parts[:2])
    grown = segments.added(parts[2])
    assert list(grown) == parts
    assert grown.active is parts[2]
    assert list(segments) == parts[:2]
    assert segments.active is parts[1]
    assert list(grown.without(parts[0])) == parts[1:]
    with pytest.raises(ValueError, match="no longer in the log"):
        segments.without(parts[2])


def test_truncated_keeps_segments_starting_below_the_offset_and_always_the_first(tmp_path: Path) -> None:
    parts = _segments(tmp_path, 0, 10, 20)
    segments = LogSegments(parts)
    kept, dropped = segments.truncated(15)
    assert (list(kept), dropped) == (parts[:2], (parts[2],))
    kept, dropped = segments.truncated(10)
    assert (list(kept), dropped) == (parts[:1], (parts[1], parts[2]))
    kept, dropped = segments.truncated(0)
    assert (list(kept), dropped) == (parts[:1], (parts[1], parts[2]))
    kept, dropped = segments.truncated(25)
    assert (list(kept), dropped) == (parts, ())


def test_replaced_swaps_a_run_of_closed_segments_only(tmp_path: Path) -> None:
    parts = _segments(tmp_path, 0, 10, 20, 30)
    cleaned = LogSegment(tmp_path, 0, suffix=".cleaned")
    segments = LogSegments(parts)
    assert list(segments.replaced(parts[:2], cleaned)) == [cleaned, parts[2], parts[3]]
    with pytest.raises(ValueError, match="not consecutive closed segments"):
        segments.replaced([parts[0], parts[2]], cleaned)
    with pytest.raises(ValueError, match="not consecutive closed segments"):
        segments.replaced(parts[2:], cleaned)  # the active segment stays
    with pytest.raises(ValueError, match="no longer in the log"):
        segments.replaced([LogSegment(tmp_path, 40)], cleaned)


def test_lookups_by_time_and_the_total_size(rolled: PartitionLog) -> None:
    segments = rolled.segments
    assert [segment.base_offset for segment in segments] == [0, 2, 4, 6]
    assert segments.size_bytes == sum(segment.size for segment in segments) > 0
    assert segments.offset_for_timestamp(0, min_offset=0) == (0, 1000)
    assert segments.offset_for_timestamp(1035, min_offset=0) == (4, 1040)  # first record at or after the time
    assert segments.offset_for_timestamp(1000, min_offset=5) == (5, 1050)  # not below the log start
    assert segments.offset_for_timestamp(1071, min_offset=0) is None


def test_a_reader_keeps_its_snapshot_while_the_partition_changes(rolled: PartitionLog) -> None:
    before = rolled.segments
    rolled.delete_records_before(4)
    assert [segment.base_offset for segment in rolled.segments] == [4, 6]
    assert [segment.base_offset for segment in before] == [0, 2, 4, 6]
