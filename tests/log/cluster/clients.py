"""Clients for fault tests: a short-lived confluent-kafka client run inside a network namespace (a subprocess under
``ip netns exec``, so it sees only what that namespace reaches), a confluent-kafka producer thread that writes a
numbered sequence idempotently with acks=all and records exactly what was acknowledged, the same for kafka-python
and aiokafka (acks=all, not idempotent), consumer-group threads of all three families that record what they
consumed, and a reader of a partition from offset 0."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from tests.harness.netns import Network

CLIENT = """
import json, statistics, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic, mode, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 3000, "linger.ms": 0})
if mode == "latency":
    samples = []
    for i in range(count):
        began = time.monotonic()
        producer.produce(topic, b"%d" % i)
        producer.flush(10)
        samples.append(time.monotonic() - began)
    print(json.dumps({"median_s": statistics.median(samples[3:])}))
    sys.exit(0)
errors, acked = [], []

def delivered(error, message):
    if error:
        errors.append(str(error))
    else:
        acked.append([message.offset(), message.value().decode()])

for i in range(count):
    producer.produce(topic, b"%s-%d" % (tag.encode(), i), partition=0, on_delivery=delivered)
producer.flush(10)
consumed = []
if mode == "roundtrip":
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "harness", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            consumed.append(message.value().decode())
    consumer.close()
print(json.dumps({"errors": errors, "acked": acked, "consumed": consumed}))
"""


def topic_name() -> str:
    """A topic name no other test uses."""
    return f"t-{uuid.uuid4().hex[:8]}"


def run_client(
    network: Network, index: int, bootstrap: str, topic: str, mode: str, tag: str = "", count: int = 20
) -> dict[str, Any]:
    """Run the client inside namespace ``index`` and return its JSON answer. Modes: ``produce`` (``count`` values
    ``tag-i`` to partition 0 with acks=all and a 3 s delivery timeout: ``errors``, ``acked`` [offset, value]),
    ``roundtrip`` (the same, then ``consumed``: every value read from offset 0 for 5 s), ``latency`` (``median_s``
    of ``count`` produce-and-flush rounds, the first three left out)."""
    argv = [sys.executable, "-c", CLIENT, bootstrap, topic, mode, tag, str(count)]
    result = network.run(index, argv, timeout_s=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


class SequenceProducer:
    """Writes ``tag-0``, ``tag-1``… to partition 0 of ``topic`` from a thread until ``stop``: idempotent, acks=all,
    retried until ``delivery.timeout.ms``. ``acked`` lists (offset, value) in acknowledgement order and ``errors``
    every failed delivery; both are appended on librdkafka's callbacks, read them after ``stop``."""

    def __init__(self, bootstrap: str, topic: str, tag: str = "v", **settings: Any) -> None:
        self.topic = topic
        self.tag = tag
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "delivery.timeout.ms": 120_000,
            "topic.metadata.refresh.interval.ms": 1000,
        }
        self.producer = Producer(config | settings)
        self.acked: list[tuple[int, bytes]] = []
        self.errors: list[KafkaError] = []
        self.sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"produce-{topic}", daemon=True)

    def start(self) -> SequenceProducer:
        self._thread.start()
        return self

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        with self._lock:
            if error is not None:
                self.errors.append(error)
            else:
                self.acked.append((message.offset(), message.value()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.producer.produce(
                    self.topic, b"%s-%d" % (self.tag.encode(), self.sent), partition=0, on_delivery=self._delivered
                )
                self.sent += 1
            except BufferError:
                pass  # the local queue is full while no leader answers: wait for it to drain
            self.producer.poll(0.002)

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    progress = acked_count  # the name the other load clients use

    def wait_acked(self, more: int, timeout_s: float = 60) -> None:
        """Block until ``more`` further records are acknowledged."""
        target = self.acked_count() + more
        deadline = time.monotonic() + timeout_s
        while self.acked_count() < target:
            assert time.monotonic() < deadline, f"{target - self.acked_count()} acknowledgements missing"
            assert not self.errors, self.errors[:5]
            time.sleep(0.05)

    wait_progress = wait_acked

    def stop(self, timeout_s: float = 120) -> None:
        """Stop producing and wait until every record sent is acknowledged or has failed."""
        self._stop.set()
        self._thread.join(10)
        remaining = self.producer.flush(timeout_s)
        assert remaining == 0, f"{remaining} records neither acknowledged nor failed after {timeout_s} s"

    def expected(self) -> list[bytes]:
        """Every value sent, in order: what each replica must hold once all were acknowledged."""
        return [b"%s-%d" % (self.tag.encode(), i) for i in range(self.sent)]


# --- three client families under load ---------------------------------------------------------------------------


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
        from kafka import KafkaProducer

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
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError as AioKafkaError

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
        from kafka import KafkaConsumer

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
        from aiokafka import AIOKafkaConsumer

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


def read_partition(bootstrap: str, topic: str, partition: int = 0, timeout_s: float = 60) -> list[tuple[int, bytes]]:
    """Every record of the partition from offset 0 to its high watermark, as (offset, value), read by a consumer
    outside any group."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        consumer.assign([TopicPartition(topic, partition, 0)])
        records: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while (not records or records[-1][0] < high - 1) and high > 0:
            assert time.monotonic() < deadline, f"{topic}-{partition}: read {len(records)} of {high} records"
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                records.append((message.offset(), message.value()))
        return records
    finally:
        consumer.close()
