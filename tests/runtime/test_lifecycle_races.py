"""Lifecycle calls that race: restarts, pauses, resumes and deletes at once leave exactly the tasks status shows,
and a deleted connector's tasks are gone (threads joined, nothing more written)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.log.client import ClientError, OffsetSpec, StoreClients, TopicPartition
from hub.runtime.herder import NotFoundError
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from tests.runtime import stuck_source
from tests.runtime.conftest import FAST_WORKER, HerderFactory, wait_for

pytestmark = pytest.mark.integration

ROUNDS = 5
CALLERS = 6


def _task_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"hub-task-{name}-") and t.is_alive()]


def _live_states(herder: StandaloneHerder, name: str) -> list[str]:
    status = herder.connector_status(name)
    return [task["state"] for task in status["tasks"] if task["state"] in ("RUNNING", "PAUSED")]


def _producer_threads() -> int:
    return sum(t.name in ("hub-embedded-producer", "hub-kafka-producer") for t in threading.enumerate())


def _end_offset(clients: StoreClients, topic: str) -> int:
    """The topic's end offset; 0 while it does not exist yet (sources create their topics as they first write)."""
    with clients.admin() as admin:
        try:
            return admin.list_offsets([TopicPartition(topic, 0)], OffsetSpec.LATEST)[TopicPartition(topic, 0)] or 0
        except ClientError:
            if topic in admin.list_topics():
                raise
            return 0


def _hammer(calls: list[Callable[[], object]]) -> list[BaseException]:
    """Run every call at once from its own thread; the unexpected exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> None:
        start.wait()
        try:
            call()
        except NotFoundError:
            pass  # a restart of a task that a concurrent reconfiguration removed is a fair answer
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_racing_restarts_pauses_and_deletes_leave_exactly_the_tasks_status_shows(
    make_herder: HerderFactory, clients: StoreClients
) -> None:
    herder = make_herder(**{"task.shutdown.graceful.timeout.ms": "5000"})
    producers_before = _producer_threads()
    topic = f"race-{time.monotonic_ns()}"
    config = {"connector.class": "Datagen", "topic": topic, "rate": "200", "tasks.max": "2", "batch.size": "10"}
    herder.put_connector_config("racer", config, allow_replace=False)
    wait_for(lambda: _live_states(herder, "racer") == ["RUNNING", "RUNNING"], what="two running tasks")
    rng = random.Random(18)
    for _ in range(ROUNDS):
        calls: list[Callable[[], object]] = []
        for _ in range(CALLERS):
            calls.append(lambda: herder.restart_connector("racer", include_tasks=True, only_failed=False))
            calls.append(lambda: herder.restart_task("racer", 0))
            calls.append(lambda: herder.restart_task("racer", 1))
        calls.append(lambda: herder.pause("racer"))
        calls.append(lambda: herder.resume("racer"))
        rng.shuffle(calls)
        assert _hammer(calls) == []
    herder.resume("racer")
    wait_for(lambda: _live_states(herder, "racer") == ["RUNNING", "RUNNING"], what="both tasks running again")
    wait_for(lambda: len(_task_threads("racer")) == 2, what="one thread per task", timeout_s=10)
    time.sleep(1.0)  # late restarts would show up as extra threads now
    # A restart still finishing on a slow machine may have a task down for a moment (its status says so), never
    # one task twice; then both run again, one thread each.
    assert len(_task_threads("racer")) <= 2, (
        [t.name for t in _task_threads("racer")],
        herder.connector_status("racer"),
    )
    wait_for(
        lambda: _live_states(herder, "racer") == ["RUNNING", "RUNNING"] and len(_task_threads("racer")) == 2,
        what="both tasks running, one thread each",
    )

    herder.pause("racer")
    wait_for(lambda: _live_states(herder, "racer") == ["PAUSED", "PAUSED"], what="paused tasks")
    time.sleep(0.5)
    paused_at = _end_offset(clients, topic)
    time.sleep(1.0)
    assert _end_offset(clients, topic) == paused_at, "a paused connector's topic kept growing"

    herder.resume("racer")
    calls = [
        lambda: herder.restart_task("racer", 0),
        lambda: herder.restart_task("racer", 1),
        lambda: herder.restart_connector("racer", include_tasks=True, only_failed=False),
        lambda: herder.delete_connector("racer"),
    ]
    errors = _hammer(calls)
    assert [e for e in errors if not isinstance(e, NotFoundError)] == []
    wait_for(lambda: "racer" not in herder.connectors(), what="the deletion")
    wait_for(lambda: not _task_threads("racer"), what="every task thread of the deleted connector to end")
    deleted_at = _end_offset(clients, topic)
    time.sleep(1.0)
    assert _end_offset(clients, topic) == deleted_at, "a deleted connector's topic kept growing"
    assert not _task_threads("racer")
    wait_for(lambda: _producer_threads() == producers_before, what="every task's producer closed", timeout_s=10)


def test_concurrent_restarts_of_one_task_all_succeed(make_herder: HerderFactory) -> None:
    herder = make_herder()
    topic = f"race-{time.monotonic_ns()}"
    herder.put_connector_config(
        "twice", {"connector.class": "Datagen", "topic": topic, "rate": "50"}, allow_replace=False
    )
    wait_for(lambda: _live_states(herder, "twice") == ["RUNNING"], what="a running task")
    for _ in range(ROUNDS):
        assert _hammer([lambda: herder.restart_task("twice", 0) for _ in range(4)]) == []
    wait_for(lambda: _live_states(herder, "twice") == ["RUNNING"], what="the task running after the restarts")
    wait_for(lambda: len(_task_threads("twice")) == 1, what="exactly one thread for the task", timeout_s=10)


@pytest.fixture
def stuck_plugins() -> Iterator[Plugins]:
    stuck_source.GATE.clear()
    yield Plugins.discover(extra=[stuck_source.PLUGIN])
    stuck_source.GATE.set()  # lets abandoned threads end


def test_a_task_that_outlives_the_graceful_timeout_is_cancelled_and_writes_nothing_more(
    clients: StoreClients, stuck_plugins: Plugins, tmp_path: Path
) -> None:
    topic = f"stuck-{time.monotonic_ns()}"
    config = WorkerConfig.parse(
        {
            **FAST_WORKER,
            "task.shutdown.graceful.timeout.ms": "300",
            "config.storage.topic": f"configs-{topic}",
            "offset.storage.topic": f"offsets-{topic}",
            "status.storage.topic": f"status-{topic}",
        }
    )
    herder = StandaloneHerder("127.0.0.1:8083", config, stuck_plugins, clients, *topic_stores(clients, config))
    herder.start()
    try:
        herder.put_connector_config("stuck", {"connector.class": "StuckSource", "topic": topic}, allow_replace=False)
        wait_for(lambda: _live_states(herder, "stuck") == ["RUNNING"], what="the first instance running")
        herder.restart_task("stuck", 0)  # the first instance ignores stop(): cancelled after 300 ms
        wait_for(lambda: len(_task_threads("stuck")) == 2, what="the successor's thread beside the abandoned one")
        stuck_source.GATE.set()  # both polls return now; only the successor's record may be written
        wait_for(lambda: len(_task_threads("stuck")) == 1, what="the abandoned thread to end")
        wait_for(lambda: _end_offset(clients, topic) >= 5, what="the successor producing")
        with clients.consumer() as consumer:
            consumer.assign([TopicPartition(topic, 0)])
            values: set[bytes] = set()
            wait_for(
                lambda: values.update(r.value or b"" for r in consumer.poll(0.2)) or len(values) > 0, what="records"
            )
            for _ in range(5):
                values.update(r.value or b"" for r in consumer.poll(0.2))
        assert values
        assert all(b"instance-1" not in value for value in values), values
        assert _live_states(herder, "stuck") == ["RUNNING"]  # the abandoned instance did not report UNASSIGNED
        wait_for(lambda: herder.offsets("stuck"), what="the successor's offsets committed")
    finally:
        herder.stop()
