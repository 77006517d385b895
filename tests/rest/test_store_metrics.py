"""GET /metrics of `hub start`: the store's metrics under Kafka's names move as a Kafka client produces and a
consumer group commits, next to the worker's."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from tests.rest.conftest import HubStart, start_hub, stop_hub

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    started = start_hub(tmp_path_factory.mktemp("hub-metrics"))
    yield started
    stop_hub(started)


def scrape(hub: HubStart) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(hub.url + "/metrics", timeout=30)
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(hub: HubStart, name: str, **labels: str) -> float | None:
    return scrape(hub).get((name, frozenset(labels.items())))


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_produced_records_show_in_the_topics_counters_and_its_log(hub: HubStart) -> None:
    producer = Producer({"bootstrap.servers": hub.kafka})
    for index in range(20):
        producer.produce("metered", value=b"x" * 100, key=str(index).encode(), partition=0)
    assert producer.flush(30) == 0
    assert value(hub, "kafka_server_brokertopicmetrics_messagesin_total", topic="metered") == 20
    assert (value(hub, "kafka_server_brokertopicmetrics_bytesin_total", topic="metered") or 0) > 2000
    assert value(hub, "kafka_log_log_logendoffset", topic="metered", partition="0") == 20
    assert (value(hub, "kafka_log_log_size", topic="metered", partition="0") or 0) > 2000
    assert (value(hub, "kafka_network_requestmetrics_requests_total", request="Produce") or 0) >= 1
    assert (value(hub, "kafka_server_replicamanager_partitioncount") or 0) >= 1
    assert value(hub, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert (value(hub, "kafka_log_logflushstats_logflush_total") or 0) >= 1


def test_a_groups_lag_is_what_it_has_not_committed(hub: HubStart) -> None:
    producer = Producer({"bootstrap.servers": hub.kafka})
    for _ in range(30):
        producer.produce("lagging-topic", value=b"y", partition=0)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": hub.kafka,
            "group.id": "readers",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe(["lagging-topic"])
        read = 0
        deadline = time.monotonic() + 30
        while read < 10 and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                read += 1
                last = message
        consumer.commit(message=last, asynchronous=False)
        labels = {"consumergroup": "readers", "topic": "lagging-topic", "partition": "0"}
        assert value(hub, "kafka_consumergroup_lag", **labels) == 20
        assert (value(hub, "kafka_server_brokertopicmetrics_bytesout_total", topic="lagging-topic") or 0) > 0
        assert (value(hub, "kafka_server_socketservermetrics_connection_count") or 0) >= 1
    finally:
        consumer.close()


def test_the_workers_metrics_are_served_beside_the_stores(hub: HubStart) -> None:
    samples = scrape(hub)
    assert any(name == "hub_connect_worker_info" for name, _ in samples)
    assert ("hub_connect_worker_connector_count", frozenset()) in samples
    # `hub start`'s worker is a member of its worker group: it joined once, and is not rebalancing now.
    wait_until(lambda: value(hub, "hub_connect_worker_rebalance_rebalancing") == 0, "the first rebalance done")
    assert (value(hub, "hub_connect_worker_rebalance_completed_rebalances_total") or 0) >= 1
    assert (value(hub, "hub_connect_worker_rebalance_epoch") or 0) >= 1
    assert (value(hub, "hub_connect_worker_rebalance_time_since_last_rebalance_seconds") or -1) >= 0
    assert value(hub, "hub_connect_worker_rebalance_seconds_total") is not None


ROOT = Path(__file__).resolve().parents[2]
_METRIC_NAME = re.compile(r"\b(?:hub|kafka)_[a-z0-9_]+\b")


def exposed_names(hub: HubStart) -> set[str]:
    """Every metric /metrics exposes, empty families too, as queries name them (counters with ``_total``)."""
    text = httpx.get(hub.url + "/metrics", timeout=30).text
    return {
        family.name + "_total" if family.type == "counter" else family.name
        for family in text_string_to_metric_families(text)
    }


def test_every_query_of_the_grafana_dashboard_names_an_exposed_metric(hub: HubStart) -> None:
    dashboard = json.loads((ROOT / "configs" / "grafana" / "hub-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(queries) >= 20
    named = {name for query in queries for name in _METRIC_NAME.findall(query)}
    assert all(_METRIC_NAME.search(query) for query in queries), "a query naming no metric"
    assert named <= exposed_names(hub), sorted(named - exposed_names(hub))


def test_docs_table_lists_exactly_the_exposed_metrics(hub: HubStart) -> None:
    rows = [line for line in (ROOT / "docs" / "metrics.md").read_text().splitlines() if line.startswith("| `")]
    documented = {row.split("`")[1] for row in rows}
    exposed = exposed_names(hub)
    assert documented == exposed, (sorted(documented - exposed), sorted(exposed - documented))
