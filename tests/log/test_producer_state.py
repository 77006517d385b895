"""Idempotent producer state: sequences, duplicates of the last five batches, epochs, rebuild; producer ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.log.batch import BatchHeader, parse_header
from hub.log.errors import InvalidProducerEpochError, OutOfOrderSequenceError
from hub.log.producer_ids import ProducerIdAllocator
from hub.log.producer_state import ProducerStateManager
from hub.log.records import NewRecord, encode_batch


def _header(pid: int, epoch: int, seq: int, count: int = 1, base_offset: int = 0, timestamp: int = 1) -> BatchHeader:
    batch = encode_batch(
        [NewRecord(None, b"v", timestamp=timestamp)] * count,
        base_offset=base_offset,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
    )
    return parse_header(batch)


def _write(state: ProducerStateManager, header: BatchHeader) -> None:
    assert state.check([header]) is None
    state.record(header)


def test_in_order_sequences_are_accepted_and_gaps_refused() -> None:
    state = ProducerStateManager("t-0")
    _write(state, _header(1, 0, 0, count=3, base_offset=0))
    _write(state, _header(1, 0, 3, count=2, base_offset=3))
    with pytest.raises(OutOfOrderSequenceError, match="sent sequence 6 after 4"):
        state.check([_header(1, 0, 6)])
    _write(state, _header(1, 0, 5, base_offset=5))


def test_retries_of_the_last_five_batches_return_their_original_offsets() -> None:
    state = ProducerStateManager("t-0")
    for n in range(6):
        _write(state, _header(7, 0, n * 2, count=2, base_offset=100 + n * 2))
    for n in range(1, 6):
        duplicate = state.check([_header(7, 0, n * 2, count=2)])
        assert duplicate is not None
        assert (duplicate.first_offset, duplicate.last_offset) == (100 + n * 2, 101 + n * 2)
    with pytest.raises(OutOfOrderSequenceError):
        state.check([_header(7, 0, 0, count=2)])  # the sixth-newest batch is forgotten


def test_epochs_fence_old_producers_and_restart_sequences() -> None:
    state = ProducerStateManager("t-0")
    _write(state, _header(3, 0, 0, count=4))
    _write(state, _header(3, 1, 0))
    with pytest.raises(InvalidProducerEpochError, match="epoch 0, older than the current epoch 1"):
        state.check([_header(3, 0, 4)])
    with pytest.raises(OutOfOrderSequenceError, match="expected 0"):
        state.check([_header(3, 2, 5)])


def test_unknown_producer_is_accepted_at_any_sequence_and_wraps_around() -> None:
    state = ProducerStateManager("t-0")
    _write(state, _header(9, 0, 2**31 - 1))
    _write(state, _header(9, 0, 0))
    assert state.producers[9].last_sequence == 0


def test_producers_are_independent_and_multi_batch_requests_checked_as_a_unit() -> None:
    state = ProducerStateManager("t-0")
    first, second = _header(1, 0, 0), _header(1, 0, 1)
    assert state.check([first, second]) is None
    with pytest.raises(OutOfOrderSequenceError):
        state.check([first, _header(1, 0, 5)])
    _write(state, _header(2, 0, 0))
    _write(state, _header(1, 0, 0))


def test_rebuild_from_headers_gives_the_same_answers() -> None:
    state = ProducerStateManager("t-0")
    headers = [_header(1, 0, n, base_offset=n) for n in range(8)] + [_header(2, 3, 0, base_offset=8)]
    for header in headers:
        state.record(header)
    rebuilt = ProducerStateManager("t-0")
    rebuilt.rebuild(headers)
    probe = _header(1, 0, 6)
    assert rebuilt.check([probe]) == state.check([probe])
    assert rebuilt.producers.keys() == state.producers.keys()


def test_idle_producers_expire() -> None:
    state = ProducerStateManager("t-0")
    state.record(_header(1, 0, 0, timestamp=1_000))
    state.record(_header(2, 0, 0, timestamp=90_000))
    assert state.expire(100_000, 50_000) == 1
    assert list(state.producers) == [2]


def test_producer_ids_are_never_reused_across_restarts(tmp_path: Path) -> None:
    allocator = ProducerIdAllocator(tmp_path, block_size=10)
    first = [allocator.allocate() for _ in range(15)]
    assert first == list(range(15))
    # A crash loses the in-memory position; the next process starts after the durable block end.
    restarted = ProducerIdAllocator(tmp_path, block_size=10)
    assert restarted.allocate() == 20
    (tmp_path / "producer-ids.json").write_text(json.dumps({"version": 1, "next_block_start": "x"}))
    with pytest.raises(ValueError, match="next_block_start must be a non-negative integer"):
        ProducerIdAllocator(tmp_path).allocate()
    (tmp_path / "producer-ids.json").write_text("{broken")
    with pytest.raises(ValueError, match="cannot read producer ids"):
        ProducerIdAllocator(tmp_path).allocate()


def test_partition_answers_retries_with_original_offsets_even_after_restart(tmp_path: Path) -> None:
    from hub.log.store import TopicStore

    def batch(seq: int, epoch: int = 0) -> bytes:
        return encode_batch(
            [NewRecord(b"k", b"v%d" % seq, timestamp=1)], producer_id=11, producer_epoch=epoch, base_sequence=seq
        )

    with TopicStore(tmp_path) as store:
        store.create_topic("t")
        log = store.partition("t", 0)
        assert log.append_and_wait(batch(0)).base_offset == 0
        assert log.append_and_wait(batch(1)).base_offset == 1
        retry = log.append_and_wait(batch(0))
        assert (retry.base_offset, retry.record_count) == (0, 0)
        assert log.log_end_offset == 2
    with TopicStore(tmp_path) as store:
        log = store.partition("t", 0)
        assert log.append_and_wait(batch(1)).base_offset == 1  # rebuilt from the stored headers
        with pytest.raises(OutOfOrderSequenceError):
            log.append(batch(5))
        log.append_and_wait(batch(0, epoch=1))
        with pytest.raises(InvalidProducerEpochError):
            log.append(batch(2, epoch=0))
        assert log.log_end_offset == 3
