"""Zombie fencing: before a source connector's new task generation starts, the previous generation's producers are
fenced and a task-count record is written, as Connect's leader does (here on a standalone worker over the fake
transactional store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest

from hub.log.client import StoreClients
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores import ConfigStore, MemoryLog, OffsetStore, StatusStore
from hub.runtime.worker_config import WorkerConfig
from tests.runtime.conftest import wait_for
from tests.runtime.exactly_once_connectors import PLUGIN
from tests.runtime.transactional_fake import FakeTransactionalStore

DATAGEN = {
    "connector.class": "Datagen",
    "topic": "t",
    "rate": "50",
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
}


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.discover(extra=[PLUGIN])


@pytest.fixture
def store() -> FakeTransactionalStore:
    return FakeTransactionalStore()


@pytest.fixture
def herder(plugins: Plugins, store: FakeTransactionalStore) -> Iterator[StandaloneHerder]:
    config = WorkerConfig.parse(
        {"exactly.once.source.support": "enabled", "group.id": "g", "offset.flush.interval.ms": "50"}
    )
    made = StandaloneHerder(
        "w1",
        config,
        plugins,
        cast(StoreClients, store),
        ConfigStore(MemoryLog),
        OffsetStore(MemoryLog),
        StatusStore(MemoryLog),
    )
    made.start()
    yield made
    made.stop()


def _inits(store: FakeTransactionalStore) -> list[str]:
    return [transactional_id for event, transactional_id in store.events if event == "init"]


def test_the_first_generation_is_recorded_without_fencing(
    herder: StandaloneHerder, store: FakeTransactionalStore
) -> None:
    herder.put_connector_config("d", {**DATAGEN, "tasks.max": "2"}, allow_replace=False)
    wait_for(lambda: sorted(_inits(store)) == ["g-d-0", "g-d-1"], what="both tasks started")
    assert [event for event in store.events if event[0] == "fence"] == []
    assert herder.configs.snapshot().task_counts == {"d": 2}


def test_a_new_generation_starts_only_after_the_previous_one_is_fenced(
    herder: StandaloneHerder, store: FakeTransactionalStore
) -> None:
    herder.put_connector_config("d", {**DATAGEN, "tasks.max": "2"}, allow_replace=False)
    wait_for(lambda: len(_inits(store)) == 2 and store.commits, what="the first generation running")
    store.events.clear()
    herder.put_connector_config("d", {**DATAGEN, "tasks.max": "1", "rate": "60"}, allow_replace=True)
    wait_for(lambda: _inits(store) == ["g-d-0"], what="the new task started")
    assert store.events == [("fence", "g-d-0"), ("fence", "g-d-1"), ("init", "g-d-0")]
    assert herder.configs.snapshot().task_counts == {"d": 1}


def test_one_task_replaced_by_one_is_fenced_by_its_own_producer(
    herder: StandaloneHerder, store: FakeTransactionalStore
) -> None:
    herder.put_connector_config("d", DATAGEN, allow_replace=False)
    wait_for(lambda: _inits(store) == ["g-d-0"], what="the task started")
    store.events.clear()
    herder.put_connector_config("d", {**DATAGEN, "rate": "60"}, allow_replace=True)
    wait_for(lambda: _inits(store) == ["g-d-0"], what="the new task started")
    assert store.events == [("init", "g-d-0")]  # init_transactions fences the predecessor, as in Connect


def test_tasks_wait_while_their_previous_generation_cannot_be_fenced(
    herder: StandaloneHerder, store: FakeTransactionalStore
) -> None:
    herder.put_connector_config("d", {**DATAGEN, "tasks.max": "2"}, allow_replace=False)
    wait_for(lambda: len(_inits(store)) == 2, what="the first generation running")
    store.refuse_fencing = True
    herder.put_connector_config("d", {**DATAGEN, "tasks.max": "3"}, allow_replace=True)
    wait_for(lambda: "d" in herder.configs.snapshot().pending_fencing, what="the new task configs")
    assert herder._reconciler.sync(30)
    assert herder._reconciler.worker.tasks_of("d") == []  # the old ones stopped, the new ones wait
    assert herder.configs.snapshot().task_counts == {"d": 2}
