"""Connect's semantics of the task runners where a task misbehaves: a RetriableError from ``poll`` is retried
indefinitely; a failed ``pre_commit`` rewinds the sink to its last committed offsets; offsets a sink claims beyond
what it was given are ignored."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import pytest

from hub.log.client import StoreClients, TopicPartition
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from tests.runtime.conftest import HerderFactory, wait_for
from tests.runtime.scripted_tasks import PLUGIN

pytestmark = pytest.mark.integration

STRINGS = {
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
}


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.discover(extra=[PLUGIN])


def _states(herder: StandaloneHerder, name: str) -> tuple[str, list[str]]:
    status = herder.connector_status(name)
    return status["connector"]["state"], [task["state"] for task in status["tasks"]]


def _fill(clients: StoreClients, topic: str, count: int) -> None:
    with clients.producer() as producer:
        for index in range(count):
            producer.send(topic, key=None, value=f"v{index}".encode())
        producer.flush(10)


def _put(path: Path) -> Counter[str]:
    return Counter(path.read_text().splitlines()) if path.exists() else Counter()


def _committed(herder: StandaloneHerder, name: str) -> int | None:
    offsets = herder.offsets(name)
    return offsets[0]["offset"]["kafka_offset"] if offsets else None


def test_a_retriable_error_from_poll_is_retried_without_failing_the_task(
    make_herder: HerderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    herder = make_herder()
    topic = f"retrying-{time.monotonic_ns()}"
    with caplog.at_level(logging.WARNING):
        herder.put_connector_config(
            "retrying",
            {"connector.class": "RetryingSource", "topic": topic, "poll.failures": "5", **STRINGS},
            allow_replace=False,
        )
        wait_for(lambda: herder.offsets("retrying"), what="records after the retriable failures")
    assert _states(herder, "retrying") == ("RUNNING", ["RUNNING"])
    warnings = [r for r in caplog.records if "poll() asked for a retry" in r.getMessage()]
    assert warnings, "the first retriable failure is logged as a warning"
    assert "not reachable for now" in warnings[0].getMessage()


def test_a_failed_pre_commit_rewinds_to_the_last_commit_and_redelivers(
    make_herder: HerderFactory, clients: StoreClients, tmp_path: Path
) -> None:
    herder = make_herder()
    topic = f"rewound-{time.monotonic_ns()}"
    _fill(clients, topic, 5)
    out = tmp_path / "put.txt"
    herder.put_connector_config(
        "rewound",
        {"connector.class": "ScriptedSink", "topics": topic, "out": str(out), "precommit.failures": "1", **STRINGS},
        allow_replace=False,
    )
    wait_for(lambda: _committed(herder, "rewound") == 5, what="the offsets committed after the failure")
    delivered = _put(out)
    assert set(delivered) == {f"{topic}-0@{offset}" for offset in range(5)}
    assert all(count >= 2 for count in delivered.values()), f"not delivered again after the rewind: {delivered}"
    assert _states(herder, "rewound") == ("RUNNING", ["RUNNING"])


def test_offsets_a_sink_returns_beyond_what_it_was_given_are_ignored(
    make_herder: HerderFactory, clients: StoreClients, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    herder = make_herder()
    topic = f"ahead-{time.monotonic_ns()}"
    _fill(clients, topic, 3)
    out = tmp_path / "put.txt"
    with caplog.at_level(logging.WARNING):
        herder.put_connector_config(
            "ahead",
            {"connector.class": "ScriptedSink", "topics": topic, "out": str(out), "precommit.ahead": "10", **STRINGS},
            allow_replace=False,
        )
        wait_for(lambda: sum(_put(out).values()) == 3, what="the records put")
        wait_for(lambda: any("not yet consumed" in r.getMessage() for r in caplog.records), what="the warning")
    assert _committed(herder, "ahead") is None
    with clients.consumer(group_id="connect-ahead") as consumer:
        assert consumer.committed([TopicPartition(topic, 0)]) == {TopicPartition(topic, 0): None}
