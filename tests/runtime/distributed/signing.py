"""What a test needs to sign internal requests as a worker would: the session keys of a config topic."""

from __future__ import annotations

import json
import time

from hub.log.client import TopicPartition
from hub.log.client.kafka import KafkaClients
from hub.runtime.request_signing import SessionKey


def session_keys(bootstrap: str, config_topic: str, *, quiet_s: float = 1.0) -> list[SessionKey]:
    """Every session key written to ``config_topic`` so far, oldest first, read as any Kafka client can."""
    keys = []
    with KafkaClients(bootstrap).consumer() as consumer:
        consumer.assign([TopicPartition(config_topic, 0)])
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_s:
            batch = consumer.poll(0.2)
            if batch:
                quiet_since = time.monotonic()
            keys += [SessionKey.from_record(json.loads(r.value)) for r in batch if r.key == b"session-key" and r.value]
    return keys
