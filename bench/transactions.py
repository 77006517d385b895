"""Transactions against the same work without them, in the same run.

Produce: confluent-kafka writes N x 100-byte records to Hub's listener (a ``hub log serve`` process with its
default settings: fsync group commit) in transactions of 1,000 records (``begin_transaction``, 1,000 ``produce``
calls, ``commit_transaction``, in turn), against the idempotent producer (``enable.idempotence``) writing the same
records with no transaction, everything else alike (acks=all, the same queue size, a new one-partition topic per
pass). A third pass, the idempotent producer flushing every 1,000 records, tells the transaction protocol's own cost
(AddPartitionsToTxn, EndTxn, the markers) from that of waiting for each batch. Each producer sends one record (a
transaction of one) and has it acknowledged before its clock starts, so its producer id and the topic's metadata are
known. After each pass a ``read_committed`` consumer reads the topic back and must count exactly the records sent,
so a broken path cannot pass for a fast one. Best of three passes each, taken in turn. Target: transactional /
idempotent >= 0.7.

Pipeline: datagen -> a topic -> a null sink (bench/runtime_pipeline.py's) through the worker runtime on the embedded
store, two standalone workers side by side: one with ``exactly.once.source.support=enabled`` running the datagen
connector with ``exactly.once.support=required`` (a transaction per poll of 2,000 records, the records and their
offsets committed together), one at-least-once (offsets flushed every second). JSON conversion and none, 1 and 4
tasks, best of three passes each, taken in turn; after each pass a ``read_committed`` consumer must find exactly the
records generated. Target: exactly-once / at-least-once >= 0.6 (JSON conversion, as bench/runtime_pipeline.py's
target).

Run: ``.venv/bin/python -m bench.transactions [--records 1000000] [--transaction 1000] [--pipeline-records 200000]``
(``--skip-produce`` / ``--skip-pipeline`` run one half; ``--os-flush`` runs the store with flushing left to the
operating system, as Kafka's default, instead of fsync group commit; ``--broker tansu`` runs the producers against
tansu, in memory, started as bench/kafka_produce_consume.py starts it, to tell the client's share of the ratio from
the broker's).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench import runtime_pipeline
from bench.kafka_produce_consume import VALUE, Store, hub, tansu
from bench.report import figure, ratio, stopwatch
from hub.log.client import IsolationLevel, StoreClients, TopicPartition
from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from hub.tuning import tune_garbage_collector

#: Records per transaction of the transactional producer.
TRANSACTION = 1000
#: Records each producer sends (and has acknowledged) before its clock starts.
WARM_UP = 1
#: Passes of each producer; the best is kept (a pass lasts seconds on a shared machine).
ROUNDS = 3


def _create(store: Store, topic: str) -> None:
    bootstrap, client = store
    admin = AdminClient({"bootstrap.servers": bootstrap, **client})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)


def _settings(store: Store) -> dict[str, object]:
    bootstrap, client = store
    return {"bootstrap.servers": bootstrap, "acks": "all", "queue.buffering.max.messages": 2_000_000, **client}


def _produce_one(producer: Producer, topic: str) -> None:
    while True:
        try:
            producer.produce(topic, VALUE)
            return
        except BufferError:
            producer.poll(0.01)


def produce_idempotent(store: Store, topic: str, records: int, *, flush_every: int = 0) -> float:
    """Seconds to write ``records`` with the idempotent producer, delivered (flushed) at the end, and every
    ``flush_every`` records if set (the transactional producer's waits, without a transaction)."""
    _create(store, topic)
    producer = Producer({**_settings(store), "enable.idempotence": True})
    _produce_one(producer, topic)  # the warm-up record: the clock starts with the producer id and the metadata known
    if producer.flush(60) != 0:
        raise RuntimeError("the warm-up record was not delivered")
    step = flush_every or records
    with stopwatch() as elapsed:
        for start in range(0, records, step):
            for _ in range(min(step, records - start)):
                _produce_one(producer, topic)
            if flush_every and producer.flush(60) != 0:
                raise RuntimeError("records were not delivered")
        if producer.flush(300) != 0:
            raise RuntimeError("records were not delivered")
        return elapsed()


def produce_transactional(
    store: Store, topic: str, records: int, transactional_id: str, transaction: int = TRANSACTION
) -> float:
    """Seconds to write ``records`` in transactions of ``transaction`` records, each committed before the next
    begins. Started as the idempotent producer is, before the clock: ``init_transactions`` and a warm-up
    transaction of one record."""
    _create(store, topic)
    producer = Producer({**_settings(store), "transactional.id": transactional_id})
    producer.init_transactions(30)
    producer.begin_transaction()
    _produce_one(producer, topic)
    producer.commit_transaction(60)
    with stopwatch() as elapsed:
        for start in range(0, records, transaction):
            producer.begin_transaction()
            for _ in range(min(transaction, records - start)):
                _produce_one(producer, topic)
            producer.commit_transaction(60)
        return elapsed()


def count_committed(store: Store, topic: str, expected: int, *, idle: float = 2.0) -> int:
    """Records a ``read_committed`` consumer finds in the topic: it reads until it has ``expected`` and then
    until nothing more comes for ``idle`` seconds, so a surplus is counted as well as a shortfall."""
    bootstrap, client = store
    consumer = Consumer(
        {
            **client,
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-count-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.queue.backoff.ms": 1,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 300
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=10_000, timeout=0.5)
            records = sum(1 for message in batch if message.error() is None)
            if records:
                seen += records
                quiet_since = time.monotonic()
            elif seen >= expected and time.monotonic() - quiet_since > idle:
                break
    finally:
        consumer.close()
    return seen


def _check(store: Store, topic: str, records: int) -> None:
    found = count_committed(store, topic, records)
    if found != records:
        raise RuntimeError(f"read_committed found {found} records in {topic}, {records} were sent")


def _broker(name: str, data_dir: Path, os_flush: bool) -> contextlib.AbstractContextManager[Store]:
    if name == "tansu":
        return tansu()
    return hub(data_dir / "data", os_flush=os_flush)


def bench_produce(
    records: int,
    rounds: int = ROUNDS,
    transaction: int = TRANSACTION,
    *,
    os_flush: bool = False,
    broker: str = "hub",
) -> float:
    """The producers against one ``hub log serve`` (or one tansu, ``broker="tansu"``), in turn; prints the figures
    and returns the target's ratio."""
    passes = {
        "idempotent": lambda store, topic, attempt: produce_idempotent(store, topic, records),
        "idempotent_flushed": lambda store, topic, attempt: produce_idempotent(
            store, topic, records, flush_every=transaction
        ),
        "transactional": lambda store, topic, attempt: produce_transactional(
            store, topic, records, f"bench-{attempt}", transaction
        ),
    }
    best = dict.fromkeys(passes, float("inf"))
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp, _broker(broker, Path(tmp), os_flush) as store:
        for attempt in range(rounds):
            for name, run in passes.items():
                topic = f"{name}-{attempt}"
                best[name] = min(best[name], run(store, topic, attempt))
                _check(store, topic, records + WARM_UP)
    megabytes = records * len(VALUE) / 1e6
    figure("records", records, "records")
    figure("transaction_records", transaction, "records")
    for name, seconds in best.items():
        figure(f"{name}_produce", records / seconds, "records/s")
        figure(f"{name}_produce_mb", megabytes / seconds, "MB/s")
    figure("transactions_per_s", records / transaction / best["transactional"], "transactions/s")
    ratio("transactional_vs_idempotent_flushed_produce", best["idempotent_flushed"], best["transactional"])
    return ratio("transactional_vs_idempotent_produce", best["idempotent"], best["transactional"], target=0.7)


#: The pipeline's variants: (label, value converter, datagen shape), as bench/runtime_pipeline.py runs them.
VARIANTS = (
    ("json", "org.apache.kafka.connect.json.JsonConverter", "users"),
    ("noop", "org.apache.kafka.connect.converters.ByteArrayConverter", "bytes"),
)


def _herder(clients: EmbeddedClients, mode: str, exactly_once: bool) -> StandaloneHerder:
    """A standalone worker of its own (group and internal topics named after ``mode``) on the shared store."""
    config = WorkerConfig.parse(
        {
            "offset.flush.interval.ms": "1000",
            "group.id": f"bench-{mode}",
            "config.storage.topic": f"bench-{mode}-configs",
            "offset.storage.topic": f"bench-{mode}-offsets",
            "status.storage.topic": f"bench-{mode}-status",
            "exactly.once.source.support": "enabled" if exactly_once else "disabled",
        }
    )
    plugins = Plugins.discover(extra=[runtime_pipeline._BenchPlugins()])
    herder = StandaloneHerder(f"bench-{mode}", config, plugins, clients, *topic_stores(clients, config))
    herder.start()
    return herder


def count_topic(clients: StoreClients, topic: str, partitions: int, expected: int, *, idle: float = 1.0) -> int:
    """Records a ``read_committed`` consumer of the store's clients finds in the topic, read as
    :func:`count_committed` reads (to ``expected``, then until ``idle`` seconds bring nothing)."""
    seen = 0
    with clients.consumer(isolation_level=IsolationLevel.READ_COMMITTED) as consumer:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        deadline = time.monotonic() + 300
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            records = len(consumer.poll(0.2, 5000))
            if records:
                seen += records
                quiet_since = time.monotonic()
            elif seen >= expected and time.monotonic() - quiet_since > idle:
                break
    return seen


def _pipeline_variant(
    node: LogNode,
    herders: tuple[StandaloneHerder, StandaloneHerder],
    variant: str,
    records: int,
    tasks: int,
    converter: str,
    shape: str,
    rounds: int,
) -> float:
    """One variant at-least-once and exactly-once, ``rounds`` times in turn (best of each kept); the ratio."""
    clients = herders[0].clients
    rates = {"alo": 0.0, "eos": 0.0}
    for attempt in range(rounds):
        for mode, herder, source in (
            ("alo", herders[0], {}),
            ("eos", herders[1], {"exactly.once.support": "required"}),
        ):
            name = f"{mode}-{variant}-{attempt}".replace("_", "-")
            rate = runtime_pipeline.runtime_rate(herder, node.broker, name, records, tasks, converter, shape, source)
            found = count_topic(clients, f"pipe-{name}", tasks, records)
            if found != records:
                raise RuntimeError(f"read_committed found {found} records of {records} ({name})")
            rates[mode] = max(rates[mode], rate)
    figure(f"pipeline_at_least_once_{variant}", rates["alo"], "records/s")
    figure(f"pipeline_exactly_once_{variant}", rates["eos"], "records/s")
    return ratio(
        f"pipeline_exactly_once_vs_at_least_once_{variant}",
        rates["eos"],
        rates["alo"],
        target=0.6 if variant.startswith("json") else None,
    )


def bench_pipeline(records: int, tasks: tuple[int, ...] = (1, 4), rounds: int = ROUNDS) -> dict[str, float]:
    """Datagen -> topic -> null sink through two standalone workers on one embedded store, one at-least-once and one
    with exactly-once source support, in turn; prints the figures and returns the ratio of each variant."""
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as directory:
        node = LogNode(node_config(Path(directory), {"group.initial.rebalance.delay.ms": "0"}))
        node.open()
        try:
            clients = EmbeddedClients(node.broker)
            at_least_once = _herder(clients, "alo", exactly_once=False)
            exactly_once = _herder(clients, "eos", exactly_once=True)
            tune_garbage_collector()
            try:
                for task_count in tasks:
                    for label, converter, shape in VARIANTS:
                        variant = f"{label}_{task_count}t"
                        ratios[variant] = _pipeline_variant(
                            node, (at_least_once, exactly_once), variant, records, task_count, converter, shape, rounds
                        )
            finally:
                exactly_once.stop()
                at_least_once.stop()
        finally:
            node.close()
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records of each producer pass")
    parser.add_argument("--transaction", type=int, default=TRANSACTION, help="records per transaction")
    parser.add_argument(
        "--os-flush", action="store_true", help="the store leaves flushing to the OS (as Kafka's default), not fsync"
    )
    parser.add_argument("--pipeline-records", type=int, default=200_000, help="records of each pipeline pass")
    parser.add_argument("--skip-produce", action="store_true", help="only the pipeline")
    parser.add_argument("--skip-pipeline", action="store_true", help="only the producers")
    parser.add_argument(
        "--broker", choices=("hub", "tansu"), default="hub", help="the producers' broker (tansu: in memory)"
    )
    args = parser.parse_args()
    if not args.skip_produce:
        bench_produce(args.records, transaction=args.transaction, os_flush=args.os_flush, broker=args.broker)
    if not args.skip_pipeline:
        figure("pipeline_records", args.pipeline_records, "records")
        bench_pipeline(args.pipeline_records)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
