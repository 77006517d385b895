"""The record codec against batches built and read by Kafka client libraries nobody here wrote."""

from __future__ import annotations

import random
import struct

import crc32c
import pytest
from aiokafka.record.default_records import DefaultRecordBatch as AioBatch
from aiokafka.record.default_records import DefaultRecordBatchBuilder as AioBuilder
from kafka.record.default_records import DefaultRecordBatch as KafkaPythonBatch
from kafka.record.default_records import DefaultRecordBatchBuilder as KafkaPythonBuilder

from hub.log.batch import parse_header, validate_batch
from hub.log.compression import Compression
from hub.log.errors import InvalidBatchError
from hub.log.records import Header, NewRecord, Record, decode_batch, encode_batch, iter_records

CODECS = list(Compression)

Sample = tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]


def _sample(count: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    rows: list[Sample] = []
    for i in range(count):
        key = None if i % 5 == 3 else f"key-{i}".encode()
        value = None if i % 7 == 6 else rng.randbytes(rng.randint(0, 300))
        headers = [(f"h{j}", None if j == 1 else rng.randbytes(5)) for j in range(i % 3)]
        rows.append((1_700_000_000_000 + i * 13, key, value, headers))
    return rows


def _build_with(builder_class: type, codec: int, rows: list[Sample]) -> bytes:
    builder = builder_class(
        magic=2,
        compression_type=codec,
        is_transactional=False,
        producer_id=1234,
        producer_epoch=7,
        base_sequence=42,
        batch_size=10_000_000,
    )
    for offset, (timestamp, key, value, headers) in enumerate(rows):
        builder.append(offset, timestamp=timestamp, key=key, value=value, headers=headers)
    return bytes(builder.build())


@pytest.mark.parametrize("codec", CODECS, ids=[c.name for c in CODECS])
def test_decodes_batches_built_by_aiokafka(codec: Compression) -> None:
    rows = _sample(50, seed=codec)
    decoded = decode_batch(_build_with(AioBuilder, codec, rows))
    assert decoded.header.compression == codec
    assert (decoded.header.producer_id, decoded.header.producer_epoch, decoded.header.base_sequence) == (1234, 7, 42)
    assert decoded.header.records_count == 50
    assert [
        (r.offset, r.timestamp, r.key, r.value, [(h.key, h.value) for h in r.headers]) for r in decoded.records
    ] == [(offset, *row) for offset, row in enumerate(rows)]


@pytest.mark.parametrize("codec", [Compression.NONE, Compression.GZIP])
def test_decodes_batches_built_by_kafka_python(codec: Compression) -> None:
    rows = _sample(20, seed=99)
    decoded = decode_batch(_build_with(KafkaPythonBuilder, codec, rows))
    assert [(r.timestamp, r.key, r.value) for r in decoded.records] == [(t, k, v) for t, k, v, _ in rows]


def _our_batch(codec: Compression, rows: list[Sample]) -> bytes:
    records = [
        NewRecord(key, value, tuple(Header(k, v) for k, v in headers), timestamp)
        for timestamp, key, value, headers in rows
    ]
    return encode_batch(records, base_offset=100, compression=codec, producer_id=5, producer_epoch=1, base_sequence=0)


@pytest.mark.parametrize("codec", CODECS, ids=[c.name for c in CODECS])
def test_aiokafka_reads_batches_we_build(codec: Compression) -> None:
    rows = _sample(40, seed=7)
    batch = AioBatch(bytearray(_our_batch(codec, rows)))
    assert batch.validate_crc()
    read = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in batch]
    assert read == [(100 + i, t, k, v, h) for i, (t, k, v, h) in enumerate(rows)]


@pytest.mark.parametrize("codec", [Compression.NONE, Compression.GZIP])
def test_kafka_python_reads_batches_we_build(codec: Compression) -> None:
    rows = _sample(40, seed=8)
    batch = KafkaPythonBatch(bytearray(_our_batch(codec, rows)))
    assert batch.validate_crc()
    assert [(r.offset, r.key, r.value) for r in batch] == [(100 + i, k, v) for i, (_, k, v, _) in enumerate(rows)]


def test_round_trip_keeps_gaps_and_last_offset_delta() -> None:
    kept = [Record(10, 1000, b"a", b"1"), Record(13, 1001, b"b", None), Record(17, 999, b"c", b"3")]
    batch = encode_batch(kept, base_offset=10, last_offset_delta=9, producer_id=3, producer_epoch=0, base_sequence=5)
    decoded = decode_batch(batch)
    assert decoded.records == kept
    assert decoded.header.last_offset == 19
    assert decoded.header.max_timestamp == 1001
    assert decoded.records[1].is_tombstone


def test_empty_batch_for_producer_state() -> None:
    batch = encode_batch([], base_offset=50, last_offset_delta=4, producer_id=9, producer_epoch=2, base_sequence=10)
    header = validate_batch(batch)
    assert (header.records_count, header.next_offset, header.last_sequence) == (0, 55, 14)
    assert decode_batch(batch).records == []
    with pytest.raises(ValueError, match="last_offset_delta"):
        encode_batch([])


def test_delete_horizon_keeps_record_timestamps() -> None:
    records = [Record(0, 5_000, b"k", None), Record(1, 6_000, b"j", b"v")]
    batch = encode_batch(records, delete_horizon_ms=90_000)
    decoded = decode_batch(batch)
    assert decoded.header.has_delete_horizon
    assert decoded.header.base_timestamp == 90_000
    assert [r.timestamp for r in decoded.records] == [5_000, 6_000]


def test_iter_records_skips_control_batches() -> None:
    data = encode_batch([NewRecord(b"k", b"v", timestamp=1)]) + encode_batch(
        [NewRecord(b"\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x00", timestamp=2)], base_offset=1, control=True
    )
    assert [r.value for r in iter_records(data)] == [b"v"]
    assert len(list(iter_records(data, include_control=True))) == 2


def test_offsets_must_increase() -> None:
    with pytest.raises(ValueError, match="must increase"):
        encode_batch([Record(5, 0, None, b"x"), Record(5, 0, None, b"y")], base_offset=5)


def _corrupt_payload(batch: bytes, mutate: int) -> bytes:
    """Change a payload byte and fix the CRC, so only the record-level checks can notice."""
    data = bytearray(batch)
    data[mutate] ^= 0xFF
    struct.pack_into(">I", data, 17, crc32c.crc32c(bytes(data[21:])))
    return bytes(data)


def test_record_level_corruption_is_reported() -> None:
    batch = encode_batch([NewRecord(b"key", b"value", timestamp=1), NewRecord(b"k2", b"v2", timestamp=1)])
    with pytest.raises(InvalidBatchError):
        decode_batch(_corrupt_payload(batch, 61))  # the first record's length varint
    header = parse_header(batch)
    truncated_count = bytearray(batch)
    truncated_count[57:61] = (1).to_bytes(4, "big")
    truncated_count[17:21] = crc32c.crc32c(bytes(truncated_count[21:])).to_bytes(4, "big")
    with pytest.raises(InvalidBatchError, match="bytes after its 1 records"):
        decode_batch(bytes(truncated_count))
    assert header.records_count == 2


def test_garbage_compressed_payload_names_the_codec() -> None:
    batch = bytearray(encode_batch([NewRecord(b"k", b"v" * 100, timestamp=1)], compression=Compression.GZIP))
    batch[70:80] = b"\x00" * 10
    batch[17:21] = crc32c.crc32c(bytes(batch[21:])).to_bytes(4, "big")
    with pytest.raises(InvalidBatchError, match="gzip"):
        decode_batch(bytes(batch))
