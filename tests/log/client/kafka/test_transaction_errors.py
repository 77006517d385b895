"""librdkafka's transactional failures become the client interface's errors by their kind: fenced (fatal),
abortable, retriable, out of order."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from hub.log.client import (
    ClientError,
    ClientTimeoutError,
    InvalidTxnStateError,
    ProducerFencedError,
    RetriableClientError,
    TransactionAbortableError,
    TransactionAbortedError,
)
from hub.log.client.kafka.transactions import translate_txn


def _failure(code: int, **kind: bool) -> KafkaException:
    return KafkaException(KafkaError(code, "reason", **kind))


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (_failure(KafkaError._FENCED, fatal=True), ProducerFencedError),
        (_failure(KafkaError.PRODUCER_FENCED, fatal=True), ProducerFencedError),
        (_failure(KafkaError.INVALID_PRODUCER_EPOCH, fatal=True), ProducerFencedError),
        (_failure(KafkaError._PURGE_QUEUE), TransactionAbortedError),
        (_failure(KafkaError._PURGE_INFLIGHT), TransactionAbortedError),
        (_failure(KafkaError._MSG_TIMED_OUT, txn_requires_abort=True), TransactionAbortableError),
        (_failure(KafkaError._STATE), InvalidTxnStateError),
        (_failure(KafkaError._TIMED_OUT, retriable=True), ClientTimeoutError),
        (_failure(KafkaError.COORDINATOR_LOAD_IN_PROGRESS, retriable=True), RetriableClientError),
        (_failure(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, fatal=True), ClientError),
    ],
)
def test_each_kind_of_failure_has_its_error(failure: KafkaException, expected: type[ClientError]) -> None:
    error = translate_txn(failure, "committing")
    assert type(error) is expected
    assert str(error).startswith("committing: ")


def test_a_fatal_error_is_never_taken_for_an_abortable_one() -> None:
    error = translate_txn(_failure(KafkaError.UNKNOWN_PRODUCER_ID, fatal=True), "committing")
    assert not isinstance(error, TransactionAbortableError | RetriableClientError)
