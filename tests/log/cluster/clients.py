"""confluent-kafka clients for fault tests: a short-lived client run inside a network namespace (a subprocess under
``ip netns exec``, so it sees only what that namespace reaches), a producer thread that writes a numbered
sequence idempotently with acks=all and records exactly what was acknowledged, and a reader of a partition from
offset 0. The other client families are in load_clients."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from tests.harness.bounded import within
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
    every failed delivery or fatal client error; both are appended on librdkafka's callbacks, read them after
    ``stop``."""

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
            "error_cb": self._client_error,
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
                self.acked.append((int(message.offset() or 0), bytes(message.value() or b"")))

    def _client_error(self, error: KafkaError) -> None:
        if error.fatal():  # e.g. the idempotent producer found a gap in its sequence: the test has failed
            with self._lock:
                self.errors.append(error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.producer.produce(
                    self.topic, b"%s-%d" % (self.tag.encode(), self.sent), partition=0, on_delivery=self._delivered
                )
                self.sent += 1
            except BufferError:
                pass  # the local queue is full while no leader answers: wait for it to drain
            except KafkaException as exc:  # a fatal error: nothing more can be produced
                self._client_error(exc.args[0])
                return
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
        """Stop producing, wait until every record sent is acknowledged or has failed, and close the client (it
        would otherwise go on reconnecting to the cluster's addresses after the test)."""
        self._stop.set()
        self._thread.join(10)
        remaining = within(timeout_s + 30, lambda: self.producer.flush(timeout_s), "the producer's flush")
        assert remaining == 0, f"{remaining} records neither acknowledged nor failed after {timeout_s} s"
        within(30, self.producer.close, "closing the producer")

    def expected(self) -> list[bytes]:
        """Every value sent, in order: what each replica must hold once all were acknowledged."""
        return [b"%s-%d" % (self.tag.encode(), i) for i in range(self.sent)]


class WatchingConsumer:
    """Reads partition 0 of ``topic`` from offset 0 in a thread until ``stop`` (read_committed, no group), keeping
    every (offset, value) it was given: what consumers saw while the cluster was failing over."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"watch-{topic}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "topic.metadata.refresh.interval.ms": 1000,
            }
        )
        self.consumer.assign([TopicPartition(topic, 0, 0)])
        self.seen: list[tuple[int, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{topic}", daemon=True)

    def start(self) -> WatchingConsumer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self.consumer.consume(500, timeout=0.2):
                if message.error() is None:
                    self.seen.append((message.offset(), message.value()))

    def stop(self) -> list[tuple[int, bytes]]:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "the watching consumer's thread did not stop"
        within(30, self.consumer.close, "closing the watching consumer")
        return self.seen


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
        within(30, consumer.close, "closing the reader")
