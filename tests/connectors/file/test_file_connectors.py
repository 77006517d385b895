"""The quickstart connectors pass the SDK's conformance suite, and keep Kafka's file connector semantics."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from connectors.file.datagen import DatagenConnector
from connectors.file.sink import FileStreamSinkConnector
from connectors.file.source import FileStreamSourceConnector
from hub.sdk.testing import MemoryOffsets, MemorySourceContext, SinkConnectorConformance, SourceConnectorConformance


class TestFileStreamSource(SourceConnectorConformance):
    connector_class = FileStreamSourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"file": str(tmp_path / "in.txt"), "topic": "lines"}

    def add_input(self, config: dict[str, str], count: int) -> None:
        path = Path(config["file"])
        existing = len(path.read_text().splitlines()) if path.exists() else 0
        with path.open("a") as out:
            out.writelines(f"line {existing + i}\n" for i in range(count))


class TestFileStreamSink(SinkConnectorConformance):
    connector_class = FileStreamSinkConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"file": str(tmp_path / "out.txt")}

    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        path = Path(config["file"])
        return path.read_text().splitlines() if path.exists() else []


class TestDatagen(SourceConnectorConformance):
    connector_class = DatagenConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"topic": "users", "batch.size": "5"}

    def add_input(self, config: dict[str, str], count: int) -> None:
        """Datagen makes its own input."""

    def record_id(self, record: Any) -> Any:
        return record.key


def test_file_source_sends_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("one\ntw")
    task = FileStreamSourceConnector().task_class()()
    config = {"file": str(path), "topic": "t"}
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    assert [r.value for r in task.poll()] == ["one"]
    with path.open("a") as out:
        out.write("o\n")
    assert [(r.value, r.source_offset) for r in task.poll()] == [("two", {"position": 8})]
    task.stop()
