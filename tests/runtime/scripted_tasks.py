"""Test connectors whose tasks misbehave on purpose, for tests of the runners' error handling. Register them with
``Plugins.discover(extra=[PLUGIN])``.

- ScriptedSink: writes ``topic-partition@offset`` of every record put to the file ``out``; its ``pre_commit``
  raises for the first ``precommit.failures`` calls, and returns offsets ``precommit.ahead`` beyond what it was
  given.
- RetryingSource: ``poll`` raises RetriableError for the first ``poll.failures`` calls, then returns one record a
  call to ``topic``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hub.sdk import (
    ConfigDef,
    ConfigType,
    RetriableError,
    SinkConnector,
    SinkRecord,
    SinkTask,
    SourceConnector,
    SourceRecord,
    SourceTask,
    hookimpl,
)
from hub.sdk.connector import TopicPartition
from hub.sdk.schema import STRING_SCHEMA


class ScriptedSinkConnector(SinkConnector):
    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("out", ConfigType.STRING, doc="File of the records put.")
            .define("precommit.failures", ConfigType.INT, 0, doc="pre_commit calls that raise first.")
            .define("precommit.ahead", ConfigType.INT, 0, doc="Added to the offsets pre_commit returns.")
        )

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SinkTask]:
        return ScriptedSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class ScriptedSinkTask(SinkTask):
    def start(self, config: dict[str, str]) -> None:
        self.out = Path(config["out"])
        self.failures = int(config.get("precommit.failures", "0"))
        self.ahead = int(config.get("precommit.ahead", "0"))

    def put(self, records: Sequence[SinkRecord]) -> None:
        with self.out.open("a") as out:
            out.writelines(f"{r.topic}-{r.kafka_partition}@{r.kafka_offset}\n" for r in records)

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("the sink could not make its writes durable")
        return {tp: offset + self.ahead for tp, offset in offsets.items()}

    def stop(self) -> None:
        """Nothing to release."""


class RetryingSourceConnector(SourceConnector):
    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("topic", ConfigType.STRING, doc="Topic to write to.")
            .define("poll.failures", ConfigType.INT, 0, doc="poll calls that raise RetriableError first.")
        )

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return RetryingSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class RetryingSourceTask(SourceTask):
    def start(self, config: dict[str, str]) -> None:
        self.topic = config["topic"]
        self.failures = int(config.get("poll.failures", "0"))
        self.sent = 0

    def poll(self) -> list[SourceRecord]:
        if self.failures > 0:
            self.failures -= 1
            raise RetriableError("the source is not reachable for now")
        self.sent += 1
        return [
            SourceRecord(
                self.topic,
                f"record-{self.sent}",
                STRING_SCHEMA,
                source_partition={"p": 0},
                source_offset={"n": self.sent},
            )
        ]

    def stop(self) -> None:
        """Nothing to release."""


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [ScriptedSinkConnector, RetryingSourceConnector]


PLUGIN = _Plugin()
