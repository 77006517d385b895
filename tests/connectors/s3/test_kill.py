"""kill -9 of a `hub standalone` worker while S3Sink archives a topic (the approach of tests/runtime/test_crash.py,
with the store in a `hub log serve` of its own so only the worker dies): after restarts, every record of every
partition is in exactly one object, in order, and every object is complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.connectors.conftest import wait_for
from tests.connectors.s3.conftest import objects, s3_client, store_config
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.harness.servers import S3Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTITIONS = 3
PER_PARTITION = 3000
FLUSH_SIZE = 25
OBJECTS = PARTITIONS * PER_PARTITION // FLUSH_SIZE


def _start(tmp_path: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "standalone",
        str(tmp_path / "worker.properties"),
        str(tmp_path / "sink.json"),
    ]
    with (tmp_path / "hub.log").open("ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))


def _produce(bootstrap: str, topic: str) -> None:
    """3000 records to each partition, values ``pP-NNNNN`` as JSON with schemas (the worker's converters)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for number in range(PER_PARTITION):
        for partition in range(PARTITIONS):
            value = {"schema": {"type": "string", "optional": False}, "payload": f"p{partition}-{number:05d}"}
            producer.produce(topic, value=json.dumps(value).encode(), partition=partition)
        producer.poll(0)
    assert producer.flush(60) == 0


def test_kill_9_while_archiving_leaves_every_record_in_exactly_one_complete_object(
    tmp_path: Path, s3_server: S3Server, hub_server: HubServer
) -> None:
    bucket = f"hub-kill-{os.getpid()}-{time.monotonic_ns()}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    topic = f"events-{time.monotonic_ns()}"
    (tmp_path / "worker.properties").write_text(
        f"bootstrap.servers={hub_server.bootstrap}\nlisteners=http://127.0.0.1:{free_port()}\n"
        "offset.flush.interval.ms=300\nconsumer.session.timeout.ms=1500\nconsumer.heartbeat.interval.ms=300\n"
    )
    (tmp_path / "sink.json").write_text(
        json.dumps(
            {
                "name": f"archive-{bucket}",
                "config": {
                    "connector.class": "S3Sink",
                    "topics": topic,
                    "tasks.max": "2",
                    **store_config(s3_server, bucket),
                    "format.class": "JsonFormat",
                    "flush.size": str(FLUSH_SIZE),
                },
            }
        )
    )
    _produce(hub_server.bootstrap, topic)
    process = _start(tmp_path)
    killed_with: list[int] = []

    def log_tail() -> str:
        return (tmp_path / "hub.log").read_text(errors="replace")[-4000:]

    try:
        for kill_at in (OBJECTS // 6, OBJECTS // 2):
            wait_for(lambda n=kill_at: len(_keys(s3_server, bucket)) >= n, 60, log_tail)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            killed_with.append(len(_keys(s3_server, bucket)))
            process = _start(tmp_path)
        wait_for(lambda: len(_keys(s3_server, bucket)) >= OBJECTS, 60, log_tail)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log_tail()

    assert all(count < OBJECTS for count in killed_with), f"killed mid-stream: {killed_with} of {OBJECTS} objects"
    found = objects(s3_server, bucket)
    assert len(found) == OBJECTS, "no object twice under another name"
    for partition in range(PARTITIONS):
        prefix = f"topics/{topic}/partition={partition}/{topic}+{partition}+"
        mine = sorted(key for key in found if key.startswith(prefix))
        expected_starts = list(range(0, PER_PARTITION, FLUSH_SIZE))
        assert [int(key[len(prefix) : -len(".json")]) for key in mine] == expected_starts
        values: list[str] = []
        for key in mine:
            lines = found[key].decode().splitlines()
            assert len(lines) == FLUSH_SIZE, f"{key} is incomplete"
            values += [json.loads(line) for line in lines]
        assert values == [f"p{partition}-{n:05d}" for n in range(PER_PARTITION)], "no record missing or repeated"


def _keys(server: S3Server, bucket: str) -> list[str]:
    pages = s3_client(server).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", ())]
