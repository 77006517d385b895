"""The partitioner matches Kafka's Java client, checked against kafka-python's port of it."""

from __future__ import annotations

import random

import pytest
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from hub.log.client.partitioner import murmur2, partition_for_key


@pytest.mark.parametrize("length", range(17))
def test_murmur2_matches_kafka_python_for_every_tail_length(length: int) -> None:
    rng = random.Random(length)
    for _ in range(50):
        data = rng.randbytes(length)
        expected = kafka_python_murmur2(data)
        assert murmur2(data) & 0xFFFFFFFF == expected & 0xFFFFFFFF


def test_known_values_from_kafkas_own_tests() -> None:
    # Values from Kafka's UtilsTest.testMurmur2.
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-long-string") == -985981536
    assert murmur2(b"a-little-bit-longer-string") == -1486304829
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971
    assert murmur2(b"abc") == 479470107


def test_partition_for_key_is_stable_and_in_range() -> None:
    for partitions in (1, 3, 8):
        for key in (b"", b"a", b"customer-42"):
            chosen = partition_for_key(key, partitions)
            assert 0 <= chosen < partitions
            assert chosen == partition_for_key(key, partitions)
