"""Three `hub start`s with a cluster's -o settings are one replicated store and one Connect cluster: the same
cluster id on every REST API, one worker group of three, a connector created on one node is known on all, and its
records are replicated (the worker's topics and the data topic have three replicas).
"""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from tests.harness.process import free_port
from tests.rest.conftest import HubStart, launch_hub, wait_hub

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = predicate()
            if found:
                return found
        except Exception as exc:  # a node still starting answers with errors: retry
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


@pytest.fixture
def three_starts(tmp_path: Path) -> Iterator[list[HubStart]]:
    """Three `hub start` processes forming one cluster."""
    voters = ",".join(f"{n}@127.0.0.1:{free_port()}" for n in (1, 2, 3))
    nodes = []
    for n in (1, 2, 3):
        work_dir = tmp_path / f"node-{n}"
        work_dir.mkdir()
        cluster = ("-o", f"node.id={n}", "-o", f"controller.quorum.voters={voters}")
        nodes.append(launch_hub(work_dir, *cluster, "-o", "group.initial.rebalance.delay.ms=0"))
    try:
        yield [wait_hub(node) for node in nodes]
    finally:
        for node in nodes:  # all at once: the last voters standing wait for each other's controlled shutdowns
            node.process.send_signal(signal.SIGTERM)
        for node in nodes:
            assert node.process.wait(60) == 0, node.log_path.read_text()[-3000:]


def test_three_hub_starts_are_one_store_and_one_worker_group(three_starts: list[HubStart]) -> None:
    urls = [node.url for node in three_starts]
    ids = _wait(lambda: {_get(url + "/")["kafka_cluster_id"] for url in urls}, 60, "every REST API")
    assert len(ids) == 1
    assert ids != {""}
    config = {
        "connector.class": "Datagen",
        "topic": "clustered",
        "quickstart": "users",
        "max.records": "200",
        "tasks.max": "1",
    }
    _wait(lambda: _post(urls[0] + "/connectors", {"name": "gen", "config": config}), 60, "the connector created")
    for url in urls:
        _wait(lambda url=url: "gen" in _get(url + "/connectors"), 30, f"{url} knowing the connector")
    admin = AdminClient({"bootstrap.servers": three_starts[1].kafka})

    def replicated() -> bool:
        topics = admin.list_topics(timeout=10).topics
        return "clustered" in topics and all(
            len(partition.replicas) == 3 and len(partition.isrs) == 3
            for name in ("clustered", "__consumer_offsets")
            for partition in topics[name].partitions.values()
        )

    _wait(replicated, 60, "the data topic and __consumer_offsets with three in-sync replicas")
    status = _wait(
        lambda: (found := _get(urls[2] + "/connectors/gen/status"))["tasks"] and found, 60, "the task's status"
    )
    assert status["connector"]["state"] == "RUNNING"
    assert {status["connector"]["worker_id"], *(task["worker_id"] for task in status["tasks"])} <= set(urls)
