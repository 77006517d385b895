"""Forged record batches a careless or hostile client could send: a valid header and CRC around a body that is not
what the header says (garbage, truncated, fewer or more records, wrong offset deltas)."""

from __future__ import annotations

import struct

import crc32c

from hub.log.batch import HEADER_SIZE
from hub.log.compression import Compression, compress
from hub.log.records import NewRecord, encode_batch

CODECS = [Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD]


def records(count: int) -> list[NewRecord]:
    return [NewRecord(b"k%d" % i, b"value-%d" % i * 20, timestamp=1000 + i) for i in range(count)]


def forge(
    batch: bytes, *, body: bytes | None = None, records_count: int | None = None, last_offset_delta: int | None = None
) -> bytes:
    """``batch`` with its body, record count or last offset delta replaced, and a CRC that matches."""
    out = bytearray(batch[:HEADER_SIZE] + (batch[HEADER_SIZE:] if body is None else body))
    struct.pack_into(">i", out, 8, len(out) - 12)
    if records_count is not None:
        struct.pack_into(">i", out, 57, records_count)
    if last_offset_delta is not None:
        struct.pack_into(">i", out, 23, last_offset_delta)
    struct.pack_into(">I", out, 17, crc32c.crc32c(bytes(out[21:])))
    return bytes(out)


def garbage_body(kind: Compression) -> bytes:
    """A batch flagged ``kind`` whose body is not data of that codec."""
    return forge(encode_batch(records(3), compression=kind), body=b"this is not compressed data at all" * 3)


def truncated_body(kind: Compression) -> bytes:
    """A batch whose compressed body lost its second half."""
    batch = encode_batch(records(50), compression=kind)
    body = batch[HEADER_SIZE:]
    return forge(batch, body=body[: len(body) // 2])


def count_mismatch(kind: Compression) -> bytes:
    """A header claiming 2 records (offset deltas 0-1) around a valid compressed body of 3."""
    return forge(encode_batch(records(3), compression=kind), records_count=2, last_offset_delta=1)


def repeated_offset_deltas(kind: Compression) -> bytes:
    """Three well-formed records that all carry offset delta 0."""
    payload = b"".join(encode_batch([record], compression=Compression.NONE)[HEADER_SIZE:] for record in records(3))
    return forge(encode_batch(records(3), compression=kind), body=compress(kind, payload))


POISONS = {
    "garbage": garbage_body,
    "truncated": truncated_body,
    "count_mismatch": count_mismatch,
    "repeated_offset_deltas": repeated_offset_deltas,
}
