"""Topic configs: Kafka's names and defaults, validation of every key at once, runtime changes."""

from __future__ import annotations

import pytest

from hub.log.config import TopicConfig
from hub.log.errors import InvalidConfigError


def test_kafka_defaults_and_hubs_durable_flush_default() -> None:
    config = TopicConfig.build()
    assert config.get("cleanup.policy") == "delete"
    assert config.get("retention.ms") == 604_800_000
    assert config.get("segment.bytes") == 1_073_741_824
    assert config.get("max.message.bytes") == 1_048_588
    assert config.get("min.cleanable.dirty.ratio") == 0.5
    assert config.sync_every_append
    assert config.effective()["message.timestamp.type"] == "CreateTime"


def test_strings_are_parsed_and_sources_reported() -> None:
    config = TopicConfig.build({"retention.ms": "1000", "cleanup.policy": "compact,delete"}, {"segment.bytes": 4096})
    assert config.get("retention.ms") == 1000
    assert config.compact
    assert config.delete
    assert (config.source("retention.ms"), config.source("segment.bytes"), config.source("flush.ms")) == (
        "topic",
        "store",
        "default",
    )


def test_every_problem_is_listed() -> None:
    with pytest.raises(InvalidConfigError) as caught:
        TopicConfig.build(
            {
                "retention.ms": "soon",
                "cleanup.policy": "shred",
                "min.cleanable.dirty.ratio": 2,
                "message.timestamp.type": "Now",
                "nope": "1",
                "segment.bytes": "1",
                "compression.type": "gzip",
            }
        )
    message = str(caught.value)
    for fragment in (
        "'retention.ms': must be an integer",
        "'cleanup.policy': must be delete, compact",
        "'min.cleanable.dirty.ratio': must be at most 1",
        "'message.timestamp.type': must be one of",
        "unknown topic config 'nope'",
        "'segment.bytes': must be at least 14",
        "only 'producer'",
    ):
        assert fragment in message


def test_altering_incrementally_and_resetting() -> None:
    config = TopicConfig.build({"retention.ms": "1000", "segment.ms": "5000"})
    altered = config.altered({"retention.ms": None, "flush.messages": "100"})
    assert altered.overrides == {"segment.ms": 5000, "flush.messages": 100}
    assert not altered.sync_every_append
    replaced = config.altered({"retention.bytes": "10"}, incremental=False)
    assert replaced.overrides == {"retention.bytes": 10}
    with pytest.raises(InvalidConfigError, match="unknown topic config 'x'"):
        config.altered({"x": None})
