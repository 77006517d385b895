"""AvroConverter against confluent-kafka's AvroSerializer and AvroDeserializer (each reads what the other writes),
AvroData's schema mapping, the subject name strategies and the registry options."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.runtime.converters.schema_registry import AvroConverter
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.schema import (
    BYTES_SCHEMA,
    FLOAT32_SCHEMA,
    INT8_SCHEMA,
    INT16_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    Schema,
    Type,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)
from hub.sdk.struct import Struct

INNER = struct_schema({"a": INT32_SCHEMA}, name="shop.Inner")
ORDER = struct_schema(
    {
        "id": INT64_SCHEMA,
        "small": INT8_SCHEMA,
        "medium": INT16_SCHEMA,
        "note": OPTIONAL_STRING_SCHEMA,
        "price": decimal_schema(2),
        "day": date_schema(),
        "at": timestamp_schema(optional=True),
        "time": time_schema(),
        "tags": array_schema(STRING_SCHEMA),
        "by_id": map_schema(INT32_SCHEMA, STRING_SCHEMA),
        "by_name": map_schema(STRING_SCHEMA, INT64_SCHEMA),
        "inner": INNER.as_optional(),
        "blob": BYTES_SCHEMA,
        "ratio": FLOAT32_SCHEMA,
    },
    name="shop.Order",
)


def order() -> Struct:
    return Struct(
        ORDER,
        {
            "id": 7,
            "small": -3,
            "medium": 300,
            "note": None,
            "price": decimal.Decimal("12.34"),
            "day": dt.date(2024, 2, 29),
            "at": dt.datetime(2024, 2, 29, 12, 30, 1, 250_000, tzinfo=dt.UTC),
            "time": dt.time(23, 59, 59, 999_000),
            "tags": ["a", "b"],
            "by_id": {1: "one"},
            "by_name": {"x": 1},
            "inner": Struct(INNER.as_optional(), {"a": 5}),
            "blob": b"\x00\xff",
            "ratio": 0.5,
        },
    )


def converter(url: str, *, is_key: bool = False, **options: Any) -> AvroConverter:
    made = AvroConverter()
    made.configure({"schema.registry.url": url, **options}, is_key=is_key)
    return made


def value_context(topic: str = "orders") -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def test_round_trip_keeps_schema_and_value(registry_url: str) -> None:
    avro = converter(registry_url)
    data = avro.from_connect("orders", ORDER, order())
    assert data is not None
    assert data[0] == 0
    back = avro.to_connect("orders", data)
    assert back.schema == ORDER
    assert back.value == order()


def test_registered_schema_is_what_avro_data_writes(registry_url: str, registry: Any) -> None:
    schema = struct_schema(
        {"id": INT8_SCHEMA, "price": decimal_schema(2), "at": timestamp_schema(optional=True)}, name="shop.Row"
    )
    converter(registry_url).from_connect("rows", schema, Struct(schema, {"id": 1, "price": decimal.Decimal(1)}))
    registered = registry.get_latest_version("rows-value").schema
    assert registered.schema_type == "AVRO"
    assert json.loads(registered.schema_str) == {
        "type": "record",
        "name": "Row",
        "namespace": "shop",
        "fields": [
            {"name": "id", "type": {"type": "int", "connect.type": "int8"}},
            {
                "name": "price",
                "type": {
                    "type": "bytes",
                    "scale": 2,
                    "precision": 64,
                    "connect.version": 1,
                    "connect.parameters": {"scale": "2"},
                    "connect.name": "org.apache.kafka.connect.data.Decimal",
                    "logicalType": "decimal",
                },
            },
            {
                "name": "at",
                "type": [
                    "null",
                    {
                        "type": "long",
                        "connect.version": 1,
                        "connect.name": "org.apache.kafka.connect.data.Timestamp",
                        "logicalType": "timestamp-millis",
                    },
                ],
                "default": None,
            },
        ],
        "connect.name": "shop.Row",
    }


def test_unnamed_structs_are_connect_default_records(registry_url: str, registry: Any) -> None:
    schema = struct_schema({"a": INT32_SCHEMA})
    converter(registry_url).from_connect("t", schema, Struct(schema, {"a": 1}))
    avro = json.loads(registry.get_latest_version("t-value").schema.schema_str)
    assert (avro["name"], avro["namespace"]) == ("ConnectDefault", "io.confluent.connect.avro")
    assert "connect.name" not in avro


def test_avro_deserializer_reads_what_the_converter_writes(registry_url: str, registry: Any) -> None:
    data = converter(registry_url).from_connect("orders", ORDER, order())
    read = AvroDeserializer(registry)(data, value_context())
    assert read == {
        "id": 7,
        "small": -3,
        "medium": 300,
        "note": None,
        "price": decimal.Decimal("12.34"),
        "day": dt.date(2024, 2, 29),
        "at": dt.datetime(2024, 2, 29, 12, 30, 1, 250_000, tzinfo=dt.UTC),
        "time": dt.time(23, 59, 59, 999_000),
        "tags": ["a", "b"],
        "by_id": [{"key": 1, "value": "one"}],
        "by_name": {"x": 1},
        "inner": {"a": 5},
        "blob": b"\x00\xff",
        "ratio": 0.5,
    }


APP_SCHEMA = {
    "type": "record",
    "name": "Payment",
    "namespace": "bank",
    "doc": "a payment",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "currency", "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD"]}},
        {"name": "memo", "type": ["null", "string"], "default": None},
        {"name": "retries", "type": "int", "default": 3},
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 2}},
        {"name": "either", "type": ["null", "int", "string"], "default": None},
    ],
}


def test_converter_reads_what_avro_serializer_writes(registry_url: str, registry: Any) -> None:
    serializer = AvroSerializer(registry, json.dumps(APP_SCHEMA))
    payment = {
        "id": "p-1",
        "amount": decimal.Decimal("10.50"),
        "currency": "USD",
        "memo": None,
        "retries": 1,
        "when": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "attrs": {"k": 2},
        "code": b"ab",
        "either": "text",
    }
    data = serializer(payment, value_context("payments"))
    schema, value = converter(registry_url).to_connect("payments", data)
    assert schema is not None
    assert schema.name == "bank.Payment"
    assert schema.params["io.confluent.connect.avro.record.doc"] == "a payment"
    amount = schema.field("amount").schema
    assert (amount.name, amount.params) == (
        "org.apache.kafka.connect.data.Decimal",
        {"scale": "2", "connect.decimal.precision": "10"},
    )
    currency = schema.field("currency").schema
    assert currency.type is Type.STRING
    assert currency.name == "bank.Currency"
    assert currency.params["io.confluent.connect.avro.Enum"] == "bank.Currency"
    assert schema.field("memo").schema.optional
    retries = schema.field("retries").schema
    assert retries.default == 3
    assert retries.params == {"io.confluent.connect.avro.field.default": "true"}
    assert schema.field("code").schema.params == {"connect.fixed.size": "2"}
    either = schema.field("either").schema
    assert (either.name, [f.name for f in either.fields]) == ("io.confluent.connect.avro.Union", ["int", "string"])
    assert value.get("id") == "p-1"
    assert value.get("amount") == decimal.Decimal("10.50")
    assert value.get("currency") == "USD"
    assert value.get("when") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert value.get("attrs") == {"k": 2}
    assert value.get("code") == b"ab"
    assert value.get("either").get("string") == "text"


def test_what_the_converter_read_from_avro_serializer_it_writes_back_with_the_same_avro_types(
    registry_url: str, registry: Any
) -> None:
    app_schema = {
        "type": "record",
        "name": "Tagged",
        "namespace": "bank",
        "fields": [{"name": "code", "type": {"type": "fixed", "name": "Code", "size": 2}}],
    }
    data = AvroSerializer(registry, json.dumps(app_schema))({"code": b"ab"}, value_context("in"))
    avro = converter(registry_url)
    schema, value = avro.to_connect("in", data)
    copied = avro.from_connect("out", schema, value)
    written = json.loads(registry.get_latest_version("out-value").schema.schema_str)
    assert written["fields"][0]["type"]["type"] == "fixed"
    assert written["fields"][0]["type"]["size"] == 2
    assert AvroDeserializer(registry)(copied, value_context("out")) == {"code": b"ab"}


def test_topic_name_strategy_names_key_and_value_subjects(registry_url: str, registry: Any) -> None:
    converter(registry_url, is_key=True).from_connect("orders", INT64_SCHEMA, 1)
    converter(registry_url).from_connect("orders", ORDER, order())
    assert sorted(registry.get_subjects()) == ["orders-key", "orders-value"]


@pytest.mark.parametrize(
    ("strategy", "subject"),
    [
        ("io.confluent.kafka.serializers.subject.RecordNameStrategy", "shop.Order"),
        ("io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", "orders-shop.Order"),
    ],
)
def test_record_name_strategies_name_the_subject_after_the_record(
    registry_url: str, registry: Any, strategy: str, subject: str
) -> None:
    converter(registry_url, **{"value.subject.name.strategy": strategy}).from_connect("orders", ORDER, order())
    assert registry.get_subjects() == [subject]


def test_record_name_strategy_refuses_a_schema_without_a_record(registry_url: str) -> None:
    avro = converter(registry_url, **{"value.subject.name.strategy": "RecordNameStrategy"})
    with pytest.raises(DataError, match="needs a named schema"):
        avro.from_connect("t", INT32_SCHEMA, 1)


def test_without_auto_register_an_unknown_schema_is_refused_naming_the_subject(registry_url: str) -> None:
    avro = converter(registry_url, **{"auto.register.schemas": "false"})
    with pytest.raises(DataError, match=r"subject 'orders-value'.*HTTP 404"):
        avro.from_connect("orders", ORDER, order())


def test_without_auto_register_a_registered_schema_is_used(registry_url: str, registry: Any) -> None:
    first = converter(registry_url).from_connect("orders", ORDER, order())
    second = converter(registry_url, **{"auto.register.schemas": "false"}).from_connect("orders", ORDER, order())
    assert first == second


def test_use_latest_version_writes_with_the_latest_registered_schema(registry_url: str, registry: Any) -> None:
    from confluent_kafka.schema_registry import Schema as RegistrySchema

    wider = {
        "type": "record",
        "name": "Row",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"], "default": None}],
    }
    latest_id = registry.register_schema("rows-value", RegistrySchema(json.dumps(wider), "AVRO"))
    schema = struct_schema({"a": INT32_SCHEMA, "b": OPTIONAL_STRING_SCHEMA}, name="Row")
    avro = converter(registry_url, **{"use.latest.version": "true", "auto.register.schemas": "false"})
    data = avro.from_connect("rows", schema, Struct(schema, {"a": 1}))
    assert data is not None
    assert int.from_bytes(data[1:5], "big") == latest_id
    assert AvroDeserializer(registry)(data, value_context("rows")) == {"a": 1, "b": None}


def test_null_is_a_tombstone_both_ways(registry_url: str) -> None:
    avro = converter(registry_url)
    assert avro.from_connect("t", ORDER, None) is None
    assert avro.to_connect("t", None) == (None, None)


def test_schemaless_values_and_foreign_bytes_are_data_errors(registry_url: str) -> None:
    avro = converter(registry_url)
    with pytest.raises(DataError, match="needs a schema"):
        avro.from_connect("t", None, {"a": 1})
    with pytest.raises(DataError, match="Unknown magic byte"):
        avro.to_connect("t", b'{"a": 1}')
    with pytest.raises(DataError, match=r"schema id 999.*HTTP 404"):
        avro.to_connect("t", b"\x00\x00\x00\x03\xe7\x02")


def test_a_value_that_does_not_fit_its_schema_is_a_data_error(registry_url: str) -> None:
    schema = struct_schema({"a": INT32_SCHEMA}, name="R")
    broken = Struct.from_values(schema, ["not a number"])
    with pytest.raises(DataError, match="Failed to serialize Avro data from topic 't'"):
        converter(registry_url).from_connect("t", schema, broken)


def test_options_are_checked_and_unimplemented_ones_refused_by_name(registry_url: str) -> None:
    with pytest.raises(ConfigError, match=r"schema\.registry\.url"):
        AvroConverter().configure({})
    with pytest.raises(ConfigError, match="unknown subject name strategy"):
        converter(registry_url, **{"value.subject.name.strategy": "com.example.Mine"})
    with pytest.raises(ConfigError, match=r"use\.schema\.id"):
        converter(registry_url, **{"use.schema.id": "3"})
    with pytest.raises(ConfigError, match=r"scrub\.invalid\.names"):
        converter(registry_url, **{"scrub.invalid.names": "true"})


def test_user_info_credentials_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as refused:
        converter(
            "http://127.0.0.1:1",
            **{"basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "s3cret-no-colon"},
        )
    assert "s3cret" not in str(refused.value)
    with pytest.raises(ConfigError) as refused:
        converter("ftp://me:s3cret@127.0.0.1:1")
    assert "s3cret" not in str(refused.value)


def test_an_unreachable_registry_is_retriable() -> None:
    from hub.sdk.errors import RetriableError

    avro = converter(
        "http://127.0.0.1:9", **{"basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "me:s3cret"}
    )
    avro.registry.client._rest_client.max_retries = 0
    with pytest.raises(RetriableError) as failed:
        avro.from_connect("t", INT32_SCHEMA, 1)
    assert "s3cret" not in str(failed.value)


def test_the_converter_is_a_plugin_under_confluents_class_name() -> None:
    from hub.runtime.plugins import Plugins

    made = Plugins.discover(entry_points=False).converter("io.confluent.connect.avro.AvroConverter")
    assert isinstance(made, AvroConverter)


def test_int8_and_int16_survive_as_connect_types(registry_url: str) -> None:
    schema = struct_schema({"a": INT8_SCHEMA, "b": INT16_SCHEMA, "c": Schema(Type.FLOAT64)}, name="N")
    avro = converter(registry_url)
    back = avro.to_connect("n", avro.from_connect("n", schema, Struct(schema, {"a": 1, "b": 2, "c": 1.0})))
    assert back.schema == schema


def test_the_converters_options_are_known_to_validation_and_a_misspelt_one_is_named() -> None:
    from hub.runtime.connector_config import SOURCE
    from hub.runtime.plugins import Plugins
    from hub.runtime.unknown_options import unknown_option_warnings

    config = {
        "connector.class": "Datagen",
        "value.converter": "io.confluent.connect.avro.AvroConverter",
        "value.converter.schema.registry.url": "mock://warnings",
        "value.converter.value.subject.name.strategy": "RecordNameStrategy",
        "value.converter.auto.register.schema": "false",
    }
    warnings = unknown_option_warnings(Plugins.discover(entry_points=False), SOURCE, config)
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "unknown configuration 'value.converter.auto.register.schema' is ignored; "
        "did you mean 'value.converter.auto.register.schemas'"
    )
