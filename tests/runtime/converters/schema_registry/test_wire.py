"""Confluent's wire format: the 5-byte header and Protobuf's message indexes."""

from __future__ import annotations

import pytest

from hub.runtime.converters.schema_registry.wire import (
    decode_message_indexes,
    encode_message_indexes,
    frame,
    unframe,
)
from hub.sdk.errors import DataError


def test_frame_is_magic_zero_then_big_endian_id() -> None:
    assert frame(258, b"x") == b"\x00\x00\x00\x01\x02x"
    schema_id, payload = unframe("t", frame(2**31 - 1, b"abc"))
    assert (schema_id, bytes(payload)) == (2**31 - 1, b"abc")


def test_unframe_refuses_other_magic_bytes_and_short_records() -> None:
    with pytest.raises(DataError, match="Unknown magic byte 1"):
        unframe("t", b"\x01\x00\x00\x00\x01")
    with pytest.raises(DataError, match="too short"):
        unframe("t", b"\x00\x00")


@pytest.mark.parametrize(
    ("indexes", "encoded"),
    [([0], b"\x00"), ([1], b"\x02\x02"), ([0, 2], b"\x04\x00\x04"), ([70], b"\x02\x8c\x01")],
)
def test_message_indexes_are_zigzag_varints_with_a_short_form_for_the_first_message(
    indexes: list[int], encoded: bytes
) -> None:
    assert encode_message_indexes(indexes) == encoded
    decoded, rest = decode_message_indexes(memoryview(encoded + b"payload"))
    assert (decoded, bytes(rest)) == (indexes, b"payload")


def test_truncated_message_indexes_are_a_data_error() -> None:
    with pytest.raises(DataError, match="varint"):
        decode_message_indexes(memoryview(b"\x04\x80"))
