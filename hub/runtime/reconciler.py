"""Reconciler: makes this worker run what the config store says, on one thread (the herder thread).

The config store's listener callbacks, the worker's reports and API calls only put events on a queue; the herder
thread takes them one at a time and makes the Worker match the desired state (start, reconfigure, pause, stop
connectors and tasks; regenerate task configs), so changes never race each other. What "this worker" runs is the
Placement it is given; where the task configs it generates go is the TaskConfigsDestination it is given.

A user's task restart runs on the herder thread too: ``restart_task`` waits for it (``RESTART_WAIT_S``). With
``hub.task.restart.enabled``, a connector or task that fails here is restarted by the same thread after a backoff
(``hub/runtime/restart_policy.py``), through the path of a user's restart, and only while it is still this
worker's, still FAILED and its connector still started.

Invariants: only the herder thread starts or stops connectors and tasks (``stop`` joins it before stopping the
worker); every event queued before ``sync`` is handled when it returns True.
Thread-safety: every public method may be called from any thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from hub.log.client import StoreClients
from hub.runtime.config_providers import ConfigResolver, has_reference
from hub.runtime.exactly_once_config import SourceSupport
from hub.runtime.herder import ConflictError, NotFoundError
from hub.runtime.herder_strategies import Placement, TaskConfigsDestination
from hub.runtime.plugins import Plugins
from hub.runtime.restart_policy import RestartPolicy, RestartSchedule, Unit, describe
from hub.runtime.stores import (
    ConfigListener,
    ConfigSnapshot,
    ConfigStore,
    OffsetStore,
    RestartRequest,
    State,
    Status,
    StatusStore,
    TargetState,
)
from hub.runtime.task_runner import TaskId
from hub.runtime.worker import Worker
from hub.runtime.worker_config import WorkerConfig
from hub.runtime.zombie_fencing import ZombieFencing
from hub.sdk.errors import ConfigError

log = logging.getLogger("hub.runtime.herder")

#: How long an API call waits for the herder thread to carry out a task restart (Connect's REST request timeout).
RESTART_WAIT_S = 90.0


class Reconciler(ConfigListener):
    """Runs what the configs say on this worker (see the module docstring)."""

    def __init__(
        self,
        worker_id: str,
        config: WorkerConfig,
        plugins: Plugins,
        clients: StoreClients,
        configs: ConfigStore,
        offsets: OffsetStore,
        statuses: StatusStore,
        resolver: ConfigResolver,
        *,
        placement: Placement,
        task_configs_destination: TaskConfigsDestination,
        may_fence: Callable[[], bool] = lambda: True,
    ) -> None:
        self.worker_id = worker_id
        support = config.exactly_once_source
        self._fencing = ZombieFencing(clients, configs, plugins, str(config["group.id"])) if support.fences else None
        self._may_fence = may_fence
        self._tasks_wait_for_fencing = support is SourceSupport.ENABLED
        self._configs = configs
        self._statuses = statuses
        self._resolver = resolver
        self._placement = placement
        self._store_task_configs = task_configs_destination
        self.worker = Worker(
            worker_id, config, plugins, clients, offsets, statuses, resolver, self._request_reconfiguration
        )
        self.worker.on_status = self._on_worker_status
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="hub-herder", daemon=True)
        self._running: dict[str, tuple[dict[str, str], TargetState]] = {}
        self._restarts = RestartSchedule(RestartPolicy.from_config(config))
        configs.add_listener(self)

    # --- public ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the herder thread, reconciling every connector the (started) config store holds."""
        for name in self._configs.snapshot().connectors:
            self._events.put(("connector", name))
        self._thread.start()

    def stop(self) -> None:
        """Stop the herder thread (API calls waiting for it get an answer), then every task and connector."""
        self._restarts.close()
        self._events.put(("stop", None))
        self._thread.join(60)
        self.worker.stop()

    @property
    def is_running(self) -> bool:
        """Whether the herder thread runs (from ``start`` until ``stop``)."""
        return self._thread.is_alive()

    def reconsider(self, names: Iterable[str]) -> None:
        """Reconcile these connectors again (their placement changed)."""
        for name in names:
            self._events.put(("connector", name))

    def sync(self, timeout_s: float) -> bool:
        """Wait until the herder thread handled every event queued so far; False when that took over ``timeout_s``."""
        done = threading.Event()
        self._events.put(("sync", done))
        return done.wait(timeout_s)

    def restart_task(self, name: str, task: int) -> None:
        """A user's task restart: restarted on the herder thread when this worker runs it; waits for that."""
        done: Future[None] = Future()
        self._events.put(("restart_task", (TaskId(name, task), done)))
        try:
            done.result(RESTART_WAIT_S)
        except FutureTimeoutError:
            raise ConflictError(
                f"The restart of task {name}-{task} is queued but not done after "
                f"{RESTART_WAIT_S:.0f} s; its status shows when it is"
            ) from None

    # --- config listener (on the store's reading thread: only queue) ------------------------------------------

    def on_connector_config(self, name: str) -> None:
        self._events.put(("connector", name))

    def on_task_configs(self, name: str) -> None:
        self._events.put(("connector", name))

    def on_target_state(self, name: str) -> None:
        self._events.put(("connector", name))

    def on_restart_request(self, request: RestartRequest) -> None:
        self._events.put(("restart", request))

    def _request_reconfiguration(self, name: str) -> None:
        self._events.put(("reconfigure", name))

    def _on_worker_status(self, status: Status) -> None:
        unit = (status.connector, status.task)
        if status.state is State.FAILED:
            if self._restarts.failed(unit) is not None:
                self._events.put(("due", None))  # the herder thread waits for the new restart from now on
        elif status.state is State.RUNNING:
            self._restarts.running(unit)

    # --- the herder thread -------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            try:
                kind, subject = self._events.get(timeout=self._restarts.wait_s())
            except queue.Empty:
                kind, subject = "due", None
            try:
                if kind == "stop":
                    self._refuse_queued()
                    return
                if kind == "sync":
                    subject.set()  # every event queued before it is handled
                elif kind == "connector":
                    self._reconcile(subject)
                elif kind == "reconfigure":
                    self._regenerate_tasks(subject, self._configs.snapshot())
                elif kind == "restart":
                    self._restart(subject)
                elif kind == "restart_task":
                    self._restart_task_asked(*subject)
                elif kind == "due":
                    for unit in self._restarts.due():
                        self._auto_restart(unit)
            except Exception:
                log.exception("herder failed handling %s %s", kind, subject)

    def _refuse_queued(self) -> None:
        """The herder stops: API calls still waiting for the herder thread get an answer now."""
        while True:
            try:
                kind, subject = self._events.get_nowait()
            except queue.Empty:
                return
            if kind == "restart_task":
                subject[1].set_exception(ConflictError("The worker is stopping; the task was not restarted"))

    def _reconcile(self, name: str) -> None:
        snapshot = self._configs.snapshot()
        config = snapshot.connectors.get(name)
        if config is None:
            self._forget(name)
            return
        target = snapshot.target_state(name)
        running = self._running.get(name)
        if not self._placement.owns_connector(name):
            if running is not None:
                self.worker.stop_connector(name)
                self._running.pop(name, None)
        elif (
            running is None
            or running[0] != config
            or (TargetState.STOPPED in (running[1], target) and running[1] != target)
        ):
            self.worker.stop_connector(name)
            self._running[name] = (dict(config), target)
            if self.worker.start_connector(name, config, target):
                self._regenerate_tasks(name, snapshot)
        elif running[1] != target:
            self._running[name] = (dict(config), target)
            self.worker.set_target_state(name, target)
        elif name in snapshot.inconsistent:
            self._regenerate_tasks(name, snapshot)
        self._sync_tasks(name)

    def _forget(self, name: str) -> None:
        """A deleted connector: stop what of it runs here and remove its statuses."""
        self._restarts.retain(name, ())
        owned = name in self._running
        tasks = self.worker.tasks_of(name)
        self.worker.stop_tasks(tasks)
        for task_id in tasks:
            self._statuses.put(Status(name, task_id.task, State.DESTROYED, self.worker_id, self.worker.generation))
        if owned:
            self.worker.stop_connector(name, deleted=True)
            self._running.pop(name, None)
            self._statuses.forget(name)
            log.info("connector %s deleted", name)

    def _stop_all(self, name: str) -> None:
        self.worker.stop_tasks(self.worker.tasks_of(name))
        self.worker.stop_connector(name)
        self._running.pop(name, None)

    def _regenerate_tasks(self, name: str, snapshot: ConfigSnapshot) -> None:
        config = snapshot.connectors.get(name)
        if config is None or name not in self._running:
            return
        if snapshot.target_state(name) is TargetState.STOPPED:
            generated: list[dict[str, str]] = []
        else:
            try:
                generated = [self._keep_references(config, task) for task in self.worker.connector_task_configs(name)]
            except Exception as exc:
                log.error("connector %s: %s", name, exc)
                return
        if generated != snapshot.tasks.get(name) or name in snapshot.inconsistent:
            self._store_task_configs(name, generated)

    def _keep_references(self, config: Mapping[str, str], task: dict[str, str]) -> dict[str, str]:
        """Task configs go to the store with the connector's ``${…}`` references, never the secrets they hide."""
        kept = dict(task)
        for key, raw in config.items():
            if key in kept and has_reference(raw):
                try:
                    if kept[key] == self._resolver.resolve({key: raw})[key]:
                        kept[key] = raw
                except ConfigError:
                    continue
        return kept

    def _sync_tasks(self, name: str) -> None:
        """Run exactly the tasks of ``name`` this worker owns, each with its current config and target state."""
        snapshot = self._configs.snapshot()
        config = snapshot.connectors.get(name)
        if config is None:
            return
        target = snapshot.target_state(name)
        configs = [] if target is TargetState.STOPPED else snapshot.tasks.get(name, [])
        owned = self._placement.owned_tasks(name, len(configs))
        wanted = {index: configs[index] for index in sorted(owned) if index < len(configs)}
        running = self.worker.tasks_of(name)
        stale = [
            task_id
            for task_id in running
            if task_id.task not in wanted
            or self.worker.task_configs.get(task_id) != wanted[task_id.task]
            or self.worker.task_connector_configs.get(task_id) != config
        ]
        self.worker.stop_tasks(stale)
        ours: set[Unit] = {(name, index) for index in wanted}
        if self._placement.owns_connector(name):
            ours.add((name, None))
        self._restarts.retain(name, ours)  # what left this worker is not restarted here
        for task_id in stale:
            if task_id.task >= len(configs):
                self._statuses.put(Status(name, task_id.task, State.DESTROYED, self.worker_id, self.worker.generation))
        self.worker.set_tasks_target(name, target)
        if not self._fenced(name, config) and wanted:  # the leader fences even when it runs none of the tasks
            return
        for index, task_config in wanted.items():
            task_id = TaskId(name, index)
            if task_id not in self.worker.tasks:
                self.worker.start_task(task_id, config, task_config, target)

    def _fenced(self, name: str, config: Mapping[str, str]) -> bool:
        """Whether the connector's new tasks may start: its previous generation is fenced (done here when this worker
        may write the config store), or this worker does not wait for that (``hub/runtime/zombie_fencing.py``)."""
        fencing = self._fencing
        if fencing is None or name not in self._configs.snapshot().pending_fencing:
            return True
        if not fencing.applies(config.get("connector.class", "")):
            return True
        done = self._may_fence() and fencing.fence(name)
        if not done and self._tasks_wait_for_fencing:
            log.info("connector %s: its tasks start once their previous generation is fenced", name)
            return False
        return True

    def _restart(self, request: RestartRequest) -> None:
        name = request.connector
        snapshot = self._configs.snapshot()
        if name not in snapshot.connectors:
            return
        connector_status = self._statuses.get(name)
        connector_failed = connector_status is not None and connector_status.state is State.FAILED
        if not request.only_failed or connector_failed:
            self._restarts.forget((name, None))  # a user's restart starts the count of automatic ones over
            self._restart_connector_now(name)
            if not request.include_tasks:
                return
        if request.include_tasks:
            for task_id, task_config in self._task_ids(name, snapshot):
                status = self._statuses.get(name, task_id.task)
                if request.only_failed and (status is None or status.state is not State.FAILED):
                    continue
                self._restarts.forget((name, task_id.task))
                self._restart_task_now(task_id, snapshot, task_config)

    def _task_ids(self, name: str, snapshot: ConfigSnapshot) -> list[tuple[TaskId, dict[str, str]]]:
        """The tasks of ``name`` this worker runs, with their configs."""
        configs = snapshot.tasks.get(name, [])
        return [
            (TaskId(name, index), configs[index]) for index in sorted(self._placement.owned_tasks(name, len(configs)))
        ]

    def _restart_connector_now(self, name: str) -> None:
        self._stop_all(name)
        self._reconcile(name)

    def _restart_task_now(self, task_id: TaskId, snapshot: ConfigSnapshot, task_config: dict[str, str]) -> None:
        self.worker.stop_tasks([task_id])
        self._statuses.put(
            Status(task_id.connector, task_id.task, State.RESTARTING, self.worker_id, self.worker.generation)
        )
        self.worker.start_task(
            task_id, snapshot.connectors[task_id.connector], task_config, snapshot.target_state(task_id.connector)
        )

    def _restart_task_asked(self, task_id: TaskId, done: Future[None]) -> None:
        """A user's task restart, on the herder thread: restarted here when this worker runs it."""
        try:
            snapshot = self._configs.snapshot()
            if task_id.connector not in snapshot.connectors:
                raise NotFoundError(f"Connector {task_id.connector} not found")
            if not 0 <= task_id.task < len(snapshot.tasks.get(task_id.connector, [])):
                raise NotFoundError(f"Task {task_id} not found")
            for owned, task_config in self._task_ids(task_id.connector, snapshot):
                if owned == task_id:
                    self._restarts.forget((task_id.connector, task_id.task))
                    self._restart_task_now(task_id, snapshot, task_config)
        except Exception as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)

    def _auto_restart(self, unit: Unit) -> None:
        """Restart a failed unit whose backoff is over, if it is still this worker's to restart."""
        name, task = unit
        snapshot = self._configs.snapshot()
        status = self._statuses.get(name, task)
        if status is None or status.state is not State.FAILED or status.worker_id != self.worker_id:
            return  # restarted meanwhile, or another worker's now
        if name not in snapshot.connectors or snapshot.target_state(name) is not TargetState.STARTED:
            log.info("not auto-restarting %s: its connector was deleted, paused or stopped", describe(unit))
            self._restarts.forget(unit)
            return
        if task is None:
            if self._placement.owns_connector(name):
                self._restart_connector_now(name)
            return
        for task_id, task_config in self._task_ids(name, snapshot):
            if task_id.task == task:
                self._restart_task_now(task_id, snapshot, task_config)
