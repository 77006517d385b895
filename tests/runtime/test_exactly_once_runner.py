"""The exactly-once source runner: where transactions end (poll, interval, connector), the offsets that cover a
transaction's records written in that same transaction, and a fenced (zombie) task that fails without writing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import orjson
import pytest

from hub.log.client import StoreClients
from hub.runtime.config_providers import build_resolver
from hub.runtime.exactly_once_runner import ExactlyOnceSourceTaskRunner
from hub.runtime.plugins import Plugins
from hub.runtime.stores import MemoryLog, OffsetStore, State, StatusStore, TargetState
from hub.runtime.task_runner import TaskId
from hub.runtime.worker import Worker
from hub.runtime.worker_config import WorkerConfig
from tests.runtime.conftest import wait_for
from tests.runtime.exactly_once_connectors import PLUGIN
from tests.runtime.transactional_fake import FakeTransactionalStore, Written

STRING = "org.apache.kafka.connect.storage.StringConverter"
TASK = TaskId("c", 0)
OFFSETS = "connect-offsets"


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.discover(extra=[PLUGIN])


class Run:
    """A worker with exactly-once support enabled over the fake store, running one ScriptedTxnSource task."""

    def __init__(self, plugins: Plugins, store: FakeTransactionalStore, **worker: str) -> None:
        config = WorkerConfig.parse({"exactly.once.source.support": "enabled", "group.id": "g", **worker})
        self.statuses = StatusStore(MemoryLog)
        self.worker = Worker(
            "w1",
            config,
            plugins,
            cast(StoreClients, store),
            OffsetStore(MemoryLog),
            self.statuses,
            build_resolver(plugins, config),
            lambda name: None,
        )

    def start(self, script: str, **options: str) -> ExactlyOnceSourceTaskRunner:
        config = {
            "name": "c",
            "connector.class": "ScriptedTxnSourceConnector",
            "key.converter": STRING,
            "value.converter": STRING,
            "script": script,
            **options,
        }
        assert self.worker.start_task(TASK, config, config, TargetState.STARTED)
        runner = self.worker.tasks[TASK]
        assert isinstance(runner, ExactlyOnceSourceTaskRunner)
        return runner

    def state(self) -> State | None:
        status = self.statuses.get("c", 0)
        return status.state if status else None

    def stop(self) -> None:
        self.worker.stop_tasks([TASK])


@pytest.fixture
def store() -> FakeTransactionalStore:
    return FakeTransactionalStore()


@pytest.fixture
def run(plugins: Plugins, store: FakeTransactionalStore) -> Iterator[Run]:
    started = Run(plugins, store)
    yield started
    started.stop()


def out(*values: str) -> list[Written]:
    return [("out", None, value.encode()) for value in values]


def offset(n: int) -> Written:
    return (OFFSETS, orjson.dumps(["c", {"p": 0}]), orjson.dumps({"n": n}))


def test_the_task_producer_has_connects_transactional_id(run: Run, store: FakeTransactionalStore) -> None:
    run.start("1")
    wait_for(lambda: store.commits, what="a commit")
    assert store.made == ["g-c-0"]


def test_poll_boundaries_commit_each_batch_with_the_offset_of_its_last_record(
    run: Run, store: FakeTransactionalStore
) -> None:
    run.start("1,2;3;;4,5,6")
    wait_for(lambda: len(store.commits) == 3, what="three commits")
    run.stop()
    assert store.commits == [[*out("1", "2"), offset(2)], [*out("3"), offset(3)], [*out("4", "5", "6"), offset(6)]]
    assert store.aborts == []


def test_interval_boundaries_keep_batches_in_one_transaction_until_the_interval_or_the_stop(
    run: Run, store: FakeTransactionalStore
) -> None:
    runner = run.start("1;2,3;4", **{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "600000"})
    wait_for(lambda: not cast(Any, runner.task).polls and runner._open, what="every poll sent")
    assert store.commits == []  # nothing visible before the interval ends
    run.stop()
    assert store.commits == [[*out("1", "2", "3", "4"), offset(4)]]


def test_interval_boundaries_default_to_the_offset_flush_interval(
    plugins: Plugins, store: FakeTransactionalStore
) -> None:
    fast = Run(plugins, store, **{"offset.flush.interval.ms": "1"})
    try:
        fast.start("1;2", **{"transaction.boundary": "interval"})
        wait_for(lambda: store.committed("out") == out("1", "2"), what="both records committed")
    finally:
        fast.stop()
    assert all(commit[-1][0] == OFFSETS for commit in store.commits)


def test_connector_boundaries_end_transactions_where_the_task_asks(run: Run, store: FakeTransactionalStore) -> None:
    # commit after record 2, commit after the batch ending in 4, abort after 5, then 6 is left open
    runner = run.start("1,2!c,3;4|c;5!a;6", **{"transaction.boundary": "connector"})
    wait_for(lambda: not cast(Any, runner.task).polls and runner._open, what="every poll sent")
    run.stop()
    assert store.commits == [
        [*out("1", "2"), offset(2)],
        [*out("3", "4"), offset(4)],
        [offset(5)],  # the aborted record's offset is committed on its own, as Connect does
    ]
    assert store.aborts == [out("5"), out("6")]  # 6 was never committed by the task: aborted at stop


def test_connector_boundaries_give_the_task_a_transaction_context_and_others_none(
    run: Run, store: FakeTransactionalStore
) -> None:
    runner = run.start("1", **{"transaction.boundary": "connector"})
    assert runner.task.context.transaction_context is not None
    run.stop()
    runner = run.start("1")
    assert runner.task.context.transaction_context is None


def test_a_fenced_task_fails_and_writes_nothing_more(run: Run, store: FakeTransactionalStore) -> None:
    runner = run.start("1;2,3", **{"transaction.boundary": "connector"})
    wait_for(lambda: not cast(Any, runner.task).polls and runner._open, what="every poll sent")
    store.fence("g-c-0")  # a new generation of the task took over
    cast(Any, runner.task).polls.append("4|c")
    wait_for(lambda: run.state() is State.FAILED, what="the task to fail")
    status = run.statuses.get("c", 0)
    assert status is not None
    assert status.trace is not None
    assert "was fenced out" in status.trace
    assert store.commits == []
    assert store.aborts == []


def test_a_task_stopped_while_its_successor_runs_commits_nothing(
    plugins: Plugins, run: Run, store: FakeTransactionalStore
) -> None:
    zombie = run.start("1;2", **{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "600000"})
    wait_for(lambda: not cast(Any, zombie.task).polls and zombie._open, what="every poll sent")
    successor = Run(plugins, store)
    try:
        successor.start("7")  # its producer's init_transactions fences the zombie's
        wait_for(lambda: store.commits, what="the successor's commit")
    finally:
        successor.stop()
    run.stop()  # the zombie tries to commit at stop: refused
    assert store.committed("out") == out("7")
    assert run.state() is State.FAILED


def test_records_are_never_committed_without_their_offsets(run: Run, store: FakeTransactionalStore) -> None:
    store.failing_topic = OFFSETS
    run.start("1,2")
    wait_for(lambda: run.state() is State.FAILED, what="the task to fail")
    status = run.statuses.get("c", 0)
    assert status is not None
    assert status.trace is not None
    assert "writing source offsets into the transaction failed" in status.trace
    assert store.commits == []
    assert store.aborts == [out("1", "2")]
