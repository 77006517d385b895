"""KafkaProducer: sends records with confluent-kafka (librdkafka), idempotent and acks=all by default.

A background thread serves librdkafka's delivery reports, which resolve each send's future with the record's
partition and offset. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any

from hub.log.client.api import Header, OutgoingRecord, Producer
from hub.log.client.errors import ClientClosedError, ClientError, ClientTimeoutError
from hub.log.client.kafka.translate import LIBRDKAFKA_LOG, import_confluent, translate
from hub.log.client.types import RecordMetadata, SendOutcome


class KafkaProducer(Producer):
    """Producer over any Kafka-protocol broker (see the module docstring)."""

    def __init__(self, bootstrap_servers: str, *, config: Mapping[str, Any] | None = None) -> None:
        confluent = import_confluent()
        settings = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "partitioner": "murmur2_random",
            "logger": LIBRDKAFKA_LOG,
            **(config or {}),
        }
        self._producer = confluent.Producer(settings)
        self._closed = False
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._serve_reports, name="hub-kafka-producer", daemon=True)
        self._poller.start()

    def _serve_reports(self) -> None:
        while not self._stop.is_set():
            try:
                self._producer.poll(0.1)
            except Exception as exc:
                # A fatal error (a fenced transactional producer) is raised here once; the calls that need it
                # raise it themselves, so the thread keeps serving the reports of the records still queued.
                LIBRDKAFKA_LOG.debug("producer poll: %s", exc)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("producer is closed")

    def _translate_send(self, exc: BaseException, what: str) -> ClientError:
        """The client error for a failed send (the transactional producer classifies them its own way)."""
        return translate(exc, what)

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
        self._check_open()
        future: Future[RecordMetadata] = Future()

        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                future.set_exception(
                    self._translate_send(import_confluent().KafkaException(error), f"sending to {topic}")
                )
            else:
                future.set_result(
                    RecordMetadata(message.topic(), message.partition(), message.offset(), message.timestamp()[1])
                )

        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": delivered}
        if headers:
            kwargs["headers"] = list(headers)
        if partition is not None:
            kwargs["partition"] = partition
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return future
            except BufferError:
                self._producer.poll(0.05)  # the local queue is full: let deliveries drain it
            except Exception as exc:
                future.set_exception(self._translate_send(exc, f"sending to {topic}"))
                return future

    def send_batch(self, records: Sequence[OutgoingRecord]) -> Future[SendOutcome]:
        """As ``send`` one by one, without a future per record: librdkafka's delivery reports fill the outcome
        directly (on the reports' thread, or on this one while it waits for room in the local queue)."""
        self._check_open()
        outcome = SendOutcome([record[0] for record in records])
        batch: Future[SendOutcome] = Future()
        if not records:
            batch.set_result(outcome)
            return batch
        remaining = [len(records)]
        lock = threading.Lock()

        def settle(index: int, error: Any, message: Any) -> None:
            if error is None:
                outcome.written(index, message.partition(), message.offset(), message.timestamp()[1])
            else:
                failure = import_confluent().KafkaException(error)
                outcome.errors[index] = self._translate_send(failure, f"sending to {outcome.topic(index)}")
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                batch.set_result(outcome)

        produce = self._producer.produce
        for index, (topic, key, value, headers, partition, timestamp_ms) in enumerate(records):
            kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": partial(settle, index)}
            if headers:
                kwargs["headers"] = list(headers)
            if partition is not None:
                kwargs["partition"] = partition
            if timestamp_ms is not None:
                kwargs["timestamp"] = timestamp_ms
            while True:
                try:
                    produce(topic, **kwargs)
                    break
                except BufferError:
                    self._producer.poll(0.05)  # the local queue is full: let deliveries drain it
                except Exception as exc:
                    outcome.errors[index] = self._translate_send(exc, f"sending to {topic}")
                    with lock:
                        remaining[0] -= 1
                        last = remaining[0] == 0
                    if last:
                        batch.set_result(outcome)
                    break
        return batch

    def flush(self, timeout_s: float | None = None) -> None:
        remaining = self._producer.flush(-1 if timeout_s is None else timeout_s)
        if remaining:
            raise ClientTimeoutError(f"{remaining} record(s) not acknowledged in time")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._producer.flush(30)
        self._stop.set()
        self._poller.join()
