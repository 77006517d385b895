"""Idempotent producers: per partition, each producer's epoch and the sequence numbers of its last five batches.

A producer with an id (``producer_id >= 0``) numbers its batches per partition. Before an append:

- a batch whose producer epoch is older than the one known → ``InvalidProducerEpochError`` (the producer has
  been fenced by a newer instance);
- a batch equal (same epoch, first and last sequence) to one of that producer's last five batches is a retry of
  something already written: ``check`` returns the original batch's offsets and nothing is appended;
- otherwise the batch must continue the sequence (last + 1, wrapping from 2**31-1 to 0); a new epoch must
  start at 0; a gap → ``OutOfOrderSequenceError``. A producer whose state is unknown (new, or its batches were
  removed by retention) is accepted at any sequence, as Kafka accepts it.

Transactions (Kafka's ``ProducerStateManager``): a transactional batch of a producer without an ongoing transaction
starts one at the batch's base offset; a marker (hub.log.control) ends it, and ``record`` answers the
``CompletedTxn``. While a producer has a transaction open, a non-transactional batch of it is refused
(InvalidTxnStateError). A marker whose producer epoch is older than the producer's is refused
(InvalidProducerEpochError), one whose coordinator epoch is older than the last marker's
(TransactionCoordinatorFencedError); a marker of a newer producer epoch moves the producer to it (the coordinator
bumps the epoch when it aborts a timed-out transaction). A completed transaction stays *unstable* until its marker is
below the high watermark (``on_high_watermark``), so the first unstable offset is the least first offset of the
ongoing and the not-yet-replicated completed transactions.

State is rebuilt from the batches stored in the log (every header carries producer id, epoch, base sequence and last
offset delta; a marker's one record says commit or abort), so no snapshot file is needed for correctness.

Not thread-safe: the owning partition calls it under its append lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.log.batch import BatchHeader
from hub.log.control import EndTxnMarker
from hub.log.errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)

BATCHES_TO_RETAIN = 5
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """Where one producer batch went."""

    first_sequence: int
    last_sequence: int
    first_offset: int
    last_offset: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class CompletedTxn:
    """A transaction a marker ended on this partition: its first offset, the marker's offset, aborted or not."""

    producer_id: int
    first_offset: int
    last_offset: int
    aborted: bool


@dataclass
class ProducerEntry:
    """What is known of one producer on this partition."""

    epoch: int
    batches: deque[BatchMetadata] = field(default_factory=lambda: deque(maxlen=BATCHES_TO_RETAIN))
    last_timestamp: int = -1
    #: First offset of the transaction this producer has open here; -1 when none is.
    current_txn_first_offset: int = -1
    #: Epoch of the coordinator that wrote this producer's last marker here; -1 before any.
    coordinator_epoch: int = -1
    #: Offset of this producer's last marker here; -1 before any.
    last_marker_offset: int = -1

    @property
    def last_sequence(self) -> int:
        return self.batches[-1].last_sequence if self.batches else -1


def _in_sequence(last: int, first: int) -> bool:
    return first == last + 1 or (first == 0 and last == INT32_MAX)


class ProducerStateManager:
    """Producer entries of one partition (see the module docstring)."""

    def __init__(self, partition_name: str) -> None:
        self.partition_name = partition_name
        self.producers: dict[int, ProducerEntry] = {}
        #: Producer id -> first offset of the transaction it has open here (mirrors the entries, kept apart so the
        #: last stable offset costs the number of open transactions, not of producers).
        self.open_txns: dict[int, int] = {}
        #: Transactions ended whose marker is not yet below the high watermark, oldest first.
        self.unreplicated: list[CompletedTxn] = []

    def check(self, headers: list[BatchHeader]) -> BatchMetadata | None:
        """Validate the batches of one append (in order); the original metadata when the first batch is a
        duplicate of a recent one (then the whole request is a retry), else None. Raises on a fenced epoch or a
        sequence gap, leaving the state unchanged."""
        scratch: dict[int, tuple[int, int]] = {}  # producer id -> (epoch, last sequence) as the request goes
        for index, header in enumerate(headers):
            if header.producer_id < 0:
                continue
            entry = self.producers.get(header.producer_id)
            if entry is not None and entry.current_txn_first_offset >= 0 and not header.is_transactional:
                raise InvalidTxnStateError(
                    f"{self.partition_name}: producer {header.producer_id} has a transaction open since offset "
                    f"{entry.current_txn_first_offset}; a non-transactional batch of it is refused"
                )
            epoch, last = scratch.get(header.producer_id, (entry.epoch, entry.last_sequence) if entry else (-1, -1))
            if header.producer_epoch < epoch:
                raise InvalidProducerEpochError(
                    f"{self.partition_name}: producer {header.producer_id} has epoch {header.producer_epoch}, "
                    f"older than the current epoch {epoch}"
                )
            if index == 0 and entry is not None and header.producer_epoch == entry.epoch:
                for batch in entry.batches:
                    if (batch.first_sequence, batch.last_sequence) == (header.base_sequence, header.last_sequence):
                        return batch
            if header.producer_epoch != epoch:
                if header.base_sequence != 0 and epoch != -1:
                    raise OutOfOrderSequenceError(
                        f"{self.partition_name}: producer {header.producer_id} starts epoch {header.producer_epoch} "
                        f"at sequence {header.base_sequence}, expected 0"
                    )
            elif epoch != -1 and last != -1 and not _in_sequence(last, header.base_sequence):
                raise OutOfOrderSequenceError(
                    f"{self.partition_name}: producer {header.producer_id} sent sequence {header.base_sequence} "
                    f"after {last}"
                )
            scratch[header.producer_id] = (header.producer_epoch, header.last_sequence)
        return None

    def check_marker(self, producer_id: int, producer_epoch: int, marker: EndTxnMarker) -> int | None:
        """Validate a marker about to be written; the offset of the producer's last marker when this one is a
        retry of it (no transaction open here, same producer and coordinator epochs: nothing to write), else None.
        Raises InvalidProducerEpochError or TransactionCoordinatorFencedError (module docstring)."""
        entry = self.producers.get(producer_id)
        if entry is None:
            return None
        if producer_epoch < entry.epoch:
            raise InvalidProducerEpochError(
                f"{self.partition_name}: marker of producer {producer_id} has epoch {producer_epoch}, older than "
                f"the current epoch {entry.epoch}"
            )
        if marker.coordinator_epoch < entry.coordinator_epoch:
            raise TransactionCoordinatorFencedError(
                f"{self.partition_name}: marker of producer {producer_id} from coordinator epoch "
                f"{marker.coordinator_epoch}, older than the epoch {entry.coordinator_epoch} of its last marker"
            )
        if (
            entry.current_txn_first_offset < 0
            and entry.last_marker_offset >= 0
            and producer_epoch == entry.epoch
            and marker.coordinator_epoch == entry.coordinator_epoch
        ):
            return entry.last_marker_offset
        return None

    def record(self, header: BatchHeader, marker: EndTxnMarker | None = None) -> CompletedTxn | None:
        """Remember a batch just written (its header as stored: base offset and max timestamp set); a marker's
        batch comes with what it says, and answers the transaction it ended."""
        if header.producer_id < 0:
            return None
        entry = self.producers.get(header.producer_id)
        if header.is_control:
            if marker is None:
                return None
            return self._end_txn(header, marker, entry)
        if entry is None or entry.epoch != header.producer_epoch:
            previous = entry
            entry = self.producers[header.producer_id] = ProducerEntry(header.producer_epoch)
            if previous is not None:
                entry.coordinator_epoch = previous.coordinator_epoch
                entry.current_txn_first_offset = previous.current_txn_first_offset
        if header.is_transactional and entry.current_txn_first_offset < 0:
            entry.current_txn_first_offset = header.base_offset
            self.open_txns[header.producer_id] = header.base_offset
        entry.batches.append(
            BatchMetadata(
                header.base_sequence, header.last_sequence, header.base_offset, header.last_offset, header.max_timestamp
            )
        )
        entry.last_timestamp = max(entry.last_timestamp, header.max_timestamp)
        return None

    def _end_txn(self, header: BatchHeader, marker: EndTxnMarker, entry: ProducerEntry | None) -> CompletedTxn:
        if entry is None:
            entry = self.producers[header.producer_id] = ProducerEntry(header.producer_epoch)
        elif header.producer_epoch > entry.epoch:
            # The coordinator bumped the epoch (an abort on timeout): sequences restart with the new epoch.
            entry.epoch = header.producer_epoch
            entry.batches.clear()
        first = entry.current_txn_first_offset if entry.current_txn_first_offset >= 0 else header.base_offset
        completed = CompletedTxn(header.producer_id, first, header.last_offset, not marker.commit)
        entry.current_txn_first_offset = -1
        self.open_txns.pop(header.producer_id, None)
        entry.coordinator_epoch = marker.coordinator_epoch
        entry.last_marker_offset = header.last_offset
        entry.last_timestamp = max(entry.last_timestamp, header.max_timestamp)
        self.unreplicated.append(completed)
        return completed

    def on_high_watermark(self, high_watermark: int) -> None:
        """Forget completed transactions whose marker is now below ``high_watermark`` (they are stable)."""
        if self.unreplicated and self.unreplicated[0].last_offset < high_watermark:
            self.unreplicated = [txn for txn in self.unreplicated if txn.last_offset >= high_watermark]

    def first_unstable_offset(self) -> int | None:
        """The least first offset of the open and not yet replicated transactions; None when there is none."""
        firsts = list(self.open_txns.values())
        firsts.extend(txn.first_offset for txn in self.unreplicated)
        return min(firsts, default=None)

    def ongoing(self) -> dict[int, int]:
        """Producer id -> first offset of each transaction open here."""
        return dict(self.open_txns)

    def rebuild(self, batches: Iterable[BatchHeader | tuple[BatchHeader, EndTxnMarker | None]]) -> list[CompletedTxn]:
        """Forget everything and replay stored batches (start-up, truncation): headers, or (header, what its marker
        says) pairs. Returns the transactions the replayed markers ended, in offset order."""
        self.producers.clear()
        self.open_txns.clear()
        self.unreplicated.clear()
        completed: list[CompletedTxn] = []
        for item in batches:
            header, marker = item if isinstance(item, tuple) else (item, None)
            txn = self.record(header, marker)
            if txn is not None:
                completed.append(txn)
        return completed

    def expire(self, now_ms: int, expiration_ms: int) -> int:
        """Forget producers idle for longer than ``expiration_ms``; returns how many."""
        idle = [
            pid
            for pid, entry in self.producers.items()
            if now_ms - entry.last_timestamp > expiration_ms and entry.current_txn_first_offset < 0
        ]
        for pid in idle:
            del self.producers[pid]
        return len(idle)
