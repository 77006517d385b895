"""LogCleaner: background compaction of ``cleanup.policy=compact`` topics — the latest value per key wins.

A compacted partition is a clean part (already compacted) followed by a dirty part. The cleaner checkpoint file
``cleaner.checkpoint`` in the partition directory records where the dirty part begins::

    {"version": 1, "first_dirty_offset": N, "next_delete_horizon_ms": T or null}

A partition is cleaned when dirty bytes / all cleanable bytes exceed ``min.cleanable.dirty.ratio`` (or its
oldest dirty data is older than ``max.compaction.lag.ms``). Only closed segments are cleaned — never the active
one — and only those whose newest record is older than ``min.compaction.lag.ms``. Cleaning:

1. map every key of the dirty part to its latest offset (keys are hashed to 16 bytes; the map holds at most
   ``max_map_entries``, and a larger dirty part is cleaned in several rounds);
2. recopy the cleanable segments, in groups merged up to ``segment.bytes``, keeping a record unless a later
   offset of its key is in the map. Offsets never change (compaction leaves gaps). A batch whose records all
   survive is copied byte for byte; others are re-encoded with their header fields, compression and last
   offset preserved;
3. tombstones (null values) survive their first cleaning, which stamps their batch with a delete horizon of
   now + ``delete.retention.ms`` (KIP-534); a later cleaning after the horizon drops them, so a consumer that
   reads from the start within ``delete.retention.ms`` sees every delete. The earliest horizon still pending is
   kept in the checkpoint, and a partition whose horizon has passed is cleaned even without new dirty data;
4. the last batch of each idempotent producer is kept (empty if need be) so producer state survives restarts;
5. transactions (hub.log.cleaner_txns): only segments below the last stable offset are cleanable; records of
   aborted transactions are removed (and never enter the key map); a marker stays while any batch of its
   transaction does, then gets a delete horizon like a tombstone and goes after it; each cleaned segment's
   transaction index keeps the entries of the ABORT markers it keeps;
6. each group of cleaned segments replaces the originals atomically (PartitionLog.replace_segments).

Producers keep appending and consumers keep reading while this runs: the active segment is untouched and the
swap happens under the partition lock. The latest value of a key is never dropped: only records with a later
offset for the same key are, and later offsets are never removed by the cleaner.

Thread-safety: one cleaner thread; ``clean_partition`` may also be called directly (tests), not concurrently
for the same partition.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hub.log.batch import HEADER_SIZE, BatchHeader, parse_header
from hub.log.checkpoint import read_versioned_json, write_json_atomically
from hub.log.cleaner_txns import CleanedTransactions
from hub.log.compression import codec
from hub.log.config import INT_MAX
from hub.log.control import decode_marker
from hub.log.errors import LogClosedError
from hub.log.partition import PartitionLog
from hub.log.records import Record, decode_batch, encode_batch
from hub.log.segment import LogSegment
from hub.log.store import TopicStore

log = logging.getLogger("hub.log.cleaner")

CHECKPOINT_FILE = "cleaner.checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class CleanResult:
    """What one cleaning of a partition did."""

    partition: str
    segments_before: int
    segments_after: int
    bytes_before: int
    bytes_after: int
    records_removed: int
    first_dirty_offset: int


def _digest(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16).digest()


def _batches(segment: LogSegment) -> Iterator[tuple[BatchHeader, bytes]]:
    """Every batch of a closed segment with its bytes, read one at a time (bounded memory)."""
    position = 0
    size = segment.size
    while position + HEADER_SIZE <= size:
        header = parse_header(segment.read_at(position, HEADER_SIZE))
        yield header, segment.read_at(position, header.size)
        position += header.size


class LogCleaner:
    """Compacts the store's compacted topics in a background thread; ``start()`` / ``close()``."""

    def __init__(
        self,
        store: TopicStore,
        *,
        backoff_ms: int = 15_000,
        max_map_entries: int = 4_000_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.backoff_ms = backoff_ms
        self.max_map_entries = max_map_entries
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hub-log-cleaner", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.backoff_ms / 1000):
            self.run_once()

    def run_once(self, now_ms: int | None = None) -> list[CleanResult]:
        """Clean every compacted partition that is due; returns what was done."""
        now = int(self.clock() * 1000) if now_ms is None else now_ms
        results: list[CleanResult] = []
        for partition in self.store.partitions():
            if self._stop.is_set():
                break
            if not partition.config.compact:
                continue
            try:
                result = self.clean_partition(partition, now)
            except LogClosedError:
                continue
            except ValueError as exc:
                log.info("%s: cleaning skipped this round: %s", partition.name, exc)
                continue
            except Exception:
                log.exception("%s: cleaning failed", partition.name)
                continue
            if result is not None:
                results.append(result)
        return results

    # --- one partition -----------------------------------------------------------------------------------------

    def _checkpoint(self, partition: PartitionLog) -> tuple[int, int | None]:
        data = read_versioned_json(partition.directory / CHECKPOINT_FILE) or {}
        horizon = data.get("next_delete_horizon_ms")
        return max(int(data.get("first_dirty_offset", 0)), partition.log_start_offset), horizon

    def _save_checkpoint(self, partition: PartitionLog, first_dirty: int, next_horizon: int | None) -> None:
        write_json_atomically(
            partition.directory / CHECKPOINT_FILE,
            {"version": FORMAT_VERSION, "first_dirty_offset": first_dirty, "next_delete_horizon_ms": next_horizon},
        )

    def clean_partition(self, partition: PartitionLog, now_ms: int, *, force: bool = False) -> CleanResult | None:
        """Clean one partition if it is due (or ``force``); None when there was nothing to do."""
        config = partition.config
        lag_ms = config.get("min.compaction.lag.ms")
        cleanable: list[LogSegment] = []
        stable = partition.last_stable_offset
        for segment in partition.closed_segments():
            if lag_ms > 0 and segment.max_timestamp > now_ms - lag_ms:
                break
            if segment.next_offset > stable:
                break  # an undecided transaction's records are not the cleaner's to judge yet
            cleanable.append(segment)
        if not cleanable:
            return None
        first_dirty, next_horizon = self._checkpoint(partition)
        horizon_passed = next_horizon is not None and now_ms >= next_horizon
        dirty = [segment for segment in cleanable if segment.next_offset > first_dirty]
        if not dirty and not horizon_passed:
            return None
        dirty_bytes = sum(segment.size for segment in dirty)
        total_bytes = sum(segment.size for segment in cleanable)
        overdue = bool(dirty) and 0 <= dirty[0].max_timestamp < now_ms - config.get("max.compaction.lag.ms")
        ratio_due = dirty_bytes / max(total_bytes, 1) >= config.get("min.cleanable.dirty.ratio")
        if not (force or overdue or horizon_passed or (dirty and ratio_due)):
            return None
        aborted = partition.aborted_transactions(cleanable[0].base_offset, cleanable[-1].next_offset)
        offset_map, map_end = (
            self._build_offset_map(dirty, first_dirty, CleanedTransactions(aborted)) if dirty else ({}, first_dirty)
        )
        cleanable = [segment for segment in cleanable if segment.base_offset < map_end]
        transactions = CleanedTransactions(aborted)
        last_producer_batches = self._last_producer_batches(partition)
        horizon = now_ms + config.get("delete.retention.ms")
        removed = 0
        bytes_after = 0
        pending_horizons: list[int] = []
        groups = self._groups(cleanable, config.get("segment.bytes"))
        for group in groups:
            cleaned = partition.new_cleaned_segment(group[0].base_offset)
            try:
                for segment in group:
                    for header, data in _batches(segment):
                        if header.is_control:
                            kept, dropped, kept_horizon = self._filter_marker(
                                header, data, transactions, now_ms, horizon, last_producer_batches
                            )
                        else:
                            kept, dropped, kept_horizon = self._filter(
                                header,
                                data,
                                offset_map,
                                first_dirty,
                                map_end,
                                now_ms,
                                horizon,
                                last_producer_batches,
                                aborted=transactions.on_data_batch(header),
                            )
                        removed += dropped
                        if kept_horizon is not None:
                            pending_horizons.append(kept_horizon)
                        if kept is not None:
                            cleaned.append(kept, [(0, parse_header(kept))])
                bytes_after += cleaned.size
                cleaned.txn_index.replace(
                    [
                        entry
                        for offset, entry in sorted(transactions.kept_entries.items())
                        if offset < cleaned.next_offset and offset >= cleaned.base_offset
                    ]
                )
                partition.replace_segments(group, cleaned)
            except BaseException:
                cleaned.delete_files()
                raise
        self._save_checkpoint(partition, map_end, min(pending_horizons, default=None))
        result = CleanResult(partition.name, len(cleanable), len(groups), total_bytes, bytes_after, removed, map_end)
        log.info(
            "%s: compacted %d segment(s) into %d: %d -> %d bytes, %d record(s) removed",
            result.partition,
            result.segments_before,
            result.segments_after,
            result.bytes_before,
            result.bytes_after,
            result.records_removed,
        )
        return result

    def _build_offset_map(
        self, dirty: list[LogSegment], first_dirty: int, transactions: CleanedTransactions
    ) -> tuple[dict[bytes, int], int]:
        """Latest offset of every key in the dirty segments (aborted records left out), and the offset the map
        covers up to."""
        offset_map: dict[bytes, int] = {}
        end = dirty[0].base_offset
        for segment in dirty:
            if len(offset_map) >= self.max_map_entries and end > first_dirty:
                break
            for header, data in _batches(segment):
                if header.is_control or transactions.on_data_batch(header):
                    continue
                for record in decode_batch(data).records:
                    if record.offset >= first_dirty and record.key is not None:
                        offset_map[_digest(record.key)] = record.offset
            end = segment.next_offset
        return offset_map, end

    @staticmethod
    def _last_producer_batches(partition: PartitionLog) -> set[int]:
        """Base offsets of each idempotent producer's last batch in the log (kept for producer state)."""
        last: dict[int, int] = {}
        for segment in [*partition.closed_segments(), partition.active]:
            position = 0
            while position + HEADER_SIZE <= segment.size:
                header = parse_header(segment.read_at(position, HEADER_SIZE))
                if header.producer_id >= 0:
                    last[header.producer_id] = header.base_offset
                position += header.size
        return set(last.values())

    @staticmethod
    def _groups(segments: list[LogSegment], max_bytes: int) -> list[list[LogSegment]]:
        """Consecutive segments merged while their total size fits one segment and offsets fit int32."""
        groups: list[list[LogSegment]] = []
        for segment in segments:
            current = groups[-1] if groups else None
            if (
                current is not None
                and sum(s.size for s in current) + segment.size <= max_bytes
                and segment.next_offset - current[0].base_offset <= INT_MAX
            ):
                current.append(segment)
            else:
                groups.append([segment])
        return groups

    @staticmethod
    def _filter_marker(
        header: BatchHeader,
        data: bytes,
        transactions: CleanedTransactions,
        now_ms: int,
        horizon_ms: int,
        last_producer_batches: set[int],
    ) -> tuple[bytes | None, int, int | None]:
        """A marker's fate (as ``_filter``'s answer): kept while its transaction has batches left or it is its
        producer's last batch, else stamped with a delete horizon, and dropped by a cleaning past it."""
        if header.producer_id < 0:
            return data, 0, None
        marker = decode_marker(data)
        removable = transactions.on_marker(header, marker.commit)
        if not removable or header.base_offset in last_producer_batches:
            if not marker.commit:
                transactions.keep_abort_marker(header.last_offset)
            return data, 0, None
        if header.has_delete_horizon:
            if now_ms >= header.base_timestamp:
                return None, 0, None
            if not marker.commit:
                transactions.keep_abort_marker(header.last_offset)
            return data, 0, header.base_timestamp
        if not marker.commit:
            transactions.keep_abort_marker(header.last_offset)
        stamped = encode_batch(
            decode_batch(data).records,
            base_offset=header.base_offset,
            producer_id=header.producer_id,
            producer_epoch=header.producer_epoch,
            base_sequence=header.base_sequence,
            transactional=True,
            control=True,
            partition_leader_epoch=header.partition_leader_epoch,
            last_offset_delta=header.last_offset_delta,
            delete_horizon_ms=horizon_ms,
        )
        return stamped, 0, horizon_ms

    @staticmethod
    def _filter(
        header: BatchHeader,
        data: bytes,
        offset_map: dict[bytes, int],
        first_dirty: int,
        map_end: int,
        now_ms: int,
        horizon_ms: int,
        last_producer_batches: set[int],
        *,
        aborted: bool = False,
    ) -> tuple[bytes | None, int, int | None]:
        """The batch to write in the cleaned segment (None to drop it), how many records were removed, and the
        delete horizon of tombstones it still holds (None when it holds none). Every record of an ``aborted``
        transaction's batch is removed."""
        records = decode_batch(data).records
        kept: list[Record] = []
        has_tombstone = False
        for record in records if not aborted else ():
            if record.key is not None:
                latest = offset_map.get(_digest(record.key))
                if latest is not None and record.offset < latest:
                    continue
            if record.value is None:
                if header.has_delete_horizon and now_ms >= header.base_timestamp:
                    continue
                has_tombstone = True
            kept.append(record)
        first_cleaning = header.base_offset >= first_dirty and header.last_offset < map_end
        stamp_horizon = has_tombstone and not header.has_delete_horizon and first_cleaning
        delete_horizon: int | None = None
        if has_tombstone:
            delete_horizon = header.base_timestamp if header.has_delete_horizon else horizon_ms
        if len(kept) == len(records) and not stamp_horizon:
            return data, 0, delete_horizon
        removed = len(records) - len(kept)
        if not kept and header.base_offset not in last_producer_batches:
            return None, removed, None
        rebuilt = encode_batch(
            kept,
            base_offset=header.base_offset,
            compression=codec(header.compression),
            producer_id=header.producer_id,
            producer_epoch=header.producer_epoch,
            base_sequence=header.base_sequence,
            timestamp_type=header.timestamp_type,
            transactional=header.is_transactional,
            partition_leader_epoch=header.partition_leader_epoch,
            last_offset_delta=header.last_offset_delta,
            delete_horizon_ms=delete_horizon,
        )
        return rebuilt, removed, delete_horizon
