"""Automatic and user restarts in a group of two in-process workers: only a task's owner restarts it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.runtime.distributed.assignor import Work
from hub.runtime.distributed.herder import DistributedHerder
from hub.runtime.distributed.task_configs import TaskConfigs, UndeliveredError
from hub.runtime.herder import NotLeaderError
from hub.runtime.plugins import Plugins
from hub.runtime.request_signing import RequestSignature
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from tests.runtime.conftest import FAST_WORKER, wait_for
from tests.runtime.flaky_source import PLUGIN, starts

GROUP_OPTIONS = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "300", "scheduled.rebalance.max.delay.ms": "0"}
FAST_RESTARTS = {
    "hub.task.restart.enabled": "true",
    "hub.task.restart.initial.backoff.ms": "100",
    "hub.task.restart.max.backoff.ms": "200",
}

Join = Callable[[str], DistributedHerder]


@pytest.fixture
def join(tmp_path: Path) -> Iterator[Join]:
    """Starts workers of one group on an embedded store; stops them at the end."""
    node = LogNode(node_config(tmp_path / "store", {"group.initial.rebalance.delay.ms": "0"}))
    node.open()
    clients = EmbeddedClients(node.broker)
    plugins = Plugins.discover(extra=[PLUGIN])
    group = f"g-{uuid.uuid4().hex[:6]}"
    workers: list[DistributedHerder] = []

    def send_to_leader(url: str, name: str, configs: TaskConfigs) -> None:
        """Task configs reach the leader by a direct call here: these workers have no REST API."""
        leader = next((worker for worker in workers if worker.worker_id == url), None)
        try:
            if leader is None:
                raise NotLeaderError(None)
            body = json.dumps(configs).encode()
            signature = RequestSignature.from_headers(leader.sign_request(body), body)
            leader.put_task_configs(name, configs, signature)
        except NotLeaderError as exc:
            raise UndeliveredError(str(exc), retry=True) from None

    def start(worker_id: str) -> DistributedHerder:
        config = WorkerConfig.parse({**FAST_WORKER, **GROUP_OPTIONS, **FAST_RESTARTS, "group.id": group})
        stores = topic_stores(clients, config)
        worker = DistributedHerder(worker_id, config, plugins, clients, *stores, send_task_configs=send_to_leader)
        worker.start()
        worker.wait_until_ready(30)
        workers.append(worker)
        return worker

    yield start
    for worker in reversed(workers):
        worker.stop()
    node.close()


def _owner(workers: list[DistributedHerder], work: Work) -> DistributedHerder | None:
    owners = [worker for worker in workers if work in worker.assignment]
    return owners[0] if len(owners) == 1 else None


def _runs_only_its_own(workers: list[DistributedHerder], name: str, count: int) -> bool:
    """Every task of ``name`` runs, and only on the worker it is assigned to, which reports it RUNNING."""
    for task in range(count):
        owner = _owner(workers, Work(name, task))
        if owner is None:
            return False
        status = owner.task_status(name, task)
        if status["state"] != "RUNNING" or status["worker_id"] != owner.worker_id:
            return False
        for worker in workers:
            running = any(task_id.task == task for task_id in worker.worker.tasks_of(name))
            if running != (worker is owner):
                return False
    return True


@pytest.mark.integration
@pytest.mark.slow
def test_each_failed_task_is_restarted_by_its_owner_only(join: Join, tmp_path: Path) -> None:
    workers = [join("w1"), join("w2")]
    wait_for(lambda: sum(worker.is_leader for worker in workers) == 1, what="one leader")
    leader = next(worker for worker in workers if worker.is_leader)
    config = {"connector.class": "FlakySource", "starts.dir": str(tmp_path), "failures": "1", "tasks.max": "4"}
    leader.put_connector_config("flaky", config, allow_replace=False)
    wait_for(lambda: _runs_only_its_own(workers, "flaky", 4), what="every task running on its owner only")
    assert all(any(work.task is not None for work in worker.assignment) for worker in workers)  # both had some
    assert all(starts(tmp_path, task) >= 2 for task in range(4))

    # A user's restart of every task also restarts each task on its owner only.
    before = [starts(tmp_path, task) for task in range(4)]
    leader.restart_connector("flaky", include_tasks=True, only_failed=False)
    wait_for(lambda: all(starts(tmp_path, task) > before[task] for task in range(4)), what="every task restarted")
    time.sleep(1.0)  # every worker has handled the restart request by now
    assert _runs_only_its_own(workers, "flaky", 4)
