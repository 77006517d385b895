"""Sparse per-segment indexes: offset → file position, and timestamp → offset.

File layouts (big-endian, fixed-size entries, append-only, no header; an index is derived data and is rebuilt
from its segment whenever it looks damaged)::

    <base>.index       int32 relative_offset  int32 position          (8 bytes per entry)
    <base>.timeindex   int64 timestamp        int32 relative_offset   (12 bytes per entry)

``relative_offset`` is ``offset - base_offset``. Offset index entries point at the *start* of a batch and carry
that batch's last offset; they are added every ``index.interval.bytes`` of appended data. Time index entries are
added with the same cadence when a batch raises the segment's largest timestamp, so timestamps increase.

Entries live in memory (arrays searched with bisect); new ones reach the file in batches, when the segment is
flushed, sealed or closed.
Not thread-safe: the owning segment serialises writers; readers of a published prefix are safe because arrays
only grow.
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_right
from pathlib import Path

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


class IndexCorruptError(ValueError):
    """An index file is inconsistent with its segment; the caller rebuilds it."""


class OffsetIndex:
    """Maps offsets to the file position of the batch that holds them."""

    ENTRY_SIZE = _OFFSET_ENTRY.size

    def __init__(self, path: Path, base_offset: int) -> None:
        self.path = path
        self.base_offset = base_offset
        self.relative_offsets = array("i")
        self.positions = array("i")
        self._pending = bytearray()
        self._fd = -1

    def open(self, *, load: bool = True) -> None:
        """Open the file for appending; with ``load`` read existing entries (IndexCorruptError if malformed)."""
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        if not load:
            os.ftruncate(self._fd, 0)
            return
        data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        if len(data) % self.ENTRY_SIZE:
            raise IndexCorruptError(f"{self.path.name}: size {len(data)} is not a multiple of {self.ENTRY_SIZE}")
        previous_offset = previous_position = -1
        for relative_offset, position in _OFFSET_ENTRY.iter_unpack(data):
            if relative_offset <= previous_offset or position <= previous_position:
                raise IndexCorruptError(f"{self.path.name}: entries are not increasing")
            self.relative_offsets.append(relative_offset)
            self.positions.append(position)
            previous_offset, previous_position = relative_offset, position

    def check_within(self, log_size: int, next_offset: int) -> None:
        """IndexCorruptError when an entry points past the log's end or its last offset."""
        if self.positions and (
            self.positions[-1] >= log_size or self.relative_offsets[-1] + self.base_offset >= next_offset
        ):
            raise IndexCorruptError(f"{self.path.name}: last entry points beyond its segment")

    def append(self, last_offset: int, position: int) -> None:
        relative = last_offset - self.base_offset
        if self.relative_offsets and relative <= self.relative_offsets[-1]:
            return
        self.relative_offsets.append(relative)
        self.positions.append(position)
        self._pending += _OFFSET_ENTRY.pack(relative, position)

    def lookup(self, offset: int) -> int:
        """Position of a batch at or before the one holding ``offset`` (0 when no entry precedes it).

        Entries carry a batch's last offset, so the entry found is the greatest one whose offset is below
        ``offset``; the batch holding ``offset`` starts at or after the position of the entry *after* it.
        """
        index = bisect_right(self.relative_offsets, offset - self.base_offset - 1)
        return self.positions[index - 1] if index > 0 else 0

    @property
    def entries(self) -> int:
        return len(self.positions)

    def truncate_to_position(self, position: int) -> None:
        """Drop entries pointing at or after ``position``."""
        self.write_pending()
        keep = bisect_right(self.positions, position - 1)
        del self.relative_offsets[keep:]
        del self.positions[keep:]
        os.ftruncate(self._fd, keep * self.ENTRY_SIZE)

    def write_pending(self) -> None:
        """Write entries added since the last call (entries are batched: the file is derived data)."""
        if self._pending:
            os.write(self._fd, self._pending)
            self._pending.clear()

    def flush(self) -> None:
        self.write_pending()
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.write_pending()
            os.close(self._fd)
            self._fd = -1


class TimeIndex:
    """Maps timestamps to the first offset whose batch may hold a record at or after them."""

    ENTRY_SIZE = _TIME_ENTRY.size

    def __init__(self, path: Path, base_offset: int) -> None:
        self.path = path
        self.base_offset = base_offset
        self.timestamps = array("q")
        self.relative_offsets = array("i")
        self._pending = bytearray()
        self._fd = -1

    def open(self, *, load: bool = True) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        if not load:
            os.ftruncate(self._fd, 0)
            return
        data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        if len(data) % self.ENTRY_SIZE:
            raise IndexCorruptError(f"{self.path.name}: size {len(data)} is not a multiple of {self.ENTRY_SIZE}")
        for timestamp, relative_offset in _TIME_ENTRY.iter_unpack(data):
            if self.timestamps and (timestamp <= self.timestamps[-1] or relative_offset < self.relative_offsets[-1]):
                raise IndexCorruptError(f"{self.path.name}: entries are not increasing")
            self.timestamps.append(timestamp)
            self.relative_offsets.append(relative_offset)

    def check_within(self, next_offset: int) -> None:
        if self.relative_offsets and self.relative_offsets[-1] + self.base_offset >= next_offset:
            raise IndexCorruptError(f"{self.path.name}: last entry points beyond its segment")

    def append(self, timestamp: int, offset: int) -> None:
        """Record that the batch holding ``offset`` (its first offset) reaches ``timestamp``."""
        if self.timestamps and timestamp <= self.timestamps[-1]:
            return
        relative = offset - self.base_offset
        self.timestamps.append(timestamp)
        self.relative_offsets.append(relative)
        self._pending += _TIME_ENTRY.pack(timestamp, relative)

    def lookup(self, timestamp: int) -> int:
        """An offset at or before the first record with a timestamp >= ``timestamp`` (the base when unknown)."""
        index = bisect_right(self.timestamps, timestamp - 1)
        if index == 0:
            return self.base_offset
        return self.base_offset + self.relative_offsets[index - 1]

    @property
    def max_timestamp(self) -> int:
        return self.timestamps[-1] if self.timestamps else -1

    def truncate_to_offset(self, offset: int) -> None:
        """Drop entries for offsets at or after ``offset``."""
        self.write_pending()
        relative = offset - self.base_offset
        keep = len(self.relative_offsets)
        while keep and self.relative_offsets[keep - 1] >= relative:
            keep -= 1
        del self.timestamps[keep:]
        del self.relative_offsets[keep:]
        os.ftruncate(self._fd, keep * self.ENTRY_SIZE)

    def write_pending(self) -> None:
        if self._pending:
            os.write(self._fd, self._pending)
            self._pending.clear()

    def flush(self) -> None:
        self.write_pending()
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.write_pending()
            os.close(self._fd)
            self._fd = -1
