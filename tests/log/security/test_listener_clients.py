"""Kafka clients over every security protocol of the listener: confluent-kafka (librdkafka), kafka-python and
aiokafka produce and consume over SSL, SASL_PLAINTEXT PLAIN, SASL_SSL SCRAM-SHA-256/512 and TLS with a client
certificate, each listener advertising its own endpoint."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context
from confluent_kafka import Consumer, Producer
from kafka import KafkaConsumer, KafkaProducer

from tests.log.security.conftest import SecuredListeners

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    listener: str
    protocol: str
    mechanism: str | None = None
    user: str = ""
    password: str = ""
    client_certificate: bool = False


CASES = [
    Case("SSL", "SSL"),
    Case("SASL_PLAINTEXT", "SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret"),
    Case("SASL_SSL", "SASL_SSL", "SCRAM-SHA-256", "scram-user", "scram-secret"),
    Case("SASL_SSL", "SASL_SSL", "SCRAM-SHA-512", "scram-user", "scram-secret"),
    Case("MTLS", "SSL", client_certificate=True),
]
IDS = [f"{case.listener}-{case.mechanism or 'tls'}" for case in CASES]


def confluent_config(secured: SecuredListeners, case: Case) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap.servers": secured.bootstrap(case.listener), "security.protocol": case.protocol}
    if "SSL" in case.protocol:
        config["ssl.ca.location"] = str(secured.certificates.ca.pem)
    if case.client_certificate:
        config["ssl.certificate.location"] = str(secured.certificates.client.certificate)
        config["ssl.key.location"] = str(secured.certificates.client.key)
    if case.mechanism:
        config.update({"sasl.mechanism": case.mechanism, "sasl.username": case.user, "sasl.password": case.password})
    return config


def kafka_python_config(secured: SecuredListeners, case: Case) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap_servers": secured.bootstrap(case.listener), "security_protocol": case.protocol}
    if "SSL" in case.protocol:
        config["ssl_cafile"] = str(secured.certificates.ca.pem)
    if case.client_certificate:
        config["ssl_certfile"] = str(secured.certificates.client.certificate)
        config["ssl_keyfile"] = str(secured.certificates.client.key)
    if case.mechanism:
        config.update(
            {"sasl_mechanism": case.mechanism, "sasl_plain_username": case.user, "sasl_plain_password": case.password}
        )
    return config


def aiokafka_config(secured: SecuredListeners, case: Case) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap_servers": secured.bootstrap(case.listener), "security_protocol": case.protocol}
    if "SSL" in case.protocol:
        certificate = secured.certificates.client if case.client_certificate else None
        config["ssl_context"] = create_ssl_context(
            cafile=str(secured.certificates.ca.pem),
            certfile=str(certificate.certificate) if certificate else None,
            keyfile=str(certificate.key) if certificate else None,
        )
    if case.mechanism:
        config.update(
            {"sasl_mechanism": case.mechanism, "sasl_plain_username": case.user, "sasl_plain_password": case.password}
        )
    return config


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_confluent_kafka_produces_and_consumes_in_a_group(secured: SecuredListeners, case: Case) -> None:
    topic = f"secured-confluent-{uuid.uuid4().hex[:8]}"
    config = confluent_config(secured, case)
    producer = Producer(config)
    producer.produce(topic, b"over " + case.protocol.encode())
    assert producer.flush(30) == 0
    consumer = Consumer({**config, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        message = None
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None:
                break
        assert message is not None
        assert message.error() is None
        assert message.value() == b"over " + case.protocol.encode()
        consumer.commit(message, asynchronous=False)
    finally:
        consumer.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kafka_python_produces_and_consumes_in_a_group(secured: SecuredListeners, case: Case) -> None:
    topic = f"secured-kafka-python-{uuid.uuid4().hex[:8]}"
    config = kafka_python_config(secured, case)
    producer = KafkaProducer(**config)
    producer.send(topic, b"kafka-python").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, group_id=topic, auto_offset_reset="earliest", consumer_timeout_ms=20_000, **config)
    try:
        assert next(iter(consumer)).value == b"kafka-python"
        consumer.commit()
    finally:
        consumer.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_aiokafka_produces_and_consumes(secured: SecuredListeners, case: Case) -> None:
    topic = f"secured-aiokafka-{uuid.uuid4().hex[:8]}"
    config = aiokafka_config(secured, case)

    async def round_trip() -> bytes | None:
        producer = AIOKafkaProducer(**config)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"aiokafka")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, group_id=topic, auto_offset_reset="earliest", **config)
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 30)
            return record.value
        finally:
            await consumer.stop()

    assert asyncio.run(round_trip()) == b"aiokafka"
