"""Kafka clients against Hub's listener and against tansu, in the same run.

confluent-kafka produces N x 100-byte messages (default batching, acks=all) to a topic of 1 and of 8 partitions,
then a consumer reads them back with batch ``consume(num_messages=...)`` so the client is not the bottleneck
(best of five passes, each in a new group; produce is the best of three passes, each to a new topic).
Hub runs three times: with its default durability (fsync group commit, flush.messages=1), with flushing left to the
operating system (flush.messages very large, as Kafka's default), and like the latter with its one listener
speaking TLS (a certificate made for the run; the clients check it); tansu keeps everything in memory. With TLS,
Hub must keep at least 0.7 of its own plaintext figures. Every client negotiates the newest versions both sides
offer, so the runs use the flexible versions (Produce 9+, Fetch 12+).

Run: .venv/bin/python -m bench.kafka_produce_consume [--messages 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench.report import figure, ratio
from tests.harness.kafka import tansu_binary
from tests.harness.process import free_port, port_open
from tests.harness.tls_material import CertificateAuthority

#: A store's bootstrap address and the client settings that reach it.
Store = tuple[str, dict[str, str]]

VALUE = b"x" * 100


@contextlib.contextmanager
def running(argv: list[str], port: int, client: dict[str, str] | None = None) -> Iterator[Store]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}", client or {}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def hub(
    data_dir: Path, *, os_flush: bool, tls: CertificateAuthority | None = None
) -> contextlib.AbstractContextManager[Store]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "log",
        "serve",
        "--data-dir",
        str(data_dir),
        "--listener",
        f"127.0.0.1:{port}",
        "--log-level",
        "WARNING",
    ]
    if os_flush:
        argv += ["-o", f"log.flush.interval.messages={2**62}"]
    if tls is None:
        return running(argv, port)
    server = tls.issue("bench-server", "localhost", server=True)
    argv += ["-o", f"listeners=SSL://127.0.0.1:{port}", "-o", f"ssl.keystore.location={server.bundle}"]
    return running(argv, port, {"security.protocol": "SSL", "ssl.ca.location": str(tls.pem)})


def tansu() -> contextlib.AbstractContextManager[Store]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    return running(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        port,
    )


def produce(store: Store, topic: str, partitions: int, messages: int) -> float:
    bootstrap, client = store
    admin = AdminClient({"bootstrap.servers": bootstrap, **client})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "queue.buffering.max.messages": 2_000_000, **client}
    )
    started = time.perf_counter()
    for i in range(messages):
        while True:
            try:
                producer.produce(topic, VALUE, partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.01)
    if producer.flush(300) != 0:
        raise RuntimeError("messages were not delivered")
    return time.perf_counter() - started


def consume(store: Store, topic: str, messages: int, *, group: str = "") -> float:
    # librdkafka stops fetching while its local queue holds more than queued.min.messages (100,000, counted over
    # all partitions) and looks again after fetch.queue.backoff.ms. The default, 1 s, measures the client's pacing
    # instead of the broker; 0 makes its broker thread spin on the queue's lock while the application drains it
    # (rd_kafka_toppar_fetch_backoff returns "now", so the serve loop polls with no timeout), which halved the
    # consumption rate from any broker that answers in large chunks quickly. 1 ms avoids both, for every broker.
    bootstrap, client = store
    consumer = Consumer(
        {
            **client,
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{topic}{group}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.queue.backoff.ms": 1,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    started = None
    deadline = time.monotonic() + 300
    while seen < messages and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=10_000, timeout=1.0)
        if batch and started is None:
            started = time.perf_counter()
        # Counted without a Python loop per message (the issue's point: such a loop caps every broker alike);
        # error events, which a batch may carry, are rare and counted out on the slow path.
        seen += len(batch)
        if any(map(Message.error, batch)):
            seen -= sum(1 for message in batch if message.error() is not None)
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    if seen < messages:
        raise RuntimeError(f"consumed {seen} of {messages}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.messages
    megabytes = n * len(VALUE) / 1e6
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        brokers = {
            "hub_fsync": lambda: hub(Path(tmp) / "fsync", os_flush=False),
            "hub_os_flush": lambda: hub(Path(tmp) / "osflush", os_flush=True),
            "hub_tls": lambda: hub(Path(tmp) / "tls", os_flush=True, tls=CertificateAuthority(Path(tmp))),
            "tansu": tansu,
        }
        for partitions in (1, 8):
            for name, start in brokers.items():
                with start() as store:
                    # A pass lasts about a second or less, so one stall of the client or the machine weighs a lot:
                    # the best of three produce passes (each to a new topic) and of five consume passes.
                    topic = f"bench-{partitions}"
                    produce_s = min(
                        produce(store, f"{topic}-{attempt}" if attempt else topic, partitions, n)
                        for attempt in range(3)
                    )
                    consume_s = min(consume(store, topic, n, group=f"-{attempt}") for attempt in range(5))
                results[f"{name}_p{partitions}"] = (produce_s, consume_s)
                figure(f"{name}_p{partitions}_produce", n / produce_s, "msgs/s")
                figure(f"{name}_p{partitions}_produce_mb", megabytes / produce_s, "MB/s")
                figure(f"{name}_p{partitions}_consume", n / consume_s, "msgs/s")
                figure(f"{name}_p{partitions}_consume_mb", megabytes / consume_s, "MB/s")
    for partitions in (1, 8):
        tansu_produce, tansu_consume = results[f"tansu_p{partitions}"]
        for name, target in (("hub_os_flush", 1.0), ("hub_fsync", 0.7)):
            produce_s, consume_s = results[f"{name}_p{partitions}"]
            ratio(f"{name}_vs_tansu_p{partitions}_produce", tansu_produce / produce_s, 1.0, target=target)
            ratio(f"{name}_vs_tansu_p{partitions}_consume", tansu_consume / consume_s, 1.0, target=target)
        plain_produce, plain_consume = results[f"hub_os_flush_p{partitions}"]
        tls_produce, tls_consume = results[f"hub_tls_p{partitions}"]
        ratio(f"hub_tls_vs_plaintext_p{partitions}_produce", plain_produce / tls_produce, 1.0, target=0.7)
        ratio(f"hub_tls_vs_plaintext_p{partitions}_consume", plain_consume / tls_consume, 1.0, target=0.7)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
