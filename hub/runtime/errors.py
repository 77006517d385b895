"""Error handling of a task (Kafka Connect's KIP-298): retries with backoff, tolerance, error logs and the
dead-letter queue.

``ToleranceOperator.execute(stage, operation, …)`` runs one step of a record's way (converter, transform, poll,
put). A failure that may be retried (any error of a converter or transform stage; RetriableError elsewhere) is
retried with exponential backoff — 300 ms doubling, capped at ``errors.retry.delay.max.ms`` — until
``errors.retry.timeout`` runs out. Then, with ``errors.tolerance=all``, the record is skipped: logged when
``errors.log.enable``, and for sinks written with its original bytes to the dead-letter topic (with
``__connect.errors.*`` headers when enabled). With ``errors.tolerance=none`` the error fails the task.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from enum import StrEnum
from typing import Any, TypeVar

from hub.log.client import ConsumerRecord, NewTopic, Producer, StoreClients
from hub.runtime.redaction import redact
from hub.sdk.errors import RetriableError

T = TypeVar("T")

log = logging.getLogger("hub.runtime.errors")

_FIRST_DELAY_S = 0.3


class Stage(StrEnum):
    TASK_POLL = "TASK_POLL"
    TASK_PUT = "TASK_PUT"
    TRANSFORMATION = "TRANSFORMATION"
    KEY_CONVERTER = "KEY_CONVERTER"
    VALUE_CONVERTER = "VALUE_CONVERTER"
    HEADER_CONVERTER = "HEADER_CONVERTER"
    KAFKA_PRODUCE = "KAFKA_PRODUCE"
    KAFKA_CONSUME = "KAFKA_CONSUME"


_ANY_ERROR_TOLERATED = {Stage.TRANSFORMATION, Stage.KEY_CONVERTER, Stage.VALUE_CONVERTER, Stage.HEADER_CONVERTER}


class ToleranceExceededError(Exception):
    """An error the connector's ``errors.tolerance`` does not allow: the task fails with it as cause."""


class DeadLetterQueue:
    """Writes failed sink records, as they were read, to the dead-letter topic."""

    def __init__(
        self,
        clients: StoreClients,
        topic: str,
        *,
        replication_factor: int,
        context_headers: bool,
        connector: str,
        task: int,
    ) -> None:
        self.topic = topic
        self._context_headers = context_headers
        self._connector = connector
        self._task = task
        with clients.admin() as admin:
            admin.create_topics([NewTopic(topic, 1, max(1, replication_factor))], if_not_exists=True)
        self._producer: Producer = clients.producer()

    def report(self, record: ConsumerRecord, stage: Stage, origin: str, error: BaseException) -> Future[Any]:
        headers = list(record.headers)
        if self._context_headers:
            context = {
                "topic": record.topic,
                "partition": str(record.partition),
                "offset": str(record.offset),
                "connector.name": self._connector,
                "task.id": str(self._task),
                "stage": stage.value,
                "class.name": origin,
                "exception.class.name": f"{type(error).__module__}.{type(error).__qualname__}",
                "exception.message": redact(str(error)),
                "exception.stacktrace": redact("".join(traceback.format_exception(error))),
            }
            headers += [(f"__connect.errors.{name}", value.encode()) for name, value in context.items()]
        return self._producer.send(
            self.topic, key=record.key, value=record.value, headers=headers, timestamp_ms=record.timestamp
        )

    def close(self) -> None:
        try:
            self._producer.flush(30)
        finally:
            self._producer.close()


class ToleranceOperator:
    """Retries and tolerates failures per the connector's ``errors.*`` options (see the module docstring)."""

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        context: str,
        dead_letter_queue: DeadLetterQueue | None = None,
    ) -> None:
        self.retry_timeout_ms = int(options.get("errors.retry.timeout", 0))
        self.max_delay_ms = int(options.get("errors.retry.delay.max.ms", 60_000))
        self.tolerate_all = str(options.get("errors.tolerance", "none")).lower() == "all"
        self.log_errors = bool(options.get("errors.log.enable", False))
        self.log_messages = bool(options.get("errors.log.include.messages", False))
        self.dead_letter_queue = dead_letter_queue
        self.context = context
        #: Set when the task stops, to cut retry waits short (the task runner shares its own event).
        self.stop_event = threading.Event()
        self.failed_records = 0
        #: Counts for the errors metrics (Connect's task-error-metrics); bumped on the task's thread.
        self.record_errors = 0
        self.retries = 0
        self.errors_logged = 0
        self.dead_letter_requests = 0
        #: Dead-letter writes the store refused (Connect's deadletterqueue-produce-failures); bumped by the
        #: producer's delivery callbacks, one thread.
        self.dead_letter_failures = 0
        self.pending_reports: list[Future[Any]] = []

    def execute(
        self,
        stage: Stage,
        operation: Callable[[], T],
        *,
        origin: str = "",
        record: ConsumerRecord | None = None,
        describe: Callable[[], str] | None = None,
    ) -> tuple[bool, T | None]:
        """(True, result) on success; (False, None) when the failure was tolerated (the record is skipped)."""
        try:
            return True, operation()  # the common case, without setting up retries
        except Exception as error:
            failure = error
            self.record_errors += 1
        deadline = None if self.retry_timeout_ms < 0 else time.monotonic() + self.retry_timeout_ms / 1000
        attempt = 0
        while True:
            if stage not in _ANY_ERROR_TOLERATED and not isinstance(failure, RetriableError):
                raise failure
            attempt += 1
            delay = self._delay(attempt, deadline)
            if delay is None or self.stop_event.is_set():
                self._tolerate(stage, failure, origin, record, describe)
                return False, None
            log.debug(
                "%s: %s failed (attempt %d), retrying in %.2f s: %s", self.context, stage, attempt, delay, failure
            )
            self.stop_event.wait(delay)
            self.retries += 1
            try:
                return True, operation()
            except Exception as error:
                failure = error
                self.record_errors += 1

    def _delay(self, attempt: int, deadline: float | None) -> float | None:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        delay: float = _FIRST_DELAY_S * 2 ** (attempt - 1)
        cap = self.max_delay_ms / 1000
        if delay > cap:
            delay = random.uniform(0, cap)
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - time.monotonic()))
        return delay

    def _tolerate(
        self,
        stage: Stage,
        error: BaseException,
        origin: str,
        record: ConsumerRecord | None,
        describe: Callable[[], str] | None,
    ) -> None:
        self.failed_records += 1
        where = ""
        if record is not None:
            where = f" for {record.topic}-{record.partition}@{record.offset}"
        if self.log_errors or not self.tolerate_all:
            detail = f"; record: {describe()}" if self.log_messages and describe is not None else ""
            log.error("%s: error in stage %s (%s)%s: %s%s", self.context, stage, origin, where, error, detail)
            self.errors_logged += 1
        if not self.tolerate_all:
            raise ToleranceExceededError(f"tolerance exceeded in error handler at stage {stage}{where}") from error
        if self.dead_letter_queue is not None and record is not None:
            written = self.dead_letter_queue.report(record, stage, origin, error)
            written.add_done_callback(self._count_dead_letter_outcome)
            self.pending_reports.append(written)
            self.dead_letter_requests += 1

    def _count_dead_letter_outcome(self, written: Future[Any]) -> None:
        if written.cancelled() or written.exception() is not None:
            self.dead_letter_failures += 1

    def report(self, record: ConsumerRecord, error: BaseException, stage: Stage = Stage.TASK_PUT) -> Future[Any]:
        """A record the task itself reports as bad (errant record reporter)."""
        done: Future[Any] = Future()
        try:
            self._tolerate(stage, error, "errant record reporter", record, None)
        except ToleranceExceededError as exc:
            done.set_exception(exc)
            return done
        if self.pending_reports:
            return self.pending_reports[-1]
        done.set_result(None)
        return done

    def wait_for_reports(self, timeout_s: float = 30.0) -> None:
        """Block until every dead-letter write so far is stored (before committing the offsets they cover)."""
        reports, self.pending_reports = self.pending_reports, []
        for report in reports:
            report.result(timeout_s)

    def close(self) -> None:
        if self.dead_letter_queue is not None:
            self.dead_letter_queue.close()
