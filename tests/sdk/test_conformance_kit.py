"""The conformance kit catches connectors that lose or repeat records in a crash, though they pass its other checks:
a sink that calls records committed before writing them (it writes in ``close()``), a source that takes its input
away when it polls it, and a source that keeps its position itself, saved only by ``stop()``."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hub.sdk import (
    ConfigDef,
    ConfigType,
    SinkConnector,
    SinkRecord,
    SinkTask,
    SourceConnector,
    SourceRecord,
    SourceTask,
)
from hub.sdk.schema import STRING_SCHEMA
from hub.sdk.testing import SinkConnectorConformance, SourceConnectorConformance

FILE_CONFIG = ConfigDef().define("file", ConfigType.STRING, doc="Where the records are.", non_empty=True)


class _OneTask:
    def config_def(self) -> ConfigDef:
        return FILE_CONFIG

    def start(self, config: dict[str, str]) -> None:
        self.config = config

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class CloseWritingSinkTask(SinkTask):
    """The bug: ``pre_commit`` calls everything committed, but the records reach the file only in ``close()``."""

    def start(self, config: dict[str, str]) -> None:
        self.path = Path(config["file"])
        self.buffered: list[str] = []

    def put(self, records: Sequence[SinkRecord]) -> None:
        self.buffered += [str(record.value) for record in records]

    def pre_commit(self, offsets: Mapping[tuple[str, int], int]) -> Mapping[tuple[str, int], int]:
        return dict(offsets)

    def close(self, partitions: Collection[tuple[str, int]]) -> None:
        with self.path.open("a") as out:
            out.writelines(f"{line}\n" for line in self.buffered)
        self.buffered = []

    def stop(self) -> None:
        """Nothing to release."""


class CloseWritingSink(_OneTask, SinkConnector):
    def task_class(self) -> type[SinkTask]:
        return CloseWritingSinkTask


class CloseWritingSinkSuite(SinkConnectorConformance):
    connector_class = CloseWritingSink

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"file": str(tmp_path / "out.txt")}

    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        path = Path(config["file"])
        return path.read_text().splitlines() if path.exists() else []


class TakingSourceTask(SourceTask):
    """The bug: each input file is deleted as soon as it is polled, not once its record is committed."""

    def start(self, config: dict[str, str]) -> None:
        self.directory = Path(config["file"])

    def poll(self) -> Sequence[SourceRecord]:
        records = []
        for path in sorted(self.directory.glob("*.txt"))[:4]:
            record = SourceRecord(
                "t", path.read_text(), STRING_SCHEMA, source_partition={"queue": "q"}, source_offset={"file": path.name}
            )
            records.append(record)
            path.unlink()
        return records

    def stop(self) -> None:
        """Nothing to release."""


class TakingSource(_OneTask, SourceConnector):
    def task_class(self) -> type[SourceTask]:
        return TakingSourceTask


class TakingSourceSuite(SourceConnectorConformance):
    connector_class = TakingSource
    wait_s = 2.0  # the records it lost never come
    added = 0

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"file": str(tmp_path)}

    def add_input(self, config: dict[str, str], count: int) -> None:
        for _ in range(count):
            (Path(config["file"]) / f"{self.added:06d}.txt").write_text(f"record-{self.added}")
            self.added += 1


class StopSavingSourceTask(SourceTask):
    """The bug: the position is kept beside the input and saved by ``stop()``; the offsets it returns are ignored."""

    def start(self, config: dict[str, str]) -> None:
        self.path = Path(config["file"])
        self.saved = self.path.with_suffix(".position")
        self.position = int(self.saved.read_text()) if self.saved.exists() else 0

    def poll(self) -> Sequence[SourceRecord]:
        lines = self.path.read_text().splitlines()[self.position : self.position + 4] if self.path.exists() else []
        self.position += len(lines)
        where = {"source_partition": {"file": "in"}, "source_offset": {"line": self.position}}
        return [SourceRecord("t", line, STRING_SCHEMA, **where) for line in lines]

    def stop(self) -> None:
        self.saved.write_text(str(self.position))


class StopSavingSource(_OneTask, SourceConnector):
    def task_class(self) -> type[SourceTask]:
        return StopSavingSourceTask


class StopSavingSourceSuite(SourceConnectorConformance):
    connector_class = StopSavingSource
    added = 0

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"file": str(tmp_path / "in.txt")}

    def add_input(self, config: dict[str, str], count: int) -> None:
        with Path(config["file"]).open("a") as out:
            out.writelines(f"line {self.added + n}\n" for n in range(count))
        self.added += count


@pytest.mark.parametrize(
    ("suite", "crash_check"),
    [
        (CloseWritingSinkSuite, "test_a_crash_after_a_commit_loses_no_committed_record"),
        (TakingSourceSuite, "test_a_crash_after_a_commit_loses_nothing_and_repeats_only_what_was_not_committed"),
        (StopSavingSourceSuite, "test_a_crash_after_a_commit_loses_nothing_and_repeats_only_what_was_not_committed"),
    ],
)
def test_the_broken_connectors_pass_every_other_check(tmp_path: Path, suite: type[Any], crash_check: str) -> None:
    checks = [name for name in dir(suite) if name.startswith("test_") and name != crash_check]
    assert len(checks) >= 3
    for number, name in enumerate(checks):
        (tmp_path / str(number)).mkdir()
        getattr(suite(), name)(tmp_path / str(number))


def test_the_crash_check_finds_a_sink_that_writes_only_in_close(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="10 of those records are not in the output"):
        CloseWritingSinkSuite().test_a_crash_after_a_commit_loses_no_committed_record(tmp_path)


def test_the_crash_check_finds_a_source_that_loses_what_it_polled(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="polled but not committed before the crash were never read again"):
        TakingSourceSuite().test_a_crash_after_a_commit_loses_nothing_and_repeats_only_what_was_not_committed(tmp_path)


def test_the_crash_check_finds_a_source_that_repeats_what_was_committed(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="records committed before the crash were read again"):
        StopSavingSourceSuite().test_a_crash_after_a_commit_loses_nothing_and_repeats_only_what_was_not_committed(
            tmp_path
        )
