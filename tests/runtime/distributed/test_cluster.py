"""Real worker processes (`hub worker`) sharing connectors over `hub log serve` and over a broker nobody here wrote
(tansu): even spread, forwarding of writes to the leader, task configs written by the leader, fail-over after
kill -9 without losing source records and with sink offsets resumed, a joining worker taking a share, and an
immediate hand-over on a clean shutdown."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.log.client import NewTopic, TopicPartition
from hub.log.client.kafka import KafkaClients
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.rest.conftest import start_hub, stop_hub

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SESSION_MS = 4000
DELAY_MS = 2000
# tansu answers a JoinGroup only after half the session timeout and a follower's SyncGroup within 80 % of it, so
# its workers need a longer session than Hub's.
TANSU_SESSION_MS = 6000


@dataclass(frozen=True)
class Store:
    """Where the workers keep their group, configs, offsets and statuses."""

    bootstrap: str
    session_ms: int


@pytest.fixture(params=["hub"])
def store(request: pytest.FixtureRequest) -> Store:
    """`hub log serve` by default; tests parametrized with "tansu" run on the kafka_broker fixture instead."""
    if request.param == "tansu":
        return Store(request.getfixturevalue("kafka_broker").bootstrap, TANSU_SESSION_MS)
    return Store(request.getfixturevalue("hub_server").bootstrap, SESSION_MS)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


def _start_worker(tmp: Path, bootstrap: str, group: str, properties: Path) -> Worker:
    port = free_port()
    log = tmp / f"worker-{port}.log"
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "worker",
        "--bootstrap-servers",
        bootstrap,
        "--group-id",
        group,
        "--rest-listener",
        f"127.0.0.1:{port}",
        "--config",
        str(properties),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return Worker(process, url, log)
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")


def _wait(check: Callable[[], Any], what: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def _wait_running(
    url: str,
    names: list[str],
    workers: set[str],
    what: str,
    timeout_s: float,
    also: Callable[[dict[str, tuple[str, str]]], bool] = lambda states: True,
) -> dict[str, tuple[str, str]]:
    def check() -> dict[str, tuple[str, str]] | None:
        states = _all_running(url, names, workers)
        return states if states is not None and also(states) else None

    try:
        return _wait(check, what, timeout_s)  # type: ignore[no-any-return]
    except AssertionError:
        raise AssertionError(f"{what}: want {sorted(workers)}, have {_states(url, names)}") from None


@dataclass
class Cluster:
    workers: list[Worker]
    add: Callable[[], Worker]
    store: Store
    group: str


@pytest.fixture
def cluster(store: Store, tmp_path: Path) -> Iterator[Cluster]:
    group = f"cluster-{uuid.uuid4().hex[:6]}"
    properties = tmp_path / "worker.properties"
    properties.write_text(
        f"config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\n"
        f"status.storage.topic={group}-status\noffset.flush.interval.ms=300\n"
        f"session.timeout.ms={store.session_ms}\nheartbeat.interval.ms=500\n"
        f"scheduled.rebalance.max.delay.ms={DELAY_MS}\n"
        "consumer.session.timeout.ms=6000\nconsumer.heartbeat.interval.ms=500\n"
    )
    workers: list[Worker] = []

    def add() -> Worker:
        worker = _start_worker(tmp_path, store.bootstrap, group, properties)
        workers.append(worker)
        return worker

    for _ in range(3):
        add()
    yield Cluster(workers, add, store, group)
    for worker in workers:
        if worker.alive():
            worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(60)
        except subprocess.TimeoutExpired:
            worker.process.kill()


def _states(url: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """work unit -> (state, worker) for every connector and task of ``names``."""
    found: dict[str, tuple[str, str]] = {}
    for name in names:
        status = httpx.get(f"{url}/connectors/{name}/status", timeout=10).json()
        found[name] = (status["connector"]["state"], status["connector"]["worker_id"])
        for task in status["tasks"]:
            found[f"{name}-{task['id']}"] = (task["state"], task["worker_id"])
    return found


def _all_running(url: str, names: list[str], workers: set[str]) -> dict[str, tuple[str, str]] | None:
    states = _states(url, names)
    complete = len(states) == 2 * len(names)
    if complete and all(state == "RUNNING" and worker in workers for state, worker in states.values()):
        return states
    return None


def _write(method: str, url: str, body: Any = None) -> httpx.Response:
    """A write through any worker, retried while it answers 409 (no leader known: one is being chosen)."""
    deadline = time.monotonic() + 30
    while True:
        response = httpx.request(method, url, json=body, timeout=60)
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def _runner(states: dict[str, tuple[str, str]], unit: str) -> str:
    return states[unit][1]


def _leader(workers: list[Worker]) -> str:
    """The leader named by the newest assignment in any worker's log."""
    found = [(m.start(), m.group(1)) for w in workers for m in re.finditer(r"\(leader (\S+)\)", w.log.read_text())]
    return found[-1][1] if found else ""


def _read_topics(bootstrap: str, topics: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every record so far of the one-partition ``topics``: offset, id (the key) and created_at; read until quiet
    (tansu's high watermarks are not to be trusted)."""
    records: dict[str, list[dict[str, Any]]] = {topic: [] for topic in topics}
    with KafkaClients(bootstrap).consumer() as consumer:
        consumer.assign([TopicPartition(topic, 0) for topic in topics])
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 1.5:
            batch = consumer.poll(0.5)
            if batch:
                quiet_since = time.monotonic()
            for record in batch:
                key = json.loads(record.key or b"null")["payload"]
                value = json.loads(record.value or b"null")["payload"]
                records[record.topic].append({"offset": record.offset, "id": key, "created_at": value["created_at"]})
    return records


def _assert_no_record_lost(records: list[dict[str, Any]], topic: str) -> None:
    """At least once: every id the source numbered, from 1 up to the last, is in its topic."""
    ids = {record["id"] for record in records}
    assert ids, f"{topic} is empty"
    missing = sorted(set(range(1, max(ids) + 1)) - ids)
    assert not missing, f"{topic} lost {len(missing)} record(s): {missing[:20]}"


def _assert_sink_resumed(lines: list[str], records: list[dict[str, Any]]) -> int:
    """The sink wrote its topic from the start with no record skipped: reading on, or going back to a committed
    offset after its task moved (the duplicates of its last uncommitted batch). Returns how many it repeated."""
    offsets = {(record["id"], record["created_at"]): record["offset"] for record in records}
    written = []
    for line in lines:
        fields = dict(re.findall(r"(\w+)=(\d+)", line))
        written.append(offsets[(int(fields["id"]), int(fields["created_at"]))])
    assert written[0] == records[0]["offset"], "the sink did not start at the beginning of its topic"
    repeated = 0
    for before, after in itertools.pairwise(written):
        assert after <= before + 1, f"the sink skipped offsets {before + 1}..{after - 1}"
        repeated += before + 1 - after
    assert written[-1] == records[-1]["offset"], "the sink did not reach the end of its topic"
    return repeated


@pytest.mark.parametrize("store", ["hub", "tansu"], indirect=True)
def test_workers_share_fail_over_and_hand_over_without_losing_records(cluster: Cluster, tmp_path: Path) -> None:
    workers, store = cluster.workers, cluster.store
    sources = [f"gen{i}" for i in range(5)]
    names = [*sources, "sink"]
    topics = {name: f"{cluster.group}-{name}" for name in sources}
    with KafkaClients(store.bootstrap).admin() as admin:  # one partition each: ids keep their order
        admin.create_topics([NewTopic(topic, 1) for topic in topics.values()])
    sink_file = tmp_path / "sink.txt"
    configs = {
        name: {"connector.class": "Datagen", "topic": topics[name], "rate": "20", "tasks.max": "1"} for name in sources
    }
    configs["sink"] = {"connector.class": "FileStreamSink", "topics": topics["gen0"], "file": str(sink_file)}
    for index, name in enumerate(names):  # writes through every worker: the non-leaders forward them
        response = _write("POST", f"{workers[index % 3].url}/connectors", {"name": name, "config": configs[name]})
        assert response.status_code == 201, response.text
    urls = {worker.url for worker in workers}
    states = _wait_running(workers[0].url, names, urls, "12 units running", 90)
    assert sorted(Counter(worker for _, worker in states.values()).values()) == [4, 4, 4]

    # Task configs are generated where the connector runs and written by the leader.
    leader = _leader(workers)
    by_url = {worker.url: worker for worker in workers}
    assert all(f"leader {leader} wrote 1 task config(s) of {name}" in by_url[leader].log.read_text() for name in names)
    elsewhere = [name for name in names if _runner(states, name) != leader]
    assert elsewhere
    others = "".join(worker.log.read_text() for worker in workers if worker.url != leader)
    assert all(f"sent 1 task config(s) of {name} to the leader {leader}" in others for name in elsewhere)

    # kill -9 of the worker running the sink's task.
    victim = next(worker for worker in workers if worker.url == _runner(states, "sink-0"))
    sink_lines_before = len(sink_file.read_text().splitlines()) if sink_file.exists() else 0
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(10)
    killed = time.monotonic()
    survivors = [worker for worker in workers if worker is not victim]
    reader = survivors[0].url
    alive = {worker.url for worker in survivors}
    limit_s = (store.session_ms + DELAY_MS) / 1000 + 15
    states = _wait(lambda: _all_running(reader, names, alive), "fail-over", limit_s + 5)
    assert time.monotonic() - killed < limit_s
    assert sorted(Counter(worker for _, worker in states.values()).values()) == [6, 6]
    _wait(lambda: len(sink_file.read_text().splitlines()) > sink_lines_before + 20, "the moved sink writing", 30)

    # A 4th worker takes a share; only what it takes moves.
    before = states
    fourth = cluster.add()
    grown = alive | {fourth.url}
    states = _wait_running(
        reader,
        names,
        grown,
        "the new worker's share",
        90,
        also=lambda states: fourth.url in {worker for _, worker in states.values()},
    )
    moved = [unit for unit, (_, worker) in states.items() if worker != before[unit][1]]
    assert all(states[unit][1] == fourth.url for unit in moved)  # only what the new worker took moved

    # A clean shutdown hands the work over at once, without waiting for the session timeout or the delay.
    leaving = survivors[1]
    leaving.process.send_signal(signal.SIGTERM)
    assert leaving.process.wait(60) == 0
    left = time.monotonic()
    remaining = {reader, fourth.url}
    _wait_running(reader, names, remaining, "the hand-over", 30)
    assert time.monotonic() - left < store.session_ms / 1000
    assert "handed its work over" in leaving.log.read_text()

    # At least once: no source lost a record through the moves; the sink went on from its committed offsets.
    for name in sources:
        assert _write("PUT", f"{reader}/connectors/{name}/pause").status_code == 202  # the leader may be new
    _wait(
        lambda: all(
            httpx.get(f"{reader}/connectors/{name}/status", timeout=10).json()["tasks"][0]["state"] == "PAUSED"
            for name in sources
        ),
        "the sources paused",
        30,
    )
    time.sleep(1.0)  # what they produced last is written by now
    written = _read_topics(store.bootstrap, list(topics.values()))
    for topic, records in written.items():
        _assert_no_record_lost(records, topic)
    records = written[topics["gen0"]]
    _wait(lambda: sink_file.read_text().count("\n") >= len(records), "the sink to catch up", 30)
    repeated = _assert_sink_resumed(sink_file.read_text().splitlines(), records)
    assert repeated <= 50, f"the sink repeated {repeated} records, more than its last uncommitted batch"


def test_a_frozen_worker_stops_its_old_work_when_it_wakes(cluster: Cluster) -> None:
    workers = cluster.workers
    names = [f"frz{i}" for i in range(3)]
    for name in names:
        config = {"connector.class": "Datagen", "topic": f"dist-{name}", "rate": "20", "tasks.max": "1"}
        assert (
            httpx.post(f"{workers[0].url}/connectors", json={"name": name, "config": config}, timeout=60).status_code
            == 201
        )
    urls = {worker.url for worker in workers}
    _wait_running(workers[0].url, names, urls, "6 units running", 60)
    frozen = workers[2]
    frozen.process.send_signal(signal.SIGSTOP)
    try:
        survivors = {workers[0].url, workers[1].url}
        _wait_running(
            workers[0].url, names, survivors, "the frozen worker's work elsewhere", (SESSION_MS + DELAY_MS) / 1000 + 20
        )
    finally:
        frozen.process.send_signal(signal.SIGCONT)
    # On waking, its tasks must not run next to their new owners: it stops them before anything else.
    _wait(
        lambda: "stopping all work before rejoining" in frozen.log.read_text(), "the frozen worker to fence itself", 15
    )
    _wait_running(workers[0].url, names, urls, "every unit running once again", 60)


def test_hub_start_is_a_cluster_of_one_that_workers_join(tmp_path: Path) -> None:
    (tmp_path / "start").mkdir()
    (tmp_path / "joiner.properties").write_text("offset.flush.interval.ms=300\n")
    hub = start_hub(tmp_path / "start", "--remote-workers")
    try:
        joined = _start_worker(tmp_path, hub.kafka, "connect-cluster", tmp_path / "joiner.properties")
        try:
            names = [f"one{i}" for i in range(2)]
            for name in names:
                config = {"connector.class": "Datagen", "topic": f"one-{name}", "rate": "10", "tasks.max": "1"}
                response = httpx.post(f"{joined.url}/connectors", json={"name": name, "config": config}, timeout=60)
                assert response.status_code == 201, response.text  # forwarded to hub start, the leader
            states = _wait_running(
                hub.url,
                names,
                {hub.url, joined.url},
                "work on both",
                60,
                also=lambda s: {w for _, w in s.values()} == {hub.url, joined.url},
            )
            assert len(states) == 4
        finally:
            joined.process.send_signal(signal.SIGTERM)
            assert joined.process.wait(60) == 0
    finally:
        stop_hub(hub)


def test_without_a_leader_writes_get_409_and_health_says_starting(hub_server: HubServer, tmp_path: Path) -> None:
    # A session timeout the store refuses keeps this worker out of its group: no leader is ever known.
    properties = tmp_path / "lonely.properties"
    properties.write_text("session.timeout.ms=500\nheartbeat.interval.ms=100\n")
    port = free_port()
    group = f"lonely-{uuid.uuid4().hex[:6]}"
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "worker",
        "--bootstrap-servers",
        hub_server.bootstrap,
        "--group-id",
        group,
        "--rest-listener",
        f"127.0.0.1:{port}",
        "--config",
        str(properties),
    ]
    with (tmp_path / "lonely.log").open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        health = _wait(lambda: httpx.get(url + "/health", timeout=2), "the REST API", 60)
        assert health.status_code == 503
        assert health.json()["status"] == "starting"
        config = {"connector.class": "Datagen", "topic": "t"}
        answer = httpx.post(url + "/connectors", json={"name": "x", "config": config}, timeout=30)
        assert answer.status_code == 409
        assert "Retry" in answer.json()["message"]
        assert httpx.get(url + "/connectors", timeout=10).json() == []  # reads still work
        assert "INVALID_SESSION_TIMEOUT" in (tmp_path / "lonely.log").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0


def test_every_worker_rejoins_when_the_work_changes_without_waiting_for_a_heartbeat(
    hub_server: HubServer, tmp_path: Path
) -> None:
    # Heartbeats far apart: a follower that learned of a rebalance only from one would leave the new connector's
    # tasks unassigned for up to 30 s (twice: once for the connector, once for its task configs).
    group = f"prompt-{uuid.uuid4().hex[:6]}"
    properties = tmp_path / "prompt.properties"
    properties.write_text(
        f"config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\n"
        f"status.storage.topic={group}-status\nsession.timeout.ms=90000\nheartbeat.interval.ms=30000\n"
    )
    workers = [_start_worker(tmp_path, hub_server.bootstrap, group, properties) for _ in range(2)]
    try:
        urls = {worker.url for worker in workers}

        def both_assigned() -> bool:
            lines = [line for w in workers for line in w.log.read_text().splitlines() if "assigned generation" in line]
            return bool(lines) and all(url in lines[-1] for url in urls)

        _wait(both_assigned, "both workers in one generation", 60)
        config = {"connector.class": "Datagen", "topic": f"{group}-data", "rate": "5", "tasks.max": "3"}
        created = _write("POST", f"{workers[1].url}/connectors", {"name": "prompt", "config": config})
        assert created.status_code == 201, created.text

        def spread_and_running() -> dict[str, tuple[str, str]] | None:
            try:
                states = _states(workers[0].url, ["prompt"])
            except KeyError:  # not read by this worker yet
                return None
            running = len(states) == 4 and all(state == "RUNNING" for state, _ in states.values())
            return states if running and {worker for _, worker in states.values()} == urls else None

        _wait(spread_and_running, "the connector and its tasks running on both workers before a heartbeat", 20)
    finally:
        for worker in workers:
            worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.process.wait(60) == 0
