"""The record batch compression codecs Kafka producers use: gzip, snappy, lz4 and zstd (via cramjam).

Formats: gzip is RFC 1952; lz4 is the LZ4 frame format; zstd is a standard zstd frame; snappy is written as one
raw snappy block (as librdkafka writes it) and read either raw or in the xerial/snappy-java framing that the Java
client, kafka-python and aiokafka write::

    b"\\x82SNAPPY\\x00"  int32 version  int32 compatible-version  ( int32 block-length  raw-snappy-block )*

Pure functions; thread-safe.
"""

from __future__ import annotations

import struct
from enum import IntEnum

import cramjam

from hub.log.errors import InvalidBatchError

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = 16
_INT32 = struct.Struct(">i")


class Compression(IntEnum):
    """Codec ids as stored in bits 0-2 of a batch's attributes."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


def codec(codec_id: int) -> Compression:
    """The codec for an attributes value; InvalidBatchError for ids 5-7."""
    try:
        return Compression(codec_id)
    except ValueError:
        raise InvalidBatchError(f"unknown compression codec id {codec_id}") from None


def compress(kind: Compression, data: bytes | bytearray | memoryview) -> bytes:
    """Compress ``data`` with ``kind`` (NONE returns it unchanged)."""
    if kind is Compression.NONE:
        return bytes(data)
    if kind is Compression.GZIP:
        return bytes(cramjam.gzip.compress(data))
    if kind is Compression.SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if kind is Compression.LZ4:
        return bytes(cramjam.lz4.compress(data))
    return bytes(cramjam.zstd.compress(data))


def decompress(kind: Compression, data: bytes | bytearray | memoryview) -> bytes:
    """Decompress ``data``; InvalidBatchError naming the codec when the bytes are not valid for it."""
    if kind is Compression.NONE:
        return bytes(data)
    try:
        if kind is Compression.GZIP:
            return bytes(cramjam.gzip.decompress(data))
        if kind is Compression.SNAPPY:
            return _snappy_decompress(memoryview(data))
        if kind is Compression.LZ4:
            return bytes(cramjam.lz4.decompress(data))
        return bytes(cramjam.zstd.decompress(data))
    except cramjam.DecompressionError as exc:
        raise InvalidBatchError(f"cannot decompress {kind.name.lower()} records: {exc}") from None


def _snappy_decompress(data: memoryview) -> bytes:
    if bytes(data[:8]) != _XERIAL_MAGIC:
        return bytes(cramjam.snappy.decompress_raw(data))
    out = bytearray()
    position = _XERIAL_HEADER
    while position < len(data):
        if position + 4 > len(data):
            raise InvalidBatchError("truncated xerial snappy block length")
        (length,) = _INT32.unpack_from(data, position)
        position += 4
        if length < 0 or position + length > len(data):
            raise InvalidBatchError(f"xerial snappy block of {length} bytes overruns the data")
        out += cramjam.snappy.decompress_raw(data[position : position + length])
        position += length
    return bytes(out)
