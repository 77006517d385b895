"""OffsetsLog: where the group coordinator keeps its records (``__consumer_offsets``), and its single-node form.

Contract of an OffsetsLog, on one node or replicated:

- ``append(records)`` returns once the records are committed — on one node durable per the topic's flush policy,
  in a cluster replicated to the ISR (acks=all) and below the high watermark. It raises when they are not: an
  error whose Kafka code (``error_code_for``) is NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH means this node
  lost the leadership of the partition (``leadership_lost``) and must stop coordinating; any other error means the
  write failed and may be retried.
- ``read_all()`` yields every committed record, oldest first; called when this node becomes coordinator, by when
  the log holds everything up to the high watermark.

The coordinator calls ``append`` from one thread at a time (its OffsetsWriter) and ``read_all`` only while no
append of its is under way. TopicOffsetsLog is thread-safe as the store's partitions are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from hub.log.batch import iter_batches
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import UnknownTopicOrPartitionError
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch, iter_records
from hub.log.store import TopicStore

OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": str(100 * 1024 * 1024)}

#: Kafka codes of an append error that means this node no longer leads the offsets partition.
LEADERSHIP_LOST_CODES = frozenset({ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH})

Record = tuple[bytes, bytes | None]


class OffsetsLog(Protocol):
    """Committed key/value records of the coordinator (see the module docstring)."""

    def append(self, records: Sequence[Record]) -> None:
        """Store records; returns once they are committed."""

    def read_all(self) -> Iterable[Record]:
        """Every committed record, oldest first."""


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

    def append(self, records: Sequence[Record]) -> None:
        if records:
            self._log().append_and_wait(encode_batch([NewRecord(key, value) for key, value in records]))

    def read_all(self) -> Iterable[Record]:
        return self.read_partition(self._log())

    @staticmethod
    def read_partition(partition: PartitionLog) -> Iterator[Record]:
        """Every keyed record of ``partition``, oldest first."""
        offset = partition.log_start_offset
        while offset < partition.log_end_offset:
            data = partition.read(offset, 1 << 20)
            if not data:
                break
            for record in iter_records(data):
                if record.offset >= offset and record.key is not None:
                    yield record.key, record.value
                    offset = record.offset + 1
            offset = max(offset, max(header.next_offset for _, header in iter_batches(data)))
