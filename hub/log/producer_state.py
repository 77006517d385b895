"""Idempotent producers: per partition, each producer's epoch and the sequence numbers of its last five batches.

A producer with an id (``producer_id >= 0``) numbers its batches per partition. Before an append:

- a batch whose producer epoch is older than the one known → ``InvalidProducerEpochError`` (the producer has
  been fenced by a newer instance);
- a batch equal (same epoch, first and last sequence) to one of that producer's last five batches is a retry of
  something already written: ``check`` returns the original batch's offsets and nothing is appended;
- otherwise the batch must continue the sequence (last + 1, wrapping from 2**31-1 to 0); a new epoch must
  start at 0; a gap → ``OutOfOrderSequenceError``. A producer whose state is unknown (new, or its batches were
  removed by retention) is accepted at any sequence, as Kafka accepts it.

State is rebuilt from the batch headers stored in the log (every header carries producer id, epoch, base
sequence and last offset delta), so no snapshot file is needed for correctness.

Not thread-safe: the owning partition calls it under its append lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.log.batch import BatchHeader
from hub.log.errors import InvalidProducerEpochError, OutOfOrderSequenceError

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


@dataclass
class ProducerEntry:
    """What is known of one producer on this partition."""

    epoch: int
    batches: deque[BatchMetadata] = field(default_factory=lambda: deque(maxlen=BATCHES_TO_RETAIN))
    last_timestamp: int = -1

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

    def check(self, headers: list[BatchHeader]) -> BatchMetadata | None:
        """Validate the batches of one append (in order); the original metadata when the first batch is a
        duplicate of a recent one (then the whole request is a retry), else None. Raises on a fenced epoch or a
        sequence gap, leaving the state unchanged."""
        scratch: dict[int, tuple[int, int]] = {}  # producer id -> (epoch, last sequence) as the request goes
        for index, header in enumerate(headers):
            if header.producer_id < 0:
                continue
            entry = self.producers.get(header.producer_id)
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

    def record(self, header: BatchHeader) -> None:
        """Remember a batch just written (its header as stored: base offset and max timestamp set)."""
        if header.producer_id < 0:
            return
        entry = self.producers.get(header.producer_id)
        if entry is None or entry.epoch != header.producer_epoch:
            entry = self.producers[header.producer_id] = ProducerEntry(header.producer_epoch)
        entry.batches.append(
            BatchMetadata(
                header.base_sequence, header.last_sequence, header.base_offset, header.last_offset, header.max_timestamp
            )
        )
        entry.last_timestamp = max(entry.last_timestamp, header.max_timestamp)

    def rebuild(self, headers: Iterable[BatchHeader]) -> None:
        """Forget everything and replay stored batch headers (start-up, truncation)."""
        self.producers.clear()
        for header in headers:
            if not header.is_control:
                self.record(header)

    def expire(self, now_ms: int, expiration_ms: int) -> int:
        """Forget producers idle for longer than ``expiration_ms``; returns how many."""
        idle = [pid for pid, entry in self.producers.items() if now_ms - entry.last_timestamp > expiration_ms]
        for pid in idle:
            del self.producers[pid]
        return len(idle)
