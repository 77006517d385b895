"""OffsetsManager: the groups table and its records in __consumer_offsets — written first, read back on load."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from hub.log.error_codes import ErrorCode
from hub.log.group import CommittedOffset, GroupState
from hub.log.group.group import Group, Member, Resolution
from hub.log.group.offsets_manager import OffsetsManager, TopicPartitionKey


class FlakyOffsetsLog:
    """Keeps records in memory; refuses writes while ``failing``."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []
        self.failing = False

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        if self.failing:
            raise OSError("disk full")
        self.records.extend(records)

    def read_all(self) -> Iterable[tuple[bytes, bytes | None]]:
        return list(self.records)


def _manager(log: FlakyOffsetsLog) -> OffsetsManager:
    """A manager writing at once, as the coordinator's writer does one write at a time."""

    def write(
        records: Sequence[tuple[bytes, bytes | None]], then: Callable[[ErrorCode, list[Resolution]], None]
    ) -> None:
        try:
            log.append(records)
        except OSError:
            then(ErrorCode.COORDINATOR_NOT_AVAILABLE, [])
        else:
            then(ErrorCode.NONE, [])

    return OffsetsManager(log, write, max_metadata_bytes=8)


def _store_offsets(
    manager: OffsetsManager, group: Group, offsets: dict[TopicPartitionKey, CommittedOffset], now_ms: int
) -> dict[TopicPartitionKey, ErrorCode]:
    results: list[dict[TopicPartitionKey, ErrorCode]] = []
    manager.store_offsets(group, offsets, now_ms, results.append)
    return results[0]


def _delete(manager: OffsetsManager, group: Group) -> ErrorCode:
    results: list[ErrorCode] = []
    manager.delete_group(group, results.append)
    return results[0]


def test_offsets_are_taken_once_written_and_stamped_when_they_carry_no_time() -> None:
    log = FlakyOffsetsLog()
    manager = _manager(log)
    group = manager.get_or_create("g")
    results = _store_offsets(
        manager,
        group,
        {("t", 0): CommittedOffset(5, -1, "ok", -1), ("t", 1): CommittedOffset(7, 2, "far too long", 1)},
        now_ms=1234,
    )
    assert results == {("t", 0): ErrorCode.NONE, ("t", 1): ErrorCode.OFFSET_METADATA_TOO_LARGE}
    assert manager.offsets("g", None) == {("t", 0): CommittedOffset(5, -1, "ok", 1234)}
    assert manager.offsets("g", [("t", 0), ("t", 1)]) == {("t", 0): CommittedOffset(5, -1, "ok", 1234), ("t", 1): None}
    assert len(log.records) == 1


def test_a_failed_write_changes_nothing() -> None:
    log = FlakyOffsetsLog()
    manager = _manager(log)
    group = manager.get_or_create("g")
    _store_offsets(manager, group, {("t", 0): CommittedOffset(5, -1, "", 1)}, now_ms=0)
    log.failing = True
    results = _store_offsets(manager, group, {("t", 0): CommittedOffset(9, -1, "", 2)}, now_ms=0)
    assert results == {("t", 0): ErrorCode.COORDINATOR_NOT_AVAILABLE}
    assert manager.offsets("g", None) == {("t", 0): CommittedOffset(5, -1, "", 1)}
    assert _delete(manager, group) is ErrorCode.COORDINATOR_NOT_AVAILABLE
    assert manager.get("g") is group
    assert group.state is not GroupState.DEAD


def test_groups_and_offsets_are_read_back_and_deleted_groups_stay_deleted() -> None:
    log = FlakyOffsetsLog()
    manager = _manager(log)
    kept = manager.get_or_create("kept")
    kept.generation_id, kept.protocol_type, kept.protocol, kept.leader_id = 3, "consumer", "range", "m-1"
    kept.state = GroupState.STABLE
    kept.members["m-1"] = Member("m-1", None, "client", "/10.0.0.1", 10_000, 20_000, "consumer", [("range", b"sub")])
    kept.members["m-1"].assignment = b"assigned"
    manager.store_group(kept, lambda error, _: None)
    _store_offsets(manager, kept, {("t", 0): CommittedOffset(5, 1, "m", 1)}, now_ms=0)
    gone = manager.get_or_create("gone")
    _store_offsets(manager, gone, {("t", 0): CommittedOffset(3, -1, "", 1)}, now_ms=0)
    assert _delete(manager, gone) is ErrorCode.NONE
    assert gone.state is GroupState.DEAD
    assert manager.get("gone") is None
    log.records.append((b"\x00\x63not a key", b"x"))  # an unreadable record is skipped

    restarted = _manager(log)
    groups = restarted.read_groups(lambda: 42.0)
    assert restarted.get("kept") is None  # reading changes nothing until the groups are taken
    restarted.replace_groups(groups)
    assert sorted(group.group_id for group in restarted.groups()) == ["kept"]
    loaded = restarted.get("kept")
    assert loaded is not None
    assert (loaded.generation_id, loaded.protocol, loaded.leader_id, loaded.state) == (
        3,
        "range",
        "m-1",
        GroupState.STABLE,
    )
    member = loaded.members["m-1"]
    assert (member.assignment, member.metadata_for("range"), member.last_heartbeat) == (b"assigned", b"sub", 42.0)
    assert restarted.offsets("kept", None) == {("t", 0): CommittedOffset(5, 1, "m", 1)}
