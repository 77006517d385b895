"""RuntimeCollector: Kafka Connect's metric groups, read from the herder and the worker's task runners when
Prometheus scrapes, in Prometheus' names (docs/metrics.md maps each to Connect's JMX name).

Groups: worker (connector and task counts, tasks per connector and state), connector (status), task common
(status, running and pause ratios, batches, offset commits and their time), source task (records polled and
written, records in flight), sink task (records read and put, partitions, lag per partition) and task errors
(Connect's task-error-metrics, dead-letter writes and their failures), plus each running task's
published progress (``hub.runtime.progress``: records per second, percent, ETA, a task's own lag figures).

Cost on the record path: nothing is recorded per record. Runners bump plain ints once per batch
(``TaskCounters``, the tolerance operator's counts); this collector reads them only when scraped. Statuses and
progress come from the herder's status view, so every worker of a cluster shows every connector's state; counters
and lag are this worker's own tasks (labelled with ``worker``), as Connect's metrics are per worker.

Thread-safety: ``collect`` runs on the scraping thread; it copies what it reads from the runners (ints and dict
copies, atomic under the interpreter lock) and keeps one admin client, opened on first use, behind a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.log.client import Admin, OffsetSpec, TopicPartition
from hub.runtime.herder import Herder
from hub.runtime.sink_runner import SinkTaskRunner
from hub.runtime.source_runner import SourceTaskRunner
from hub.runtime.stores import State
from hub.runtime.task_runner import TaskRunner
from hub.runtime.worker import Worker

log = logging.getLogger("hub.runtime.metrics")

#: Connect's states, each a label value of the status gauges (1 for the current state, 0 for the others).
STATES = tuple(state.value for state in State)

#: Numeric progress figures exported as ``hub_connect_task_progress{figure=…}`` (others, like ``phase``, are not).
_PROGRESS_SKIPPED = frozenset({"records"})


class RuntimeCollector(Collector):
    """Connect's metrics of one worker (see the module docstring)."""

    def __init__(self, herder: Herder, worker: Worker | None = None) -> None:
        self._herder = herder
        self._worker = worker if worker is not None else getattr(herder, "worker", None)
        self._admin: Admin | None = None
        self._admin_lock = threading.Lock()

    def close(self) -> None:
        with self._admin_lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None

    def collect(self) -> Iterator[Any]:
        worker_id = self._worker.worker_id if self._worker is not None else ""
        yield from self._statuses(worker_id)
        yield from self._rebalances()
        if self._worker is not None:
            with self._worker._lock:
                runners = dict(self._worker.tasks)
            yield from self._task_counters(worker_id, runners)

    # --- statuses, from the herder (every connector of the cluster) --------------------------------------------

    def _statuses(self, worker_id: str) -> Iterator[Any]:
        connector_status = GaugeMetricFamily(
            "hub_connect_connector_status",
            "The connector's state (1 for its current state).",
            labels=["connector", "type", "state"],
        )
        task_status = GaugeMetricFamily(
            "hub_connect_task_status",
            "The task's state (1 for its current state).",
            labels=["connector", "task", "state"],
        )
        tasks_by_state = GaugeMetricFamily(
            "hub_connect_worker_connector_tasks",
            "The connector's tasks in each state.",
            labels=["connector", "state"],
        )
        progress = GaugeMetricFamily(
            "hub_connect_task_progress",
            "A running task's published progress figures (records_per_second, percent, eta_seconds, lag_records…).",
            labels=["connector", "task", "figure"],
        )
        connectors = 0
        tasks = 0
        for name in self._connectors():
            try:
                status = self._herder.connector_status(name)
            except Exception as exc:  # deleted between the list and the look-up, or the herder not ready
                log.debug("no status for %s: %s", name, exc)
                continue
            connectors += 1
            state = status["connector"]["state"]
            for value in STATES:
                connector_status.add_metric([name, str(status.get("type", "")), value], 1.0 if value == state else 0.0)
            counts = dict.fromkeys(STATES, 0)
            for task in status["tasks"]:
                tasks += 1
                task_id = str(task["id"])
                counts[task["state"]] = counts.get(task["state"], 0) + 1
                for value in STATES:
                    task_status.add_metric([name, task_id, value], 1.0 if value == task["state"] else 0.0)
                for figure, number in (task.get("progress") or {}).items():
                    if figure not in _PROGRESS_SKIPPED and isinstance(number, int | float):
                        progress.add_metric([name, task_id, str(figure)], float(number))
            for value, count in counts.items():
                tasks_by_state.add_metric([name, value], float(count))
        yield GaugeMetricFamily("hub_connect_worker_connector_count", "Connectors in the cluster.", value=connectors)
        yield GaugeMetricFamily("hub_connect_worker_task_count", "Tasks in the cluster.", value=tasks)
        yield connector_status
        yield task_status
        yield tasks_by_state
        yield progress
        yield _info(worker_id)

    def _rebalances(self) -> Iterator[Any]:
        """Connect's connect-worker-rebalance-metrics, on a worker of a group (``hub worker``, ``hub start``);
        a standalone worker never rebalances and exports none, as Connect's standalone worker."""
        stats = getattr(self._herder, "rebalances", None)
        if stats is None:
            return
        yield CounterMetricFamily(
            "hub_connect_worker_rebalance_completed_rebalances", "Rebalances this worker completed.", stats.completed
        )
        yield CounterMetricFamily(
            "hub_connect_worker_rebalance_seconds", "Time spent in the completed rebalances.", stats.seconds
        )
        yield GaugeMetricFamily(
            "hub_connect_worker_rebalance_max_seconds", "The longest completed rebalance.", stats.max_seconds
        )
        yield GaugeMetricFamily(
            "hub_connect_worker_rebalance_rebalancing", "1 while this worker is rebalancing.", int(stats.rebalancing)
        )
        yield GaugeMetricFamily(
            "hub_connect_worker_rebalance_epoch", "The group generation of the assignment applied last.", stats.epoch
        )
        since = -1.0 if stats.completed_at is None else time.monotonic() - stats.completed_at
        yield GaugeMetricFamily(
            "hub_connect_worker_rebalance_time_since_last_rebalance_seconds",
            "Time since the last completed rebalance (-1 before the first).",
            since,
        )

    def _connectors(self) -> list[str]:
        try:
            return sorted(self._herder.connectors())
        except Exception as exc:
            log.debug("no connector list: %s", exc)
            return []

    # --- this worker's task runners ----------------------------------------------------------------------------

    def _task_counters(self, worker_id: str, runners: dict[Any, TaskRunner]) -> Iterator[Any]:
        labels = ["connector", "task"]
        batches = CounterMetricFamily(
            "hub_connect_task_batches", "Batches the task moved: polls with records, or put() calls.", labels=labels
        )
        batch_seconds = CounterMetricFamily(
            "hub_connect_task_batch_seconds", "Time spent in poll() (source) or put() (sink).", labels=labels
        )
        commits = CounterMetricFamily(
            "hub_connect_task_offset_commit_success", "Offset commits that succeeded.", labels=labels
        )
        commit_failures = CounterMetricFamily(
            "hub_connect_task_offset_commit_failure", "Offset commits that failed.", labels=labels
        )
        commit_seconds = CounterMetricFamily(
            "hub_connect_task_offset_commit_seconds", "Time spent in the offset commits that succeeded.", labels=labels
        )
        running_ratio = GaugeMetricFamily(
            "hub_connect_task_running_ratio", "Fraction of the task's time spent running.", labels=labels
        )
        pause_ratio = GaugeMetricFamily(
            "hub_connect_task_pause_ratio", "Fraction of the task's time spent paused.", labels=labels
        )
        partitions = GaugeMetricFamily(
            "hub_connect_sink_task_partition_count", "Partitions assigned to the sink task.", labels=labels
        )
        polled = CounterMetricFamily(
            "hub_connect_source_task_source_record_poll", "Records the source task's poll() returned.", labels=labels
        )
        written = CounterMetricFamily(
            "hub_connect_source_task_source_record_write", "Records the store acknowledged.", labels=labels
        )
        active = GaugeMetricFamily(
            "hub_connect_source_task_source_record_active_count", "Records polled, not yet acknowledged.", labels=labels
        )
        read = CounterMetricFamily(
            "hub_connect_sink_task_sink_record_read", "Records the sink task read from the store.", labels=labels
        )
        sent = CounterMetricFamily(
            "hub_connect_sink_task_sink_record_send", "Records handed to put() (after transforms).", labels=labels
        )
        lag = GaugeMetricFamily(
            "hub_connect_sink_task_lag_records",
            "Records of the partition not yet handed to the sink task.",
            labels=[*labels, "topic", "partition"],
        )
        error_labels = labels
        record_errors = CounterMetricFamily(
            "hub_connect_task_error_total_record_errors", "Errors met, retries included.", labels=error_labels
        )
        record_failures = CounterMetricFamily(
            "hub_connect_task_error_total_record_failures", "Records that failed after retries.", labels=error_labels
        )
        skipped = CounterMetricFamily(
            "hub_connect_task_error_total_records_skipped",
            "Failed records skipped (errors.tolerance=all).",
            labels=error_labels,
        )
        retries = CounterMetricFamily(
            "hub_connect_task_error_total_retries", "Operations retried.", labels=error_labels
        )
        logged = CounterMetricFamily(
            "hub_connect_task_error_total_errors_logged", "Errors logged.", labels=error_labels
        )
        dlq = CounterMetricFamily(
            "hub_connect_task_error_deadletterqueue_produce_requests",
            "Records written to the dead letter queue.",
            labels=error_labels,
        )
        dlq_failures = CounterMetricFamily(
            "hub_connect_task_error_deadletterqueue_produce_failures",
            "Dead letter queue writes the store refused.",
            labels=error_labels,
        )
        sink_positions: dict[tuple[str, str], dict[TopicPartition, int]] = {}
        for task_id, runner in sorted(runners.items()):
            key = [task_id.connector, str(task_id.task)]
            counters = runner.counters
            batches.add_metric(key, counters.batches)
            batch_seconds.add_metric(key, counters.batch_seconds)
            commits.add_metric(key, counters.offset_commits)
            commit_failures.add_metric(key, counters.offset_commit_failures)
            commit_seconds.add_metric(key, counters.offset_commit_seconds)
            running_ratio.add_metric(key, runner.clock.ratio(State.RUNNING))
            pause_ratio.add_metric(key, runner.clock.ratio(State.PAUSED))
            errors = runner.setup.errors
            record_errors.add_metric(key, errors.record_errors)
            record_failures.add_metric(key, errors.failed_records)
            skipped.add_metric(key, errors.failed_records if errors.tolerate_all else 0)
            retries.add_metric(key, errors.retries)
            logged.add_metric(key, errors.errors_logged)
            dlq.add_metric(key, errors.dead_letter_requests)
            dlq_failures.add_metric(key, errors.dead_letter_failures)
            if isinstance(runner, SourceTaskRunner):
                polled.add_metric(key, runner.meter.records)
                written.add_metric(key, counters.records_out)
                active.add_metric(key, runner.in_flight)
            elif isinstance(runner, SinkTaskRunner):
                read.add_metric(key, runner.meter.records)
                sent.add_metric(key, counters.records_out)
                partitions.add_metric(key, len(runner.assigned))
                sink_positions[(key[0], key[1])] = runner.positions()
        yield from (batches, batch_seconds, commits, commit_failures, commit_seconds, running_ratio, pause_ratio)
        yield from (polled, written, active, read, sent, partitions)
        yield from (record_errors, record_failures, skipped, retries, logged, dlq, dlq_failures)
        for (connector, task), tp, value in self._lags(sink_positions):
            lag.add_metric([connector, task, tp.topic, str(tp.partition)], value)
        yield lag

    def _lags(self, positions: dict[tuple[str, str], dict[TopicPartition, int]]) -> Iterator[Any]:
        wanted = {tp for per_task in positions.values() for tp in per_task}
        if not wanted or self._worker is None:
            return
        try:
            with self._admin_lock:
                if self._admin is None:
                    self._admin = self._worker.clients.admin()
                ends = self._admin.list_offsets(wanted, OffsetSpec.LATEST)
        except Exception as exc:  # best effort: the next scrape tries again
            log.debug("end offsets unavailable: %s", exc)
            return
        for key, per_task in positions.items():
            for tp, position in sorted(per_task.items()):
                end = ends.get(tp)
                if end is not None:
                    yield key, tp, float(max(0, end - position))


def _info(worker_id: str) -> GaugeMetricFamily:
    info = GaugeMetricFamily("hub_connect_worker_info", "This worker (always 1).", labels=["worker"])
    info.add_metric([worker_id], 1.0)
    return info
