"""Records/s through the worker runtime — datagen → store → a null sink — next to the store's raw
produce+consume rate measured in the same run, on the embedded store.

Variants: JSON conversion (Connect's JsonConverter with schemas, struct values), Avro conversion (Confluent's
AvroConverter: the schema registered once, each record the 5-byte header and the Avro binary of its value; the
registry is the in-process one of ``mock://`` urls, since a registry is asked only once per schema and the data
path never waits for it) and no conversion (ByteArrayConverter, ready bytes), each with 1 and 4 tasks (4
partitions). The Avro variant's keys are JSON (the source writes JSON keys in every variant); its rate is also
compared with the JSON variant's (target: at least as fast), and every variant prints its record and value sizes.
The raw reference produces and consumes records of the same bytes as the variant writes (Connect's JSON
envelope carries the schema in every record, so JSON records are several times larger), with the same store
clients, twice: producing then consuming, and producing and consuming at once (two threads, as a pipeline runs —
the like-for-like reference, since both then share the interpreter the same way). The overhead ratio is raw rate
/ runtime rate; the target is at most 2.0 with JSON conversion against the concurrent reference (printed as
runtime/raw >= 0.5); the ratio to the sequential reference is printed too. The process is tuned as Hub's server
commands tune it (hub/tuning.py), for the runtime and the raw references alike.

Each variant runs its three measurements (sequential, concurrent, runtime) three times and keeps the best rate of
each: a pass lasts a few seconds, and on a small shared machine one pass can lose a third of its speed to other
work. The variants take turns — every variant's first pass, then every variant's second — so a stretch of other
work on the machine slows passes of every variant, not all passes of one, and the Avro / JSON ratio compares
rates measured under the same conditions.

Metrics (``--metrics``): the JSON pipeline with metrics scraped against not (bench/runtime_metrics.py).

Run: ``python -m bench.runtime_pipeline [--metrics] [RECORDS]`` (default 200,000 per variant).

``python -m bench.runtime_pipeline --workers [N] [RECORDS]`` measures `hub start` with N worker processes (default:
one per core) against `hub start --workers 1` instead, 4 tasks, JSON and no conversion (bench/runtime_workers.py);
the target is at least 1.6 times the single process's rate with JSON conversion on two cores.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.report import figure, ratio, stopwatch
from bench.runtime_metrics import metrics_main
from bench.runtime_workers import compare
from connectors.file.datagen import DatagenTask
from hub.cli.worker_pool import cores
from hub.log.broker import Broker
from hub.log.client import NewTopic, OutgoingRecord, TopicPartition
from hub.log.client.embedded import EmbeddedClients
from hub.log.metrics import StoreCollector
from hub.log.node import LogNode, node_config
from hub.runtime.metrics import RuntimeCollector
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from hub.sdk import ConfigDef, SinkConnector, SinkRecord, SinkTask, hookimpl
from hub.sdk.testing import MemoryOffsets, MemorySourceContext
from hub.tuning import tune_garbage_collector

#: Records per poll of the datagen source, and per send_batch of the raw reference.
BATCH = 2000
#: Passes of each measurement; the best is kept.
ROUNDS = 3
_received = 0
_lock = threading.Lock()


class NullSinkConnector(SinkConnector):
    """Counts records and drops them."""

    def config_def(self) -> ConfigDef:
        return ConfigDef()

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SinkTask]:
        return NullSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config) for _ in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""


class NullSinkTask(SinkTask):
    def start(self, config: dict[str, str]) -> None:
        """Nothing to open."""

    def put(self, records: Sequence[SinkRecord]) -> None:
        global _received
        with _lock:
            _received += len(records)

    def open(self, partitions: Collection[tuple[str, int]]) -> None:
        """Nothing per partition."""

    def flush(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Nothing buffered."""

    def stop(self) -> None:
        """Nothing to close."""


class _BenchPlugins:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [NullSinkConnector]


#: The value converter's options per variant (prefixed with ``value.converter.`` in connector configs).
CONVERTER_OPTIONS: Mapping[str, Mapping[str, str]] = {
    "io.confluent.connect.avro.AvroConverter": {"schema.registry.url": "mock://bench-runtime-pipeline"},
}

#: The null sink as an entry point's object, for the `hub start` processes of the --workers comparison.
PLUGIN = _BenchPlugins()


def sample_bytes(converter: str, shape: str) -> tuple[bytes, bytes]:
    """Key and value bytes of one record as the runtime writes them in this variant."""
    plugins = Plugins.discover()
    task = DatagenTask()
    config = {"topic": "sample", "quickstart": shape}
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    record = task.poll()[0]
    key_converter = plugins.converter("org.apache.kafka.connect.json.JsonConverter")
    value_converter = plugins.converter(converter)
    key_converter.configure({}, is_key=True)
    value_converter.configure(dict(CONVERTER_OPTIONS.get(converter, {})))
    key = key_converter.from_connect("sample", record.key_schema, record.key)  # type: ignore[union-attr]
    value = value_converter.from_connect("sample", record.value_schema, record.value)  # type: ignore[union-attr]
    assert key is not None
    assert value is not None
    return key, value


def raw_rate(
    clients: EmbeddedClients, name: str, count: int, partitions: int, key: bytes, value: bytes, *, concurrent: bool
) -> float:
    """Records/s to produce ``count`` records of these bytes and consume them back with the store's clients: one
    after the other, or (``concurrent``) a producing and a consuming thread at once, as a pipeline runs."""
    topic = f"raw-{name}-{'c' if concurrent else 's'}"
    with clients.admin() as admin:
        admin.create_topics([NewTopic(topic, partitions)])

    def produce() -> None:
        with clients.producer() as producer:
            batch: list[OutgoingRecord] = [(topic, key, value, (), None, None)] * BATCH
            for start in range(0, count, BATCH):
                producer.send_batch(batch[: min(BATCH, count - start)])
            producer.flush(120)

    def consume() -> None:
        with clients.consumer() as consumer:
            consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
            seen = 0
            while seen < count:
                seen += len(consumer.poll(1.0, 5000))

    with stopwatch() as elapsed:
        if concurrent:
            producer = threading.Thread(target=produce)
            producer.start()
            consume()
            producer.join()
        else:
            produce()
            consume()
        return count / elapsed()


def runtime_rate(
    herder: StandaloneHerder,
    broker: Broker,
    name: str,
    count: int,
    tasks: int,
    converter: str,
    shape: str,
    source: Mapping[str, str] | None = None,
) -> float:
    """Records/s from creating the datagen connector until the null sink has them all. The sink connector is
    created first and its consumer group left to settle (every task assigned), so the figure is the data path's,
    not the group's start-up. ``source`` adds settings to the datagen connector's."""
    global _received
    topic = f"pipe-{name}"
    with herder.clients.admin() as admin:
        admin.create_topics([NewTopic(topic, tasks)])
    _received = 0
    json_keys = converter in CONVERTER_OPTIONS  # a registry converter would not read the source's JSON keys
    converters = {
        "key.converter": "org.apache.kafka.connect.json.JsonConverter" if json_keys else converter,
        "value.converter": converter,
        **{f"value.converter.{key}": value for key, value in CONVERTER_OPTIONS.get(converter, {}).items()},
    }
    herder.put_connector_config(
        f"sink-{name}",
        {"connector.class": "NullSinkConnector", "topics": topic, "tasks.max": str(tasks), **converters},
        allow_replace=False,
    )
    assert broker.coordinator is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        group = broker.coordinator.describe_group(f"connect-sink-{name}")
        if group.state == "Stable" and len(group.members) == tasks:
            break
        time.sleep(0.05)
    with stopwatch() as elapsed:
        herder.put_connector_config(
            f"gen-{name}",
            {
                "connector.class": "Datagen",
                "topic": topic,
                "quickstart": shape,
                "tasks.max": str(tasks),
                "max.records": str(count // tasks),
                "batch.size": str(BATCH),
                **converters,
                "key.converter": "org.apache.kafka.connect.json.JsonConverter",
                **(source or {}),
            },
            allow_replace=False,
        )
        deadline = time.monotonic() + 600
        while _received < count and time.monotonic() < deadline:
            time.sleep(0.01)
        seconds = elapsed()
    herder.delete_connector(f"gen-{name}")
    herder.delete_connector(f"sink-{name}")
    return count / seconds


JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=200_000, help="records per variant and pass")
    parser.add_argument(
        "--workers",
        nargs="?",
        type=int,
        const=cores(),
        help="compare `hub start --workers N` (default: one per core) with --workers 1",
    )
    parser.add_argument("--metrics", action="store_true", help="the pipeline with metrics scraped against not")
    args = parser.parse_args()
    if args.workers is not None:
        compare(args.records, args.workers)
        return
    in_process(args.records, metrics=args.metrics)


def in_process(count: int, *, metrics: bool = False) -> None:
    figure("records_per_variant", count, "records")
    with tempfile.TemporaryDirectory() as directory:
        node = LogNode(node_config(Path(directory), {"group.initial.rebalance.delay.ms": "0"}))
        node.open()
        try:
            clients = EmbeddedClients(node.broker)
            config = WorkerConfig.parse({"offset.flush.interval.ms": "1000"})
            herder = StandaloneHerder(
                "bench", config, Plugins.discover(extra=[_BenchPlugins()]), clients, *topic_stores(clients, config)
            )
            herder.start()
            tune_garbage_collector()  # as the worker commands do once started; the raw references run under it too
            try:
                if metrics:
                    metrics_main(
                        lambda name, tasks: runtime_rate(
                            herder, node.broker, name, count, tasks, JSON_CONVERTER, "users"
                        ),
                        RuntimeCollector(herder),
                        StoreCollector(node.broker),
                        count,
                    )
                    return
                for tasks in (1, 4):
                    variants = (
                        ("json", "org.apache.kafka.connect.json.JsonConverter", "users"),
                        ("avro", "io.confluent.connect.avro.AvroConverter", "users"),
                        ("noop", "org.apache.kafka.connect.converters.ByteArrayConverter", "bytes"),
                    )
                    samples = {label: sample_bytes(converter, shape) for label, converter, shape in variants}
                    best: dict[str, dict[str, float]] = {label: {} for label, _, _ in variants}
                    for attempt in range(ROUNDS):
                        for label, converter, shape in variants:
                            key, value = samples[label]
                            variant = f"{label}-{tasks}-{attempt}"
                            measured = {
                                "sequential": raw_rate(clients, variant, count, tasks, key, value, concurrent=False),
                                "concurrent": raw_rate(clients, variant, count, tasks, key, value, concurrent=True),
                                "runtime": runtime_rate(herder, node.broker, variant, count, tasks, converter, shape),
                            }
                            for what, rate in measured.items():
                                best[label][what] = max(best[label].get(what, 0.0), rate)
                    for label, _, _ in variants:
                        key, value = samples[label]
                        rates = best[label]
                        figure(f"record_bytes_{label}", len(key) + len(value), "bytes")
                        figure(f"value_bytes_{label}", len(value), "bytes")
                        figure(f"raw_store_sequential_{label}_{tasks}p", rates["sequential"], "records/s")
                        figure(f"raw_store_concurrent_{label}_{tasks}p", rates["concurrent"], "records/s")
                        figure(f"runtime_{label}_{tasks}t", rates["runtime"], "records/s")
                        target = 0.5 if label == "json" else None
                        ratio(
                            f"runtime_{label}_{tasks}t_vs_raw_concurrent",
                            rates["runtime"],
                            rates["concurrent"],
                            target=target,
                        )
                        ratio(f"runtime_{label}_{tasks}t_vs_raw_sequential", rates["runtime"], rates["sequential"])
                    avro_rate, json_rate = best["avro"]["runtime"], best["json"]["runtime"]
                    ratio(f"runtime_avro_{tasks}t_vs_runtime_json_{tasks}t", avro_rate, json_rate, target=1.0)
            finally:
                herder.stop()
        finally:
            node.close()


if __name__ == "__main__":
    main()
