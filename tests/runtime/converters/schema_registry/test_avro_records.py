"""avro_records against the datum path it replaces (avro_values with fastavro's public writer and reader): the
same bytes and the same Structs, the same errors, and no encoder where the record's fields are not the struct's."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest

from hub.runtime.converters.schema_registry.avro_codec import public_codec
from hub.runtime.converters.schema_registry.avro_records import record_decoder, record_encoder
from hub.runtime.converters.schema_registry.avro_schemas import to_avro_schema
from hub.runtime.converters.schema_registry.avro_to_connect import to_connect_schema
from hub.runtime.converters.schema_registry.avro_values import reader, writer
from hub.sdk.errors import DataError
from hub.sdk.schema import FLOAT64_SCHEMA, INT32_SCHEMA, INT64_SCHEMA, STRING_SCHEMA, Schema, struct_schema
from hub.sdk.struct import Struct
from tests.runtime.converters.schema_registry.test_avro_converter import ORDER, order

WITH_DEFAULTS = struct_schema(
    {
        "n": INT64_SCHEMA.with_default(9),
        "label": STRING_SCHEMA.with_default("none"),
        "x": FLOAT64_SCHEMA,
        "inner": ORDER.as_optional(),
    },
    name="shop.Defaults",
)


def parsed_of(schema: Schema) -> Any:
    return fastavro.parse_schema(to_avro_schema(schema, connect_meta_data=True))


def datum_path(schema: Schema, value: Struct) -> bytes:
    return public_codec(parsed_of(schema))[0](b"\x00", writer(schema)(value))


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        (ORDER, order()),
        (WITH_DEFAULTS, Struct.from_values(WITH_DEFAULTS, [None, None, 2, order()])),
        (WITH_DEFAULTS, Struct.from_values(WITH_DEFAULTS, [-(2**63), "é", 0.25, None])),
    ],
    ids=["every-kind", "defaults-and-int-as-double", "extremes"],
)
def test_the_bytes_and_structs_are_those_of_the_datum_path(schema: Schema, value: Struct) -> None:
    parsed = parsed_of(schema)
    encode = record_encoder(schema, parsed)
    assert encode is not None
    written = encode(b"\x00", value)
    assert written == datum_path(schema, value)

    read_schema = to_connect_schema(to_avro_schema(schema, connect_meta_data=True), connect_meta_data=True)
    decode = record_decoder(read_schema, parsed)
    assert decode is not None
    expected = reader(read_schema)(public_codec(parsed)[1](io.BytesIO(written[1:])))
    got = decode(io.BytesIO(written[1:]))
    assert got == expected
    assert got.schema is read_schema


def test_a_value_that_is_not_a_struct_or_does_not_fit_fails_as_fastavro_fails() -> None:
    schema = struct_schema({"a": INT32_SCHEMA}, name="R")
    encode = record_encoder(schema, parsed_of(schema))
    assert encode is not None
    with pytest.raises(DataError, match="needs a Struct"):
        encode(b"", {"a": 1})
    with pytest.raises(TypeError):
        encode(b"", Struct.from_values(schema, ["not a number"]))
    with pytest.raises(TypeError):
        encode(b"", Struct.from_values(schema, [None]))


def test_truncated_data_fails_as_fastavros_reader_fails() -> None:
    schema = struct_schema({"a": INT64_SCHEMA, "s": STRING_SCHEMA, "x": FLOAT64_SCHEMA}, name="R")
    parsed = parsed_of(schema)
    encode, decode = record_encoder(schema, parsed), record_decoder(schema, parsed)
    assert encode is not None
    assert decode is not None
    data = encode(b"", Struct.from_values(schema, [2**40, "text", 1.5]))
    public_decode = public_codec(parsed)[1]
    for end in (0, 3, 7, len(data) - 1):
        with pytest.raises(Exception) as public:  # whichever fastavro raises: the same class
            public_decode(io.BytesIO(data[:end]))
        with pytest.raises(type(public.value)):
            decode(io.BytesIO(data[:end]))


def test_no_encoder_where_the_record_is_not_the_structs() -> None:
    schema = struct_schema({"a": INT32_SCHEMA, "b": INT32_SCHEMA}, name="R")
    swapped = fastavro.parse_schema(
        {"type": "record", "name": "R", "fields": [{"name": "b", "type": "int"}, {"name": "a", "type": "int"}]}
    )
    assert record_encoder(schema, swapped) is None
    assert record_decoder(schema, swapped) is None
    assert record_encoder(INT32_SCHEMA, parsed_of(INT32_SCHEMA)) is None
    assert record_decoder(INT32_SCHEMA, "int") is None
