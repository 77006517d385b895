"""ExactlyOnceSourceTaskRunner: a source task whose records and source offsets are written in transactions (KIP-618).

Each task has one transactional producer, with Connect's transactional id ``{group.id}-{connector}-{task}``;
``init_transactions()`` at start fences any older producer of the same task (a zombie) and ends what it left
open. A transaction holds the records of one or more polled batches (``hub.runtime.transaction_boundaries`` says
where transactions end) and, written last, the offsets-topic records of the newest source offset per source
partition among them. The commit makes both visible at once to ``read_committed`` readers — the offset store
included — or neither. So after any crash the committed offsets are exactly those of the committed records, and
the task resumes right after them: no record is lost or written twice. Offsets are never written outside a
transaction, and a task reads them only after its producer's ``init_transactions()`` decided every earlier
transaction of the task and the offset store read its topic to the end.

Invariants:
- ``commit_record`` and ``commit()`` are called only after the transaction holding the records committed.
- A fenced producer (ProducerFencedError: a newer generation of the task took over) fails the task at once,
  without another write; a failed or cancelled task writes nothing more (its open transaction is aborted, or
  left to the store, which aborts it when the successor's producer fences this one or when it times out).
- With ``transaction.boundary`` poll or interval the open transaction is committed when the task stops or is
  paused; with ``connector`` only the task ends transactions.

Thread-safety: everything runs on the task's thread, except ``stop``/``cancel`` (see ``task_runner``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.log.client import ProducerFencedError, RetriableClientError, StoreClients, TransactionalProducer
from hub.runtime.exactly_once_config import ExactlyOnceSettings
from hub.runtime.source_runner import SourceTaskRunner, SubmittedRecords, TopicCreator, _OffsetReader, _SourceContext
from hub.runtime.stores import OffsetStore, TargetState
from hub.runtime.stores.offsets import SourceOffset, SourcePartition, encode
from hub.runtime.task_runner import TaskSetup
from hub.runtime.transaction_boundaries import End, Segment, TransactionBoundaries
from hub.sdk.connector import SourceTask
from hub.sdk.errors import ConnectorError

#: How often a commit or abort whose outcome is unknown (a timeout) is tried again before the task fails.
END_ATTEMPTS = 5
#: Default transaction.timeout.ms of task producers (Kafka's producer default).
TRANSACTION_TIMEOUT_MS = 60_000

_Offsets = dict[str, tuple[SourcePartition, SourceOffset | None]]


class TaskFencedError(ConnectorError):
    """This task's producer was fenced: a newer generation of the task runs elsewhere."""


class ExactlyOnceSourceTaskRunner(SourceTaskRunner):
    """Runs a SourceTask with transactions (see the module docstring)."""

    def __init__(
        self,
        setup: TaskSetup,
        task: SourceTask,
        target: TargetState,
        *,
        clients: StoreClients,
        offsets: OffsetStore,
        offsets_topic: str,
        transactional_id: str,
        producer_options: Mapping[str, str],
        topic_creation: bool,
    ) -> None:
        super().__init__(
            setup,
            task,
            target,
            clients=clients,
            offsets=offsets,
            producer_options=producer_options,
            topic_creation=topic_creation,
        )
        settings = ExactlyOnceSettings.of(setup.connector_config)
        interval_ms = settings.interval_ms
        interval_s = setup.offset_flush_interval_s if interval_ms is None else interval_ms / 1000
        self.boundaries = TransactionBoundaries(settings.boundary, interval_s)
        self.transactional_id = transactional_id
        self._offsets_topic = offsets_topic
        self._txn: TransactionalProducer | None = None
        self._open = False  # a transaction was begun and not yet ended
        self._txn_offsets: _Offsets = {}  # newest offset per source partition of the open transaction's records
        self._failing = False
        self._fenced = False

    # --- the loop ----------------------------------------------------------------------------------------------

    def execute(self) -> None:
        setup = self.setup
        options = {k: v for k, v in self._producer_options.items() if k != "transactional.id"}
        timeout_ms = int(options.pop("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS))
        txn = self._clients.transactional_producer(
            self.transactional_id, transaction_timeout_ms=timeout_ms, options=options
        )
        self._txn = txn
        self._producer = txn  # closed by the base class, also when the task is cancelled
        try:
            self._guard(lambda: txn.init_transactions(setup.offset_flush_timeout_s + timeout_ms / 1000))
            # Only now is every earlier transaction of this task decided: read the offsets they committed (as
            # Connect's task reads its offsets topic to the end), so a task restarted in this same worker does not
            # resume from offsets its predecessor committed a moment ago but the offset store has not read yet.
            self._offsets.refresh()
            creator = TopicCreator(self._clients, setup.raw_connector_config, self._topic_creation)
            reader = _OffsetReader(self._offsets, setup.task_id.connector)
            self.task.initialize(_SourceContext(setup.config, reader, self.boundaries.context))
            self.task.start(dict(setup.config))
            self._task_started = True
            self.log.info("source task started (exactly once, transactional id %s)", self.transactional_id)
            self.report_running()
            while not self.stopping.is_set():
                if not self.resumed.is_set() and self._open and self.boundaries.commits_at_stop:
                    self._commit()  # no transaction hangs open while paused
                if not self.wait_if_paused():
                    break
                self.tick_progress()
                if self._open and self.boundaries.due():
                    self._commit()
                batch = self._poll()
                if self.cancelled:
                    break
                for segment in self.boundaries.split(batch):
                    self._send_segment(segment, creator)
                if batch:
                    self.meter.add(len(batch))
        except BaseException:
            self._failing = True
            raise
        finally:
            self._finish()

    def _send_segment(self, segment: Segment, creator: TopicCreator) -> None:
        if segment.records:
            self._begin()
            polled = self._guard(lambda: self._send_batch(segment.records, creator))
            self._txn_offsets.update(polled.offsets)
        if segment.end is End.COMMIT:
            self._commit()
        elif segment.end is End.ABORT:
            self._abort_keeping_offsets()

    # --- transactions ------------------------------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._open:
            assert self._txn is not None
            self._guard(self._txn.begin_transaction)
            self._open = True

    def _commit(self) -> None:
        """Write the offsets of the open transaction's records into it and commit it; then tell the task."""
        if not self._open and not self._txn_offsets:
            return
        assert self._txn is not None
        txn = self._txn
        self._begin()
        offsets, self._txn_offsets = self._txn_offsets, {}
        if offsets:
            records = [
                (self._offsets_topic, key, value, (), None, None)
                for key, value in encode(self.setup.task_id.connector, offsets)
            ]
            written = self._guard(lambda: txn.send_batch(records))
            self._guard(lambda: txn.flush(self.setup.offset_flush_timeout_s))
            failed = written.result(self.setup.offset_flush_timeout_s).errors
            if failed:  # never commit records without the offsets that cover them
                raise ConnectorError(
                    f"writing source offsets into the transaction failed: {next(iter(failed.values()))}"
                )
        self._end(txn.commit_transaction)
        self.boundaries.ended()
        for future, _, _ in self._sent:  # answered by now: the commit flushed them
            future.exception(self.setup.offset_flush_timeout_s)
        self._collect_acknowledgements()  # commit_record for each
        if self._send_error is not None:  # cannot happen after a commit, but never hide it
            raise self._send_error
        self._submitted.committable()  # drop what is settled: it is committed
        self.log.debug("committed a transaction with the offsets of %d source partitions", len(offsets))
        try:
            self.task.commit()
        except Exception as exc:
            self.log.warning("task commit() failed: %s", exc)

    def _abort_keeping_offsets(self) -> None:
        """The task asked to abort: drop the transaction's records, then commit their offsets alone."""
        if not self._open:
            self.log.warning("ignoring the task's request to abort: the current transaction is empty")
            return
        offsets = self._txn_offsets
        self._abort()
        self._txn_offsets = offsets
        self._commit()

    def _abort(self) -> None:
        assert self._txn is not None
        if self._open:
            self._end(self._txn.abort_transaction)
        self.boundaries.ended()
        self._sent.clear()  # their futures fail with TransactionAbortedError: nothing of them is kept
        self._submitted = SubmittedRecords()
        self._txn_offsets = {}
        self._send_error = None

    def _end(self, end: Any) -> None:
        """Commit or abort, trying again while the outcome is unknown (the producer resumes the same call)."""
        timeout_s = self.setup.offset_flush_timeout_s + TRANSACTION_TIMEOUT_MS / 1000
        for attempt in range(1, END_ATTEMPTS + 1):
            try:
                self._guard(lambda: end(timeout_s))
                break
            except RetriableClientError as exc:
                if attempt == END_ATTEMPTS:
                    raise
                self.log.warning("ending the transaction is taking long; trying again: %s", exc)
        self._open = False

    def _guard(self, call: Any) -> Any:
        """Run a producer call; a fenced producer becomes TaskFencedError (the task fails, writing nothing)."""
        try:
            return call()
        except ProducerFencedError as exc:
            self._fenced = True
            raise TaskFencedError(
                f"task {self.id} was fenced out (transactional id {self.transactional_id}): a newer generation of "
                "this connector's tasks has started; this one stops without writing anything more"
            ) from exc

    # --- stopping ----------------------------------------------------------------------------------------------

    def _finish(self) -> None:
        """Commit the open transaction when the boundary allows it and the task ended normally; else abort it
        (or, fenced or cancelled, leave it to the store)."""
        if self._txn is None or self._fenced or self.cancelled:
            return
        try:
            if not self._failing and self.boundaries.commits_at_stop:
                self._commit()
            elif self._open:
                self._abort()
        except Exception as exc:
            if not self._failing:
                raise
            self.log.warning("aborting the open transaction of a failed task failed: %s", exc)

    def commit_offsets(self) -> None:
        """Offsets are written only inside transactions (``_commit``)."""
