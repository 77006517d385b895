"""The registry of a `hub start` process through real clients: confluent-kafka's Avro, Protobuf and JSON Schema
serializers and deserializers with its SchemaRegistryClient, Confluent's error bodies read with raw HTTP, the
REST API's authentication applied to the registry's paths, and ids and versions kept over a kill -9."""

from __future__ import annotations

import hashlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tests.harness.tls_material import CertificateAuthority
from tests.rest.conftest import HubStart, relaunch_hub, start_hub, stop_hub, wait_hub

pytestmark = pytest.mark.integration

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
USER = {
    "type": "record",
    "name": "User",
    "namespace": "shop",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}],
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    started = start_hub(tmp_path_factory.mktemp("hub-registry-api"))
    yield started
    stop_hub(started)


@pytest.fixture
def client(hub: HubStart) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": hub.url})


@pytest.fixture
def api(hub: HubStart) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=30, headers={"Content-Type": MEDIA_TYPE}) as http:
        yield http


def _context(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def _error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body = response.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return str(body["message"])


# --- serializers ------------------------------------------------------------------------------------------------


def test_avro_serializer_registers_and_the_deserializer_reads_back(client: SchemaRegistryClient, hub: HubStart) -> None:
    serializer = AvroSerializer(client, json.dumps(USER))
    data = serializer({"name": "ada", "age": 36}, _context("users"))

    assert data[0] == 0
    schema_id = int.from_bytes(data[1:5], "big")
    assert client.get_latest_version("users-value").schema_id == schema_id
    fresh = SchemaRegistryClient({"url": hub.url})  # no cache: reads the schema by id
    assert AvroDeserializer(fresh)(data, _context("users")) == {"name": "ada", "age": 36}


def test_an_evolved_avro_schema_is_read_with_the_readers_schema(client: SchemaRegistryClient) -> None:
    AvroSerializer(client, json.dumps(USER))({"name": "bo", "age": 4}, _context("people"))
    evolved = {**USER, "fields": [*USER["fields"], {"name": "email", "type": "string", "default": "none"}]}
    data = AvroSerializer(client, json.dumps(evolved))({"name": "cy", "age": 5, "email": "c@y"}, _context("people"))

    assert client.get_versions("people-value") == [1, 2]
    reader = AvroDeserializer(client, json.dumps(evolved))
    assert reader(data, _context("people")) == {"name": "cy", "age": 5, "email": "c@y"}


def test_the_avro_serializer_is_refused_an_incompatible_schema(client: SchemaRegistryClient) -> None:
    AvroSerializer(client, json.dumps(USER))({"name": "di", "age": 1}, _context("strict"))
    broken = {**USER, "fields": [{"name": "name", "type": "int"}]}

    with pytest.raises(Exception, match="incompatible") as refused:
        AvroSerializer(client, json.dumps(broken))({"name": 3}, _context("strict"))

    cause: Any = refused.value
    while cause is not None and not isinstance(cause, SchemaRegistryError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None
    assert cause.http_status_code == 409
    assert cause.error_code == 40901


def _order_class() -> Any:
    file = descriptor_pb2.FileDescriptorProto(name="shop/order.proto", package="shop", syntax="proto3")
    message = file.message_type.add(name="Order")
    message.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64, label=1)
    message.field.add(name="sku", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))


def test_protobuf_serializer_registers_and_the_deserializer_reads_back(client: SchemaRegistryClient) -> None:
    order = _order_class()
    serializer = ProtobufSerializer(order, client, {"use.deprecated.format": False})
    data = serializer(order(id=7, sku="tea"), _context("orders"))

    registered = client.get_latest_version("orders-value")
    assert registered.schema.schema_type == "PROTOBUF"
    assert int.from_bytes(data[1:5], "big") == registered.schema_id
    read = ProtobufDeserializer(order, {"use.deprecated.format": False})(data, _context("orders"))
    assert (read.id, read.sku) == (7, "tea")


def test_a_protobuf_schema_in_proto_text_evolves_under_backward(client: SchemaRegistryClient) -> None:
    first = 'syntax = "proto3";\npackage shop;\nmessage Item {\n  string name = 1;\n}\n'
    added = 'syntax = "proto3";\npackage shop;\nmessage Item {\n  string name = 1;\n  int64 stock = 2;\n}\n'
    changed = 'syntax = "proto3";\npackage shop;\nmessage Item {\n  int64 name = 1;\n}\n'

    client.register_schema("items-proto", Schema(first, "PROTOBUF"))
    client.register_schema("items-proto", Schema(added, "PROTOBUF"))
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("items-proto", Schema(changed, "PROTOBUF"))

    assert refused.value.error_code == 40901
    assert "FIELD_SCALAR_KIND_CHANGED" in refused.value.error_message
    assert client.get_version("items-proto", 2).schema.schema_str == added.strip()


def test_json_serializer_registers_and_the_deserializer_reads_back(client: SchemaRegistryClient) -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Event",
        "type": "object",
        "properties": {"kind": {"type": "string"}, "at": {"type": "integer"}},
        "required": ["kind"],
    }
    data = JSONSerializer(json.dumps(schema), client)({"kind": "click", "at": 5}, _context("events"))

    assert client.get_latest_version("events-value").schema.schema_type == "JSON"
    assert JSONDeserializer(None, schema_registry_client=client)(data, _context("events")) == {"kind": "click", "at": 5}


def test_a_json_schema_that_closes_its_model_may_add_optional_properties(client: SchemaRegistryClient) -> None:
    def closed(properties: dict[str, Any]) -> Schema:
        return Schema(json.dumps({"type": "object", "properties": properties, "additionalProperties": False}), "JSON")

    client.register_schema("closed-json", closed({"a": {"type": "string"}}))
    client.register_schema("closed-json", closed({"a": {"type": "string"}, "b": {"type": "number"}}))
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("closed-json", closed({"a": {"type": "integer"}, "b": {"type": "number"}}))

    assert refused.value.error_code == 40901
    assert client.get_versions("closed-json") == [1, 2]


# --- Confluent's error bodies -----------------------------------------------------------------------------------


def test_error_bodies_carry_confluents_codes(api: httpx.Client) -> None:
    avro = {"schema": json.dumps(USER)}
    assert api.post("/subjects/errors-value/versions", json=avro).status_code == 200

    assert "not found" in _error(api.get("/subjects/nope/versions"), 404, 40401)
    assert "Version 9" in _error(api.get("/subjects/errors-value/versions/9"), 404, 40402)
    assert "999999" in _error(api.get("/schemas/ids/999999"), 404, 40403)
    assert "latest" in _error(api.get("/subjects/errors-value/versions/first"), 422, 42202)
    assert "SIDEWAYS" in _error(api.put("/config", json={"compatibility": "SIDEWAYS"}), 422, 42203)
    assert "WRITEONLY" in _error(api.put("/mode", json={"mode": "WRITEONLY"}), 422, 42204)
    _error(api.post("/subjects/errors-value/versions", json={"schema": '{"type": "recrd"}'}), 422, 42201)
    assert "XML" in _error(api.post("/subjects/x/versions", json={"schema": "{}", "schemaType": "XML"}), 422, 42201)
    assert "Empty schema" in _error(api.post("/subjects/x/versions", json={"schemaType": "AVRO"}), 422, 42201)
    unknown_ref = {
        "schema": json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "shop.Missing"}]}),
        "references": [{"name": "shop.Missing", "subject": "missing-subject", "version": 1}],
    }
    assert "missing-subject" in _error(api.post("/subjects/x/versions", json=unknown_ref), 422, 42201)
    lookup = api.post("/subjects/errors-value", json={"schema": json.dumps({**USER, "name": "Other"})})
    _error(lookup, 404, 40403)
    incompatible = {"schema": json.dumps({**USER, "fields": [{"name": "zip", "type": "int"}]})}
    assert "errors-value" in _error(api.post("/subjects/errors-value/versions", json=incompatible), 409, 40901)
    assert "ruleSet" in _error(api.post("/subjects/x/versions", json={**avro, "ruleSet": {"x": 1}}), 422, 422)


def test_a_deleted_subject_answers_40401_then_40404(api: httpx.Client) -> None:
    assert api.post("/subjects/gone/versions", json={"schema": '"string"'}).status_code == 200
    assert api.delete("/subjects/gone").json() == [1]

    _error(api.get("/subjects/gone/versions"), 404, 40401)
    _error(api.delete("/subjects/gone"), 404, 40404)
    assert api.get("/subjects/gone/versions", params={"deleted": "true"}).json() == [1]
    assert api.delete("/subjects/gone", params={"permanent": "true"}).json() == [1]
    _error(api.delete("/subjects/gone"), 404, 40401)


def test_a_body_of_the_wrong_shape_or_type_is_a_4xx(api: httpx.Client) -> None:
    wrong_type = api.post("/subjects/x/versions", content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    not_json = api.post("/subjects/x/versions", content=b"{nope")
    assert not_json.status_code == 400
    assert not_json.json()["error_code"] == 400
    assert api.post("/subjects/x/versions", json=[1, 2]).status_code == 422


def test_reads_of_ids_versions_and_types(api: httpx.Client) -> None:
    schema = json.dumps({"type": "enum", "name": "Color", "symbols": ["RED"]})
    schema_id = api.post("/subjects/colors/versions", json={"schema": schema}).json()["id"]
    api.post("/subjects/colors-copy/versions", json={"schema": schema})

    assert api.get("/schemas/types").json() == ["PROTOBUF", "JSON", "AVRO"]
    assert api.get(f"/schemas/ids/{schema_id}").json() == {
        "schema": json.dumps(json.loads(schema), separators=(",", ":"))
    }
    assert api.get(f"/schemas/ids/{schema_id}/subjects").json() == ["colors", "colors-copy"]
    assert api.get(f"/schemas/ids/{schema_id}/versions").json() == [
        {"subject": "colors", "version": 1},
        {"subject": "colors-copy", "version": 1},
    ]
    assert api.get("/subjects/colors/versions/latest/schema").text == api.get(f"/schemas/ids/{schema_id}/schema").text
    check = api.post(
        "/compatibility/subjects/colors/versions/latest", params={"verbose": "true"}, json={"schema": '"int"'}
    )
    assert check.json()["is_compatible"] is False
    assert check.json()["messages"]
    assert api.get("/config/colors").json()["error_code"] == 40408
    assert api.get("/config/colors", params={"defaultToGlobal": "true"}).json() == {"compatibilityLevel": "BACKWARD"}


# --- authentication and restarts ----------------------------------------------------------------------------------


def test_the_registry_paths_take_the_rest_apis_tls_and_credentials(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path)
    server = authority.issue("rest", "127.0.0.1", server=True)
    users = [
        {"name": "ops", "password_sha256": hashlib.sha256(b"s3cret").hexdigest(), "role": "admin"},
        {"name": "viewer", "password_sha256": hashlib.sha256(b"look").hexdigest(), "role": "read-only"},
    ]
    (tmp_path / "users.json").write_text(json.dumps({"users": users}))
    config = f"rest.ssl.cert.file={server.certificate}\nrest.ssl.key.file={server.key}\n"
    config += f"rest.auth.file={tmp_path / 'users.json'}\n"
    secured = start_hub(tmp_path, config=config, scheme="https", auth=("ops", "s3cret"))
    tls = {"url": secured.url, "ssl.ca.location": str(authority.pem)}
    try:
        with (
            SchemaRegistryClient(tls) as anonymous,
            SchemaRegistryClient({**tls, "basic.auth.user.info": "ops:s3cret"}) as admin,
            SchemaRegistryClient({**tls, "basic.auth.user.info": "viewer:look"}) as viewer,
        ):
            with pytest.raises(SchemaRegistryError) as refused:
                anonymous.get_subjects()
            assert refused.value.http_status_code == 401

            schema_id = admin.register_schema("secure-value", Schema('"string"', "AVRO"))

            assert viewer.get_schema(schema_id).schema_str == '"string"'
            with pytest.raises(SchemaRegistryError) as forbidden:
                viewer.register_schema("secure-value", Schema('"int"', "AVRO"))
            assert forbidden.value.http_status_code == 403
    finally:
        stop_hub(secured)


def test_ids_and_versions_survive_a_kill_9(tmp_path: Path) -> None:
    first = start_hub(tmp_path)
    client = SchemaRegistryClient({"url": first.url})
    registered = {}
    for subject in ("k1", "k2", "k3"):
        for version in range(2):
            fields = [{"name": f"f{i}", "type": "int", "default": 0} for i in range(version + 1)]
            schema = Schema(json.dumps({"type": "record", "name": subject, "fields": fields}), "AVRO")
            registered[(subject, version + 1)] = client.register_schema(subject, schema)
    client.set_compatibility("k2", "NONE")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(30)

    again = wait_hub(relaunch_hub(first))
    try:
        fresh = SchemaRegistryClient({"url": again.url})
        for (subject, version), schema_id in registered.items():
            assert fresh.get_version(subject, version).schema_id == schema_id
        assert fresh.get_compatibility("k2") == "NONE"
        extra = Schema(json.dumps({"type": "record", "name": "k4", "fields": []}), "AVRO")
        assert fresh.register_schema("k4", extra) == max(registered.values()) + 1
    finally:
        stop_hub(again)
