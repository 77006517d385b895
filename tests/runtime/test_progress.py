"""Progress: the meter's counts, rate, percent and ETA, published only when due and changed, and a task's own
figures shown beside the runtime's without replacing them."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hub.runtime.plugins import Plugins
from hub.runtime.progress import ProgressMeter
from hub.sdk import ConfigDef, SourceConnector, SourceRecord, SourceTask, hookimpl
from hub.sdk.schema import STRING_SCHEMA
from tests.runtime.conftest import HerderFactory, wait_for


def test_published_figures() -> None:
    published: list[dict[str, Any]] = []
    meter = ProgressMeter(published.append, interval_s=0.05)
    assert not meter.due()
    meter.add(500)
    time.sleep(0.06)
    assert meter.due()
    meter.publish({"phase": "snapshot", "done": 500, "total": 2000, "unit": "rows"})
    [first] = published
    assert first["records"] == 500
    assert first["records_per_second"] > 0
    assert first["percent"] == 25.0
    assert first["eta_seconds"] >= 0
    assert not meter.due()


def test_unchanged_figures_are_not_published_again() -> None:
    published: list[dict[str, Any]] = []
    meter = ProgressMeter(published.append, interval_s=0.0)
    meter.publish({"lag_records": 0})
    meter.publish({"lag_records": 0})
    assert len(published) == 1
    meter.publish({"lag_records": 3})
    assert published[-1]["lag_records"] == 3


class _ClaimingSourceTask(SourceTask):
    """Reports figures of its own, two of them under the runtime's names."""

    def start(self, config: dict[str, str]) -> None:
        self.sent = 0
        self.stopped = threading.Event()

    def poll(self) -> list[SourceRecord]:
        self.stopped.wait(0.01)
        self.sent += 1
        return [
            SourceRecord(
                "claims", f"r{self.sent}", STRING_SCHEMA, source_partition={"p": 0}, source_offset={"n": self.sent}
            )
        ]

    def progress(self) -> dict[str, Any]:
        return {"records": -1, "records_per_second": -1.0, "files_done": 3}

    def stop(self) -> None:
        self.stopped.set()


class ClaimingSource(SourceConnector):
    def config_def(self) -> ConfigDef:
        return ConfigDef()

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return _ClaimingSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [self.config]

    def stop(self) -> None:
        """Nothing to release."""


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [ClaimingSource]


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.discover(extra=[_Plugin()])


@pytest.mark.integration
def test_a_task_cannot_overwrite_the_runtimes_figures_and_its_own_are_shown(
    make_herder: HerderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    herder = make_herder(**{"hub.status.progress.interval.ms": "100"})
    herder.put_connector_config("claims", {"connector.class": "ClaimingSource"}, allow_replace=False)

    def progress() -> dict[str, Any]:
        tasks = herder.connector_status("claims")["tasks"]
        return dict(tasks[0].get("progress") or {}) if tasks else {}

    wait_for(lambda: progress().get("records", 0) >= 20, what="the runtime's record count in the status")
    shown = progress()
    assert shown["records_per_second"] >= 0
    assert shown["files_done"] == 3
    clashes = [r.getMessage() for r in caplog.records if "progress()" in r.getMessage()]
    assert len(clashes) == 1, clashes
    assert "'records'" in clashes[0]
    assert "'records_per_second'" in clashes[0]
