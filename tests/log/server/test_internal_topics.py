"""Internal topics over the Kafka listener: Kafka clients may read them but not write or delete them, as Kafka
refuses appends to its own internal topics; under `hub start` the worker's topics are internal too."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from hub.log.records import encode_batch
from tests.harness.hub import HubServer
from tests.log.poison_batches import records
from tests.log.server.raw_kafka import RawKafkaConnection, produce
from tests.rest.conftest import start_hub, stop_hub

pytestmark = pytest.mark.integration


def _produce_errors(bootstrap: str, topic: str, key: bytes = b"k", value: bytes = b"forged") -> list[KafkaError]:
    """Produce one record with confluent-kafka; the delivery errors."""
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10_000})
    producer.produce(topic, key=key, value=value, on_delivery=lambda err, _msg: errors.append(err))
    assert producer.flush(15) == 0
    return errors


def _commit_an_offset(bootstrap: str, group: str) -> None:
    """A committed offset, so ``__consumer_offsets`` exists and holds a record."""
    topic = f"t-{uuid.uuid4().hex[:8]}"
    assert _produce_errors(bootstrap, topic) == [None]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    consumer.close()


def _read_all(bootstrap: str, topic: str, timeout_s: float = 15) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of partition 0 of ``topic`` up to its high watermark as of the call (the topic may hold other
    tests' records: reading stops at that end, not at the first records returned)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:6]}"})
    partition = TopicPartition(topic, 0, 0)
    _, end = consumer.get_watermark_offsets(partition, timeout=10)
    consumer.assign([partition])
    found: list[tuple[bytes | None, bytes | None]] = []
    deadline = time.monotonic() + timeout_s
    # The position, not the last record's offset: it also moves past transaction markers, which are never returned.
    while consumer.position([partition])[0].offset < end:
        assert time.monotonic() < deadline, f"read {len(found)} records of {topic} in {timeout_s} s, not up to {end}"
        for message in consumer.consume(100, 0.5):
            if message.error() is None:
                found.append((message.key(), message.value()))
    consumer.close()
    return found


def test_clients_cannot_write_or_delete_kafkas_internal_topics(hub_server: HubServer) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    _commit_an_offset(hub_server.bootstrap, group)
    [error] = _produce_errors(hub_server.bootstrap, "__consumer_offsets")
    assert error is not None
    assert error.code() == KafkaError.TOPIC_EXCEPTION, error
    admin = AdminClient({"bootstrap.servers": hub_server.bootstrap})
    # The server is shared: another test's transactions may have created __transaction_state already.
    existed = "__transaction_state" in admin.list_topics(timeout=10).topics
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        answer = produce(connection, "__transaction_state", encode_batch(records(1)))
        assert answer["error_code"] == KafkaError.TOPIC_EXCEPTION
        assert answer["error_message"] == "Cannot append to internal topic __transaction_state"
    with pytest.raises(Exception, match="TOPIC_EXCEPTION"):
        admin.delete_topics(["__consumer_offsets"])["__consumer_offsets"].result(10)
    topics = admin.list_topics(timeout=10).topics
    assert ("__transaction_state" in topics) == existed  # the refused write created nothing
    assert "__consumer_offsets" in topics
    # Reading stays allowed, as in Kafka, and the group's offset is still there.
    stored = _read_all(hub_server.bootstrap, "__consumer_offsets")
    assert any(key is not None and group.encode() in key for key, _ in stored)


@pytest.mark.slow
def test_hub_start_keeps_its_worker_topics_to_itself_and_warns_about_the_open_listener(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    user = {"name": "ops", "password_sha256": hashlib.sha256(b"pw").hexdigest(), "role": "admin"}
    credentials.write_text(json.dumps({"users": [user]}))
    hub = start_hub(tmp_path, "--workers", "1", config=f"rest.auth.file={credentials}\n", auth=("ops", "pw"))
    try:
        log_text = hub.log_path.read_text()
        assert "WARNING" in log_text
        assert "the Kafka listener on" in log_text
        assert "is not authenticated" in log_text
        with httpx.Client(base_url=hub.url, auth=("ops", "pw"), timeout=30) as api:
            body = {"name": "legit", "config": {"connector.class": "Datagen", "topic": "legit-out", "rate": "5"}}
            assert api.post("/connectors", json=body).status_code == 201
            # A connector config as the worker stores it, written straight into the config topic: it would run
            # without REST's authentication and validation.
            forged = json.dumps({"properties": {"connector.class": "Datagen", "topic": "evil", "rate": "1"}})
            [error] = _produce_errors(hub.kafka, "connect-configs", b"connector-evil", forged.encode())
            assert error is not None
            assert error.code() == KafkaError.TOPIC_EXCEPTION, error
            for topic in ("connect-offsets", "connect-status"):
                [error] = _produce_errors(hub.kafka, topic)
                assert error is not None
                assert error.code() == KafkaError.TOPIC_EXCEPTION, (topic, error)
            admin = AdminClient({"bootstrap.servers": hub.kafka})
            with pytest.raises(Exception, match="TOPIC_EXCEPTION"):
                admin.delete_topics(["connect-configs"])["connect-configs"].result(10)
            # The runtime still writes its topics: a second connector is stored and runs (and the worker has read
            # the config topic past where a forged record would be).
            body = {"name": "second", "config": {"connector.class": "Datagen", "topic": "second-out", "rate": "5"}}
            assert api.post("/connectors", json=body).status_code == 201
            deadline = time.monotonic() + 30
            while api.get("/connectors/second/status").json().get("connector", {}).get("state") != "RUNNING":
                assert time.monotonic() < deadline, api.get("/connectors/second/status").text
                time.sleep(0.2)
            assert sorted(api.get("/connectors").json()) == ["legit", "second"]
        # Reading the config topic stays allowed (what docs/rest-api.md warns about).
        assert any(b"legit" in (key or b"") for key, _ in _read_all(hub.kafka, "connect-configs"))
    finally:
        stop_hub(hub)
