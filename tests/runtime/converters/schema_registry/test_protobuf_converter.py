"""ProtobufConverter against confluent-kafka's ProtobufSerializer and ProtobufDeserializer: an application's
message (compiled by protoc) read by the converter, written back, and read by the deserializer as the same
message; ProtobufData's mapping of Connect schemas; the message indexes; the options."""

from __future__ import annotations

import datetime as dt
import decimal
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("grpc_tools")
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.runtime.converters.schema_registry import ProtobufConverter
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.schema import (
    INT8_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    Type,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    timestamp_schema,
)
from hub.sdk.struct import Struct

CONF = {"use.deprecated.format": False}


def order(shop: ModuleType) -> Any:
    message = shop.Order(
        id=5, name="pen", amount=1.5, tags=["a", "b"], inner=shop.Order.Inner(a=3), status=shop.Order.DONE, text="hi"
    )
    message.at.FromDatetime(dt.datetime(2024, 1, 1, 1, 2, 3))
    message.counts["k"] = 9
    message.delta = -4
    return message


def converter(url: str, **options: Any) -> ProtobufConverter:
    made = ProtobufConverter()
    made.configure({"schema.registry.url": url, **options})
    return made


def context(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def test_converter_reads_what_protobuf_serializer_writes(registry_url: str, registry: Any, shop: ModuleType) -> None:
    data = ProtobufSerializer(shop.Order, registry, CONF)(order(shop), context("orders"))
    schema, value = converter(registry_url).to_connect("orders", data)
    assert schema is not None
    assert schema.name == "Order"
    assert [f.name for f in schema.fields] == [
        "choice", "id", "name", "amount", "tags", "inner", "at", "counts", "status", "delta",
    ]  # fmt: skip
    assert all(f.schema.optional for f in schema.fields)
    assert schema.field("id").schema.params == {"io.confluent.connect.protobuf.Tag": "1"}
    assert schema.field("choice").schema.name == "io.confluent.connect.protobuf.Union.choice"
    assert schema.field("at").schema.name == "org.apache.kafka.connect.data.Timestamp"
    assert schema.field("delta").schema.params["io.confluent.connect.protobuf.Type"] == "sint64"
    status = schema.field("status").schema
    assert (status.type, status.params["io.confluent.connect.protobuf.Enum.DONE"]) == (Type.STRING, "1")
    assert value.get("choice").get("text") == "hi"
    assert value.get("tags") == ["a", "b"]
    assert value.get("inner").get("a") == 3
    assert value.get("at") == dt.datetime(2024, 1, 1, 1, 2, 3, tzinfo=dt.UTC)
    assert value.get("counts") == {"k": 9}
    assert value.get("status") == "DONE"
    assert value.get("delta") == -4


def test_what_the_converter_read_it_writes_back_for_protobuf_deserializer(
    registry_url: str, registry: Any, shop: ModuleType
) -> None:
    data = ProtobufSerializer(shop.Order, registry, CONF)(order(shop), context("orders"))
    converting = converter(registry_url)
    schema, value = converting.to_connect("orders", data)
    copied = converting.from_connect("copies", schema, value)
    assert copied is not None
    assert copied[5:6] == b"\x00"  # message indexes [0]: the file's first message
    assert ProtobufDeserializer(shop.Order, CONF)(copied, context("copies")) == order(shop)
    assert registry.get_latest_version("copies-value").schema.schema_type == "PROTOBUF"


ITEM = struct_schema(
    {
        "id": INT64_SCHEMA,
        "small": INT8_SCHEMA,
        "name": STRING_SCHEMA,
        "note": OPTIONAL_STRING_SCHEMA,
        "price": decimal_schema(2),
        "day": date_schema(),
        "at": timestamp_schema(),
        "tags": array_schema(STRING_SCHEMA),
        "stock": map_schema(STRING_SCHEMA, INT64_SCHEMA),
        "part": struct_schema({"sku": STRING_SCHEMA}, name="shop.Part"),
    },
    name="shop.Item",
)


def item() -> Struct:
    return Struct(
        ITEM,
        {
            "id": 1,
            "small": 2,
            "name": "pen",
            "price": decimal.Decimal("3.10"),
            "day": dt.date(2024, 5, 1),
            "at": dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC),
            "tags": ["x"],
            "stock": {"a": 1},
            "part": Struct(struct_schema({"sku": STRING_SCHEMA}, name="shop.Part"), {"sku": "s-1"}),
        },
    )


def test_connect_schemas_become_protobuf_data_messages_and_come_back(registry_url: str, registry: Any) -> None:
    converting = converter(registry_url)
    data = converting.from_connect("items", ITEM, item())
    schema, value = converting.to_connect("items", data)
    assert schema is not None
    assert schema.name == "Item"
    assert schema.field("small").schema.type is Type.INT8
    assert schema.field("price").schema.name == "org.apache.kafka.connect.data.Decimal"
    assert value.get("price") == decimal.Decimal("3.10")
    assert value.get("day") == dt.date(2024, 5, 1)
    assert value.get("at") == dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)
    assert value.get("stock") == {"a": 1}
    assert value.get("part").get("sku") == "s-1"
    assert value.get("note") == ""  # proto3 has no null scalars: ProtobufData reads the default


def test_the_subject_record_name_is_the_messages_full_name(registry_url: str, registry: Any) -> None:
    strategy = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
    converter(registry_url, **{"value.subject.name.strategy": strategy}).from_connect("items", ITEM, item())
    assert registry.get_subjects() == ["shop.Item"]


def test_primitive_keys_are_wrapper_messages_as_protobuf_data_writes_them(registry_url: str, registry: Any) -> None:
    from google.protobuf import wrappers_pb2

    keys = ProtobufConverter()
    keys.configure({"schema.registry.url": registry_url}, is_key=True)
    data = keys.from_connect("orders", STRING_SCHEMA, "order-7")
    assert data is not None
    registered = registry.get_latest_version("orders-key").schema
    assert registered.schema_type == "PROTOBUF"
    read = ProtobufDeserializer(wrappers_pb2.StringValue, CONF)(data, SerializationContext("orders", MessageField.KEY))
    assert read.value == "order-7"
    assert keys.to_connect("orders", data) == (OPTIONAL_STRING_SCHEMA, "order-7")
    app = ProtobufSerializer(wrappers_pb2.Int64Value, registry, CONF)
    assert keys.to_connect("n", app(wrappers_pb2.Int64Value(value=9), context("n"))).value == 9


def test_arrays_maps_and_logical_types_cannot_be_roots(registry_url: str) -> None:
    with pytest.raises(DataError, match="Unsupported root schema of type ARRAY"):
        converter(registry_url).from_connect("t", array_schema(STRING_SCHEMA), ["a"])
    with pytest.raises(DataError, match=r"Unsupported root schema org\.apache\.kafka\.connect\.data\.Date"):
        converter(registry_url).from_connect("t", date_schema(), dt.date(2024, 1, 1))


def test_bytes_of_another_format_or_a_bad_message_index_are_data_errors(registry_url: str) -> None:
    converting = converter(registry_url)
    data = converting.from_connect("items", ITEM, item())
    assert data is not None
    with pytest.raises(DataError, match="point at no message"):
        converting.to_connect("items", data[:5] + b"\x02\x06" + data[6:])
    with pytest.raises(DataError, match="Failed to deserialize Protobuf"):
        converting.to_connect("items", data[:6] + b"\xff\xff\xff")


def test_unimplemented_options_are_refused_by_name(registry_url: str) -> None:
    with pytest.raises(ConfigError, match=r"wrapper\.for\.nullables"):
        converter(registry_url, **{"wrapper.for.nullables": "true"})
    with pytest.raises(ConfigError, match=r"use\.latest\.version.*auto\.register\.schemas=false"):
        converter(registry_url, **{"use.latest.version": "true"})


LATEST = {"use.latest.version": "true", "auto.register.schemas": "false"}
PART_OF_ORDER = struct_schema(
    {"id": INT64_SCHEMA, "name": STRING_SCHEMA, "inner": struct_schema({"a": INT32_SCHEMA}, optional=True)},
    name="shop.Order",
)


def test_with_use_latest_version_the_subjects_latest_schema_writes(
    registry_url: str, registry: Any, shop: ModuleType
) -> None:
    ProtobufSerializer(shop.Order, registry, CONF)(order(shop), context("orders"))
    latest = registry.get_latest_version("orders-value")
    inner = Struct(PART_OF_ORDER.field("inner").schema, {"a": 2})
    value = Struct(PART_OF_ORDER, {"id": 8, "name": "ink", "inner": inner})
    data = converter(registry_url, **LATEST).from_connect("orders", PART_OF_ORDER, value)
    assert data is not None
    assert int.from_bytes(data[1:5], "big") == latest.schema_id
    assert data[5:6] == b"\x00"
    assert registry.get_versions("orders-value") == [latest.version]  # nothing registered
    read = ProtobufDeserializer(shop.Order, CONF)(data, context("orders"))
    assert read == shop.Order(id=8, name="ink", inner=shop.Order.Inner(a=2))


def test_with_use_latest_version_a_nested_message_gets_its_message_indexes(
    registry_url: str, registry: Any, shop: ModuleType
) -> None:
    strategy = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
    inner = struct_schema({"a": INT32_SCHEMA}, name="shop.Order.Inner")
    ProtobufSerializer(shop.Order, registry, CONF)(order(shop), context("orders"))
    registry.register_schema("shop.Order.Inner", registry.get_latest_version("orders-value").schema)
    options = {**LATEST, "value.subject.name.strategy": strategy}
    data = converter(registry_url, **options).from_connect("orders", inner, Struct(inner, {"a": 4}))
    assert data is not None
    # message indexes [0, 1] (zigzag varints): Order's second nested type, after the map's CountsEntry
    assert data[5:8] == b"\x04\x00\x02"
    assert ProtobufDeserializer(shop.Order.Inner, CONF)(data, context("orders")) == shop.Order.Inner(a=4)


def test_a_record_that_does_not_fit_the_latest_schema_is_a_data_error(
    registry_url: str, registry: Any, shop: ModuleType
) -> None:
    ProtobufSerializer(shop.Order, registry, CONF)(order(shop), context("orders"))
    schema_id = registry.get_latest_version("orders-value").schema_id
    converting = converter(registry_url, **LATEST)
    extra = struct_schema({"id": INT64_SCHEMA, "colour": STRING_SCHEMA}, name="shop.Order")
    with pytest.raises(DataError, match=rf"does not fit the latest schema \(id {schema_id}\).*colour"):
        converting.from_connect("orders", extra, Struct(extra, {"id": 1, "colour": "red"}))
    wrong_type = struct_schema({"id": STRING_SCHEMA}, name="shop.Order")
    with pytest.raises(DataError, match="does not fit the latest schema"):
        converting.from_connect("orders", wrong_type, Struct(wrong_type, {"id": "one"}))
    other = struct_schema({"id": INT64_SCHEMA}, name="shop.Invoice")
    with pytest.raises(DataError, match=r"has no message 'shop\.Invoice'"):
        converting.from_connect("orders", other, Struct(other, {"id": 1}))
    keys = ProtobufConverter()
    keys.configure({"schema.registry.url": registry_url, **LATEST}, is_key=True)
    with pytest.raises(DataError, match="orders-key"):  # no latest schema to write with
        keys.from_connect("orders", STRING_SCHEMA, "k")
