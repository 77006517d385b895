"""Choosing a partition for a record the way Kafka's Java client does, so keys land where Connect puts them.

Keyed records go to ``toPositive(murmur2(key)) % partitions`` (Kafka's ``BuiltInPartitioner``); records without
a key go to one partition per batch, chosen round-robin ("sticky"), which the caller drives by passing a counter.
"""

from __future__ import annotations

import struct

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 of ``data`` as a signed int32 (``Utils.murmur2``)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    end = length - (length & 3)
    for k in struct.unpack_from(f"<{end >> 2}I", data):  # the little-endian 32-bit words, unpacked at once
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest == 3:
        h ^= data[end + 2] << 16
    if rest >= 2:
        h ^= data[end + 1] << 8
    if rest >= 1:
        h ^= data[end]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key``."""
    if partitions == 1:
        return 0  # no need to hash
    return (murmur2(key) & 0x7FFFFFFF) % partitions
