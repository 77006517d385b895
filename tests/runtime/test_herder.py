"""Herder behaviour on every backend: validation, pause/resume/stop, offsets, restarts, dead-letter queue."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from hub.log.client import StoreClients, TopicPartition
from hub.runtime.herder import AlreadyExistsError, BadRequestError, NotFoundError
from hub.sdk.errors import ConfigError
from tests.runtime.conftest import HerderFactory, wait_for


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _state(herder: object, name: str) -> tuple[str, list[str]]:
    status = herder.connector_status(name)  # type: ignore[attr-defined]
    return status["connector"]["state"], [task["state"] for task in status["tasks"]]


@pytest.mark.integration
def test_invalid_configs_are_refused_with_every_problem(make_herder: HerderFactory) -> None:
    herder = make_herder()
    with pytest.raises(ConfigError) as raised:
        herder.put_connector_config(
            "bad",
            {"connector.class": "FileStreamSink", "tasks.max": "0", "transforms": "x", "errors.tolerance": "some"},
            allow_replace=False,
        )
    assert set(raised.value.errors) >= {"tasks.max", "topics", "transforms.x.type", "errors.tolerance"}
    with pytest.raises(ConfigError, match="unknown connector class 'Nope'"):
        herder.put_connector_config("bad", {"connector.class": "Nope"}, allow_replace=False)
    response = herder.validate(
        {"name": "d", "connector.class": "Datagen", "topic": "t", "exactly.once.support": "required", "tpoic": "typo"}
    )
    assert response["error_count"] == 1
    assert response["warnings"] == ["unknown configuration 'tpoic' is ignored; did you mean 'topic'?"]
    assert herder.connectors() == []


@pytest.mark.integration
def test_pause_resume_stop_and_source_offsets(make_herder: HerderFactory, tmp_path: Path) -> None:
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("a\nb\n")
    herder = make_herder()
    herder.put_connector_config(
        "src", {"connector.class": "FileStreamSource", "file": str(source), "topic": "p"}, allow_replace=False
    )
    herder.put_connector_config(
        "dst", {"connector.class": "FileStreamSink", "file": str(sink), "topics": "p"}, allow_replace=False
    )
    with pytest.raises(AlreadyExistsError):
        herder.put_connector_config("dst", {"connector.class": "FileStreamSink", "topics": "p"}, allow_replace=False)
    wait_for(lambda: _lines(sink) == ["a", "b"], what="two lines")
    herder.pause("src")
    wait_for(lambda: _state(herder, "src") == ("PAUSED", ["PAUSED"]), what="src paused")
    with source.open("a") as out:
        out.write("c\n")
    herder.resume("src")
    wait_for(lambda: _lines(sink) == ["a", "b", "c"], what="the line written while paused")
    with pytest.raises(BadRequestError, match="STOPPED"):
        herder.alter_offsets("src", [])
    herder.stop_connector("src")
    wait_for(lambda: _state(herder, "src") == ("STOPPED", []), what="src stopped")
    assert herder.offsets("src") == [{"partition": {"filename": str(source)}, "offset": {"position": 6}}]
    herder.alter_offsets("src", [{"partition": {"filename": str(source)}, "offset": {"position": 2}}])
    herder.resume("src")
    wait_for(lambda: _lines(sink) == ["a", "b", "c", "b", "c"], what="lines replayed from the altered offset")
    herder.delete_connector("src")
    with pytest.raises(NotFoundError):
        herder.connector_status("src")


@pytest.mark.integration
def test_poison_records_go_to_the_dead_letter_queue_and_the_task_goes_on(
    make_herder: HerderFactory, clients: StoreClients, tmp_path: Path
) -> None:
    sink = tmp_path / "out.txt"
    with clients.producer() as producer:
        for value in (
            b'{"schema":{"type":"string"},"payload":"ok 1"}',
            b"not json",
            b'{"schema":{"type":"string"},"payload":"ok 2"}',
        ):
            producer.send("raw", key=None, value=value, partition=0)
        producer.flush(30)
    herder = make_herder()
    herder.put_connector_config(
        "dst",
        {
            "connector.class": "FileStreamSink",
            "file": str(sink),
            "topics": "raw",
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": "dlq",
            "errors.deadletterqueue.context.headers.enable": "true",
            "errors.deadletterqueue.topic.replication.factor": "1",
        },
        allow_replace=False,
    )
    wait_for(lambda: _lines(sink) == ["ok 1", "ok 2"], what="the good records")
    with clients.consumer() as consumer:
        consumer.assign([TopicPartition("dlq", 0)])
        records: list = []
        wait_for(lambda: records.extend(consumer.poll(0.2)) or records, what="the dead letter")
    assert records[0].value == b"not json"
    headers = dict(records[0].headers)
    assert headers["__connect.errors.stage"] == b"VALUE_CONVERTER"
    assert headers["__connect.errors.offset"] == b"1"
    wait_for(lambda: herder.offsets("dst"), what="sink offsets committed")
    assert herder.offsets("dst") == [
        {"partition": {"kafka_topic": "raw", "kafka_partition": 0}, "offset": {"kafka_offset": 3}}
    ]
    assert _state(herder, "dst") == ("RUNNING", ["RUNNING"])


@pytest.mark.integration
def test_failed_task_shows_its_trace_and_restarts(make_herder: HerderFactory, tmp_path: Path) -> None:
    herder = make_herder()
    blocked = tmp_path / "dir-not-file"
    blocked.mkdir()
    herder.put_connector_config(
        "dst", {"connector.class": "FileStreamSink", "file": str(blocked), "topics": "x"}, allow_replace=False
    )
    wait_for(lambda: _state(herder, "dst")[1] == ["FAILED"], what="the task to fail")
    assert "cannot open" in herder.task_status("dst", 0)["trace"]
    blocked.rmdir()
    plan = herder.restart_connector("dst", include_tasks=True, only_failed=True)
    assert plan is not None
    assert [task["state"] for task in plan["tasks"]] == ["RESTARTING"]
    wait_for(lambda: _state(herder, "dst") == ("RUNNING", ["RUNNING"]), what="the restarted task")


@pytest.mark.integration
def test_secrets_from_config_providers_are_resolved_but_never_stored(
    make_herder: HerderFactory, clients: StoreClients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_TEST_SINK_FILE", str(tmp_path / "secret-out.txt"))
    (tmp_path / "in.txt").write_text("x\n")
    herder = make_herder()
    herder.put_connector_config(
        "src",
        {"connector.class": "FileStreamSource", "file": str(tmp_path / "in.txt"), "topic": "s"},
        allow_replace=False,
    )
    herder.put_connector_config(
        "dst",
        {"connector.class": "FileStreamSink", "file": "${env:HUB_TEST_SINK_FILE}", "topics": "s"},
        allow_replace=False,
    )
    wait_for(lambda: _lines(tmp_path / "secret-out.txt") == ["x"], what="the sink to use the resolved path")
    assert herder.connector_info("dst").config["file"] == "${env:HUB_TEST_SINK_FILE}"
    wait_for(lambda: herder.task_configs("dst"), what="task configs")
    assert herder.task_configs("dst")[0]["config"]["file"] == "${env:HUB_TEST_SINK_FILE}"
    stored = []
    with clients.consumer() as consumer:
        consumer.assign([TopicPartition(herder.config["config.storage.topic"], 0)])
        wait_for(lambda: stored.extend(consumer.poll(0.2)) or len(stored) >= 4, what="config records")
    for record in stored:
        assert str(tmp_path / "secret-out.txt").encode() not in (record.value or b"")
    keys = [record.key for record in stored]
    assert b"connector-dst" in keys
    assert b"commit-dst" in keys
    assert orjson.loads(next(r.value for r in stored if r.key == b"commit-dst")) == {"tasks": 1}


@pytest.mark.integration
@pytest.mark.parametrize("tolerance", ["all", "none"])
def test_a_record_the_store_refuses_is_skipped_or_fails_the_source_task(
    make_herder: HerderFactory, tmp_path: Path, tolerance: str
) -> None:
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("a\n" + "x" * 1_200_000 + "\nb\n")  # the middle line is over the producer's 1 MB limit
    herder = make_herder()
    herder.put_connector_config(
        "src",
        {
            "connector.class": "FileStreamSource",
            "file": str(source),
            "topic": f"big-{tolerance}",
            "errors.tolerance": tolerance,
        },
        allow_replace=False,
    )
    if tolerance == "all":
        herder.put_connector_config(
            "dst", {"connector.class": "FileStreamSink", "file": str(sink), "topics": "big-all"}, allow_replace=False
        )
        wait_for(lambda: _lines(sink) == ["a", "b"], what="the records around the refused one")
        end = source.stat().st_size
        wait_for(
            lambda: herder.offsets("src") == [{"partition": {"filename": str(source)}, "offset": {"position": end}}],
            what="the source offset past the skipped record",
        )
        assert _state(herder, "src") == ("RUNNING", ["RUNNING"])
    else:
        wait_for(lambda: _state(herder, "src")[1] == ["FAILED"], what="the source task to fail")
        trace = herder.task_status("src", 0)["trace"]
        assert re.search(r"max\.request\.size|too large", trace, re.IGNORECASE), trace[-500:]
        herder.stop_connector("src")
        wait_for(lambda: _state(herder, "src") == ("STOPPED", []), what="src stopped")
        assert all(entry["offset"]["position"] < 3 for entry in herder.offsets("src"))  # nothing past "a"
