"""The example connector passes Hub's conformance suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub_csv_source.connector import CsvSourceConnector

from hub.sdk.testing import SourceConnectorConformance


class TestCsvSource(SourceConnectorConformance):
    connector_class = CsvSourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        directory = tmp_path / "csv"
        directory.mkdir(exist_ok=True)
        return {"directory": str(directory), "topic": "rows", "poll.interval.ms": "50"}

    def add_input(self, config: dict[str, str], count: int) -> None:
        path = Path(config["directory"]) / "people.csv"
        if not path.exists():
            path.write_text("id,name\n")
        existing = len(path.read_text().splitlines()) - 1
        with path.open("a") as out:
            out.writelines(f"{existing + i},person {existing + i}\n" for i in range(count))

    def record_id(self, record: Any) -> Any:
        return record.key
