"""Poison batches sent to `hub log serve` as raw Produce frames: refused with Kafka's error code, nothing appended,
and a real consumer keeps reading past where they would have been."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer

from hub.log.compression import Compression
from hub.log.records import encode_batch
from tests.harness.hub import HubServer
from tests.log.poison_batches import CODECS, POISONS, records
from tests.log.server.raw_kafka import RawKafkaConnection, latest_offset, produce
from tests.log.test_validator import EXPECTED

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("codec", CODECS, ids=[c.name.lower() for c in CODECS])
def test_poison_batches_are_refused_over_the_wire(hub_server: HubServer, codec: Compression) -> None:
    topic = f"poison-{uuid.uuid4().hex[:8]}"
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        assert produce(connection, topic, encode_batch(records(2), compression=codec))["error_code"] == 0
        for poison, build in sorted(POISONS.items()):
            answer = produce(connection, topic, build(codec))
            assert answer["error_code"] == EXPECTED[poison], (poison, answer)
            assert answer["error_message"], poison
        assert latest_offset(connection, topic) == 2
        assert produce(connection, topic, encode_batch(records(3), compression=codec))["base_offset"] == 2
    consumer = Consumer(
        {
            "bootstrap.servers": hub_server.bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen: list[int] = []
    for _ in range(40):
        for message in consumer.consume(10, 0.5):
            assert message.error() is None, message.error()
            seen.append(message.offset())
        if len(seen) >= 5:
            break
    consumer.close()
    assert seen == [0, 1, 2, 3, 4]
