"""Object formats and the spill buffer: bytes written, read back, type mapping, determinism (no server needed)."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import io
import json
from typing import Any

import fastavro
import pyarrow.parquet as pq
import pytest
from fastavro.validation import ValidationError

from connectors.s3.avro_format import avro_schema
from connectors.s3.buffer import SpillBuffer
from connectors.s3.formats import Format, make_format
from connectors.s3.settings import FormatSettings, SinkSettings
from hub.sdk import Schema, Struct
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    BOOLEAN_SCHEMA,
    BYTES_SCHEMA,
    FLOAT32_SCHEMA,
    FLOAT64_SCHEMA,
    INT8_SCHEMA,
    INT16_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)
from tests.connectors.s3.conftest import AVRO, BYTES, JSON, PARQUET

ADDRESS = struct_schema([("city", STRING_SCHEMA), ("zip", OPTIONAL_STRING_SCHEMA)], name="shop.Address")
EVERYTHING = struct_schema(
    [
        ("i8", INT8_SCHEMA),
        ("i16", INT16_SCHEMA),
        ("i32", INT32_SCHEMA),
        ("i64", INT64_SCHEMA),
        ("f32", FLOAT32_SCHEMA),
        ("f64", FLOAT64_SCHEMA),
        ("flag", BOOLEAN_SCHEMA),
        ("text", STRING_SCHEMA),
        ("blob", BYTES_SCHEMA),
        ("note", OPTIONAL_STRING_SCHEMA),
        ("price", decimal_schema(2)),
        ("day", date_schema()),
        ("clock", time_schema()),
        ("at", timestamp_schema()),
        ("tags", array_schema(STRING_SCHEMA)),
        ("counts", map_schema(STRING_SCHEMA, INT32_SCHEMA)),
        ("by_id", map_schema(INT32_SCHEMA, STRING_SCHEMA)),
        ("address", ADDRESS.as_optional()),
    ],
    name="shop.Order",
    version=2,
)


def everything(n: int) -> Struct:
    return Struct(
        EVERYTHING,
        {
            "i8": -n % 100,
            "i16": 300 + n,
            "i32": 70_000 + n,
            "i64": 2**40 + n,
            "f32": 1.5,
            "f64": n / 3,
            "flag": n % 2 == 0,
            "text": f"order {n}",
            "blob": bytes([n % 256, 0, 255]),
            "note": None if n % 2 else "hi",
            "price": decimal.Decimal("12.30") + n,
            "day": dt.date(2024, 5, 5),
            "clock": dt.time(13, 30, 15, 250_000),
            "at": dt.datetime(2024, 5, 5, 13, 30, n % 60, tzinfo=dt.UTC),
            "tags": ["a", f"t{n}"],
            "counts": {"x": n},
            "by_id": {n: "one"},
            "address": Struct(ADDRESS.as_optional(), {"city": "Lyon", "zip": None}) if n % 3 else None,
        },
    )


def object_format(format_class: str, **options: str) -> Format:
    settings = SinkSettings.parse({"s3.bucket.name": "b", "flush.size": "1", "format.class": format_class, **options})
    return make_format(settings.format)


def write(fmt: Format, schema: Schema | None, values: list[Any], key: str = "k", batches: int = 2) -> bytes:
    buffer = SpillBuffer(1 << 20)
    writer = fmt.writer(buffer, schema, key)
    size = max(1, len(values) // batches)
    for start in range(0, len(values), size):
        writer.write(values[start : start + size])
    writer.finish()
    return bytes(buffer.getvalue())


def read(fmt: Format, data: bytes) -> list[tuple[Schema | None, Any]]:
    return list(fmt.read(io.BytesIO(data)))


# --- JSON --------------------------------------------------------------------------------------------------------


def test_json_lines_are_what_jsonconverter_writes_without_schemas() -> None:
    fmt = object_format(JSON)
    data = write(fmt, EVERYTHING, [everything(4)])
    assert fmt.extension == ".json"
    assert data.count(b"\n") == 1
    assert data.endswith(b"\n")
    assert json.loads(data) == {
        "i8": 96,
        "i16": 304,
        "i32": 70004,
        "i64": 2**40 + 4,
        "f32": 1.5,
        "f64": 4 / 3,
        "flag": True,
        "text": "order 4",
        "blob": "BAD/",
        "note": "hi",
        "price": "Bl4=",
        "day": 19848,
        "clock": 48615250,
        "at": 1714915804000,
        "tags": ["a", "t4"],
        "counts": {"x": 4},
        "by_id": [[4, "one"]],
        "address": {"city": "Lyon", "zip": None},
    }


def test_json_writes_decimals_as_numbers_with_numeric_format_and_reads_lines_back() -> None:
    fmt = object_format(JSON, **{"json.decimal.format": "NUMERIC"})
    data = write(fmt, EVERYTHING, [everything(n) for n in range(5)])
    rows = read(fmt, data)
    assert [row[1]["price"] for row in rows] == [12.3, 13.3, 14.3, 15.3, 16.3]
    assert b'"price":12.30,' in data
    assert all(schema is None for schema, _ in rows)


def test_json_struct_lines_keep_any_field_name_and_match_the_schemaless_encoding() -> None:
    odd = struct_schema(
        [
            ("class", INT32_SCHEMA),
            ("with space", STRING_SCHEMA),
            ("f0", OPTIONAL_STRING_SCHEMA),
            ("ünï", BOOLEAN_SCHEMA),
            ("prices", array_schema(decimal_schema(2))),
            ("inner", ADDRESS),
        ],
        name="odd",
    )
    values = [
        Struct(
            odd,
            {
                "class": n,
                "with space": 'q"\\\n\u2028😀',
                "f0": None,
                "ünï": True,
                "prices": [decimal.Decimal("1.50"), decimal.Decimal(n)],
                "inner": Struct(ADDRESS, {"city": "X"}),
            },
        )
        for n in range(3)
    ]
    numeric = object_format(JSON, **{"json.decimal.format": "NUMERIC"})
    data = write(numeric, odd, values)
    assert data.splitlines()[1] == (
        b'{"class":1,"with space":"q\\"\\\\\\n\xe2\x80\xa8\xf0\x9f\x98\x80","f0":null,"\xc3\xbcn\xc3\xaf":true,'
        b'"prices":[1.50,1],"inner":{"city":"X","zip":null}}'
    )
    fmt = object_format(JSON)
    assert write(fmt, odd, values) == write(fmt, None, values), "compiled struct lines = the general path's lines"


def test_json_without_schema_writes_plain_values_and_gzip_is_deterministic() -> None:
    fmt = object_format(JSON, **{"s3.compression.type": "gzip"})
    values = [{"id": n, "when": dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC), "raw": b"\x01"} for n in range(50)]
    data = write(fmt, None, values)
    assert fmt.extension == ".json.gz"
    assert data == write(fmt, None, values, batches=7), "the same values give the same bytes"
    assert json.loads(gzip.decompress(data).splitlines()[3]) == {"id": 3, "when": 1000, "raw": "AQ=="}
    assert [value["id"] for _, value in read(fmt, data)] == list(range(50))


def test_a_json_batch_with_a_value_that_cannot_be_written_writes_nothing() -> None:
    fmt = object_format(JSON)
    buffer = SpillBuffer(1024)
    writer = fmt.writer(buffer, None, "k")
    with pytest.raises(TypeError):
        writer.write([{"ok": 1}, {"bad": object()}])
    assert buffer.size == 0


# --- ByteArray ---------------------------------------------------------------------------------------------------


def test_bytearray_writes_values_with_the_separator_and_splits_them_back() -> None:
    fmt = object_format(BYTES, **{"format.bytearray.separator": "|", "format.bytearray.extension": ".txt"})
    data = write(fmt, BYTES_SCHEMA, [b"a", b"bb", b"ccc"])
    assert data == b"a|bb|ccc|"
    assert fmt.extension == ".txt"
    assert read(fmt, data) == [(BYTES_SCHEMA, b"a"), (BYTES_SCHEMA, b"bb"), (BYTES_SCHEMA, b"ccc")]


def test_bytearray_default_separator_is_a_newline_and_gzip_adds_gz() -> None:
    fmt = object_format(BYTES, **{"s3.compression.type": "gzip"})
    data = write(fmt, None, [b"one", b"two"])
    assert fmt.extension == ".bin.gz"
    assert gzip.decompress(data) == b"one\ntwo\n"
    with pytest.raises(DataError, match="ByteArrayConverter"):
        fmt.writer(SpillBuffer(10), None, "k").write(["text"])


# --- Avro --------------------------------------------------------------------------------------------------------


def test_avro_schema_follows_confluents_avrodata_mapping() -> None:
    schema = avro_schema(EVERYTHING)
    fields = {field["name"]: field["type"] for field in schema["fields"]}
    assert schema["name"] == "shop.Order"
    assert schema["connect.version"] == 2
    assert fields["i8"] == {"type": "int", "connect.type": "int8"}
    assert fields["i64"] == "long"
    assert fields["note"] == ["null", "string"]
    assert fields["price"]["logicalType"] == "decimal"
    assert fields["price"]["scale"] == 2
    assert fields["day"]["logicalType"] == "date"
    assert fields["clock"]["logicalType"] == "time-millis"
    assert fields["at"]["logicalType"] == "timestamp-millis"
    assert fields["counts"] == {"type": "map", "values": "int"}
    assert fields["by_id"]["items"]["name"] == "io.confluent.connect.avro.MapEntry"
    assert fields["address"][1]["name"] == "shop.Address"
    unnamed = avro_schema(struct_schema([("a", INT32_SCHEMA), ("b", struct_schema([("c", INT32_SCHEMA)]))]))
    assert unnamed["name"] == "io.confluent.connect.avro.ConnectDefault"
    assert unnamed["fields"][1]["type"]["name"] == "io.confluent.connect.avro.ConnectDefault2"


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "bzip2"])
def test_avro_round_trip_keeps_values_and_connect_schema(codec: str) -> None:
    fmt = object_format(AVRO, **{"avro.codec": codec})
    values = [everything(n) for n in range(20)]
    data = write(fmt, EVERYTHING, values)
    assert fmt.extension == ".avro"
    assert fastavro.reader(io.BytesIO(data)).metadata["avro.codec"] == codec
    rows = read(fmt, data)
    assert [value for _, value in rows] == values
    assert rows[0][0] == EVERYTHING


def test_avro_bytes_depend_only_on_the_values_and_the_object_name() -> None:
    fmt = object_format(AVRO)
    values = [everything(n) for n in range(10)]
    assert write(fmt, EVERYTHING, values, "a") == write(fmt, EVERYTHING, values, "a", batches=3)
    assert write(fmt, EVERYTHING, values, "a") != write(fmt, EVERYTHING, values, "b")


def test_avro_needs_a_schema_and_refuses_a_bad_batch_whole() -> None:
    fmt = object_format(AVRO)
    with pytest.raises(DataError, match="needs records with a value schema"):
        fmt.writer(SpillBuffer(10), None, "k")
    schema = struct_schema([("n", INT8_SCHEMA)])
    buffer = SpillBuffer(1 << 16)
    writer = fmt.writer(buffer, schema, "k")
    before = buffer.size
    with pytest.raises(ValidationError):
        writer.write([Struct.from_values(schema, [1]), Struct.from_values(schema, ["not a number"])])
    writer.write([Struct.from_values(schema, [2])])
    writer.finish()
    assert [value.get("n") for _, value in read(fmt, bytes(buffer.getvalue()))] == [2]
    assert buffer.size > before


# --- Parquet -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "extension"),
    [("snappy", ".snappy.parquet"), ("zstd", ".zstd.parquet"), ("gzip", ".gz.parquet"), ("none", ".parquet")],
)
def test_parquet_round_trip_with_each_codec(codec: str, extension: str) -> None:
    fmt = object_format(PARQUET, **{"parquet.codec": codec})
    values = [everything(n) for n in range(20)]
    data = write(fmt, EVERYTHING, values)
    assert fmt.extension == extension
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert metadata.row_group(0).column(0).compression == ("UNCOMPRESSED" if codec == "none" else codec.upper())
    rows = read(fmt, data)
    assert [value.to_dict() for _, value in rows] == [value.to_dict() for value in values]
    assert rows[0][0] is not None
    assert rows[0][0].name == "shop.Order"
    assert rows[0][0].field("address").schema.name == "shop.Address"


def test_parquet_row_groups_have_a_fixed_number_of_rows_whatever_the_batches() -> None:
    fmt = object_format(PARQUET, **{"hub.s3.parquet.row.group.records": "7"})
    values = [everything(n) for n in range(30)]
    data = write(fmt, EVERYTHING, values, batches=4)
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [7, 7, 7, 7, 2]
    assert data == write(fmt, EVERYTHING, values, batches=9)


def test_parquet_needs_struct_values() -> None:
    with pytest.raises(DataError, match="needs struct values"):
        object_format(PARQUET).writer(SpillBuffer(10), STRING_SCHEMA, "k")


# --- spill buffer ------------------------------------------------------------------------------------------------


def test_spill_buffer_moves_to_a_temporary_file_past_its_threshold_and_reads_back_in_parts() -> None:
    buffer = SpillBuffer(10)
    buffer.write(b"0123456")
    assert not buffer.spilled
    buffer.write(b"789abcdef")
    assert buffer.spilled
    assert buffer.size == 16
    assert bytes(buffer.getvalue()) == b"0123456789abcdef"
    assert [bytes(part) for part in buffer.parts(5)] == [b"01234", b"56789", b"abcde", b"f"]
    buffer.release()
    assert buffer.size == 0


def test_format_settings_know_their_format_short_names() -> None:
    values = {
        "format.class": "ParquetFormat",
        "s3.compression.type": "gzip",
        "s3.compression.level": 5,
        "json.decimal.format": "BASE64",
        "format.bytearray.extension": ".bin",
        "parquet.codec": "UNCOMPRESSED",
    }
    settings = FormatSettings.from_values(values, {})
    assert settings.name == "parquet"
    assert not settings.gzip, "gzip applies to JSON and ByteArray only"
    assert settings.parquet_codec == "none"
