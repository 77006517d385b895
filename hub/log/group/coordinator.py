"""GroupCoordinator: Kafka's classic group protocol for any protocol type, plus committed offsets.

Consumers (protocol type ``consumer``) and Hub's workers (``connect``) form groups through it. The Kafka server
calls it from its event loop and the embedded client from threads: calls that must wait — JoinGroup until the
rebalance completes, a follower's SyncGroup until the leader's assignments arrive — return a
``concurrent.futures.Future``; the others answer at once (OffsetCommit once its records are committed). A timer
thread expires members whose session lapsed and completes rebalances whose deadline passed.

As in Kafka, a node coordinates groups only while it leads the ``__consumer_offsets`` partition
(hub.log.group.leadership): ``become_coordinator(leader_epoch)`` loads groups and offsets from the OffsetsLog and
starts serving, ``resign()`` drops them and answers every waiting join and sync with NOT_COORDINATOR. Every
request is then refused with Kafka's error (NOT_COORDINATOR; COORDINATOR_LOAD_IN_PROGRESS while loading). A store
of one node becomes coordinator in ``start()``.

The coordinator is the entry point and owns the lock; as in Kafka, its parts are two: GroupMembership
(hub.log.group.membership: joins, syncs, heartbeats, leaves, expiry; with hub.log.group.rebalance for the steps
of a rebalance and its generations) and the OffsetsManager (hub.log.group.offsets_manager: the table of groups,
committed offsets, and their records in ``__consumer_offsets``). Records are decided under the lock and appended by
its writer (hub.log.group.offsets_writer) without it, in that order; their outcome is applied under the lock
only if the leadership they were written under still holds. An append failing because this node lost the
partition's leadership answers NOT_COORDINATOR and resigns. This module also answers the administrative calls
(list, describe, delete).

Groups of the consumer group protocol (KIP-848) are a third part, ConsumerGroups (hub.log.group.consumer_heartbeat):
a group id is either a classic group's or a consumer group's, their committed offsets share the OffsetsManager, and
their state is kept in memory only (dropped on resignation; members rejoin the next coordinator).

Transactions (TxnOffsetCommit) commit offsets as part of a producer's transaction: the OffsetsManager writes them
as that producer's transactional batch and keeps them pending; ``on_marker`` (a hub.log.txn.contracts
MarkerListener the log calls once a transaction's marker is committed to ``__consumer_offsets``) makes them the
groups' on COMMIT and drops them on ABORT. A marker that lands while the coordinator loads is applied after the
load unless the load read it already.

Thread-safety: one lock guards all groups (both parts are called under it); futures are resolved outside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import LogError
from hub.log.group.consumer_describe import ConsumerGroupDescription, describe_consumer_group
from hub.log.group.consumer_heartbeat import (
    ConsumerGroups,
    ConsumerHeartbeat,
    ConsumerSettings,
    HeartbeatResult,
    TopicSource,
)
from hub.log.group.group import (
    CONSUMER_PROTOCOL_TYPE,
    CommittedOffset,
    GroupDescription,
    GroupOverview,
    GroupState,
    JoinGroupResult,
    Resolution,
    SyncGroupResult,
    describe,
    overview,
    resolve,
    subscribed_topics,
)
from hub.log.group.leadership import Leadership, NotCoordinatorError, Status
from hub.log.group.membership import GroupMembership, JoinRequest
from hub.log.group.offsets_format import valid_group_id
from hub.log.group.offsets_log import OFFSETS_TOPIC, OffsetsLog, Record, leadership_lost
from hub.log.group.offsets_manager import OffsetsManager, TopicPartitionKey, Written
from hub.log.group.offsets_writer import offsets_writer
from hub.log.group.txn_commit import PRODUCER_ERRORS, check_classic, check_consumer
from hub.log.ordered_writer import StaleWriteError

log = logging.getLogger("hub.log.group")

#: Asks the transaction coordinator whether partitions are in a producer's ongoing transaction (Kafka's transaction
#: verification, KIP-890): transactional id, producer id, epoch, partitions → per partition NONE, INVALID_TXN_STATE
#: (not added), PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, or why it cannot tell (NOT_COORDINATOR, ...).
TxnVerifier = Callable[[str, int, int, Iterable[TopicPartitionKey]], Mapping[TopicPartitionKey, ErrorCode]]


@dataclass(frozen=True, slots=True)
class CoordinatorConfig:
    """Kafka's broker settings for groups, with its defaults."""

    min_session_timeout_ms: int = 6_000
    max_session_timeout_ms: int = 1_800_000
    initial_rebalance_delay_ms: int = 3_000
    max_group_size: int = 2**31 - 1
    max_metadata_bytes: int = 4096
    new_member_join_timeout_ms: int = 300_000
    tick_ms: int = 50
    #: group.consumer.* (the consumer group protocol)
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)


class GroupCoordinator:
    """All groups this node coordinates (see the module docstring). ``start()`` / ``close()``."""

    def __init__(
        self,
        offsets_log: OffsetsLog,
        config: CoordinatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        topics: TopicSource = dict,
    ) -> None:
        self.offsets_log = offsets_log
        self.config = config or CoordinatorConfig()
        self.clock = clock
        self.wall_clock = wall_clock
        self._writer = offsets_writer(offsets_log)
        self._groups = OffsetsManager(offsets_log, self._write, max_metadata_bytes=self.config.max_metadata_bytes)
        self._membership = GroupMembership(self._groups, self.config, clock, wall_clock)
        self._consumers = ConsumerGroups(self.config.consumer, topics)
        self._leadership = Leadership()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        #: Markers that landed while loading: (producer id, commit?, offset in the log).
        self._markers_while_loading: list[tuple[int, bool, int]] = []
        #: Set by the node when it runs a transaction coordinator; None: producers are not verified.
        self.transaction_verifier: TxnVerifier | None = None

    # --- lifecycle and leadership ------------------------------------------------------------------------------

    def start(self, *, coordinator: bool = True) -> None:
        """Start the writer and timer threads; with ``coordinator`` (a store of one node) become coordinator at
        once (leader epoch 0). A node of a cluster passes False and follows the offsets partition's leadership."""
        self._writer.start()
        self._stop.clear()
        self._timer = threading.Thread(target=self._run_timer, name="hub-group-coordinator", daemon=True)
        self._timer.start()
        if coordinator:
            self.become_coordinator(0)

    def close(self) -> None:
        """Stop serving (waiting calls get COORDINATOR_NOT_AVAILABLE), finish the queued writes, stop the threads."""
        resolutions: list[Resolution] = []
        with self._lock:
            self._membership.fail_waiting(ErrorCode.COORDINATOR_NOT_AVAILABLE, resolutions)
            self._leadership.close()
        resolve(resolutions)
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        self._writer.close()

    @property
    def status(self) -> Status:
        return self._leadership.status

    @property
    def leader_epoch(self) -> int:
        """The newest leader epoch of the offsets partition this coordinator was told of (-1: none yet)."""
        return self._leadership.leader_epoch

    def become_coordinator(self, leader_epoch: int) -> None:
        """Lead the offsets partition from ``leader_epoch`` on: load groups and committed offsets from the
        OffsetsLog (which holds everything up to the high watermark by now) and serve them. Requests get
        COORDINATOR_LOAD_IN_PROGRESS meanwhile. Nothing is reloaded when already coordinator (the epoch moves on),
        and a stale epoch is ignored. Blocks for the load; call it after ``start()``."""
        if self._timer is None and self._leadership.status is not Status.CLOSED:
            raise LogError("start() the group coordinator before it becomes coordinator")
        with self._lock:
            term = self._leadership.begin_load(leader_epoch)
            if term is not None:
                self._markers_while_loading = []
        if term is None:
            return
        log.info("becoming group coordinator (leader epoch %d): loading __consumer_offsets", leader_epoch)
        self._writer.barrier()  # an earlier term's writes are done (or skipped) before the log is read
        try:
            loaded = self._groups.load(self.clock)
        except BaseException:
            with self._lock:
                if self._leadership.term == term:
                    self._leadership.resign(None)
            raise
        with self._lock:
            if not self._leadership.finish_load(term):
                log.info("group coordinator load of leader epoch %d overtaken by a resignation", leader_epoch)
                return
            self._groups.install(loaded)
            for producer_id, commit, offset in self._markers_while_loading:
                if offset > loaded.last_offset:
                    self._groups.end_transaction(producer_id, commit)
            self._markers_while_loading = []
        log.info("group coordinator serving %d group(s) (leader epoch %d)", len(loaded.groups), leader_epoch)

    def resign(self, leader_epoch: int | None = None) -> None:
        """Stop leading the offsets partition: drop every group's state (members, timers, offsets) and answer
        waiting joins and syncs with NOT_COORDINATOR; so is every request from now on. A resignation under a leader
        epoch older than the newest one seen is ignored."""
        resolutions: list[Resolution] = []
        with self._lock:
            if not self._leadership.resign(leader_epoch):
                return
            self._drop_groups(resolutions)
        resolve(resolutions)
        log.info("resigned as group coordinator (leader epoch %d)", self._leadership.leader_epoch)

    def _drop_groups(self, resolutions: list[Resolution]) -> None:
        self._membership.fail_waiting(ErrorCode.NOT_COORDINATOR, resolutions)
        self._consumers.clear()  # kept in memory only: members rejoin the next coordinator
        for group in self._groups.groups():
            group.state = GroupState.DEAD
        self._groups.replace_groups({})

    def _write(self, records: Sequence[Record], then: Written, *, producer: tuple[int, int] | None = None) -> None:
        """Queue records (under the lock; a transaction's with ``producer``); ``then`` runs under the lock with the
        outcome — NOT_COORDINATOR when the leadership they were written under has ended."""
        term = self._leadership.term
        self._writer.submit(
            producer, records, lambda: self._leadership.is_current(term), lambda exc: self._written(term, then, exc)
        )

    def _written(self, term: int, then: Written, exc: BaseException | None) -> None:
        resolutions: list[Resolution] = []
        try:
            with self._lock:
                if not self._leadership.is_current(term) or isinstance(exc, StaleWriteError):
                    error = ErrorCode.NOT_COORDINATOR
                elif exc is None:
                    error = ErrorCode.NONE
                elif error_code_for(exc) in PRODUCER_ERRORS:
                    log.info("a transaction's offsets were refused by __consumer_offsets: %s", exc)
                    error = error_code_for(exc)
                elif leadership_lost(exc):
                    log.warning("lost the leadership of __consumer_offsets while writing to it: %s", exc)
                    error = ErrorCode.NOT_COORDINATOR
                    if self._leadership.resign(None):
                        self._drop_groups(resolutions)
                else:
                    log.error("writing to __consumer_offsets failed: %s", exc)
                    error = ErrorCode.COORDINATOR_NOT_AVAILABLE
                then(error, resolutions)
        finally:
            resolve(resolutions)

    def _run_timer(self) -> None:
        while not self._stop.wait(self.config.tick_ms / 1000):
            try:
                self.tick()
            except Exception:
                log.exception("group coordinator timer failed")

    def tick(self) -> None:
        """Expire lapsed sessions and complete due rebalances (the timer thread calls this)."""
        resolutions: list[Resolution] = []
        with self._lock:
            if self._leadership.refusal() is None:
                self._membership.expire(resolutions)
                for group_id, member_id in self._consumers.expire(self.clock()):
                    log.info("consumer group %s: member %s removed (session or rebalance timeout)", group_id, member_id)
        resolve(resolutions)

    # --- membership --------------------------------------------------------------------------------------------

    def join_group(
        self,
        group_id: str,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
        *,
        session_timeout_ms: int,
        rebalance_timeout_ms: int = -1,
        group_instance_id: str | None = None,
        client_id: str = "",
        client_host: str = "",
        require_known_member_id: bool = False,
    ) -> Future[JoinGroupResult]:
        """Join or rejoin; the future resolves when the rebalance completes (or at once with an error)."""
        request = JoinRequest(
            member_id,
            protocol_type,
            list(protocols),
            session_timeout_ms,
            rebalance_timeout_ms if rebalance_timeout_ms >= 0 else session_timeout_ms,
            group_instance_id,
            client_id,
            client_host,
            Future(),
        )
        resolutions: list[Resolution] = []
        with self._lock:
            refusal = self._leadership.refusal() if group_id else None
            error = refusal or self._membership.check_join(group_id, session_timeout_ms, protocols)
            if error is ErrorCode.NONE:
                error = self._classic_join_allowed(group_id)
            if error is ErrorCode.NONE:
                self._membership.join(group_id, request, require_known_member_id, resolutions)
            else:
                resolutions.append((request.future, JoinGroupResult(error, member_id=member_id)))
        resolve(resolutions)
        return request.future

    def _classic_join_allowed(self, group_id: str) -> ErrorCode:
        """A JoinGroup for a consumer group's id: refused while it has members (Hub serves no classic member in a
        consumer group), else the empty consumer group gives way to a classic one, as in Kafka."""
        consumer_group = self._consumers.get(group_id)
        if consumer_group is None:
            return ErrorCode.NONE
        if consumer_group.members:
            return ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        del self._consumers.groups[group_id]
        return ErrorCode.NONE

    def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes] | None = None,
        *,
        group_instance_id: str | None = None,
    ) -> Future[SyncGroupResult]:
        """Followers wait for the leader's assignments; the leader's call (with ``assignments``) completes the
        rebalance once they are committed."""
        future: Future[SyncGroupResult] = Future()
        with self._lock:
            refusal = self._leadership.refusal()
            if refusal is None:
                self._membership.sync(group_id, generation_id, member_id, assignments, group_instance_id, future)
        if refusal is not None:
            # While loading, the rebalance under way was lost: members rejoin without looking for the coordinator
            # again (Kafka answers so because older clients do not expect COORDINATOR_LOAD_IN_PROGRESS here).
            loading = refusal is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
            future.set_result(SyncGroupResult(ErrorCode.REBALANCE_IN_PROGRESS if loading else refusal))
        return future

    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, *, group_instance_id: str | None = None
    ) -> ErrorCode:
        with self._lock:
            refusal = self._leadership.refusal()
            if refusal is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                return ErrorCode.NONE  # as Kafka: the group is loading, its member is answered blindly
            if refusal is not None:
                return refusal
            return self._membership.heartbeat(group_id, generation_id, member_id, group_instance_id=group_instance_id)

    def leave_group(self, group_id: str, members: Sequence[tuple[str, str | None]]) -> list[ErrorCode]:
        """Remove members (``(member_id, group_instance_id)``; a static member may be named by instance id
        alone); the others rebalance at once. When not serving, every member gets the refusal."""
        resolutions: list[Resolution] = []
        with self._lock:
            refusal = self._leadership.refusal()
            if refusal is not None:
                return [refusal] * len(members)
            errors = self._membership.leave(group_id, members, resolutions)
        resolve(resolutions)
        return errors

    # --- offsets -----------------------------------------------------------------------------------------------

    def commit_offsets(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        offsets: Mapping[TopicPartitionKey, CommittedOffset],
        *,
        group_instance_id: str | None = None,
        api_version: int = 9,
    ) -> dict[TopicPartitionKey, ErrorCode]:
        """Store offsets; returns once they are committed, with per-partition errors as Kafka gives them. For a
        consumer group ``generation_id`` is the member epoch (OffsetCommit ``api_version`` 9 or later)."""
        done: Future[dict[TopicPartitionKey, ErrorCode]] = Future()
        with self._lock:
            group = self._groups.get(group_id)
            consumer_group = self._consumers.get(group_id)
            if not valid_group_id(group_id):
                error = ErrorCode.INVALID_GROUP_ID
            elif consumer_group is not None:
                error = self._leadership.refusal() or self._consumers.check_commit(
                    consumer_group, member_id, generation_id, api_version
                )
            else:
                error = self._leadership.refusal() or self._membership.check_commit(
                    group, generation_id, member_id, group_instance_id
                )
            if error is not ErrorCode.NONE:
                return dict.fromkeys(offsets, error)
            if group is None:
                group = self._groups.get_or_create(group_id)
            self._groups.store_offsets(group, offsets, int(self.wall_clock() * 1000), done.set_result)
        return done.result()

    def commit_transactional_offsets(
        self,
        group_id: str,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        offsets: Mapping[TopicPartitionKey, CommittedOffset],
        *,
        generation_id: int = -1,
        member_id: str = "",
        group_instance_id: str | None = None,
    ) -> dict[TopicPartitionKey, ErrorCode]:
        """TxnOffsetCommit: store offsets in the producer's transaction (pending until its marker); returns once
        they are written, with per-partition errors as Kafka gives them (hub.log.group.txn_commit)."""
        if not valid_group_id(group_id):
            return dict.fromkeys(offsets, ErrorCode.INVALID_GROUP_ID)
        with self._lock:
            refusal = self._leadership.refusal()
        if refusal is not None:
            return dict.fromkeys(offsets, refusal)
        verifier = self.transaction_verifier
        if verifier is not None:
            # The group's offsets partition must be in the transaction (AddOffsetsToTxn). A verifier that cannot
            # tell (the id is coordinated elsewhere) leaves the producer to the log's epoch check.
            verified = verifier(transactional_id, producer_id, producer_epoch, [(OFFSETS_TOPIC, 0)])
            verdict = verified.get((OFFSETS_TOPIC, 0), ErrorCode.NONE)
            if verdict == ErrorCode.PRODUCER_FENCED:
                # Kafka's broker answers a fenced epoch found by verification as INVALID_PRODUCER_EPOCH, which
                # producers of every version handle (AddPartitionsToTxnManager).
                verdict = ErrorCode.INVALID_PRODUCER_EPOCH
            if verdict in PRODUCER_ERRORS:
                return dict.fromkeys(offsets, verdict)
        done: Future[dict[TopicPartitionKey, ErrorCode]] = Future()
        with self._lock:
            group = self._groups.get(group_id)
            consumer_group = self._consumers.get(group_id)
            error = self._leadership.refusal()
            if error is None and consumer_group is not None:
                error = check_consumer(consumer_group, member_id, generation_id)
            elif error is None:
                error = check_classic(group, generation_id, member_id, group_instance_id)
            if error is not ErrorCode.NONE:
                return dict.fromkeys(offsets, error)
            if group is None:
                group = self._groups.get_or_create(group_id)
            self._groups.store_txn_offsets(
                group, producer_id, producer_epoch, offsets, int(self.wall_clock() * 1000), done.set_result
            )
        return done.result()

    def on_marker(self, topic: str, partition: int, producer_id: int, commit: bool, offset: int) -> None:
        """A transaction marker was committed to a partition (hub.log.txn.contracts.MarkerListener): for
        ``__consumer_offsets`` the producer's pending offsets become their groups' (commit) or are dropped. Never
        blocks."""
        if topic != OFFSETS_TOPIC or partition != 0:
            return
        with self._lock:
            status = self._leadership.status
            if status is Status.LOADING:
                self._markers_while_loading.append((producer_id, commit, offset))
            elif status is Status.ACTIVE:
                ended = self._groups.end_transaction(producer_id, commit)
                if ended:
                    log.debug("producer %d: %d transactional offset(s) %s", producer_id, ended, commit)

    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartitionKey] | None = None
    ) -> dict[TopicPartitionKey, CommittedOffset | None]:
        """Committed offsets of a group (all of them when ``partitions`` is None); None where none is. Raises
        NotCoordinatorError when not serving."""
        with self._lock:
            self._check_serving()
            return self._groups.offsets(group_id, partitions)

    def fetch_stable_offsets(
        self, group_id: str, partitions: Iterable[TopicPartitionKey] | None = None
    ) -> tuple[dict[TopicPartitionKey, CommittedOffset | None], set[TopicPartitionKey]]:
        """``fetch_offsets`` and, among its partitions, those with an offset pending in a transaction (which
        OffsetFetch with ``require_stable`` answers UNSTABLE_OFFSET_COMMIT)."""
        with self._lock:
            self._check_serving()
            wanted = None if partitions is None else list(partitions)
            return self._groups.offsets(group_id, wanted), self._groups.unstable(group_id, wanted)

    def check_offset_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> ErrorCode:
        """OffsetFetch's check of the member it names (version 9): Kafka checks members of consumer groups only."""
        with self._lock:
            consumer_group = self._consumers.get(group_id)
            if consumer_group is None:
                return ErrorCode.NONE
            return self._consumers.check_fetch(consumer_group, member_id, member_epoch)

    def _check_serving(self) -> None:
        refusal = self._leadership.refusal()
        if refusal is not None:
            raise NotCoordinatorError(refusal)

    # --- administration ----------------------------------------------------------------------------------------

    def list_groups(self, states: Iterable[str] | None = None) -> list[GroupOverview]:
        """The groups coordinated here; none when this node is not coordinator (as each Kafka broker answers for
        its own partitions). Raises NotCoordinatorError while loading or once closed."""
        wanted = {state.lower() for state in states} if states else None
        with self._lock:
            if self._leadership.status is not Status.RESIGNED:
                self._check_serving()
            listed = [
                overview(group)
                for group in self._groups.groups()
                if group.state is not GroupState.DEAD and self._consumers.get(group.group_id) is None
            ]
            listed += [
                GroupOverview(group.group_id, "consumer", group.state, "consumer")
                for group in self._consumers.groups.values()
            ]
            return [group for group in listed if wanted is None or group.state.lower() in wanted]

    def describe_group(self, group_id: str) -> GroupDescription:
        """DescribeGroups' view: a consumer group is no classic group, so it is described as Kafka does an unknown
        one (Dead)."""
        with self._lock:
            refusal = self._leadership.refusal()
            if refusal is not None:
                return GroupDescription(refusal, group_id)
            if self._consumers.get(group_id) is not None:
                return describe(group_id, None)
            return describe(group_id, self._groups.get(group_id))

    # --- the consumer group protocol (KIP-848) -------------------------------------------------------------------

    def consumer_group_heartbeat(self, request: ConsumerHeartbeat) -> HeartbeatResult:
        """Answer a ConsumerGroupHeartbeat (hub.log.group.consumer_heartbeat); never waits."""
        with self._lock:
            refusal = self._leadership.refusal()
            if refusal is not None:
                return HeartbeatResult(refusal)
            return self._consumers.heartbeat(
                request, self.clock(), int(self.wall_clock() * 1000), self._classic_group_in_use
            )

    def _classic_group_in_use(self, group_id: str) -> bool:
        group = self._groups.get(group_id)
        return group is not None and bool(group.members)

    def describe_consumer_groups(self, group_ids: Iterable[str]) -> list[ConsumerGroupDescription]:
        """ConsumerGroupDescribe's view; GROUP_ID_NOT_FOUND for an id that is not a consumer group's."""
        with self._lock:
            refusal = self._leadership.refusal()
            topics = self._consumers.topics() if refusal is None else {}
            return [
                describe_consumer_group(group_id, self._consumers.get(group_id), topics, refusal)
                for group_id in group_ids
            ]

    def delete_groups(self, group_ids: Iterable[str]) -> dict[str, ErrorCode]:
        """Delete empty groups and their offsets (tombstones); NON_EMPTY_GROUP while members remain. Returns once
        the tombstones are committed."""
        results: dict[str, Future[ErrorCode]] = {}
        with self._lock:
            refusal = self._leadership.refusal()
            for group_id in group_ids:
                done: Future[ErrorCode] = Future()
                results[group_id] = done
                group = self._groups.get(group_id)
                consumer_group = self._consumers.get(group_id)
                if refusal is not None:
                    done.set_result(refusal)
                elif consumer_group is not None and consumer_group.members:
                    done.set_result(ErrorCode.NON_EMPTY_GROUP)
                elif consumer_group is not None and (group is None or group.state is GroupState.DEAD):
                    del self._consumers.groups[group_id]
                    done.set_result(ErrorCode.NONE)
                elif group is None or group.state is GroupState.DEAD:
                    done.set_result(ErrorCode.GROUP_ID_NOT_FOUND)
                elif group.members:
                    done.set_result(ErrorCode.NON_EMPTY_GROUP)
                else:
                    self._consumers.groups.pop(group_id, None)
                    self._groups.delete_group(group, done.set_result)
        return {group_id: done.result() for group_id, done in results.items()}

    def delete_offsets(
        self, group_id: str, partitions: Sequence[TopicPartitionKey]
    ) -> tuple[ErrorCode, dict[TopicPartitionKey, ErrorCode]]:
        """Kafka's OffsetDelete: the group's error and each partition's. A group with members may lose only the
        offsets of topics none of them subscribes to (GROUP_SUBSCRIBED_TO_TOPIC for the others), and only when it
        is a consumer group (NON_EMPTY_GROUP otherwise). Returns once the tombstones are committed."""
        done: Future[ErrorCode] = Future()
        with self._lock:
            refusal = self._leadership.refusal()
            group = self._groups.get(group_id)
            if refusal is not None:
                return refusal, {}
            consumer_group = self._consumers.get(group_id)
            subscribed: set[str] | None
            if consumer_group is not None:
                subscribed = self._consumers.subscribed_topics(consumer_group)
            elif group is None or group.state is GroupState.DEAD:
                return ErrorCode.GROUP_ID_NOT_FOUND, {}
            elif group.members and group.protocol_type != CONSUMER_PROTOCOL_TYPE:
                return ErrorCode.NON_EMPTY_GROUP, {}
            else:
                subscribed = subscribed_topics(group)
            errors = {
                tp: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC if subscribed is None or tp[0] in subscribed else ErrorCode.NONE
                for tp in partitions
            }
            if group is None or group.state is GroupState.DEAD:
                return ErrorCode.NONE, errors  # a consumer group that committed nothing: nothing to delete
            self._groups.delete_offsets(
                group, [tp for tp, error in errors.items() if error is ErrorCode.NONE], done.set_result
            )
        error = done.result()
        if error is not ErrorCode.NONE:
            return error, {}
        return ErrorCode.NONE, errors
