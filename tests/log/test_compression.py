"""Compression codecs: round trips, the xerial snappy framing, and clear errors on garbage."""

from __future__ import annotations

import struct

import cramjam
import pytest

from hub.log.compression import Compression, codec, compress, decompress
from hub.log.errors import InvalidBatchError

DATA = b"hub " * 5000 + bytes(range(256))


@pytest.mark.parametrize("kind", list(Compression), ids=[c.name for c in Compression])
def test_round_trip(kind: Compression) -> None:
    packed = compress(kind, DATA)
    assert decompress(kind, packed) == DATA
    if kind is not Compression.NONE:
        assert len(packed) < len(DATA)


def test_reads_xerial_framed_snappy() -> None:
    blocks = [DATA[:7000], DATA[7000:]]
    framed = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for block in blocks:
        raw = bytes(cramjam.snappy.compress_raw(block))
        framed += struct.pack(">i", len(raw)) + raw
    assert decompress(Compression.SNAPPY, framed) == DATA


def test_truncated_xerial_block_is_an_error() -> None:
    raw = bytes(cramjam.snappy.compress_raw(DATA))
    framed = b"\x82SNAPPY\x00" + struct.pack(">iii", 1, 1, len(raw) + 10) + raw
    with pytest.raises(InvalidBatchError, match="overruns"):
        decompress(Compression.SNAPPY, framed)


@pytest.mark.parametrize("kind", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD])
def test_garbage_names_the_codec(kind: Compression) -> None:
    with pytest.raises(InvalidBatchError, match=kind.name.lower()):
        decompress(kind, b"this is not compressed data at all")


def test_unknown_codec_id() -> None:
    with pytest.raises(InvalidBatchError, match="unknown compression codec id 6"):
        codec(6)


@pytest.mark.parametrize("kind", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD])
def test_decompress_with_a_limit_refuses_larger_output_and_keeps_smaller(kind: Compression) -> None:
    packed = compress(kind, DATA)
    with pytest.raises(InvalidBatchError, match=f"more than {len(DATA) - 1} bytes"):
        decompress(kind, packed, limit=len(DATA) - 1)
    assert decompress(kind, packed, limit=len(DATA)) == DATA
    big = bytes(300_000)  # larger than the first guess of the output size: the buffer grows
    packed_big = compress(kind, big)
    assert decompress(kind, packed_big, limit=1 << 20) == big
    with pytest.raises(InvalidBatchError, match="cannot decompress"):  # truncated: refused, not retried
        decompress(kind, packed_big[: len(packed_big) // 2], limit=1 << 20)


def test_xerial_snappy_blocks_count_towards_the_limit() -> None:
    framed = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for block in (DATA, DATA):
        raw = bytes(cramjam.snappy.compress_raw(block))
        framed += struct.pack(">i", len(raw)) + raw
    assert decompress(Compression.SNAPPY, framed, limit=2 * len(DATA)) == DATA * 2
    with pytest.raises(InvalidBatchError, match="more than"):
        decompress(Compression.SNAPPY, framed, limit=2 * len(DATA) - 1)
