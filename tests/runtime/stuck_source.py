"""StuckSource: a test connector whose tasks ignore ``stop()``: each ``poll()`` waits for a gate that only the
test opens, then returns one record naming the task instance that produced it. For tests of tasks that outlive
the graceful shutdown timeout. Register it with ``Plugins.discover(extra=[PLUGIN])``.

Options: ``topic``.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from hub.sdk import ConfigDef, ConfigType, SourceConnector, SourceRecord, SourceTask, hookimpl
from hub.sdk.schema import STRING_SCHEMA

#: Opened by the test; until then every poll blocks, whatever ``stop()`` says.
GATE = threading.Event()
_instances = itertools.count(1)


class StuckSourceConnector(SourceConnector):
    def config_def(self) -> ConfigDef:
        return ConfigDef().define("topic", ConfigType.STRING, doc="Topic to write to.")

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return StuckSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class StuckSourceTask(SourceTask):
    """Each instance numbers itself; its records' values are ``instance-N``."""

    def start(self, config: dict[str, str]) -> None:
        self.topic = config["topic"]
        self.instance = next(_instances)
        self.sent = 0

    def poll(self) -> list[SourceRecord]:
        GATE.wait()
        self.sent += 1
        return [
            SourceRecord(
                self.topic,
                f"instance-{self.instance}",
                STRING_SCHEMA,
                source_partition={"task": "stuck"},
                source_offset={"n": self.sent},
            )
        ]

    def stop(self) -> None:
        """Ignored on purpose."""


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [StuckSourceConnector]


PLUGIN = _Plugin()
