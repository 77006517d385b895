"""Fixtures for store tests: batches as a Kafka client would send them, and stores in temporary directories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.log.records import NewRecord, encode_batch
from hub.log.store import TopicStore

BatchFactory = Callable[..., bytes]


@pytest.fixture
def make_batch() -> BatchFactory:
    """``make_batch(values, keys=None, timestamp=1000)`` builds one uncompressed batch of 1..n records."""

    def build(values: list[bytes | None], keys: list[bytes | None] | None = None, timestamp: int = 1000) -> bytes:
        keys = keys or [b"k%d" % i for i in range(len(values))]
        return encode_batch(
            [NewRecord(k, v, timestamp=timestamp + i) for i, (k, v) in enumerate(zip(keys, values, strict=True))]
        )

    return build


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TopicStore]:
    with TopicStore(tmp_path / "data", retention_check_interval_ms=3_600_000) as opened:
        yield opened
