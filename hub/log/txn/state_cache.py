"""TxnStateCache: the transaction coordinator's table of transactional ids, by ``__transaction_state`` partition, and
the writes that change it (Kafka's TransactionStateManager).

A partition's ids are served while this node leads it: ``become`` loads the partition (its records replayed, a
tombstone removing an id, Dead ids dropped) and serves it; ``resign`` drops it. Requests for an id of a partition not
served are refused as Kafka refuses them (``serving``: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS while loading,
COORDINATOR_NOT_AVAILABLE once closed); hub.log.group.leadership's Leadership tracks each partition's status, leader
epoch (the coordinator epoch of its markers) and term.

``transit`` writes an id's next state: decided under the lock (the id's ``pending`` state until written, which
makes other requests for it wait with CONCURRENT_TRANSACTIONS), appended by its writer (hub.log.ordered_writer)
without it, applied under the lock only while the partition's term it was written in holds. A write lost to
another leader resigns the partition.

Thread-safety: ``lock`` (re-entrant) guards the table; the coordinator holds it for each decision. Callbacks given
to ``transit`` run under it; the actions they append to ``after`` run outside it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.log.error_codes import ErrorCode
from hub.log.errors import LogError
from hub.log.group.leadership import Leadership, Status
from hub.log.group.offsets_log import leadership_lost
from hub.log.ordered_writer import StaleWriteError
from hub.log.txn.metadata import TxnRecord, TxnState
from hub.log.txn.state_format import decode_key, decode_value, encode_key, encode_value, partition_for
from hub.log.txn.state_log import TxnStateLog, state_writer

log = logging.getLogger("hub.log.txn")

After = Callable[[], None]
Then = Callable[[ErrorCode, list[After]], None]


@dataclass(eq=False)
class Entry:
    """One id: its state, and the state being written (``pending``)."""

    current: TxnRecord
    pending: TxnRecord | None = None
    #: A fence whose PrepareAbort write failed: its epoch (never given out) is not bumped again.
    failed_fence: bool = False
    #: Markers of the current Prepare* state are being sent.
    sending: bool = False


@dataclass(eq=False)
class LedPartition:
    """One ``__transaction_state`` partition's coordinatorship and ids."""

    leadership: Leadership = field(default_factory=Leadership)
    txns: dict[str, Entry] = field(default_factory=dict)


class TxnStateCache:
    """See the module docstring."""

    def __init__(self, state_log: TxnStateLog) -> None:
        self.state_log = state_log
        self.lock = threading.RLock()
        self.partitions: dict[int, LedPartition] = {}
        self.closed = False
        self._writer = state_writer(state_log)

    def start(self) -> None:
        self._writer.start()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            for led in self.partitions.values():
                led.leadership.close()
        self._writer.close()

    def partition_for(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.state_log.partition_count())

    def become(self, partition: int, leader_epoch: int, loaded: Callable[[LedPartition, list[After]], None]) -> bool:
        """Load and serve ``partition`` (blocking for the load); ``loaded`` runs under the lock once it is served.
        False when there was nothing to load (a stale epoch, a partition already led, a resignation meanwhile)."""
        with self.lock:
            led = self.partitions.setdefault(partition, LedPartition())
            term = led.leadership.begin_load(leader_epoch)
        if term is None:
            return False
        self._writer.barrier()  # an earlier term's writes are done (or skipped) before the log is read
        try:
            records = self._read(partition)
        except BaseException:
            with self.lock:
                if led.leadership.term == term:
                    led.leadership.resign(None)
            raise
        after: list[After] = []
        with self.lock:
            if not led.leadership.finish_load(term):
                return False
            led.txns = {tid: Entry(record) for tid, record in records.items()}
            loaded(led, after)
        run(after)
        return True

    def _read(self, partition: int) -> dict[str, TxnRecord]:
        records: dict[str, TxnRecord] = {}
        for key, value in self.state_log.read_all(partition):
            try:
                tid = decode_key(key)
                if tid is None:
                    continue
                if value is None:
                    records.pop(tid, None)
                else:
                    records[tid] = decode_value(tid, value)
            except (ValueError, UnicodeDecodeError, IndexError) as exc:
                log.warning("skipping an unreadable __transaction_state-%d record: %s", partition, exc)
        return {tid: record for tid, record in records.items() if record.state is not TxnState.DEAD}

    def resign(self, partition: int, leader_epoch: int | None) -> bool:
        with self.lock:
            led = self.partitions.get(partition)
            if led is None or not led.leadership.resign(leader_epoch):
                return False
            led.txns = {}
            return True

    def serving(self, transactional_id: str) -> tuple[int, LedPartition] | ErrorCode:
        """The id's partition and its coordinatorship, or the error refusing the id here (under the lock)."""
        if self.closed:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        partition = self.partition_for(transactional_id)
        led = self.partitions.get(partition)
        if led is None:
            return ErrorCode.NOT_COORDINATOR
        return led.leadership.refusal() or (partition, led)

    def active(self) -> list[tuple[int, LedPartition]]:
        return [(p, led) for p, led in self.partitions.items() if led.leadership.status is Status.ACTIVE]

    def loading(self) -> bool:
        return any(led.leadership.status is Status.LOADING for led in self.partitions.values())

    def transit(self, partition: int, entry: Entry, transit: TxnRecord, then: Then, after: list[After]) -> None:
        """Write ``transit`` as the id's next state (under the lock); ``then`` runs under the lock with the
        outcome, the state applied first when it is NONE (a Dead one removes the id)."""
        led = self.partitions[partition]
        term = led.leadership.term
        entry.pending = transit
        value = None if transit.state is TxnState.DEAD else encode_value(transit)
        records = [(encode_key(transit.transactional_id), value)]

        def written(exc: BaseException | None) -> None:
            later: list[After] = []
            with self.lock:
                error = ErrorCode.NONE
                if not led.leadership.is_current(term) or isinstance(exc, StaleWriteError):
                    error = ErrorCode.NOT_COORDINATOR
                elif exc is not None and leadership_lost(exc):
                    log.warning("lost the leadership of __transaction_state-%d while writing to it: %s", partition, exc)
                    error = ErrorCode.NOT_COORDINATOR
                    if led.leadership.resign(None):
                        led.txns = {}
                elif exc is not None:
                    log.error("writing to __transaction_state-%d failed: %s", partition, exc)
                    error = ErrorCode.COORDINATOR_NOT_AVAILABLE
                if entry.pending is transit:
                    entry.pending = None
                if error is ErrorCode.NONE:
                    entry.current = transit
                    if transit.state is TxnState.DEAD and led.txns.get(transit.transactional_id) is entry:
                        del led.txns[transit.transactional_id]
                then(error, later)
            run(later)

        try:
            self._writer.submit(partition, records, lambda: led.leadership.is_current(term), written)
        except LogError:
            entry.pending = None
            then(ErrorCode.COORDINATOR_NOT_AVAILABLE, after)

    def apply_and_write_behind(self, partition: int, entry: Entry, transit: TxnRecord) -> None:
        """Apply ``transit`` at once and write it behind (under the lock): for a Complete state, whose loss in a
        crash only delays it — the Prepare state loaded again has its markers sent again, which the log takes as
        repeats, and is completed then. The id's later writes follow it in the log, so one of them being committed
        means it is too. A failed write is logged; a write lost to another leader resigns the partition."""
        led = self.partitions[partition]
        term = led.leadership.term
        entry.current = transit
        records = [(encode_key(transit.transactional_id), encode_value(transit))]

        def written(exc: BaseException | None) -> None:
            if exc is None or isinstance(exc, StaleWriteError):
                return
            with self.lock:
                if not led.leadership.is_current(term):
                    return
                if leadership_lost(exc):
                    log.warning("lost the leadership of __transaction_state-%d while writing to it: %s", partition, exc)
                    if led.leadership.resign(None):
                        led.txns = {}
                else:
                    log.error("writing to __transaction_state-%d failed: %s", partition, exc)

        # closing (LogError): the Prepare state in the log is completed when the partition is loaded again
        with contextlib.suppress(LogError):
            self._writer.submit(partition, records, lambda: led.leadership.is_current(term), written)


def run(after: list[After]) -> None:
    """Run the actions decided under the lock, each on its own (one failing does not stop the others)."""
    for action in after:
        try:
            action()
        except Exception:
            log.exception("transaction coordinator callback failed")
