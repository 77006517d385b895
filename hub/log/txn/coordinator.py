"""TransactionCoordinator: Kafka's transaction coordinator — each transactional id's producer id, epoch and
transaction, kept in ``__transaction_state``, and the markers that end a transaction in every partition it touched.

An id lives in partition ``partition_for(id)`` of ``__transaction_state`` (hub.log.txn.state_format); as in Kafka
a node coordinates the ids of the partitions it leads: ``become_coordinator(partition, leader_epoch)`` loads the
partition's ids (and completes every transaction found in PrepareCommit or PrepareAbort by sending its markers again:
the recovery after a crash), ``resign(partition)`` drops them. A request for an id of another partition is answered
NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while loading). A store of one node leads every partition from
``start()``; the leader epoch of the partition is the coordinator epoch its markers carry.

The requests (``TransactionCoordinatorApi``), with Kafka's answers (hub.log.txn.metadata holds the transitions):

- ``init_producer_id``: a new id gets a producer id and epoch 0; a known idle one an epoch bump (a new producer id
  once the epoch is exhausted); one with a transaction under way has it aborted with a bumped epoch (fencing the
  producer that began it) and is answered CONCURRENT_TRANSACTIONS until the abort completes, so the client retries.
- ``add_partitions`` / ``add_offsets``: the transaction begins or grows (``__consumer_offsets`` for a group's offsets).
- ``end_transaction``: PrepareCommit or PrepareAbort is written, the client answered, then the markers sent
  (hub.log.txn.markers); until every marker is written the id's requests get CONCURRENT_TRANSACTIONS. Then
  CompleteCommit or CompleteAbort takes effect at once and is written behind: should a crash lose it, the Prepare
  state loaded again has its markers sent again (the log takes them as repeats) and is completed then.

Fencing errors are PRODUCER_FENCED here; the listener turns them into INVALID_PRODUCER_EPOCH for the request
versions that predate it (as KafkaApis does). A timer aborts transactions older than their timeout (bumping the epoch,
as Kafka does), re-sends markers whose sending stopped, and removes ids idle for ``transactional.id.expiration.ms``
(a tombstone).

The table of ids, the partitions' coordinatorship and the writes are the TxnStateCache's (hub.log.txn.state_cache):
writes are decided under its lock, appended without it, and applied only while the partition's coordinatorship they
were written under still holds.

Thread-safety: one lock guards every id; futures are resolved and markers sent outside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from hub.log.error_codes import ErrorCode
from hub.log.group.offsets_log import OFFSETS_TOPIC
from hub.log.txn import metadata as m
from hub.log.txn.contracts import ProducerIdAndEpoch, TopicPartitionKey, TxnMarker
from hub.log.txn.listing import ListFilter, TransactionDescription, TransactionListing, description, listings
from hub.log.txn.markers import MarkerDispatcher
from hub.log.txn.metadata import TxnRecord, TxnState
from hub.log.txn.state_cache import After, Entry, LedPartition, TxnStateCache, run
from hub.log.txn.state_format import MAX_TRANSACTIONAL_ID_BYTES
from hub.log.txn.state_log import TxnStateLog

log = logging.getLogger("hub.log.txn")

#: Hub keeps every group's offsets in partition 0 of ``__consumer_offsets`` (hub.log.group.offsets_log).
GROUP_OFFSETS_PARTITION = 0


@dataclass(frozen=True, slots=True)
class TransactionConfig:
    """Kafka's broker settings for transactions, with its defaults."""

    num_partitions: int = 50  # transaction.state.log.num.partitions
    replication_factor: int = 3  # transaction.state.log.replication.factor
    min_isr: int = 2  # transaction.state.log.min.isr
    max_timeout_ms: int = 900_000  # transaction.max.timeout.ms
    id_expiration_ms: int = 604_800_000  # transactional.id.expiration.ms
    abort_interval_ms: int = 10_000  # transaction.abort.timed.out.transaction.cleanup.interval.ms
    remove_interval_ms: int = 3_600_000  # transaction.remove.expired.transaction.cleanup.interval.ms
    marker_retry_backoff_ms: int = 100


class TransactionCoordinator:
    """See the module docstring. ``allocate_producer_id`` hands out producer ids never used before;
    ``markers`` writes (or sends) markers; ``start()`` / ``close()``."""

    def __init__(
        self,
        state_log: TxnStateLog,
        allocate_producer_id: Callable[[], int],
        markers: MarkerDispatcher,
        config: TransactionConfig | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
        tick_ms: int = 100,
    ) -> None:
        self.state_log = state_log
        self.allocate_producer_id = allocate_producer_id
        self.markers = markers
        self.config = config or TransactionConfig()
        self.wall_clock = wall_clock
        self.tick_ms = tick_ms
        self._cache = TxnStateCache(state_log)
        self._lock = self._cache.lock
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._next_abort_ms = 0
        self._next_remove_ms = 0

    # --- lifecycle and leadership ------------------------------------------------------------------------------

    def start(self, *, coordinator: bool = True) -> None:
        """Start the writer, markers and timer threads; with ``coordinator`` (a store of one node) lead every
        partition of ``__transaction_state`` at once (leader epoch 0)."""
        self._cache.start()
        self.markers.start()
        self._stop.clear()
        now = self._now_ms()
        self._next_abort_ms = now + self.config.abort_interval_ms
        self._next_remove_ms = now + self.config.remove_interval_ms
        self._timer = threading.Thread(target=self._run_timer, name="hub-txn-coordinator", daemon=True)
        self._timer.start()
        if coordinator:
            for partition in range(self.state_log.partition_count()):
                self.become_coordinator(partition, 0)

    def close(self) -> None:
        """Stop serving (requests get COORDINATOR_NOT_AVAILABLE), finish queued writes, stop the threads."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        with self._lock:
            self._cache.closed = True
        self.markers.close()
        self._cache.close()

    def partition_for(self, transactional_id: str) -> int:
        """The ``__transaction_state`` partition holding ``transactional_id``."""
        return self._cache.partition_for(transactional_id)

    def become_coordinator(self, partition: int, leader_epoch: int) -> None:
        """Lead ``partition`` from ``leader_epoch`` on: load its ids and serve them; transactions found preparing
        get their markers again. Blocks for the load; a stale epoch or a partition already led is ignored."""
        preparing: list[str] = []

        def loaded(led: LedPartition, after: list[After]) -> None:
            for entry in led.txns.values():
                if entry.current.state in m.PREPARING:
                    preparing.append(entry.current.transactional_id)
                    self._send_markers(partition, entry, after)

        if self._cache.become(partition, leader_epoch, loaded) and preparing:
            log.info(
                "transaction coordinator for __transaction_state-%d (epoch %d): completing %d transaction(s)",
                partition,
                leader_epoch,
                len(preparing),
            )

    def resign(self, partition: int, leader_epoch: int | None = None) -> None:
        """Stop leading ``partition``: its ids are answered NOT_COORDINATOR; markers under way stop."""
        if self._cache.resign(partition, leader_epoch):
            log.info("resigned as transaction coordinator for __transaction_state-%d", partition)

    def led_partitions(self) -> list[int]:
        with self._lock:
            return sorted(p for p, _ in self._cache.active())

    # --- InitProducerId ----------------------------------------------------------------------------------------

    def init_producer_id(
        self, transactional_id: str, transaction_timeout_ms: int, producer_id: int = -1, producer_epoch: int = -1
    ) -> Future[ProducerIdAndEpoch]:
        future: Future[ProducerIdAndEpoch] = Future()
        after: list[After] = []
        with self._lock:
            answer = self._init(transactional_id, transaction_timeout_ms, producer_id, producer_epoch, future, after)
        if answer is not None:
            future.set_result(ProducerIdAndEpoch(answer))
        run(after)
        return future

    def _init(
        self,
        tid: str,
        timeout_ms: int,
        producer_id: int,
        producer_epoch: int,
        future: Future[ProducerIdAndEpoch],
        after: list[After],
    ) -> ErrorCode | None:
        if not tid or len(tid.encode()) > MAX_TRANSACTIONAL_ID_BYTES:  # no record of __transaction_state holds it
            return ErrorCode.INVALID_REQUEST
        if not 0 < timeout_ms <= self.config.max_timeout_ms:
            return ErrorCode.INVALID_TRANSACTION_TIMEOUT
        if (producer_id == -1) != (producer_epoch == -1):
            return ErrorCode.INVALID_REQUEST
        serving = self._cache.serving(tid)
        if isinstance(serving, ErrorCode):
            return serving
        partition, state = serving
        now = self._now_ms()
        entry = state.txns.get(tid)
        if entry is None:
            entry = state.txns[tid] = Entry(m.new_id(tid, self.allocate_producer_id(), timeout_ms, now))
        current = entry.current
        expected = (producer_id, producer_epoch) if producer_id != -1 else None
        if entry.pending is not None:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        if expected is not None and not (
            current.producer_epoch == m.NO_PRODUCER_EPOCH
            or expected[0] == current.producer_id
            or (expected[0] == current.previous_producer_id and m.is_epoch_exhausted(expected[1]))
        ):
            return ErrorCode.PRODUCER_FENCED
        if current.state in m.PREPARING:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        if current.state is TxnState.ONGOING:
            # Abort it with a bumped epoch (fencing its producer); the client retries until the abort completes and
            # then gets one more bump, as in Kafka.
            fence = m.fence_epoch(current, entry.failed_fence)
            entry.pending = fence

            def aborted(error: ErrorCode, _after: list[After]) -> None:
                final = ErrorCode.CONCURRENT_TRANSACTIONS if error is ErrorCode.NONE else error
                _after.append(lambda: future.set_result(ProducerIdAndEpoch(final)))

            self._end(partition, entry, fence.producer_id, fence.producer_epoch, False, False, aborted, after)
            return None
        if current.state not in m.IDLE:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        transit: TxnRecord | ErrorCode
        if m.is_epoch_exhausted(current.producer_epoch) and (expected is None or expected[1] == current.producer_epoch):
            transit = m.rotate_producer_id(current, self.allocate_producer_id(), timeout_ms, expected is not None, now)
        else:
            transit = m.increment_epoch(current, timeout_ms, None if expected is None else expected[1], now)
        if isinstance(transit, ErrorCode):
            return transit
        new = transit

        def initialised(error: ErrorCode, _after: list[After]) -> None:
            answer = ProducerIdAndEpoch(error)
            if error is ErrorCode.NONE:
                answer = ProducerIdAndEpoch(error, new.producer_id, new.producer_epoch)
                log.info("transactional id %r: producer id %d, epoch %d", tid, new.producer_id, new.producer_epoch)
            _after.append(lambda: future.set_result(answer))

        self._cache.transit(partition, entry, new, initialised, after)
        return None

    # --- AddPartitionsToTxn, AddOffsetsToTxn -------------------------------------------------------------------

    def add_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: Iterable[TopicPartitionKey]
    ) -> Future[dict[TopicPartitionKey, ErrorCode]]:
        wanted = frozenset(partitions)
        future: Future[dict[TopicPartitionKey, ErrorCode]] = Future()
        done: Future[ErrorCode] = Future()
        done.add_done_callback(lambda f: future.set_result(dict.fromkeys(wanted, f.result())))
        self._add(transactional_id, producer_id, producer_epoch, wanted, done)
        return future

    def add_offsets(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> Future[ErrorCode]:
        """The group's ``__consumer_offsets`` partition joins the transaction (its TxnOffsetCommits are then part
        of it)."""
        done: Future[ErrorCode] = Future()
        self._add(
            transactional_id, producer_id, producer_epoch, frozenset({(OFFSETS_TOPIC, GROUP_OFFSETS_PARTITION)}), done
        )
        return done

    def _add(
        self, tid: str, producer_id: int, epoch: int, partitions: frozenset[TopicPartitionKey], done: Future[ErrorCode]
    ) -> None:
        after: list[After] = []
        with self._lock:
            error = self._check_add(tid, producer_id, epoch)
            if isinstance(error, ErrorCode):
                answer: ErrorCode | None = error
            else:
                partition, entry = error
                current = entry.current
                if current.state is TxnState.ONGOING and partitions <= current.partitions:
                    answer = ErrorCode.NONE
                else:
                    answer = None
                    transit = m.add_partitions(current, partitions, self._now_ms())
                    self._cache.transit(
                        partition, entry, transit, lambda e, a: a.append(lambda: done.set_result(e)), after
                    )
        if answer is not None:
            done.set_result(answer)
        run(after)

    def _check_add(self, tid: str, producer_id: int, epoch: int) -> ErrorCode | tuple[int, Entry]:
        if not tid:
            return ErrorCode.INVALID_REQUEST
        serving = self._cache.serving(tid)
        if isinstance(serving, ErrorCode):
            return serving
        partition, state = serving
        entry = state.txns.get(tid)
        if entry is None or entry.current.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING
        if entry.current.producer_epoch != epoch:
            return ErrorCode.PRODUCER_FENCED
        if entry.pending is not None or entry.current.state in m.PREPARING:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        return partition, entry

    def verify_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: Iterable[TopicPartitionKey]
    ) -> dict[TopicPartitionKey, ErrorCode]:
        """AddPartitionsToTxn's ``verify_only`` (a broker asking whether partitions are in the transaction): NONE
        for each that is, INVALID_TXN_STATE for the others, or the id's error for all."""
        wanted = list(partitions)
        with self._lock:
            checked = self._check_add(transactional_id, producer_id, producer_epoch)
            if isinstance(checked, ErrorCode):
                return dict.fromkeys(wanted, checked)
            inside = checked[1].current.partitions
            return {tp: ErrorCode.NONE if tp in inside else ErrorCode.INVALID_TXN_STATE for tp in wanted}

    # --- EndTxn and markers ------------------------------------------------------------------------------------

    def end_transaction(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool
    ) -> Future[ErrorCode]:
        done: Future[ErrorCode] = Future()
        after: list[After] = []
        with self._lock:
            answer: ErrorCode | None = None
            serving = self._cache.serving(transactional_id) if transactional_id else ErrorCode.INVALID_REQUEST
            if isinstance(serving, ErrorCode):
                answer = serving
            else:
                partition, state = serving
                entry = state.txns.get(transactional_id)
                if entry is None:
                    answer = ErrorCode.INVALID_PRODUCER_ID_MAPPING
                else:
                    self._end(
                        partition,
                        entry,
                        producer_id,
                        producer_epoch,
                        commit,
                        True,
                        lambda e, a: a.append(lambda: done.set_result(e)),
                        after,
                    )
        if answer is not None:
            done.set_result(answer)
        run(after)
        return done

    def _end(
        self,
        partition: int,
        entry: Entry,
        producer_id: int,
        epoch: int,
        commit: bool,
        from_client: bool,
        then: Callable[[ErrorCode, list[After]], None],
        after: list[After],
    ) -> None:
        """Kafka's handleEndTransaction (under the lock): ``then`` gets the answer, under the lock."""
        current = entry.current
        fencing = entry.pending is not None and entry.pending.state is TxnState.PREPARE_EPOCH_FENCE
        if current.producer_id != producer_id:
            error: ErrorCode | None = ErrorCode.INVALID_PRODUCER_ID_MAPPING
        elif (from_client and epoch != current.producer_epoch) or epoch < current.producer_epoch:
            error = ErrorCode.PRODUCER_FENCED
        elif entry.pending is not None and not fencing:
            error = ErrorCode.CONCURRENT_TRANSACTIONS
        else:
            error = m.end_error(current, commit)
        if error is not None:
            if fencing:
                entry.pending = None
            then(error, after)
            return
        base = current
        if fencing:
            base = replace(current, producer_epoch=epoch, last_producer_epoch=m.NO_PRODUCER_EPOCH)
        transit = m.prepare_end(base, commit, self._now_ms())

        def prepared(error: ErrorCode, _after: list[After]) -> None:
            if error is ErrorCode.NONE:  # once per transaction: not for the default log level
                log.debug(
                    "transactional id %r: %s (producer id %d, epoch %d, %d partition(s))",
                    transit.transactional_id,
                    transit.state.kafka_name,
                    transit.producer_id,
                    transit.producer_epoch,
                    len(transit.partitions),
                )
                self._send_markers(partition, entry, _after)
            elif fencing and error is not ErrorCode.NOT_COORDINATOR:
                entry.current, entry.failed_fence = base, True
            then(error, _after)

        self._cache.transit(partition, entry, transit, prepared, after)

    def _send_markers(self, partition: int, entry: Entry, after: list[After]) -> None:
        """Have the markers of the id's Prepare* state written, then complete it (under the lock)."""
        if entry.sending:
            return
        entry.sending = True
        record = entry.current
        state = self._cache.partitions[partition]
        term = state.leadership.term
        marker = TxnMarker(
            record.producer_id,
            record.producer_epoch,
            record.state is TxnState.PREPARE_COMMIT,
            state.leadership.leader_epoch,
            tuple(sorted(record.partitions)),
        )

        def sent(ok: bool) -> None:
            with self._lock:
                entry.sending = False
                if ok and state.leadership.is_current(term) and entry.current is record and entry.pending is None:
                    self._cache.apply_and_write_behind(partition, entry, m.complete(record, self._now_ms()))

        after.append(lambda: self.markers.send(marker, sent, lambda: not state.leadership.is_current(term)))

    # --- timers ------------------------------------------------------------------------------------------------

    def _run_timer(self) -> None:
        while not self._stop.wait(self.tick_ms / 1000):
            try:
                self.tick()
            except Exception:
                log.exception("transaction coordinator timer failed")

    def tick(self) -> None:
        """Abort timed-out transactions (and resend stalled markers) and remove expired ids when their interval
        is due (the timer thread calls this)."""
        now = self._now_ms()
        if now >= self._next_abort_ms:
            self._next_abort_ms = now + self.config.abort_interval_ms
            self.abort_timed_out()
        if now >= self._next_remove_ms:
            self._next_remove_ms = now + self.config.remove_interval_ms
            self.remove_expired()

    def abort_timed_out(self) -> None:
        """Abort each ongoing transaction past its timeout, bumping its epoch (the producer is fenced), and send
        again the markers of a preparing one whose sending stopped."""
        after: list[After] = []
        now = self._now_ms()
        with self._lock:
            for partition, state in self._cache.active():
                for entry in list(state.txns.values()):
                    current = entry.current
                    if entry.pending is not None:
                        continue
                    if current.state in m.PREPARING:
                        self._send_markers(partition, entry, after)
                    elif current.state is TxnState.ONGOING and current.start_ms + current.timeout_ms < now:
                        log.info(
                            "transactional id %r: aborting its transaction, older than its timeout of %d ms",
                            current.transactional_id,
                            current.timeout_ms,
                        )
                        fence = m.fence_epoch(current, entry.failed_fence)
                        entry.pending = fence
                        self._end(
                            partition,
                            entry,
                            fence.producer_id,
                            fence.producer_epoch,
                            False,
                            False,
                            _log_abort(current),
                            after,
                        )
        run(after)

    def remove_expired(self) -> None:
        """Write a tombstone for each id idle longer than ``transactional.id.expiration.ms``."""
        now = self._now_ms()
        after: list[After] = []
        with self._lock:
            for partition, state in self._cache.active():
                for entry in list(state.txns.values()):
                    current = entry.current
                    if (
                        entry.pending is None
                        and current.state in m.IDLE
                        and current.last_update_ms <= now - self.config.id_expiration_ms
                    ):
                        log.info("transactional id %r expired", current.transactional_id)
                        self._cache.transit(partition, entry, current.to(TxnState.DEAD, now), _ignore, after)
        run(after)

    def _now_ms(self) -> int:
        return int(self.wall_clock() * 1000)

    # --- ListTransactions, DescribeTransactions ----------------------------------------------------------------

    def list_transactions(
        self,
        states: Iterable[str] = (),
        producer_ids: Iterable[int] = (),
        min_duration_ms: int = -1,
        pattern: str | None = None,
    ) -> tuple[ErrorCode, list[str], list[TransactionListing]]:
        """The ids this node coordinates (Kafka's ListTransactions on one broker; hub.log.txn.listing): the error,
        the state filters that name no state, and the ids matching every filter."""
        wanted = ListFilter.parse(states, producer_ids, min_duration_ms, pattern)
        if isinstance(wanted, ErrorCode):
            return wanted, [], []
        with self._lock:
            if self._cache.closed:
                return ErrorCode.COORDINATOR_NOT_AVAILABLE, list(wanted.unknown_states), []
            if self._cache.loading():
                return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, list(wanted.unknown_states), []
            records = [entry.current for _, led in self._cache.active() for entry in led.txns.values()]
        return ErrorCode.NONE, list(wanted.unknown_states), listings(records, wanted, self._now_ms())

    def describe_transactions(self, transactional_ids: Iterable[str]) -> list[TransactionDescription]:
        """DescribeTransactions: each id's state, or NOT_COORDINATOR (…) when this node does not serve it."""
        described = []
        with self._lock:
            for tid in transactional_ids:
                serving = self._cache.serving(tid) if tid else ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
                if isinstance(serving, ErrorCode):
                    described.append(TransactionDescription(tid, serving))
                else:
                    entry = serving[1].txns.get(tid)
                    described.append(description(tid, None if entry is None else entry.current))
        return described

    def snapshot(self, transactional_id: str) -> TxnRecord | None:
        """The id's current state (tests and tools)."""
        with self._lock:
            serving = self._cache.serving(transactional_id)
            if isinstance(serving, ErrorCode):
                return None
            entry = serving[1].txns.get(transactional_id)
            return None if entry is None else entry.current


def _log_abort(record: TxnRecord) -> Callable[[ErrorCode, list[After]], None]:
    def aborted(error: ErrorCode, after: list[Any]) -> None:
        if error is not ErrorCode.NONE:
            log.info("aborting the timed-out transaction of %r: %s", record.transactional_id, error.name)

    return aborted


def _resolve(done: Future[ErrorCode]) -> Callable[[ErrorCode, list[After]], None]:
    """A ``then`` that resolves ``done`` with the outcome, outside the lock."""

    def then(error: ErrorCode, after: list[After]) -> None:
        after.append(lambda: done.set_result(error))

    return then


def _ignore(error: ErrorCode, after: list[After]) -> None:
    pass
