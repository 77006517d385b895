"""TransactionCoordinator: Kafka's state machine, fencing, markers, timeouts, expiry and recovery, over an in-memory
``__transaction_state`` and a recording MarkerWriter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.txn.coordinator import TransactionConfig, TransactionCoordinator
from hub.log.txn.markers import MarkerDispatcher
from hub.log.txn.metadata import TxnRecord, TxnState
from hub.log.txn.state_format import decode_key, decode_value, encode_key, encode_value
from tests.log.txn.fakes import MemoryTxnStateLog, RecordingMarkerWriter, not_leader

TIMEOUT = 60_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Ids:
    def __init__(self) -> None:
        self.next = 1000

    def __call__(self) -> int:
        self.next += 1
        return self.next


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state_log() -> MemoryTxnStateLog:
    return MemoryTxnStateLog()


@pytest.fixture
def writer() -> RecordingMarkerWriter:
    return RecordingMarkerWriter()


def make(
    state_log: MemoryTxnStateLog, writer: RecordingMarkerWriter, clock: Clock, **config: int
) -> TransactionCoordinator:
    coordinator = TransactionCoordinator(
        state_log,
        Ids(),
        MarkerDispatcher(writer, exists=lambda t, p: True, retry_backoff_ms=1),
        TransactionConfig(**config),
        wall_clock=clock,
        tick_ms=3_600_000,
    )
    coordinator.start()
    return coordinator


@pytest.fixture
def coordinator(
    state_log: MemoryTxnStateLog, writer: RecordingMarkerWriter, clock: Clock
) -> Iterator[TransactionCoordinator]:
    coordinator = make(state_log, writer, clock)
    yield coordinator
    coordinator.close()


def init(
    coordinator: TransactionCoordinator, tid: str = "t", pid: int = -1, epoch: int = -1
) -> tuple[ErrorCode, int, int]:
    answer = coordinator.init_producer_id(tid, TIMEOUT, pid, epoch).result(5)
    return answer.error, answer.producer_id, answer.producer_epoch


def add(
    coordinator: TransactionCoordinator, pid: int, epoch: int, *tps: tuple[str, int], tid: str = "t"
) -> set[ErrorCode]:
    return set(coordinator.add_partitions(tid, pid, epoch, tps).result(5).values())


def end(coordinator: TransactionCoordinator, pid: int, epoch: int, commit: bool, tid: str = "t") -> ErrorCode:
    return coordinator.end_transaction(tid, pid, epoch, commit).result(5)


def wait_state(coordinator: TransactionCoordinator, state: TxnState, tid: str = "t") -> TxnRecord:
    for _ in range(500):
        record = coordinator.snapshot(tid)
        if record is not None and record.state is state:
            return record
        import time

        time.sleep(0.01)
    raise AssertionError(f"{tid} never reached {state}: {coordinator.snapshot(tid)}")


def test_a_new_id_gets_a_producer_id_at_epoch_0_and_each_init_bumps_the_epoch(
    coordinator: TransactionCoordinator,
) -> None:
    error, pid, epoch = init(coordinator)
    assert (error, epoch) == (ErrorCode.NONE, 0)
    assert init(coordinator) == (ErrorCode.NONE, pid, 1)
    assert init(coordinator, "other")[1] != pid


@pytest.mark.parametrize("timeout_ms", [0, -1, 900_001])
def test_a_timeout_out_of_bounds_is_refused(coordinator: TransactionCoordinator, timeout_ms: int) -> None:
    answer = coordinator.init_producer_id("t", timeout_ms).result(5)
    assert answer.error is ErrorCode.INVALID_TRANSACTION_TIMEOUT


def test_an_empty_or_oversized_id_or_half_a_producer_is_an_invalid_request(coordinator: TransactionCoordinator) -> None:
    assert init(coordinator, "")[0] is ErrorCode.INVALID_REQUEST
    assert init(coordinator, "é" * 16_384)[0] is ErrorCode.INVALID_REQUEST  # 32,768 bytes: no state record holds it
    assert init(coordinator, "é" * 16_383)[0] is ErrorCode.NONE
    assert init(coordinator, "t", 5, -1)[0] is ErrorCode.INVALID_REQUEST


def test_commit_writes_a_commit_marker_to_every_partition_then_completes(
    coordinator: TransactionCoordinator, writer: RecordingMarkerWriter
) -> None:
    _, pid, epoch = init(coordinator)
    assert add(coordinator, pid, epoch, ("a", 0), ("b", 1)) == {ErrorCode.NONE}
    assert coordinator.add_offsets("t", pid, epoch, "group").result(5) is ErrorCode.NONE
    assert coordinator.snapshot("t").state is TxnState.ONGOING  # type: ignore[union-attr]
    assert end(coordinator, pid, epoch, True) is ErrorCode.NONE
    record = wait_state(coordinator, TxnState.COMPLETE_COMMIT)
    assert record.partitions == frozenset()
    assert sorted(m.partitions[0] for m in writer.written) == [("__consumer_offsets", 0), ("a", 0), ("b", 1)]
    assert {(m.producer_id, m.producer_epoch, m.commit) for m in writer.written} == {(pid, epoch, True)}
    assert end(coordinator, pid, epoch, True) is ErrorCode.NONE  # a retry of a completed commit
    assert end(coordinator, pid, epoch, False) is ErrorCode.INVALID_TXN_STATE


def test_abort_writes_abort_markers(coordinator: TransactionCoordinator, writer: RecordingMarkerWriter) -> None:
    _, pid, epoch = init(coordinator)
    add(coordinator, pid, epoch, ("a", 0))
    assert end(coordinator, pid, epoch, False) is ErrorCode.NONE
    wait_state(coordinator, TxnState.COMPLETE_ABORT)
    assert [(m.commit, m.partitions) for m in writer.written] == [(False, (("a", 0),))]


def test_ending_with_no_transaction_is_an_invalid_txn_state(coordinator: TransactionCoordinator) -> None:
    _, pid, epoch = init(coordinator)
    assert end(coordinator, pid, epoch, True) is ErrorCode.INVALID_TXN_STATE


def test_a_wrong_producer_id_or_epoch_is_refused(coordinator: TransactionCoordinator) -> None:
    _, pid, epoch = init(coordinator)
    assert add(coordinator, pid + 1, epoch, ("a", 0)) == {ErrorCode.INVALID_PRODUCER_ID_MAPPING}
    assert add(coordinator, pid, epoch + 1, ("a", 0)) == {ErrorCode.PRODUCER_FENCED}
    assert add(coordinator, pid, 0, ("a", 0), tid="unknown") == {ErrorCode.INVALID_PRODUCER_ID_MAPPING}
    assert end(coordinator, pid, 0, True, tid="unknown") is ErrorCode.INVALID_PRODUCER_ID_MAPPING


def test_a_second_instance_aborts_the_ongoing_transaction_and_fences_the_first(
    coordinator: TransactionCoordinator, writer: RecordingMarkerWriter
) -> None:
    _, pid, epoch = init(coordinator)
    add(coordinator, pid, epoch, ("a", 0))
    assert init(coordinator)[0] is ErrorCode.CONCURRENT_TRANSACTIONS
    wait_state(coordinator, TxnState.COMPLETE_ABORT)
    assert [(m.commit, m.producer_epoch) for m in writer.written] == [(False, epoch + 1)]
    assert init(coordinator) == (ErrorCode.NONE, pid, epoch + 2)
    assert add(coordinator, pid, epoch, ("a", 0)) == {ErrorCode.PRODUCER_FENCED}
    assert end(coordinator, pid, epoch, True) is ErrorCode.PRODUCER_FENCED


def test_requests_get_concurrent_transactions_while_markers_are_pending(
    coordinator: TransactionCoordinator, writer: RecordingMarkerWriter
) -> None:
    _, pid, epoch = init(coordinator)
    add(coordinator, pid, epoch, ("a", 0))
    writer.hold = True
    assert end(coordinator, pid, epoch, True) is ErrorCode.NONE
    assert coordinator.snapshot("t").state is TxnState.PREPARE_COMMIT  # type: ignore[union-attr]
    assert add(coordinator, pid, epoch, ("a", 0)) == {ErrorCode.CONCURRENT_TRANSACTIONS}
    assert end(coordinator, pid, epoch, True) is ErrorCode.CONCURRENT_TRANSACTIONS
    assert end(coordinator, pid, epoch, False) is ErrorCode.INVALID_TXN_STATE
    assert init(coordinator)[0] is ErrorCode.CONCURRENT_TRANSACTIONS
    writer.release()
    wait_state(coordinator, TxnState.COMPLETE_COMMIT)
    assert add(coordinator, pid, epoch, ("a", 0)) == {ErrorCode.NONE}


def test_markers_are_retried_while_the_leader_moves_and_skipped_for_a_deleted_partition(
    state_log: MemoryTxnStateLog, writer: RecordingMarkerWriter, clock: Clock
) -> None:
    deleted = {("gone", 0)}
    coordinator = TransactionCoordinator(
        state_log,
        Ids(),
        MarkerDispatcher(writer, exists=lambda t, p: (t, p) not in deleted, retry_backoff_ms=1),
        wall_clock=clock,
        tick_ms=3_600_000,
    )
    coordinator.start()
    try:
        _, pid, epoch = init(coordinator)
        add(coordinator, pid, epoch, ("a", 0), ("gone", 0))
        writer.errors[("a", 0)] = [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_ENOUGH_REPLICAS]
        writer.errors[("gone", 0)] = [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
        end(coordinator, pid, epoch, True)
        wait_state(coordinator, TxnState.COMPLETE_COMMIT)
        assert [m.partitions for m in writer.written] == [(("a", 0),)]
    finally:
        coordinator.close()


def test_a_fenced_marker_leaves_the_transaction_to_the_newer_coordinator(
    coordinator: TransactionCoordinator, writer: RecordingMarkerWriter
) -> None:
    _, pid, epoch = init(coordinator)
    add(coordinator, pid, epoch, ("a", 0))
    writer.errors[("a", 0)] = [ErrorCode.TRANSACTION_COORDINATOR_FENCED]
    end(coordinator, pid, epoch, True)
    import time

    time.sleep(0.1)
    assert coordinator.snapshot("t").state is TxnState.PREPARE_COMMIT  # type: ignore[union-attr]


def test_a_transaction_past_its_timeout_is_aborted_with_a_bumped_epoch(
    coordinator: TransactionCoordinator, writer: RecordingMarkerWriter, clock: Clock
) -> None:
    _, pid, epoch = init(coordinator)
    add(coordinator, pid, epoch, ("a", 0))
    clock.now += TIMEOUT / 1000 - 1
    coordinator.abort_timed_out()
    assert coordinator.snapshot("t").state is TxnState.ONGOING  # type: ignore[union-attr]
    clock.now += 2
    coordinator.abort_timed_out()
    record = wait_state(coordinator, TxnState.COMPLETE_ABORT)
    assert record.producer_epoch == epoch + 1
    assert [(m.commit, m.producer_epoch) for m in writer.written] == [(False, epoch + 1)]
    assert end(coordinator, pid, epoch, True) is ErrorCode.PRODUCER_FENCED


def test_an_idle_id_expires_with_a_tombstone(
    coordinator: TransactionCoordinator, state_log: MemoryTxnStateLog, clock: Clock
) -> None:
    _, pid, _ = init(coordinator)
    clock.now += 604_800
    coordinator.remove_expired()
    assert coordinator.snapshot("t") is not None  # not idle longer than the expiration yet
    clock.now += 1
    coordinator.remove_expired()
    for _ in range(500):
        if coordinator.snapshot("t") is None:
            break
        import time

        time.sleep(0.01)
    assert coordinator.describe_transactions(["t"])[0].error is ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
    partition = coordinator.partition_for("t")
    assert state_log.records[partition][-1] == (encode_key("t"), None)
    assert init(coordinator)[1] != pid


def test_kip_360_a_producer_naming_its_id_and_epoch_is_bumped_retried_or_fenced(
    coordinator: TransactionCoordinator,
) -> None:
    _, pid, epoch = init(coordinator)
    assert init(coordinator, "t", pid, epoch) == (ErrorCode.NONE, pid, epoch + 1)
    assert init(coordinator, "t", pid, epoch) == (ErrorCode.NONE, pid, epoch + 1)  # a retry of that bump
    init(coordinator)  # another instance: epoch + 2
    assert init(coordinator, "t", pid, epoch)[0] is ErrorCode.PRODUCER_FENCED
    assert init(coordinator, "t", pid + 7, epoch + 2)[0] is ErrorCode.PRODUCER_FENCED


def test_an_exhausted_epoch_gets_a_new_producer_id(
    coordinator: TransactionCoordinator, state_log: MemoryTxnStateLog
) -> None:
    _, pid, _ = init(coordinator)
    partition = coordinator.partition_for("t")
    with coordinator._lock:
        entry = coordinator._cache.partitions[partition].txns["t"]
        from dataclasses import replace

        entry.current = replace(entry.current, producer_epoch=32766)
    error, new_pid, epoch = init(coordinator)
    assert (error, epoch) == (ErrorCode.NONE, 0)
    assert new_pid != pid


def test_loading_completes_a_prepared_transaction_with_its_markers(
    state_log: MemoryTxnStateLog, writer: RecordingMarkerWriter, clock: Clock
) -> None:
    first = make(state_log, writer, clock)
    _, pid, epoch = init(first)
    add(first, pid, epoch, ("a", 0), ("a", 1))
    writer.hold = True
    end(first, pid, epoch, True)
    first.close()  # a crash after PrepareCommit: no marker was written
    writer.hold = False
    writer._held.clear()
    second = make(state_log, writer, clock)
    try:
        wait_state(second, TxnState.COMPLETE_COMMIT)
        assert sorted(m.partitions[0] for m in writer.written) == [("a", 0), ("a", 1)]
        assert all(m.commit and m.producer_id == pid for m in writer.written)
        assert init(second) == (ErrorCode.NONE, pid, epoch + 1)
    finally:
        second.close()


def test_a_resigned_partition_answers_not_coordinator(coordinator: TransactionCoordinator) -> None:
    _, pid, epoch = init(coordinator)
    coordinator.resign(coordinator.partition_for("t"))
    assert init(coordinator)[0] is ErrorCode.NOT_COORDINATOR
    assert end(coordinator, pid, epoch, True) is ErrorCode.NOT_COORDINATOR
    assert coordinator.snapshot("t") is None


def test_losing_the_leadership_while_writing_answers_not_coordinator(
    coordinator: TransactionCoordinator, state_log: MemoryTxnStateLog
) -> None:
    state_log.fail = not_leader()
    assert init(coordinator)[0] is ErrorCode.NOT_COORDINATOR
    assert init(coordinator)[0] is ErrorCode.NOT_COORDINATOR


def test_a_failed_write_answers_coordinator_not_available(
    coordinator: TransactionCoordinator, state_log: MemoryTxnStateLog
) -> None:
    state_log.fail = OSError("disk full")
    assert init(coordinator)[0] is ErrorCode.COORDINATOR_NOT_AVAILABLE
    state_log.fail = None
    assert init(coordinator)[0] is ErrorCode.NONE


def test_list_and_describe_transactions(coordinator: TransactionCoordinator, clock: Clock) -> None:
    _, pid, epoch = init(coordinator, "t1")
    add(coordinator, pid, epoch, ("a", 0), tid="t1")
    init(coordinator, "t2")
    error, unknown, listed = coordinator.list_transactions(["Ongoing", "Bogus"])
    assert (error, unknown, [t.transactional_id for t in listed]) == (ErrorCode.NONE, ["Bogus"], ["t1"])
    assert [t.transactional_id for t in coordinator.list_transactions()[2]] == ["t1", "t2"]
    assert [t.transactional_id for t in coordinator.list_transactions(producer_ids=[pid])[2]] == ["t1"]
    assert coordinator.list_transactions(min_duration_ms=1000)[2] == []
    clock.now += 2
    assert [t.transactional_id for t in coordinator.list_transactions(min_duration_ms=1000)[2]] == ["t1"]
    assert [t.transactional_id for t in coordinator.list_transactions(pattern="t[0-9]")[2]] == ["t1", "t2"]
    described = coordinator.describe_transactions(["t1", "nope"])
    assert (described[0].state, described[0].producer_id, described[0].partitions) == ("Ongoing", pid, (("a", 0),))
    assert described[1].error is ErrorCode.TRANSACTIONAL_ID_NOT_FOUND


def test_state_values_round_trip_in_kafkas_format() -> None:
    record = TxnRecord("t", 7, 3, 60_000, TxnState.ONGOING, frozenset({("a", 0), ("a", 2), ("b", 1)}), 5, 9)
    assert decode_key(encode_key("t")) == "t"
    assert decode_value("t", encode_value(record)) == record
    empty = TxnRecord("t", 7, 3, 60_000, TxnState.EMPTY, frozenset(), -1, 9)
    assert encode_value(empty)[:2] == b"\x00\x00"
    assert decode_value("t", encode_value(empty)) == empty


def test_a_complete_state_lost_to_a_failed_write_is_completed_again_on_load(
    state_log: MemoryTxnStateLog, writer: RecordingMarkerWriter, clock: Clock
) -> None:
    first = make(state_log, writer, clock)
    _, pid, epoch = init(first)
    add(first, pid, epoch, ("a", 0))
    writer.hold = True
    end(first, pid, epoch, True)
    state_log.fail = OSError("disk full")
    writer.release()
    wait_state(first, TxnState.COMPLETE_COMMIT)  # takes effect at once, its record written behind
    first.close()
    state_log.fail = None
    second = make(state_log, writer, clock)
    try:
        wait_state(second, TxnState.COMPLETE_COMMIT)
        assert [(m.commit, m.partitions) for m in writer.written] == [(True, (("a", 0),))] * 2  # sent again
    finally:
        second.close()
