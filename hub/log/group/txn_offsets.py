"""PendingTxnOffsets: offsets committed inside transactions that have not ended yet (TxnOffsetCommit), per producer.

As Kafka's pending transactional offsets: a TxnOffsetCommit's records are in ``__consumer_offsets`` (written as
the producer's transactional batch) but its offsets are not the group's until the transaction's COMMIT marker lands
in that partition; an ABORT marker drops them. Meanwhile OffsetFetch still answers the last committed offset, and
with ``require_stable`` UNSTABLE_OFFSET_COMMIT for a partition that has one pending.

Every offset carries its ``position``: where its record is in the log (or, for a live write, a number that orders
it as the log does). On COMMIT a pending offset becomes the group's only when it is newer than the committed one:
a plain OffsetCommit written after the transactional one wins, as in Kafka.

Invariants: a producer id is listed for a group exactly while it holds a pending offset of that group; a tombstone
of a partition (group or offsets deleted) removes every producer's pending offset of it.

Plain data, guarded by the group coordinator's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hub.log.group.group import CommittedOffset

TopicPartitionKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PositionedOffset:
    """An offset and the position of its record in ``__consumer_offsets``."""

    offset: CommittedOffset
    position: int


#: A transaction's offsets as it ends: by group, by partition.
EndedOffsets = dict[str, dict[TopicPartitionKey, PositionedOffset]]


class PendingTxnOffsets:
    """Pending offsets by producer id and group (see the module docstring)."""

    def __init__(self) -> None:
        self._by_producer: dict[int, EndedOffsets] = {}
        self._producers_by_group: dict[str, set[int]] = {}

    def add(self, producer_id: int, group_id: str, offsets: Mapping[TopicPartitionKey, PositionedOffset]) -> None:
        """Offsets a transaction committed to ``group_id`` (a later one of the same partition replaces it)."""
        if not offsets:
            return
        self._by_producer.setdefault(producer_id, {}).setdefault(group_id, {}).update(offsets)
        self._producers_by_group.setdefault(group_id, set()).add(producer_id)

    def end(self, producer_id: int) -> EndedOffsets:
        """Forget the producer's pending offsets (its transaction ended) and return them."""
        ended = self._by_producer.pop(producer_id, {})
        for group_id in ended:
            self._unlist(group_id, producer_id)
        return ended

    def has_pending(self, group_id: str, partition: TopicPartitionKey) -> bool:
        return any(
            partition in self._by_producer[producer_id].get(group_id, {})
            for producer_id in self._producers_by_group.get(group_id, ())
        )

    def pending_partitions(self, group_id: str) -> set[TopicPartitionKey]:
        """The partitions of the group with an offset pending in some transaction."""
        partitions: set[TopicPartitionKey] = set()
        for producer_id in self._producers_by_group.get(group_id, ()):
            partitions.update(self._by_producer[producer_id].get(group_id, {}))
        return partitions

    def producers(self, group_id: str) -> frozenset[int]:
        """Producer ids with a transaction holding offsets of the group."""
        return frozenset(self._producers_by_group.get(group_id, ()))

    def groups(self) -> list[str]:
        """Groups with offsets pending in some transaction."""
        return list(self._producers_by_group)

    def remove(self, group_id: str, partitions: Iterable[TopicPartitionKey] | None = None) -> None:
        """Drop every producer's pending offsets of the group among ``partitions`` (None: all of them), as a
        tombstone of each does."""
        wanted = None if partitions is None else set(partitions)
        for producer_id in list(self._producers_by_group.get(group_id, ())):
            by_group = self._by_producer[producer_id]
            offsets = by_group.get(group_id, {})
            for tp in list(offsets) if wanted is None else wanted & offsets.keys():
                del offsets[tp]
            if not offsets:
                by_group.pop(group_id, None)
                self._unlist(group_id, producer_id)
                if not by_group:
                    del self._by_producer[producer_id]

    def __len__(self) -> int:
        """How many producers have pending offsets."""
        return len(self._by_producer)

    def _unlist(self, group_id: str, producer_id: int) -> None:
        producers = self._producers_by_group.get(group_id)
        if producers is not None:
            producers.discard(producer_id)
            if not producers:
                del self._producers_by_group[group_id]
