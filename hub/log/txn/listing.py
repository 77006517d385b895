"""What ListTransactions and DescribeTransactions show of the transactional ids a coordinator serves: Kafka's
filters and descriptions over snapshots of their state.

ListTransactions' filters all apply (an empty one matches everything): state names (Kafka's: ``Ongoing``,
``PrepareCommit``…; an unknown name is reported back and matches nothing), producer ids, a minimum running time
(``duration_filter``, ms: only transactions begun longer ago), and a regular expression the whole id must match (an
invalid one is INVALID_REGULAR_EXPRESSION). DescribeTransactions gives an id's state, timeout, start time, producer
id and epoch and partitions, or TRANSACTIONAL_ID_NOT_FOUND.

Pure functions over immutable snapshots; thread-safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hub.log.error_codes import ErrorCode
from hub.log.txn.contracts import TopicPartitionKey
from hub.log.txn.metadata import TxnRecord, TxnState


@dataclass(frozen=True, slots=True)
class TransactionListing:
    """One id as ListTransactions gives it."""

    transactional_id: str
    producer_id: int
    state: str


@dataclass(frozen=True, slots=True)
class TransactionDescription:
    """One id as DescribeTransactions gives it (``error`` NONE when found)."""

    transactional_id: str
    error: ErrorCode
    state: str = ""
    timeout_ms: int = 0
    start_ms: int = -1
    producer_id: int = -1
    producer_epoch: int = -1
    partitions: tuple[TopicPartitionKey, ...] = ()


@dataclass(frozen=True, slots=True)
class ListFilter:
    """ListTransactions' filters, checked: the states named, the names that name no state, the rest as asked."""

    states: frozenset[TxnState]
    unknown_states: tuple[str, ...]
    nothing_matches: bool
    producer_ids: frozenset[int]
    min_duration_ms: int
    pattern: re.Pattern[str] | None

    @classmethod
    def parse(
        cls, states: Iterable[str], producer_ids: Iterable[int], min_duration_ms: int, pattern: str | None
    ) -> ListFilter | ErrorCode:
        """The filter, or INVALID_REGULAR_EXPRESSION for a pattern that is not one."""
        names = list(states)
        known = {state for name in names if (state := TxnState.from_kafka_name(name)) is not None}
        unknown = tuple(name for name in names if TxnState.from_kafka_name(name) is None)
        try:
            regex = re.compile(pattern) if pattern else None
        except re.error:
            return ErrorCode.INVALID_REGULAR_EXPRESSION
        return cls(
            frozenset(known), unknown, bool(names) and not known, frozenset(producer_ids), min_duration_ms, regex
        )

    def matches(self, record: TxnRecord, now_ms: int) -> bool:
        if self.nothing_matches or (self.states and record.state not in self.states):
            return False
        if self.producer_ids and record.producer_id not in self.producer_ids:
            return False
        if self.min_duration_ms >= 0 and (record.start_ms < 0 or now_ms - record.start_ms <= self.min_duration_ms):
            return False
        return self.pattern is None or self.pattern.fullmatch(record.transactional_id) is not None


def listings(records: Iterable[TxnRecord], wanted: ListFilter, now_ms: int) -> list[TransactionListing]:
    """The records ``wanted`` matches, by id."""
    listed = [
        TransactionListing(r.transactional_id, r.producer_id, r.state.kafka_name)
        for r in records
        if wanted.matches(r, now_ms)
    ]
    return sorted(listed, key=lambda t: t.transactional_id)


def description(transactional_id: str, record: TxnRecord | None) -> TransactionDescription:
    """DescribeTransactions' entry for an id served here (``record`` None: unknown)."""
    if record is None or record.state is TxnState.DEAD:
        return TransactionDescription(transactional_id, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
    return TransactionDescription(
        transactional_id,
        ErrorCode.NONE,
        record.state.kafka_name,
        record.timeout_ms,
        record.start_ms,
        record.producer_id,
        record.producer_epoch,
        tuple(sorted(record.partitions)),
    )
