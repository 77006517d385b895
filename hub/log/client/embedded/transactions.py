"""EmbeddedTransactionalProducer: the embedded producer, writing in transactions through the in-process
transaction coordinator (``hub.log.txn.contracts.TransactionCoordinatorApi``).

As Kafka's producer does it: ``init_transactions`` asks the coordinator for the producer id and epoch of the
transactional id (fencing older holders of it); the sender thread adds each partition to the transaction
(AddPartitionsToTxn) before the transaction's first batch to it, and writes batches flagged transactional with the
producer id, epoch and sequence; ``commit_transaction`` flushes, then ends the transaction (EndTxn), which has the
coordinator write the markers; ``abort_transaction`` fails what is still queued, waits for what is being written,
then ends it as aborted.

States: uninitialised → ready ⇄ in transaction → committing / aborting → ready. A failed record moves an open
transaction to *abortable* (commit refused, abort allowed); fencing moves the producer to *fatal* (every call
fails with ProducerFencedError). Calls the coordinator answers with a retriable code (a previous transaction's
markers still being written, the coordinator loading) are retried until the call's timeout; a call that timed
out keeps its state, so calling it again continues it.

Thread-safety: sends from any thread; the transaction calls from one (the transaction's owner).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from hub.log.broker import Broker
from hub.log.client.api import Consumer, Header, OutgoingRecord, TransactionalProducer
from hub.log.client.embedded.consumer import EmbeddedConsumer
from hub.log.client.embedded.producer import EmbeddedProducer
from hub.log.client.errors import (
    ClientError,
    ClientTimeoutError,
    InvalidTxnStateError,
    ProducerFencedError,
    TransactionAbortableError,
    TransactionAbortedError,
    UnknownTopicError,
    error_for,
)
from hub.log.client.types import RecordMetadata, SendOutcome, TopicPartition
from hub.log.error_codes import ErrorCode
from hub.log.group import CommittedOffset
from hub.log.txn.contracts import TopicPartitionKey, TransactionCoordinatorApi

#: Codes after which a coordinator call is sent again (Kafka's producer retries them too).
RETRIABLE = frozenset(
    {
        ErrorCode.CONCURRENT_TRANSACTIONS,
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.REQUEST_TIMED_OUT,
    }
)
#: Codes that mean another producer owns the transactional id now.
FENCED = frozenset({ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH})
RETRY_BACKOFF_S = 0.02
#: How long ``close`` waits for the abort of an open transaction.
CLOSE_ABORT_TIMEOUT_S = 5.0
#: How long the sender thread keeps retrying AddPartitionsToTxn before failing the batch.
ADD_PARTITIONS_TIMEOUT_S = 30.0

T = TypeVar("T")
log = logging.getLogger("hub.log.client.embedded.transactions")


def call_coordinator(what: str, call: Callable[[], Future[T]], code_of: Callable[[T], ErrorCode], deadline: float) -> T:
    """Send a coordinator call until it answers with a non-retriable code (raised as its client error) or
    ``deadline`` (``time.monotonic()``) passes (ClientTimeoutError)."""
    while True:
        try:
            answer = call().result(max(0.0, deadline - time.monotonic()))
        except FutureTimeoutError:
            raise ClientTimeoutError(f"{what} timed out") from None
        code = code_of(answer)
        if code == ErrorCode.NONE:
            return answer
        if code not in RETRIABLE:
            error = error_for(code, what)
            assert error is not None
            raise ProducerFencedError(str(error), error_code=code) if code in FENCED else error
        if time.monotonic() + RETRY_BACKOFF_S >= deadline:
            raise ClientTimeoutError(f"{what}: still {code.name} after the timeout", error_code=code)
        time.sleep(RETRY_BACKOFF_S)


def fence_producers(
    coordinator: TransactionCoordinatorApi, transactional_ids: Collection[str], timeout_s: float
) -> None:
    """Fence the producers of each transactional id, as Kafka's Admin.fenceProducers: an InitProducerId without
    producer id, which bumps the id's epoch and aborts its open transaction."""
    deadline = time.monotonic() + timeout_s
    timeout_ms = max(1, int(timeout_s * 1000))
    for transactional_id in dict.fromkeys(transactional_ids):
        call_coordinator(
            f"fencing the producers of transactional id {transactional_id!r}",
            partial(coordinator.init_producer_id, transactional_id, timeout_ms),
            lambda answer: answer.error,
            deadline,
        )


class TransactionalOffsets(Protocol):
    """The group coordinator's TxnOffsetCommit (hub.log.group.coordinator)."""

    def commit_transactional_offsets(
        self,
        group_id: str,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        offsets: Mapping[TopicPartitionKey, CommittedOffset],
        *,
        generation_id: int = -1,
        member_id: str = "",
        group_instance_id: str | None = None,
    ) -> dict[TopicPartitionKey, ErrorCode]: ...


class _State(enum.Enum):
    UNINITIALISED = "uninitialised"
    READY = "ready"
    IN_TRANSACTION = "in transaction"
    COMMITTING = "committing"
    ABORTING = "aborting"
    ABORTABLE = "abortable"
    FATAL = "fatal"


class EmbeddedTransactionalProducer(EmbeddedProducer, TransactionalProducer):
    """Transactional producer over an in-process broker and transaction coordinator (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        coordinator: TransactionCoordinatorApi,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 60_000,
        **options: Any,
    ) -> None:
        super().__init__(broker, idempotent=False, acks=-1, **options)
        self._coordinator = coordinator
        self._transactional_id = transactional_id
        self._transaction_timeout_ms = transaction_timeout_ms
        self._transactional = True
        self._state = _State.UNINITIALISED
        self._state_lock = threading.Lock()
        self._fatal: ClientError | None = None
        self._abortable: ClientError | None = None
        self._added: set[TopicPartitionKey] = set()
        self._offsets_added = False

    @property
    def transactional_id(self) -> str:
        return self._transactional_id

    # --- state ---------------------------------------------------------------------------------------------------

    def _expect(self, *states: _State) -> _State:
        with self._state_lock:
            state = self._state
        if state is _State.FATAL and self._fatal is not None:
            raise type(self._fatal)(str(self._fatal), error_code=self._fatal.error_code)
        if state not in states:
            raise InvalidTxnStateError(f"transactional id {self._transactional_id!r} is {state.value}")
        return state

    def _set(self, state: _State) -> None:
        with self._state_lock:
            if self._state is not _State.FATAL:
                self._state = state

    def _fail_fatally(self, error: ClientError) -> ClientError:
        with self._state_lock:
            self._state = _State.FATAL
            if self._fatal is None:
                self._fatal = error
        return error

    def _call(self, what: str, call: Callable[[], Future[T]], code_of: Callable[[T], ErrorCode], deadline: float) -> T:
        try:
            return call_coordinator(f"{what} of transactional id {self._transactional_id!r}", call, code_of, deadline)
        except ProducerFencedError as exc:
            raise self._fail_fatally(exc) from None

    # --- transactions --------------------------------------------------------------------------------------------

    def init_transactions(self, timeout_s: float = 60.0) -> None:
        self._check_open()
        self._expect(_State.UNINITIALISED)
        answer = self._call(
            "InitProducerId",
            lambda: self._coordinator.init_producer_id(self._transactional_id, self._transaction_timeout_ms),
            lambda answer: answer.error,
            time.monotonic() + timeout_s,
        )
        self._producer_id, self._producer_epoch = answer.producer_id, answer.producer_epoch
        self._sequences.clear()
        self._set(_State.READY)

    def begin_transaction(self) -> None:
        self._check_open()
        self._expect(_State.READY)
        self._added.clear()
        self._abortable = None
        self._set(_State.IN_TRANSACTION)

    def commit_transaction(self, timeout_s: float = 60.0) -> None:
        self._check_open()
        state = self._expect(_State.IN_TRANSACTION, _State.COMMITTING, _State.ABORTABLE)
        if state is _State.ABORTABLE:
            raise TransactionAbortableError(
                f"the transaction of {self._transactional_id!r} cannot commit: {self._abortable}"
            )
        deadline = time.monotonic() + timeout_s
        self._set(_State.COMMITTING)
        self.flush(timeout_s)
        if self._abortable is not None:  # a record failed: what was written must not be committed
            self._set(_State.ABORTABLE)
            raise TransactionAbortableError(
                f"the transaction of {self._transactional_id!r} cannot commit: {self._abortable}"
            )
        self._expect(_State.COMMITTING)  # fenced while flushing
        self._end(True, deadline)

    def abort_transaction(self, timeout_s: float = 60.0) -> None:
        self._check_open()
        self._expect(_State.IN_TRANSACTION, _State.ABORTABLE, _State.ABORTING)
        deadline = time.monotonic() + timeout_s
        self._set(_State.ABORTING)
        self._purge(TransactionAbortedError(f"the transaction of {self._transactional_id!r} was aborted"))
        self.flush(timeout_s)
        self._expect(_State.ABORTING)
        self._end(False, deadline)

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], consumer: Consumer, timeout_s: float = 60.0
    ) -> None:
        self._check_open()
        self._expect(_State.IN_TRANSACTION)
        if not isinstance(consumer, EmbeddedConsumer) or not consumer.group_id:
            raise ClientError("send_offsets_to_transaction needs an embedded consumer with a group id")
        offsets_api = cast("TransactionalOffsets | None", self._broker.coordinator)
        if offsets_api is None:
            raise ClientError("the embedded store has no group coordinator")
        group_id, generation, member_id = consumer.group_metadata()
        self._call(
            "AddOffsetsToTxn",
            lambda: self._coordinator.add_offsets(
                self._transactional_id, self._producer_id, self._producer_epoch, group_id
            ),
            lambda code: code,
            time.monotonic() + timeout_s,
        )
        self._offsets_added = True
        answers = offsets_api.commit_transactional_offsets(
            group_id,
            self._transactional_id,
            self._producer_id,
            self._producer_epoch,
            {(tp.topic, tp.partition): CommittedOffset(offset) for tp, offset in offsets.items()},
            generation_id=generation,
            member_id=member_id,
        )
        for (topic, partition), code in answers.items():
            if code == ErrorCode.NONE:
                continue
            what = f"TxnOffsetCommit of {topic}-{partition} for group {group_id!r}"
            if code in FENCED:
                raise self._fail_fatally(ProducerFencedError(f"{what}: {code.name}", error_code=code))
            error = error_for(code, what)
            assert error is not None
            # Kafka's producer: the transaction cannot commit without these offsets.
            self._abortable = self._abortable or error
            raise error

    def _end(self, commit: bool, deadline: float) -> None:
        if self._added or self._offsets_added:  # a transaction that wrote nothing has nothing for EndTxn to end
            self._call(
                "EndTxn",
                lambda: self._coordinator.end_transaction(
                    self._transactional_id, self._producer_id, self._producer_epoch, commit
                ),
                lambda code: code,
                deadline,
            )
        self._added.clear()
        self._offsets_added = False
        self._set(_State.READY)

    # --- sends ---------------------------------------------------------------------------------------------------

    def send(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Future[RecordMetadata]:
        try:
            self._expect(_State.IN_TRANSACTION, _State.ABORTABLE)
        except ClientError as exc:  # as any failed send: in the record's future
            failed: Future[RecordMetadata] = Future()
            failed.set_exception(exc)
            return failed
        return super().send(
            topic, key=key, value=value, headers=headers, partition=partition, timestamp_ms=timestamp_ms
        )

    def send_batch(self, records: Sequence[OutgoingRecord]) -> Future[SendOutcome]:
        try:
            self._expect(_State.IN_TRANSACTION, _State.ABORTABLE)
        except ClientError as exc:
            outcome = SendOutcome([record[0] for record in records])
            outcome.errors.update(dict.fromkeys(range(len(records)), exc))
            failed: Future[SendOutcome] = Future()
            failed.set_result(outcome)
            return failed
        return super().send_batch(records)

    def _before_append(self, topic: str, partition: int) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._abortable is not None:
            raise TransactionAbortedError(f"the transaction of {self._transactional_id!r} cannot commit any more")
        key = (topic, partition)
        if key in self._added:
            return
        if partition >= self._broker.topic(topic, create=True).partitions:
            # Checked here, as Kafka's listener checks AddPartitionsToTxn: the coordinator takes the partitions
            # it is given, and a marker for one that does not exist could never be written.
            raise UnknownTopicError(f"{topic}-{partition} does not exist")
        answer = self._call(
            "AddPartitionsToTxn",
            lambda: self._coordinator.add_partitions(
                self._transactional_id, self._producer_id, self._producer_epoch, [key]
            ),
            lambda codes: codes.get(key, ErrorCode.UNKNOWN_SERVER_ERROR),
            time.monotonic() + ADD_PARTITIONS_TIMEOUT_S,
        )
        del answer
        self._added.add(key)

    def _append_failed(self, error: ClientError) -> ClientError:
        if isinstance(error, ProducerFencedError):
            return self._fail_fatally(error)
        if self._abortable is None:
            self._abortable = error
        return error

    def close(self) -> None:
        # Closing never commits: an open transaction is aborted now, as Kafka's producer does, so it does not hold
        # back read_committed readers until transaction.timeout.ms. If that fails the coordinator aborts it after
        # the timeout, or the next producer of this transactional id at once.
        with self._state_lock:
            open_transaction = self._state in (_State.IN_TRANSACTION, _State.ABORTABLE, _State.ABORTING)
        if open_transaction and not self._closed:
            try:
                self.abort_transaction(CLOSE_ABORT_TIMEOUT_S)
            except ClientError as exc:
                log.info("closing the producer of %r left its transaction open: %s", self._transactional_id, exc)
        self._purge(TransactionAbortedError(f"the producer of {self._transactional_id!r} was closed"))
        super().close()
