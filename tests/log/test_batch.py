"""Batch header validation: every way a batch can be bad is caught and named."""

from __future__ import annotations

import struct

import crc32c
import pytest

from hub.log.batch import HEADER_SIZE, batch_size_at, iter_batches, parse_header, stamp_batch, validate_batch
from hub.log.errors import CorruptBatchError, InvalidBatchError
from hub.log.records import NewRecord, encode_batch


def _batch(count: int = 3, base_offset: int = 0) -> bytearray:
    return bytearray(
        encode_batch(
            [NewRecord(b"k%d" % i, b"v" * i, timestamp=1000 + i) for i in range(count)], base_offset=base_offset
        )
    )


def _recrc(data: bytearray) -> bytearray:
    struct.pack_into(">I", data, 17, crc32c.crc32c(bytes(data[21:])))
    return data


def test_valid_batch_header_fields() -> None:
    header = validate_batch(_batch(3, base_offset=7))
    assert (header.base_offset, header.records_count, header.last_offset, header.next_offset) == (7, 3, 9, 10)
    assert header.size == len(_batch(3))
    assert header.max_timestamp == 1002


def test_stamping_offset_and_epoch_keeps_the_crc_valid() -> None:
    data = _batch()
    stamp_batch(data, 0, base_offset=123_456, leader_epoch=9)
    header = validate_batch(data)
    assert (header.base_offset, header.partition_leader_epoch) == (123_456, 9)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.__setitem__(16, 1), "unsupported batch magic 1"),
        (lambda d: struct.pack_into(">i", d, 8, 10), "shorter than a header"),
        (lambda d: struct.pack_into(">i", d, 8, len(d)), "truncated batch"),
        (lambda d: d.__setitem__(-1, d[-1] ^ 1), "CRC mismatch"),
        (lambda d: _recrc(d) if struct.pack_into(">i", d, 57, 9) is None else d, "claims 9 records"),
        (lambda d: _recrc(d) if struct.pack_into(">i", d, 57, -1) is None else d, "records_count -1"),
    ],
)
def test_bad_batches_are_rejected_with_the_reason(mutate: object, message: str) -> None:
    data = _batch()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidBatchError, match=message):
        validate_batch(data)


def test_short_header_and_corrupt_flag() -> None:
    with pytest.raises(InvalidBatchError, match="truncated batch header"):
        parse_header(b"\x00" * (HEADER_SIZE - 1))
    data = _batch()
    data[-1] ^= 0xFF
    with pytest.raises(CorruptBatchError):
        validate_batch(data, corrupt=True)


def test_iter_batches_walks_concatenated_batches_and_flags_trailing_garbage() -> None:
    first, second = _batch(2), _batch(4, base_offset=2)
    data = first + second
    assert [(pos, h.base_offset) for pos, h in iter_batches(data)] == [(0, 0), (len(first), 2)]
    assert batch_size_at(data, len(first)) == len(second)
    with pytest.raises(InvalidBatchError, match=f"position {len(data)}"):
        list(iter_batches(data + b"\x00" * 20))
