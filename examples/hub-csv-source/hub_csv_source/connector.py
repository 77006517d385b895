"""CsvSourceConnector: rows of the CSV files in a directory, one record each (see the package README)."""

from __future__ import annotations

import csv
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub.sdk import ConfigDef, ConfigType, Importance, SourceConnector, SourceRecord, SourceTask, Struct
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import OPTIONAL_STRING_SCHEMA, STRING_SCHEMA, struct_schema

CONFIG = (
    ConfigDef()
    .define("directory", ConfigType.STRING, doc="Directory holding the CSV files.", importance=Importance.HIGH,
            non_empty=True)
    .define("topic", ConfigType.STRING, doc="Topic to write the rows to.", importance=Importance.HIGH, non_empty=True)
    .define("poll.interval.ms", ConfigType.LONG, 1000, "Wait between looks at the directory.", minimum=10)
)  # fmt: skip


class CsvSourceConnector(SourceConnector):
    """Plans one task that reads every CSV file of the directory."""

    def config_def(self) -> ConfigDef:
        return CONFIG

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return CsvSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [self.config]  # one task; split the work here when it can be split

    def stop(self) -> None:
        """Nothing to release."""


class CsvSourceTask(SourceTask):
    """Sends the rows not sent yet, file by file."""

    def start(self, config: dict[str, str]) -> None:
        settings = CONFIG.parse(config)
        self.directory = Path(settings["directory"])
        self.topic = settings["topic"]
        self.interval_s = settings["poll.interval.ms"] / 1000
        self.stopped = threading.Event()
        self.rows_sent: dict[str, int] = {}

    def _sent(self, name: str) -> int:
        if name not in self.rows_sent:
            stored = self.context.offset_reader.offset({"file": name})
            self.rows_sent[name] = int(stored["row"]) if stored else 0
        return self.rows_sent[name]

    def poll(self) -> Sequence[SourceRecord]:
        if not self.directory.is_dir():
            raise ConnectorError(f"{self.directory} is not a directory")
        for path in sorted(self.directory.glob("*.csv")):
            records = self._new_rows(path)
            if records:
                return records
        self.stopped.wait(self.interval_s)  # stop() sets the event: a waiting poll returns at once
        return []

    def _new_rows(self, path: Path) -> list[SourceRecord]:
        with path.open(newline="") as file:
            rows = list(csv.reader(file))
        if not rows:
            return []
        header, body = rows[0], rows[1:]
        complete = body if path.read_text().endswith("\n") else body[:-1]  # a row still being written waits
        schema = struct_schema([(column, OPTIONAL_STRING_SCHEMA) for column in header], name="csv.Row")
        start = self._sent(path.name)
        records = []
        for number, row in enumerate(complete[start:], start + 1):
            values = dict(zip(header, row + [None] * (len(header) - len(row)), strict=False))
            records.append(
                SourceRecord(
                    topic=self.topic,
                    key=f"{path.name}:{number}",
                    key_schema=STRING_SCHEMA,
                    value=Struct(schema, values),
                    value_schema=schema,
                    source_partition={"file": path.name},
                    source_offset={"row": number},
                )
            )
        if records:
            self.rows_sent[path.name] = start + len(records)
        return records

    def progress(self) -> dict[str, Any]:
        """Shown with the task's status, beside the runtime's own ``records`` and ``records_per_second``."""
        return {"files": len(self.rows_sent), "rows_sent": sum(self.rows_sent.values())}

    def stop(self) -> None:
        self.stopped.set()
