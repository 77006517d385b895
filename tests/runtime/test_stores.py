"""The stores' record formats (Kafka Connect's) and semantics, over the in-memory and file logs."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from hub.runtime.source_runner import SubmittedRecords
from hub.runtime.stores import (
    ConfigStore,
    FileLog,
    MemoryLog,
    OffsetStore,
    State,
    Status,
    StatusStore,
    TargetState,
)
from hub.sdk.errors import ConnectorError, DataError
from hub.sdk.records import SourceRecord


def test_config_records_use_connects_keys_and_task_configs_apply_only_on_commit() -> None:
    store = ConfigStore(MemoryLog)
    store.start()
    store.put_connector_config("c-1", {"connector.class": "X"}, TargetState.STOPPED)
    log = store.log
    assert isinstance(log, MemoryLog)
    assert orjson.loads(log.records[b"connector-c-1"]) == {"properties": {"connector.class": "X"}}
    assert orjson.loads(log.records[b"target-state-c-1"]) == {"state": "PAUSED", "state.v2": "STOPPED"}
    log.send(b"task-c-1-0", orjson.dumps({"properties": {"a": "1"}}))
    assert "c-1" not in store.snapshot().tasks  # buffered until the commit record
    log.send(b"commit-c-1", orjson.dumps({"tasks": 2}))
    snapshot = store.snapshot()
    assert "c-1" in snapshot.inconsistent  # task 1 never arrived: regenerate rather than act on half a set
    store.put_task_configs("c-1", [{"a": "1"}, {"a": "2"}])
    snapshot = store.snapshot()
    assert snapshot.tasks["c-1"] == [{"a": "1"}, {"a": "2"}]
    assert snapshot.target_state("c-1") is TargetState.STOPPED
    store.remove_connector_config("c-1")
    assert store.snapshot().connectors == {}
    log.send(b"connector-bad", b"not json")  # logged and ignored, never fatal
    assert store.snapshot().connectors == {}


def test_offsets_are_found_whatever_the_key_order_and_reject_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "offsets.json"
    store = OffsetStore(lambda callback: FileLog(path, callback))
    store.start()
    store.write("src", {"k": ({"file": "a", "n": 1}, {"position": 10})})
    store.stop()
    again = OffsetStore(lambda callback: FileLog(path, callback))
    again.start()
    assert list(again.offsets("src", [{"n": 1, "file": "a"}]).values()) == [{"position": 10}]
    log = again.log
    assert isinstance(log, MemoryLog)
    assert list(log.records) == [b'["src",{"file":"a","n":1}]']
    with pytest.raises(DataError, match="must be a string, number"):
        again.write("src", {"k": ({"file": {"nested": 1}}, {"position": 1})})
    path.write_text('{"version": 99, "records": {}}')
    with pytest.raises(ConnectorError, match="unsupported version 99"):
        OffsetStore(lambda callback: FileLog(path, callback)).start()


def test_status_from_an_older_generation_of_another_worker_does_not_win() -> None:
    store = StatusStore(MemoryLog)
    store.start()
    store.put(Status("c", 0, State.RUNNING, "w2", generation=5))
    store.put(Status("c", 0, State.UNASSIGNED, "w1", generation=4))
    status = store.get("c", 0)
    assert status is not None
    assert status.worker_id == "w2"
    log = store.log
    assert isinstance(log, MemoryLog)
    assert orjson.loads(log.records[b"status-task-c-0"]) == {
        "state": "RUNNING",
        "trace": None,
        "worker_id": "w2",
        "generation": 5,
    }
    store.forget("c")
    assert store.get("c", 0) is None
    assert b"status-task-c-0" not in log.records


def test_source_offsets_become_committable_only_when_every_earlier_batch_is_settled() -> None:
    submitted = SubmittedRecords()
    first = submitted.submit(
        [SourceRecord("t", i, source_partition={"p": i % 2}, source_offset={"i": i}) for i in range(3)]
    )
    second = submitted.submit([SourceRecord("t", 3, source_partition={"p": 0}, source_offset={"i": 3})])
    empty = submitted.submit([SourceRecord("t", 4, source_partition={"p": 1}, source_offset={})])
    assert submitted.in_flight == 5
    submitted.settle(second)
    assert submitted.committable() == {}
    submitted.settle(first)
    assert sorted(submitted.committable().values(), key=str) == [({"p": 0}, {"i": 3}), ({"p": 1}, {"i": 1})]
    assert submitted.in_flight == 1
    submitted.settle(empty)
    submitted.settle(empty)  # settling twice counts once
    assert (submitted.committable(), submitted.in_flight) == ({}, 0)


def test_task_count_records_end_a_pending_fencing_and_outlive_their_connector() -> None:
    store = ConfigStore(MemoryLog)
    store.start()
    store.put_connector_config("c", {"connector.class": "Datagen"})
    store.put_task_configs("c", [{"a": "1"}, {"a": "2"}])
    assert store.snapshot().pending_fencing == {"c"}
    store.put_task_count_record("c", 2)
    snapshot = store.snapshot()
    assert (snapshot.pending_fencing, snapshot.task_counts) == (set(), {"c": 2})
    assert orjson.loads(store.log.records[b"tasks-fencing-c"]) == {"task-count": 2}  # Connect's record
    store.put_task_configs("c", [{"a": "1"}])
    assert store.snapshot().pending_fencing == {"c"}
    store.remove_connector_config("c")
    snapshot = store.snapshot()
    assert (snapshot.pending_fencing, snapshot.task_counts) == (set(), {"c": 2})  # a recreated one fences zombies
