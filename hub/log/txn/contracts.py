"""What the parts of Hub's transactions promise each other.

Three parts meet here:

- the **transaction coordinator** (hub.log.txn) keeps each transactional id's state in ``__transaction_state``
  and, when a transaction ends, has a marker written to every partition the transaction touched;
- the **log** (hub.log.partition and the broker) writes those markers as control batches, keeps each partition's
  ongoing transactions, last stable offset and aborted-transaction index, and tells listeners (the group
  coordinator, for ``__consumer_offsets``) that a marker landed;
- the **clients** — Hub's Kafka listener for remote producers, and the embedded client for in-process ones —
  call the coordinator through ``TransactionCoordinatorApi``.

Errors travel as Kafka error codes (``hub.log.error_codes.ErrorCode``) so the listener answers them unchanged
and the embedded client maps them to its exceptions. Calls that must wait (a write to ``__transaction_state``,
markers) return a ``concurrent.futures.Future``; none blocks the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from hub.log.error_codes import ErrorCode

TRANSACTION_STATE_TOPIC = "__transaction_state"

TopicPartitionKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class TxnMarker:
    """One transaction's end, to be written to each of ``partitions``: a control batch of producer id and epoch
    whose one record says COMMIT or ABORT and carries the coordinator's epoch."""

    producer_id: int
    producer_epoch: int
    commit: bool
    coordinator_epoch: int
    partitions: tuple[TopicPartitionKey, ...]


@dataclass(frozen=True, slots=True)
class ProducerIdAndEpoch:
    """InitProducerId's answer."""

    error: ErrorCode
    producer_id: int = -1
    producer_epoch: int = -1


class MarkerWriter(Protocol):
    """Writes markers to the partitions this node leads (the log's side; the coordinator sends WriteTxnMarkers to
    other nodes for the rest). The future resolves once every marker is committed (durable on one node; in a
    cluster, replicated as acks=all) with an error code per partition: NONE, NOT_LEADER_OR_FOLLOWER,
    UNKNOWN_TOPIC_OR_PARTITION, … A marker is never half written: per partition it is appended or it is not."""

    def write_markers(self, markers: Sequence[TxnMarker]) -> Future[dict[tuple[int, TopicPartitionKey], ErrorCode]]:
        """Error code per (producer id, partition)."""
        ...


#: Called after a marker is committed to a partition: topic, partition, producer id, commit?, marker's offset.
#: The group coordinator listens for ``__consumer_offsets``; listeners must not block.
MarkerListener = Callable[[str, int, int, bool, int], None]


class TransactionCoordinatorApi(Protocol):
    """The coordinator's requests, as the Kafka listener and the embedded client call them (Kafka's semantics and
    error codes for each; see hub.log.txn.coordinator)."""

    def init_producer_id(
        self,
        transactional_id: str,
        transaction_timeout_ms: int,
        producer_id: int = -1,
        producer_epoch: int = -1,
    ) -> Future[ProducerIdAndEpoch]: ...

    def add_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: Iterable[TopicPartitionKey]
    ) -> Future[dict[TopicPartitionKey, ErrorCode]]: ...

    def add_offsets(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> Future[ErrorCode]: ...

    def end_transaction(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool
    ) -> Future[ErrorCode]: ...
