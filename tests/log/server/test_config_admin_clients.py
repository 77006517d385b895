"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs of `hub log serve` for topics and brokers, with
confluent-kafka's AdminClient, kafka-python's KafkaAdminClient, aiokafka's admin and raw requests for the fields no
client shows. The server is this module's own (started with a static broker setting); the last test restarts it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource as AioResource
from aiokafka.admin.config_resource import ConfigResourceType as AioType
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
    ResourceType,
)
from kafka import KafkaAdminClient
from kafka.admin import AlterConfigOp
from kafka.admin import ConfigResource as KafkaPythonResource

from hub.log.error_codes import ErrorCode
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

TOPIC, BROKER = 2, 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base: Path = tmp_path_factory.mktemp("admin-configs")
    hub = HubServer(
        base / "data",
        free_port(),
        base / "server.log",
        options=("log.segment.bytes=2000000", "transaction.max.timeout.ms=600000"),
    )
    hub.start()
    yield hub
    if hub.running:
        hub.stop()


def _topic(confluent: AdminClient, configs: dict[str, str] | None = None) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    confluent.create_topics([NewTopic(name, 1, 1, config=configs or {})])[name].result(10)
    return name


def _describe(confluent: AdminClient, kind: ResourceType, name: str) -> dict[str, ConfigEntry]:
    resource = ConfigResource(kind, name)
    described: dict[str, ConfigEntry] = confluent.describe_configs([resource])[resource].result(10)
    return described


def _incremental(confluent: AdminClient, kind: ResourceType, name: str, *changes: tuple[str, str | None, Any]) -> None:
    entries = [ConfigEntry(key, value, incremental_operation=op) for key, value, op in changes]
    resource = ConfigResource(kind, name, incremental_configs=entries)
    confluent.incremental_alter_configs([resource])[resource].result(10)


def _error(future_call: Any) -> int:
    with pytest.raises(KafkaException) as info:
        future_call()
    code: int = info.value.args[0].code()
    return code


def _raw_describe(server: HubServer, kind: int, name: str, keys: list[str] | None = None) -> dict[str, Any]:
    with RawKafkaConnection(server.host, server.port) as connection:
        answer = connection.request(
            32,
            4,
            {
                "resources": [{"resource_type": kind, "resource_name": name, "configuration_keys": keys}],
                "include_synonyms": True,
                "include_documentation": True,
            },
        )
    result: dict[str, Any] = answer["results"][0]
    return result


def _raw_alter(
    server: HubServer, name: str, changes: list[tuple[str, int, str | None]], *, validate_only: bool = False
) -> dict[str, Any]:
    configs = [{"name": key, "config_operation": op, "value": value} for key, op, value in changes]
    with RawKafkaConnection(server.host, server.port) as connection:
        answer = connection.request(
            44,
            1,
            {
                "resources": [{"resource_type": BROKER, "resource_name": name, "configs": configs}],
                "validate_only": validate_only,
            },
        )
    response: dict[str, Any] = answer["responses"][0]
    return response


def _cluster_id(server: HubServer) -> str:
    """The cluster id in DescribeCluster (kafka-python) and Metadata (librdkafka), which must agree."""
    client = KafkaAdminClient(bootstrap_servers=server.bootstrap, request_timeout_ms=10_000)
    try:
        described: str = client.describe_cluster()["cluster_id"]
    finally:
        client.close()
    assert AdminClient({"bootstrap.servers": server.bootstrap}).list_topics(timeout=10).cluster_id == described
    assert described == json.loads((server.data_dir / "meta.json").read_text())["cluster_id"]
    return described


# --- topics --------------------------------------------------------------------------------------------------


def test_confluent_describes_a_topics_configs_with_sources_and_synonyms(confluent: AdminClient) -> None:
    name = _topic(confluent, {"retention.ms": "5000"})
    configs = _describe(confluent, ResourceType.TOPIC, name)
    retention = configs["retention.ms"]
    assert retention.value == "5000"
    assert retention.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert [(s.name, s.value, s.source) for s in retention.synonyms.values()] == [
        ("retention.ms", "5000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value),
        ("log.retention.ms", "604800000", ConfigSource.DEFAULT_CONFIG.value),
    ]
    segment = configs["segment.bytes"]
    assert (segment.value, segment.source) == ("2000000", ConfigSource.STATIC_BROKER_CONFIG.value)
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value
    assert not any(entry.is_read_only or entry.is_sensitive for entry in configs.values())
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    assert _error(lambda: _describe(confluent, ResourceType.TOPIC, missing)) == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_configs_gives_types_and_documentation_and_only_the_keys_asked_for(server: HubServer) -> None:
    with RawKafkaConnection(server.host, server.port) as connection:
        connection.request(19, 4, {"topics": [{"name": "docs-topic", "num_partitions": 1, "replication_factor": 1,
                                                "assignments": [], "configs": []}], "timeout_ms": 10_000,
                                    "validate_only": False})  # fmt: skip
    result = _raw_describe(server, TOPIC, "docs-topic", ["retention.ms", "cleanup.policy", "max.message.bytes"])
    assert result["error_code"] == ErrorCode.NONE
    by_name = {config["name"]: config for config in result["configs"]}
    assert set(by_name) == {"retention.ms", "cleanup.policy", "max.message.bytes"}
    assert [by_name[n]["config_type"] for n in ("retention.ms", "cleanup.policy", "max.message.bytes")] == [5, 7, 3]
    assert all(config["documentation"] for config in result["configs"])
    unknown_type = _raw_describe(server, 3, "x")
    assert unknown_type["error_code"] == ErrorCode.INVALID_REQUEST


def test_confluent_incremental_alter_configs_set_delete_append_subtract_and_errors(confluent: AdminClient) -> None:
    name = _topic(confluent, {"retention.ms": "5000"})
    _incremental(
        confluent,
        ResourceType.TOPIC,
        name,
        ("retention.bytes", "123456", AlterConfigOpType.SET),
        ("retention.ms", None, AlterConfigOpType.DELETE),
        ("cleanup.policy", "compact", AlterConfigOpType.APPEND),
    )
    configs = _describe(confluent, ResourceType.TOPIC, name)
    assert configs["retention.bytes"].value == "123456"
    assert (configs["retention.ms"].value, configs["retention.ms"].source) == ("604800000", 5)
    assert configs["cleanup.policy"].value == "delete,compact"
    _incremental(confluent, ResourceType.TOPIC, name, ("cleanup.policy", "delete", AlterConfigOpType.SUBTRACT))
    assert _describe(confluent, ResourceType.TOPIC, name)["cleanup.policy"].value == "compact"

    def alter(*changes: tuple[str, str | None, Any]) -> None:
        _incremental(confluent, ResourceType.TOPIC, name, *changes)

    assert _error(lambda: alter(("retention.ms", "1", AlterConfigOpType.APPEND))) == KafkaError.INVALID_CONFIG
    assert _error(lambda: alter(("no.such.config", "1", AlterConfigOpType.SET))) == KafkaError.INVALID_CONFIG
    assert _error(lambda: alter(("retention.ms", "soon", AlterConfigOpType.SET))) == KafkaError.INVALID_CONFIG
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    assert (
        _error(
            lambda: _incremental(confluent, ResourceType.TOPIC, missing, ("retention.ms", "1", AlterConfigOpType.SET))
        )
        == KafkaError.UNKNOWN_TOPIC_OR_PART
    )
    assert _describe(confluent, ResourceType.TOPIC, name)["cleanup.policy"].value == "compact"


def test_kafka_python_describe_and_alter_topic_configs(confluent: AdminClient, kafka_python: KafkaAdminClient) -> None:
    name = _topic(confluent)
    described = kafka_python.describe_configs([KafkaPythonResource("TOPIC", name)], include_synonyms=True)
    assert described == {"topic": {name: {}}}  # the default filter keeps only values that are not defaults
    result = kafka_python.alter_configs([KafkaPythonResource("TOPIC", name, {"max.message.bytes": "5000"})])
    assert result == {"topic": {name: "OK"}}
    appended = kafka_python.alter_configs(
        [KafkaPythonResource("TOPIC", name, {"max.message.bytes": (AlterConfigOp.APPEND, "1")})]
    )
    assert "InvalidConfigurationError" in appended["topic"][name]
    validated = kafka_python.alter_configs(
        [KafkaPythonResource("TOPIC", name, {"max.message.bytes": "7000"})], validate_only=True
    )
    assert validated == {"topic": {name: "OK"}}
    described = kafka_python.describe_configs([KafkaPythonResource("TOPIC", name)], include_synonyms=True)
    entry = described["topic"][name]["max.message.bytes"]
    assert (entry["value"], entry["config_source"], entry["config_type"]) == ("5000", "DYNAMIC_TOPIC_CONFIG", "INT")


def test_aiokafka_legacy_alter_configs_replaces_every_override(confluent: AdminClient, server: HubServer) -> None:
    name = _topic(confluent, {"retention.ms": "5000", "retention.bytes": "9999"})

    async def alter_and_describe() -> Any:
        admin = AIOKafkaAdminClient(bootstrap_servers=server.bootstrap)
        await admin.start()
        try:
            await admin.alter_configs([AioResource(AioType.TOPIC, name, {"segment.ms": "60000"})])
            return await admin.describe_configs([AioResource(AioType.TOPIC, name)])
        finally:
            await admin.close()

    responses = asyncio.run(alter_and_describe())
    answers = [r for response in responses for r in response.to_object()["resources"]]
    configs = {c["config_names"]: c["config_value"] for c in answers[0]["config_entries"]}
    assert configs["segment.ms"] == "60000"
    assert configs["retention.ms"] == "604800000"  # legacy AlterConfigs resets what it does not name
    assert configs["retention.bytes"] == "-1"


# --- brokers -------------------------------------------------------------------------------------------------


def test_confluent_describes_the_broker_with_read_only_and_dynamic_configs(
    confluent: AdminClient, server: HubServer
) -> None:
    configs = _describe(confluent, ResourceType.BROKER, "0")
    assert configs["node.id"].value == "0"
    assert configs["node.id"].is_read_only
    retention = configs["log.retention.ms"]
    assert not retention.is_read_only
    assert (retention.value, retention.source) == ("604800000", ConfigSource.DEFAULT_CONFIG.value)
    segment = configs["log.segment.bytes"]
    assert (segment.value, segment.source) == ("2000000", ConfigSource.STATIC_BROKER_CONFIG.value)
    assert [s.name for s in segment.synonyms.values()] == ["log.segment.bytes"]  # the client keys them by name
    # the coordinators' settings, read-only: one set when the server started, the others Kafka's defaults
    timeout = configs["transaction.max.timeout.ms"]
    assert (timeout.value, timeout.source, timeout.is_read_only) == (
        "600000",
        ConfigSource.STATIC_BROKER_CONFIG.value,
        True,
    )
    expiration = configs["transactional.id.expiration.ms"]
    assert (expiration.value, expiration.source) == ("604800000", ConfigSource.DEFAULT_CONFIG.value)
    assert configs["group.initial.rebalance.delay.ms"].is_read_only
    assert configs["transaction.state.log.num.partitions"].value == "50"
    # (a client sends a broker resource to that broker; only a raw request can ask this one about another)
    assert _raw_describe(server, BROKER, "7")["error_code"] == ErrorCode.INVALID_REQUEST
    assert _raw_describe(server, BROKER, "seven")["error_code"] == ErrorCode.INVALID_REQUEST


def test_dynamic_broker_configs_become_the_default_of_topics_without_their_own(
    server: HubServer, confluent: AdminClient, kafka_python: KafkaAdminClient
) -> None:
    plain = _topic(confluent)
    own = _topic(confluent, {"retention.ms": "5000"})
    # (both clients refuse the cluster-wide resource "" locally: a raw request, as kafka-configs --entity-default)
    answer = _raw_alter(server, "", [("log.retention.hours", 0, "2")])
    assert answer["error_code"] == ErrorCode.NONE
    retention = _describe(confluent, ResourceType.TOPIC, plain)["retention.ms"]
    assert (retention.value, retention.source) == ("7200000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    assert next((s.name, s.value) for s in retention.synonyms.values()) == ("log.retention.hours", "2")
    assert _describe(confluent, ResourceType.TOPIC, own)["retention.ms"].value == "5000"
    cluster_wide = _raw_describe(server, BROKER, "")
    assert [(c["name"], c["value"], c["config_source"]) for c in cluster_wide["configs"]] == [
        ("log.retention.hours", "2", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    ]
    # this broker's own value wins over the cluster-wide one
    result = kafka_python.alter_configs(
        [KafkaPythonResource("BROKER", "0", {"log.retention.ms": (AlterConfigOp.SET, "60000")})]
    )
    assert result == {"broker": {"0": "OK"}}
    retention = _describe(confluent, ResourceType.TOPIC, plain)["retention.ms"]
    assert (retention.value, retention.source) == ("60000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    broker = _describe(confluent, ResourceType.BROKER, "0")["log.retention.ms"]
    assert (broker.value, broker.source) == ("60000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)


def test_read_only_unknown_and_bad_broker_configs_are_invalid_requests(
    server: HubServer, confluent: AdminClient
) -> None:
    def alter(name: str, key: str, value: str | None, op: Any = AlterConfigOpType.SET) -> None:
        _incremental(confluent, ResourceType.BROKER, name, (key, value, op))

    assert _error(lambda: alter("0", "node.id", "3")) == KafkaError.INVALID_REQUEST
    assert _error(lambda: alter("0", "transaction.max.timeout.ms", "3")) == KafkaError.INVALID_REQUEST
    assert _error(lambda: alter("0", "no.such.config", "3")) == KafkaError.INVALID_REQUEST
    assert _error(lambda: alter("0", "log.retention.ms", "soon")) == KafkaError.INVALID_REQUEST
    assert _error(lambda: alter("0", "log.retention.ms", "1", AlterConfigOpType.APPEND)) == KafkaError.INVALID_CONFIG
    assert _raw_alter(server, "", [("log.retention.ms", 0, "soon")])["error_code"] == ErrorCode.INVALID_REQUEST
    assert _raw_alter(server, "5", [("log.retention.ms", 0, "1")])["error_code"] == ErrorCode.INVALID_REQUEST
    assert _raw_alter(server, "", [("log.retention.ms", 9, "1")])["error_code"] == ErrorCode.INVALID_REQUEST
    assert _raw_alter(server, "", [("log.retention.ms", 0, None)])["error_code"] == ErrorCode.INVALID_REQUEST
    duplicated = [("log.retention.ms", 0, "1"), ("log.retention.ms", 0, "2")]
    assert _raw_alter(server, "", duplicated)["error_code"] == ErrorCode.INVALID_REQUEST
    assert _raw_alter(server, "", [("log.retention.ms", 0, "1")], validate_only=True)["error_code"] == ErrorCode.NONE
    assert _describe(confluent, ResourceType.BROKER, "0")["log.retention.ms"].value == "60000"


def test_alter_configs_refuses_a_resource_named_twice(server: HubServer) -> None:
    resource = {"resource_type": BROKER, "resource_name": "", "configs": [{"name": "log.retention.ms", "value": "1"}]}
    with RawKafkaConnection(server.host, server.port) as connection:
        answer = connection.request(33, 2, {"resources": [resource, resource], "validate_only": False})
    assert [r["error_code"] for r in answer["responses"]] == [ErrorCode.INVALID_REQUEST] * 2


def test_broker_logger_levels_are_described_and_altered(server: HubServer, kafka_python: KafkaAdminClient) -> None:
    resource = KafkaPythonResource("BROKER_LOGGER", "0")
    loggers = kafka_python.describe_configs([resource], config_filter="all")["broker_logger"]["0"]
    assert "root" in loggers
    assert loggers["hub.log.server"]["config_source"] == "DYNAMIC_BROKER_LOGGER_CONFIG"
    changed = KafkaPythonResource("BROKER_LOGGER", "0", {"hub.log.server": (AlterConfigOp.SET, "DEBUG")})
    assert kafka_python.alter_configs([changed]) == {"broker_logger": {"0": "OK"}}
    loggers = kafka_python.describe_configs([resource], config_filter="all")["broker_logger"]["0"]
    assert loggers["hub.log.server"]["value"] == "DEBUG"
    reset = KafkaPythonResource("BROKER_LOGGER", "0", {"hub.log.server": (AlterConfigOp.DELETE, None)})
    assert kafka_python.alter_configs([reset]) == {"broker_logger": {"0": "OK"}}
    loggers = kafka_python.describe_configs([resource], config_filter="all")["broker_logger"]["0"]
    assert loggers["hub.log.server"]["value"] == loggers["root"]["value"]

    def change(name: str, op: int, value: str | None) -> int:
        configs = [{"name": name, "config_operation": op, "value": value}]
        body = {"resources": [{"resource_type": 8, "resource_name": "0", "configs": configs}], "validate_only": False}
        with RawKafkaConnection(server.host, server.port) as connection:
            code: int = connection.request(44, 1, body)["responses"][0]["error_code"]
        return code

    assert change("hub.log.server", 0, "LOUD") == ErrorCode.INVALID_CONFIG
    assert change("root", 1, None) == ErrorCode.INVALID_REQUEST
    assert change("hub.log.server", 2, "DEBUG") == ErrorCode.INVALID_REQUEST
    assert _raw_describe(server, 8, "")["error_code"] == ErrorCode.INVALID_REQUEST


def test_dynamic_broker_configs_and_topic_overrides_survive_a_restart(server: HubServer) -> None:
    before = _raw_describe(server, BROKER, "0", ["log.retention.ms", "log.retention.hours"])
    cluster_id = _cluster_id(server)
    server.stop()
    server.start()
    assert _cluster_id(server) == cluster_id  # the data directory's, stable across restarts
    after = _raw_describe(server, BROKER, "0", ["log.retention.ms", "log.retention.hours"])
    assert after == before
    values = {c["name"]: (c["value"], c["config_source"]) for c in after["configs"]}
    assert values["log.retention.ms"] == ("60000", 2)
    cluster_wide = _raw_describe(server, BROKER, "")
    assert [(c["name"], c["value"]) for c in cluster_wide["configs"]] == [("log.retention.hours", "2")]
