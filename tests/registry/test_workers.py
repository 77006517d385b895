"""The registry of a worker group: two `hub worker` processes over one `hub log serve` answer from the same
`_schemas` topic, and registrations sent to either get ids unique across both (the follower forwards its writes
to the leader)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from tests.harness.hub import HubServer
from tests.harness.process import free_port

pytestmark = pytest.mark.integration


def _start_worker(tmp: Path, bootstrap: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = tmp / f"worker-{port}.log"
    properties = tmp / "worker.properties"
    properties.write_text("session.timeout.ms=4000\nheartbeat.interval.ms=500\n")
    argv = [sys.executable, "-m", "hub.cli", "worker", "--bootstrap-servers", bootstrap, "--group-id", "registry"]
    argv += ["--rest-listener", f"127.0.0.1:{port}", "--config", str(properties)]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")


def _until_tailed(url: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(httpx.get(url + "/subjects", timeout=10).json()) < count and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def workers(hub_server: HubServer, tmp_path: Path) -> Iterator[list[str]]:
    started = [_start_worker(tmp_path, hub_server.bootstrap) for _ in range(2)]
    try:
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(60)


def test_registrations_through_either_worker_get_unique_ids(workers: list[str]) -> None:
    clients = [SchemaRegistryClient({"url": url}) for url in workers]
    ids = []
    for n in range(6):
        schema = {"type": "record", "name": f"R{n}", "fields": [{"name": "a", "type": "int"}]}
        ids.append(clients[n % 2].register_schema(f"s{n}", Schema(json.dumps(schema), "AVRO")))

    assert sorted(ids) == list(range(1, 7))
    for url, client in zip(workers, clients, strict=True):
        _until_tailed(url, 6)  # a worker answers from the topic as it has read it so far
        assert sorted(client.get_subjects()) == [f"s{n}" for n in range(6)]
        assert [client.get_latest_version(f"s{n}").schema_id for n in range(6)] == ids
