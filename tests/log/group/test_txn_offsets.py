"""Offsets committed inside transactions (TxnOffsetCommit): written to __consumer_offsets as the producer's
transactional batch, pending until the transaction's marker, rebuilt exactly when a coordinator loads the log."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.group import OFFSETS_TOPIC, CommittedOffset, CoordinatorConfig, GroupCoordinator, TopicOffsetsLog
from hub.log.group.txn_offsets import PendingTxnOffsets, PositionedOffset
from hub.log.records import iter_decoded
from hub.log.store import TopicStore
from tests.log.group.test_coordinator import _stable_pair

FAST = CoordinatorConfig(min_session_timeout_ms=10, initial_rebalance_delay_ms=0, tick_ms=10, max_metadata_bytes=16)
TP0, TP1, TP2 = ("in", 0), ("in", 1), ("in", 2)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TopicStore]:
    with TopicStore(tmp_path) as opened:
        yield opened


@pytest.fixture
def coordinator(store: TopicStore) -> Iterator[GroupCoordinator]:
    started = GroupCoordinator(TopicOffsetsLog(store), FAST)
    started.start()
    yield started
    started.close()


def _txn_commit(
    c: GroupCoordinator,
    producer_id: int,
    offsets: dict[tuple[str, int], int],
    *,
    epoch: int = 0,
    group: str = "g",
    **kw,
) -> dict[tuple[str, int], ErrorCode]:
    return c.commit_transactional_offsets(
        group, f"txn-{producer_id}", producer_id, epoch, {tp: CommittedOffset(o) for tp, o in offsets.items()}, **kw
    )


def _marker(store: TopicStore, producer_id: int, commit: bool, *, epoch: int = 0) -> int:
    """Write a transaction marker to __consumer_offsets as the log does; its offset."""
    partition = store.partition(OFFSETS_TOPIC, 0)
    return int(partition.append_marker(producer_id, epoch, commit, 0).last_offset)


def _end(c: GroupCoordinator, store: TopicStore, producer_id: int, commit: bool, *, epoch: int = 0) -> None:
    """The marker in the log, then the log's call to the coordinator's listener."""
    c.on_marker(OFFSETS_TOPIC, 0, producer_id, commit, _marker(store, producer_id, commit, epoch=epoch))


def _offsets(c: GroupCoordinator, group: str = "g") -> dict[tuple[str, int], int | None]:
    return {tp: (o.offset if o else None) for tp, o in c.fetch_offsets(group, [TP0, TP1, TP2]).items()}


def _reloaded(store: TopicStore) -> GroupCoordinator:
    again = GroupCoordinator(TopicOffsetsLog(store), FAST)
    again.start()
    return again


def test_offsets_of_a_transaction_are_pending_until_its_commit_marker(
    coordinator: GroupCoordinator, store: TopicStore
) -> None:
    assert coordinator.commit_offsets("g", -1, "", {TP0: CommittedOffset(5)}) == {TP0: ErrorCode.NONE}
    assert _txn_commit(coordinator, 7, {TP0: 10, TP1: 20}) == {TP0: ErrorCode.NONE, TP1: ErrorCode.NONE}

    assert _offsets(coordinator) == {TP0: 5, TP1: None, TP2: None}
    stored, unstable = coordinator.fetch_stable_offsets("g", [TP0, TP1, TP2])
    assert unstable == {TP0, TP1}
    assert stored[TP0] == CommittedOffset(5, commit_timestamp=stored[TP0].commit_timestamp)  # type: ignore[union-attr]

    _end(coordinator, store, 7, commit=True)
    assert _offsets(coordinator) == {TP0: 10, TP1: 20, TP2: None}
    assert coordinator.fetch_stable_offsets("g", None)[1] == set()


def test_an_abort_marker_drops_them(coordinator: GroupCoordinator, store: TopicStore) -> None:
    coordinator.commit_offsets("g", -1, "", {TP0: CommittedOffset(5)})
    _txn_commit(coordinator, 7, {TP0: 10, TP1: 20})
    _end(coordinator, store, 7, commit=False)
    assert _offsets(coordinator) == {TP0: 5, TP1: None, TP2: None}
    assert coordinator.fetch_stable_offsets("g", [TP0, TP1])[1] == set()
    _end(coordinator, store, 7, commit=True)  # a later transaction of the producer committed nothing here
    assert _offsets(coordinator) == {TP0: 5, TP1: None, TP2: None}


def test_they_are_written_as_the_producers_transactional_batch(
    coordinator: GroupCoordinator, store: TopicStore
) -> None:
    _txn_commit(coordinator, 7, {TP0: 10}, epoch=3)
    _txn_commit(coordinator, 7, {TP1: 11}, epoch=3)
    coordinator.commit_offsets("g", -1, "", {TP2: CommittedOffset(1)})
    partition = store.partition(OFFSETS_TOPIC, 0)
    headers = [decoded.header for decoded in iter_decoded(partition.read(0, 1 << 20))]
    assert [(h.producer_id, h.producer_epoch, h.is_transactional, h.base_sequence) for h in headers] == [
        (7, 3, True, 0),
        (7, 3, True, 1),
        (-1, -1, False, -1),
    ]
    stored = list(TopicOffsetsLog(store).read_all())
    assert [(r.offset, r.producer_id, r.marker) for r in stored] == [(0, 7, None), (1, 7, None), (2, -1, None)]


def test_loading_replays_committed_aborted_and_pending_transactions(
    coordinator: GroupCoordinator, store: TopicStore
) -> None:
    coordinator.commit_offsets("g", -1, "", {TP0: CommittedOffset(1), TP1: CommittedOffset(1)})
    _txn_commit(coordinator, 1, {TP0: 10})
    _txn_commit(coordinator, 2, {TP1: 20})
    _txn_commit(coordinator, 3, {TP2: 30})
    _txn_commit(coordinator, 4, {TP0: 40}, group="other")
    _end(coordinator, store, 2, commit=False)
    _end(coordinator, store, 1, commit=True)
    before = (_offsets(coordinator), coordinator.fetch_stable_offsets("g", [TP0, TP1, TP2])[1])
    coordinator.close()

    again = _reloaded(store)
    try:
        assert (_offsets(again), again.fetch_stable_offsets("g", [TP0, TP1, TP2])[1]) == before
        assert before == ({TP0: 10, TP1: 1, TP2: None}, {TP2})
        assert again.fetch_stable_offsets("other", [TP0])[1] == {TP0}
        _end(again, store, 3, commit=True)
        _end(again, store, 4, commit=False)
        assert _offsets(again) == {TP0: 10, TP1: 1, TP2: 30}
        assert _offsets(again, "other") == {TP0: None, TP1: None, TP2: None}
    finally:
        again.close()


@pytest.mark.parametrize("reload", [False, True])
def test_the_newest_record_wins_between_plain_and_transactional_commits(
    coordinator: GroupCoordinator, store: TopicStore, reload: bool
) -> None:
    _txn_commit(coordinator, 7, {TP0: 10, TP1: 10})
    coordinator.commit_offsets("g", -1, "", {TP0: CommittedOffset(99)})  # written after the transaction's record
    _end(coordinator, store, 7, commit=True)
    current = coordinator
    if reload:
        coordinator.close()
        current = _reloaded(store)
    try:
        assert _offsets(current) == {TP0: 99, TP1: 10, TP2: None}
    finally:
        if reload:
            current.close()


def test_deleting_the_group_deletes_its_pending_offsets(coordinator: GroupCoordinator, store: TopicStore) -> None:
    _txn_commit(coordinator, 7, {TP0: 10})
    assert coordinator.delete_groups(["g"]) == {"g": ErrorCode.NONE}
    _end(coordinator, store, 7, commit=True)
    assert _offsets(coordinator) == {TP0: None, TP1: None, TP2: None}
    assert coordinator.list_groups() == []
    coordinator.close()
    again = _reloaded(store)
    try:
        assert again.list_groups() == []
        assert _offsets(again) == {TP0: None, TP1: None, TP2: None}
    finally:
        again.close()


def test_offset_delete_deletes_a_pending_offset(coordinator: GroupCoordinator, store: TopicStore) -> None:
    coordinator.commit_offsets("g", -1, "", {TP1: CommittedOffset(1)})
    _txn_commit(coordinator, 7, {TP0: 10, TP1: 11})
    assert coordinator.delete_offsets("g", [TP0]) == (ErrorCode.NONE, {TP0: ErrorCode.NONE})
    assert coordinator.fetch_stable_offsets("g", [TP0, TP1])[1] == {TP1}
    _end(coordinator, store, 7, commit=True)
    assert _offsets(coordinator) == {TP0: None, TP1: 11, TP2: None}


def test_a_group_with_members_is_not_deleted_for_its_pending_offsets(coordinator: GroupCoordinator) -> None:
    _stable_pair(coordinator)
    _txn_commit(coordinator, 7, {TP0: 10})
    assert coordinator.delete_groups(["g"]) == {"g": ErrorCode.NON_EMPTY_GROUP}
    assert coordinator.fetch_stable_offsets("g", [TP0])[1] == {TP0}


def test_several_producers_commit_and_abort_independently(coordinator: GroupCoordinator, store: TopicStore) -> None:
    _txn_commit(coordinator, 1, {TP0: 10})
    _txn_commit(coordinator, 2, {TP0: 20, TP1: 21})
    _end(coordinator, store, 2, commit=True)
    assert _offsets(coordinator) == {TP0: 20, TP1: 21, TP2: None}
    assert coordinator.fetch_stable_offsets("g", [TP0, TP1])[1] == {TP0}  # producer 1's is still open
    _end(coordinator, store, 1, commit=True)  # written before producer 2's: newer records win, not later markers
    assert _offsets(coordinator) == {TP0: 20, TP1: 21, TP2: None}


def test_requests_are_checked_as_kafka_checks_them(coordinator: GroupCoordinator) -> None:
    assert _txn_commit(coordinator, 7, {TP0: 1}, group="") == {TP0: ErrorCode.INVALID_GROUP_ID}
    assert _txn_commit(coordinator, 7, {TP0: 1}, group="g" * 32_768) == {TP0: ErrorCode.INVALID_GROUP_ID}
    assert _txn_commit(coordinator, 7, {TP0: 1}, group="new", generation_id=2) == {TP0: ErrorCode.ILLEGAL_GENERATION}
    too_large = {TP0: CommittedOffset(1, metadata="x" * 17), TP1: CommittedOffset(2)}
    assert coordinator.commit_transactional_offsets("g", "t", 7, 0, too_large) == {
        TP0: ErrorCode.OFFSET_METADATA_TOO_LARGE,
        TP1: ErrorCode.NONE,
    }
    leader, _ = _stable_pair(coordinator)
    member, generation = leader.member_id, leader.generation_id
    assert _txn_commit(coordinator, 7, {TP0: 1}, member_id="nobody", generation_id=generation) == {
        TP0: ErrorCode.UNKNOWN_MEMBER_ID
    }
    assert _txn_commit(coordinator, 7, {TP0: 1}, member_id=member, generation_id=generation + 1) == {
        TP0: ErrorCode.ILLEGAL_GENERATION
    }
    assert _txn_commit(coordinator, 7, {TP0: 1}, member_id=member, generation_id=generation) == {TP0: ErrorCode.NONE}
    # Versions 0-2 name no member: accepted even though the group has members.
    assert _txn_commit(coordinator, 7, {TP0: 2}) == {TP0: ErrorCode.NONE}


def test_an_older_producer_epoch_is_refused_by_the_log(coordinator: GroupCoordinator) -> None:
    assert _txn_commit(coordinator, 7, {TP0: 1}, epoch=3) == {TP0: ErrorCode.NONE}
    assert _txn_commit(coordinator, 7, {TP1: 1}, epoch=2) == {TP1: ErrorCode.INVALID_PRODUCER_EPOCH}
    assert coordinator.fetch_stable_offsets("g", [TP0, TP1])[1] == {TP0}


def test_the_transaction_coordinators_verdict_refuses_before_anything_is_written(
    coordinator: GroupCoordinator, store: TopicStore
) -> None:
    asked: list[tuple[str, int, int, list[tuple[str, int]]]] = []
    verdicts = [ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_TXN_STATE, ErrorCode.NOT_COORDINATOR, ErrorCode.NONE]

    def verify(
        transactional_id: str, producer_id: int, epoch: int, partitions: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], ErrorCode]:
        wanted = list(partitions)
        asked.append((transactional_id, producer_id, epoch, wanted))
        return dict.fromkeys(wanted, verdicts[len(asked) - 1])

    coordinator.transaction_verifier = verify
    # Kafka's broker answers the transaction coordinator's PRODUCER_FENCED as INVALID_PRODUCER_EPOCH.
    assert _txn_commit(coordinator, 7, {TP0: 1}, epoch=4) == {TP0: ErrorCode.INVALID_PRODUCER_EPOCH}
    assert _txn_commit(coordinator, 7, {TP0: 1}, epoch=4) == {TP0: ErrorCode.INVALID_TXN_STATE}
    assert asked[0] == ("txn-7", 7, 4, [(OFFSETS_TOPIC, 0)])
    assert store.partition(OFFSETS_TOPIC, 0).log_end_offset == 0
    # A verifier that cannot tell (the transactional id is coordinated elsewhere) does not refuse.
    assert _txn_commit(coordinator, 7, {TP0: 1}, epoch=4) == {TP0: ErrorCode.NONE}
    assert _txn_commit(coordinator, 7, {TP1: 1}, epoch=4) == {TP1: ErrorCode.NONE}


def test_a_coordinator_that_does_not_lead_refuses_and_ignores_markers(
    coordinator: GroupCoordinator, store: TopicStore
) -> None:
    _txn_commit(coordinator, 7, {TP0: 10})
    coordinator.resign()
    assert _txn_commit(coordinator, 7, {TP0: 1}) == {TP0: ErrorCode.NOT_COORDINATOR}
    _end(coordinator, store, 7, commit=True)  # another node's business now
    coordinator.become_coordinator(1)  # the log has the marker: loading applies it
    assert _offsets(coordinator) == {TP0: 10, TP1: None, TP2: None}


def test_markers_of_other_partitions_are_not_the_coordinators(coordinator: GroupCoordinator) -> None:
    _txn_commit(coordinator, 7, {TP0: 10})
    coordinator.on_marker("in", 0, 7, True, 0)
    coordinator.on_marker(OFFSETS_TOPIC, 1, 7, True, 0)
    assert coordinator.fetch_stable_offsets("g", [TP0])[1] == {TP0}


def test_pending_offsets_by_producer_and_group() -> None:
    pending = PendingTxnOffsets()
    pending.add(1, "a", {TP0: PositionedOffset(CommittedOffset(1), 0), TP1: PositionedOffset(CommittedOffset(2), 1)})
    pending.add(2, "a", {TP1: PositionedOffset(CommittedOffset(3), 2)})
    pending.add(2, "b", {TP0: PositionedOffset(CommittedOffset(4), 3)})
    assert pending.producers("a") == {1, 2}
    assert pending.pending_partitions("a") == {TP0, TP1}
    pending.remove("a", [TP1])
    assert pending.pending_partitions("a") == {TP0}
    assert pending.producers("a") == {1}
    assert pending.end(2) == {"b": {TP0: PositionedOffset(CommittedOffset(4), 3)}}
    assert pending.groups() == ["a"]
    assert len(pending) == 1
    pending.remove("a")
    assert len(pending) == 0
    assert pending.groups() == []


def test_an_offsets_log_of_plain_pairs_is_still_read() -> None:
    class PairsLog:
        def append(self, records: object, **_: object) -> None:
            raise AssertionError("not written to")

        def read_all(self) -> list[tuple[bytes, bytes | None]]:
            from hub.log.group.offsets_format import OffsetKey, OffsetValue, encode_offset_key, encode_offset_value

            key = encode_offset_key(OffsetKey("g", "in", 0))
            return [
                (key, encode_offset_value(OffsetValue(3, -1, "", 1))),
                (key, encode_offset_value(OffsetValue(4, -1, "", 2))),
            ]

    from hub.log.group.offsets_manager import OffsetsManager

    loaded = OffsetsManager(PairsLog(), lambda *a, **k: None, max_metadata_bytes=10).load(lambda: 0.0)
    assert loaded.groups["g"].offsets[TP0].offset == 4
    assert loaded.last_offset == 1


class HeldOffsetsLog(TopicOffsetsLog):
    """Holds a transaction's append until ``release`` is set (``appending`` tells it has begun)."""

    def __init__(self, store: TopicStore) -> None:
        super().__init__(store)
        self.appending = threading.Event()
        self.release = threading.Event()

    def append(self, records: Sequence[tuple[bytes, bytes | None]], **producer: int) -> None:
        if producer:
            self.appending.set()
            assert self.release.wait(10)
        super().append(records, **producer)


@pytest.mark.parametrize("commit", [True, False])
def test_a_marker_landing_while_the_offsets_are_written_ends_them_too(store: TopicStore, commit: bool) -> None:
    held = HeldOffsetsLog(store)
    c = GroupCoordinator(held, FAST)
    c.start()
    try:
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(_txn_commit, c, 7, {TP0: 10})
            assert held.appending.wait(10)
            c.on_marker(OFFSETS_TOPIC, 0, 7, commit, 99)  # the marker of the transaction the write is part of
            held.release.set()
            assert sent.result(10) == {TP0: ErrorCode.NONE}
        assert _offsets(c) == {TP0: 10 if commit else None, TP1: None, TP2: None}
        assert c.fetch_stable_offsets("g", [TP0])[1] == set()
        _txn_commit(c, 7, {TP1: 11})  # the producer's next transaction stays pending
        assert c.fetch_stable_offsets("g", [TP0, TP1])[1] == {TP1}
    finally:
        c.close()
