"""Confluent's wire format for records written against a schema registry.

Byte layout of a framed message::

    offset 0      magic byte, always 0
    offset 1..4   the schema id, 32-bit big-endian (signed, as Java writes it; ids are positive)
    offset 5..    Avro / JSON: the payload
                  Protobuf: the message indexes, then the payload

Protobuf's message indexes locate the message type inside the schema's file: a zig-zag varint count followed by
that many zig-zag varint indexes (the top-level message's position, then each nested position). The common case,
the first top-level message ``[0]``, is written as the single byte 0 instead of ``1, 0``.

Pure functions; safe from any thread.
"""

from __future__ import annotations

import struct

from hub.sdk.errors import DataError

MAGIC_BYTE = 0
HEADER_BYTES = 5
_HEADER = struct.Struct(">bI")


def frame(schema_id: int, payload: bytes) -> bytes:
    """The magic byte and schema id, then ``payload``."""
    return _HEADER.pack(MAGIC_BYTE, schema_id) + payload


def unframe(topic: str, data: bytes) -> tuple[int, memoryview]:
    """The schema id and the rest of the message; DataError when the bytes are not Confluent's format."""
    if len(data) < HEADER_BYTES:
        raise DataError(
            f"record of topic {topic!r} is {len(data)} bytes: too short for the schema registry's 5-byte header"
        )
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise DataError(f"Unknown magic byte {magic} in a record of topic {topic!r} (expected {MAGIC_BYTE})")
    return schema_id, memoryview(data)[HEADER_BYTES:]


def _zigzag_varint(value: int) -> bytes:
    number = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_zigzag_varint(data: memoryview, position: int) -> tuple[int, int]:
    shift = number = 0
    while True:
        if position >= len(data) or shift > 63:
            raise DataError("truncated or overlong varint in a Protobuf record's message indexes")
        byte = data[position]
        position += 1
        number |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (number >> 1) ^ -(number & 1), position


def encode_message_indexes(indexes: list[int]) -> bytes:
    """Protobuf's message-index prefix (``[0]`` is the single byte 0)."""
    if indexes == [0]:
        return b"\x00"
    return _zigzag_varint(len(indexes)) + b"".join(_zigzag_varint(index) for index in indexes)


def decode_message_indexes(data: memoryview) -> tuple[list[int], memoryview]:
    """The message indexes at the start of ``data`` and the Protobuf payload after them."""
    count, position = _read_zigzag_varint(data, 0)
    if count == 0:
        return [0], data[position:]
    if count < 0 or count > len(data):
        raise DataError(f"invalid message-index count {count} in a Protobuf record")
    indexes = []
    for _ in range(count):
        index, position = _read_zigzag_varint(data, position)
        indexes.append(index)
    return indexes, data[position:]
