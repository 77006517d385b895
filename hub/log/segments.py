"""LogSegments: a partition's segments in offset order, as one immutable value (Kafka's ``LogSegments``).

What it holds: the segments of one partition log, oldest first, each starting where the previous one ends; the
last is the active segment (the one appended to), the others are closed. It answers lookups — the segments from
the one holding an offset on (a bisection of the base offsets), the first record at or after a timestamp — and
the totals a partition reports; files and their lifecycle stay with the segments and PartitionLog.

Invariants: never empty; base offsets strictly increase; ``active`` is the last segment.

Thread-safety: immutable. A change (a roll, retention, truncation, a cleaner's swap) builds a new value, which
PartitionLog publishes by swapping its reference under the partition lock. A reader keeps the value it took as
a consistent snapshot, without copying and without the lock. The LogSegment objects themselves are shared and
keep their own rules (hub.log.segment).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from hub.log.segment import LogSegment


class LogSegments(Sequence[LogSegment]):
    """The ordered segments of a partition (see the module docstring); a Sequence, oldest first."""

    __slots__ = ("_bases", "_segments", "active")

    def __init__(self, segments: Iterable[LogSegment]) -> None:
        self._segments = tuple(segments)
        if not self._segments:
            raise ValueError("a partition log has at least one segment")
        self._bases = tuple(segment.base_offset for segment in self._segments)
        if any(later <= earlier for earlier, later in zip(self._bases, self._bases[1:], strict=False)):
            raise ValueError(f"segment base offsets must increase: {self._bases}")
        #: The segment appended to (the last one); a plain attribute, as the append path reads it per batch.
        self.active: LogSegment = self._segments[-1]

    # --- the Sequence ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._segments)

    def __iter__(self) -> Iterator[LogSegment]:
        return iter(self._segments)

    @overload
    def __getitem__(self, index: int) -> LogSegment: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[LogSegment, ...]: ...

    def __getitem__(self, index: int | slice) -> LogSegment | tuple[LogSegment, ...]:
        return self._segments[index]

    def __eq__(self, other: object) -> bool:
        """Equal to a list or tuple of the same segments in order, as the list this replaced was."""
        if isinstance(other, LogSegments):
            return self._segments == other._segments
        if isinstance(other, list | tuple):
            return self._segments == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LogSegments(bases={list(self._bases)})"

    # --- lookups -----------------------------------------------------------------------------------------------

    @property
    def closed(self) -> tuple[LogSegment, ...]:
        """Every segment but the active one, oldest first."""
        return self._segments[:-1]

    @property
    def size_bytes(self) -> int:
        """The bytes of every segment's log file."""
        return sum(segment.size for segment in self._segments)

    def from_offset(self, offset: int) -> tuple[LogSegment, ...]:
        """The segment holding ``offset`` (the first one for an offset below it) and every later one."""
        return self._segments[max(bisect.bisect_right(self._bases, offset) - 1, 0) :]

    def offset_for_timestamp(self, timestamp: int, *, min_offset: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``min_offset`` with a timestamp >= ``timestamp``,
        None if there is none."""
        for segment in self._segments:
            if segment.max_timestamp >= timestamp and segment.next_offset > min_offset:
                found = segment.offset_for_timestamp(timestamp, min_offset=min_offset)
                if found is not None:
                    return found
        return None

    def position(self, segment: LogSegment) -> int:
        """Where ``segment`` (this very object) is; ValueError when it is not one of these."""
        for position, candidate in enumerate(self._segments):
            if candidate is segment:
                return position
        raise ValueError(f"segment {segment.base_offset} is no longer in the log")

    # --- changes: each returns a new value ---------------------------------------------------------------------

    def added(self, segment: LogSegment) -> LogSegments:
        """These segments and ``segment``, the new active one (it starts at or after this log's end)."""
        return LogSegments((*self._segments, segment))

    def without(self, segment: LogSegment) -> LogSegments:
        """These segments but ``segment`` (this very object)."""
        position = self.position(segment)
        return LogSegments((*self._segments[:position], *self._segments[position + 1 :]))

    def truncated(self, offset: int) -> tuple[LogSegments, tuple[LogSegment, ...]]:
        """The segments starting below ``offset`` (always the first one) and those dropped, which start at or
        after it. The caller truncates the new active segment itself."""
        keep = max(bisect.bisect_left(self._bases, offset), 1)
        return LogSegments(self._segments[:keep]), self._segments[keep:]

    def replaced(self, old: Sequence[LogSegment], new: LogSegment) -> LogSegments:
        """``old`` (consecutive closed segments, these very objects) replaced by ``new``; ValueError when they
        are not a run of closed segments of this log."""
        first = self.position(old[0])
        run = self._segments[first : first + len(old)]
        closed = first + len(old) < len(self._segments)
        if not closed or len(run) != len(old) or any(a is not b for a, b in zip(run, old, strict=True)):
            raise ValueError("the segments to replace are not consecutive closed segments")
        return LogSegments((*self._segments[:first], new, *self._segments[first + len(old) :]))
