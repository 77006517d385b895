"""FileStreamSource: tails a text file (or standard input) and sends each line as a record, like Kafka's
``org.apache.kafka.connect.file.FileStreamSourceConnector``.

The source offset is the byte position after the last line sent (``{"position": N}`` for the partition
``{"filename": PATH}``, Kafka's format), so a restart continues after the last committed line. A line is sent
only once it ends with a newline, so a line still being written is never cut in two.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import IO

from hub.sdk import ConfigDef, ConfigType, Importance, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import STRING_SCHEMA

CONFIG = (
    ConfigDef()
    .define("file", ConfigType.STRING, "", "File to read; empty reads standard input.", importance=Importance.HIGH)
    .define("topic", ConfigType.STRING, doc="Topic to write the lines to.", importance=Importance.HIGH, non_empty=True)
    .define("batch.size", ConfigType.INT, 2000, "Most lines returned by one poll.", minimum=1)
)


class FileStreamSourceConnector(SourceConnector):
    """Reads lines of one file into one topic (one task)."""

    aliases = ("org.apache.kafka.connect.file.FileStreamSourceConnector", "FileStreamSource")

    def config_def(self) -> ConfigDef:
        return CONFIG

    def start(self, config: dict[str, str]) -> None:
        self.settings = CONFIG.parse(config)

    def task_class(self) -> type[SourceTask]:
        return FileStreamSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [{key: str(value) for key, value in self.settings.items()}]

    def stop(self) -> None:
        """Nothing to release."""


class FileStreamSourceTask(SourceTask):
    """Tails the file from the stored position."""

    def start(self, config: dict[str, str]) -> None:
        settings = CONFIG.parse(config)
        self.path: str = settings["file"]
        self.topic: str = settings["topic"]
        self.batch_size: int = settings["batch.size"]
        self.partition = {"filename": self.path or "stdin"}
        stored = self.context.offset_reader.offset(self.partition) if self.path else None
        self.position = int(stored["position"]) if stored and "position" in stored else 0
        self._stream: IO[bytes] | None = None
        self._stopped = threading.Event()
        self._pending = b""

    def _open(self) -> IO[bytes] | None:
        if self._stream is None:
            if not self.path:
                self._stream = sys.stdin.buffer
                return self._stream
            try:
                stream = open(self.path, "rb")  # noqa: SIM115 (kept open while tailing)
            except FileNotFoundError:
                return None  # not there yet: keep waiting, as Kafka's connector does
            except OSError as exc:
                raise ConnectorError(f"cannot read {self.path}: {exc.strerror}") from exc
            stream.seek(self.position)
            self._stream = stream
        return self._stream

    def poll(self) -> Sequence[SourceRecord]:
        stream = self._open()
        if stream is None:
            self._stopped.wait(1.0)
            return []
        chunk = stream.read(1 << 20)
        if not chunk:
            self._stopped.wait(0.2)
            return []
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        records = []
        for raw in lines:
            self.position += len(raw) + 1
            text = raw.decode("utf-8", "replace").removesuffix("\r")
            records.append(
                SourceRecord(
                    topic=self.topic,
                    value=text,
                    value_schema=STRING_SCHEMA,
                    source_partition=self.partition,
                    source_offset={"position": self.position},
                )
            )
        return records

    def stop(self) -> None:
        self._stopped.set()
        if self._stream is not None and self._stream is not sys.stdin.buffer:
            self._stream.close()
