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
from typing import Any

import cramjam

from hub.log.errors import InvalidBatchError

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = 16
_INT32 = struct.Struct(">i")
_FIRST_GUESS_BYTES = 64 << 10
_OUTPUT_TOO_SMALL = "failed to write whole buffer"  # cramjam's error when decompress_into runs out of room


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


def decompress(kind: Compression, data: bytes | bytearray | memoryview, *, limit: int | None = None) -> bytes:
    """Decompress ``data``; InvalidBatchError naming the codec when the bytes are not valid for it.

    With ``limit``, output beyond ``limit`` bytes is never produced (a few compressed bytes can stand for
    gigabytes): gzip, lz4 and zstd decompress into buffers growing fourfold from a guess up to ``limit``, snappy
    checks the length each block declares; more than ``limit`` is refused like invalid data."""
    if kind is Compression.NONE:
        return bytes(data)
    try:
        if kind is Compression.SNAPPY:
            return _snappy_decompress(memoryview(data), limit)
        module = {Compression.GZIP: cramjam.gzip, Compression.LZ4: cramjam.lz4, Compression.ZSTD: cramjam.zstd}[kind]
        if limit is None:
            return bytes(module.decompress(data))
        return _decompress_bounded(module, data, limit)
    except cramjam.DecompressionError as exc:
        bound = "" if limit is None else f" (or they hold more than {limit} bytes)"
        raise InvalidBatchError(f"cannot decompress {kind.name.lower()} records: {exc}{bound}") from None


def _decompress_bounded(module: Any, data: bytes | bytearray | memoryview, limit: int) -> bytes:
    size = min(limit, max(_FIRST_GUESS_BYTES, 16 * len(data)))
    while True:
        out = bytearray(size)
        try:
            written = module.decompress_into(data, out)
        except cramjam.DecompressionError as exc:
            # Only an output that did not fit is worth a larger buffer; corrupt data is refused at once, so it
            # cannot make the broker allocate up to the limit (test_compression checks the message still reads so).
            if size >= limit or _OUTPUT_TOO_SMALL not in str(exc):
                raise
            size = min(limit, size * 4)
            continue
        del out[written:]
        return bytes(out)


def _snappy_decompress(data: memoryview, limit: int | None) -> bytes:
    if bytes(data[:8]) != _XERIAL_MAGIC:
        _check_snappy_length(data, limit)
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
        block = data[position : position + length]
        _check_snappy_length(block, None if limit is None else limit - len(out))
        out += cramjam.snappy.decompress_raw(block)
        position += length
    return bytes(out)


def _check_snappy_length(block: memoryview, limit: int | None) -> None:
    """Refuse a raw snappy block whose declared length (its first varint) exceeds ``limit``, before inflating it."""
    if limit is not None and cramjam.snappy.decompress_raw_len(block) > limit:
        raise InvalidBatchError(f"snappy records hold more than {limit} bytes")
