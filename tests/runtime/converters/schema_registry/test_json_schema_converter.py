"""JsonSchemaConverter against confluent-kafka's JSONSerializer and JSONDeserializer (each reads what the other
writes), JsonSchemaData's schema mapping and the converter's options."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pytest
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.runtime.converters.schema_registry import JsonSchemaConverter
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.schema import (
    BYTES_SCHEMA,
    INT16_SCHEMA,
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

ITEM = struct_schema(
    {
        "id": INT64_SCHEMA,
        "qty": INT16_SCHEMA,
        "name": STRING_SCHEMA,
        "note": OPTIONAL_STRING_SCHEMA,
        "price": decimal_schema(2),
        "day": date_schema(),
        "at": timestamp_schema(),
        "tags": array_schema(STRING_SCHEMA),
        "counts": map_schema(INT64_SCHEMA, STRING_SCHEMA),
        "blob": BYTES_SCHEMA,
    },
    name="shop.Item",
)


def item() -> Struct:
    return Struct(
        ITEM,
        {
            "id": 1,
            "qty": 2,
            "name": "pen",
            "price": decimal.Decimal("3.10"),
            "day": dt.date(2024, 5, 1),
            "at": dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC),
            "tags": ["x"],
            "counts": {5: "five"},
            "blob": b"\x01\x02",
        },
    )


def converter(url: str, **options: Any) -> JsonSchemaConverter:
    made = JsonSchemaConverter()
    made.configure({"schema.registry.url": url, **options})
    return made


def context(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def test_round_trip_keeps_schema_and_value(registry_url: str) -> None:
    converting = converter(registry_url)
    back = converting.to_connect("items", converting.from_connect("items", ITEM, item()))
    assert back.schema == ITEM
    assert back.value == item()


def test_registered_schema_is_what_json_schema_data_writes(registry_url: str, registry: Any) -> None:
    schema = struct_schema({"id": INT64_SCHEMA, "note": OPTIONAL_STRING_SCHEMA, "price": decimal_schema(2)}, name="R")
    converter(registry_url).from_connect("r", schema, Struct(schema, {"id": 1, "price": decimal.Decimal(0)}))
    registered = registry.get_latest_version("r-value").schema
    assert registered.schema_type == "JSON"
    assert json.loads(registered.schema_str) == {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "connect.type": "int64", "connect.index": 0},
            "note": {"oneOf": [{"type": "null"}, {"type": "string"}], "connect.index": 1},
            "price": {
                "type": "string",
                "connect.type": "bytes",
                "title": "org.apache.kafka.connect.data.Decimal",
                "connect.version": 1,
                "connect.parameters": {"scale": "2"},
                "connect.index": 2,
            },
        },
        "title": "R",
    }


def test_json_deserializer_reads_what_the_converter_writes(registry_url: str, registry: Any) -> None:
    data = converter(registry_url).from_connect("items", ITEM, item())
    read = JSONDeserializer(None, schema_registry_client=registry)(data, context("items"))
    assert read == {
        "id": 1,
        "qty": 2,
        "name": "pen",
        "note": None,
        "price": "ATY=",
        "day": 19844,
        "at": 1714550400000,
        "tags": ["x"],
        "counts": [{"key": 5, "value": "five"}],
        "blob": "AQI=",
    }


def test_converter_reads_what_json_serializer_writes(registry_url: str, registry: Any) -> None:
    app_schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Person",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "email": {"type": ["null", "string"]},
            "address": {"$ref": "#/definitions/Address"},
        },
        "definitions": {"Address": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    data = JSONSerializer(json.dumps(app_schema), registry)(
        {"name": "Ann", "age": 40, "score": 1.5, "email": None, "address": {"city": "Oslo"}}, context("people")
    )
    schema, value = converter(registry_url).to_connect("people", data)
    assert schema is not None
    assert schema.name == "Person"
    assert [(f.name, f.schema.type, f.schema.optional) for f in schema.fields] == [
        ("name", Type.STRING, False),
        ("age", Type.INT64, False),
        ("score", Type.FLOAT64, False),
        ("email", Type.STRING, True),
        ("address", Type.STRUCT, False),
    ]
    assert value.get("age") == 40
    assert value.get("address").get("city") == "Oslo"


def test_numeric_decimals_are_json_numbers(registry_url: str, registry: Any) -> None:
    schema = struct_schema({"price": decimal_schema(2)}, name="P")
    converting = converter(registry_url, **{"decimal.format": "NUMERIC"})
    data = converting.from_connect("p", schema, Struct(schema, {"price": decimal.Decimal("9.999")}))
    assert data is not None
    assert data[5:] == b'{"price":10.00}'
    assert converting.to_connect("p", data).value.get("price") == decimal.Decimal("10.00")


def test_invalid_json_is_refused_when_validation_is_on(registry_url: str) -> None:
    schema = struct_schema({"qty": INT16_SCHEMA}, name="Q")
    broken = Struct.from_values(schema, ["many"])
    with pytest.raises(DataError, match="does not match its schema"):
        converter(registry_url, **{"json.fail.invalid.schema": "true"}).from_connect("q", schema, broken)


def test_json_that_does_not_fit_the_schema_is_a_data_error_naming_the_field(registry_url: str) -> None:
    schema = struct_schema({"qty": INT16_SCHEMA}, name="Q")
    converting = converter(registry_url)
    data = converting.from_connect("q", schema, Struct(schema, {"qty": 1}))
    assert data is not None
    with pytest.raises(DataError, match="qty: expected an integer"):
        converting.to_connect("q", data[:5] + b'{"qty": "x"}')


def test_unimplemented_options_are_refused_by_name(registry_url: str) -> None:
    with pytest.raises(ConfigError, match=r"object\.additional\.properties"):
        converter(registry_url, **{"object.additional.properties": "false"})


def test_an_avro_schema_id_is_refused_by_the_json_schema_converter(registry_url: str) -> None:
    from hub.runtime.converters.schema_registry import AvroConverter

    avro = AvroConverter()
    avro.configure({"schema.registry.url": registry_url})
    data = avro.from_connect("t", INT64_SCHEMA, 5)
    with pytest.raises(DataError, match="not JSON"):
        converter(registry_url).to_connect("t", data)
