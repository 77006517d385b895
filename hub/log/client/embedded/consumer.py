"""EmbeddedConsumer: reads assigned partitions straight from the in-process broker.

Positions start from the group's committed offset when there is one, else from ``auto_offset_reset``
(earliest or latest), like Kafka's consumer; a position that falls out of the log (retention) is reset the same
way. ``poll`` returns decoded records in offset order per partition and long-polls the broker while none are
ready, waking early on ``wakeup()``.

``isolation_level`` READ_COMMITTED (what the runtime asks for) reads only up to each partition's last stable offset
and drops the records of aborted transactions and the markers itself, as Kafka's consumer does
(hub.log.committed_batches); READ_UNCOMMITTED (the default) reads up to the high watermark. Seeks to the end and
``end_offsets`` follow the level too.

With a ``group_id`` the consumer commits offsets to the broker's group coordinator, and ``subscribe`` joins the
group with Kafka's consumer protocol (range, then round-robin assignment), so Hub's consumers and any Kafka
consumer can share a group. Rebalances happen inside ``poll``: ``on_revoke`` runs before partitions are given
up, ``on_assign`` after new ones arrive. Offsets are committed only when asked (no auto-commit).

Not thread-safe (one thread polls), except ``wakeup()``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping

from hub.log.batch import iter_batches, next_offset_after
from hub.log.broker import EARLIEST, LATEST, READ_COMMITTED, READ_UNCOMMITTED, Broker, FetchRequest
from hub.log.client.api import Consumer, PartitionsCallback
from hub.log.client.consumer_protocol import (
    ASSIGNORS,
    assign,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from hub.log.client.embedded.errors import translate, translated_errors
from hub.log.client.embedded.group_member import EmbeddedGroupMember
from hub.log.client.errors import (
    ClientClosedError,
    ClientError,
    GroupMembershipError,
    OffsetOutOfRangeClientError,
    RebalanceInProgressError,
    raise_for,
)
from hub.log.client.types import (
    ConsumerRecord,
    GroupProtocol,
    IsolationLevel,
    OffsetSpec,
    TimestampType,
    TopicPartition,
)
from hub.log.committed_batches import committed_batches
from hub.log.errors import OffsetOutOfRangeError, UnknownTopicOrPartitionError
from hub.log.group import CommittedOffset, GroupCoordinator, NotCoordinatorError
from hub.log.records import decode_batch

_POLL_SLICE_MS = 100
_PARTITION_CHECK_S = 1.0


class EmbeddedConsumer(Consumer):
    """Consumer over an in-process Broker (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        fetch_max_bytes: int = 1 << 20,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 60_000,
        heartbeat_interval_ms: int = 3_000,
    ) -> None:
        if auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError(f"auto_offset_reset must be earliest, latest or none, not {auto_offset_reset!r}")
        self._broker = broker
        self.group_id = group_id
        self._reset = auto_offset_reset
        self.isolation_level = isolation_level
        self._fetch_max_bytes = fetch_max_bytes
        self._assignment: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._buffer: deque[ConsumerRecord] = deque()
        self._woken = threading.Event()
        self._closed = False
        self._subscription: set[str] = set()
        self._on_assign: PartitionsCallback | None = None
        self._on_revoke: PartitionsCallback | None = None
        self._member: EmbeddedGroupMember | None = None
        self._session_timeout_ms = session_timeout_ms
        self._rebalance_timeout_ms = rebalance_timeout_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._partition_counts: dict[str, int] = {}
        self._next_partition_check = 0.0

    # --- assignment --------------------------------------------------------------------------------------------

    def subscribe(
        self,
        topics: Collection[str],
        *,
        on_assign: PartitionsCallback | None = None,
        on_revoke: PartitionsCallback | None = None,
    ) -> None:
        self._check()
        coordinator = self._coordinator()
        if not topics:
            raise ClientError("subscribe needs at least one topic")
        self._subscription = set(topics)
        self._on_assign, self._on_revoke = on_assign, on_revoke
        if self._member is None:
            self._member = EmbeddedGroupMember(
                coordinator,
                self.group_id or "",
                "consumer",
                session_timeout_ms=self._session_timeout_ms,
                rebalance_timeout_ms=self._rebalance_timeout_ms,
                heartbeat_interval_ms=self._heartbeat_interval_ms,
            )

    def _coordinator(self) -> GroupCoordinator:
        if not self.group_id:
            raise ClientError("this consumer has no group_id: give one to subscribe or commit")
        if self._broker.coordinator is None:
            raise ClientError("the broker has no group coordinator")
        return self._broker.coordinator

    def _rejoin(self, timeout_s: float) -> None:
        """Give up the current assignment and join the group again (inside poll)."""
        assert self._member is not None
        if self._assignment and self._on_revoke is not None:
            self._on_revoke(set(self._assignment))
        protocols = [GroupProtocol(name, encode_subscription(self._subscription)) for name in ASSIGNORS]
        joined = self._member.join(protocols, timeout_s=max(timeout_s, self._rebalance_timeout_ms / 1000))
        assignments: dict[str, bytes] | None = None
        self._partition_counts = self._counts(self._subscription)
        if joined.is_leader:
            subscriptions = {m.member_id: decode_subscription(m.metadata) for m in joined.members}
            counts = self._counts({t for topics in subscriptions.values() for t in topics})
            planned = assign(joined.protocol, subscriptions, counts)
            assignments = {member: encode_assignment(partitions) for member, partitions in planned.items()}
        assignment = decode_assignment(self._member.sync(assignments, timeout_s=self._rebalance_timeout_ms / 1000))
        self._assignment = assignment
        self._positions = {tp: offset for tp, offset in self._positions.items() if tp in assignment}
        self._paused &= assignment
        self._buffer = deque(record for record in self._buffer if record.topic_partition in assignment)
        if self._on_assign is not None:
            self._on_assign(set(assignment))

    def _counts(self, topics: Iterable[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for topic in topics:
            try:
                counts[topic] = self._broker.topic(topic, create=False).partitions
            except UnknownTopicOrPartitionError:
                counts[topic] = 0
        return counts

    def _partitions_changed(self) -> bool:
        """Whether a subscribed topic appeared, vanished or grew since the last join (checked at most once a
        second). Like Kafka's consumers watching metadata, a member that sees it rejoins, so the group's leader
        assigns the new partitions — a sink subscribed before its topic existed would otherwise never read it."""
        now = time.monotonic()
        if now < self._next_partition_check:
            return False
        self._next_partition_check = now + _PARTITION_CHECK_S
        return self._counts(self._subscription) != self._partition_counts

    def assign(self, partitions: Collection[TopicPartition]) -> None:
        self._check()
        if self._member is not None:
            raise ClientError("this consumer is subscribed to a group; it cannot also assign partitions")
        with translated_errors():
            for partition in partitions:
                self._broker.store.partition(partition.topic, partition.partition)
        self._assignment = set(partitions)
        self._positions = {tp: offset for tp, offset in self._positions.items() if tp in self._assignment}
        self._paused &= self._assignment
        self._buffer = deque(record for record in self._buffer if record.topic_partition in self._assignment)

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    def _check(self) -> None:
        if self._closed:
            raise ClientClosedError("consumer is closed")

    def _check_assigned(self, partition: TopicPartition) -> None:
        if partition not in self._assignment:
            raise ClientError(f"partition {partition} is not assigned to this consumer")

    # --- positions ---------------------------------------------------------------------------------------------

    def _initial_position(self, partition: TopicPartition) -> int:
        committed = self.committed([partition])[partition] if self.group_id else None
        if committed is not None:
            return committed
        return self._reset_position(partition)

    def _reset_position(self, partition: TopicPartition) -> int:
        if self._reset == "none":
            raise OffsetOutOfRangeClientError(f"no valid position for {partition} and auto_offset_reset is none")
        spec = EARLIEST if self._reset == "earliest" else LATEST
        with translated_errors():
            located = self._broker.list_offset(
                partition.topic, partition.partition, spec, isolation_level=self._isolation
            )
        assert located is not None
        return located[0]

    @property
    def _isolation(self) -> int:
        """The broker's isolation level number for this consumer's ``isolation_level``."""
        return READ_COMMITTED if self.isolation_level is IsolationLevel.READ_COMMITTED else READ_UNCOMMITTED

    def position(self, partition: TopicPartition) -> int:
        self._check_assigned(partition)
        if partition not in self._positions:
            self._positions[partition] = self._initial_position(partition)
        return self._positions[partition]

    def seek(self, partition: TopicPartition, offset: int | OffsetSpec) -> None:
        self._check_assigned(partition)
        if isinstance(offset, OffsetSpec):
            spec = EARLIEST if offset is OffsetSpec.EARLIEST else LATEST
            with translated_errors():
                located = self._broker.list_offset(
                    partition.topic, partition.partition, spec, isolation_level=self._isolation
                )
            assert located is not None
            offset = located[0]
        self._positions[partition] = offset
        self._buffer = deque(record for record in self._buffer if record.topic_partition != partition)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        for partition in partitions:
            self._check_assigned(partition)
            self._paused.add(partition)
        self._buffer = deque(record for record in self._buffer if record.topic_partition not in self._paused)

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        self._paused.difference_update(partitions)

    # --- reading -----------------------------------------------------------------------------------------------

    def poll(self, timeout_s: float, max_records: int = 500) -> list[ConsumerRecord]:
        self._check()
        deadline = time.monotonic() + timeout_s
        if self._member is not None and (self._member.needs_rejoin() or self._partitions_changed()):
            try:
                self._rejoin(timeout_s)
            except (RebalanceInProgressError, GroupMembershipError):
                return []  # the group moved on while joining: the next poll joins again
        while not self._buffer:
            if self._woken.is_set():
                self._woken.clear()
                return []
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            self._fetch(max(0, min(remaining_ms, _POLL_SLICE_MS)))
            if self._buffer or remaining_ms <= 0:
                break
        records: list[ConsumerRecord] = []
        while self._buffer and len(records) < max_records:
            record = self._buffer.popleft()
            records.append(record)
            self._positions[record.topic_partition] = record.offset + 1
        return records

    def _fetch(self, max_wait_ms: int) -> None:
        readable = [tp for tp in sorted(self._assignment) if tp not in self._paused]
        if not readable:
            if max_wait_ms:
                self._woken.wait(max_wait_ms / 1000)
            return
        requests = [
            FetchRequest(tp.topic, tp.partition, self.position(tp), self._fetch_max_bytes, self._isolation)
            for tp in readable
        ]
        results = self._broker.fetch(requests, max_wait_ms=max_wait_ms, max_bytes=self._fetch_max_bytes * 4)
        for request, result in zip(requests, results, strict=True):
            partition = TopicPartition(request.topic, request.partition)
            if isinstance(result.error, OffsetOutOfRangeError):
                self._positions[partition] = self._reset_position(partition)
                continue
            if result.error is not None:
                raise translate(result.error)
            self._decode(partition, request.offset, result.records, result.aborted_transactions)

    def _decode(
        self, partition: TopicPartition, position: int, data: bytes, aborted: tuple[tuple[int, int], ...]
    ) -> None:
        next_position = next_offset_after(data) if data else position
        added = False
        # read_committed: the records of aborted transactions are dropped here, as Kafka's client drops them.
        batches = (
            committed_batches(data, aborted)
            if self.isolation_level is IsolationLevel.READ_COMMITTED
            else iter_batches(data)
        )
        for offset_in_buffer, header in batches:
            if header.is_control:
                continue
            timestamp_type = TimestampType(header.timestamp_type)
            for record in decode_batch(data, offset_in_buffer).records:
                if record.offset < position:
                    continue
                timestamp = (
                    header.max_timestamp if timestamp_type is TimestampType.LOG_APPEND_TIME else record.timestamp
                )
                added = True
                self._buffer.append(
                    ConsumerRecord(
                        partition.topic,
                        partition.partition,
                        record.offset,
                        timestamp,
                        record.key,
                        record.value,
                        tuple((header_.key, header_.value) for header_ in record.headers),
                        timestamp_type,
                    )
                )
        if not added:
            # Nothing readable in what came back (control batches, compacted gaps): move past it.
            self._positions[partition] = next_position

    def wakeup(self) -> None:
        self._woken.set()

    # --- offsets -----------------------------------------------------------------------------------------------

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None, *, metadata: str = "") -> None:
        self._check()
        coordinator = self._coordinator()
        if offsets is None:
            offsets = {tp: self._positions[tp] for tp in self._assignment if tp in self._positions}
        generation, member_id = -1, ""
        if self._member is not None:
            generation, member_id = self._member.generation_id, self._member.member_id
        results = coordinator.commit_offsets(
            self.group_id or "",
            generation,
            member_id,
            {(tp.topic, tp.partition): CommittedOffset(offset, -1, metadata) for tp, offset in offsets.items()},
        )
        for (topic, partition), error in results.items():
            raise_for(error, f"committing {topic}-{partition} for group {self.group_id}")

    def group_metadata(self) -> tuple[str, int, str]:
        """Group id, generation and member id (-1 and "" outside a group's membership), for a transactional
        producer's ``send_offsets_to_transaction``."""
        self._check()
        if self._member is None:
            return self.group_id or "", -1, ""
        return self.group_id or "", self._member.generation_id, self._member.member_id

    def committed(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        try:
            stored = self._coordinator().fetch_offsets(
                self.group_id or "", [(tp.topic, tp.partition) for tp in partitions]
            )
        except NotCoordinatorError as exc:
            raise_for(exc.error, f"fetching the committed offsets of group {self.group_id}")
            raise
        found: dict[TopicPartition, int | None] = {}
        for tp in partitions:
            committed = stored.get((tp.topic, tp.partition))
            found[tp] = None if committed is None else committed.offset
        return found

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        with translated_errors():
            return {tp: self._end_offset(tp) for tp in partitions}

    def _end_offset(self, partition: TopicPartition) -> int:
        located = self._broker.list_offset(
            partition.topic, partition.partition, LATEST, isolation_level=self._isolation
        )
        assert located is not None  # LATEST always has an answer
        return located[0]

    def close(self) -> None:
        if self._member is not None:
            self._member.close()
        self._closed = True
        self._woken.set()
