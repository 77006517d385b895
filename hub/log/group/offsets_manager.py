"""OffsetsManager: the table of groups and everything of them kept in ``__consumer_offsets``.

As Kafka's GroupMetadataManager next to its GroupCoordinator: the coordinator decides (membership, generations,
whether a commit is allowed); this manager holds the groups and makes their state durable — committed offsets, a
group's metadata after each completed rebalance, and tombstones when a group is deleted — and rebuilds all of it
when its node becomes coordinator. It takes no part in rebalances.

On disk: records of an OffsetsLog (the compacted ``__consumer_offsets`` topic) in Kafka's format
(hub.log.group.offsets_format): an offset commit keyed by (group, topic, partition), a group's metadata keyed by
group; a null value deletes the key. The last record per key wins, so compaction keeps what ``read_groups`` needs.

Offsets committed inside a transaction (TxnOffsetCommit) are written as that producer's transactional batch and
kept pending (hub.log.group.txn_offsets) until the transaction's marker lands in the partition: COMMIT makes them
the group's (unless a later plain commit of the partition is newer), ABORT drops them. Loading replays records and
markers in log order, so committed, aborted and still pending offsets come back as they were.

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
from typing import Protocol

from hub.log.error_codes import ErrorCode
from hub.log.group.group import CommittedOffset, Group, GroupState, Resolution
from hub.log.group.offsets_format import (
    GroupKey,
    GroupValue,
    MemberValue,
    OffsetKey,
    OffsetValue,
    encode_group_key,
    encode_group_value,
    encode_offset_key,
    encode_offset_value,
)
from hub.log.group.offsets_load import Loaded, load_offsets, materialize
from hub.log.group.offsets_log import OffsetsLog, Record
from hub.log.group.txn_offsets import PendingTxnOffsets, PositionedOffset

log = logging.getLogger("hub.log.group")

TopicPartitionKey = tuple[str, int]


Written = Callable[[ErrorCode, list[Resolution]], None]


class Write(Protocol):
    """Queue records (a transaction's when ``producer`` is its id and epoch); ``then`` gets the outcome."""

    def __call__(self, records: Sequence[Record], then: Written, *, producer: tuple[int, int] | None = None) -> None:
        """See the class docstring."""


class OffsetsManager:
    """The groups of one store and their durable state (see the module docstring)."""

    def __init__(self, offsets_log: OffsetsLog, write: Write, *, max_metadata_bytes: int) -> None:
        self.offsets_log = offsets_log
        self.write = write
        self.max_metadata_bytes = max_metadata_bytes
        self._groups: dict[str, Group] = {}
        self._pending = PendingTxnOffsets()
        #: Where the record of each committed offset is (or a number ordering a live write as the log does).
        self._positions: dict[tuple[str, TopicPartitionKey], int] = {}
        self._next_position = 0
        #: Transactional writes under way per producer id, and how its transaction ended meanwhile (see
        #: ``end_transaction``).
        self._writing: dict[int, int] = {}
        self._ended_while_writing: dict[int, bool] = {}

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
        """The groups and offsets the OffsetsLog holds (``load``'s groups)."""
        return self.load(clock).groups

    def load(self, clock: Callable[[], float]) -> Loaded:
        """What the OffsetsLog holds (hub.log.group.offsets_load); changes nothing here (``install``)."""
        return load_offsets(self.offsets_log, clock)

    def replace_groups(self, groups: dict[str, Group]) -> None:
        """Take ``groups`` (from ``read_groups``) as the table, with no transaction pending."""
        self.install(Loaded(groups))

    def install(self, loaded: Loaded) -> None:
        """Take what ``load`` read as the table."""
        self._groups = loaded.groups
        self._pending = loaded.pending
        self._positions = loaded.positions
        self._next_position = loaded.last_offset + 1
        self._writing.clear()
        self._ended_while_writing.clear()

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
        results, accepted = self._accept(offsets, now_ms)
        if not accepted:
            then(results)
            return
        records = _offset_records(group.group_id, accepted)
        positions = self._take_positions(accepted)

        def written(error: ErrorCode, _: list[Resolution]) -> None:
            if error is ErrorCode.NONE:
                if self._groups.get(group.group_id) is group:
                    group.offsets.update(accepted)
                    self._positions.update(((group.group_id, tp), position) for tp, position in positions.items())
            else:
                log.error("group %r: storing offsets failed: %s", group.group_id, error.name)
            results.update(dict.fromkeys(accepted, error))
            then(results)

        self.write(records, written)

    def store_txn_offsets(
        self,
        group: Group,
        producer_id: int,
        producer_epoch: int,
        offsets: Mapping[TopicPartitionKey, CommittedOffset],
        now_ms: int,
        then: Callable[[dict[TopicPartitionKey, ErrorCode]], None],
    ) -> None:
        """TxnOffsetCommit: write the offsets as the producer's transactional batch, then keep them pending until
        its transaction ends (``end_transaction``); ``then`` gets per partition NONE, OFFSET_METADATA_TOO_LARGE
        (not written) or the write's error."""
        results, accepted = self._accept(offsets, now_ms)
        if not accepted:
            then(results)
            return
        records = _offset_records(group.group_id, accepted)
        positions = self._take_positions(accepted)

        def written(error: ErrorCode, _: list[Resolution]) -> None:
            writing = self._writing.get(producer_id, 0) - 1
            if writing > 0:
                self._writing[producer_id] = writing
            else:
                self._writing.pop(producer_id, None)
            if error is ErrorCode.NONE:
                if self._groups.get(group.group_id) is group:
                    self._pending.add(
                        producer_id,
                        group.group_id,
                        {tp: PositionedOffset(c, positions[tp]) for tp, c in accepted.items()},
                    )
            else:
                log.warning("group %r: storing transactional offsets failed: %s", group.group_id, error.name)
            ended = self._ended_while_writing.get(producer_id)
            if ended is not None:
                if writing <= 0:
                    del self._ended_while_writing[producer_id]
                self.end_transaction(producer_id, ended)
            results.update(dict.fromkeys(accepted, error))
            then(results)

        self._writing[producer_id] = self._writing.get(producer_id, 0) + 1
        self.write(records, written, producer=(producer_id, producer_epoch))

    def end_transaction(self, producer_id: int, commit: bool) -> int:
        """The producer's transaction ended (its marker is in the log): on commit its pending offsets become their
        groups' where newer than the committed ones; on abort they are dropped. Returns how many it held.

        A write of the producer's offsets still under way when the marker lands was appended before it (one appended
        after the marker would carry an epoch the partition has fenced, or come from a producer that ended its
        transaction before being answered), so it belongs to the transaction that ended: it is ended too once
        written."""
        if self._writing.get(producer_id):
            self._ended_while_writing[producer_id] = commit
        ended = self._pending.end(producer_id)
        if commit:
            for group_id, partitions in ended.items():
                group = self._groups.get(group_id)
                if group is not None and group.state is not GroupState.DEAD:
                    materialize(group.offsets, self._positions, group_id, partitions)
        return sum(len(partitions) for partitions in ended.values())

    def unstable(self, group_id: str, partitions: Iterable[TopicPartitionKey] | None) -> set[TopicPartitionKey]:
        """Which of ``partitions`` (None: the group's committed ones) have an offset pending in a transaction."""
        pending = self._pending.pending_partitions(group_id)
        if partitions is None:
            group = self._groups.get(group_id)
            partitions = group.offsets if group is not None else ()
        return {tp for tp in partitions if tp in pending}

    def _accept(
        self, offsets: Mapping[TopicPartitionKey, CommittedOffset], now_ms: int
    ) -> tuple[dict[TopicPartitionKey, ErrorCode], dict[TopicPartitionKey, CommittedOffset]]:
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
        return results, accepted

    def _take_positions(self, offsets: Iterable[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        """Numbers for records about to be queued, in queue order (so in the log's order)."""
        positions = {}
        for tp in offsets:
            positions[tp] = self._next_position
            self._next_position += 1
        return positions

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
        """Write tombstones for the empty group and its offsets (those pending in transactions too, as Kafka),
        DEAD until they are committed; then drop it. When the write fails the group is back as it was; ``then``
        gets the outcome."""
        pending = sorted(self._pending.pending_partitions(group.group_id))
        partitions = dict.fromkeys(group.offsets) | dict.fromkeys(pending)
        tombstones: list[Record] = [(encode_group_key(GroupKey(group.group_id)), None)]
        tombstones += [
            (encode_offset_key(OffsetKey(group.group_id, topic, partition)), None) for topic, partition in partitions
        ]
        previous = group.state
        group.state = GroupState.DEAD

        def written(error: ErrorCode, _: list[Resolution]) -> None:
            if self._groups.get(group.group_id) is group:
                if error is ErrorCode.NONE:
                    del self._groups[group.group_id]
                    self._pending.remove(group.group_id)
                    for tp in partitions:
                        self._positions.pop((group.group_id, tp), None)
                else:
                    log.error("group %r: deleting failed: %s", group.group_id, error.name)
                    group.state = previous
            then(error)

        self.write(tombstones, written)

    def delete_offsets(
        self, group: Group, partitions: Iterable[TopicPartitionKey], then: Callable[[ErrorCode], None]
    ) -> None:
        """Write tombstones for the group's offsets among ``partitions`` (committed, or pending in a transaction, as
        Kafka), then forget them; ``then`` gets the outcome (NONE at once when there is none)."""
        pending = self._pending.pending_partitions(group.group_id)
        deleted = [tp for tp in dict.fromkeys(partitions) if tp in group.offsets or tp in pending]
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
                    self._positions.pop((group.group_id, tp), None)
                self._pending.remove(group.group_id, deleted)
            else:
                log.error("group %r: deleting offsets failed: %s", group.group_id, error.name)
            then(error)

        self.write(tombstones, written)


def _offset_records(group_id: str, offsets: Mapping[TopicPartitionKey, CommittedOffset]) -> list[Record]:
    return [
        (
            encode_offset_key(OffsetKey(group_id, topic, partition)),
            encode_offset_value(OffsetValue(c.offset, c.leader_epoch, c.metadata, c.commit_timestamp)),
        )
        for (topic, partition), c in offsets.items()
    ]
