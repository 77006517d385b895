"""OffsetsManager: the table of groups and everything of them kept in ``__consumer_offsets``.

As Kafka's GroupMetadataManager next to its GroupCoordinator: the coordinator decides (membership, generations,
whether a commit is allowed); this manager holds the groups and makes their state durable — committed offsets, a
group's metadata after each completed rebalance, and tombstones when a group is deleted — and rebuilds all of it
when its node becomes coordinator. It takes no part in rebalances.

On disk: records of an OffsetsLog (the compacted ``__consumer_offsets`` topic) in Kafka's format
(hub.log.group.offsets_format): an offset commit keyed by (group, topic, partition), a group's metadata keyed by
group; a null value deletes the key. The last record per key wins, so compaction keeps what ``read_groups`` needs.

Writes go through the coordinator's ``write(records, then)``: the records are queued in the order of the calls,
and ``then(error, resolutions)`` runs under the coordinator's lock once they are committed (NONE) or failed —
NOT_COORDINATOR when the coordinator resigned meanwhile, so nothing may be applied then.

Invariants: a record is committed before the state it describes changes here (a failed write changes nothing and
is reported); every known group is in the table, a deleted one is not; a group being deleted is DEAD until its
tombstones are committed.

Offsets are kept until their group is deleted: Hub does not expire them (``offsets.retention.minutes``).

Thread-safety: none of its own; its owner (GroupCoordinator) calls it, and the ``then`` callbacks, under the one
lock that guards all groups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from hub.log.error_codes import ErrorCode
from hub.log.group.group import CommittedOffset, Group, GroupState, Member, Resolution
from hub.log.group.offsets_format import (
    GroupKey,
    GroupValue,
    MemberValue,
    OffsetKey,
    OffsetsFormatError,
    OffsetValue,
    decode_group_value,
    decode_key,
    decode_offset_value,
    encode_group_key,
    encode_group_value,
    encode_offset_key,
    encode_offset_value,
)
from hub.log.group.offsets_log import OffsetsLog, Record

log = logging.getLogger("hub.log.group")

TopicPartitionKey = tuple[str, int]


Written = Callable[[ErrorCode, list[Resolution]], None]
Write = Callable[[Sequence[Record], Written], None]


class OffsetsManager:
    """The groups of one store and their durable state (see the module docstring)."""

    def __init__(self, offsets_log: OffsetsLog, write: Write, *, max_metadata_bytes: int) -> None:
        self.offsets_log = offsets_log
        self.write = write
        self.max_metadata_bytes = max_metadata_bytes
        self._groups: dict[str, Group] = {}

    # --- the table of groups -----------------------------------------------------------------------------------

    def get(self, group_id: str) -> Group | None:
        return self._groups.get(group_id)

    def get_or_create(self, group_id: str) -> Group:
        group = self._groups.get(group_id)
        if group is None:
            group = self._groups[group_id] = Group(group_id)
        return group

    def groups(self) -> Iterable[Group]:
        return self._groups.values()

    # --- loading -----------------------------------------------------------------------------------------------

    def read_groups(self, clock: Callable[[], float]) -> dict[str, Group]:
        """The groups and offsets the OffsetsLog holds (last record per key wins; tombstones delete); restored
        members count as alive at ``clock()`` once the log is read. Changes nothing here (``replace_groups``)."""
        latest: dict[bytes, bytes | None] = {}
        for raw, value in self.offsets_log.read_all():
            latest[raw] = value
        groups: dict[str, Group] = {}
        now = clock()
        for raw_key, raw_value in latest.items():
            try:
                key = decode_key(raw_key)
                if raw_value is None:
                    continue
                if isinstance(key, OffsetKey):
                    stored = decode_offset_value(raw_value)
                    group = groups.setdefault(key.group, Group(key.group))
                    group.offsets[(key.topic, key.partition)] = CommittedOffset(
                        stored.offset, stored.leader_epoch, stored.metadata, stored.commit_timestamp
                    )
                else:
                    _restore_group(groups.setdefault(key.group, Group(key.group)), decode_group_value(raw_value), now)
            except OffsetsFormatError as exc:
                log.warning("skipping an unreadable __consumer_offsets record: %s", exc)
        return groups

    def replace_groups(self, groups: dict[str, Group]) -> None:
        """Take ``groups`` (from ``read_groups``) as the table."""
        self._groups = groups

    # --- writing -----------------------------------------------------------------------------------------------

    def store_group(self, group: Group, then: Written) -> None:
        """Write the group's metadata and members' assignments; ``then`` gets the outcome."""
        protocol = group.protocol or ""
        value = GroupValue(
            group.protocol_type or "",
            group.generation_id,
            group.protocol,
            group.leader_id,
            group.state_timestamp_ms,
            tuple(
                MemberValue(
                    m.member_id,
                    m.group_instance_id,
                    m.client_id,
                    m.client_host,
                    m.rebalance_timeout_ms,
                    m.session_timeout_ms,
                    m.metadata_for(protocol),
                    m.assignment,
                )
                for m in group.members.values()
            ),
        )
        self.write([(encode_group_key(GroupKey(group.group_id)), encode_group_value(value))], then)

    def store_offsets(
        self,
        group: Group,
        offsets: Mapping[TopicPartitionKey, CommittedOffset],
        now_ms: int,
        then: Callable[[dict[TopicPartitionKey, ErrorCode]], None],
    ) -> None:
        """Write the offsets, then take them (unless the group was deleted meanwhile); ``then`` gets per partition
        NONE, OFFSET_METADATA_TOO_LARGE (not written) or the write's error. A commit without a timestamp gets
        ``now_ms``."""
        results: dict[TopicPartitionKey, ErrorCode] = {}
        accepted: dict[TopicPartitionKey, CommittedOffset] = {}
        for tp, committed in offsets.items():
            if len(committed.metadata.encode()) > self.max_metadata_bytes:
                results[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
                continue
            accepted[tp] = CommittedOffset(
                committed.offset,
                committed.leader_epoch,
                committed.metadata,
                committed.commit_timestamp if committed.commit_timestamp >= 0 else now_ms,
            )
        if not accepted:
            then(results)
            return
        records: list[Record] = [
            (
                encode_offset_key(OffsetKey(group.group_id, topic, partition)),
                encode_offset_value(OffsetValue(c.offset, c.leader_epoch, c.metadata, c.commit_timestamp)),
            )
            for (topic, partition), c in accepted.items()
        ]

        def written(error: ErrorCode, _: list[Resolution]) -> None:
            if error is ErrorCode.NONE:
                if self._groups.get(group.group_id) is group:
                    group.offsets.update(accepted)
            else:
                log.error("group %r: storing offsets failed: %s", group.group_id, error.name)
            results.update(dict.fromkeys(accepted, error))
            then(results)

        self.write(records, written)

    def offsets(
        self, group_id: str, partitions: Iterable[TopicPartitionKey] | None
    ) -> dict[TopicPartitionKey, CommittedOffset | None]:
        """Committed offsets of a group (all of them when ``partitions`` is None); None where none is."""
        group = self._groups.get(group_id)
        stored = dict(group.offsets) if group is not None else {}
        if partitions is None:
            return dict(stored)
        return {tp: stored.get(tp) for tp in partitions}

    def delete_group(self, group: Group, then: Callable[[ErrorCode], None]) -> None:
        """Write tombstones for the empty group and its offsets, DEAD until they are committed; then drop it.
        When the write fails the group is back as it was; ``then`` gets the outcome."""
        tombstones: list[Record] = [(encode_group_key(GroupKey(group.group_id)), None)]
        tombstones += [
            (encode_offset_key(OffsetKey(group.group_id, topic, partition)), None) for topic, partition in group.offsets
        ]
        previous = group.state
        group.state = GroupState.DEAD

        def written(error: ErrorCode, _: list[Resolution]) -> None:
            if self._groups.get(group.group_id) is group:
                if error is ErrorCode.NONE:
                    del self._groups[group.group_id]
                else:
                    log.error("group %r: deleting failed: %s", group.group_id, error.name)
                    group.state = previous
            then(error)

        self.write(tombstones, written)

    def delete_offsets(
        self, group: Group, partitions: Iterable[TopicPartitionKey], then: Callable[[ErrorCode], None]
    ) -> None:
        """Write tombstones for the group's committed offsets among ``partitions``, then forget them; ``then`` gets
        the outcome (NONE at once when none of them is committed)."""
        deleted = [tp for tp in dict.fromkeys(partitions) if tp in group.offsets]
        if not deleted:
            then(ErrorCode.NONE)
            return
        tombstones: list[Record] = [
            (encode_offset_key(OffsetKey(group.group_id, topic, partition)), None) for topic, partition in deleted
        ]

        def written(error: ErrorCode, _: list[Resolution]) -> None:
            if error is ErrorCode.NONE:
                for tp in deleted:
                    group.offsets.pop(tp, None)
            else:
                log.error("group %r: deleting offsets failed: %s", group.group_id, error.name)
            then(error)

        self.write(tombstones, written)


def _restore_group(group: Group, value: GroupValue, now: float) -> None:
    group.protocol_type = value.protocol_type or None
    group.generation_id = value.generation
    group.protocol = value.protocol
    group.leader_id = value.leader
    group.state = GroupState.STABLE if value.members else GroupState.EMPTY
    group.state_timestamp_ms = value.current_state_timestamp
    for stored in value.members:
        member = Member(
            stored.member_id,
            stored.group_instance_id,
            stored.client_id,
            stored.client_host,
            stored.session_timeout_ms,
            stored.rebalance_timeout_ms,
            value.protocol_type,
            [(value.protocol or "", stored.subscription)],
            stored.assignment,
            last_heartbeat=now,
            is_new=False,
        )
        group.members[member.member_id] = member
        if member.group_instance_id:
            group.static_members[member.group_instance_id] = member.member_id
