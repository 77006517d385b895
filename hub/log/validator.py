"""Validation of the batches a client appends, beyond their header and CRC, as Kafka's LogValidator does.

Checks, per batch (``validate_client_batch``):

- its offset range and record count agree: ``records_count == last_offset_delta + 1 > 0`` (Kafka's "inconsistent
  batch offset range"); a header check, so cheap enough for every batch;
- it is not a control batch (only the transaction coordinator writes those);
- when compressed: the body decompresses, to at most 64 times the topic's ``max.message.bytes`` (a few kilobytes
  of zstd can stand for gigabytes, and Kafka's broker streams where Hub holds the records in memory), holds exactly
  ``records_count`` well-framed records (every length inside the record, nothing after the last one), and their
  offset deltas run 0, 1, 2, … .

A failed check raises InvalidRecordError (Kafka's INVALID_RECORD) for a record-level problem, or InvalidBatchError
(CORRUPT_MESSAGE) when the body is not data of its codec at all. Kafka answers the latter with
UNKNOWN_SERVER_ERROR (its decompressor's exception is not an API error); CORRUPT_MESSAGE says what happened.
Kafka rewrites a compressed batch whose offset deltas are not consecutive; Hub never recompresses, so it refuses it.

Uncompressed batches get only the header checks: their records are stored and served as sent, and the append path
stays free of per-record work. Record framing is walked without copying keys, values or headers.

Pure functions; thread-safe.
"""

from __future__ import annotations

from hub.log.batch import HEADER_SIZE, BatchHeader
from hub.log.compression import codec, decompress
from hub.log.errors import InvalidBatchError, InvalidRecordError
from hub.log.records import read_varint

DECOMPRESSION_FACTOR = 64


def decompressed_limit(max_message_bytes: int) -> int:
    """The most a compressed batch may inflate to on a topic: 64 times its ``max.message.bytes``, at least 1 MiB."""
    return max(1 << 20, DECOMPRESSION_FACTOR * max_message_bytes)


def validate_client_batch(
    buf: bytes | bytearray | memoryview, position: int, header: BatchHeader, *, max_decompressed_bytes: int
) -> None:
    """Refuse a batch a client must not append (see the module docstring); ``header`` is already CRC-checked.
    A compressed body may inflate to at most ``max_decompressed_bytes`` (see ``decompressed_limit``)."""
    count = header.records_count
    if count <= 0 or count != header.last_offset_delta + 1:
        raise InvalidRecordError(
            f"batch at position {position} has an inconsistent offset range: last offset delta "
            f"{header.last_offset_delta} and {count} records"
        )
    if header.is_control:
        raise InvalidRecordError(f"batch at position {position} is a control batch; clients may not write those")
    if header.compression:
        body = memoryview(buf)[position + HEADER_SIZE : position + header.size]
        data = decompress(codec(header.compression), body, limit=max_decompressed_bytes)
        check_records(data, count, position)


_KEY_VALUE = ("key", "value")


def check_records(data: bytes, count: int, position: int = 0) -> None:
    """Walk ``count`` records in ``data``: each framed within its declared length, offset deltas 0..count-1, and
    nothing left over. InvalidRecordError names the first problem.

    The hot loop of compressed appends: varints of one or two bytes (most lengths and deltas) are decoded inline."""
    cursor = 0
    end = len(data)
    varint = read_varint
    try:
        for index in range(count):
            byte = data[cursor]
            if byte < 0x80:
                length = (byte >> 1) ^ -(byte & 1)
                cursor += 1
            elif data[cursor + 1] < 0x80:
                raw = (byte & 0x7F) | (data[cursor + 1] << 7)
                length = (raw >> 1) ^ -(raw & 1)
                cursor += 2
            else:
                length, cursor = varint(data, cursor)
            record_end = cursor + length
            if length < 6 or record_end > end:  # attributes, four varints and a header count: 6 bytes at least
                raise InvalidRecordError(f"record {index} declares {length} bytes; the batch has {end - cursor} left")
            byte = data[cursor + 1]  # after the attributes: the timestamp delta
            cursor = cursor + 2 if byte < 0x80 else varint(data, cursor + 1)[1]
            byte = data[cursor]
            if byte < 0x80:
                offset_delta = (byte >> 1) ^ -(byte & 1)
                cursor += 1
            elif data[cursor + 1] < 0x80:
                raw = (byte & 0x7F) | (data[cursor + 1] << 7)
                offset_delta = (raw >> 1) ^ -(raw & 1)
                cursor += 2
            else:
                offset_delta, cursor = varint(data, cursor)
            if offset_delta != index:
                raise InvalidRecordError(f"record {index} has offset delta {offset_delta}; expected {index}")
            for what in _KEY_VALUE:
                byte = data[cursor]
                if byte < 0x80:
                    size = (byte >> 1) ^ -(byte & 1)
                    cursor += 1
                elif data[cursor + 1] < 0x80:
                    raw = (byte & 0x7F) | (data[cursor + 1] << 7)
                    size = (raw >> 1) ^ -(raw & 1)
                    cursor += 2
                else:
                    size, cursor = varint(data, cursor)
                if size < -1:
                    raise InvalidRecordError(f"record {index} has {what} length {size}")
                if size > 0:
                    cursor += size
            if cursor >= record_end:
                raise InvalidRecordError(f"record {index} ends before its header count")
            byte = data[cursor]
            if byte == 0:  # no headers: the usual case
                cursor += 1
            else:
                cursor = _skip_headers(data, cursor, record_end, index)
            if cursor != record_end:
                raise InvalidRecordError(
                    f"record {index} declares {length} bytes but its fields take {length + cursor - record_end}"
                )
    except IndexError:
        raise InvalidRecordError(f"batch at position {position}: record data ends inside a record") from None
    except InvalidRecordError as exc:
        raise InvalidRecordError(f"batch at position {position}: {exc}") from None
    except InvalidBatchError as exc:  # a varint running off the end
        raise InvalidRecordError(f"batch at position {position}: {exc}") from None
    if cursor != end:
        raise InvalidRecordError(f"batch at position {position} has {end - cursor} bytes after its {count} records")


def _skip_headers(data: bytes, cursor: int, record_end: int, index: int) -> int:
    count, cursor = read_varint(data, cursor)
    if count < 0:
        raise InvalidRecordError(f"record {index} has {count} headers")
    for _ in range(count):
        key_length, cursor = read_varint(data, cursor)
        if key_length < 0:
            raise InvalidRecordError(f"record {index} has a header key of length {key_length}")
        value_length, cursor = read_varint(data, cursor + key_length)
        if value_length < -1:
            raise InvalidRecordError(f"record {index} has a header value of length {value_length}")
        cursor += max(value_length, 0)
        if cursor > record_end:
            break
    return cursor
