"""Confluent's options on all five Salesforce connectors: each refused option is named, with its reason, in the
validation error; options only meaningful at their default accept it; Confluent's licence options are not refused."""

from __future__ import annotations

import pytest

from connectors.salesforce.config import BULK_SOURCE_CONFIG, SOBJECT_SINK_CONFIG
from connectors.salesforce.streaming_config import (
    CDC_SOURCE_CONFIG,
    PLATFORM_EVENT_SOURCE_CONFIG,
    PUSHTOPIC_SOURCE_CONFIG,
)
from hub.sdk import ConfigDef
from hub.sdk.errors import ConfigError

LOGIN = {"salesforce.username": "user@example.com", "salesforce.password": "pass-word-1"}
CONNECTORS: dict[str, tuple[ConfigDef, dict[str, str]]] = {
    "bulk": (BULK_SOURCE_CONFIG, {"salesforce.object": "Lead"}),
    "sink": (SOBJECT_SINK_CONFIG, {"salesforce.object": "Lead"}),
    "cdc": (CDC_SOURCE_CONFIG, {"salesforce.cdc.name": "LeadChangeEvent", "kafka.topic": "t"}),
    "pushtopic": (
        PUSHTOPIC_SOURCE_CONFIG,
        {"salesforce.object": "Lead", "salesforce.push.topic.name": "Leads", "kafka.topic": "t"},
    ),
    "event": (PLATFORM_EVENT_SOURCE_CONFIG, {"salesforce.platform.event.name": "Ping__e", "kafka.topic": "t"}),
}
STREAMING = ("cdc", "pushtopic", "event")
#: (connectors, option, a value, a word of the reason)
REFUSED = [
    (tuple(CONNECTORS), "salesforce.jwt.keystore.path", "/k.jks", "PEM"),
    (tuple(CONNECTORS), "salesforce.jwt.keystore.password", "ks-Pa55word", "PEM"),
    (tuple(CONNECTORS), "http.proxy", "proxy:8888", "HTTPS_PROXY"),
    (tuple(CONNECTORS), "http.proxy.auth.scheme", "BASIC", "HTTPS_PROXY"),
    (tuple(CONNECTORS), "http.proxy.user", "u", "HTTPS_PROXY"),
    (tuple(CONNECTORS), "http.proxy.password", "px-Pa55word", "HTTPS_PROXY"),
    (tuple(CONNECTORS), "http.proxy.auth.ntlm.domain", "d", "HTTPS_PROXY"),
    (tuple(CONNECTORS), "curl.logging", "true", "session token"),
    (STREAMING, "csfle.enabled", "true", "encryption"),
    (STREAMING, "csfle.onFailure", "ERROR", "encryption"),
    (("sink",), "reporter.bootstrap.servers", "broker:9092", "dead letter queue"),
    (("sink",), "reporter.result.topic.name", "ok", "dead letter queue"),
    (("sink",), "reporter.result.topic.replication.factor", "1", "dead letter queue"),
    (("sink",), "reporter.error.topic.name", "bad", "dead letter queue"),
    (("sink",), "reporter.error.topic.replication.factor", "1", "dead letter queue"),
]
CASES = [(name, option, value, why) for names, option, value, why in REFUSED for name in names]


@pytest.mark.parametrize(("connector", "option", "value", "why"), CASES)
def test_a_refused_option_is_named_with_its_reason(connector: str, option: str, value: str, why: str) -> None:
    definition, required = CONNECTORS[connector]
    with pytest.raises(ConfigError) as caught:
        definition.parse({**LOGIN, **required, option: value})
    assert list(caught.value.errors) == [option]
    assert why in " ".join(caught.value.errors[option])
    assert "Pa55word" not in str(caught.value)


@pytest.mark.parametrize("connector", list(CONNECTORS))
def test_confluent_configs_keep_working_with_defaults_and_licence_options(connector: str) -> None:
    definition, required = CONNECTORS[connector]
    confluent = {
        "curl.logging": "false",
        "connection.max.message.size": "10048576",
        "confluent.license": "",
        "confluent.topic.bootstrap.servers": "broker:9092",
        "confluent.topic.replication.factor": "1",
    }
    if connector in STREAMING:
        confluent["csfle.enabled"] = "false"
    values = definition.parse({**LOGIN, **required, **confluent})
    assert values["curl.logging"] is False
    assert values["connection.max.message.size"] == 10_048_576
    assert definition.parse({**LOGIN, **required})["connection.max.message.size"] == 1_048_576
    assert "confluent.license" not in definition.unsupported_keys
