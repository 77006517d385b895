"""Record-level encoding and decoding of Kafka RecordBatch v2, for in-process use (clients, cleaner, groups).

The append and fetch paths never come here: they move whole batches (hub.log.batch). This module builds batches
from records and reads records out of batches.

Record layout inside a batch (after decompression), varints zig-zag encoded as in protobuf::

    length varint | attributes int8 (0) | timestamp_delta varlong | offset_delta varint
    | key_length varint (-1 = null) | key | value_length varint (-1 = null: a tombstone) | value
    | header_count varint | ( key_length varint | key utf-8 | value_length varint | value )*

Timestamps are stored as deltas from the batch's base timestamp field; when a log cleaner sets the delete horizon
(attribute bit 6, KIP-534) that field holds the horizon and the deltas are relative to it.

Pure functions and immutable values; thread-safe.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import crc32c

from hub.log.batch import (
    ATTR_CONTROL,
    ATTR_DELETE_HORIZON,
    ATTR_TIMESTAMP_TYPE,
    ATTR_TRANSACTIONAL,
    HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC,
    BatchHeader,
    validate_batch,
)
from hub.log.compression import Compression, codec, compress, decompress
from hub.log.errors import InvalidBatchError

_HEADER_AFTER_CRC = struct.Struct(">hiqqqhii")


@dataclass(frozen=True, slots=True)
class Header:
    """A record header: a UTF-8 key and bytes (or null)."""

    key: str
    value: bytes | None


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record to encode; its offset is its position in the batch. ``timestamp`` None means now."""

    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """A record with its absolute offset and timestamp (milliseconds since the epoch)."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()

    @property
    def is_tombstone(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A batch's header and its records."""

    header: BatchHeader
    records: list[Record]


def _zigzag_bytes(out: bytearray, value: int) -> None:
    encoded = (value << 1) ^ (value >> 63)
    while encoded >= 0x80:
        out.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    out.append(encoded)


def read_varint(buf: bytes, position: int) -> tuple[int, int]:
    """The zig-zag varint at ``position`` and the position after it; InvalidBatchError when it runs off the end."""
    result = 0
    shift = 0
    while True:
        try:
            byte = buf[position]
        except IndexError:
            raise InvalidBatchError("record data ends inside a varint") from None
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), position
        shift += 7
        if shift > 63:
            raise InvalidBatchError("varint longer than 10 bytes in record data")


def _encode_record(out: bytearray, offset_delta: int, timestamp_delta: int, record: NewRecord | Record) -> None:
    body = bytearray(b"\x00")
    _zigzag_bytes(body, timestamp_delta)
    _zigzag_bytes(body, offset_delta)
    for blob in (record.key, record.value):
        if blob is None:
            body.append(1)  # zig-zag of -1
        else:
            _zigzag_bytes(body, len(blob))
            body += blob
    _zigzag_bytes(body, len(record.headers))
    for header in record.headers:
        key = header.key.encode()
        _zigzag_bytes(body, len(key))
        body += key
        if header.value is None:
            body.append(1)
        else:
            _zigzag_bytes(body, len(header.value))
            body += header.value
    _zigzag_bytes(out, len(body))
    out += body


def encode_batch(
    records: Sequence[NewRecord | Record],
    *,
    base_offset: int = 0,
    compression: Compression = Compression.NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    timestamp_type: int = 0,
    transactional: bool = False,
    control: bool = False,
    partition_leader_epoch: int = -1,
    last_offset_delta: int | None = None,
    delete_horizon_ms: int | None = None,
) -> bytes:
    """Build one RecordBatch v2 with a valid CRC.

    A NewRecord's offset is ``base_offset`` + its index; a Record keeps its own offset (so a cleaner can write a
    filtered batch with gaps). ``last_offset_delta`` keeps a batch's original last offset (it must cover every
    record); an empty batch is allowed only with it, as a cleaner keeps one for producer state.
    """
    if not records and last_offset_delta is None:
        raise ValueError("an empty batch needs last_offset_delta")
    now = int(time.time() * 1000)
    stamped: list[tuple[int, int, NewRecord | Record]] = []
    for index, record in enumerate(records):
        if isinstance(record, Record):
            delta = record.offset - base_offset
            timestamp = record.timestamp
        else:
            delta = index
            timestamp = now if record.timestamp is None else record.timestamp
        if stamped and delta <= stamped[-1][0]:
            raise ValueError(f"record offsets must increase; offset delta {delta} follows {stamped[-1][0]}")
        if delta < 0:
            raise ValueError(f"record offset {base_offset + delta} is below base offset {base_offset}")
        stamped.append((delta, timestamp, record))
    last_delta = stamped[-1][0] if stamped else 0
    if last_offset_delta is not None:
        if last_offset_delta < last_delta:
            raise ValueError(f"last_offset_delta {last_offset_delta} is below the last record's delta {last_delta}")
        last_delta = last_offset_delta
    timestamps = [timestamp for _, timestamp, _ in stamped]
    first_timestamp = timestamps[0] if timestamps else -1
    max_timestamp = max(timestamps) if timestamps else -1
    base_timestamp = first_timestamp if delete_horizon_ms is None else delete_horizon_ms
    payload = bytearray()
    for delta, timestamp, record in stamped:
        _encode_record(payload, delta, timestamp - base_timestamp, record)
    body = compress(compression, payload) if compression is not Compression.NONE else bytes(payload)
    attributes = int(compression)
    if timestamp_type:
        attributes |= ATTR_TIMESTAMP_TYPE
    if transactional:
        attributes |= ATTR_TRANSACTIONAL
    if control:
        attributes |= ATTR_CONTROL
    if delete_horizon_ms is not None:
        attributes |= ATTR_DELETE_HORIZON
    after_crc = _HEADER_AFTER_CRC.pack(
        attributes, last_delta, base_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, len(stamped)
    )
    crc = crc32c.crc32c(body, crc32c.crc32c(after_crc))
    batch_length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    return struct.pack(">qiibI", base_offset, batch_length, partition_leader_epoch, MAGIC, crc) + after_crc + body


def decode_batch(buf: bytes | bytearray | memoryview, position: int = 0) -> DecodedBatch:
    """Validate the batch at ``position`` and decode all its records; InvalidBatchError names any problem."""
    header = validate_batch(buf, position)
    body = memoryview(buf)[position + HEADER_SIZE : position + header.size]
    data = decompress(codec(header.compression), body)
    records: list[Record] = []
    cursor = 0
    end = len(data)
    base_offset = header.base_offset
    base_timestamp = header.base_timestamp
    for index in range(header.records_count):
        length, cursor = read_varint(data, cursor)
        record_end = cursor + length
        if length < 0 or record_end > end:
            raise InvalidBatchError(f"record {index} of the batch at offset {base_offset} overruns its batch")
        cursor += 1  # attributes
        timestamp_delta, cursor = read_varint(data, cursor)
        offset_delta, cursor = read_varint(data, cursor)
        key_length, cursor = read_varint(data, cursor)
        key = None
        if key_length >= 0:
            key = data[cursor : cursor + key_length]
            cursor += key_length
        value_length, cursor = read_varint(data, cursor)
        value = None
        if value_length >= 0:
            value = data[cursor : cursor + value_length]
            cursor += value_length
        header_count, cursor = read_varint(data, cursor)
        headers: list[Header] = []
        for _ in range(header_count):
            header_key_length, cursor = read_varint(data, cursor)
            header_key = data[cursor : cursor + header_key_length]
            cursor += header_key_length
            header_value_length, cursor = read_varint(data, cursor)
            header_value = None
            if header_value_length >= 0:
                header_value = data[cursor : cursor + header_value_length]
                cursor += header_value_length
            try:
                headers.append(Header(header_key.decode(), header_value))
            except UnicodeDecodeError:
                raise InvalidBatchError(f"record {index} has a header key that is not UTF-8") from None
        if cursor != record_end:
            raise InvalidBatchError(
                f"record {index} of the batch at offset {base_offset} declares {length} bytes "
                f"but its fields take {length + cursor - record_end}"
            )
        if not 0 <= offset_delta <= header.last_offset_delta:
            raise InvalidBatchError(f"record {index} has offset delta {offset_delta} outside its batch")
        records.append(Record(base_offset + offset_delta, base_timestamp + timestamp_delta, key, value, tuple(headers)))
    if cursor != end:
        raise InvalidBatchError(
            f"batch at offset {base_offset} has {end - cursor} bytes after its {header.records_count} records"
        )
    return DecodedBatch(header, records)


def iter_decoded(buf: bytes | bytearray | memoryview) -> Iterator[DecodedBatch]:
    """Decode each batch of a buffer of concatenated batches."""
    position = 0
    while position < len(buf):
        decoded = decode_batch(buf, position)
        yield decoded
        position += decoded.header.size


def iter_records(buf: bytes | bytearray | memoryview, *, include_control: bool = False) -> Iterator[Record]:
    """Every record of a buffer of concatenated batches, in offset order (control records only on request)."""
    for decoded in iter_decoded(buf):
        if decoded.header.is_control and not include_control:
            continue
        yield from decoded.records
