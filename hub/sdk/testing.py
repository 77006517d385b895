"""A conformance suite a connector runs in its own tests: subclass one of the classes below in a test module,
name the subclass ``Test…``, fill in the hooks, and pytest runs every check against the real external system.

The checks drive the connector exactly as the runtime does — the connector plans tasks, tasks start, poll or
put, commit, stop from another thread, restart from stored offsets — with nothing but the SDK, so they run in
the connector's own test suite without a worker or a store:

- the config validates, and a config missing required options is refused with those options named;
- tasks start and stop cleanly, and ``stop()`` from another thread makes a blocked ``poll()`` return;
- a source's offsets resume after a restart: nothing committed is read again, nothing is skipped;
- a sink's ``pre_commit`` never returns an offset past what it made durable, and a restart loses nothing;
- a crash right after a commit (the task abandoned: no ``close()``, no ``stop()``) loses nothing: every record a
  sink's ``pre_commit`` called committed is in the output, and a source resumed from the committed offsets reads
  again every record polled after them and, unless its documented window is wider (see below), none before.

Hooks to fill in (abstract: a subclass missing one fails at once, naming it): ``config(tmp_path)`` for every
suite; sources add ``add_input(config, count)`` (make ``count`` new records appear in the external system) and may
override ``record_id(record)``; sinks add ``read_output(config)`` (the ids now stored in the external system, in any
order) and may override ``make_record(topic, partition, offset)`` / ``record_id``. A source whose documented window
of repeats after a crash is wider than "what was polled after the last committed offset" (e.g. a transaction cut
by the crash is read again whole) overrides ``repeatable_after_crash(committed, in_flight)`` to say which of the
committed records may come again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from hub.sdk.connector import (
    ConnectorContext,
    ErrantRecordReporter,
    OffsetReader,
    SinkConnector,
    SinkTask,
    SinkTaskContext,
    SourceConnector,
    SourceTask,
    SourceTaskContext,
)
from hub.sdk.records import SinkRecord, SourceRecord
from hub.sdk.schema import STRING_SCHEMA

#: How long a check waits for records before failing.
WAIT_S = 30.0


def _canonical(partition: Mapping[str, Any]) -> str:
    import json

    return json.dumps(dict(partition), sort_keys=True)


class MemoryOffsets(OffsetReader):
    """Source offsets kept in memory, as the runtime's offset store keeps them."""

    def __init__(self) -> None:
        self.stored: dict[str, Mapping[str, Any]] = {}

    def offsets(self, partitions: Collection[Mapping[str, Any]]) -> dict[str, Mapping[str, Any] | None]:
        return {_canonical(p): self.stored.get(_canonical(p)) for p in partitions}


class _ConnectorContext(ConnectorContext):
    def __init__(self) -> None:
        self.reconfigurations = 0
        self.errors: list[Exception] = []

    def request_task_reconfiguration(self) -> None:
        self.reconfigurations += 1

    def raise_error(self, error: Exception) -> None:
        self.errors.append(error)


class MemorySourceContext(SourceTaskContext):
    """A source task's context over in-memory offsets, for driving a task by hand in tests."""

    def __init__(self, config: Mapping[str, str], offsets: MemoryOffsets) -> None:
        self._config = dict(config)
        self._offsets = offsets

    @property
    def config(self) -> dict[str, str]:
        return self._config

    @property
    def offset_reader(self) -> OffsetReader:
        return self._offsets


class MemorySinkContext(SinkTaskContext):
    """A sink task's context outside the runtime: a fixed assignment, no error reporter."""

    def __init__(self, config: Mapping[str, str], assignment: set[tuple[str, int]]) -> None:
        self._config = dict(config)
        self._assignment = assignment

    @property
    def config(self) -> dict[str, str]:
        return self._config

    def assignment(self) -> set[tuple[str, int]]:
        return set(self._assignment)

    def offset(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Rewinds are not exercised by the suite."""

    def timeout(self, timeout_ms: int) -> None:
        """Retries are not exercised by the suite."""

    def pause(self, *partitions: tuple[str, int]) -> None:
        """Pausing is not exercised by the suite."""

    def resume(self, *partitions: tuple[str, int]) -> None:
        """Pausing is not exercised by the suite."""

    def request_commit(self) -> None:
        """The suite commits after every batch anyway."""

    @property
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        return None


class _Conformance(ABC):
    connector_class: ClassVar[type[Any]]
    #: How long a check waits for records (or a sink's commits) before it judges what it has.
    wait_s: ClassVar[float] = WAIT_S

    @abstractmethod
    def config(self, tmp_path: Path) -> dict[str, str]:
        """A working connector config (``name`` and ``connector.class`` are added)."""

    def record_id(self, record: SourceRecord | SinkRecord) -> Any:
        """What identifies a record across restarts (default: its value)."""
        return record.value

    def _full_config(self, tmp_path: Path) -> dict[str, str]:
        return {"name": "conformance", "connector.class": self.connector_class.__name__, **self.config(tmp_path)}

    @staticmethod
    def _release(task: SourceTask | SinkTask) -> None:
        """Stops an abandoned task once a crash check has looked at the outcome, so the test leaks nothing."""
        with contextlib.suppress(Exception):
            task.stop()

    def test_config_validates(self, tmp_path: Path) -> None:
        connector = self.connector_class()
        definition = connector.config_def()
        config = self._full_config(tmp_path)
        _, problems = definition.errors(config)
        assert not problems, f"the config of config() does not validate: {problems}"
        required = [key.name for key in definition.keys if key.required]
        if required:
            missing = {k: v for k, v in config.items() if k not in required}
            _, problems = definition.errors(missing)
            assert set(required) <= set(problems), f"missing required options not all reported: {problems}"
        response = definition.validate_response(config, connector_class=self.connector_class.__name__)
        assert response["error_count"] == 0

    def _start_connector(self, tmp_path: Path, max_tasks: int = 1) -> tuple[Any, list[dict[str, str]]]:
        connector = self.connector_class()
        connector.initialize(_ConnectorContext())
        connector.start(self._full_config(tmp_path))
        configs = connector.task_configs(max_tasks)
        assert 1 <= len(configs) <= max_tasks, f"task_configs({max_tasks}) returned {len(configs)} configs"
        return connector, configs


class SourceConnectorConformance(_Conformance):
    """Checks for a source connector (see the module docstring)."""

    connector_class: ClassVar[type[SourceConnector]]

    @abstractmethod
    def add_input(self, config: dict[str, str], count: int) -> None:
        """Make ``count`` new records appear in the external system."""

    def repeatable_after_crash(
        self, committed: Sequence[SourceRecord], in_flight: Sequence[SourceRecord]
    ) -> Collection[SourceRecord]:
        """Of the records committed before a crash (``in_flight`` were polled after them), those the connector's
        documented delivery may read again. Default: none — only records after the last committed offset repeat."""
        return ()

    def _start_task(self, task_config: dict[str, str], offsets: MemoryOffsets) -> SourceTask:
        task = self.connector_class().task_class()()
        task.initialize(MemorySourceContext(task_config, offsets))
        task.start(task_config)
        return task

    def _poll(self, task: SourceTask, want: int) -> list[SourceRecord]:
        """At least ``want`` records polled (fewer only when ``wait_s`` passes)."""
        records: list[SourceRecord] = []
        deadline = time.monotonic() + self.wait_s
        while len(records) < want and time.monotonic() < deadline:
            batch = task.poll() or ()
            records += batch
            if not batch:
                time.sleep(0.01)  # a poll that does not block must not make the wait a busy loop
        return records

    @staticmethod
    def _commit(task: SourceTask, offsets: MemoryOffsets, records: list[SourceRecord]) -> None:
        """As the runtime does once ``records`` are in their topics: acknowledge each, store the offsets, commit."""
        for record in records:
            task.commit_record(record, None)
            offsets.stored[_canonical(record.source_partition)] = dict(record.source_offset)
        task.commit()

    def _run(self, task_config: dict[str, str], offsets: MemoryOffsets, want: int) -> list[SourceRecord]:
        task = self._start_task(task_config, offsets)
        try:
            records = self._poll(task, want)
            self._commit(task, offsets, records)
        finally:
            task.stop()
        return records

    def test_tasks_start_poll_and_stop(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        self.add_input(configs[0], 5)
        records = self._run(configs[0], MemoryOffsets(), 5)
        assert len(records) >= 5, f"polled {len(records)} of 5 records"
        for record in records:
            assert record.topic, "every record names its topic"
        connector.stop()

    def test_stop_from_another_thread_unblocks_poll(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        task: SourceTask = self.connector_class().task_class()()
        task.initialize(MemorySourceContext(configs[0], MemoryOffsets()))
        task.start(configs[0])
        returned = threading.Event()

        def poll_until_stopped() -> None:
            try:
                for _ in range(50):
                    task.poll()
                    if stopped.is_set():
                        break
            except Exception:  # a poll after stop may raise; returning is what counts
                pass
            returned.set()

        stopped = threading.Event()
        thread = threading.Thread(target=poll_until_stopped, daemon=True)
        thread.start()
        time.sleep(0.3)
        stopped.set()
        task.stop()
        assert returned.wait(10), "poll() did not return within 10 s of stop()"
        connector.stop()

    def test_offsets_resume_after_restart(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        offsets = MemoryOffsets()
        self.add_input(configs[0], 10)
        first = self._run(configs[0], offsets, 10)
        self.add_input(configs[0], 10)
        second = self._run(configs[0], offsets, 10)
        first_ids = [self.record_id(r) for r in first]
        second_ids = [self.record_id(r) for r in second]
        assert not set(first_ids) & set(second_ids), "records committed before the restart were read again"
        assert len(set(first_ids) | set(second_ids)) >= 20, "records were lost across the restart"
        connector.stop()

    def test_a_crash_after_a_commit_loses_nothing_and_repeats_only_what_was_not_committed(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        offsets = MemoryOffsets()
        self.add_input(configs[0], 10)
        crashed = self._start_task(configs[0], offsets)
        try:
            polled = self._poll(crashed, 10)
            assert len(polled) >= 2, f"polled {len(polled)} of 10 records"
            committed, in_flight = polled[: len(polled) // 2], polled[len(polled) // 2 :]
            self._commit(crashed, offsets, committed)
            # The crash: records polled after the commit were on their way to the topic; no stop().
            self.add_input(configs[0], 5)
            resumed = self._run(configs[0], offsets, len(in_flight) + 5)
        finally:
            self._release(crashed)
        resumed_ids = {self.record_id(r) for r in resumed}
        allowed = {self.record_id(r) for r in self.repeatable_after_crash(committed, in_flight)}
        repeated = [i for i in (self.record_id(r) for r in committed) if i in resumed_ids and i not in allowed]
        assert not repeated, f"records committed before the crash were read again: {repeated[:5]}"
        lost = [i for i in (self.record_id(r) for r in in_flight) if i not in resumed_ids]
        assert not lost, f"records polled but not committed before the crash were never read again: {lost[:5]}"
        assert len(resumed_ids) >= len(in_flight) + 5, "records added after the crash were not read"
        connector.stop()


class SinkConnectorConformance(_Conformance):
    """Checks for a sink connector (see the module docstring)."""

    connector_class: ClassVar[type[SinkConnector]]
    topic: ClassVar[str] = "conformance"

    @abstractmethod
    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        """The ids of the records now stored in the external system."""

    def make_record(self, topic: str, partition: int, offset: int) -> SinkRecord:
        """The record the suite writes at this offset (default: the string value ``record-OFFSET``)."""
        return SinkRecord(
            topic=topic,
            value=f"record-{offset}",
            value_schema=STRING_SCHEMA,
            kafka_partition=partition,
            kafka_offset=offset,
        )

    def _full_config(self, tmp_path: Path) -> dict[str, str]:
        return {"topics": self.topic, **super()._full_config(tmp_path)}

    def _start_task(self, task_config: dict[str, str]) -> SinkTask:
        tp = (self.topic, 0)
        task: SinkTask = self.connector_class().task_class()()
        task.initialize(MemorySinkContext(task_config, {tp}))
        task.start(task_config)
        task.open([tp])
        return task

    def _write(self, task_config: dict[str, str], offsets: range) -> tuple[dict[tuple[str, int], int], list[Any]]:
        tp = (self.topic, 0)
        task = self._start_task(task_config)
        records = [self.make_record(self.topic, 0, offset) for offset in offsets]
        try:
            task.put(records)
            committed = dict(task.pre_commit({tp: offsets.stop}))
            task.close([tp])
        finally:
            task.stop()
        return committed, [self.record_id(r) for r in records]

    def test_tasks_start_put_and_stop(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        _, ids = self._write(configs[0], range(5))
        assert set(ids) <= set(self.read_output(configs[0])), "records put and flushed are not in the output"
        connector.stop()

    def test_flush_commits_only_what_was_written(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        committed, ids = self._write(configs[0], range(10))
        offset = committed.get((self.topic, 0))
        assert offset is None or offset <= 10, f"pre_commit returned offset {offset} past the 10 records put"
        if offset is not None:
            assert set(ids[:offset]) <= set(self.read_output(configs[0])), "committed records missing from output"
        connector.stop()

    def test_restart_does_not_lose_records(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        committed, first = self._write(configs[0], range(10))
        resume = committed.get((self.topic, 0), 0)
        _, second = self._write(configs[0], range(resume, 20))
        assert set(first[:resume]) | set(second) <= set(self.read_output(configs[0])), "records lost on restart"
        connector.stop()

    def test_a_crash_after_a_commit_loses_no_committed_record(self, tmp_path: Path) -> None:
        connector, configs = self._start_connector(tmp_path)
        tp = (self.topic, 0)
        records = [self.make_record(self.topic, 0, offset) for offset in range(10)]
        ids = [self.record_id(r) for r in records]
        crashed = self._start_task(configs[0])
        try:
            crashed.put(records)
            deadline = time.monotonic() + self.wait_s
            while True:  # the runtime commits again and again; a sink may commit what it wrote so far
                committed = crashed.pre_commit({tp: len(records)}).get(tp, 0)
                if committed >= len(records) or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            assert committed <= len(records), f"pre_commit returned offset {committed} past the 10 records put"
            # The crash: no close(), no stop(); what the task called committed must already be in the output.
            output = set(self.read_output(configs[0]))
            lost = [i for i in ids[:committed] if i not in output]
            assert not lost, (
                f"pre_commit called offset {committed} committed, but after a crash (no close(), no stop()) "
                f"{len(lost)} of those records are not in the output: {lost[:5]}"
            )
            _, rest = self._write(configs[0], range(committed, 20))
        finally:
            self._release(crashed)
        missing = (set(ids[:committed]) | set(rest)) - set(self.read_output(configs[0]))
        assert not missing, f"records lost by the crash and the restart from offset {committed}: {sorted(missing)[:5]}"
        connector.stop()


__all__ = [
    "MemoryOffsets",
    "MemorySinkContext",
    "MemorySourceContext",
    "SinkConnectorConformance",
    "SourceConnectorConformance",
]
