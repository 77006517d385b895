"""Racing lifecycle requests through the REST API: none answers 5xx, and a deleted connector stops writing."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.rest.conftest import HubStart

pytestmark = pytest.mark.integration

ROUNDS = 5


def _end_offset(hub: HubStart, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": hub.kafka, "group.id": "race-probe"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
    finally:
        consumer.close()


def _wait_running(api: httpx.Client, name: str, tasks: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = api.get(f"/connectors/{name}/status").json()
        if [t["state"] for t in status.get("tasks", [])] == ["RUNNING"] * tasks:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never ran {tasks} task(s): {status}")


def test_concurrent_restarts_answer_no_server_error_and_a_deleted_connector_stops_writing(hub: HubStart) -> None:
    topic = f"rest-race-{time.monotonic_ns()}"
    with httpx.Client(base_url=hub.url, timeout=60) as api:
        created = api.post(
            "/connectors",
            json={
                "name": "rest-racer",
                "config": {"connector.class": "Datagen", "topic": topic, "rate": "200", "tasks.max": "2"},
            },
        )
        assert created.status_code == 201, created.text
        _wait_running(api, "rest-racer", 2)
        requests = [
            ("/connectors/rest-racer/restart", {"includeTasks": "true"}),
            ("/connectors/rest-racer/tasks/0/restart", {}),
            ("/connectors/rest-racer/tasks/0/restart", {}),
            ("/connectors/rest-racer/tasks/1/restart", {}),
        ]
        with ThreadPoolExecutor(len(requests)) as pool:
            for _ in range(ROUNDS):
                answers = list(pool.map(lambda r: api.post(r[0], params=r[1]), requests))
                assert [a.status_code for a in answers if a.status_code >= 500] == [], [a.text for a in answers]
        _wait_running(api, "rest-racer", 2)
        with ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(
                    lambda call: call(),
                    [
                        lambda: api.post("/connectors/rest-racer/tasks/0/restart"),
                        lambda: api.put("/connectors/rest-racer/pause"),
                        lambda: api.delete("/connectors/rest-racer"),
                    ],
                )
            )
        assert [a.status_code for a in answers if a.status_code >= 500] == [], [a.text for a in answers]
        deadline = time.monotonic() + 30
        while api.get("/connectors/rest-racer").status_code != 404 and time.monotonic() < deadline:
            time.sleep(0.1)
    time.sleep(1.0)  # stopping tasks flush what they polled
    deleted_at = _end_offset(hub, topic)
    time.sleep(1.5)
    assert _end_offset(hub, topic) == deleted_at, "a deleted connector's topic kept growing"
