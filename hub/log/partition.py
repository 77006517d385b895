"""PartitionLog: one topic partition as an ordered set of segments, with append, read, retention, truncation.

Directory ``<topic>-<partition>/`` holds the segments (hub.log.segment; in memory, their ordered set is a
hub.log.segments.LogSegments) and two checkpoint files (hub.log.checkpoint)::

    partition.checkpoint     {"version": 1, "recovery_point": N, "log_start_offset": M, "high_watermark": H}
    leader-epoch-checkpoint  "0\n<count>\n<epoch> <start offset>\n..." (Kafka's text format)

Append path: check every batch of the request (nothing is written when one is bad; hub.log.append_batches),
stamp base offsets and the leader epoch in place, roll the active segment when it is full or old, write all
batches with one ``pwrite``, publish the new log end offset. Python reads and writes batch headers only, never
records, except to walk a compressed batch's records (the validator) and on compacted topics, where every record
must have a key.

Durability, two-phase: ``append`` returns once the bytes are written (readable, not yet durable) with a
``durable`` future; ``append_and_wait`` returns once durable. With ``flush.messages`` = 1 (Hub's default) the future
resolves after an fsync covering the append: the store's Flusher thread does it for ``append``, the caller itself
for ``append_and_wait``; either way concurrent appends share one fsync (group commit). With a larger
``flush.messages`` the future is resolved at once and fsync happens by count or ``flush.ms``.

Replication (hub.log.cluster): a leader appends as above and its high watermark is set by the replica manager
(the ISR's least log end offset); a follower appends the leader's batches as they are (``append_replicated``: their
offsets and epochs kept) and truncates a divergent tail (``truncate_to``, ``end_offset_for_epoch``). Outside a
cluster the high watermark is the log end offset.

Recovery on open is hub.log.recovery's job: segments up to the recovery point are trusted, later ones re-validated
and truncated at the first torn or corrupt batch.

Transactions: producer state (hub.log.producer_state) follows each producer's open transaction; ``append_marker``
writes a transaction's COMMIT or ABORT marker (hub.log.control), and an aborted transaction gets an entry in the
transaction index of the segment holding its marker (hub.log.txn_index). The last stable offset is the least first
offset of the open (or ended but not yet replicated) transactions, at most the high watermark: read_committed
readers stop there. On open and truncation the producer state and every segment's transaction index are recomputed
from the stored batches (hub.log.partition_txns), so a crash never leaves an index behind its log.

Thread-safety: appends, truncation, retention and segment swaps take the partition lock; fsyncs run outside it
(under a separate flush lock, always taken before the partition lock), so appends continue during an fsync.
Reads take the lock only to snapshot the segments (an immutable value), log end and the active segment's size,
then read without it: a reader never sees a batch whose write has not completed. Retired segments stay open for
readers until ``file.delete.delay.ms`` has passed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

from hub.log.append_batches import DONE, AppendResult, check_batches, stamp_log_append_time
from hub.log.batch import HEADER_SIZE, BatchHeader, parse_header, stamp_batch, validate_batch
from hub.log.checkpoint import (
    FORMAT_VERSION,
    fsync_dir,
    read_epoch_checkpoint,
    read_versioned_json,
    write_epoch_checkpoint,
    write_json_atomically,
)
from hub.log.config import INT_MAX, TopicConfig
from hub.log.control import EndTxnMarker, encode_marker
from hub.log.errors import (
    InvalidBatchError,
    LogClosedError,
    OffsetOutOfRangeError,
    UnexpectedAppendOffsetError,
)
from hub.log.index import OffsetIndex, TimeIndex
from hub.log.partition_txns import PartitionTransactions, segment_headers
from hub.log.producer_state import ProducerStateManager
from hub.log.recovery import load_segments
from hub.log.retention import active_expired, expired_count
from hub.log.segment import CLEANED_SUFFIX, SWAP_SUFFIX, FileSlice, LogSegment
from hub.log.segments import LogSegments
from hub.log.txn_index import AbortedTxn

log = logging.getLogger("hub.log.partition")

#: AppendResult is what PartitionLog.append answers, so it is exported here too.
__all__ = ["AppendResult", "FlushScheduler", "PartitionLog"]

CHECKPOINT_FILE = "partition.checkpoint"
EPOCH_FILE = "leader-epoch-checkpoint"


class FlushScheduler(Protocol):
    """Where a partition asks for an fsync in the background (the store's Flusher)."""

    def schedule(self, partition: PartitionLog) -> None: ...


class PartitionLog:
    """One partition's log. ``open()`` recovers it from disk; ``close()`` flushes and releases it."""

    def __init__(
        self,
        directory: Path,
        topic: str,
        partition: int,
        config: TopicConfig,
        *,
        flusher: FlushScheduler | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.topic = topic
        self.partition = partition
        self.config = config
        self.flusher = flusher
        self.clock = clock
        self.segments = LogSegments([LogSegment(directory, 0)])  # an unopened placeholder until open() loads them
        self.log_start_offset = 0
        self.recovery_point = 0
        self.flushed_offset = 0
        self._lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._unflushed_messages = 0
        self.last_flush_ms = 0
        self.epochs: list[tuple[int, int]] = []
        #: Set once replication tracks this log's high watermark (None: a single node's, the log end offset).
        self._high_watermark: int | None = None
        #: The high watermark the last checkpoint recorded (a restarted replica's starting point).
        self.checkpointed_high_watermark = 0
        self._pending_deletes: list[tuple[float, LogSegment]] = []
        self._waiters: list[tuple[int, Future[None]]] = []
        self.fsync_count = 0
        #: Counts for the store's metrics (hub.log.metrics), bumped per append, read or fsync, never per record.
        self.fsync_seconds = 0.0
        self.bytes_in = 0
        self.messages_in = 0
        self.bytes_out = 0
        self.producer_state = ProducerStateManager(self.name)
        self.transactions = PartitionTransactions(self.name, self.producer_state)
        self.on_append: Callable[[PartitionLog], None] | None = None
        self.closed = True
        self._released = True  # files closed (set by close(), cleared by open())

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        checkpoint = read_versioned_json(self.directory / CHECKPOINT_FILE) or {}
        self.recovery_point = int(checkpoint.get("recovery_point", 0))
        saved_start = int(checkpoint.get("log_start_offset", 0))
        self.checkpointed_high_watermark = int(checkpoint.get("high_watermark", 0))
        self.epochs = read_epoch_checkpoint(self.directory / EPOCH_FILE)
        loaded = load_segments(
            self.directory,
            self.name,
            recovery_point=self.recovery_point,
            index_interval_bytes=self.config.get("index.interval.bytes"),
        )
        self.segments = LogSegments(loaded or [self._new_segment(saved_start)])
        self.log_start_offset = max(saved_start, self.segments[0].base_offset)
        self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
        self.recovery_point = self.log_end_offset
        self.flushed_offset = self.log_end_offset
        self.epochs = [(epoch, start) for epoch, start in self.epochs if start < self.log_end_offset]
        self.transactions.rebuild(self.segments, self.high_watermark)
        self.last_flush_ms = self._now_ms()
        self.closed = False
        self._released = False
        self.write_checkpoint()

    def _new_segment(self, base_offset: int) -> LogSegment:
        segment = LogSegment(self.directory, base_offset, index_interval_bytes=self.config.get("index.interval.bytes"))
        segment.open()
        segment.created_ms = self._now_ms()
        fsync_dir(self.directory)
        return segment

    def close(self) -> None:
        """Refuse new work, fsync what was written, record the recovery point, close the files. Idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        # Outside the partition lock: flush takes the flush lock first, then the partition lock.
        self.flush()
        with self._flush_lock, self._lock:
            self._settle_waiters(2**63, LogClosedError(f"{self.name} closed"))
            self.write_checkpoint()
            for segment in self.segments:
                segment.close()
            for _, segment in self._pending_deletes:
                segment.delete_files()
            self._pending_deletes.clear()
            self._released = True

    def write_checkpoint(self) -> None:
        write_json_atomically(
            self.directory / CHECKPOINT_FILE,
            {
                "version": FORMAT_VERSION,
                "recovery_point": self.recovery_point,
                "log_start_offset": self.log_start_offset,
                "high_watermark": self.high_watermark,
            },
        )

    # --- positions ---------------------------------------------------------------------------------------------

    @property
    def active(self) -> LogSegment:
        return self.segments.active

    @property
    def log_end_offset(self) -> int:
        return self.segments.active.next_offset

    @property
    def high_watermark(self) -> int:
        """The offset below which records are committed and readable by consumers: the log end offset on a single
        node, what replication set (``update_high_watermark``) in a cluster."""
        high_watermark = self._high_watermark
        return self.log_end_offset if high_watermark is None else high_watermark

    @property
    def replicated(self) -> bool:
        return self._high_watermark is not None

    def update_high_watermark(self, offset: int) -> bool:
        """Replication's high watermark, never above the log end offset; True when it moved. The first call
        switches the log to replicated mode. It only moves back when a truncation forces it."""
        with self._lock:
            offset = min(offset, self.log_end_offset)
            current = self._high_watermark
            if current is not None and offset <= current:
                return False
            self._high_watermark = offset
            return True

    @property
    def size_bytes(self) -> int:
        return self.segments.size_bytes

    # --- appending ---------------------------------------------------------------------------------------------

    def append(self, data: bytes | bytearray | memoryview, *, leader_epoch: int = 0) -> AppendResult:
        """Validate, stamp and write the batches in ``data``; returns without waiting for the fsync.

        InvalidBatchError or RecordTooLargeError leave the log untouched. With ``flush.messages`` = 1 the store's
        Flusher thread resolves ``AppendResult.durable`` after the fsync covering this append (what an event
        loop wants); a log without a flusher fsyncs before returning."""
        result = self._append(data, leader_epoch)
        if self.config.sync_every_append:
            if self.flusher is None:
                self.flush(result.last_offset + 1)
            else:
                self.flusher.schedule(self)
        return result

    def append_and_wait(
        self, data: bytes | bytearray | memoryview, *, leader_epoch: int = 0, timeout_s: float | None = None
    ) -> AppendResult:
        """``append`` that returns once the append is durable per ``flush.messages``. The calling thread does the
        fsync itself unless a concurrent caller's fsync already covers it: N threads appending together share
        about one fsync (leader/follower group commit), without a hand-off to another thread."""
        result = self._append(data, leader_epoch)
        if self.config.sync_every_append:
            self.flush(result.last_offset + 1)
        return result.wait(timeout_s)

    def _append(self, data: bytes | bytearray | memoryview, leader_epoch: int) -> AppendResult:
        config = self.config
        values = config.values  # plain dict lookups: this is the hot path
        headers = check_batches(self.name, data, config)
        buffer = bytearray(data)
        log_append_time = values["message.timestamp.type"] == "LogAppendTime"
        with self._lock:
            if self.closed:
                raise LogClosedError(f"{self.name} is closed")
            duplicate = self.producer_state.check([header for _, header in headers])
            if duplicate is not None:
                # A producer's retry of a batch already written: answer with where it went, write nothing.
                return AppendResult(
                    duplicate.first_offset, duplicate.last_offset, -1, 0, 0, self._durability(duplicate.last_offset + 1)
                )
            now = int(self.clock() * 1000)
            offset = base_offset = self.segments.active.next_offset
            stamped: list[tuple[int, BatchHeader]] = []
            max_timestamp = -1
            records = 0
            for position, _ in headers:
                stamp_batch(buffer, position, offset, leader_epoch)
                if log_append_time:
                    stamp_log_append_time(buffer, position, now)
                header = parse_header(buffer, position)
                stamped.append((position, header))
                offset = header.next_offset
                records += header.records_count
                max_timestamp = max(max_timestamp, header.max_timestamp)
            self._maybe_roll(len(buffer), offset - 1, max_timestamp, now)
            self.segments.active.append(buffer, stamped)
            for _, header in stamped:
                self.producer_state.record(header)
            if not self.epochs or leader_epoch > self.epochs[-1][0]:
                self._record_epoch(leader_epoch, base_offset)
            self._unflushed_messages += records
            self.bytes_in += len(buffer)
            self.messages_in += records
            durable = self._durability(offset)
        if self.on_append is not None:
            self.on_append(self)
        return AppendResult(base_offset, offset - 1, now if log_append_time else -1, records, len(stamped), durable)

    def append_replicated(self, data: bytes | bytearray | memoryview) -> int:
        """A follower's append of batches fetched from its leader, with their offsets and leader epochs as the
        leader stored them (nothing is re-stamped). Batches wholly below the log end offset are skipped (a fetch
        may repeat what arrived); a gap or a corrupt batch raises InvalidBatchError and writes nothing. A trailing
        partial batch is left for the next fetch. Returns the new log end offset."""
        buffer = bytes(data)
        batches: list[tuple[int, BatchHeader]] = []
        position = 0
        while position + HEADER_SIZE <= len(buffer) and position + parse_header(buffer, position).size <= len(buffer):
            header = validate_batch(buffer, position)
            batches.append((position, header))
            position += header.size
        with self._lock:
            if self.closed:
                raise LogClosedError(f"{self.name} is closed")
            expected = self.log_end_offset
            batches = [(p, h) for p, h in batches if h.next_offset > expected]
            if not batches:
                return expected
            first = batches[0][0]
            stamped: list[tuple[int, BatchHeader]] = []
            if batches[0][1].base_offset < expected:
                raise UnexpectedAppendOffsetError(
                    f"{self.name}: replicated batch holds offsets {batches[0][1].base_offset}-"
                    f"{batches[0][1].last_offset}, log end is {expected}",
                    batches[0][1].base_offset,
                )
            for position, header in batches:
                if header.base_offset != expected:
                    raise InvalidBatchError(
                        f"{self.name}: replicated batch starts at offset {header.base_offset}, log end is {expected}"
                    )
                stamped.append((position - first, header))
                expected = header.next_offset
            end = batches[-1][0] + batches[-1][1].size
            max_timestamp = max(header.max_timestamp for _, header in stamped)
            self._maybe_roll(end - first, expected - 1, max_timestamp, self._now_ms())
            self.segments.active.append(bytearray(buffer[first:end]), stamped)
            for position, header in stamped:
                self.transactions.record(header, buffer, first + position, self.active)
                self._record_epoch(header.partition_leader_epoch, header.base_offset)
                self._unflushed_messages += header.records_count
        if self.config.values["flush.messages"] == 1 and self.flusher is not None:
            self.flusher.schedule(self)
        if self.on_append is not None:
            self.on_append(self)
        return expected

    # --- transactions ------------------------------------------------------------------------------------------

    def append_marker(
        self,
        producer_id: int,
        producer_epoch: int,
        commit: bool,
        coordinator_epoch: int,
        *,
        leader_epoch: int = 0,
    ) -> AppendResult:
        """Write the marker ending ``producer_id``'s transaction (a control batch; see hub.log.control) and return
        where it went, like ``append`` (``batch_count`` 0 and the earlier marker's offset when this one is a retry
        of the producer's last marker: nothing is written). Raises InvalidProducerEpochError for an older producer
        epoch, TransactionCoordinatorFencedError for an older coordinator epoch."""
        marker = EndTxnMarker(commit, coordinator_epoch)
        with self._lock:
            if self.closed:
                raise LogClosedError(f"{self.name} is closed")
            earlier = self.producer_state.check_marker(producer_id, producer_epoch, marker)
            if earlier is not None:
                return AppendResult(earlier, earlier, -1, 0, 0, self._durability(earlier + 1))
            now = self._now_ms()
            buffer = bytearray(encode_marker(producer_id, producer_epoch, commit, coordinator_epoch, timestamp=now))
            offset = self.segments.active.next_offset
            stamp_batch(buffer, 0, offset, leader_epoch)
            header = parse_header(buffer)
            self._maybe_roll(len(buffer), offset, header.max_timestamp, now)
            self.segments.active.append(buffer, [(0, header)])
            self.transactions.completed(self.producer_state.record(header, marker), self.active)
            if not self.epochs or leader_epoch > self.epochs[-1][0]:
                self._record_epoch(leader_epoch, offset)
            self._unflushed_messages += 1
            durable = self._durability(offset + 1)
        if self.config.sync_every_append:
            if self.flusher is None:
                self.flush(offset + 1)
            else:
                self.flusher.schedule(self)
        if self.on_append is not None:
            self.on_append(self)
        return AppendResult(offset, offset, -1, 1, 1, durable)

    def _last_stable_offset(self) -> int:
        return self.transactions.last_stable_offset(self.high_watermark, self.log_start_offset)

    @property
    def last_stable_offset(self) -> int:
        """The offset below which every transaction is decided and replicated: the least first offset of the
        open transactions (and of ended ones whose marker is not yet below the high watermark), at most the high
        watermark, at least the log start. read_committed consumers read up to here."""
        with self._lock:
            return self._last_stable_offset()

    def aborted_transactions(self, start_offset: int, upper_offset: int) -> list[AbortedTxn]:
        """The aborted transactions holding records in [start_offset, upper_offset), in marker order: what a
        read_committed Fetch of that range answers (a transaction whose marker lies past the range is included)."""
        with self._lock:
            segments = self.segments
        return PartitionTransactions.aborted_transactions(segments, start_offset, upper_offset)

    def start_leader_epoch(self, epoch: int) -> None:
        """Record that ``epoch`` starts at the log end offset (a new leader's first act, before any append, so
        its followers' OffsetsForLeaderEpoch questions are answered right)."""
        with self._lock:
            self._record_epoch(epoch, self.log_end_offset)

    def latest_epoch(self) -> int:
        """The leader epoch of the log's last epoch entry; -1 for a log without one."""
        with self._lock:
            return self.epochs[-1][0] if self.epochs else -1

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """Kafka's OffsetsForLeaderEpoch answer for ``epoch``: (the largest epoch <= it, the offset where the
        next larger epoch starts or the log end offset); (-1, -1) when the log has no epoch that old."""
        with self._lock:
            if epoch < 0 or not self.epochs or epoch < self.epochs[0][0]:
                return -1, -1
            if epoch >= self.epochs[-1][0]:
                return self.epochs[-1][0], self.log_end_offset
            floor = max(entry for entry in self.epochs if entry[0] <= epoch)
            following = min(start for found, start in self.epochs if found > epoch)
            return floor[0], following

    def _maybe_roll(self, incoming_bytes: int, last_offset: int, incoming_max_timestamp: int, now: int) -> None:
        """Roll like Kafka: on size, on relative offset overflow, on a full index, or when the incoming batches'
        timestamps are ``segment.ms`` past the segment's first batch (wall-clock age for a segment without one)."""
        active = self.active
        if active.size == 0:
            return
        if active.first_batch_timestamp is not None and active.first_batch_timestamp >= 0:
            waited = incoming_max_timestamp - active.first_batch_timestamp
        else:
            waited = now - active.created_ms
        values = self.config.values
        if (
            active.size + incoming_bytes > values["segment.bytes"]
            or waited > values["segment.ms"] - values["segment.jitter.ms"]
            or last_offset - active.base_offset > INT_MAX
            or (len(active.offset_index.positions) + 1) * OffsetIndex.ENTRY_SIZE > values["segment.index.bytes"]
            or (len(active.time_index.timestamps) + 1) * TimeIndex.ENTRY_SIZE > values["segment.index.bytes"]
        ):
            self.roll()

    def roll(self) -> LogSegment:
        """Seal the active segment and start a new one at the log end offset (no-op on an empty active one)."""
        with self._lock:
            if self.active.size == 0:
                return self.active
            self.active.seal()
            segment = self._new_segment(self.log_end_offset)
            self.segments = self.segments.added(segment)
            return segment

    def _record_epoch(self, epoch: int, start_offset: int) -> None:
        if self.epochs and epoch <= self.epochs[-1][0]:
            return
        self.epochs.append((epoch, start_offset))
        write_epoch_checkpoint(self.directory / EPOCH_FILE, self.epochs)

    def _durability(self, end_offset: int) -> Future[None]:
        """The future an append's caller waits on (caller holds the lock). With ``flush.messages`` = 1 it is
        resolved by the flush that covers ``end_offset``; otherwise at once, scheduling a flush by count."""
        flush_messages = self.config.values["flush.messages"]
        if flush_messages == 1:
            if self.flushed_offset >= end_offset:
                return DONE
            future: Future[None] = Future()
            self._waiters.append((end_offset, future))
            return future
        if self._unflushed_messages >= flush_messages and self.flusher is not None:
            self.flusher.schedule(self)
        return DONE

    # --- durability --------------------------------------------------------------------------------------------

    def flush(self, up_to: int | None = None) -> int:
        """fsync every segment holding data below ``up_to`` (default: all), resolve the appends it covers, and
        return the offset now durable. Concurrent callers queue on one lock, and one whose data a previous
        fsync covered returns at once: that is the group commit."""
        with self._flush_lock:
            if up_to is not None and self.flushed_offset >= up_to:
                return self.flushed_offset
            with self._lock:
                if self._released:
                    return self.flushed_offset
                target = self.log_end_offset
                unsynced = [(segment, segment.size) for segment in self.segments if segment.size > segment.synced_size]
                for segment, _ in unsynced:
                    segment.write_index_entries()
            try:
                for segment, size in unsynced:
                    began = time.perf_counter()
                    segment.fsync_log()
                    self.fsync_seconds += time.perf_counter() - began
                    self.fsync_count += 1
                    segment.synced_size = max(segment.synced_size, size)
            except OSError as exc:
                log.error("%s: fsync failed: %s", self.name, exc)
                self._settle_waiters(target, exc)
                raise
            with self._lock:
                self.flushed_offset = max(self.flushed_offset, target)
                self.recovery_point = self.flushed_offset
                self._unflushed_messages = 0
                self.last_flush_ms = self._now_ms()
            self._settle_waiters(self.flushed_offset, None)
            return self.flushed_offset

    def _settle_waiters(self, offset: int, error: BaseException | None) -> None:
        with self._lock:
            settled = [waiter for waiter in self._waiters if waiter[0] <= offset]
            self._waiters = [waiter for waiter in self._waiters if waiter[0] > offset]
        for _, future in settled:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def flush_due(self, now_ms: int) -> bool:
        """True when ``flush.ms`` has passed since the last flush and something is unflushed."""
        return self._unflushed_messages > 0 and now_ms - self.last_flush_ms >= self.config.get("flush.ms")

    # --- reading -----------------------------------------------------------------------------------------------

    def _snapshot(self) -> tuple[LogSegments, int, int, int]:
        """Segments, log start, log end and the active segment's size, taken together under the lock: the size
        bounds reads to what was published with that log end."""
        with self._lock:
            if self.closed:
                raise LogClosedError(f"{self.name} is closed")
            segments = self.segments
            return segments, self.log_start_offset, segments.active.next_offset, segments.active.size

    def check_offset(self, offset: int) -> None:
        _, start, end, _ = self._snapshot()
        if not start <= offset <= end:
            raise OffsetOutOfRangeError(f"{self.name}: offset {offset} is outside [{start}, {end}]")

    def read(self, offset: int, max_bytes: int, *, max_offset: int | None = None) -> bytes:
        """Whole stored batches from the one holding ``offset``: up to ``max_bytes``, but always at least one
        batch when any exists (as Kafka does), and none starting at or after ``max_offset``.
        OffsetOutOfRangeError outside [log start, log end]; b"" at the log end. Never blocks on appends."""
        slices = self.read_slices(offset, max_bytes, max_offset=max_offset)
        if len(slices) == 1:
            return os.pread(slices[0].fd, slices[0].length, slices[0].position)
        return b"".join(os.pread(piece.fd, piece.length, piece.position) for piece in slices)

    def read_slices(self, offset: int, max_bytes: int, *, max_offset: int | None = None) -> list[FileSlice]:
        """The bytes ``read`` would return, as file slices to ``os.sendfile`` (zero-copy serving); empty at the
        log end. Same range rules and errors as ``read``."""
        segments, start, end, active_size = self._snapshot()
        if not start <= offset <= end:
            raise OffsetOutOfRangeError(f"{self.name}: offset {offset} is outside [{start}, {end}]")
        limit = None if max_offset is None or max_offset >= end else max_offset
        if offset >= end or (limit is not None and offset >= limit):
            return []
        active = segments.active
        for segment in segments.from_offset(offset):
            found = segment.locate(
                max(offset, segment.base_offset),
                max_bytes,
                limit=limit,
                end=active_size if segment is active else None,
            )
            if found is not None:
                self.bytes_out += found.length  # one add per fetch of a partition; a lost race costs a count
                return [found]
        return []

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with a timestamp >= ``timestamp``, None if there is none."""
        segments, start, _, _ = self._snapshot()
        return segments.offset_for_timestamp(timestamp, min_offset=start)

    # --- truncation and retention ------------------------------------------------------------------------------

    def stored_headers(self) -> Iterator[BatchHeader]:
        """The header of every stored batch, oldest first (reads 61 bytes per batch)."""
        for segment in self.segments:
            for _, header in segment_headers(segment):
                yield header

    def truncate_to(self, offset: int) -> None:
        """Remove every record at or after ``offset`` (replication's divergence repair; whole batches)."""
        with self._lock:
            if offset >= self.log_end_offset:
                return
            self.segments, dropped = self.segments.truncated(offset)
            for segment in reversed(dropped):
                segment.delete_files()
            self.active.truncate_to(offset)
            self.epochs = [(epoch, start) for epoch, start in self.epochs if start < self.log_end_offset]
            write_epoch_checkpoint(self.directory / EPOCH_FILE, self.epochs)
            if self._high_watermark is not None:
                self._high_watermark = min(self._high_watermark, self.log_end_offset)
            self.transactions.rebuild(self.segments, self.high_watermark)
            self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
            self.flushed_offset = min(self.flushed_offset, self.log_end_offset)
            self.recovery_point = min(self.recovery_point, self.log_end_offset)
            self.write_checkpoint()

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Drop every record and restart the log empty at ``offset`` (a follower whose log ends before its
        leader's log start, as Kafka's ``truncateFullyAndStartAt``)."""
        with self._lock:
            old = list(self.segments)
            # Retired (renamed) before the new segment is created: it may start at a retired one's base offset,
            # and would otherwise open that segment's file, records included, and lose what it then appends when
            # the retired files are deleted.
            for segment in old:
                self._delete_later(segment)
            self.segments = LogSegments([self._new_segment(offset)])
            self.log_start_offset = self.flushed_offset = self.recovery_point = offset
            self.epochs = []
            write_epoch_checkpoint(self.directory / EPOCH_FILE, self.epochs)
            if self._high_watermark is not None:
                self._high_watermark = offset
            self.producer_state.rebuild(iter(()))
            self.active.txn_index.replace(())
            self.write_checkpoint()

    def delete_records_before(self, offset: int) -> int:
        """Advance the log start offset to ``offset`` (Kafka's DeleteRecords); returns the new log start."""
        with self._lock:
            if not self.log_start_offset <= offset <= self.log_end_offset:
                raise OffsetOutOfRangeError(f"{self.name}: cannot delete records before {offset}")
            self.log_start_offset = offset
            self._delete_segments_below_start()
            self.write_checkpoint()
            return self.log_start_offset

    def active_producers(self) -> list[tuple[int, int, int, int, int, int]]:
        """The producers this partition knows: ``(producer_id, epoch, last_sequence, last_timestamp,
        coordinator_epoch, current_txn_start_offset)`` (the last two -1 when unknown or no transaction is open)."""
        with self._lock:
            return [
                (
                    producer_id,
                    entry.epoch,
                    entry.last_sequence,
                    entry.last_timestamp,
                    entry.coordinator_epoch,
                    entry.current_txn_first_offset,
                )
                for producer_id, entry in sorted(self.producer_state.producers.items())
            ]

    def follow_log_start(self, leader_start: int) -> None:
        """A follower's part of DeleteRecords and retention: move the log start up to the leader's (never past
        this log's end; a log behind the leader's start is reset by the fetcher instead)."""
        with self._lock:
            target = min(leader_start, self.log_end_offset)
            if target > self.log_start_offset:
                self.log_start_offset = target
                self._delete_segments_below_start()
                self.write_checkpoint()

    def _delete_segments_below_start(self) -> int:
        removed = 0
        while len(self.segments) > 1 and self.segments[1].base_offset <= self.log_start_offset:
            self._retire(self.segments[0])
            removed += 1
        return removed

    def _retire(self, segment: LogSegment) -> None:
        """Take a segment out of the log; its files are renamed ``.deleted`` and removed after the delay, so
        reads that already hold it finish."""
        self.segments = self.segments.without(segment)
        self._delete_later(segment)

    def _delete_later(self, segment: LogSegment) -> None:
        segment.mark_deleted()
        self._pending_deletes.append((time.monotonic() + self.config.get("file.delete.delay.ms") / 1000, segment))

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Delete whole segments past ``retention.ms`` or beyond ``retention.bytes`` (delete policy only), and
        remove retired segments whose delete delay has passed. Returns the number of segments deleted."""
        now = self._now_ms() if now_ms is None else now_ms
        removed = 0
        with self._lock:
            if self.closed:
                return 0
            if active_expired(self.active, self.config, now):
                self.roll()
            # Never past the last stable offset: an undecided transaction's batches are what rebuilds its state
            # (Kafka stops at the high watermark and keeps producer snapshots; Hub keeps none).
            stable = self._last_stable_offset()
            expired = expired_count(self.segments, self.config, now)
            below_stable = sum(1 for segment in self.segments.closed if segment.next_offset <= stable)
            for _ in range(min(expired, below_stable)):
                self._retire_oldest()
                removed += 1
            removed += self._delete_segments_below_start()
            if removed:
                log.info(
                    "%s: retention removed %d segment(s); log start offset is now %d",
                    self.name,
                    removed,
                    self.log_start_offset,
                )
                self.write_checkpoint()
            due = [entry for entry in self._pending_deletes if entry[0] <= time.monotonic()]
            self._pending_deletes = [entry for entry in self._pending_deletes if entry[0] > time.monotonic()]
        for _, segment in due:
            segment.delete_files()
        return removed

    def _retire_oldest(self) -> None:
        oldest = self.segments[0]
        self._retire(oldest)
        self.log_start_offset = max(self.log_start_offset, self.segments[0].base_offset)

    # --- the log cleaner's interface ---------------------------------------------------------------------------

    def closed_segments(self) -> list[LogSegment]:
        """Every segment but the active one, oldest first (a snapshot; each has ``size`` and ``max_timestamp``)."""
        with self._lock:
            return list(self.segments.closed)

    def new_cleaned_segment(self, base_offset: int) -> LogSegment:
        """An empty segment with ``.cleaned`` files for a cleaner to ``append`` to, then pass to
        ``replace_segments``; a crash before that leaves only ``.cleaned`` files, which recovery removes."""
        segment = LogSegment(
            self.directory,
            base_offset,
            index_interval_bytes=self.config.get("index.interval.bytes"),
            suffix=CLEANED_SUFFIX,
        )
        segment.open()
        return segment

    def replace_segments(self, old: list[LogSegment], cleaned: LogSegment) -> None:
        """Atomically replace consecutive closed segments ``old`` by ``cleaned`` (which starts at the first one's
        base offset and holds no offset past the last one's end).

        Crash-safe in three renames: cleaned files become ``.swap`` (from then on recovery completes the swap),
        the old segments become ``.deleted``, the ``.swap`` files take the final names. Readers holding an old
        segment keep reading it until ``file.delete.delay.ms`` has passed. ValueError when ``old`` is no longer
        a run of closed segments of this log (retention may have removed some meanwhile)."""
        if not old or cleaned.suffix != CLEANED_SUFFIX or cleaned.base_offset != old[0].base_offset:
            raise ValueError(f"{self.name}: replace_segments needs old segments and a cleaned segment at their base")
        if cleaned.next_offset > old[-1].next_offset:
            raise ValueError(
                f"{self.name}: cleaned segment ends at {cleaned.next_offset}, past the replaced {old[-1].next_offset}"
            )
        cleaned.seal()
        with self._lock:
            if self.closed:
                raise LogClosedError(f"{self.name} is closed")
            try:
                replaced = self.segments.replaced(old, cleaned)
            except ValueError as exc:
                raise ValueError(f"{self.name}: {exc}") from None
            cleaned.rename_files(SWAP_SUFFIX)
            fsync_dir(self.directory)
            for segment in old:
                self._delete_later(segment)
            fsync_dir(self.directory)
            cleaned.rename_files("")
            fsync_dir(self.directory)
            self.segments = replaced
            log.info(
                "%s: cleaned segment %020d replaced %d segment(s): %d bytes, was %d",
                self.name,
                cleaned.base_offset,
                len(old),
                cleaned.size,
                sum(segment.size for segment in old),
            )

    def delete(self) -> None:
        """Close and remove every file of the partition (topic deletion)."""
        with self._flush_lock, self._lock:
            self.closed = True
            self._released = True
            self._settle_waiters(2**63, LogClosedError(f"{self.name} was deleted"))
            for segment in self.segments:
                segment.delete_files()
            for _, segment in self._pending_deletes:
                segment.delete_files()
        for path in self.directory.iterdir():
            path.unlink()
        self.directory.rmdir()
