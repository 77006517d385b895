"""Automatic restarts of failed connectors and tasks (``hub.task.restart.*``) on every backend."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from tests.runtime.conftest import HerderFactory, wait_for
from tests.runtime.flaky_source import PLUGIN, starts

FAST_RESTARTS = {
    "hub.task.restart.enabled": "true",
    "hub.task.restart.initial.backoff.ms": "100",
    "hub.task.restart.max.backoff.ms": "200",
}
#: Long enough for several restarts of FAST_RESTARTS to have happened, had any been due.
QUIET_S = 1.0


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    """The herders of these tests also know FlakySource."""
    return Plugins.discover(extra=[PLUGIN])


def _create(herder: StandaloneHerder, directory: Path, initial_state: str | None = None, **options: str) -> None:
    config = {"connector.class": "FlakySource", "starts.dir": str(directory), **options}
    herder.put_connector_config("flaky", config, allow_replace=False, initial_state=initial_state)


def _state(herder: StandaloneHerder) -> tuple[str, list[str]]:
    status = herder.connector_status("flaky")
    return status["connector"]["state"], [task["state"] for task in status["tasks"]]


def _trace(herder: StandaloneHerder) -> Any:
    return herder.task_status("flaky", 0).get("trace")


@pytest.mark.integration
def test_a_task_failing_its_first_starts_ends_running(make_herder: HerderFactory, tmp_path: Path) -> None:
    herder = make_herder(**FAST_RESTARTS)
    _create(herder, tmp_path, failures="2")
    wait_for(lambda: _state(herder) == ("RUNNING", ["RUNNING"]), what="the task running after two restarts")
    assert starts(tmp_path, 0) == 3
    assert _trace(herder) is None


@pytest.mark.integration
def test_a_connector_failing_its_first_start_ends_running_with_its_tasks(
    make_herder: HerderFactory, tmp_path: Path
) -> None:
    herder = make_herder(**FAST_RESTARTS)
    _create(herder, tmp_path, **{"connector.failures": "1", "tasks.max": "2"})
    wait_for(lambda: _state(herder) == ("RUNNING", ["RUNNING", "RUNNING"]), what="connector and tasks running")
    assert starts(tmp_path) == 2


@pytest.mark.integration
def test_without_auto_restart_a_failed_task_stays_failed(make_herder: HerderFactory, tmp_path: Path) -> None:
    herder = make_herder(**{**FAST_RESTARTS, "hub.task.restart.enabled": "false"})
    _create(herder, tmp_path, failures="1")
    wait_for(lambda: _state(herder) == ("RUNNING", ["FAILED"]), what="the task to fail")
    time.sleep(QUIET_S)
    assert _state(herder) == ("RUNNING", ["FAILED"])
    assert starts(tmp_path, 0) == 1
    assert "start 1 of the task 0 fails on purpose" in _trace(herder)
    herder.restart_task("flaky", 0)
    wait_for(lambda: _state(herder) == ("RUNNING", ["RUNNING"]), what="the task restarted by hand")


@pytest.mark.integration
def test_after_max_attempts_the_task_stays_failed_with_its_last_trace(
    make_herder: HerderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="hub.runtime")
    herder = make_herder(**FAST_RESTARTS, **{"hub.task.restart.max.attempts": "2"})
    _create(herder, tmp_path, failures="5")
    wait_for(lambda: "leaving it FAILED" in caplog.text, what="automatic restarts to give up")
    assert "auto-restarting task flaky-0 after" in caplog.text
    assert "(attempt 2)" in caplog.text
    assert "task flaky-0 failed after 2 automatic restart(s) in a row" in caplog.text
    time.sleep(QUIET_S)
    assert starts(tmp_path, 0) == 3
    assert _state(herder) == ("RUNNING", ["FAILED"])
    assert "start 3 of the task 0 fails on purpose" in _trace(herder)
    herder.restart_connector("flaky", include_tasks=True, only_failed=True)  # a user's restart starts over
    wait_for(lambda: _state(herder) == ("RUNNING", ["RUNNING"]), what="the task after two more automatic restarts")
    assert starts(tmp_path, 0) == 6


@pytest.mark.integration
def test_a_task_of_a_paused_connector_is_not_restarted(
    make_herder: HerderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="hub.runtime")
    herder = make_herder(**FAST_RESTARTS)
    _create(herder, tmp_path, initial_state="PAUSED", failures="1")
    wait_for(lambda: "not auto-restarting task flaky-0" in caplog.text, what="the restart to be skipped")
    assert starts(tmp_path, 0) == 1
    assert _state(herder) == ("PAUSED", ["FAILED"])
    herder.resume("flaky")
    wait_for(lambda: _state(herder)[0] == "RUNNING", what="the connector resumed")
    time.sleep(QUIET_S)
    assert _state(herder) == ("RUNNING", ["FAILED"])  # resuming does not restart a failed task
    assert "start 1 of the task 0 fails on purpose" in _trace(herder)
