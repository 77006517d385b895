"""JsonConverter: byte-compatible with Kafka Connect's envelope, round trips every type, clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from typing import Any

import orjson
import pytest

from hub.runtime.converters import JsonConverter
from hub.runtime.converters.json_compiled import DECODER_REFUSALS, payload_decoder, payload_reader, payload_writer
from hub.runtime.converters.json_values import (
    dump_json,
    dump_schemaless,
    schemaless_to_json,
    value_from_json,
    value_to_json,
)
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    BOOLEAN_SCHEMA,
    BYTES_SCHEMA,
    FLOAT64_SCHEMA,
    INT8_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    Schema,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)
from hub.sdk.struct import Struct

ORDER = struct_schema(
    [
        ("id", INT64_SCHEMA),
        ("note", OPTIONAL_STRING_SCHEMA),
        ("amount", decimal_schema(2)),
        ("ts", timestamp_schema()),
    ],
    name="com.acme.Order",
)
# The bytes Kafka Connect's JsonConverter writes for this order: per type, "fields"/"items"/"keys"+"values" come
# right after "type", then optional, name, version, doc, parameters, default; each field ends with its "field".
ORDER_BYTES = (
    b'{"schema":{"type":"struct","fields":['
    b'{"type":"int64","optional":false,"field":"id"},'
    b'{"type":"string","optional":true,"field":"note"},'
    b'{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,'
    b'"parameters":{"scale":"2"},"field":"amount"},'
    b'{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}'
    b'],"optional":false,"name":"com.acme.Order"},'
    b'"payload":{"id":42,"note":null,"amount":"MDk=","ts":1719000000000}}'
)


def _converter(**config: object) -> JsonConverter:
    converter = JsonConverter()
    converter.configure(config)
    return converter


def _order() -> Struct:
    return Struct(
        ORDER,
        {
            "id": 42,
            "note": None,
            "amount": decimal.Decimal("123.45"),
            "ts": dt.datetime(2024, 6, 21, 20, 0, tzinfo=dt.UTC),
        },
    )


def test_struct_envelope_bytes_match_kafka_connect() -> None:
    converter = _converter()
    assert converter.from_connect("t", ORDER, _order()) == ORDER_BYTES
    schema, value = converter.to_connect("t", ORDER_BYTES)
    assert schema == ORDER
    assert value == _order()


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        (STRING_SCHEMA, "foo", b'{"schema":{"type":"string","optional":false},"payload":"foo"}'),
        (INT8_SCHEMA, 12, b'{"schema":{"type":"int8","optional":false},"payload":12}'),
        (BOOLEAN_SCHEMA, True, b'{"schema":{"type":"boolean","optional":false},"payload":true}'),
        (FLOAT64_SCHEMA, 12.5, b'{"schema":{"type":"double","optional":false},"payload":12.5}'),
        (BYTES_SCHEMA, b"\x00\x01", b'{"schema":{"type":"bytes","optional":false},"payload":"AAE="}'),
        (
            array_schema(INT32_SCHEMA),
            [1, 2],
            b'{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2]}',
        ),
        (
            map_schema(STRING_SCHEMA, INT32_SCHEMA),
            {"a": 1},
            b'{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32",'
            b'"optional":false},"optional":false},"payload":{"a":1}}',
        ),
        (
            map_schema(INT32_SCHEMA, STRING_SCHEMA),
            {1: "a"},
            b'{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string",'
            b'"optional":false},"optional":false},"payload":[[1,"a"]]}',
        ),
        (
            date_schema(),
            dt.date(1970, 1, 11),
            b'{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},'
            b'"payload":10}',
        ),
        (
            time_schema(),
            dt.time(0, 0, 1),
            b'{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},'
            b'"payload":1000}',
        ),
    ],
)
def test_types_round_trip_with_connects_bytes(schema: object, value: object, expected: bytes) -> None:
    converter = _converter()
    assert converter.from_connect("t", schema, value) == expected  # type: ignore[arg-type]
    assert converter.to_connect("t", expected) == (schema, value)


def test_schema_default_and_doc_are_written_and_read() -> None:
    schema = dataclasses.replace(STRING_SCHEMA.as_optional().with_default("n/a"), doc="a note")
    data = _converter().from_connect("t", schema, None)
    assert data == b'{"schema":{"type":"string","optional":true,"doc":"a note","default":"n/a"},"payload":"n/a"}'
    assert _converter().to_connect("t", data) == (schema, "n/a")


def test_numeric_decimal_format() -> None:
    converter = _converter(**{"decimal.format": "NUMERIC"})
    data = converter.from_connect("t", decimal_schema(2), decimal.Decimal("123.45"))
    assert data is not None
    assert data.endswith(b'"payload":123.45}')
    assert converter.to_connect("t", data).value == decimal.Decimal("123.45")


def test_schemas_disabled_writes_and_reads_plain_json() -> None:
    converter = _converter(**{"schemas.enable": "false"})
    assert converter.from_connect("t", ORDER, _order()) == b'{"id":42,"note":null,"amount":"MDk=","ts":1719000000000}'
    assert converter.from_connect("t", None, {"a": [1, 2.5, None, True]}) == b'{"a":[1,2.5,null,true]}'
    assert converter.to_connect("t", b'{"a":[1,2.5]}') == (None, {"a": [1, 2.5]})


def test_tombstones_stay_null() -> None:
    converter = _converter()
    assert converter.from_connect("t", None, None) is None
    assert converter.to_connect("t", None) == (None, None)
    assert converter.from_connect("t", OPTIONAL_STRING_SCHEMA, None) == (
        b'{"schema":{"type":"string","optional":true},"payload":null}'
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"id": 1}', "schemas.enable requires"),
        (b'{"schema": null, "payload": 1, "extra": 2}', "schemas.enable requires"),
        (b"not json", "converting bytes to JSON failed"),
        (b'{"schema":{"type":"nope"},"payload":1}', "unknown schema type 'nope'"),
        (b'{"schema":{"type":"int8","optional":false},"payload":300}', "out of range for int8"),
        (b'{"schema":{"type":"bytes","optional":false},"payload":"%%%"}', "not base64"),
        (b'{"schema":{"type":"string","optional":false},"payload":null}', "null payload for a required"),
        (b'{"schema":{"type":"struct","fields":[{"type":"int32"}],"optional":false},"payload":{}}', "no 'field' name"),
    ],
)
def test_bad_input_is_a_data_error_naming_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        _converter().to_connect("t", data)


def test_writing_a_value_that_does_not_fit_its_schema_fails() -> None:
    with pytest.raises(DataError, match="null value for a required"):
        _converter().from_connect("t", STRING_SCHEMA, None)
    with pytest.raises(DataError):
        _converter().from_connect("t", INT8_SCHEMA, 1000)


def test_records_sharing_a_schema_decode_alike_and_a_bad_envelope_is_still_refused() -> None:
    converter = JsonConverter()
    converter.configure({})
    schema = struct_schema([("id", INT64_SCHEMA), ("name", OPTIONAL_STRING_SCHEMA)], name="row")
    first = converter.from_connect("t", schema, Struct(schema, {"id": 1, "name": "a"}))
    second = converter.from_connect("t", schema, Struct(schema, {"id": 2, "name": None}))
    assert first is not None
    assert second is not None
    assert converter.to_connect("t", first).value == Struct(schema, {"id": 1, "name": "a"})
    decoded = converter.to_connect("t", second)  # the payload-only path: same schema bytes as the previous record
    assert decoded.value == Struct(schema, {"id": 2, "name": None})
    assert decoded.schema == schema
    with pytest.raises(DataError):
        converter.to_connect("t", second[:-1] + b',"extra":1}')
    with pytest.raises(DataError, match="null payload for a required"):
        converter.to_connect("t", second.replace(b'"id":2', b'"id":null'))


PLAIN = struct_schema(
    [("id", INT64_SCHEMA), ("n", INT8_SCHEMA), ("ok", BOOLEAN_SCHEMA), ("x", FLOAT64_SCHEMA), ("s", STRING_SCHEMA)],
    name="plain",
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"id":1,"n":2,"ok":true,"x":1.5,"s":"a"}', [1, 2, True, 1.5, "a"]),  # taken as parsed
        (b'{"id":1,"n":2,"ok":true,"x":3,"s":"a","other":0}', [1, 2, True, 3.0, "a"]),  # int for a double
    ],
)
def test_plain_structs_read_by_the_specialised_reader_equal_the_general_path(
    payload: bytes, expected: list[object]
) -> None:
    node = orjson.loads(payload)
    read = payload_reader(PLAIN)(node)
    assert read == value_from_json(PLAIN, node) == Struct.from_values(PLAIN, expected)
    assert type(read.get("x")) is float
    decoded = payload_decoder(PLAIN)(payload)  # parsed and checked in one step
    assert decoded == read
    assert type(decoded.get("x")) is float


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"id":1,"n":300,"ok":true,"x":1.5,"s":"a"}', "out of range for int8"),
        (b'{"id":1,"n":2,"ok":1,"x":1.5,"s":"a"}', "boolean"),
        (b'{"id":true,"n":2,"ok":true,"x":1.5,"s":"a"}', "int64"),
        (b'{"id":1,"n":2,"ok":true,"x":1.5,"s":null}', "null"),
        (b'{"id":18446744073709551615,"n":2,"ok":true,"x":1.5,"s":"a"}', "out of range for int64"),
    ],
)
def test_values_the_specialised_reader_refuses_get_the_general_paths_error(payload: bytes, message: str) -> None:
    with pytest.raises(DECODER_REFUSALS):
        payload_decoder(PLAIN)(payload)
    converter = _converter()
    envelope = converter.from_connect("t", PLAIN, Struct.from_values(PLAIN, [1, 2, True, 1.5, "a"]))
    assert envelope is not None
    converter.to_connect("t", envelope)  # the next record with this schema takes the payload-only path
    bad = envelope[: envelope.index(b'"payload":') + len(b'"payload":')] + payload + b"}"
    with pytest.raises(DataError, match=message):
        converter.to_connect("t", bad)


@pytest.mark.parametrize(
    ("schema", "payload", "expected"),
    [
        (INT8_SCHEMA, b"5", 5),
        (FLOAT64_SCHEMA, b"3", 3.0),
        (STRING_SCHEMA, b'"a\\u00e9"', "a\u00e9"),
        (BOOLEAN_SCHEMA, b"false", False),
    ],
)
def test_primitive_payloads_decode_as_the_general_path_reads_them(
    schema: Schema, payload: bytes, expected: object
) -> None:
    decoded = payload_decoder(schema)(payload)
    assert decoded == value_from_json(schema, orjson.loads(payload)) == expected
    assert type(decoded) is type(expected)


@pytest.mark.parametrize(
    ("schema", "payload"),
    [
        (INT8_SCHEMA, b"300"),
        (INT8_SCHEMA, b"true"),
        (INT8_SCHEMA, b"1.0"),
        (STRING_SCHEMA, b"1"),
        (OPTIONAL_STRING_SCHEMA, b"null"),
        (BOOLEAN_SCHEMA, b"0"),
        (INT64_SCHEMA, b"1 2"),
    ],
)
def test_primitive_payloads_the_decoder_does_not_take_go_to_the_general_path(schema: Schema, payload: bytes) -> None:
    with pytest.raises(DECODER_REFUSALS):
        payload_decoder(schema)(payload)


def test_specialised_writers_write_what_the_general_path_writes() -> None:
    write = payload_writer(PLAIN, numeric_decimals=False, replace_null=True)
    full = Struct.from_values(PLAIN, [1, 2, True, 1.5, "a"])
    written = dump_json(write(full))
    assert written == dump_json(value_to_json(PLAIN, full)) == b'{"id":1,"n":2,"ok":true,"x":1.5,"s":"a"}'
    with pytest.raises(DataError, match="null value for a required"):
        write(Struct(PLAIN, {"id": 1}))  # a null field takes the general path and its error
    key = payload_writer(INT8_SCHEMA, numeric_decimals=False, replace_null=True)
    assert key(5) == 5
    with pytest.raises(DataError):
        key(1000)
    with pytest.raises(DataError):
        key(True)


ADDRESS = struct_schema([("city", STRING_SCHEMA), ("zip", OPTIONAL_STRING_SCHEMA)], name="address", optional=True)
RICH = struct_schema(
    [
        ("id", INT64_SCHEMA),
        ("price", decimal_schema(2)),
        ("at", timestamp_schema()),
        ("day", date_schema(optional=True)),
        ("time", time_schema(optional=True)),
        ("blob", BYTES_SCHEMA.as_optional()),
        ("tags", array_schema(STRING_SCHEMA, optional=True)),
        ("attrs", map_schema(STRING_SCHEMA, INT32_SCHEMA, optional=True)),
        ("address", ADDRESS),
        ("note", OPTIONAL_STRING_SCHEMA.with_default("none")),
        ("ratio", FLOAT64_SCHEMA),
    ],
    name="rich",
)
AT = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC)
RICH_VALUES = [
    Struct.from_values(
        RICH,
        [
            1,
            decimal.Decimal("12.34"),
            AT,
            dt.date(2024, 5, 6),
            dt.time(1, 2, 3),
            b"\x00\x01",
            ["a"],
            {"x": 1},
            Struct.from_values(ADDRESS, ["Oslo", None]),
            "n",
            0.5,
        ],
    ),
    Struct.from_values(RICH, [2, decimal.Decimal("-0.01"), AT, None, None, None, None, None, None, None, 2.0]),
]


@pytest.mark.parametrize("numeric", [False, True])
@pytest.mark.parametrize("value", RICH_VALUES)
def test_structs_with_logical_types_write_and_read_as_the_general_path_does(value: Struct, numeric: bool) -> None:
    written = dump_json(payload_writer(RICH, numeric_decimals=numeric, replace_null=True)(value))
    assert written == dump_json(value_to_json(RICH, value, numeric_decimals=numeric))
    node = orjson.loads(written)
    read = payload_reader(RICH)(node)
    assert read == value_from_json(RICH, node)
    assert read.get("price") == value.get("price") and read.get("at") == AT  # noqa: PT018
    assert read.get("note") == (value.get("note") or "none")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price": "%%%"}, "invalid"),
        ({"at": "yesterday"}, "integer"),
        ({"time": 90_000_000}, "Time must be"),
        ({"id": None}, "null"),
        ({"address": {"zip": "1"}}, "null"),
        ({"ratio": True}, "number"),
    ],
)
def test_logical_values_the_reader_refuses_get_the_general_paths_error(change: dict[str, object], message: str) -> None:
    node = orjson.loads(orjson.dumps(value_to_json(RICH, RICH_VALUES[0])))
    with pytest.raises(DataError, match=message):
        payload_reader(RICH)({**node, **change})


def test_the_writer_refuses_what_the_general_path_refuses() -> None:
    write = payload_writer(RICH, numeric_decimals=False, replace_null=True)
    missing = Struct(RICH, {"id": 1, "at": AT, "ratio": 1.0})  # price is required
    with pytest.raises(DataError, match="null value for a required"):
        write(missing)
    bad_time = Struct.from_values(
        RICH, [*RICH_VALUES[1].raw_values()[:2], "not a datetime", *RICH_VALUES[1].raw_values()[3:]]
    )
    with pytest.raises(DataError):
        write(bad_time)


class _Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        {"id": 1, "name": "ä ✓", "tags": ["a", None, True], "nested": {"x": 1.5, "y": [{"z": -0.0}]}},
        {"blob": b"\x00\xff", "amount": decimal.Decimal("123.45"), "big": decimal.Decimal("1E+30")},
        {"pairs": {1: "one", 2: "two"}},  # a map with other than string keys: an array of pairs
        {"huge": 2**70, "tuple": (1, 2), "nan": float("nan")},
        {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "colour": _Colour.RED},
        [1, "two", 3.0],
        "text",
    ],
)
@pytest.mark.parametrize("schemas", ["true", "false"])
def test_schemaless_values_are_written_as_the_general_codec_writes_them(value: Any, schemas: str) -> None:
    converter = JsonConverter()
    converter.configure({"schemas.enable": schemas})
    written = converter.from_connect("t", None, value)
    payload = json.loads(written)["payload"] if schemas == "true" else json.loads(written)
    assert payload == json.loads(dump_json(schemaless_to_json(value)))
    assert json.loads(dump_schemaless(value)) == payload


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, "cannot write a datetime as schemaless JSON"),
        ({"d": decimal.Decimal("NaN")}, "cannot write the decimal NaN as JSON"),
    ],
)
def test_schemaless_values_json_cannot_hold_are_refused_by_name(value: Any, problem: str) -> None:
    converter = JsonConverter()
    converter.configure({"schemas.enable": "false"})
    with pytest.raises(DataError, match=problem):
        converter.from_connect("t", None, value)
