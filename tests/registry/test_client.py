"""The registry of a `hub start` process through confluent-kafka's SchemaRegistryClient: register, look up, read
by id, list versions, set compatibility, and be refused an incompatible schema."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.rest.conftest import HubStart, start_hub, stop_hub

pytestmark = pytest.mark.integration


def _record(*fields: tuple[str, str | list[str]], **defaults: object) -> Schema:
    listed = []
    for name, kind in fields:
        field: dict[str, object] = {"name": name, "type": kind}
        if name in defaults:
            field["default"] = defaults[name]
        listed.append(field)
    return Schema(json.dumps({"type": "record", "name": "User", "namespace": "shop", "fields": listed}), "AVRO")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    started = start_hub(tmp_path_factory.mktemp("hub-registry"))
    yield started
    stop_hub(started)


@pytest.fixture
def client(hub: HubStart) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": hub.url})


def test_a_registered_schema_is_found_by_id_lookup_and_version(client: SchemaRegistryClient) -> None:
    schema = _record(("name", "string"))
    schema_id = client.register_schema("users-value", schema)

    assert json.loads(client.get_schema(schema_id).schema_str) == json.loads(schema.schema_str)
    found = client.lookup_schema("users-value", schema)
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, "users-value")
    latest = client.get_latest_version("users-value")
    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert client.get_versions("users-value") == [1]
    assert "users-value" in client.get_subjects()


def test_registering_the_same_schema_again_keeps_its_id_and_version(
    client: SchemaRegistryClient, hub: HubStart
) -> None:
    schema = _record(("sku", "string"))
    first = client.register_schema("items-value", schema)
    again = SchemaRegistryClient({"url": hub.url}).register_schema("items-value", schema)  # a client without cache

    assert again == first
    assert client.get_versions("items-value") == [1]


def test_the_same_schema_under_another_subject_has_the_same_id(client: SchemaRegistryClient) -> None:
    schema = _record(("code", "string"))
    assert client.register_schema("a-value", schema) == client.register_schema("b-value", schema)


def test_a_backward_compatible_evolution_is_a_new_version_with_a_new_id(client: SchemaRegistryClient) -> None:
    first = client.register_schema("evolving-value", _record(("name", "string")))
    second = client.register_schema("evolving-value", _record(("name", "string"), ("email", "string"), email="unknown"))

    assert second > first
    assert client.get_versions("evolving-value") == [1, 2]
    assert client.get_version("evolving-value", 2).schema_id == second


def test_an_incompatible_schema_is_refused_with_409(client: SchemaRegistryClient) -> None:
    client.register_schema("strict-value", _record(("name", "string")))

    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("strict-value", _record(("name", "string"), ("age", "int")))

    assert refused.value.http_status_code == 409
    assert refused.value.error_code == 40901
    assert "age" in refused.value.error_message
    assert client.get_versions("strict-value") == [1]


def test_compatibility_is_backward_by_default_and_settable_per_subject(client: SchemaRegistryClient) -> None:
    assert client.get_compatibility() == "BACKWARD"
    client.register_schema("loose-value", _record(("name", "string")))
    assert client.set_compatibility("loose-value", "NONE") == {"compatibility": "NONE"}

    client.register_schema("loose-value", _record(("id", "long")))

    assert client.get_compatibility("loose-value") == "NONE"
    assert client.get_versions("loose-value") == [1, 2]
