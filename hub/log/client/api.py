"""The store client interface: the only way the worker runtime talks to a topic store.

Two backends implement it: ``embedded`` (in-process calls into Hub's own store, no sockets) and ``kafka`` (the
Kafka wire protocol: Hub's server, tansu, Apache Kafka). The runtime's tests run on both, so an implementation must
keep every promise written here. Errors are those of ``hub.log.client.errors``.

Thread-safety: Admin and Producer may be shared by threads. A Consumer and a GroupMember belong to one thread,
except ``wakeup()``, which any thread may call to unblock that thread's ``poll()``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future
from functools import partial
from types import TracebackType
from typing import Self

from hub.log.client.errors import ClientError
from hub.log.client.types import (
    BrokerNode,
    ConsumerRecord,
    GroupDescription,
    GroupListing,
    GroupProtocol,
    IsolationLevel,
    JoinResult,
    NewTopic,
    OffsetSpec,
    RecordMetadata,
    SendOutcome,
    TopicDescription,
    TopicPartition,
)

PartitionsCallback = Callable[[set[TopicPartition]], None]
Header = tuple[str, bytes | None]
#: A record to send: topic, key, value, headers, partition (None: chosen from the key) and timestamp in ms (None: now).
OutgoingRecord = tuple[str, bytes | None, bytes | None, Sequence[Header], int | None, int | None]


class _Closeable(ABC):
    @abstractmethod
    def close(self) -> None:
        """Release the client's resources; later calls raise ClientClosedError. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Admin(_Closeable):
    """Create, describe, configure and delete topics; look up partition offsets."""

    @abstractmethod
    def create_topics(self, topics: Sequence[NewTopic], *, if_not_exists: bool = False) -> None:
        """Create topics; TopicAlreadyExistsError unless ``if_not_exists``."""

    @abstractmethod
    def delete_topics(self, names: Collection[str]) -> None:
        """Delete topics and their data; UnknownTopicError for a name that does not exist."""

    @abstractmethod
    def list_topics(self) -> dict[str, int]:
        """Every topic (internal ones included) with its partition count."""

    @abstractmethod
    def cluster_id(self) -> str:
        """The store's cluster id, as Metadata answers it ("" from a broker that has none)."""

    @abstractmethod
    def describe_cluster(self) -> list[BrokerNode]:
        """The store's live nodes, by id (Kafka's ``Admin.describeCluster``: what Metadata lists)."""

    @abstractmethod
    def describe_topics(self, names: Collection[str]) -> dict[str, TopicDescription]:
        """Partition count and effective configs of each named topic."""

    @abstractmethod
    def alter_topic_configs(self, name: str, updates: Mapping[str, str | None]) -> None:
        """Set (or, with None, reset to default) topic configs; InvalidTopicConfigError names every bad one."""

    @abstractmethod
    def list_offsets(
        self,
        partitions: Collection[TopicPartition],
        spec: OffsetSpec | int,
        *,
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
    ) -> dict[TopicPartition, int | None]:
        """Earliest or latest offset, or the first offset with timestamp >= ``spec`` ms (None when none is);
        ``READ_COMMITTED`` answers latest as the last stable offset, where a read_committed consumer stops."""

    @abstractmethod
    def fence_producers(self, transactional_ids: Collection[str], *, timeout_s: float = 30.0) -> None:
        """Fence every producer using one of these transactional ids (Kafka's ``Admin.fenceProducers``, KIP-618):
        their open transactions are aborted and their next transactional call fails with ProducerFencedError.
        An id never used before is fine (it is fenced before any producer uses it). Blocks until done."""

    @abstractmethod
    def log_sizes(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        """Bytes each partition's log takes in the store (Kafka's DescribeLogDirs, asked of each leader); None
        where the store cannot tell: a broker without DescribeLogDirs (tansu), or one that refuses it (no Describe
        permission on the cluster)."""

    @abstractmethod
    def list_groups(self) -> list[GroupListing]:
        """Every group the store knows (consumer groups, Connect's worker groups, groups that only commit
        offsets), as Kafka's ``Admin.listGroups`` answers them (ListGroups to every broker). A group a broker
        does not list is not listed (tansu lists only groups that committed offsets); a group listed without a
        state is described for one."""

    @abstractmethod
    def describe_groups(self, group_ids: Collection[str]) -> dict[str, GroupDescription]:
        """Each group's state and members with their client id, host and assigned partitions (Kafka's
        ``Admin.describeConsumerGroups``, of any protocol: a Connect worker group's members have no partitions);
        a group the store does not know is described ``Dead`` with no members (tansu answers ``Empty``, and
        members without client id, host or assignment)."""

    @abstractmethod
    def list_group_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        """Every offset the group has committed (Kafka's ``Admin.listConsumerGroupOffsets``); empty for a group
        that has committed none."""


class Producer(_Closeable):
    """Send records; each send returns a future resolved once the store acknowledged the record.

    Records sent to one partition are acknowledged in send order, and an idempotent producer never writes one
    twice, whatever retries happen underneath.
    """

    @abstractmethod
    def send(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Future[RecordMetadata]:
        """Queue a record; without ``partition``, the key's hash chooses one (murmur2, like Kafka's clients)."""

    def send_batch(self, records: Sequence[OutgoingRecord]) -> Future[SendOutcome]:
        """Queue records in order, as ``send`` would one by one, with one future for them all: it resolves once
        every record is acknowledged or failed, with what became of each (it never fails itself). Cheaper per
        record than ``send``; this default sends them one by one."""
        outcome = SendOutcome([record[0] for record in records])
        batch: Future[SendOutcome] = Future()
        remaining = [len(records)]
        lock = threading.Lock()

        def settle(index: int, future: Future[RecordMetadata]) -> None:
            error = future.exception()
            if error is None:
                metadata = future.result()
                outcome.written(index, metadata.partition, metadata.offset, metadata.timestamp)
            else:
                outcome.errors[index] = error
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                batch.set_result(outcome)

        if not records:
            batch.set_result(outcome)
        for index, (topic, key, value, headers, partition, timestamp_ms) in enumerate(records):
            future = self.send(
                topic, key=key, value=value, headers=headers, partition=partition, timestamp_ms=timestamp_ms
            )
            future.add_done_callback(partial(settle, index))
        return batch

    @abstractmethod
    def flush(self, timeout_s: float | None = None) -> None:
        """Block until every queued record is acknowledged or failed; ClientTimeoutError after ``timeout_s``."""


class TransactionalProducer(Producer):
    """A producer whose records are written in transactions: all of a transaction's records (to any partitions,
    offsets-topic records included) become visible to ``read_committed`` consumers at once on commit, or never.

    Life: ``init_transactions()`` once (it fences every older producer with the same transactional id and
    completes or aborts the transaction they left open), then ``begin_transaction()``, ``send``s,
    ``commit_transaction()`` or ``abort_transaction()``, again and again. ``send`` outside a transaction fails
    with InvalidTxnStateError. ``commit_transaction()`` first flushes: it returns only once every record of the
    transaction is written and the commit is decided.

    What each error means for the caller:

    - ProducerFencedError: a newer producer with the same transactional id (or ``Admin.fence_producers``) took
      over, or the store aborted the transaction after ``transaction.timeout.ms`` (which bumps the id's epoch,
      as Kafka's coordinator does). Nothing of this producer's open transaction will ever be visible; close it
      and do not retry with it (a new producer of the id, or the newer owner, redoes the work). Committed
      transactions stay committed.
    - TransactionAbortableError: this transaction cannot commit (one of its records failed): call
      ``abort_transaction()``, then redo the work in a new transaction.
    - RetriableClientError (ClientTimeoutError included) from init, commit or abort: the outcome is not known
      yet; call the same method again, which continues where it stopped (a commit is never turned into an abort).
    - InvalidTxnStateError: a call out of order.
    - Any other ClientError: the producer is unusable; close it.

    A send outside a transaction, or after fencing, fails in its future. ``close()`` aborts an open transaction
    (closing never commits).

    Thread-safe for sends; the transaction calls are meant for one thread (the owner of the transaction).
    """

    @property
    @abstractmethod
    def transactional_id(self) -> str:
        """The transactional id this producer was made with."""

    @abstractmethod
    def init_transactions(self, timeout_s: float = 60.0) -> None:
        """Register the transactional id with the store's transaction coordinator, fencing older producers."""

    @abstractmethod
    def begin_transaction(self) -> None:
        """Start a transaction (local only: the store learns of it with the first record)."""

    @abstractmethod
    def commit_transaction(self, timeout_s: float = 60.0) -> None:
        """Flush, then commit the transaction; blocks until the commit is decided."""

    @abstractmethod
    def abort_transaction(self, timeout_s: float = 60.0) -> None:
        """Abort the transaction: none of its records will be visible to ``read_committed`` consumers. Sends still
        queued fail with TransactionAbortedError."""

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], consumer: Consumer, timeout_s: float = 60.0
    ) -> None:
        """Commit ``offsets`` (the next offset to read) for ``consumer``'s group as part of the transaction
        (read-process-write). The consumer must be of the same backend. Optional for a backend: this default
        raises ClientError."""
        raise ClientError(f"{type(self).__name__} cannot commit consumer offsets in a transaction")


class Consumer(_Closeable):
    """Read records, as a member of a consumer group (subscribe) or from chosen partitions (assign)."""

    @abstractmethod
    def subscribe(
        self,
        topics: Collection[str],
        *,
        on_assign: PartitionsCallback | None = None,
        on_revoke: PartitionsCallback | None = None,
    ) -> None:
        """Join the consumer group for these topics; the callbacks run inside ``poll()`` on rebalances."""

    @abstractmethod
    def assign(self, partitions: Collection[TopicPartition]) -> None:
        """Read exactly these partitions, outside any group rebalancing."""

    @abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """The partitions this consumer currently reads."""

    @abstractmethod
    def poll(self, timeout_s: float, max_records: int = 500) -> list[ConsumerRecord]:
        """Records after the current positions, waiting up to ``timeout_s`` for some; [] after ``wakeup()``."""

    @abstractmethod
    def wakeup(self) -> None:
        """Make a blocked or the next ``poll()`` return at once. Safe from any thread."""

    @abstractmethod
    def seek(self, partition: TopicPartition, offset: int | OffsetSpec) -> None:
        """Move the position of an assigned partition."""

    @abstractmethod
    def position(self, partition: TopicPartition) -> int:
        """The offset of the next record ``poll()`` returns for an assigned partition."""

    @abstractmethod
    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop returning records of these partitions until resumed (the assignment is kept)."""

    @abstractmethod
    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        """Return records of paused partitions again."""

    @abstractmethod
    def commit(self, offsets: Mapping[TopicPartition, int] | None = None, *, metadata: str = "") -> None:
        """Commit offsets (the next offset to read) for the group; by default the current positions.

        Synchronous; GroupMembershipError or RebalanceInProgressError when the group moved on.
        """

    @abstractmethod
    def committed(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offsets (None where nothing was committed)."""

    @abstractmethod
    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        """The log end offset of each partition."""


class GroupMember(_Closeable):
    """Membership in a group with a custom protocol type, as Connect's workers use (protocol type ``connect``).

    The owner drives it: ``join()`` → (leader computes assignments) → ``sync()``, then calls ``poll()`` often
    enough to keep the session (heartbeats are sent from a background thread; ``poll()`` reports whether the
    group needs this member to rejoin). A member that misses its session timeout is removed by the coordinator;
    ``poll()`` then reports a rebalance and the owner must stop its work before rejoining (fencing).
    """

    @property
    @abstractmethod
    def member_id(self) -> str:
        """The id the coordinator gave this member ("" before the first join)."""

    @property
    @abstractmethod
    def generation_id(self) -> int:
        """The generation of the last successful join (-1 before it)."""

    @property
    @abstractmethod
    def confirmed_at(self) -> float:
        """``time.monotonic()`` when the coordinator last confirmed this member (sync or heartbeat). Once that is
        older than the session timeout the coordinator may have given this member's work to others: the owner
        must stop the work (fencing), even before a heartbeat tells it so (e.g. after the process was frozen)."""

    @abstractmethod
    def join(self, protocols: Sequence[GroupProtocol], *, timeout_s: float) -> JoinResult:
        """Join or rejoin the group; blocks until the rebalance completes. The leader's result lists all members."""

    @abstractmethod
    def sync(self, assignments: Mapping[str, bytes] | None, *, timeout_s: float) -> bytes:
        """Send the leader's assignments (member id → bytes; None from followers) and return this member's."""

    @abstractmethod
    def poll(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; True as soon as the group needs this member to rejoin."""

    @abstractmethod
    def wakeup(self) -> None:
        """Make a blocked ``poll()`` return at once. Safe from any thread."""

    @abstractmethod
    def leave(self) -> None:
        """Leave the group now, so the others rebalance at once instead of after the session timeout."""


class StoreClients(ABC):
    """Makes the clients of one store: how the runtime is pointed at the embedded store or a Kafka cluster.

    Options use Kafka's client property names where a backend understands them (``session.timeout.ms``…);
    a backend ignores the ones that mean nothing to it.
    """

    #: Where the store is, for logs and status ("embedded" or the bootstrap servers).
    location: str

    @abstractmethod
    def admin(self) -> Admin:
        """A new admin client."""

    @abstractmethod
    def producer(self, *, idempotent: bool = True, options: Mapping[str, str] | None = None) -> Producer:
        """A new producer (acks=all)."""

    @abstractmethod
    def transactional_producer(
        self,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 60_000,
        options: Mapping[str, str] | None = None,
    ) -> TransactionalProducer:
        """A new transactional producer (idempotent, acks=all); call ``init_transactions()`` before using it."""

    @abstractmethod
    def consumer(
        self,
        *,
        group_id: str | None = None,
        auto_offset_reset: str = "earliest",
        isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
        options: Mapping[str, str] | None = None,
    ) -> Consumer:
        """A new consumer; offsets are committed only when asked. ``isolation_level`` says whether it reads the
        records of open and aborted transactions (the default, as Kafka's consumer) or only committed ones."""

    @abstractmethod
    def group_member(
        self,
        group_id: str,
        protocol_type: str,
        *,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 60_000,
        heartbeat_interval_ms: int = 3_000,
    ) -> GroupMember:
        """A new member of a group with a custom protocol type."""
