"""LogSegment: appends of stamped batches, reads of whole batches, file slices, scans, renames."""

from __future__ import annotations

import os
from pathlib import Path

from hub.log.batch import iter_batches, parse_header, stamp_batch
from hub.log.records import iter_records
from hub.log.segment import CLEANED_SUFFIX, LogSegment
from tests.log.conftest import BatchFactory


def _filled(path: Path, make_batch: BatchFactory, count: int = 20, *, base: int = 50) -> LogSegment:
    segment = LogSegment(path, base, index_interval_bytes=200)
    segment.open()
    offset = base
    for i in range(count):
        batch = bytearray(make_batch([b"v%02d" % i] * 3, timestamp=1000 + 10 * i))
        stamp_batch(batch, 0, offset, 0)
        segment.append(batch, [(0, parse_header(batch))])
        offset += 3
    return segment


def test_append_indexes_sparsely_and_tracks_offsets_and_timestamps(tmp_path: Path, make_batch: BatchFactory) -> None:
    segment = _filled(tmp_path, make_batch)
    assert segment.log_path.name == "00000000000000000050.log"
    assert segment.next_offset == 50 + 60
    assert 0 < segment.offset_index.entries < 20  # sparse: one entry per 200 bytes, not per batch
    assert segment.max_timestamp == 1000 + 190 + 2
    assert segment.size == segment.log_path.stat().st_size
    segment.close()


def test_read_and_locate_agree_and_return_whole_batches(tmp_path: Path, make_batch: BatchFactory) -> None:
    segment = _filled(tmp_path, make_batch)
    data = segment.read(61, 300)
    headers = [header for _, header in iter_batches(data)]
    assert headers[0].base_offset == 59  # the batch holding 61 starts at 59
    assert len(data) <= 300
    where = segment.locate(61, 300)
    assert where is not None
    assert os.pread(where.fd, where.length, where.position) == data
    assert where.path == segment.log_path
    limited = segment.locate(61, 1 << 20, limit=68)
    assert limited is not None
    assert [h.base_offset for _, h in iter_batches(os.pread(limited.fd, limited.length, limited.position))] == [
        59,
        62,
        65,
    ]
    assert segment.locate(200, 100) is None
    assert len(list(iter_batches(segment.read(50, 1)))) == 1  # one whole batch even when max_bytes is smaller
    segment.close()


def test_offset_for_timestamp_finds_the_first_record_at_or_after(tmp_path: Path, make_batch: BatchFactory) -> None:
    segment = _filled(tmp_path, make_batch)
    assert segment.offset_for_timestamp(1051) == (50 + 5 * 3 + 1, 1051)
    assert segment.offset_for_timestamp(0) == (50, 1000)
    assert segment.offset_for_timestamp(5000) is None
    segment.close()


def test_scan_truncates_a_torn_tail_and_rebuilds_state(tmp_path: Path, make_batch: BatchFactory) -> None:
    segment = _filled(tmp_path, make_batch)
    segment.close()
    size = segment.log_path.stat().st_size
    os.truncate(segment.log_path, size - 5)
    reopened = LogSegment(tmp_path, 50, index_interval_bytes=200)
    reopened.open()
    report = reopened.scan(validate=True)
    assert report.truncated_bytes == size - 5 - reopened.size
    assert report.first_dropped_offset == 50 + 57
    assert reopened.next_offset == 50 + 57
    values = [record.value for record in iter_records(reopened.read(50, 1 << 20))]
    assert values == [b"v%02d" % i for i in range(19) for _ in range(3)]
    reopened.close()


def test_rename_files_moves_all_three_files_and_keeps_them_readable(tmp_path: Path, make_batch: BatchFactory) -> None:
    segment = _filled(tmp_path, make_batch, count=3)
    segment.flush()
    segment.rename_files(CLEANED_SUFFIX)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "00000000000000000050.index.cleaned",
        "00000000000000000050.log.cleaned",
        "00000000000000000050.timeindex.cleaned",
    ]
    assert len(list(iter_batches(segment.read(50, 1 << 20)))) == 3
    segment.rename_files("")
    assert segment.log_path.exists()
    segment.delete_files()
    assert list(tmp_path.iterdir()) == []


def test_scan_stops_at_a_length_field_pointing_past_the_file(tmp_path: Path, make_batch: BatchFactory) -> None:
    segment = _filled(tmp_path, make_batch, count=4)
    good = segment.size
    segment.close()
    with open(segment.log_path, "ab") as handle:
        # A header claiming a 2 GiB batch.
        handle.write(b"\x00" * 8 + (2**31 - 1).to_bytes(4, "big") + b"\x00" * 4 + b"\x02" + b"\x00" * 55)
    reopened = LogSegment(tmp_path, 50, index_interval_bytes=200)
    reopened.open()
    report = reopened.scan(validate=True)
    assert (report.valid_bytes, report.truncated_bytes) == (good, 72)
    assert f"truncated batch at position {good}" in (report.reason or "")
    reopened.close()
