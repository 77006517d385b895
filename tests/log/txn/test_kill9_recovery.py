"""``kill -9`` of a store in the middle of transactions, ten rounds at varied moments: after each restart the
coordinator completes what it found preparing and aborts what was open, so a read_committed consumer sees every
acknowledged commit whole, no explicitly aborted transaction, and each transaction all or nothing (one in flight at
the kill may go either way)."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from tests.harness.hub import HubServer
from tests.harness.process import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
]

ROUNDS = 10
TOPIC = "kill9"


def _run_transactions(bootstrap: str, round_: int, stop: threading.Event, outcome: dict[str, set[str]]) -> None:
    """Transactions of three records over two partitions until ``stop`` or the server dies; every third aborted."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": "kill9-app", "transaction.timeout.ms": 10_000}
    )
    try:
        producer.init_transactions(30)
        number = 0
        while not stop.is_set():
            name = f"{round_}-{number}"
            outcome["begun"].add(name)
            producer.begin_transaction()
            for index in range(3):
                producer.produce(TOPIC, f"{name}/{index}".encode(), partition=index % 2)
            if number % 3 == 2:
                producer.abort_transaction(30)
                outcome["aborted"].add(name)
            else:
                producer.commit_transaction(30)
                outcome["committed"].add(name)
            number += 1
    except KafkaException:
        pass  # the server was killed


def _read_committed(bootstrap: str) -> dict[str, set[int]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "kill9-reader", "isolation.level": "read_committed"}
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(2)])
    seen: dict[str, set[int]] = defaultdict(set)
    idle = 0
    while idle < 8:
        message = consumer.poll(0.5)
        if message is None or message.error():
            idle += 1
            continue
        idle = 0
        name, index = message.value().decode().split("/")
        seen[name].add(int(index))
    consumer.close()
    return seen


def test_kill_9_mid_transaction_leaves_each_transaction_committed_or_aborted(tmp_path: Path) -> None:
    server = HubServer(tmp_path / "data", free_port(), tmp_path / "server.log", options=("num.partitions=2",))
    outcome: dict[str, set[str]] = defaultdict(set)
    moments = random.Random(23)
    try:
        server.start()
        for round_ in range(ROUNDS):
            stop = threading.Event()
            worker = threading.Thread(target=_run_transactions, args=(server.bootstrap, round_, stop, outcome))
            worker.start()
            time.sleep(moments.uniform(0.3, 1.5))  # the kill lands anywhere in a transaction's life
            server.kill()
            server.start()  # the producer's call in flight ends against the restarted store, either way
            stop.set()
            worker.join(60)
        seen = _read_committed(server.bootstrap)
    finally:
        if server.running:
            server.stop()
    assert outcome["committed"], server.log_tail()
    for name in outcome["committed"]:
        assert seen.get(name) == {0, 1, 2}, name
    for name in outcome["aborted"]:
        assert name not in seen, name
    for name, indexes in seen.items():
        assert indexes == {0, 1, 2}, name  # never half of a transaction
