"""Three `hub start`s with a cluster's -o settings are one replicated store and one Connect cluster: the same
cluster id on every REST API, one worker group of three, a connector created on one node is known on all, and its
records are replicated (the worker's topics and the data topic have three replicas). A node cut off shows in
every node's replication metrics (under-replicated, under min ISR, offline partitions, fenced brokers) until it is
back.
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
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

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


def _gauges(url: str) -> dict[str, float]:
    """The node's unlabelled samples of /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def _replication(urls: list[str]) -> dict[str, float]:
    """Kafka's replication figures of the cluster, as a dashboard reads them: the leaders' gauges summed over the
    nodes, the controllers' (the same on every node) the largest."""
    scraped = [_gauges(url) for url in urls]
    summed = ("underreplicatedpartitions", "underminisrpartitioncount", "atminisrpartitioncount", "leadercount")
    figures = {name: sum(g[f"kafka_server_replicamanager_{name}"] for g in scraped) for name in summed}
    for name in ("offlinepartitionscount", "fencedbrokercount", "activebrokercount", "activecontrollercount"):
        figures[name] = max(g[f"kafka_controller_kafkacontroller_{name}"] for g in scraped)
    figures["controllers"] = sum(g["kafka_controller_kafkacontroller_activecontrollercount"] for g in scraped)
    return figures


def test_a_node_cut_off_shows_in_the_replication_gauges_until_it_is_back(three_starts: list[HubStart]) -> None:
    urls = [node.url for node in three_starts]
    admin = AdminClient({"bootstrap.servers": three_starts[0].kafka})
    _wait(lambda: len(admin.list_topics(timeout=10).brokers) == 3, 60, "three brokers")
    strict = NewTopic("strict", 3, replication_factor=3, config={"min.insync.replicas": "3"})
    alone = NewTopic("alone", 1, replica_assignment=[[3]])
    for future in admin.create_topics([strict, alone]).values():
        future.result(30)

    def healthy() -> dict[str, float] | None:
        figures = _replication(urls)
        whole = (
            figures["underreplicatedpartitions"] == 0
            and figures["offlinepartitionscount"] == 0
            and figures["fencedbrokercount"] == 0
            and figures["underminisrpartitioncount"] == 0
            and figures["atminisrpartitioncount"] >= 3  # "strict": 3 in-sync replicas of min.insync.replicas 3
            and figures["activebrokercount"] == 3
            and figures["controllers"] == 1
        )
        return figures if whole else None

    before = _wait(healthy, 60, "every partition led with all its replicas in sync")
    assert before["leadercount"] >= 4  # "strict" and "alone", besides the worker's topics
    # The console's overview, over the Kafka protocol here: three store nodes, a worker group of three.
    overview = _wait(
        lambda: (found := _get(urls[1] + "/ui/api/overview"))["worker_group"]["state"] == "Stable" and found,
        60,
        "the worker group stable",
    )
    assert sorted(node["id"] for node in overview["nodes"]) == [1, 2, 3]
    assert len(overview["worker_group"]["members"]) == 3
    groups = {group["group"]: group for group in _get(urls[1] + "/ui/api/groups")}
    assert groups[overview["worker_group"]["group"]]["protocol_type"] == "connect"

    three_starts[2].process.send_signal(signal.SIGSTOP)  # node 3 is cut off: its session with the quorum lapses
    try:

        def degraded() -> dict[str, float] | None:
            figures = _replication(urls[:2])
            hurt = (
                figures["fencedbrokercount"] == 1
                and figures["offlinepartitionscount"] >= 1  # "alone" had its only replica on node 3
                and figures["underreplicatedpartitions"] >= 3  # every partition of "strict", now led by 1 or 2
                and figures["underminisrpartitioncount"] >= 3
            )
            return figures if hurt else None

        during = _wait(degraded, 60, "node 3 fenced, its partitions under-replicated or offline")
        assert during["activebrokercount"] == 2
    finally:
        three_starts[2].process.send_signal(signal.SIGCONT)
    after = _wait(healthy, 90, "node 3 back in every ISR and leading 'alone' again")
    assert after["activebrokercount"] == 3
