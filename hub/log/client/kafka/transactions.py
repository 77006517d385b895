"""KafkaTransactionalProducer: confluent-kafka's transactional producer behind the client interface.

librdkafka does the protocol (InitProducerId, AddPartitionsToTxn before a partition's first record, EndTxn after
flushing); this class maps its three kinds of failure onto the interface's errors: fatal ones (fenced by a newer
producer: ProducerFencedError; others: ClientError), abortable ones (``txn_requires_abort``:
TransactionAbortableError) and retriable ones (RetriableClientError: call the same method again). Records purged
by an abort fail with TransactionAbortedError.

Also ``fence_producers``: librdkafka's AdminClient has no fenceProducers, so each transactional id is fenced the
way Kafka's Admin does it underneath — an InitProducerId for it, here from a short-lived transactional producer,
which bumps the id's epoch and aborts its open transaction.

Thread-safety: sends from any thread; transaction calls from the owner's thread.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hub.log.client.api import Consumer, TransactionalProducer
from hub.log.client.errors import (
    ClientError,
    InvalidTxnStateError,
    ProducerFencedError,
    TransactionAbortableError,
    TransactionAbortedError,
)
from hub.log.client.kafka.producer import KafkaProducer
from hub.log.client.kafka.translate import LIBRDKAFKA_LOG, import_confluent, translate
from hub.log.client.types import TopicPartition

#: How many transactional ids ``fence_producers`` fences at once.
FENCE_PARALLELISM = 8


def translate_txn(exc: BaseException, what: str) -> ClientError:
    """The client error for a failed transactional call, by librdkafka's classification of it."""
    confluent = import_confluent()
    error = exc.args[0] if isinstance(exc, confluent.KafkaException) and exc.args else None
    if not isinstance(error, confluent.KafkaError):
        return translate(exc, what)
    code = error.code()
    message = f"{what}: {error.str()}"
    if code in (confluent.KafkaError._FENCED, confluent.KafkaError.PRODUCER_FENCED):
        return ProducerFencedError(message, error_code=code if code >= 0 else None)
    if code in (confluent.KafkaError._PURGE_QUEUE, confluent.KafkaError._PURGE_INFLIGHT):
        return TransactionAbortedError(message)
    if error.txn_requires_abort():
        return TransactionAbortableError(message, error_code=code if code >= 0 else None)
    if code == confluent.KafkaError._STATE:
        return InvalidTxnStateError(message)
    if error.fatal() and code == confluent.KafkaError.INVALID_PRODUCER_EPOCH:
        return ProducerFencedError(message, error_code=code)
    return translate(exc, what)


def _code(exc: BaseException) -> int | None:
    confluent = import_confluent()
    error = exc.args[0] if isinstance(exc, confluent.KafkaException) and exc.args else None
    return error.code() if isinstance(error, confluent.KafkaError) else None


class KafkaTransactionalProducer(KafkaProducer, TransactionalProducer):
    """Transactional producer over any Kafka-protocol broker that supports transactions."""

    def __init__(
        self,
        bootstrap_servers: str,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 60_000,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self._transactional_id = transactional_id
        self._fenced = False
        super().__init__(
            bootstrap_servers,
            config={
                **(config or {}),
                "enable.idempotence": True,
                "transactional.id": transactional_id,
                "transaction.timeout.ms": transaction_timeout_ms,
            },
        )

    @property
    def transactional_id(self) -> str:
        return self._transactional_id

    def _translate(self, exc: BaseException, what: str) -> ClientError:
        error = translate_txn(exc, what)
        if isinstance(error, ProducerFencedError):
            self._fenced = True
        elif self._fenced and _code(exc) == import_confluent().KafkaError._FATAL:
            # librdkafka answers every call after its fatal error with _FATAL; the fatal error was the fencing.
            return ProducerFencedError(f"{what}: fenced by a newer producer of {self._transactional_id!r}")
        return error

    def _translate_send(self, exc: BaseException, what: str) -> ClientError:
        return self._translate(exc, what)

    def _call(self, what: str, method: Any, *args: Any) -> None:
        self._check_open()
        try:
            method(*args)
        except Exception as exc:
            raise self._translate(exc, f"{what} {self._transactional_id!r}") from exc

    def init_transactions(self, timeout_s: float = 60.0) -> None:
        self._call("initialising transactions of", self._producer.init_transactions, timeout_s)

    def begin_transaction(self) -> None:
        self._call("beginning a transaction of", self._producer.begin_transaction)

    def commit_transaction(self, timeout_s: float = 60.0) -> None:
        self._call("committing the transaction of", self._producer.commit_transaction, timeout_s)

    def abort_transaction(self, timeout_s: float = 60.0) -> None:
        self._call("aborting the transaction of", self._producer.abort_transaction, timeout_s)

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], consumer: Consumer, timeout_s: float = 60.0
    ) -> None:
        from hub.log.client.kafka.consumer import KafkaConsumer

        if not isinstance(consumer, KafkaConsumer):
            raise ClientError("send_offsets_to_transaction needs a consumer of the Kafka backend")
        confluent = import_confluent()
        positions = [confluent.TopicPartition(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        self._call(
            "sending offsets to the transaction of",
            self._producer.send_offsets_to_transaction,
            positions,
            consumer.group_metadata_handle(),
            timeout_s,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._poller.join()
        # No flush: records of an open transaction must not be committed by closing; librdkafka aborts it (and
        # warns when it cannot, as after fencing: nothing is left to abort then).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self._producer.close()


def fence_producers(
    bootstrap_servers: str, transactional_ids: Collection[str], *, timeout_s: float, config: Mapping[str, Any]
) -> None:
    """Fence the producers of each transactional id with an InitProducerId from a producer of that id."""
    confluent = import_confluent()

    def fence(transactional_id: str) -> None:
        producer = confluent.Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "logger": LIBRDKAFKA_LOG,
                **config,
                "transactional.id": transactional_id,
            }
        )
        try:
            producer.init_transactions(timeout_s)
        except Exception as exc:
            raise translate_txn(exc, f"fencing the producers of {transactional_id!r}") from exc
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                producer.close()

    ids = list(dict.fromkeys(transactional_ids))
    if not ids:
        return
    with ThreadPoolExecutor(min(FENCE_PARALLELISM, len(ids)), thread_name_prefix="hub-fence") as pool:
        for future in [pool.submit(fence, transactional_id) for transactional_id in ids]:
            future.result()
