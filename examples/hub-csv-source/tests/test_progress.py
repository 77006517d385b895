"""The task's own progress figures, shown beside the runtime's records and rate: files seen and rows sent."""

from __future__ import annotations

from pathlib import Path

from hub_csv_source.connector import CsvSourceTask

from hub.sdk.testing import MemoryOffsets, MemorySourceContext


def test_progress_counts_files_and_rows(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    (tmp_path / "b.csv").write_text("id\n3\n")
    config = {"directory": str(tmp_path), "topic": "rows", "poll.interval.ms": "10"}
    task = CsvSourceTask()
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    assert task.progress() == {"files": 0, "rows_sent": 0}
    assert len([*task.poll(), *task.poll()]) == 3
    task.stop()
    assert task.progress() == {"files": 2, "rows_sent": 3}
