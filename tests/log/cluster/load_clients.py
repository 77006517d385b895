"""Clients of three families running under load in threads of their own, for operations tests: producers of
kafka-python and aiokafka (acks=all, idempotence off: at least once) that record what was acknowledged, and
consumer-group members of confluent-kafka, kafka-python and aiokafka that count what they consumed. The
idempotent confluent-kafka producer is clients.SequenceProducer, which offers the same ``progress`` and
``wait_progress``.

Each object is driven by one test thread; the counts and lists a client thread appends to are guarded by a lock
(read ``acked`` and ``errors`` after ``stop``)."""

from __future__ import annotations

import asyncio
import threading
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError as AioKafkaError
from confluent_kafka import Consumer
from kafka import KafkaConsumer, KafkaProducer


class LoadThread:
    """A client running in a thread of its own until ``stop``. ``progress`` counts what it achieved (records
    acknowledged or consumed) and ``errors`` what failed; both are guarded by ``_lock``."""

    family = ""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.errors: list[str] = []
        self._progress = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{type(self).__name__}-{topic}", daemon=True)

    def start(self) -> LoadThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 60) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"{self.family} client did not stop within {timeout_s} s"

    def progress(self) -> int:
        with self._lock:
            return self._progress

    def _advance(self, error: str | None = None) -> None:
        with self._lock:
            if error is None:
                self._progress += 1
            else:
                self.errors.append(error)

    def wait_progress(self, more: int, timeout_s: float = 60) -> None:
        """Block until ``progress`` grew by ``more``."""
        target = self.progress() + more
        deadline = time.monotonic() + timeout_s
        while self.progress() < target:
            assert time.monotonic() < deadline, f"{self.family}: {target - self.progress()} of {more} missing"
            time.sleep(0.05)

    def _run(self) -> None:
        raise NotImplementedError


class LoadProducer(LoadThread):
    """Writes ``tag-0``, ``tag-1``… to partition 0, acks=all, idempotence off; ``acked`` lists (offset, value)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic)
        self.acked: list[tuple[int, bytes]] = []

    def _acked(self, offset: int, value: bytes) -> None:
        with self._lock:
            self.acked.append((offset, value))
        self._advance()

    def _value(self, index: int) -> bytes:
        return b"%s-%d" % (self.family.encode(), index)


class KafkaPythonProducer(LoadProducer):
    family = "kafka-python"

    def _run(self) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=False,
            linger_ms=5,
            retries=1_000,
            retry_backoff_ms=100,
            request_timeout_ms=5000,
            delivery_timeout_ms=120_000,
            metadata_max_age_ms=1000,
        )
        index = 0
        while not self._stop.is_set():
            value = self._value(index)
            future = producer.send(self.topic, value, partition=0)
            future.add_callback(lambda metadata, value=value: self._acked(metadata.offset, value))
            future.add_errback(lambda exc: self._advance(repr(exc)))
            index += 1
            time.sleep(0.005)
        producer.flush(120)
        producer.close(10)


class AioKafkaProducer(LoadProducer):
    family = "aiokafka"

    def _run(self) -> None:
        asyncio.run(self._produce())

    async def _produce(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=False,
            linger_ms=5,
            request_timeout_ms=5000,
            retry_backoff_ms=100,
            metadata_max_age_ms=1000,
        )
        await producer.start()
        try:
            index = 0
            while not self._stop.is_set():
                value = self._value(index)
                index += 1
                try:
                    metadata = await producer.send_and_wait(self.topic, value, partition=0)
                except AioKafkaError as exc:  # e.g. no leader within request_timeout_ms: the next one is retried
                    self._advance(repr(exc))
                    await asyncio.sleep(0.1)
                else:
                    self._acked(metadata.offset, value)
        finally:
            await producer.stop()


GROUP_SETTINGS = {"session_ms": 6000, "heartbeat_ms": 500, "commit_ms": 500}


class LoadConsumer(LoadThread):
    """A member of consumer group ``group`` subscribed to ``topic`` from the earliest offset, committing
    automatically every 500 ms; ``progress`` counts records consumed."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        super().__init__(bootstrap, topic)
        self.group = group


class ConfluentConsumer(LoadConsumer):
    family = "confluent-kafka"

    def _run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "auto.commit.interval.ms": GROUP_SETTINGS["commit_ms"],
                "session.timeout.ms": GROUP_SETTINGS["session_ms"],
                "heartbeat.interval.ms": GROUP_SETTINGS["heartbeat_ms"],
                "topic.metadata.refresh.interval.ms": 1000,
            }
        )
        consumer.subscribe([self.topic])
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.2)
                if message is not None:
                    error = message.error()
                    self._advance(None if error is None else str(error))
        finally:
            consumer.close()


class KafkaPythonConsumer(LoadConsumer):
    family = "kafka-python"

    def _run(self) -> None:
        consumer = KafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            auto_offset_reset="earliest",
            enable_auto_commit=True,
            auto_commit_interval_ms=GROUP_SETTINGS["commit_ms"],
            session_timeout_ms=GROUP_SETTINGS["session_ms"],
            heartbeat_interval_ms=GROUP_SETTINGS["heartbeat_ms"],
            metadata_max_age_ms=1000,
        )
        try:
            while not self._stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=200)
                except Exception as exc:  # recorded: the test shows them when consumption stalls
                    self._advance(repr(exc))
                    continue
                for records in batches.values():
                    for _ in records:
                        self._advance()
        finally:
            consumer.close()


class AioKafkaConsumer(LoadConsumer):
    family = "aiokafka"

    def _run(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            auto_offset_reset="earliest",
            enable_auto_commit=True,
            auto_commit_interval_ms=GROUP_SETTINGS["commit_ms"],
            session_timeout_ms=GROUP_SETTINGS["session_ms"],
            heartbeat_interval_ms=GROUP_SETTINGS["heartbeat_ms"],
            metadata_max_age_ms=1000,
        )
        await consumer.start()
        try:
            while not self._stop.is_set():
                try:
                    batches = await consumer.getmany(timeout_ms=200)
                except Exception as exc:  # recorded: the test shows them when consumption stalls
                    self._advance(repr(exc))
                    await asyncio.sleep(0.1)
                    continue
                for records in batches.values():
                    for _ in records:
                        self._advance()
        finally:
            await consumer.stop()
