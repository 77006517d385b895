"""StringConverter and ByteArrayConverter."""

from __future__ import annotations

import pytest

from hub.runtime.converters import ByteArrayConverter, StringConverter
from hub.sdk.errors import DataError
from hub.sdk.schema import INT32_SCHEMA, OPTIONAL_BYTES_SCHEMA, OPTIONAL_STRING_SCHEMA


def test_string_converter_round_trip_and_encoding() -> None:
    converter = StringConverter()
    assert converter.from_connect("t", None, "héllo") == "héllo".encode()
    assert converter.from_connect("t", INT32_SCHEMA, 42) == b"42"
    assert converter.to_connect("t", "héllo".encode()) == (OPTIONAL_STRING_SCHEMA, "héllo")
    assert converter.from_connect("t", None, None) is None
    latin = StringConverter()
    latin.configure({"converter.encoding": "ISO-8859-1"})
    assert latin.from_connect("t", None, "é") == b"\xe9"
    with pytest.raises(DataError, match="not utf-8"):
        converter.to_connect("t", b"\xff\xfe")
    with pytest.raises(DataError, match=r"unknown converter\.encoding"):
        StringConverter().configure({"converter.encoding": "klingon"})


def test_byte_array_converter_passes_bytes_through() -> None:
    converter = ByteArrayConverter()
    assert converter.from_connect("t", OPTIONAL_BYTES_SCHEMA, b"\x00\xff") == b"\x00\xff"
    assert converter.to_connect("t", b"\x01") == (OPTIONAL_BYTES_SCHEMA, b"\x01")
    assert converter.to_connect("t", None) == (None, None)
    with pytest.raises(DataError, match="needs bytes"):
        converter.from_connect("t", None, "text")
    with pytest.raises(DataError, match="needs a BYTES schema"):
        converter.from_connect("t", INT32_SCHEMA, b"x")
