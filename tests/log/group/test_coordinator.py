"""The classic group protocol: joins, syncs, heartbeats, leaving, expiry, static members, offsets, restarts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.group import CommittedOffset, CoordinatorConfig, GroupCoordinator, JoinGroupResult, TopicOffsetsLog
from hub.log.group.offsets_format import (
    GroupValue,
    MemberValue,
    OffsetKey,
    OffsetValue,
    decode_group_value,
    decode_key,
    decode_offset_value,
    encode_group_value,
    encode_offset_key,
    encode_offset_value,
)
from hub.log.store import TopicStore

FAST = CoordinatorConfig(min_session_timeout_ms=10, initial_rebalance_delay_ms=0, tick_ms=10)
PROTOCOLS = [("range", b"meta-range"), ("roundrobin", b"meta-rr")]


class MemoryOffsetsLog:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        self.records.extend(records)

    def read_all(self) -> Iterable[tuple[bytes, bytes | None]]:
        return list(self.records)


@pytest.fixture
def coordinator() -> Iterator[GroupCoordinator]:
    started = GroupCoordinator(MemoryOffsetsLog(), FAST)
    started.start()
    yield started
    started.close()


def _join(
    c: GroupCoordinator,
    member_id: str = "",
    *,
    session_ms: int = 10_000,
    group: str = "g",
    protocols: list[tuple[str, bytes]] | None = None,
    instance: str | None = None,
) -> Future[JoinGroupResult]:
    return c.join_group(
        group,
        member_id,
        "consumer",
        protocols or PROTOCOLS,
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=2_000,
        group_instance_id=instance,
        client_id="client",
    )


def _stable_pair(c: GroupCoordinator) -> tuple[JoinGroupResult, JoinGroupResult]:
    first = _join(c).result(5)
    second_future = _join(c)
    first_again = _join(c, first.member_id).result(5)
    second = second_future.result(5)
    leader, follower = (first_again, second) if first_again.leader == first_again.member_id else (second, first_again)
    sync_follower = c.sync_group("g", follower.generation_id, follower.member_id)
    sync_leader = c.sync_group(
        "g", leader.generation_id, leader.member_id, {leader.member_id: b"A", follower.member_id: b"B"}
    )
    assert sync_leader.result(5).assignment == b"A"
    assert sync_follower.result(5).assignment == b"B"
    return leader, follower


def test_single_member_becomes_leader_of_generation_1(coordinator: GroupCoordinator) -> None:
    result = _join(coordinator).result(5)
    assert result.error is ErrorCode.NONE
    assert (result.generation_id, result.protocol_name, result.leader) == (1, "range", result.member_id)
    assert [m.metadata for m in result.members] == [b"meta-range"]
    sync = coordinator.sync_group("g", 1, result.member_id, {result.member_id: b"assigned"}).result(5)
    assert sync.assignment == b"assigned"
    assert coordinator.heartbeat("g", 1, result.member_id) is ErrorCode.NONE
    assert coordinator.describe_group("g").state == "Stable"


def test_second_member_triggers_a_rebalance_and_gets_its_assignment(coordinator: GroupCoordinator) -> None:
    leader, follower = _stable_pair(coordinator)
    assert leader.generation_id == follower.generation_id == 2
    assert len(leader.members) == 2
    assert follower.members == ()
    assert coordinator.heartbeat("g", 2, follower.member_id) is ErrorCode.NONE
    assert coordinator.heartbeat("g", 1, follower.member_id) is ErrorCode.ILLEGAL_GENERATION
    assert coordinator.heartbeat("g", 2, "stranger") is ErrorCode.UNKNOWN_MEMBER_ID


def test_members_see_rebalance_in_progress_and_rejoin(coordinator: GroupCoordinator) -> None:
    leader, follower = _stable_pair(coordinator)
    newcomer = _join(coordinator)
    assert coordinator.heartbeat("g", 2, leader.member_id) is ErrorCode.REBALANCE_IN_PROGRESS
    rejoins = [_join(coordinator, leader.member_id), _join(coordinator, follower.member_id)]
    results = [future.result(5) for future in [*rejoins, newcomer]]
    assert {r.generation_id for r in results} == {3}
    assert sum(1 for r in results if r.members) == 1  # only the leader gets the member list
    assert results[0].leader == leader.member_id  # the leader keeps its role


def test_leaving_member_rebalances_the_others_at_once(coordinator: GroupCoordinator) -> None:
    leader, follower = _stable_pair(coordinator)
    assert coordinator.leave_group("g", [(follower.member_id, None)]) == [ErrorCode.NONE]
    assert coordinator.heartbeat("g", 2, leader.member_id) is ErrorCode.REBALANCE_IN_PROGRESS
    again = _join(coordinator, leader.member_id).result(5)
    assert (again.generation_id, len(again.members)) == (3, 1)
    assert coordinator.leave_group("g", [("nobody", None)]) == [ErrorCode.UNKNOWN_MEMBER_ID]


def test_member_without_heartbeats_expires(coordinator: GroupCoordinator) -> None:
    first = _join(coordinator, session_ms=150).result(5)
    coordinator.sync_group("g", 1, first.member_id, {first.member_id: b""}).result(5)
    second_future = _join(coordinator, session_ms=5_000)
    time.sleep(0.3)  # the first member never heartbeats nor rejoins: it is removed, the second proceeds
    second = second_future.result(5)
    assert [m.member_id for m in second.members] == [second.member_id]
    assert coordinator.heartbeat("g", second.generation_id, first.member_id) is ErrorCode.UNKNOWN_MEMBER_ID


def test_member_id_required_two_step_join(coordinator: GroupCoordinator) -> None:
    first = coordinator.join_group(
        "g", "", "consumer", PROTOCOLS, session_timeout_ms=5_000, require_known_member_id=True
    ).result(5)
    assert first.error is ErrorCode.MEMBER_ID_REQUIRED
    assert first.member_id
    second = coordinator.join_group(
        "g", first.member_id, "consumer", PROTOCOLS, session_timeout_ms=5_000, require_known_member_id=True
    ).result(5)
    assert (second.error, second.member_id) == (ErrorCode.NONE, first.member_id)


def test_protocol_is_chosen_by_votes_and_mismatches_are_refused(coordinator: GroupCoordinator) -> None:
    a = _join(coordinator, protocols=[("roundrobin", b"a"), ("range", b"a")])
    b = _join(coordinator, protocols=[("roundrobin", b"b")])
    first = a.result(5)
    rejoin = _join(coordinator, first.member_id, protocols=[("roundrobin", b"a"), ("range", b"a")]).result(5)
    assert rejoin.protocol_name == b.result(5).protocol_name == "roundrobin"
    refused = _join(coordinator, protocols=[("sticky", b"x")]).result(5)
    assert refused.error is ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    other_type = coordinator.join_group("g", "", "connect", [("roundrobin", b"")], session_timeout_ms=5_000).result(5)
    assert other_type.error is ErrorCode.INCONSISTENT_GROUP_PROTOCOL


def test_invalid_requests(coordinator: GroupCoordinator) -> None:
    assert _join(coordinator, group="").result(5).error is ErrorCode.INVALID_GROUP_ID
    oversized = "g" * 32_768  # longer than a __consumer_offsets key holds
    assert _join(coordinator, group=oversized).result(5).error is ErrorCode.INVALID_GROUP_ID
    assert coordinator.commit_offsets(oversized, -1, "", {("t", 0): CommittedOffset(5)}) == {
        ("t", 0): ErrorCode.INVALID_GROUP_ID
    }
    assert _join(coordinator, session_ms=1).result(5).error is ErrorCode.INVALID_SESSION_TIMEOUT
    assert _join(coordinator, "ghost", group="new").result(5).error is ErrorCode.UNKNOWN_MEMBER_ID
    assert coordinator.sync_group("g", 1, "ghost").result(5).error is ErrorCode.UNKNOWN_MEMBER_ID


def test_static_member_restart_keeps_its_assignment_without_rebalance(coordinator: GroupCoordinator) -> None:
    first = _join(coordinator, instance="worker-1").result(5)
    coordinator.sync_group("g", 1, first.member_id, {first.member_id: b"mine"}).result(5)
    restarted = _join(coordinator, instance="worker-1").result(5)
    assert restarted.member_id != first.member_id
    assert restarted.generation_id == 1
    assert coordinator.sync_group("g", 1, restarted.member_id).result(5).assignment == b"mine"
    assert coordinator.heartbeat("g", 1, first.member_id) is ErrorCode.UNKNOWN_MEMBER_ID


def test_initial_delay_gathers_concurrent_joins_into_one_generation() -> None:
    coordinator = GroupCoordinator(
        MemoryOffsetsLog(), CoordinatorConfig(min_session_timeout_ms=10, initial_rebalance_delay_ms=300, tick_ms=10)
    )
    coordinator.start()
    results: list[JoinGroupResult] = []
    lock = threading.Lock()

    def join() -> None:
        result = _join(coordinator).result(5)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=join) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    coordinator.close()
    assert all(r.error is ErrorCode.NONE for r in results)
    assert {r.generation_id for r in results} == {1}
    assert sum(1 for r in results if len(r.members) == 6) == 1


def test_a_worker_group_is_not_held_back_by_the_initial_delay_but_a_consumer_group_is() -> None:
    coordinator = GroupCoordinator(
        MemoryOffsetsLog(), CoordinatorConfig(min_session_timeout_ms=10, initial_rebalance_delay_ms=60_000, tick_ms=10)
    )
    coordinator.start()
    try:
        worker = coordinator.join_group(
            "workers",
            "",
            "connect",
            [("hub-incremental", b"{}")],
            session_timeout_ms=10_000,
            rebalance_timeout_ms=2_000,
            group_instance_id=None,
            client_id="worker",
        )
        assert worker.result(5).generation_id == 1  # at once, not after 60 s
        consumer = _join(coordinator, group="consumers")
        time.sleep(0.3)
        assert not consumer.done()
    finally:
        coordinator.close()


def test_offset_commit_rules(coordinator: GroupCoordinator) -> None:
    simple = coordinator.commit_offsets("solo", -1, "", {("t", 0): CommittedOffset(5, metadata="m")})
    assert simple == {("t", 0): ErrorCode.NONE}
    assert coordinator.fetch_offsets("solo", [("t", 0), ("t", 1)])[("t", 1)] is None
    assert coordinator.fetch_offsets("solo")[("t", 0)].offset == 5  # type: ignore[union-attr]
    leader, _ = _stable_pair(coordinator)
    tp = ("t", 0)
    assert coordinator.commit_offsets("g", 2, leader.member_id, {tp: CommittedOffset(10)}) == {tp: ErrorCode.NONE}
    assert coordinator.commit_offsets("g", 1, leader.member_id, {tp: CommittedOffset(11)}) == {
        tp: ErrorCode.ILLEGAL_GENERATION
    }
    assert coordinator.commit_offsets("g", 2, "ghost", {tp: CommittedOffset(11)}) == {tp: ErrorCode.UNKNOWN_MEMBER_ID}
    assert coordinator.commit_offsets("g", -1, "", {tp: CommittedOffset(11)}) == {tp: ErrorCode.ILLEGAL_GENERATION}
    too_big = CommittedOffset(12, metadata="x" * 5000)
    assert coordinator.commit_offsets("g", 2, leader.member_id, {tp: too_big}) == {
        tp: ErrorCode.OFFSET_METADATA_TOO_LARGE
    }
    _join(coordinator)  # starts a rebalance
    assert coordinator.commit_offsets("g", 2, leader.member_id, {tp: CommittedOffset(13)}) == {
        tp: ErrorCode.REBALANCE_IN_PROGRESS
    }
    assert coordinator.fetch_offsets("g", [tp])[tp].offset == 10  # type: ignore[union-attr]


def test_list_describe_and_delete_groups(coordinator: GroupCoordinator) -> None:
    _stable_pair(coordinator)
    coordinator.commit_offsets("empty", -1, "", {("t", 0): CommittedOffset(1)})
    listed = {g.group_id: g.state for g in coordinator.list_groups()}
    assert listed == {"g": "Stable", "empty": "Empty"}
    assert [g.group_id for g in coordinator.list_groups(["stable"])] == ["g"]
    described = coordinator.describe_group("g")
    assert (described.protocol, len(described.members)) == ("range", 2)
    assert sorted(m.assignment for m in described.members) == [b"A", b"B"]
    assert coordinator.delete_groups(["g", "empty", "nope"]) == {
        "g": ErrorCode.NON_EMPTY_GROUP,
        "empty": ErrorCode.NONE,
        "nope": ErrorCode.GROUP_ID_NOT_FOUND,
    }
    assert coordinator.fetch_offsets("empty") == {}


def test_offsets_and_groups_survive_a_coordinator_restart(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        first = GroupCoordinator(TopicOffsetsLog(store), FAST)
        first.start()
        leader, _ = _stable_pair(first)
        first.commit_offsets("g", 2, leader.member_id, {("orders", 3): CommittedOffset(42, 7, "meta")})
        first.commit_offsets("gone", -1, "", {("x", 0): CommittedOffset(1)})
        first.delete_groups(["gone"])
        first.close()
    with TopicStore(tmp_path) as store:
        second = GroupCoordinator(TopicOffsetsLog(store), FAST)
        second.start()
        try:
            assert second.fetch_offsets("g", [("orders", 3)])[("orders", 3)] == CommittedOffset(
                42, 7, "meta", second.fetch_offsets("g")[("orders", 3)].commit_timestamp
            )  # type: ignore[union-attr]
            assert second.fetch_offsets("gone") == {}
            described = second.describe_group("g")
            assert described.state == "Stable"
            assert second.heartbeat("g", 2, leader.member_id) is ErrorCode.NONE
        finally:
            second.close()


def test_close_fails_waiting_joins(coordinator: GroupCoordinator) -> None:
    first = _join(coordinator).result(5)
    coordinator.sync_group("g", 1, first.member_id, {first.member_id: b""}).result(5)
    waiting = _join(coordinator)  # waits for the first member to rejoin
    coordinator.close()
    assert waiting.result(5).error is ErrorCode.COORDINATOR_NOT_AVAILABLE


def test_record_formats_match_kafkas_layout() -> None:
    key = encode_offset_key(OffsetKey("g", "t", 3))
    assert key == b"\x00\x01" + b"\x00\x01g" + b"\x00\x01t" + b"\x00\x00\x00\x03"
    assert decode_key(key) == OffsetKey("g", "t", 3)
    value = encode_offset_value(OffsetValue(5, 2, "m", 1000))
    assert value == b"\x00\x03" + (5).to_bytes(8, "big") + (2).to_bytes(4, "big") + b"\x00\x01m" + (1000).to_bytes(
        8, "big"
    )
    assert decode_offset_value(value) == OffsetValue(5, 2, "m", 1000)
    v1 = b"\x00\x01" + (9).to_bytes(8, "big") + b"\x00\x00" + (7).to_bytes(8, "big") + (8).to_bytes(8, "big")
    assert decode_offset_value(v1) == OffsetValue(9, -1, "", 7)
    group = GroupValue(
        "consumer", 4, "range", "m1", 99, (MemberValue("m1", None, "c", "/127.0.0.1", 300000, 10000, b"sub", b"asg"),)
    )
    assert decode_group_value(encode_group_value(group)) == group


def test_client_chosen_group_and_client_ids_cannot_forge_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    coordinator = GroupCoordinator(MemoryOffsetsLog(), FAST)
    coordinator.start()
    forged = "g\n2026-01-01 00:00:00,000 INFO hub.log.group: forged"
    try:
        with caplog.at_level(logging.INFO, logger="hub.log.group"):
            joined = coordinator.join_group(
                forged,
                "",
                "consumer",
                PROTOCOLS,
                session_timeout_ms=10_000,
                rebalance_timeout_ms=2_000,
                group_instance_id=None,
                client_id="c\nforged",
            )
            member = joined.result(5)
            coordinator.leave_group(forged, [(member.member_id, None)])
    finally:
        coordinator.close()
    messages = [record.getMessage() for record in caplog.records]
    assert messages, "the group's rebalance is logged"
    assert not [message for message in messages if "\n" in message]
