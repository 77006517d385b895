"""Real worker processes (`hub worker`) sharing connectors over `hub log serve`: even spread, forwarding of writes
to the leader, failover after kill -9, and an immediate hand-over on a clean shutdown."""

from __future__ import annotations

import os
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

from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.rest.conftest import start_hub, stop_hub

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SESSION_MS = 4000
DELAY_MS = 2000


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
    argv = [sys.executable, "-m", "hub.cli", "worker", "--bootstrap-servers", bootstrap, "--group-id", group,
            "--rest-listener", f"127.0.0.1:{port}", "--config", str(properties)]  # fmt: skip
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


@pytest.fixture
def cluster(hub_server: HubServer, tmp_path: Path) -> Iterator[tuple[list[Worker], Callable[[], Worker]]]:
    group = f"cluster-{uuid.uuid4().hex[:6]}"
    properties = tmp_path / "worker.properties"
    properties.write_text(
        f"config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\n"
        f"status.storage.topic={group}-status\noffset.flush.interval.ms=300\nsession.timeout.ms={SESSION_MS}\n"
        f"heartbeat.interval.ms=500\nscheduled.rebalance.max.delay.ms={DELAY_MS}\n"
        "consumer.session.timeout.ms=6000\nconsumer.heartbeat.interval.ms=500\n"
    )
    workers: list[Worker] = []

    def add() -> Worker:
        worker = _start_worker(tmp_path, hub_server.bootstrap, group, properties)
        workers.append(worker)
        return worker

    for _ in range(3):
        add()
    yield workers, add
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


def test_workers_share_fail_over_and_hand_over(cluster: tuple[list[Worker], Callable[[], Worker]]) -> None:
    workers, add = cluster
    names = [f"gen{i}" for i in range(6)]
    for index, name in enumerate(names):  # writes through every worker: the non-leaders forward them
        config = {"connector.class": "Datagen", "topic": f"dist-{name}", "rate": "20", "tasks.max": "1"}
        response = httpx.post(f"{workers[index % 3].url}/connectors", json={"name": name, "config": config},
                              timeout=60)  # fmt: skip
        assert response.status_code == 201, response.text
    urls = {worker.url for worker in workers}
    states = _wait_running(workers[0].url, names, urls, "12 units running", 60)
    assert sorted(Counter(worker for _, worker in states.values()).values()) == [4, 4, 4]

    victim = workers[2]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(10)
    killed = time.monotonic()
    survivors = {workers[0].url, workers[1].url}
    states = _wait(
        lambda: _all_running(workers[0].url, names, survivors), "fail-over", (SESSION_MS + DELAY_MS) / 1000 + 20
    )
    assert time.monotonic() - killed < (SESSION_MS + DELAY_MS) / 1000 + 15
    assert sorted(Counter(worker for _, worker in states.values()).values()) == [6, 6]

    before = states
    fourth = add()
    grown = survivors | {fourth.url}
    states = _wait_running(workers[0].url, names, grown, "the new worker's share", 60,
                           also=lambda states: fourth.url in {worker for _, worker in states.values()})  # fmt: skip
    moved = [unit for unit, (_, worker) in states.items() if worker != before[unit][1]]
    assert all(states[unit][1] == fourth.url for unit in moved)  # only what the new worker took moved

    leaving = workers[1]
    leaving.process.send_signal(signal.SIGTERM)
    assert leaving.process.wait(60) == 0
    left = time.monotonic()
    remaining = {workers[0].url, fourth.url}
    _wait_running(workers[0].url, names, remaining, "the hand-over", 30)
    assert time.monotonic() - left < SESSION_MS / 1000  # a clean leave does not wait for the session timeout


def test_a_frozen_worker_stops_its_old_work_when_it_wakes(cluster: tuple[list[Worker], Callable[[], Worker]]) -> None:
    workers, _ = cluster
    names = [f"frz{i}" for i in range(3)]
    for name in names:
        config = {"connector.class": "Datagen", "topic": f"dist-{name}", "rate": "20", "tasks.max": "1"}
        assert httpx.post(f"{workers[0].url}/connectors", json={"name": name, "config": config},
                          timeout=60).status_code == 201  # fmt: skip
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
    hub = start_hub(tmp_path / "start")
    try:
        joined = _start_worker(tmp_path, hub.kafka, "connect-cluster", tmp_path / "joiner.properties")
        try:
            names = [f"one{i}" for i in range(2)]
            for name in names:
                config = {"connector.class": "Datagen", "topic": f"one-{name}", "rate": "10", "tasks.max": "1"}
                response = httpx.post(f"{joined.url}/connectors", json={"name": name, "config": config}, timeout=60)
                assert response.status_code == 201, response.text  # forwarded to hub start, the leader
            states = _wait_running(hub.url, names, {hub.url, joined.url}, "work on both", 60,
                                   also=lambda s: {w for _, w in s.values()} == {hub.url, joined.url})  # fmt: skip
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
    argv = [sys.executable, "-m", "hub.cli", "worker", "--bootstrap-servers", hub_server.bootstrap, "--group-id",
            group, "--rest-listener", f"127.0.0.1:{port}", "--config", str(properties)]  # fmt: skip
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
