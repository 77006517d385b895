"""Client batches are validated on append as Kafka's LogValidator does: a compressed batch whose body is not what
its header says is refused and nothing is written; valid batches of every codec are accepted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.log.broker import Broker
from hub.log.compression import Compression
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import InvalidBatchError, InvalidRecordError
from hub.log.records import NewRecord, encode_batch, iter_records
from hub.log.store import TopicStore
from tests.log.poison_batches import CODECS, POISONS, forge, records

#: Kafka's code for each forgery: a body its codec cannot read is CORRUPT_MESSAGE (see hub.log.validator), record
#: problems are INVALID_RECORD as Kafka's LogValidator answers them.
EXPECTED = {
    "garbage": ErrorCode.CORRUPT_MESSAGE,
    "truncated": ErrorCode.CORRUPT_MESSAGE,
    "count_mismatch": ErrorCode.INVALID_RECORD,
    "repeated_offset_deltas": ErrorCode.INVALID_RECORD,
}


@pytest.mark.parametrize("codec", CODECS, ids=[c.name.lower() for c in CODECS])
@pytest.mark.parametrize("poison", sorted(POISONS))
def test_poison_compressed_batch_is_refused_and_nothing_written(
    store: TopicStore, codec: Compression, poison: str
) -> None:
    store.create_topic("t")
    log = store.partition("t", 0)
    good = encode_batch(records(2), compression=codec)
    with pytest.raises(InvalidBatchError) as refused:
        log.append(good + POISONS[poison](codec))
    assert error_code_for(refused.value) is EXPECTED[poison]
    assert "t-0" in str(refused.value)
    assert log.log_end_offset == 0
    assert log.active.size == 0


@pytest.mark.parametrize("codec", list(Compression), ids=[c.name.lower() for c in Compression])
def test_valid_batches_of_every_codec_are_accepted(store: TopicStore, codec: Compression) -> None:
    store.create_topic("t")
    log = store.partition("t", 0)
    log.append(encode_batch(records(5), compression=codec)).wait()
    assert [r.offset for r in iter_records(log.read(0, 1 << 20))] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("forgery", "message"),
    [
        (lambda b: forge(b, records_count=2), "inconsistent offset range"),
        (lambda b: forge(b, records_count=0, last_offset_delta=-1), "records_count 0"),
    ],
    ids=["count_below_offset_range", "empty"],
)
def test_uncompressed_batch_whose_count_disagrees_with_its_offsets_is_refused(
    store: TopicStore, forgery: Callable[[bytes], bytes], message: str
) -> None:
    store.create_topic("t")
    with pytest.raises(InvalidBatchError, match=message):
        store.partition("t", 0).append(forgery(encode_batch(records(3))))
    assert store.partition("t", 0).log_end_offset == 0


def test_clients_may_not_write_control_batches(store: TopicStore) -> None:
    store.create_topic("t")
    with pytest.raises(InvalidRecordError, match="control batch"):
        store.partition("t", 0).append(encode_batch(records(1), control=True))


@pytest.mark.parametrize("codec", CODECS, ids=[c.name.lower() for c in CODECS])
def test_embedded_produce_path_refuses_poison_batches(tmp_path: Path, codec: Compression) -> None:
    with TopicStore(tmp_path / "data") as store:
        broker = Broker(store)
        with pytest.raises(InvalidBatchError, match="cannot decompress"):
            broker.produce("t", 0, POISONS["garbage"](codec))
        assert store.partition("t", 0).log_end_offset == 0
        assert broker.produce("t", 0, encode_batch(records(2), compression=codec)).last_offset == 1


BOMB_CODECS = [Compression.GZIP, Compression.LZ4, Compression.ZSTD]  # snappy cannot shrink data 64-fold


@pytest.mark.parametrize("codec", BOMB_CODECS, ids=[c.name.lower() for c in BOMB_CODECS])
def test_a_compressed_batch_inflating_past_the_limit_is_refused_without_inflating_it(
    store: TopicStore, codec: Compression
) -> None:
    store.create_topic("t", configs={"max.message.bytes": "10000"})  # limit: max(1 MiB, 64 x 10,000)
    log = store.partition("t", 0)
    bomb = encode_batch([NewRecord(b"k", bytes(2 << 20))], compression=codec)
    assert len(bomb) < 10000
    with pytest.raises(InvalidBatchError, match="more than 1048576 bytes") as refused:
        log.append(bomb)
    assert error_code_for(refused.value) is ErrorCode.CORRUPT_MESSAGE
    assert log.log_end_offset == 0
    log.append(encode_batch([NewRecord(b"k", bytes(900_000))], compression=codec)).wait()
    assert log.log_end_offset == 1
