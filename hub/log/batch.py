"""Kafka RecordBatch v2 headers: parse, validate and stamp batches without touching their records.

Byte layout (all integers big-endian; Kafka's ``DefaultRecordBatch``)::

    offset size field
         0    8 base_offset             producers send 0; the log stamps it
         8    4 batch_length            bytes after this field (= total - 12)
        12    4 partition_leader_epoch  stamped by the log; not covered by the CRC
        16    1 magic                   always 2
        17    4 crc                     CRC-32C (Castagnoli) of bytes [21, end)
        21    2 attributes              bits 0-2 codec, 3 timestamp type, 4 transactional,
                                        5 control, 6 has delete horizon
        23    4 last_offset_delta
        27    8 base_timestamp
        35    8 max_timestamp
        43    8 producer_id
        51    2 producer_epoch
        53    4 base_sequence
        57    4 records_count
        61    . records (one compressed blob when the codec is not none)

Because the CRC covers only bytes 21 onwards, stamping ``base_offset`` and
``partition_leader_epoch`` never invalidates a batch: the append path rewrites 12 bytes in place
and stores the rest exactly as the producer sent it.

Everything here is pure and thread-safe.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import crc32c

from hub.log.errors import CorruptBatchError, InvalidBatchError

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # base_offset + batch_length: the bytes not counted by batch_length
MAGIC = 2

ATTR_COMPRESSION_MASK = 0x07
ATTR_TIMESTAMP_TYPE = 0x08
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20
ATTR_DELETE_HORIZON = 0x40

NO_PRODUCER_ID = -1
NO_TIMESTAMP = -1

_HEADER = struct.Struct(">qiibIhiqqqhii")
_BASE_OFFSET = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_LENGTH_PREFIX = struct.Struct(">qi")


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """The 61-byte header of one RecordBatch v2."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Total bytes of the batch, header included."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        """Codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd."""
        return self.attributes & ATTR_COMPRESSION_MASK

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & ATTR_CONTROL)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & ATTR_TRANSACTIONAL)

    @property
    def has_delete_horizon(self) -> bool:
        return bool(self.attributes & ATTR_DELETE_HORIZON)

    @property
    def timestamp_type(self) -> int:
        """0 = CreateTime, 1 = LogAppendTime."""
        return 1 if self.attributes & ATTR_TIMESTAMP_TYPE else 0

    @property
    def last_sequence(self) -> int:
        if self.base_sequence < 0:
            return self.base_sequence
        return (self.base_sequence + self.last_offset_delta) & 0x7FFFFFFF


def parse_header(buf: bytes | bytearray | memoryview, position: int = 0) -> BatchHeader:
    """Read the header of the batch starting at ``position``; checks only that 61 bytes exist."""
    if len(buf) - position < HEADER_SIZE:
        raise InvalidBatchError(
            f"truncated batch header at position {position}: {len(buf) - position} bytes, need {HEADER_SIZE}"
        )
    return BatchHeader(*_HEADER.unpack_from(buf, position))


def validate_batch(buf: bytes | bytearray | memoryview, position: int = 0, *, corrupt: bool = False) -> BatchHeader:
    """Check magic, length, CRC-32C and record count of the batch at ``position``.

    Raises InvalidBatchError (CorruptBatchError when ``corrupt``, for bytes read from disk)
    naming the first problem found.
    """
    error = CorruptBatchError if corrupt else InvalidBatchError
    try:
        header = parse_header(buf, position)
    except InvalidBatchError as exc:
        raise error(str(exc)) from None
    if header.magic != MAGIC:
        raise error(f"unsupported batch magic {header.magic} at position {position} (only v2 is accepted)")
    if header.batch_length < HEADER_SIZE - LOG_OVERHEAD:
        raise error(f"batch length {header.batch_length} at position {position} is shorter than a header")
    end = position + header.size
    if end > len(buf):
        raise error(
            f"truncated batch at position {position}: length field says {header.size} bytes, "
            f"{len(buf) - position} present"
        )
    if header.records_count < 0 or header.last_offset_delta < 0:
        raise error(
            f"batch at position {position} has records_count {header.records_count} and "
            f"last_offset_delta {header.last_offset_delta}"
        )
    if header.records_count > header.last_offset_delta + 1:
        raise error(
            f"batch at position {position} claims {header.records_count} records but only "
            f"{header.last_offset_delta + 1} offsets"
        )
    view = memoryview(buf)[position + 21 : end]
    actual = crc32c.crc32c(view)
    if actual != header.crc:
        raise error(f"CRC mismatch in batch at position {position}: stored {header.crc:#010x}, computed {actual:#010x}")
    return header


def iter_batches(buf: bytes | bytearray | memoryview, *, corrupt: bool = False) -> Iterator[tuple[int, BatchHeader]]:
    """Validate and yield ``(position, header)`` for each batch of a buffer of concatenated batches.

    A buffer that does not end on a batch boundary raises, naming the position.
    """
    position = 0
    size = len(buf)
    while position < size:
        header = validate_batch(buf, position, corrupt=corrupt)
        yield position, header
        position += header.size


def stamp_batch(buf: bytearray, position: int, base_offset: int, leader_epoch: int) -> None:
    """Rewrite base offset and partition leader epoch of a batch in place (the CRC stays valid)."""
    _BASE_OFFSET.pack_into(buf, position, base_offset)
    _INT32.pack_into(buf, position + 12, leader_epoch)


def batch_size_at(buf: bytes | bytearray | memoryview, position: int) -> int:
    """Total size of the batch at ``position`` read from its length prefix, without validation."""
    _, length = _LENGTH_PREFIX.unpack_from(buf, position)
    return int(length) + LOG_OVERHEAD


def next_offset_after(buf: bytes | bytearray | memoryview) -> int:
    """One past the last offset of the last batch in a non-empty buffer of whole batches (length prefixes and the
    last header only)."""
    position = 0
    while position + batch_size_at(buf, position) < len(buf):
        position += batch_size_at(buf, position)
    return parse_header(buf, position).next_offset
