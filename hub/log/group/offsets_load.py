"""Loading ``__consumer_offsets``: what a coordinator taking over the partition rebuilds from it.

The records are replayed in log order: a group's last metadata record wins (a tombstone deletes it); an offset
record commits the offset, a tombstone deletes it — and any offset of that partition pending in a transaction;
a transactional offset record (a TxnOffsetCommit's, written as its producer's batch) is pending for its producer id
until that producer's marker: COMMIT makes its offsets the groups' where newer than the committed ones, ABORT drops
them. So committed, aborted and still pending offsets come back as they were. Unreadable records are skipped with a
warning.

Pure functions over an OffsetsLog's records; the caller owns the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hub.log.group.group import CommittedOffset, Group, GroupState, Member
from hub.log.group.offsets_format import (
    GroupValue,
    OffsetKey,
    OffsetsFormatError,
    decode_group_value,
    decode_key,
    decode_offset_value,
)
from hub.log.group.offsets_log import OffsetsLog, StoredRecord, as_stored
from hub.log.group.txn_offsets import PendingTxnOffsets, PositionedOffset

log = logging.getLogger("hub.log.group")

TopicPartitionKey = tuple[str, int]


@dataclass
class Loaded:
    """What ``load`` read: the groups, the transactions' pending offsets, where each committed offset's record is,
    and the offset of the last record read (-1: none)."""

    groups: dict[str, Group]
    pending: PendingTxnOffsets = field(default_factory=PendingTxnOffsets)
    positions: dict[tuple[str, TopicPartitionKey], int] = field(default_factory=dict)
    last_offset: int = -1


def load_offsets(offsets_log: OffsetsLog, clock: Callable[[], float]) -> Loaded:
    """Replay the OffsetsLog in order: a group's last metadata wins (a tombstone deletes it), offsets are
    committed, tombstoned, or pending in their producer's transaction until its marker; restored members count
    as alive at ``clock()`` once the log is read. Changes nothing here (``install``)."""
    group_values: dict[str, bytes | None] = {}
    offsets: dict[str, dict[TopicPartitionKey, CommittedOffset]] = {}
    loaded = Loaded({})
    for record in as_stored(offsets_log.read_all()):
        loaded.last_offset = max(loaded.last_offset, record.offset)
        if record.marker is not None:
            ended = loaded.pending.end(record.producer_id)
            if record.marker:
                for group_id, partitions in ended.items():
                    materialize(offsets.setdefault(group_id, {}), loaded.positions, group_id, partitions)
            continue
        try:
            _replay(record, group_values, offsets, loaded)
        except OffsetsFormatError as exc:
            log.warning("skipping an unreadable __consumer_offsets record: %s", exc)
    now = clock()
    for group_id, raw_value in group_values.items():
        if raw_value is None:
            continue
        try:
            value = decode_group_value(raw_value)
        except OffsetsFormatError as exc:
            log.warning("skipping an unreadable __consumer_offsets record: %s", exc)
            continue
        _restore_group(loaded.groups.setdefault(group_id, Group(group_id)), value, now)
    for group_id, committed in offsets.items():
        if committed:
            loaded.groups.setdefault(group_id, Group(group_id)).offsets.update(committed)
    for group_id in loaded.pending.groups():
        loaded.groups.setdefault(group_id, Group(group_id))  # a group that only has offsets pending
    return loaded


def _replay(
    record: StoredRecord,
    group_values: dict[str, bytes | None],
    offsets: dict[str, dict[TopicPartitionKey, CommittedOffset]],
    loaded: Loaded,
) -> None:
    key = decode_key(record.key)
    if not isinstance(key, OffsetKey):
        group_values[key.group] = record.value
        return
    tp = (key.topic, key.partition)
    if record.value is None:
        offsets.get(key.group, {}).pop(tp, None)
        loaded.positions.pop((key.group, tp), None)
        loaded.pending.remove(key.group, [tp])
        return
    stored = decode_offset_value(record.value)
    committed = CommittedOffset(stored.offset, stored.leader_epoch, stored.metadata, stored.commit_timestamp)
    if record.producer_id >= 0:
        loaded.pending.add(record.producer_id, key.group, {tp: PositionedOffset(committed, record.offset)})
    else:
        offsets.setdefault(key.group, {})[tp] = committed
        loaded.positions[(key.group, tp)] = record.offset


def materialize(
    committed: dict[TopicPartitionKey, CommittedOffset],
    positions: dict[tuple[str, TopicPartitionKey], int],
    group_id: str,
    partitions: Mapping[TopicPartitionKey, PositionedOffset],
) -> None:
    """A committed transaction's offsets become the group's, each unless a newer plain commit of its partition
    was written after it (Kafka keeps the most recent record)."""
    for tp, pending in partitions.items():
        if pending.position > positions.get((group_id, tp), -1):
            committed[tp] = pending.offset
            positions[(group_id, tp)] = pending.position


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
