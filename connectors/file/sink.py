"""FileStreamSink: appends each record's value as a line to a file (or standard output), like Kafka's
``org.apache.kafka.connect.file.FileStreamSinkConnector``. ``flush`` fsyncs the file, so committed offsets never
run ahead of what is on disk."""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Mapping, Sequence
from typing import IO

from hub.sdk import ConfigDef, ConfigType, Importance, SinkConnector, SinkRecord, SinkTask
from hub.sdk.errors import ConnectorError

CONFIG = ConfigDef().define(
    "file", ConfigType.STRING, "", "File to append to; empty writes to standard output.", importance=Importance.HIGH
)


class FileStreamSinkConnector(SinkConnector):
    """Writes the values of records of its topics to one file (one task)."""

    aliases = ("org.apache.kafka.connect.file.FileStreamSinkConnector", "FileStreamSink")

    def config_def(self) -> ConfigDef:
        return CONFIG

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SinkTask]:
        return FileStreamSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class FileStreamSinkTask(SinkTask):
    """Appends values, one per line."""

    def start(self, config: dict[str, str]) -> None:
        path = CONFIG.parse(config)["file"]
        self.path = path
        try:
            self.out: IO[str] = open(path, "a", encoding="utf-8") if path else sys.stdout  # noqa: SIM115 (kept open)
        except OSError as exc:
            raise ConnectorError(f"cannot open {path} for appending: {exc.strerror}") from exc

    def open(self, partitions: Collection[tuple[str, int]]) -> None:
        """One file for every partition."""

    def put(self, records: Sequence[SinkRecord]) -> None:
        self.out.writelines(f"{'' if r.value is None else r.value}\n" for r in records)

    def flush(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.out.flush()
        if self.path:
            os.fsync(self.out.fileno())

    def stop(self) -> None:
        if self.path and not self.out.closed:
            self.out.flush()
            self.out.close()
