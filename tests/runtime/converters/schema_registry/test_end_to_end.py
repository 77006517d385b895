"""The converters against Hub's own schema registry, end to end through `hub start`: an application producing
with confluent-kafka's AvroSerializer (or JSONSerializer) into a topic Hub's S3 sink reads with the AvroConverter
(JsonSchemaConverter), Hub's PostgreSQL CDC source writing with the AvroConverter, read back by confluent-kafka's
AvroDeserializer, and Protobuf records read and written by the ProtobufConverter through the registry."""

from __future__ import annotations

import decimal
import hashlib
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.connectors.conftest import wait_for
from tests.connectors.s3.conftest import new_bucket, objects, store_config
from tests.harness.servers import S3Server, SqlServer
from tests.rest.conftest import HubStart, start_hub, stop_hub

pytestmark = pytest.mark.integration

AVRO_CONVERTER = "io.confluent.connect.avro.AvroConverter"
PAYMENT = {
    "type": "record",
    "name": "Payment",
    "namespace": "bank",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "payer", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "memo", "type": ["null", "string"], "default": None},
    ],
}
_ids = itertools.count()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    started = start_hub(tmp_path_factory.mktemp("hub-converters"))
    yield started
    stop_hub(started)


@pytest.fixture
def registry(hub: HubStart) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": hub.url})


def create_connector(hub: HubStart, name: str, config: dict[str, str]) -> None:
    answer = httpx.put(f"{hub.url}/connectors/{name}/config", json=config, timeout=30)
    assert answer.status_code in (200, 201), answer.text

    def running() -> bool:
        status = httpx.get(f"{hub.url}/connectors/{name}/status", timeout=10).json()
        tasks = status.get("tasks", [])
        assert all(task["state"] != "FAILED" for task in tasks), tasks
        return bool(tasks) and all(task["state"] == "RUNNING" for task in tasks)

    wait_for(running, 60, f"connector {name} running")


def avro_converters(hub: HubStart) -> dict[str, str]:
    return {
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": AVRO_CONVERTER,
        "value.converter.schema.registry.url": hub.url,
    }


def test_records_an_application_writes_with_avro_serializer_reach_s3_through_the_avro_converter(
    hub: HubStart, registry: SchemaRegistryClient, s3_server: S3Server
) -> None:
    topic = f"payments-{next(_ids)}"
    admin = AdminClient({"bootstrap.servers": hub.kafka})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(30)
    serializer = AvroSerializer(registry, json.dumps(PAYMENT))
    sent = [{"id": n, "payer": f"p{n}", "amount": n * 1.5, "memo": None if n % 2 else "m"} for n in range(6)]
    producer = Producer({"bootstrap.servers": hub.kafka})
    for payment in sent:
        value = serializer(payment, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, key=str(payment["id"]).encode(), value=value)
    assert producer.flush(30) == 0
    bucket = new_bucket(s3_server)

    create_connector(
        hub,
        f"archive-{topic}",
        {
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "topics": topic,
            **store_config(s3_server, bucket),
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
            "flush.size": "3",
            **avro_converters(hub),
        },
    )

    wait_for(lambda: len(objects(s3_server, bucket)) == 2, 60, "two objects of three records")
    written = [json.loads(line) for _, body in sorted(objects(s3_server, bucket).items()) for line in body.splitlines()]
    assert written == sent
    assert f"{topic}-value" in registry.get_subjects()


def test_json_an_application_writes_with_json_serializer_reaches_s3_through_the_json_schema_converter(
    hub: HubStart, registry: SchemaRegistryClient, s3_server: S3Server
) -> None:
    topic = f"people-{next(_ids)}"
    admin = AdminClient({"bootstrap.servers": hub.kafka})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(30)
    person = {
        "title": "Person",
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    serializer = JSONSerializer(json.dumps(person), registry)
    sent = [{"name": f"n{n}", "age": n} for n in range(3)]
    producer = Producer({"bootstrap.servers": hub.kafka})
    for value in sent:
        producer.produce(topic, value=serializer(value, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(30) == 0
    bucket = new_bucket(s3_server)

    create_connector(
        hub,
        f"archive-{topic}",
        {
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "topics": topic,
            **store_config(s3_server, bucket),
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
            "flush.size": "3",
            "value.converter": "io.confluent.connect.json.JsonSchemaConverter",
            "value.converter.schema.registry.url": hub.url,
        },
    )

    wait_for(lambda: len(objects(s3_server, bucket)) == 1, 60, "one object of three records")
    (body,) = objects(s3_server, bucket).values()
    assert [json.loads(line) for line in body.splitlines()] == sent


def test_protobuf_records_go_through_hubs_registry_both_ways(
    hub: HubStart, registry: SchemaRegistryClient, shop: ModuleType
) -> None:
    from hub.runtime.converters.schema_registry import ProtobufConverter

    conf = {"use.deprecated.format": False}
    message = shop.Order(id=3, name="pen", tags=["a"], inner=shop.Order.Inner(a=1), status=shop.Order.DONE, text="t")
    message.counts["k"] = 2
    data = ProtobufSerializer(shop.Order, registry, conf)(message, SerializationContext("pb-in", MessageField.VALUE))
    converting = ProtobufConverter()
    converting.configure({"schema.registry.url": hub.url})

    schema, value = converting.to_connect("pb-in", data)
    copied = converting.from_connect("pb-out", schema, value)

    read = ProtobufDeserializer(shop.Order, conf)(copied, SerializationContext("pb-out", MessageField.VALUE))
    assert read == message
    assert registry.get_latest_version("pb-out-value").schema.schema_type == "PROTOBUF"
    fresh = ProtobufConverter()
    fresh.configure({"schema.registry.url": hub.url})
    assert fresh.to_connect("pb-out", copied).value.get("inner").get("a") == 1


def test_the_protobuf_converter_writes_with_the_latest_schema_in_hubs_registry(
    hub: HubStart, registry: SchemaRegistryClient, shop: ModuleType
) -> None:
    from hub.runtime.converters.schema_registry import ProtobufConverter

    conf = {"use.deprecated.format": False}
    message = shop.Order(id=4, name="ink", inner=shop.Order.Inner(a=2), status=shop.Order.DONE, number=7)
    context = SerializationContext("pb-latest", MessageField.VALUE)
    data = ProtobufSerializer(shop.Order, registry, conf)(message, context)
    latest = registry.get_latest_version("pb-latest-value")
    reading = ProtobufConverter()
    reading.configure({"schema.registry.url": hub.url})
    schema, value = reading.to_connect("pb-latest", data)
    writing = ProtobufConverter()
    writing.configure({"schema.registry.url": hub.url, "use.latest.version": "true", "auto.register.schemas": "false"})

    written = writing.from_connect("pb-latest", schema, value)

    assert written is not None
    assert int.from_bytes(written[1:5], "big") == latest.schema_id
    assert ProtobufDeserializer(shop.Order, conf)(written, context) == message
    assert registry.get_versions("pb-latest-value") == [latest.version]


def test_the_converters_send_the_registrys_basic_auth_credentials(tmp_path: Path) -> None:
    from hub.runtime.converters.schema_registry import AvroConverter
    from hub.sdk.errors import ConnectorError
    from hub.sdk.schema import INT64_SCHEMA

    digest = hashlib.sha256(b"s3cret").hexdigest()
    users = {"users": [{"name": "ops", "password_sha256": digest, "role": "admin"}]}
    (tmp_path / "users.json").write_text(json.dumps(users))
    secured = start_hub(tmp_path, config=f"rest.auth.file={tmp_path / 'users.json'}\n", auth=("ops", "s3cret"))
    try:
        scheme, address = secured.url.split("://")
        for options in (
            {"basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "ops:s3cret"},
            {"schema.registry.url": f"{scheme}://ops:s3cret@{address}"},
        ):
            avro = AvroConverter()
            avro.configure({"schema.registry.url": secured.url, **options})
            assert avro.to_connect("ids", avro.from_connect("ids", INT64_SCHEMA, 7)).value == 7
        anonymous = AvroConverter()
        anonymous.configure({"schema.registry.url": secured.url})
        with pytest.raises(ConnectorError, match="HTTP 401") as refused:
            anonymous.from_connect("other", INT64_SCHEMA, 7)
        assert "s3cret" not in str(refused.value)
    finally:
        stop_hub(secured)


@pytest.fixture
def table(postgres_server: SqlServer) -> Iterator[tuple[SqlServer, str]]:
    suffix = f"{os.getpid()}_{next(_ids)}"
    name = f"avro_orders_{suffix}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {name} (id SERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2))")
    yield postgres_server, name
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s AND NOT active",
            (f"slot_{suffix}",),
        )
        connection.execute(f"DROP PUBLICATION IF EXISTS pub_{suffix}")
        connection.execute(f"DROP TABLE IF EXISTS {name}")


def consume(hub: HubStart, topic: str, count: int) -> list[tuple[Any, Any]]:
    """(key bytes, value bytes) of the first ``count`` records of ``topic``."""
    consumer = Consumer(
        {"bootstrap.servers": hub.kafka, "group.id": f"reader-{topic}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    found: list[tuple[Any, Any]] = []
    try:

        def enough() -> bool:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append((message.key(), message.value()))
            return len(found) >= count

        wait_for(enough, 60, lambda: f"{count} records in {topic}; have {len(found)}")
    finally:
        consumer.close()
    return found


def test_change_events_of_the_cdc_source_written_with_the_avro_converter_are_read_by_avro_deserializer(
    hub: HubStart, registry: SchemaRegistryClient, table: tuple[SqlServer, str]
) -> None:
    server, name = table
    suffix = name.removeprefix("avro_orders_")
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(f"INSERT INTO {name} (name, price) VALUES ('a', 1.50), ('b', 2.25)")
    create_connector(
        hub,
        f"cdc-{suffix}",
        {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": server.host,
            "database.port": str(server.port),
            "database.user": server.user,
            "database.password": server.password,
            "database.dbname": server.database,
            "topic.prefix": "shop",
            "table.include.list": f"public\\.{name}",
            "slot.name": f"slot_{suffix}",
            "publication.name": f"pub_{suffix}",
            "poll.interval.ms": "100",
            "key.converter": AVRO_CONVERTER,
            "key.converter.schema.registry.url": hub.url,
            "value.converter": AVRO_CONVERTER,
            "value.converter.schema.registry.url": hub.url,
        },
    )
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(f"UPDATE {name} SET name = 'a2' WHERE id = 1")
    topic = f"shop.public.{name}"

    records = consume(hub, topic, 3)

    keys = AvroDeserializer(registry)
    values = AvroDeserializer(registry)
    events = [
        (
            keys(key, SerializationContext(topic, MessageField.KEY)),
            values(value, SerializationContext(topic, MessageField.VALUE)),
        )
        for key, value in records
    ]
    assert [(key["id"], value["op"], value["after"]["name"]) for key, value in events] == [
        (1, "r", "a"),
        (2, "r", "b"),
        (1, "u", "a2"),
    ]
    assert events[1][1]["after"]["price"] == decimal.Decimal("2.25")
    assert {f"{topic}-key", f"{topic}-value"} <= set(registry.get_subjects())
    value_schema = json.loads(registry.get_latest_version(f"{topic}-value").schema.schema_str)
    assert value_schema["connect.name"] == f"{topic}.Envelope"
