"""A file source → topic → file sink pipeline through the herder, on every backend."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.runtime.standalone import StandaloneHerder
from tests.runtime.conftest import HerderFactory, wait_for


def _task_state(herder: StandaloneHerder, name: str) -> str:
    tasks = herder.connector_status(name)["tasks"]
    return str(tasks[0]["state"]) if tasks else ""


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.integration
def test_file_source_to_file_sink_and_resume_after_restart(make_herder: HerderFactory, tmp_path: Path) -> None:
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("".join(f"line {i}\n" for i in range(100)))
    herder = make_herder()
    herder.put_connector_config(
        "src",
        {"connector.class": "FileStreamSource", "file": str(source), "topic": "lines"},
        allow_replace=False,
    )
    created, info = herder.put_connector_config(
        "dst",
        {
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "file": str(sink),
            "topics": "lines",
        },
        allow_replace=False,
    )
    assert created
    assert info.type == "sink"
    wait_for(lambda: len(_lines(sink)) == 100, what="100 lines in the sink file")
    assert _lines(sink) == [f"line {i}" for i in range(100)]
    status = herder.connector_status("src")
    assert status["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in status["tasks"]] == ["RUNNING"]
    wait_for(lambda: herder.offsets("src"), what="source offsets committed")
    herder.stop()

    with source.open("a") as out:
        out.writelines(f"line {i}\n" for i in range(100, 150))
    again = make_herder(**_same_topics(herder))
    wait_for(lambda: len(_lines(sink)) >= 150, what="150 lines after restart")
    lines = _lines(sink)
    assert lines[-50:] == [f"line {i}" for i in range(100, 150)]
    assert sorted(set(lines)) == sorted({f"line {i}" for i in range(150)})
    assert again.connectors() == ["dst", "src"]


def _same_topics(herder: object) -> dict[str, str]:
    config = herder.config  # type: ignore[attr-defined]
    return {key: config[key] for key in ("config.storage.topic", "offset.storage.topic", "status.storage.topic")}


@pytest.mark.integration
def test_a_sink_started_before_its_topic_exists_gets_the_records_once_a_source_creates_it(
    make_herder: HerderFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    herder = make_herder()
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    topic = f"later-{time.monotonic_ns()}"
    herder.put_connector_config(
        "early-sink", {"connector.class": "FileStreamSink", "file": str(sink), "topics": topic}, allow_replace=False
    )
    # The embedded clients' consumer waits quietly for a topic, as Kafka's does; librdkafka's reports it missing.
    wait_for(lambda: _task_state(herder, "early-sink") == "RUNNING", 30, "the sink's task to run")
    time.sleep(0.5)
    source.write_text("".join(f"{i}\n" for i in range(20)))
    herder.put_connector_config(
        "late-source", {"connector.class": "FileStreamSource", "file": str(source), "topic": topic}, allow_replace=False
    )
    wait_for(lambda: len(_lines(sink)) == 20, 60, "20 lines in the sink")
    assert _lines(sink) == [str(i) for i in range(20)]
    assert caplog.text.count("waiting for the topic to be created") <= 1
