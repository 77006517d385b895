"""FlakySource: a test connector whose connector and tasks fail their first N starts, counting every start in
files, for tests of failure handling and automatic restarts. Register it with ``Plugins.discover(extra=[PLUGIN])``.

Options: ``starts.dir`` (where the counts go: ``connector.starts``, ``task-N.starts``, one line per start),
``failures`` (failing starts of each task), ``connector.failures`` (failing starts of the connector).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from hub.sdk import ConfigDef, ConfigType, ConnectorError, SourceConnector, SourceRecord, SourceTask, hookimpl


def starts(directory: Path, task: int | None = None) -> int:
    """How often the connector (task None) or a task started."""
    path = directory / ("connector.starts" if task is None else f"task-{task}.starts")
    return len(path.read_text().splitlines()) if path.exists() else 0


def _start(directory: Path, task: int | None, failures: int) -> None:
    path = directory / ("connector.starts" if task is None else f"task-{task}.starts")
    with path.open("a") as out:
        out.write("start\n")
    count = starts(directory, task)
    if count <= failures:
        what = "connector" if task is None else f"task {task}"
        raise ConnectorError(f"start {count} of the {what} fails on purpose")


class FlakySourceConnector(SourceConnector):
    """Fails its first ``connector.failures`` starts; its tasks fail their first ``failures``."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("starts.dir", ConfigType.STRING, doc="Directory of the start counts.")
            .define("failures", ConfigType.INT, 0, doc="Failing starts of each task.")
            .define("connector.failures", ConfigType.INT, 0, doc="Failing starts of the connector.")
        )

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)
        _start(Path(config["starts.dir"]), None, int(config.get("connector.failures", "0")))

    def task_class(self) -> type[SourceTask]:
        return FlakySourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [{**self.config, "task.index": str(index)} for index in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""


class FlakySourceTask(SourceTask):
    """Produces nothing; fails its first ``failures`` starts."""

    def __init__(self) -> None:
        self._stopped = threading.Event()

    def start(self, config: dict[str, str]) -> None:
        _start(Path(config["starts.dir"]), int(config["task.index"]), int(config.get("failures", "0")))

    def poll(self) -> list[SourceRecord]:
        self._stopped.wait(0.05)
        return []

    def stop(self) -> None:
        self._stopped.set()


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [FlakySourceConnector]


PLUGIN = _Plugin()
