"""Worker: starts and stops the connectors and tasks it is told to run; knows nothing of the cluster.

Configs arrive with ``${provider:…}`` references; the worker resolves them just before handing them to a
connector or task, so secrets live only in memory. Every state change is written to the status store under this
worker's id. Stopping is cooperative: tasks are asked to stop together and given
``task.shutdown.graceful.timeout.ms`` in total; a task that does not finish is cancelled (it writes nothing more,
see ``task_runner``) and its thread abandoned, both logged.

Thread-safety: the herder calls the lifecycle methods from its one thread; the lock keeps the task table and a
runner's thread consistent for the readers on other threads (a runner is in the table exactly while its thread
has been started and not yet been stopped).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from hub.log.client import StoreClients
from hub.runtime.config_providers import ConfigResolver
from hub.runtime.connector_config import parse_common
from hub.runtime.converters_setup import build_converters
from hub.runtime.errors import DeadLetterQueue, ToleranceOperator
from hub.runtime.exactly_once_config import SourceSupport, task_transactional_id
from hub.runtime.exactly_once_runner import ExactlyOnceSourceTaskRunner
from hub.runtime.options import prefixed
from hub.runtime.plugins import Plugins
from hub.runtime.redaction import redact
from hub.runtime.sink_runner import SinkTaskRunner
from hub.runtime.source_runner import PRODUCER_DEFAULTS, SourceTaskRunner
from hub.runtime.stores import OffsetStore, State, Status, StatusStore, TargetState
from hub.runtime.task_runner import TaskId, TaskRunner, TaskSetup
from hub.runtime.transforms import TransformationChain
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.connector import Connector, ConnectorContext, SinkConnector, SinkTask, SourceTask
from hub.sdk.errors import ConnectorError

log = logging.getLogger("hub.runtime.worker")


class _ConnectorContext(ConnectorContext):
    def __init__(self, worker: Worker, name: str) -> None:
        self._worker = worker
        self._name = name

    def request_task_reconfiguration(self) -> None:
        self._worker.on_reconfigure(self._name)

    def raise_error(self, error: Exception) -> None:
        self._worker.fail_connector(self._name, error)


@dataclass
class _RunningConnector:
    instance: Connector
    config: dict[str, str]  # as stored (references kept)
    target: TargetState


class Worker:
    """Runs connectors and tasks (see the module docstring)."""

    def __init__(
        self,
        worker_id: str,
        config: WorkerConfig,
        plugins: Plugins,
        clients: StoreClients,
        offsets: OffsetStore,
        statuses: StatusStore,
        resolver: ConfigResolver,
        on_reconfigure: Callable[[str], None],
    ) -> None:
        self.worker_id = worker_id
        self.config = config
        self.plugins = plugins
        self.clients = clients
        self.offsets = offsets
        self.statuses = statuses
        self.resolver = resolver
        self.on_reconfigure = on_reconfigure
        self.generation = 0
        #: Whether this worker may still run its work; the distributed herder ties it to group membership.
        self.lease: Callable[[], bool] = lambda: True
        #: Hears every status this worker writes (the herder schedules automatic restarts from it).
        self.on_status: Callable[[Status], None] = lambda status: None
        self._lock = threading.RLock()
        self.connectors: dict[str, _RunningConnector] = {}
        self.tasks: dict[TaskId, TaskRunner] = {}
        self.task_configs: dict[TaskId, dict[str, str]] = {}
        self.task_connector_configs: dict[TaskId, dict[str, str]] = {}  # what each task was started with

    # --- status ------------------------------------------------------------------------------------------------

    def _status(self, connector: str, task: int | None, state: State, trace: str | None = None) -> None:
        status = Status(connector, task, state, self.worker_id, self.generation, trace and redact(trace))
        self.statuses.put(status)
        self.on_status(status)

    def _task_status(self, task_id: TaskId, state: State, trace: str | None) -> None:
        self._status(task_id.connector, task_id.task, state, trace)

    # --- connectors --------------------------------------------------------------------------------------------

    def start_connector(self, name: str, config: Mapping[str, str], target: TargetState) -> bool:
        """Start (or, when STOPPED, only record) a connector; False with a FAILED status when it cannot start."""
        with self._lock:
            if name in self.connectors:
                raise ConnectorError(f"connector {name} is already running on this worker")
            try:
                resolved = self.resolver.resolve(config)
                instance = self.plugins.connector_class(config["connector.class"])()
                instance.initialize(_ConnectorContext(self, name))
                if target is not TargetState.STOPPED:
                    instance.start(resolved)
            except Exception as exc:
                log.error("connector %s failed to start: %s", name, exc, exc_info=exc)
                self._status(name, None, State.FAILED, "".join(traceback.format_exception(exc)))
                return False
            self.connectors[name] = _RunningConnector(instance, dict(config), target)
            self._status(name, None, _connector_state(target))
            log.info("connector %s started (%s)", name, target.value)
            return True

    def connector_task_configs(self, name: str) -> list[dict[str, str]]:
        """Ask a running connector for its task configs (ConnectorError when it fails or breaks tasks.max)."""
        with self._lock:
            running = self.connectors.get(name)
        if running is None:
            raise ConnectorError(f"connector {name} is not running on this worker")
        options = parse_common(type(running.instance), running.config)
        max_tasks = int(options.get("tasks.max") or 1)
        try:
            configs = running.instance.task_configs(max_tasks)
        except Exception as exc:
            self.fail_connector(name, exc)
            raise ConnectorError(f"connector {name} failed to produce task configs: {exc}") from exc
        if len(configs) > max_tasks and options.get("tasks.max.enforce", True):
            error = ConnectorError(f"connector {name} produced {len(configs)} task configs; tasks.max is {max_tasks}")
            self.fail_connector(name, error)
            raise error
        return [{str(k): str(v) for k, v in config.items()} for config in configs]

    def fail_connector(self, name: str, error: BaseException) -> None:
        log.error("connector %s failed: %s", name, error)
        self._status(name, None, State.FAILED, "".join(traceback.format_exception(error)))

    def stop_connector(self, name: str, *, deleted: bool = False) -> None:
        """Stop a connector running here; ``deleted`` first lets it clean up after itself (``on_delete``)."""
        with self._lock:
            running = self.connectors.pop(name, None)
        if running is None:
            return
        started = running.target is not TargetState.STOPPED
        if deleted:
            started = self._clean_up_deleted(name, running, started)
        if started:
            try:
                running.instance.stop()
            except Exception as exc:
                log.warning("connector %s failed while stopping: %s", name, exc)
        log.info("connector %s stopped", name)

    def _clean_up_deleted(self, name: str, running: _RunningConnector, started: bool) -> bool:
        """Calls ``on_delete`` (starting a STOPPED connector for it first); True when the instance is started."""
        try:
            if not started:
                running.instance.start(self.resolver.resolve(running.config))
                started = True
            running.instance.on_delete()
        except Exception as exc:
            log.warning("connector %s could not clean up after its deletion: %s", name, exc, exc_info=exc)
        return started

    def connector_config(self, name: str) -> dict[str, str] | None:
        with self._lock:
            running = self.connectors.get(name)
            return dict(running.config) if running else None

    # --- tasks -------------------------------------------------------------------------------------------------

    def start_task(
        self, task_id: TaskId, connector_config: Mapping[str, str], task_config: Mapping[str, str], target: TargetState
    ) -> bool:
        """Start a task thread; False with a FAILED status when it cannot be set up."""
        with self._lock:
            if task_id in self.tasks and self.tasks[task_id].alive:
                raise ConnectorError(f"task {task_id} is already running on this worker")
            try:
                runner = self._make_runner(task_id, connector_config, task_config, target)
            except Exception as exc:
                log.error("task %s failed to start: %s", task_id, exc, exc_info=exc)
                self._task_status(task_id, State.FAILED, "".join(traceback.format_exception(exc)))
                return False
            self.tasks[task_id] = runner
            self.task_configs[task_id] = dict(task_config)
            self.task_connector_configs[task_id] = dict(connector_config)
            runner.start()
        return True

    def _make_runner(
        self, task_id: TaskId, connector_config: Mapping[str, str], task_config: Mapping[str, str], target: TargetState
    ) -> TaskRunner:
        resolved = self.resolver.resolve(connector_config)
        connector_class = self.plugins.connector_class(resolved["connector.class"])
        options = parse_common(connector_class, resolved)
        task_class = connector_class().task_class()
        task = task_class()
        chain = TransformationChain.from_config(
            resolved, self.plugins.transform_table(), self.plugins.predicate_table()
        )
        dlq = None
        sink = issubclass(connector_class, SinkConnector)
        if sink and options.get("errors.deadletterqueue.topic.name"):
            dlq = DeadLetterQueue(
                self.clients,
                str(options["errors.deadletterqueue.topic.name"]),
                replication_factor=int(options.get("errors.deadletterqueue.topic.replication.factor") or 1),
                context_headers=bool(options.get("errors.deadletterqueue.context.headers.enable")),
                connector=task_id.connector,
                task=task_id.task,
            )
        setup = TaskSetup(
            task_id=task_id,
            config=self.resolver.resolve(task_config),
            connector_config=options,
            raw_connector_config=resolved,
            converters=build_converters(self.plugins, self.config, resolved),
            transforms=chain,
            errors=ToleranceOperator(options, context=str(task_id), dead_letter_queue=dlq),
            on_status=self._task_status,
            on_topic=lambda topic: self.statuses.put_topic(task_id.connector, topic, task_id.task),
            lease=self.lease,
            on_progress=lambda task, progress: self.statuses.put_progress(
                task.connector, task.task, self.worker_id, progress
            ),
            progress_interval_s=int(self.config["hub.status.progress.interval.ms"]) / 1000,
            offset_flush_interval_s=int(self.config["offset.flush.interval.ms"]) / 1000,
            offset_flush_timeout_s=int(self.config["offset.flush.timeout.ms"]) / 1000,
        )
        runner: TaskRunner
        if sink:
            if not isinstance(task, SinkTask):
                raise ConnectorError(f"{task_class.__name__} is not a SinkTask")
            consumer_options = {**self.config.prefixed("consumer."), **prefixed(resolved, "consumer.override.")}
            runner = SinkTaskRunner(setup, task, target, clients=self.clients, consumer_options=consumer_options)
        else:
            if not isinstance(task, SourceTask):
                raise ConnectorError(f"{task_class.__name__} is not a SourceTask")
            producer_options = {
                **PRODUCER_DEFAULTS,
                **self.config.prefixed("producer."),
                **prefixed(resolved, "producer.override."),
            }
            if self.config.exactly_once_source is SourceSupport.ENABLED:
                return ExactlyOnceSourceTaskRunner(
                    setup,
                    task,
                    target,
                    clients=self.clients,
                    offsets=self.offsets,
                    offsets_topic=str(self.config["offset.storage.topic"]),
                    transactional_id=task_transactional_id(
                        str(self.config["group.id"]), task_id.connector, task_id.task
                    ),
                    producer_options=producer_options,
                    topic_creation=bool(self.config["topic.creation.enable"]),
                )
            runner = SourceTaskRunner(
                setup,
                task,
                target,
                clients=self.clients,
                offsets=self.offsets,
                producer_options=producer_options,
                topic_creation=bool(self.config["topic.creation.enable"]),
            )
        return runner

    def stop_tasks(self, task_ids: Iterable[TaskId]) -> None:
        """Stop tasks together, waiting up to the graceful timeout in total."""
        with self._lock:
            runners = [(task_id, self.tasks.pop(task_id, None)) for task_id in task_ids]
            for task_id, _ in runners:
                self.task_configs.pop(task_id, None)
                self.task_connector_configs.pop(task_id, None)
        stopping = [(task_id, runner) for task_id, runner in runners if runner is not None]
        for _, runner in stopping:
            runner.stop()
        deadline = time.monotonic() + int(self.config["task.shutdown.graceful.timeout.ms"]) / 1000
        for _, runner in stopping:
            if not runner.join(max(0.0, deadline - time.monotonic())):
                runner.cancel()

    def tasks_of(self, connector: str) -> list[TaskId]:
        with self._lock:
            return sorted(task_id for task_id in self.tasks if task_id.connector == connector)

    def set_target_state(self, name: str, target: TargetState) -> None:
        """Pause or resume a connector and its tasks."""
        with self._lock:
            running = self.connectors.get(name)
            runners = [runner for task_id, runner in self.tasks.items() if task_id.connector == name]
        if running is not None and running.target is not target:
            running.target = target
            self._status(name, None, _connector_state(target))
        for runner in runners:
            runner.set_target_state(target)

    def set_tasks_target(self, name: str, target: TargetState) -> None:
        """Pause or resume the tasks of ``name`` running here (whoever runs the connector)."""
        with self._lock:
            runners = [runner for task_id, runner in self.tasks.items() if task_id.connector == name]
        for runner in runners:
            runner.set_target_state(target)

    def stop(self) -> None:
        """Stop every task, then every connector."""
        with self._lock:
            task_ids = list(self.tasks)
            names = list(self.connectors)
        self.stop_tasks(task_ids)
        for name in names:
            self.stop_connector(name)


def _connector_state(target: TargetState) -> State:
    return {TargetState.STARTED: State.RUNNING, TargetState.PAUSED: State.PAUSED}.get(target, State.STOPPED)
