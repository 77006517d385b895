"""GET /metrics: Prometheus' text format, Connect's metrics moving as records flow, failed tasks in the status
gauge, a sink's lag rising while it is paused and falling once resumed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from hub.log.client import NewTopic
from hub.runtime.metrics import RuntimeCollector
from hub.runtime.task_runner import TaskId
from tests.rest.conftest import LocalApi, local_api
from tests.runtime.flaky_source import PLUGIN as FLAKY

pytestmark = pytest.mark.integration


#: Progress published every 100 ms, so the progress gauges show without waiting 5 s.
WORKER = {"hub.status.progress.interval.ms": "100"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    registry = CollectorRegistry(auto_describe=False)
    with local_api(
        tmp_path_factory.mktemp("metrics-store"), plugins=[FLAKY], metrics_registry=registry, worker=WORKER
    ) as started:
        collector = RuntimeCollector(started.herder)
        registry.register(collector)
        yield started
        collector.close()


def scrape(api: LocalApi) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, parsed with prometheus_client's parser, by name and labels."""
    response = api.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(api: LocalApi, name: str, **labels: str) -> float | None:
    return scrape(api).get((name, frozenset(labels.items())))


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def create(api: LocalApi, name: str, config: dict[str, str]) -> None:
    response = api.client.put(f"/connectors/{name}/config", json=config)
    assert response.status_code in (200, 201), response.text


def test_the_page_parses_and_names_the_worker(api: LocalApi) -> None:
    samples = scrape(api)
    assert samples[("hub_connect_worker_info", frozenset({("worker", "w")}))] == 1.0
    assert ("hub_connect_worker_connector_count", frozenset()) in samples


def test_source_and_sink_counters_move_as_records_flow(api: LocalApi, tmp_path: Path) -> None:
    create(api, "gen", {"connector.class": "Datagen", "topic": "flow", "max.records": "500", "batch.size": "50"})
    create(api, "out", {"connector.class": "FileStreamSink", "topics": "flow", "file": str(tmp_path / "out.txt")})
    task = {"connector": "gen", "task": "0"}
    sink = {"connector": "out", "task": "0"}
    wait_until(lambda: value(api, "hub_connect_source_task_source_record_write_total", **task) == 500, "500 written")
    assert value(api, "hub_connect_source_task_source_record_poll_total", **task) == 500
    assert (value(api, "hub_connect_task_batches_total", **task) or 0) >= 10
    wait_until(lambda: value(api, "hub_connect_sink_task_sink_record_send_total", **sink) == 500, "500 put")
    assert value(api, "hub_connect_sink_task_sink_record_read_total", **sink) == 500
    wait_until(lambda: (value(api, "hub_connect_task_offset_commit_success_total", **sink) or 0) > 0, "a commit")
    assert (value(api, "hub_connect_task_offset_commit_seconds_total", **sink) or 0) > 0
    assert value(api, "hub_connect_sink_task_partition_count", **sink) == 1
    assert 0 < (value(api, "hub_connect_task_running_ratio", **task) or 0) <= 1
    assert value(api, "hub_connect_task_pause_ratio", **task) == 0
    assert value(api, "hub_connect_task_status", **task, state="RUNNING") == 1.0
    assert value(api, "hub_connect_connector_status", connector="out", type="sink", state="RUNNING") == 1.0
    assert value(api, "hub_connect_task_error_total_record_failures_total", **sink) == 0
    wait_until(
        lambda: value(api, "hub_connect_task_progress", **sink, figure="lag_records") == 0, "the sink's progress"
    )
    assert value(api, "hub_connect_task_progress", **task, figure="records_per_second") is not None


def test_a_failed_task_shows_in_the_status_gauge(api: LocalApi, tmp_path: Path) -> None:
    create(api, "flaky", {"connector.class": "FlakySourceConnector", "starts.dir": str(tmp_path), "failures": "99"})
    wait_until(
        lambda: value(api, "hub_connect_task_status", connector="flaky", task="0", state="FAILED") == 1.0,
        "the task FAILED",
    )
    assert value(api, "hub_connect_task_status", connector="flaky", task="0", state="RUNNING") == 0.0
    assert value(api, "hub_connect_worker_connector_tasks", connector="flaky", state="FAILED") == 1.0


def test_a_sinks_lag_rises_while_paused_and_falls_once_resumed(api: LocalApi, tmp_path: Path) -> None:
    create(
        api,
        "lagging",
        {
            "connector.class": "FileStreamSink",
            "topics": "lagged",
            "file": str(tmp_path / "l.txt"),
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        },
    )
    producer = api.herder.worker.clients.producer()
    try:

        def produce(count: int) -> None:
            for future in [producer.send("lagged", key=None, value=b'"x"', partition=0) for _ in range(count)]:
                future.result(30)

        def lag() -> float | None:
            labels = {"connector": "lagging", "task": "0", "topic": "lagged", "partition": "0"}
            return value(api, "hub_connect_sink_task_lag_records", **labels)

        produce(10)
        wait_until(lambda: lag() == 0, "the sink caught up")
        assert api.client.put("/connectors/lagging/pause").status_code == 202
        wait_until(
            lambda: value(api, "hub_connect_task_status", connector="lagging", task="0", state="PAUSED") == 1.0,
            "the task PAUSED",
        )
        runner = api.herder.worker.tasks[TaskId("lagging", 0)]
        # A poll under way when the pause came may still deliver; once the loop has paused its consumer, none does.
        wait_until(lambda: getattr(runner, "_consumer_paused", False), "the task's loop to pause its consumer")
        produce(40)
        wait_until(lambda: lag() == 40, "the lag to rise while paused")
        paused = {"connector": "lagging", "task": "0"}
        assert (value(api, "hub_connect_task_pause_ratio", **paused) or 0) > 0
        assert (value(api, "hub_connect_task_running_ratio", **paused) or 1) < 1
        assert api.client.put("/connectors/lagging/resume").status_code == 202
        wait_until(lambda: lag() == 0, "the lag to fall once resumed")
    finally:
        producer.close()


def test_dead_letter_writes_and_their_failures_are_counted(api: LocalApi, tmp_path: Path) -> None:
    clients = api.herder.worker.clients
    with clients.admin() as admin:  # a dead-letter topic that refuses every record with its error headers
        admin.create_topics([NewTopic("tiny-dlq", 1, configs={"max.message.bytes": "200"})])
    with clients.producer() as producer:
        producer.send("poison", key=None, value=b"not json", partition=0)
        producer.flush(30)
    create(
        api,
        "poisoned",
        {
            "connector.class": "FileStreamSink",
            "topics": "poison",
            "file": str(tmp_path / "p.txt"),
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": "tiny-dlq",
            "errors.deadletterqueue.topic.replication.factor": "1",
            "errors.deadletterqueue.context.headers.enable": "true",
        },
    )
    task = {"connector": "poisoned", "task": "0"}
    wait_until(
        lambda: value(api, "hub_connect_task_error_deadletterqueue_produce_failures_total", **task) == 1,
        "the refused dead-letter write counted",
    )
    assert value(api, "hub_connect_task_error_deadletterqueue_produce_requests_total", **task) == 1
    assert value(api, "hub_connect_task_error_total_records_skipped_total", **task) == 1


def test_a_secret_in_a_config_is_in_no_metric(api: LocalApi, tmp_path: Path) -> None:
    create(
        api,
        "secretive",
        {
            "connector.class": "FileStreamSink",
            "topics": "quiet",
            "file": str(tmp_path / "s.txt"),
            "consumer.override.sasl.jaas.config": "password=hunter2-metrics",
        },
    )
    wait_until(
        lambda: (
            value(api, "hub_connect_connector_status", connector="secretive", type="sink", state="RUNNING") is not None
        ),
        "the connector listed",
    )
    assert "hunter2-metrics" not in api.client.get("/metrics").text
