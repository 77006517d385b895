"""What Kafka clients see of the listener's security beyond a round trip: a refused password or an untrusted
certificate reported in the client's error, and re-authentication (KIP-368) keeping long-lived clients going
when ``connections.max.reauth.ms`` is short."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from kafka import KafkaConsumer
from kafka import KafkaProducer as KafkaPythonProducer

from tests.log.security.conftest import REAUTH_MS, SecuredListeners

pytestmark = pytest.mark.integration

SCRAM = {"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "scram-user", "sasl.password": "scram-secret"}


def first_errors(config: dict[str, Any]) -> list[KafkaError]:
    """The errors librdkafka reports while trying to reach the cluster (bounded wait for the first)."""
    errors: list[KafkaError] = []
    producer = Producer({**config, "error_cb": errors.append})
    for _ in range(40):
        producer.poll(0.25)
        if errors:
            break
    return errors


def test_confluent_kafka_reports_a_refused_password_with_kafkas_message(secured: SecuredListeners) -> None:
    errors = first_errors(
        {
            "bootstrap.servers": secured.bootstrap("SASL_SSL"),
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(secured.certificates.ca.pem),
            **SCRAM,
            "sasl.password": "wrong-password",
        }
    )
    assert errors[0].code() == KafkaError._AUTHENTICATION
    assert "Authentication failed during authentication due to invalid credentials" in errors[0].str()


def test_confluent_kafka_refuses_a_server_certificate_it_does_not_trust(secured: SecuredListeners) -> None:
    errors = first_errors(
        {
            "bootstrap.servers": secured.bootstrap("SSL"),
            "security.protocol": "SSL",
            "ssl.ca.location": str(secured.certificates.untrusted_ca.pem),
        }
    )
    assert errors[0].code() in (KafkaError._SSL, KafkaError._TRANSPORT)  # librdkafka reports either
    assert "certificate verify failed" in errors[0].str()


def test_confluent_kafka_without_a_client_certificate_is_refused_where_one_is_required(
    secured: SecuredListeners,
) -> None:
    errors = first_errors(
        {
            "bootstrap.servers": secured.bootstrap("MTLS"),
            "security.protocol": "SSL",
            "ssl.ca.location": str(secured.certificates.ca.pem),
        }
    )
    # the server ends the TLS handshake: librdkafka sees the connection closed, then every broker down
    assert errors[0].code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)


@pytest.fixture
def expiries(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The listener's log lines about sessions that expired without re-authentication (none is wanted)."""
    caplog.set_level(logging.INFO, logger="hub.log.server")
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "expired" in record.getMessage():
                lines.append(record.getMessage())

    handler = Collect()
    logging.getLogger("hub.log.server").addHandler(handler)
    yield lines  # type: ignore[misc]
    logging.getLogger("hub.log.server").removeHandler(handler)


def test_librdkafka_re_authenticates_and_its_consumer_keeps_going(
    secured: SecuredListeners, expiries: list[str]
) -> None:
    topic = f"reauth-confluent-{uuid.uuid4().hex[:8]}"
    config = {"bootstrap.servers": secured.bootstrap("REAUTH"), "security.protocol": "SASL_PLAINTEXT", **SCRAM}
    producer = Producer(config)
    consumer = Consumer({**config, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received: list[bytes] = []
    began = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - began < 2.5 * REAUTH_MS / 1000:  # past two session lifetimes
            producer.produce(topic, str(sent).encode())
            producer.flush(10)
            sent += 1
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value())
        for _ in range(40):
            if len(received) == sent:
                break
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value())
    finally:
        consumer.close()
    assert received == [str(index).encode() for index in range(sent)]
    assert expiries == []


def test_kafka_python_re_authenticates_and_its_consumer_keeps_going(
    secured: SecuredListeners, expiries: list[str]
) -> None:
    topic = f"reauth-kafka-python-{uuid.uuid4().hex[:8]}"
    config = {
        "bootstrap_servers": secured.bootstrap("REAUTH"),
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "scram-user",
        "sasl_plain_password": "scram-secret",
    }
    producer = KafkaPythonProducer(**config)
    consumer = KafkaConsumer(topic, group_id=topic, auto_offset_reset="earliest", **config)
    received: list[bytes] = []
    began = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - began < 2.5 * REAUTH_MS / 1000:
            producer.send(topic, str(sent).encode()).get(timeout=10)
            sent += 1
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(record.value for record in records)
        for _ in range(40):
            if len(received) == sent:
                break
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(record.value for record in records)
    finally:
        consumer.close()
        producer.close()
    assert received == [str(index).encode() for index in range(sent)]
    assert expiries == []
