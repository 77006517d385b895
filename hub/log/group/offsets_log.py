"""OffsetsLog: where the group coordinator keeps its records (``__consumer_offsets``), and its single-node form.

Contract of an OffsetsLog, on one node or replicated:

- ``append(records)`` returns once the records are committed — on one node durable per the topic's flush policy,
  in a cluster replicated to the ISR (acks=all) and below the high watermark. It raises when they are not: an
  error whose Kafka code (``error_code_for``) is NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH means this node
  lost the leadership of the partition (``leadership_lost``) and must stop coordinating; any other error means the
  write failed and may be retried.
- ``append(records, producer_id=, producer_epoch=)`` writes them as one transactional batch of that producer
  (TxnOffsetCommit): they belong to its open transaction, and the marker that ends it decides them.
- ``read_all()`` yields every committed record, oldest first, as StoredRecord (its offset, and for a
  transactional one its producer id; transaction markers as records with ``marker`` set); called when this node
  becomes coordinator, by when the log holds everything up to the high watermark. An OffsetsLog may still yield
  plain ``(key, value)`` pairs (no transactions): the reader numbers them in order.

The coordinator calls ``append`` from one thread at a time (its writer, hub.log.ordered_writer) and ``read_all``
only while no append of its is under way. TopicOffsetsLog is thread-safe as the store's partitions are.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub.log.batch import iter_batches
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import UnknownTopicOrPartitionError
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch, iter_decoded
from hub.log.store import TopicStore

OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": str(100 * 1024 * 1024)}

#: Kafka codes of an append error that means this node no longer leads the offsets partition.
LEADERSHIP_LOST_CODES = frozenset({ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH})

Record = tuple[bytes, bytes | None]

#: A control record's key: version and type (0 abort, 1 commit), as Kafka's EndTransactionMarker.
_CONTROL_KEY = struct.Struct(">hh")


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as read back: its offset, and ``producer_id`` >= 0 when a transaction wrote it. A transaction
    marker has ``marker`` True (commit) or False (abort), ``key`` and ``value`` empty."""

    offset: int
    key: bytes
    value: bytes | None
    producer_id: int = -1
    marker: bool | None = None


class OffsetsLog(Protocol):
    """Committed key/value records of the coordinator (see the module docstring)."""

    def append(self, records: Sequence[Record], *, producer_id: int = -1, producer_epoch: int = -1) -> None:
        """Store records (a transaction's when ``producer_id`` >= 0); returns once they are committed."""

    def read_all(self) -> Iterable[StoredRecord | Record]:
        """Every committed record, oldest first."""


def as_stored(records: Iterable[StoredRecord | Record]) -> Iterator[StoredRecord]:
    """``read_all``'s records as StoredRecords (plain pairs numbered in order, outside any transaction)."""
    for index, record in enumerate(records):
        yield record if isinstance(record, StoredRecord) else StoredRecord(index, record[0], record[1])


def encode_transactional(
    partition: PartitionLog, records: Sequence[Record], producer_id: int, producer_epoch: int
) -> bytes:
    """The records as one transactional batch of the producer, numbered as an idempotent producer numbers its
    batches (the partition checks epoch and sequence of every producer's batches): after the producer's last batch
    on ``partition`` in this epoch, from 0 in a new one. The coordinator is the one writer of producer batches to
    its partition (markers are control batches, which take no sequence), so what the partition knows is current."""
    return encode_batch(
        [NewRecord(key, value) for key, value in records],
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=_next_sequence(partition, producer_id, producer_epoch),
        transactional=True,
    )


def _next_sequence(partition: PartitionLog, producer_id: int, producer_epoch: int) -> int:
    entry = partition.producer_state.producers.get(producer_id)
    if entry is None or entry.epoch != producer_epoch:
        return 0
    return max((batch.last_sequence for batch in list(entry.batches)), default=-1) + 1


def leadership_lost(exc: BaseException) -> bool:
    """Whether an append error means this node lost the leadership of the offsets partition."""
    return error_code_for(exc) in LEADERSHIP_LOST_CODES


class TopicOffsetsLog:
    """The single-node OffsetsLog: one batch per append into the store's own ``__consumer_offsets`` partition
    (durable before returning); reads it back."""

    def __init__(self, store: TopicStore) -> None:
        self.store = store
        self._partition: PartitionLog | None = None

    def _log(self) -> PartitionLog:
        if self._partition is None:
            try:
                self.store.topic(OFFSETS_TOPIC)
            except UnknownTopicOrPartitionError:
                self.store.create_topic(OFFSETS_TOPIC, 1, OFFSETS_TOPIC_CONFIGS)
            self._partition = self.store.partition(OFFSETS_TOPIC, 0)
        return self._partition

    def append(self, records: Sequence[Record], *, producer_id: int = -1, producer_epoch: int = -1) -> None:
        if not records:
            return
        partition = self._log()
        if producer_id < 0:
            partition.append_and_wait(encode_batch([NewRecord(key, value) for key, value in records]))
        else:
            partition.append_and_wait(encode_transactional(partition, records, producer_id, producer_epoch))

    def read_all(self) -> Iterable[StoredRecord]:
        return self.read_stored(self._log())

    @staticmethod
    def read_partition(partition: PartitionLog) -> Iterator[Record]:
        """Every keyed record of ``partition``, oldest first, as (key, value) (transaction markers left out)."""
        for record in TopicOffsetsLog.read_stored(partition):
            if record.marker is None:
                yield record.key, record.value

    @staticmethod
    def read_stored(partition: PartitionLog) -> Iterator[StoredRecord]:
        """Every keyed record and transaction marker of ``partition``, oldest first."""
        offset = partition.log_start_offset
        while offset < partition.log_end_offset:
            data = partition.read(offset, 1 << 20)
            if not data:
                break
            for decoded in iter_decoded(data):
                header = decoded.header
                producer_id = header.producer_id if header.is_transactional else -1
                for record in decoded.records:
                    if record.offset < offset:
                        continue
                    offset = record.offset + 1
                    if header.is_control:
                        marker = _marker(record.key)
                        if marker is not None and producer_id >= 0:
                            yield StoredRecord(record.offset, b"", None, producer_id, marker)
                    elif record.key is not None:
                        yield StoredRecord(record.offset, record.key, record.value, producer_id)
            offset = max(offset, max(header.next_offset for _, header in iter_batches(data)))


def _marker(key: bytes | None) -> bool | None:
    """Whether a control record commits (True) or aborts (False); None for any other control record."""
    if key is None or len(key) < _CONTROL_KEY.size:
        return None
    _, kind = _CONTROL_KEY.unpack_from(key)
    return {0: False, 1: True}.get(kind)
