"""The coordinator follows the leadership of __consumer_offsets: resign drops groups and refuses as Kafka does,
become_coordinator reloads them, and writes of an ended leadership are fenced."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.errors import LogClosedError
from hub.log.group import (
    CommittedOffset,
    CoordinatorConfig,
    GroupCoordinator,
    JoinGroupResult,
    NotCoordinatorError,
    Status,
    TopicOffsetsLog,
)
from hub.log.store import TopicStore

FAST = CoordinatorConfig(min_session_timeout_ms=10, initial_rebalance_delay_ms=0, tick_ms=10)
PROTOCOLS = [("range", b"meta-range")]
Records = Sequence[tuple[bytes, bytes | None]]


class GatedOffsetsLog:
    """Records in memory; an append waits while ``gate`` is closed, and raises ``failure`` when one is set (as a
    replicated log does when its leader lost the partition). ``appending`` is set while an append waits."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.appending = threading.Event()
        self.failure: Exception | None = None
        self.reads_gate = threading.Event()
        self.reads_gate.set()

    def append(self, records: Records) -> None:
        self.appending.set()
        self.gate.wait(10)
        self.appending.clear()
        if self.failure is not None:
            raise self.failure
        self.records.extend(records)

    def read_all(self) -> Iterable[tuple[bytes, bytes | None]]:
        self.reads_gate.wait(10)
        return list(self.records)


@pytest.fixture
def offsets_log() -> GatedOffsetsLog:
    return GatedOffsetsLog()


@pytest.fixture
def coordinator(offsets_log: GatedOffsetsLog) -> Iterator[GroupCoordinator]:
    started = GroupCoordinator(offsets_log, FAST)
    started.start()
    yield started
    offsets_log.gate.set()
    offsets_log.reads_gate.set()
    started.close()


def _join(c: GroupCoordinator, member_id: str = "") -> Future[JoinGroupResult]:
    return c.join_group(
        "g", member_id, "consumer", PROTOCOLS, session_timeout_ms=10_000, rebalance_timeout_ms=2_000, client_id="c"
    )


def _stable_member(c: GroupCoordinator) -> JoinGroupResult:
    joined = _join(c).result(5)
    assert c.sync_group("g", joined.generation_id, joined.member_id, {joined.member_id: b"A"}).result(5).error is (
        ErrorCode.NONE
    )
    return joined


def test_resign_during_a_rebalance_refuses_everything_and_members_rejoin_after_reload(
    coordinator: GroupCoordinator,
) -> None:
    first = _stable_member(coordinator)
    assert coordinator.commit_offsets("g", 1, first.member_id, {("t", 0): CommittedOffset(7)}) == {
        ("t", 0): ErrorCode.NONE
    }
    newcomer = _join(coordinator)  # waits for the first member to rejoin
    assert coordinator.heartbeat("g", 1, first.member_id) is ErrorCode.REBALANCE_IN_PROGRESS

    coordinator.resign()
    assert _status(coordinator) is Status.RESIGNED
    assert newcomer.result(5).error is ErrorCode.NOT_COORDINATOR
    assert coordinator.heartbeat("g", 1, first.member_id) is ErrorCode.NOT_COORDINATOR
    assert _join(coordinator, first.member_id).result(5).error is ErrorCode.NOT_COORDINATOR
    assert coordinator.sync_group("g", 1, first.member_id).result(5).error is ErrorCode.NOT_COORDINATOR
    assert coordinator.leave_group("g", [(first.member_id, None)]) == [ErrorCode.NOT_COORDINATOR]
    assert coordinator.commit_offsets("g", 1, first.member_id, {("t", 0): CommittedOffset(9)}) == {
        ("t", 0): ErrorCode.NOT_COORDINATOR
    }
    with pytest.raises(NotCoordinatorError) as refused:
        coordinator.fetch_offsets("g")
    assert refused.value.error is ErrorCode.NOT_COORDINATOR
    assert coordinator.describe_group("g").error is ErrorCode.NOT_COORDINATOR
    assert coordinator.delete_groups(["g"]) == {"g": ErrorCode.NOT_COORDINATOR}
    assert coordinator.list_groups() == []  # a broker coordinating nothing lists nothing

    coordinator.become_coordinator(1)
    assert _status(coordinator) is Status.ACTIVE
    assert _offset(coordinator, "g", ("t", 0)) == 7
    # The group is back as last stored (Stable, generation 1): the first member keeps heartbeating, and the
    # newcomer's rejoin starts the next generation, which both join.
    assert coordinator.describe_group("g").state == "Stable"
    assert coordinator.heartbeat("g", 1, first.member_id) is ErrorCode.NONE
    newcomer = _join(coordinator)
    assert coordinator.heartbeat("g", 1, first.member_id) is ErrorCode.REBALANCE_IN_PROGRESS
    rejoined = _join(coordinator, first.member_id).result(5)
    joined = newcomer.result(5)
    assert (rejoined.error, joined.error) == (ErrorCode.NONE, ErrorCode.NONE)
    assert rejoined.generation_id == joined.generation_id == 2


def _status(c: GroupCoordinator) -> Status:
    return c.status


def _offset(c: GroupCoordinator, group: str, tp: tuple[str, int]) -> int | None:
    committed = c.fetch_offsets(group, [tp])[tp]
    return None if committed is None else committed.offset


def test_resign_answers_waiting_syncs_with_not_coordinator(coordinator: GroupCoordinator) -> None:
    first = _stable_member(coordinator)
    second_join = _join(coordinator)
    again = _join(coordinator, first.member_id).result(5)
    second = second_join.result(5)
    follower = second if again.leader == again.member_id else again
    waiting_sync = coordinator.sync_group("g", follower.generation_id, follower.member_id)
    coordinator.resign()
    assert waiting_sync.result(5).error is ErrorCode.NOT_COORDINATOR


def test_committed_offsets_and_groups_survive_resign_and_become_on_a_real_store(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        coordinator = GroupCoordinator(TopicOffsetsLog(store), FAST)
        coordinator.start(coordinator=False)
        try:
            assert coordinator.heartbeat("g", 1, "m") is ErrorCode.NOT_COORDINATOR  # not elected yet
            coordinator.become_coordinator(0)
            member = _stable_member(coordinator)
            coordinator.commit_offsets("g", 1, member.member_id, {("orders", 2): CommittedOffset(42, 3, "meta")})
            coordinator.commit_offsets("solo", -1, "", {("orders", 0): CommittedOffset(5)})
            for epoch in (1, 2):
                coordinator.resign(epoch)
                coordinator.become_coordinator(epoch)
            assert coordinator.leader_epoch == 2
            stored = coordinator.fetch_offsets("g")[("orders", 2)]
            assert stored is not None
            assert (stored.offset, stored.leader_epoch, stored.metadata) == (42, 3, "meta")
            assert _offset(coordinator, "solo", ("orders", 0)) == 5
            assert coordinator.heartbeat("g", 1, member.member_id) is ErrorCode.NONE
        finally:
            coordinator.close()


def test_stale_epochs_are_ignored(coordinator: GroupCoordinator) -> None:
    coordinator.resign(0)
    coordinator.become_coordinator(5)
    coordinator.resign(4)  # an older leadership's resignation arriving late
    assert _status(coordinator) is Status.ACTIVE
    coordinator.become_coordinator(6)  # already coordinator: the epoch moves on, nothing is reloaded
    assert (_status(coordinator), coordinator.leader_epoch) == (Status.ACTIVE, 6)
    coordinator.resign(6)
    coordinator.become_coordinator(3)
    assert _status(coordinator) is Status.RESIGNED


def test_a_write_of_an_ended_leadership_is_not_applied_nor_appended_when_not_started(
    coordinator: GroupCoordinator, offsets_log: GatedOffsetsLog
) -> None:
    joined = _join(coordinator).result(5)
    with ThreadPoolExecutor(1) as pool:
        offsets_log.gate.clear()
        in_flight = pool.submit(coordinator.commit_offsets, "solo", -1, "", {("t", 0): CommittedOffset(7)})
        assert offsets_log.appending.wait(5)
        # The leader's sync queues the group's record behind the commit under way (queued when sync_group returns).
        sync = coordinator.sync_group("g", joined.generation_id, joined.member_id, {joined.member_id: b"A"})
        coordinator.resign()  # does not wait for the append under way
        offsets_log.gate.set()
        # Both answer NOT_COORDINATOR: the commit was appended under the old leadership but is not applied to it;
        # the group's record was never appended.
        assert in_flight.result(5) == {("t", 0): ErrorCode.NOT_COORDINATOR}
        assert sync.result(5).error is ErrorCode.NOT_COORDINATOR
    assert len(offsets_log.records) == 1
    coordinator.become_coordinator(1)
    # The committed record is what the log holds, so the next leadership loads it; the skipped one is nowhere.
    assert _offset(coordinator, "solo", ("t", 0)) == 7
    assert coordinator.describe_group("g").state == "Dead"


def test_a_sync_whose_write_outlives_the_leadership_is_refused_and_its_record_loaded_next_time(
    coordinator: GroupCoordinator, offsets_log: GatedOffsetsLog
) -> None:
    joined = _join(coordinator).result(5)
    offsets_log.gate.clear()
    sync = coordinator.sync_group("g", joined.generation_id, joined.member_id, {joined.member_id: b"A"})
    assert offsets_log.appending.wait(5)
    coordinator.resign()
    assert sync.result(5).error is ErrorCode.NOT_COORDINATOR
    offsets_log.gate.set()
    coordinator.become_coordinator(1)
    assert coordinator.heartbeat("g", joined.generation_id, joined.member_id) is ErrorCode.NONE


def test_losing_the_partition_mid_write_answers_not_coordinator_and_resigns(
    coordinator: GroupCoordinator, offsets_log: GatedOffsetsLog
) -> None:
    _stable_member(coordinator)
    waiting = _join(coordinator)  # a rebalance under way
    # LogClosedError is the store's error answered NOT_LEADER_OR_FOLLOWER: the partition is not led here any more.
    offsets_log.failure = LogClosedError("the partition moved")
    assert coordinator.commit_offsets("solo", -1, "", {("t", 0): CommittedOffset(3)}) == {
        ("t", 0): ErrorCode.NOT_COORDINATOR
    }
    assert _status(coordinator) is Status.RESIGNED
    assert waiting.result(5).error is ErrorCode.NOT_COORDINATOR
    offsets_log.failure = None
    coordinator.become_coordinator(1)
    assert _offset(coordinator, "solo", ("t", 0)) is None
    assert coordinator.describe_group("g").state == "Stable"


def test_requests_while_loading_get_kafkas_answers(coordinator: GroupCoordinator, offsets_log: GatedOffsetsLog) -> None:
    coordinator.resign()
    offsets_log.reads_gate.clear()
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(coordinator.become_coordinator, 1)
        while _status(coordinator) is not Status.LOADING:
            threading.Event().wait(0.01)
        assert _join(coordinator).result(5).error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        assert coordinator.heartbeat("g", 1, "m") is ErrorCode.NONE  # answered blindly, as Kafka does
        assert coordinator.sync_group("g", 1, "m").result(5).error is ErrorCode.REBALANCE_IN_PROGRESS
        assert coordinator.commit_offsets("g", -1, "", {("t", 0): CommittedOffset(1)}) == {
            ("t", 0): ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        }
        with pytest.raises(NotCoordinatorError) as refused:
            coordinator.list_groups()
        assert refused.value.error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        offsets_log.reads_gate.set()
        loading.result(5)
    assert _status(coordinator) is Status.ACTIVE
    assert _join(coordinator).result(5).error is ErrorCode.NONE


def test_a_resignation_during_the_load_wins(coordinator: GroupCoordinator, offsets_log: GatedOffsetsLog) -> None:
    coordinator.resign()
    offsets_log.reads_gate.clear()
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(coordinator.become_coordinator, 1)
        while _status(coordinator) is not Status.LOADING:
            threading.Event().wait(0.01)
        coordinator.resign(1)
        offsets_log.reads_gate.set()
        loading.result(5)
    assert _status(coordinator) is Status.RESIGNED


def test_closed_coordinator_is_not_available(coordinator: GroupCoordinator) -> None:
    coordinator.close()
    assert coordinator.heartbeat("g", 1, "m") is ErrorCode.COORDINATOR_NOT_AVAILABLE
    assert _join(coordinator).result(5).error is ErrorCode.COORDINATOR_NOT_AVAILABLE
