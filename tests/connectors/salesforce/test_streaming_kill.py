"""kill -9 of a `hub standalone` worker running the CDC source (the store in a `hub log serve` of its own, so only
the worker dies): killed once it stored a replay id, with changes still coming, the restarted worker resumes from
the stored replay id — with ``salesforce.initial.start=latest``, so a restart that ignored it would lose the changes
made while it was down — and every change made before, during and after the crash is in the topic, in order."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from simple_salesforce import Salesforce

from tests.connectors.conftest import wait_for
from tests.connectors.salesforce.streaming_support import connection_options, fresh_object
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BEFORE = 20
DURING = 20


def _plugin_path(tmp_path: Path) -> str:
    """A directory whose distribution names the Salesforce plugin's entry point, for a Hub whose installed entry
    points predate it ('' when they have it)."""
    if any(entry.name == "salesforce" for entry in importlib.metadata.entry_points(group="hub")):
        return ""
    info = tmp_path / "plugins" / "hub_salesforce_tests-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-salesforce-tests\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[hub]\nsalesforce = connectors.salesforce.plugin\n")
    return str(tmp_path / "plugins")


def _start(tmp_path: Path, plugin_path: str) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "standalone",
        str(tmp_path / "worker.properties"),
        str(tmp_path / "c.json"),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [plugin_path, env.get("PYTHONPATH", ""), os.getcwd()]))
    with (tmp_path / "hub.log").open("ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)


def _ids_in(bootstrap: str, topic: str) -> list[str]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.monotonic_ns()}"})
    try:
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=5)
        except KafkaException:
            return []
        consumer.assign([TopicPartition(topic, 0, low)])
        ids: list[str] = []
        while len(ids) < high - low:
            message = consumer.poll(5)
            if message is None:
                break
            if message.error() is None:
                ids.append(json.loads(message.value())["payload"]["Id"])
        return ids
    finally:
        consumer.close()


def _stored_offsets(bootstrap: str, connector: str) -> list[dict[str, object]]:
    """The source offsets the worker stored for ``connector`` in the store's ``connect-offsets`` topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"offsets-{time.monotonic_ns()}"})
    try:
        topic = consumer.list_topics("connect-offsets", timeout=5).topics.get("connect-offsets")
        if topic is None or topic.error is not None:
            return []
        found: list[dict[str, object]] = []
        for partition in topic.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition("connect-offsets", partition), timeout=5)
            if high <= low:
                continue
            consumer.assign([TopicPartition("connect-offsets", partition, low)])
            for _ in range(high - low):
                message = consumer.poll(5)
                if message is None:
                    break
                if message.error() is None and message.key() and connector in message.key().decode():
                    found.append(json.loads(message.value()))
        return found
    finally:
        consumer.close()


def test_kill_9_mid_stream_then_resume_from_the_stored_replay_id(
    tmp_path: Path, salesforce_server: SalesforceServer, sf: Salesforce, hub_server: HubServer
) -> None:
    if not salesforce_server.control:
        pytest.skip("creates its object through the local test server's control API")
    sobject = fresh_object(salesforce_server)
    topic = f"cdc-{time.monotonic_ns()}"
    (tmp_path / "worker.properties").write_text(
        f"bootstrap.servers={hub_server.bootstrap}\nlisteners=http://127.0.0.1:{free_port()}\n"
        "offset.flush.interval.ms=200\n"
    )
    config = {
        "connector.class": "SalesforceCdcSource",
        **connection_options(salesforce_server),
        "salesforce.cdc.name": sobject[:-1] + "ChangeEvent",
        "salesforce.initial.start": "latest",  # a restart that ignored the stored replay id would lose changes
        "hub.salesforce.batch.max.events": "3",
        "kafka.topic": topic,
    }
    (tmp_path / "c.json").write_text(json.dumps({"name": "cdc-kill", "config": config}))
    api = getattr(sf, sobject)
    plugin_path = _plugin_path(tmp_path)
    process = _start(tmp_path, plugin_path)

    def log_tail() -> str:
        return (tmp_path / "hub.log").read_text(errors="replace")[-4000:]

    try:
        wait_for(lambda: "subscribed to /data/" in log_tail(), 60, log_tail)
        created = [api.create({"Name": f"before {n}"})["id"] for n in range(BEFORE)]
        wait_for(lambda: _stored_offsets(hub_server.bootstrap, "cdc-kill"), 60, log_tail)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        created += [api.create({"Name": f"during {n}"})["id"] for n in range(DURING)]
        process = _start(tmp_path, plugin_path)
        wait_for(lambda: set(_ids_in(hub_server.bootstrap, topic)) >= set(created), 60, log_tail)
        created.append(api.create({"Name": "after"})["id"])
        wait_for(lambda: created[-1] in _ids_in(hub_server.bootstrap, topic), 60, log_tail)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log_tail()
    found = _ids_in(hub_server.bootstrap, topic)
    assert set(found) == set(created), "no change lost"
    first_seen = list(dict.fromkeys(found))
    assert first_seen == created, "changes in commit order (repeats only after the crash point)"
