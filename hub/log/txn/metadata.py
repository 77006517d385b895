"""A transactional id's state, as Kafka's TransactionMetadata keeps it, and the transitions between its states.

States and the states each may follow (Kafka's ``TransactionState.validPreviousStates``)::

    Empty              ◄─ Empty, CompleteCommit, CompleteAbort        (InitProducerId: an epoch bump)
    Ongoing            ◄─ Ongoing, Empty, CompleteCommit, CompleteAbort  (AddPartitionsToTxn)
    PrepareCommit      ◄─ Ongoing                                     (EndTxn commit)
    PrepareAbort       ◄─ Ongoing, PrepareEpochFence                  (EndTxn abort, a fence, a timeout)
    CompleteCommit     ◄─ PrepareCommit                               (every marker written)
    CompleteAbort      ◄─ PrepareAbort
    Dead               ◄─ Empty, CompleteCommit, CompleteAbort        (the id expired: a tombstone)
    PrepareEpochFence  ◄─ Ongoing                                     (never written: becomes PrepareAbort)

A ``TxnRecord`` is one immutable snapshot — what one ``__transaction_state`` value holds. The coordinator keeps the
current snapshot of each id and, while a write is under way, the snapshot it writes (``pending``); the prepare
functions here compute the next snapshot or the Kafka error refusing it. An epoch is exhausted at 32766, so the
coordinator can always fence a producer by one more bump; then the id gets a new producer id.

Pure data and functions; thread-safety is the coordinator's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from hub.log.error_codes import ErrorCode
from hub.log.txn.contracts import TopicPartitionKey

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
#: Kafka's Short.MaxValue - 1: an epoch this high is bumped no more (a new producer id follows).
EXHAUSTED_EPOCH = 32766


class TxnState(Enum):
    """Kafka's transaction states, by the id written to ``__transaction_state``."""

    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def kafka_name(self) -> str:
        """The name Kafka's ListTransactions and DescribeTransactions give it (``PrepareCommit``…)."""
        return _NAMES[self]

    @classmethod
    def from_kafka_name(cls, name: str) -> TxnState | None:
        return _BY_NAME.get(name)


_NAMES = {
    TxnState.EMPTY: "Empty",
    TxnState.ONGOING: "Ongoing",
    TxnState.PREPARE_COMMIT: "PrepareCommit",
    TxnState.PREPARE_ABORT: "PrepareAbort",
    TxnState.COMPLETE_COMMIT: "CompleteCommit",
    TxnState.COMPLETE_ABORT: "CompleteAbort",
    TxnState.DEAD: "Dead",
    TxnState.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
_BY_NAME = {name: state for state, name in _NAMES.items()}

_COMPLETE = frozenset({TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT})
#: States in which no transaction is under way: a new one may begin, the epoch may be bumped, the id may expire.
IDLE = frozenset({TxnState.EMPTY}) | _COMPLETE
PREPARING = frozenset({TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT})

VALID_PREVIOUS: dict[TxnState, frozenset[TxnState]] = {
    TxnState.EMPTY: IDLE,
    TxnState.ONGOING: IDLE | {TxnState.ONGOING},
    TxnState.PREPARE_COMMIT: frozenset({TxnState.ONGOING}),
    TxnState.PREPARE_ABORT: frozenset({TxnState.ONGOING, TxnState.PREPARE_EPOCH_FENCE}),
    TxnState.COMPLETE_COMMIT: frozenset({TxnState.PREPARE_COMMIT}),
    TxnState.COMPLETE_ABORT: frozenset({TxnState.PREPARE_ABORT}),
    TxnState.DEAD: IDLE,
    TxnState.PREPARE_EPOCH_FENCE: frozenset({TxnState.ONGOING}),
}


def is_epoch_exhausted(epoch: int) -> bool:
    return epoch >= EXHAUSTED_EPOCH


@dataclass(frozen=True, slots=True)
class TxnRecord:
    """One transactional id's state (a ``__transaction_state`` value). ``previous_producer_id`` is the id used
    before a rotation (Kafka's lastProducerId); ``last_producer_epoch`` the epoch before the last bump, so a retried
    KIP-360 InitProducerId is answered again (kept in memory only, as Kafka before transaction.version 2)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState
    partitions: frozenset[TopicPartitionKey] = field(default_factory=frozenset)
    start_ms: int = -1
    last_update_ms: int = -1
    previous_producer_id: int = NO_PRODUCER_ID
    last_producer_epoch: int = NO_PRODUCER_EPOCH

    def to(self, state: TxnState, now_ms: int, **changes: object) -> TxnRecord:
        """The snapshot after a transition to ``state``; a transition Kafka forbids raises (a coordinator bug)."""
        if self.state not in VALID_PREVIOUS[state]:
            raise IllegalTransitionError(f"{self.transactional_id}: {self.state.kafka_name} -> {state.kafka_name}")
        return replace(self, state=state, last_update_ms=now_ms, **changes)  # type: ignore[arg-type]


class IllegalTransitionError(RuntimeError):
    """A transition Kafka's state machine does not allow."""


def new_id(transactional_id: str, producer_id: int, timeout_ms: int, now_ms: int) -> TxnRecord:
    """A transactional id seen for the first time: Empty, its producer id at no epoch yet (the first InitProducerId
    bumps it to 0)."""
    return TxnRecord(
        transactional_id, producer_id, NO_PRODUCER_EPOCH, timeout_ms, TxnState.EMPTY, last_update_ms=now_ms
    )


def increment_epoch(
    current: TxnRecord, timeout_ms: int, expected_epoch: int | None, now_ms: int
) -> TxnRecord | ErrorCode:
    """InitProducerId on an idle id whose epoch is not exhausted (Kafka's prepareIncrementProducerEpoch). Without an
    expected epoch (a new producer) the epoch is bumped; with one (KIP-360) it is bumped when it matches the current
    epoch, answered unbumped when it matches the epoch before the last bump (a retry), and fenced otherwise."""
    bumped = current.producer_epoch + 1
    if expected_epoch is None:
        epoch, last = bumped, NO_PRODUCER_EPOCH
    elif current.producer_epoch == NO_PRODUCER_EPOCH or expected_epoch == current.producer_epoch:
        epoch, last = bumped, current.producer_epoch
    elif expected_epoch == current.last_producer_epoch:
        epoch, last = current.producer_epoch, current.last_producer_epoch
    else:
        return ErrorCode.PRODUCER_FENCED
    return current.to(
        TxnState.EMPTY,
        now_ms,
        producer_epoch=epoch,
        last_producer_epoch=last,
        timeout_ms=timeout_ms,
        partitions=frozenset(),
        start_ms=-1,
    )


def rotate_producer_id(
    current: TxnRecord, new_producer_id: int, timeout_ms: int, keep_previous: bool, now_ms: int
) -> TxnRecord:
    """InitProducerId when the epoch is exhausted: a new producer id at epoch 0 (Kafka's prepareProducerIdRotation);
    the old id is remembered when the producer named it (KIP-360), so its retry is recognised."""
    return current.to(
        TxnState.EMPTY,
        now_ms,
        producer_id=new_producer_id,
        producer_epoch=0,
        previous_producer_id=current.producer_id if keep_previous else NO_PRODUCER_ID,
        last_producer_epoch=current.producer_epoch if keep_previous else NO_PRODUCER_EPOCH,
        timeout_ms=timeout_ms,
        partitions=frozenset(),
        start_ms=-1,
    )


def fence_epoch(current: TxnRecord, already_failed: bool) -> TxnRecord:
    """An ongoing transaction to be aborted by the coordinator (a new producer instance, or a timeout): the epoch
    is bumped (not again after a fence whose write failed: that epoch was never given out)."""
    epoch = current.producer_epoch if already_failed else current.producer_epoch + 1
    return current.to(
        TxnState.PREPARE_EPOCH_FENCE,
        current.last_update_ms,
        producer_epoch=epoch,
        last_producer_epoch=NO_PRODUCER_EPOCH,
    )


def add_partitions(current: TxnRecord, partitions: frozenset[TopicPartitionKey], now_ms: int) -> TxnRecord:
    """AddPartitionsToTxn: Ongoing with the partitions added; a transaction begins (its start time) from idle."""
    start = now_ms if current.state in IDLE else current.start_ms
    return current.to(TxnState.ONGOING, now_ms, partitions=current.partitions | partitions, start_ms=start)


def prepare_end(current: TxnRecord, commit: bool, now_ms: int) -> TxnRecord:
    return current.to(TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT, now_ms)


def complete(current: TxnRecord, now_ms: int) -> TxnRecord:
    """Every marker written: CompleteCommit or CompleteAbort, with no partitions."""
    state = TxnState.COMPLETE_COMMIT if current.state is TxnState.PREPARE_COMMIT else TxnState.COMPLETE_ABORT
    return current.to(state, now_ms, partitions=frozenset())


def end_error(current: TxnRecord, commit: bool) -> ErrorCode | None:
    """EndTxn's answer in a state other than Ongoing (Kafka's handleEndTransaction): a repeat of an ending already
    done or under way is answered NONE or CONCURRENT_TRANSACTIONS, a contrary one INVALID_TXN_STATE. None: Ongoing,
    the transaction may end."""
    state = current.state
    if state is TxnState.ONGOING:
        return None
    if state is TxnState.COMPLETE_COMMIT:
        return ErrorCode.NONE if commit else ErrorCode.INVALID_TXN_STATE
    if state is TxnState.COMPLETE_ABORT:
        return ErrorCode.NONE if not commit else ErrorCode.INVALID_TXN_STATE
    if state is TxnState.PREPARE_COMMIT:
        return ErrorCode.CONCURRENT_TRANSACTIONS if commit else ErrorCode.INVALID_TXN_STATE
    if state is TxnState.PREPARE_ABORT:
        return ErrorCode.CONCURRENT_TRANSACTIONS if not commit else ErrorCode.INVALID_TXN_STATE
    return ErrorCode.INVALID_TXN_STATE
