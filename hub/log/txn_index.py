"""The transaction index of a segment: the aborted transactions whose marker the segment holds (Kafka's
``TransactionIndex``), so a read_committed Fetch can tell the consumer which records to skip.

File ``<base>.txnindex`` beside the segment's log, Kafka's layout: fixed 34-byte entries, big-endian, no header::

    int16 version (0) | int64 producer_id | int64 first_offset | int64 last_offset | int64 last_stable_offset

``first_offset`` is the transaction's first record in the partition, ``last_offset`` its ABORT marker's offset,
``last_stable_offset`` the partition's last stable offset once the transaction ended. Entries are appended in
marker order. The file is derived data: PartitionLog recomputes every segment's entries from the stored batches
when it opens or truncates a log and rewrites a file that differs (missing, torn by a crash, or trailing a
truncation); an entry of another version or a torn tail is a file to rewrite, never an error.

Not thread-safe for writers (the owning partition appends under its lock); readers see an immutable tuple.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

VERSION = 0
_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    """One aborted transaction of a partition."""

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class TransactionIndex:
    """The aborted transactions of one segment; ``open()`` loads, ``append`` adds, ``close()`` releases."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: tuple[AbortedTxn, ...] = ()
        #: True when the file could not be read as entries (rewrite it).
        self.damaged = False
        self._unsynced = False

    def open(self) -> None:
        """Load the entries of an existing file (none when it is missing; ``damaged`` when it is malformed)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self.entries = ()
            return
        entries: list[AbortedTxn] = []
        usable = len(data) - len(data) % ENTRY_SIZE
        self.damaged = usable != len(data)
        for version, producer_id, first, last, stable in _ENTRY.iter_unpack(data[:usable]):
            if version != VERSION or first > last:
                self.damaged = True
                break
            entries.append(AbortedTxn(producer_id, first, last, stable))
        self.entries = tuple(entries)

    def close(self) -> None:
        """Nothing stays open between appends; kept for symmetry with the other indexes."""

    def append(self, entry: AbortedTxn) -> None:
        """Add one aborted transaction (its marker follows every earlier entry's)."""
        with open(self.path, "ab") as file:
            file.write(_pack(entry))
        self.entries = (*self.entries, entry)
        self._unsynced = True

    def replace(self, entries: Sequence[AbortedTxn]) -> bool:
        """Make the file hold exactly ``entries``; True when it had to be rewritten."""
        if tuple(entries) == self.entries and not self.damaged and (entries or not self.path.exists()):
            return False
        if not entries:
            self.path.unlink(missing_ok=True)
        else:
            temporary = self.path.with_name(self.path.name + ".tmp")
            with open(temporary, "wb") as file:
                file.write(b"".join(_pack(entry) for entry in entries))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        self.entries = tuple(entries)
        self.damaged = False
        self._unsynced = False
        return True

    def flush(self) -> None:
        """fsync appended entries (a marker's entry is as durable as the marker once its log is flushed)."""
        if not self._unsynced:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._unsynced = False

    def overlapping(self, start_offset: int, upper_offset: int) -> list[AbortedTxn]:
        """Entries of transactions that hold offsets in [start_offset, upper_offset): ended at or after the start
        and began before the upper bound."""
        entries = self.entries
        found = bisect_left([entry.last_offset for entry in entries], start_offset)
        return [entry for entry in entries[found:] if entry.first_offset < upper_offset]


def _pack(entry: AbortedTxn) -> bytes:
    return _ENTRY.pack(VERSION, entry.producer_id, entry.first_offset, entry.last_offset, entry.last_stable_offset)
