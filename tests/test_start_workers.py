"""`hub start --workers N`: N child worker processes in `hub start`'s group share the tasks while `hub start`'s own
worker (beside the store) runs none, the REST API on the one port answers for all of them, a child killed with
kill -9 is replaced and its tasks move to the other child, SIGTERM stops every process cleanly, and the children
of a `hub start` killed with kill -9 do not outlive it."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.hub import FAST_GROUPS
from tests.rest.conftest import HubStart, launch_hub, start_hub, stop_hub, wait_hub

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUP_CONFIG = "session.timeout.ms=4000\nheartbeat.interval.ms=500\nscheduled.rebalance.max.delay.ms=1000\n"
TASKS = 6
READY = re.compile(r"worker process (\d+) \(pid (\d+)\) ready at (\S+)")


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 90) -> Any:
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


def _children(hub: HubStart) -> dict[str, int]:
    """Each ready child's URL (its worker id) and pid, the latest per slot, from `hub start`'s log."""
    latest: dict[str, tuple[str, int]] = {}
    for slot, pid, url in READY.findall(hub.log_path.read_text()):
        latest[slot] = (url, int(pid))
    return dict(latest.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _task_workers(hub: HubStart, name: str) -> list[str] | None:
    """The worker id of each task when every one is RUNNING, else None."""
    status = httpx.get(f"{hub.url}/connectors/{name}/status", timeout=10).json()
    tasks = status.get("tasks", [])
    if len(tasks) != TASKS or any(task["state"] != "RUNNING" for task in tasks):
        return None
    return [task["worker_id"] for task in tasks]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubStart]:
    started = launch_hub(tmp_path, "--workers", "2", *FAST_GROUPS, config=GROUP_CONFIG)
    try:
        yield wait_hub(started)
    finally:
        if started.process.poll() is None:
            started.process.kill()
            started.process.wait(30)
        for pid in _children(started).values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _create_source(hub: HubStart, name: str) -> None:
    config = {"connector.class": "Datagen", "topic": f"{name}-out", "rate": "20", "tasks.max": str(TASKS)}
    response = httpx.post(f"{hub.url}/connectors", json={"name": name, "config": config}, timeout=60)
    assert response.status_code == 201, response.text


def test_tasks_spread_over_the_processes_and_one_killed_moves_its_tasks(hub: HubStart) -> None:
    children = _wait(lambda: len(_children(hub)) == 2 and _children(hub), "two ready children")
    _create_source(hub, "spread")
    placed = _wait(
        lambda: (found := _task_workers(hub, "spread")) and set(found) == set(children) and found,
        "the tasks running on both children",
    )
    assert sorted(placed.count(worker) for worker in children) == [3, 3]  # and none on hub start's own worker

    victim_url = next(url for url in children if url in placed)
    os.kill(children[victim_url], signal.SIGKILL)
    moved = _wait(
        lambda: (found := _task_workers(hub, "spread")) and victim_url not in found and found,
        "the killed worker's tasks running elsewhere",
    )
    assert len(moved) == TASKS
    assert hub.url not in moved  # they went to the other child, not to the store's process
    # The REST API on the one port kept answering, and the dead child was replaced by a new one.
    _wait(lambda: len(_children(hub)) == 2 and victim_url not in _children(hub), "a replacement child")
    assert "exited with code -9; starting another" in hub.log_path.read_text()
    stop_hub(hub)


def test_sigterm_stops_every_process_cleanly(hub: HubStart) -> None:
    children = _wait(lambda: len(_children(hub)) == 2 and _children(hub), "two ready children")
    _create_source(hub, "clean")
    _wait(lambda: (found := _task_workers(hub, "clean")) and set(found) == set(children), "tasks on both children")
    stop_hub(hub)  # asserts exit code 0
    assert not [pid for pid in children.values() if _alive(pid)]
    log = hub.log_path.read_text()
    assert "while stopping" not in log  # every child exited 0 within the timeout
    assert "starting another" not in log
    assert log.count("received SIGTERM, shutting down") == 3


def test_children_of_a_killed_hub_start_stop(hub: HubStart) -> None:
    children = _wait(lambda: len(_children(hub)) == 2 and _children(hub), "two ready children")
    hub.process.kill()
    hub.process.wait(30)
    _wait(lambda: not [pid for pid in children.values() if _alive(pid)], "the children to exit", timeout_s=60)
    assert "hub start has gone; stopping" in hub.log_path.read_text()


def test_one_worker_runs_no_child_process(tmp_path: Path) -> None:
    hub = start_hub(tmp_path, "--workers", "1")
    try:
        _create_source(hub, "alone")
        placed = _wait(lambda: _task_workers(hub, "alone"), "the tasks running")
        assert set(placed) == {hub.url}
    finally:
        stop_hub(hub)
    assert "worker process" not in hub.log_path.read_text()
