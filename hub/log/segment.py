"""One segment of a partition log: a file of whole record batches plus its offset and time indexes.

Files, named by the segment's base offset padded to 20 digits::

    00000000000000000000.log        batches exactly as stored (RecordBatch v2), back to back
    00000000000000000000.index      see hub.log.index
    00000000000000000000.timeindex  see hub.log.index
    00000000000000000000.txnindex   aborted transactions whose marker is here (hub.log.txn_index; only when any)

A suffix after those names marks a segment in transition: ``.deleted`` (retired, removed after
``file.delete.delay.ms``), ``.cleaned`` (a log cleaner's output being written), ``.swap`` (cleaned output about
to replace the segments it covers); hub.log.recovery finishes or rolls back each after a crash.

Invariants: the log file holds only whole, validated batches up to ``size``; offsets increase; ``next_offset``
is one past the last offset stored. Appends are serialised by the owning PartitionLog; reads may run
concurrently with an append and see the prefix published before they started (``size`` is updated after the
bytes are written).
"""

from __future__ import annotations

import logging
import os
import struct
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from hub.log.batch import HEADER_SIZE, LOG_OVERHEAD, BatchHeader, parse_header, validate_batch
from hub.log.errors import CorruptBatchError, InvalidBatchError
from hub.log.index import IndexCorruptError, OffsetIndex, TimeIndex
from hub.log.records import decode_batch
from hub.log.txn_index import TransactionIndex

log = logging.getLogger("hub.log.segment")

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
TXN_INDEX_SUFFIX = ".txnindex"
DELETED_SUFFIX = ".deleted"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
_SCAN_CHUNK = 1 << 20
_LENGTH_PREFIX = struct.Struct(">qi")
_MAX_BATCH_STARTS = 256
_BASE_OFFSET = struct.Struct(">q")


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class FileSlice(NamedTuple):
    """``length`` bytes of whole batches at ``position`` of an open segment file: what a server hands to
    ``os.sendfile(socket, fd, position, length)``. The descriptor stays open until the segment is closed, which
    for a retired segment happens ``file.delete.delay.ms`` after retention or cleaning removed it.
    ``next_offset`` is where the next fetch starts: one past the slice's last batch (or the next batch's base)."""

    fd: int
    path: Path
    position: int
    length: int
    next_offset: int


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What recovery of one segment found: bytes kept and the range dropped (empty when nothing was)."""

    valid_bytes: int
    truncated_bytes: int
    first_dropped_offset: int | None
    reason: str | None


class LogSegment:
    """A log file of batches with its indexes; ``open()`` loads, ``close()`` releases."""

    def __init__(
        self, directory: Path, base_offset: int, *, index_interval_bytes: int = 4096, suffix: str = ""
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        self.suffix = suffix
        name = segment_name(base_offset)
        self.log_path = directory / (name + LOG_SUFFIX + suffix)
        self.offset_index = OffsetIndex(directory / (name + INDEX_SUFFIX + suffix), base_offset)
        self.time_index = TimeIndex(directory / (name + TIME_INDEX_SUFFIX + suffix), base_offset)
        self.txn_index = TransactionIndex(directory / (name + TXN_INDEX_SUFFIX + suffix))
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = base_offset
        self.first_batch_timestamp: int | None = None
        self.created_ms: int = 0
        self._bytes_since_index = 0
        self._fd = -1
        self._batch_starts: dict[int, int] = {}  # offset -> position of batches that fetches will start at
        self.synced_size = 0

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def open(self, *, next_offset: int | None = None) -> None:
        """Open an existing or new segment. With ``next_offset`` known (a closed segment below the recovery
        point) the indexes are trusted after a sanity check; otherwise the caller runs ``scan()``."""
        self._fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT, 0o644)
        stat = os.fstat(self._fd)
        self.size = stat.st_size
        self.synced_size = self.size
        self.created_ms = int(stat.st_mtime * 1000) if self.size else 0
        self.txn_index.open()
        if next_offset is None:
            self.offset_index.open(load=False)
            self.time_index.open(load=False)
            return
        self.next_offset = next_offset
        missing = [index.path.name for index in (self.offset_index, self.time_index) if not index.path.exists()]
        try:
            if missing and self.size:
                raise IndexCorruptError(f"missing {' and '.join(missing)}")
            self.offset_index.open()
            self.time_index.open()
            self.offset_index.check_within(self.size, next_offset)
            self.time_index.check_within(next_offset)
        except IndexCorruptError as exc:
            log.warning("rebuilding indexes of %s: %s", self.log_path, exc)
            self.rebuild_indexes()
            return
        if self.size and self.time_index.timestamps:
            self.max_timestamp = self.time_index.max_timestamp
            self.offset_of_max_timestamp = self.time_index.lookup(self.max_timestamp + 1)
        elif self.size:
            self.rebuild_indexes()

    def close(self) -> None:
        self.offset_index.close()
        self.time_index.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def mark_deleted(self) -> None:
        """Rename the segment's files with a ``.deleted`` suffix (they stay open for readers)."""
        self.rename_files(DELETED_SUFFIX)

    def rename_files(self, suffix: str) -> None:
        """Rename the segment's files from the current suffix to ``suffix`` ("" for a live segment); open file
        descriptors stay valid. The log file goes last, so a log file with the new name implies the indexes."""
        name = segment_name(self.base_offset)
        indexes: tuple[tuple[OffsetIndex | TimeIndex | TransactionIndex, str], ...] = (
            (self.offset_index, INDEX_SUFFIX),
            (self.time_index, TIME_INDEX_SUFFIX),
            (self.txn_index, TXN_INDEX_SUFFIX),
        )
        for index_file, kind in indexes:
            target = self.directory / (name + kind + suffix)
            if index_file.path.exists():
                os.replace(index_file.path, target)
            index_file.path = target
        target = self.directory / (name + LOG_SUFFIX + suffix)
        if self.log_path.exists():
            os.replace(self.log_path, target)
        self.log_path = target
        self.suffix = suffix

    def delete_files(self) -> None:
        """Close and remove the segment's files."""
        self.close()
        for path in (self.log_path, self.offset_index.path, self.time_index.path, self.txn_index.path):
            path.unlink(missing_ok=True)

    # --- writing -----------------------------------------------------------------------------------------------

    def append(self, data: bytes | bytearray | memoryview, headers: list[tuple[int, BatchHeader]]) -> None:
        """Append validated, stamped batches (``headers`` give each one's position within ``data``)."""
        start = self.size
        written = os.pwrite(self._fd, data, start)
        if written != len(data):
            raise OSError(f"short write to {self.log_path}: {written} of {len(data)} bytes")
        for position, header in headers:
            self._index_batch(start + position, header)
        if self.first_batch_timestamp is None and headers:
            self.first_batch_timestamp = headers[0][1].max_timestamp
        self.next_offset = headers[-1][1].next_offset
        self.size = start + len(data)

    def _index_batch(self, position: int, header: BatchHeader) -> None:
        if header.max_timestamp > self.max_timestamp:
            self.max_timestamp = header.max_timestamp
            self.offset_of_max_timestamp = header.base_offset
        if self._bytes_since_index >= self.index_interval_bytes:
            self.offset_index.append(header.last_offset, position)
            self.time_index.append(self.max_timestamp, self.offset_of_max_timestamp)
            self._bytes_since_index = 0
        self._bytes_since_index += header.size

    def seal(self) -> None:
        """The segment stops being active: record its largest timestamp in the time index, sync everything."""
        if self.max_timestamp >= 0:
            self.time_index.append(self.max_timestamp, self.offset_of_max_timestamp)
        self.flush()

    def flush(self) -> None:
        """fsync the log file and indexes."""
        os.fsync(self._fd)
        self.offset_index.flush()
        self.time_index.flush()
        self.txn_index.flush()
        self.synced_size = self.size

    def fsync_log(self) -> None:
        """fsync the log file, and the transaction index when a marker added to it (the offset and time indexes
        are rebuilt from the log after a crash)."""
        os.fsync(self._fd)
        self.txn_index.flush()

    def write_index_entries(self) -> None:
        """Write index entries added since the last call (under the partition lock, like appends)."""
        self.offset_index.write_pending()
        self.time_index.write_pending()

    # --- reading -----------------------------------------------------------------------------------------------

    def read_at(self, position: int, length: int) -> bytes:
        return os.pread(self._fd, length, position)

    def find_batch(self, offset: int, size: int | None = None) -> tuple[int, BatchHeader] | None:
        """Position and header of the first batch whose last offset is >= ``offset`` (None if there is none)."""
        end = self.size if size is None else size
        hinted = self._batch_starts.get(offset)
        if hinted is not None and hinted + HEADER_SIZE <= end:
            header = parse_header(os.pread(self._fd, HEADER_SIZE, hinted))
            if header.base_offset == offset:  # still true unless the segment was truncated and rewritten
                return hinted, header
        position = self.offset_index.lookup(offset)
        while position + HEADER_SIZE <= end:
            header = parse_header(os.pread(self._fd, HEADER_SIZE, position))
            if header.last_offset >= offset:
                return position, header
            position += header.size
        return None

    def read(self, offset: int, max_bytes: int, *, limit: int | None = None, end: int | None = None) -> bytes:
        """Whole batches from the one holding ``offset``; see ``locate``. b"" when there are none."""
        where = self.locate(offset, max_bytes, limit=limit, end=end)
        return b"" if where is None else os.pread(self._fd, where.length, where.position)

    def locate(
        self, offset: int, max_bytes: int, *, limit: int | None = None, end: int | None = None
    ) -> FileSlice | None:
        """Where the whole batches from the one holding ``offset`` lie: at most ``max_bytes`` but at least one
        batch, none starting at or after offset ``limit``, none past byte ``end`` (default: the published size).

        Reads batch headers only, never the data: the offset index finds the first batch and the cut, so a fetch
        costs a few small ``pread`` calls whatever the number of batches it spans."""
        end = self.size if end is None else min(end, self.size)
        found = self.find_batch(offset, end)
        if found is None:
            return None
        start, first = found
        if limit is not None:
            if first.base_offset >= limit:
                return None
            bound = self.find_batch(limit, end)
            if bound is not None:
                end = bound[0] if bound[1].base_offset >= limit else bound[0] + bound[1].size
        stop = start + first.size
        next_offset = first.next_offset
        if stop < end and max_bytes > first.size:
            last, stop, following = self._last_batch(stop, min(end, start + max_bytes))
            if following >= 0:
                next_offset = following
                self._remember_batch_start(following, stop)
            elif last >= 0:
                next_offset = parse_header(os.pread(self._fd, HEADER_SIZE, last)).next_offset
            elif stop > start + first.size:
                # Jumped to an index entry without walking a batch: a batch starts there, and its base offset
                # is the next offset.
                next_offset = _BASE_OFFSET.unpack(os.pread(self._fd, 8, stop))[0]
        return FileSlice(self._fd, self.log_path, start, stop - start, next_offset)

    def _remember_batch_start(self, offset: int, position: int) -> None:
        """Note where the batch starting at ``offset`` is: the next fetch of a consumer reading along starts there,
        and ``find_batch`` then reads one header instead of walking from an index entry."""
        if len(self._batch_starts) >= _MAX_BATCH_STARTS:
            self._batch_starts.clear()
        self._batch_starts[offset] = position

    def _last_batch(self, position: int, bound: int) -> tuple[int, int, int]:
        """Walk length prefixes from the batch boundary ``position`` (jumping ahead by the offset index, whose
        entries are batch starts) to the last boundary at or before byte ``bound``. Returns the start of the last
        whole batch walked (-1 if none), that boundary, and the base offset of the batch starting there when its
        prefix was read (-1 otherwise)."""
        positions = self.offset_index.positions
        nearest = bisect_right(positions, bound) - 1
        if nearest >= 0 and positions[nearest] > position:
            position = positions[nearest]
        last = -1
        while position + LOG_OVERHEAD <= bound:
            base_offset, length = _LENGTH_PREFIX.unpack(os.pread(self._fd, LOG_OVERHEAD, position))
            if position + length + LOG_OVERHEAD > bound:
                return last, position, base_offset
            last = position
            position += length + LOG_OVERHEAD
        return last, position, -1

    def offset_for_timestamp(self, timestamp: int, *, min_offset: int = 0) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``min_offset`` with a timestamp >= ``timestamp``
        in this segment (found by the time index, then by decoding only the batches that may hold it)."""
        if self.max_timestamp < timestamp:
            return None
        found = self.find_batch(max(self.time_index.lookup(timestamp), min_offset))
        if found is None:
            return None
        position = found[0]
        end = self.size
        while position + HEADER_SIZE <= end:
            header = parse_header(os.pread(self._fd, HEADER_SIZE, position))
            if header.max_timestamp >= timestamp:
                batch = os.pread(self._fd, header.size, position)
                for record in decode_batch(batch).records:
                    # LogAppendTime: every record of the batch has the batch's timestamp, whatever it carries.
                    record_timestamp = header.max_timestamp if header.timestamp_type else record.timestamp
                    if record_timestamp >= timestamp and record.offset >= min_offset:
                        return record.offset, record_timestamp
            position += header.size
        return None

    # --- recovery and truncation -------------------------------------------------------------------------------

    def scan(self, *, validate: bool) -> RecoveryReport:
        """Walk every batch from the start, rebuilding indexes and in-memory state; stop at the first torn or
        corrupt batch and truncate the file there. ``validate`` checks CRCs (recovery after a crash)."""
        self._reset_indexes()
        position = 0
        file_size = os.fstat(self._fd).st_size
        reason: str | None = None
        first_dropped: int | None = None
        expected_offset = self.base_offset
        buffer = b""
        buffer_start = 0
        while position < file_size:
            if position + HEADER_SIZE > buffer_start + len(buffer):
                buffer = os.pread(self._fd, max(_SCAN_CHUNK, HEADER_SIZE), position)
                buffer_start = position
            relative = position - buffer_start
            try:
                header = parse_header(buffer, relative)
                if header.size > len(buffer) - relative:
                    buffer = os.pread(self._fd, min(max(_SCAN_CHUNK, header.size), file_size - position), position)
                    buffer_start, relative = position, 0
                header = validate_batch(buffer, relative, corrupt=True) if validate else _check_length(buffer, relative)
                if header.base_offset < expected_offset:
                    raise CorruptBatchError(
                        f"batch at position {position} has base offset {header.base_offset}, "
                        f"expected >= {expected_offset}"
                    )
            except InvalidBatchError as exc:
                # Validation names positions within the scan buffer; report the position in the file.
                reason = str(exc).replace(f"position {relative}", f"position {position}")
                first_dropped = expected_offset
                break
            self._index_batch(position, header)
            if self.first_batch_timestamp is None:
                self.first_batch_timestamp = header.max_timestamp
            expected_offset = header.next_offset
            position += header.size
        self.next_offset = expected_offset
        if position < file_size:
            os.ftruncate(self._fd, position)
            os.fsync(self._fd)
        self.size = position
        self.synced_size = position
        return RecoveryReport(position, file_size - position, first_dropped, reason)

    def rebuild_indexes(self) -> None:
        report = self.scan(validate=False)
        if report.truncated_bytes:
            log.warning(
                "%s: dropped %d bytes while rebuilding indexes: %s",
                self.log_path,
                report.truncated_bytes,
                report.reason,
            )

    def _reset_indexes(self) -> None:
        self.offset_index.close()
        self.time_index.close()
        self.offset_index = OffsetIndex(self.offset_index.path, self.base_offset)
        self.time_index = TimeIndex(self.time_index.path, self.base_offset)
        self.offset_index.open(load=False)
        self.time_index.open(load=False)
        self.max_timestamp = -1
        self.offset_of_max_timestamp = self.base_offset
        self.first_batch_timestamp = None
        self._bytes_since_index = 0

    def truncate_to(self, offset: int) -> None:
        """Remove every batch holding an offset >= ``offset`` (the batch holding ``offset`` goes whole)."""
        found = self.find_batch(offset)
        if found is None:
            return
        position, header = found
        if header.base_offset < offset:
            position += header.size
        os.ftruncate(self._fd, position)
        self.scan(validate=False)
        self.flush()


def _check_length(buffer: bytes, relative: int) -> BatchHeader:
    header = parse_header(buffer, relative)
    if header.size < HEADER_SIZE or relative + header.size > len(buffer):
        raise CorruptBatchError(f"batch length {header.size} does not fit the segment")
    return header
