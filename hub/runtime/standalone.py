"""StandaloneHerder: one worker that runs every connector itself.

Its stores decide where state lives: in memory with an offsets file (``hub standalone``, as Connect's
standalone mode), or in the store's compacted internal topics (``hub start``: a restart resumes every
connector, its offsets and statuses). API calls write the desired state to the config store; a single herder
thread hears of every change and makes the worker match it (start, reconfigure, pause, stop connectors and
tasks), so changes never race each other. A user's task restart runs there too: the API call waits for it.

With ``hub.task.restart.enabled``, a connector or task that fails on this worker is restarted by the same thread
after a backoff (``hub/runtime/restart_policy.py``), through the path of a user's restart, and only while it is
still this worker's, still FAILED and its connector still started.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from hub.log.client import ClientError, GroupMembershipError, OffsetSpec, StoreClients, TopicPartition
from hub.runtime.config_providers import ConfigResolver, has_reference
from hub.runtime.connector_config import common_def, connector_type, validate
from hub.runtime.connector_names import check_connector_name
from hub.runtime.herder import (
    AlreadyExistsError,
    BadRequestError,
    ConflictError,
    ConnectorInfo,
    Herder,
    NotFoundError,
)
from hub.runtime.plugins import PluginInfo, Plugins
from hub.runtime.request_signing import RequestSignature
from hub.runtime.restart_policy import RestartPolicy, RestartSchedule, Unit, describe
from hub.runtime.stores import (
    ConfigListener,
    ConfigStore,
    OffsetStore,
    RestartRequest,
    State,
    Status,
    StatusStore,
    TargetState,
    canonical,
)
from hub.runtime.stores.offsets import check_map
from hub.runtime.task_runner import TaskId
from hub.runtime.worker import Worker
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.config import HIDDEN, ConfigDef
from hub.sdk.connector import Connector, SinkConnector
from hub.sdk.errors import ConfigError, DataError

log = logging.getLogger("hub.runtime.herder")

#: How long an API call waits for the herder thread to carry out a task restart (Connect's REST request timeout).
RESTART_WAIT_S = 90.0

_INITIAL_STATES = {"RUNNING": TargetState.STARTED, "PAUSED": TargetState.PAUSED, "STOPPED": TargetState.STOPPED}


def build_resolver(plugins: Plugins, config: WorkerConfig) -> ConfigResolver:
    """The config providers the worker config names, configured with their ``param.*`` options."""
    providers = {}
    for name in config["config.providers"] or []:
        class_name = config.raw.get(f"config.providers.{name}.class", name)
        params = f"config.providers.{name}.param."
        try:
            provider = plugins.config_provider(class_name)
            provider.configure(config.prefixed(params))
        except ConfigError as exc:  # named as the worker config names them
            raise ConfigError({params + key if key else f"config.providers.{name}.class": messages
                               for key, messages in exc.errors.items()}) from None  # fmt: skip
        providers[name] = provider
    return ConfigResolver(providers)


class StandaloneHerder(Herder, ConfigListener):
    """A herder whose one worker runs everything (see the module docstring)."""

    def __init__(
        self,
        worker_id: str,
        config: WorkerConfig,
        plugins: Plugins,
        clients: StoreClients,
        configs: ConfigStore,
        offsets: OffsetStore,
        statuses: StatusStore,
    ) -> None:
        self.worker_id = worker_id
        self.config = config
        self._plugins = plugins
        self.clients = clients
        self.configs = configs
        self.offset_store = offsets
        self.statuses = statuses
        self.resolver = build_resolver(plugins, config)
        self.worker = Worker(
            worker_id, config, plugins, clients, offsets, statuses, self.resolver, self._request_reconfiguration
        )
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="hub-herder", daemon=True)
        self._running: dict[str, tuple[dict[str, str], TargetState]] = {}
        self._restarts = RestartSchedule(RestartPolicy.from_config(config))
        self._cluster_id = ""  # read from the store once
        self.worker.on_status = self._on_worker_status
        configs.add_listener(self)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the stores and start every connector they hold."""
        self.statuses.start()
        self.offset_store.start()
        self.configs.start()
        for name in self.configs.snapshot().connectors:
            self._events.put(("connector", name))
        self._thread.start()
        log.info("herder started on worker %s (store: %s)", self.worker_id, self.clients.location)

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until the herder can take writes (a standalone herder can as soon as it started)."""

    def stop(self) -> None:
        """Stop every task and connector (committing offsets), then the stores."""
        self._stop_work()
        self._close_stores()

    def _stop_work(self) -> None:
        """Stop the herder thread, then every task and connector (committing offsets)."""
        self._restarts.close()
        self._events.put(("stop", None))
        self._thread.join(60)
        self.worker.stop()

    def _close_stores(self) -> None:
        for store in (self.statuses, self.offset_store, self.configs):
            try:
                store.stop()
            except Exception as exc:
                log.warning("closing a store failed: %s", exc)
        self.resolver.close()
        log.info("herder stopped")

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
                    self._regenerate_tasks(subject, self.configs.snapshot())
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

    # Which connectors and tasks this worker runs: all of them here; the distributed herder narrows it.

    def _owns_connector(self, name: str) -> bool:
        return True

    def _owned_tasks(self, name: str, count: int) -> set[int]:
        return set(range(count))

    def _reconcile(self, name: str) -> None:
        snapshot = self.configs.snapshot()
        config = snapshot.connectors.get(name)
        if config is None:
            self._forget(name)
            return
        target = snapshot.target_state(name)
        running = self._running.get(name)
        if not self._owns_connector(name):
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
            self.statuses.put(Status(name, task_id.task, State.DESTROYED, self.worker_id, self.worker.generation))
        if owned:
            self.worker.stop_connector(name, deleted=True)
            self._running.pop(name, None)
            self.statuses.forget(name)
            log.info("connector %s deleted", name)

    def _stop_all(self, name: str) -> None:
        self.worker.stop_tasks(self.worker.tasks_of(name))
        self.worker.stop_connector(name)
        self._running.pop(name, None)

    def _regenerate_tasks(self, name: str, snapshot: Any) -> None:
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
            self._write_task_configs(name, generated)

    def _write_task_configs(self, name: str, configs: list[dict[str, str]]) -> None:
        """Store the task configs this worker generated for ``name`` (the distributed herder has the leader do it)."""
        self.configs.put_task_configs(name, configs)

    def _keep_references(self, config: Mapping[str, str], task: dict[str, str]) -> dict[str, str]:
        """Task configs go to the store with the connector's ``${…}`` references, never the secrets they hide."""
        kept = dict(task)
        for key, raw in config.items():
            if key in kept and has_reference(raw):
                try:
                    if kept[key] == self.resolver.resolve({key: raw})[key]:
                        kept[key] = raw
                except ConfigError:
                    continue
        return kept

    def _sync_tasks(self, name: str) -> None:
        """Run exactly the tasks of ``name`` this worker owns, each with its current config and target state."""
        snapshot = self.configs.snapshot()
        config = snapshot.connectors.get(name)
        if config is None:
            return
        target = snapshot.target_state(name)
        configs = [] if target is TargetState.STOPPED else snapshot.tasks.get(name, [])
        owned = self._owned_tasks(name, len(configs))
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
        if self._owns_connector(name):
            ours.add((name, None))
        self._restarts.retain(name, ours)  # what left this worker is not restarted here
        for task_id in stale:
            if task_id.task >= len(configs):
                self.statuses.put(Status(name, task_id.task, State.DESTROYED, self.worker_id, self.worker.generation))
        self.worker.set_tasks_target(name, target)
        for index, task_config in wanted.items():
            task_id = TaskId(name, index)
            if task_id not in self.worker.tasks:
                self.worker.start_task(task_id, config, task_config, target)

    def _restart(self, request: RestartRequest) -> None:
        name = request.connector
        snapshot = self.configs.snapshot()
        if name not in snapshot.connectors:
            return
        connector_status = self.statuses.get(name)
        connector_failed = connector_status is not None and connector_status.state is State.FAILED
        if not request.only_failed or connector_failed:
            self._restarts.forget((name, None))  # a user's restart starts the count of automatic ones over
            self._restart_connector_now(name)
            if not request.include_tasks:
                return
        if request.include_tasks:
            for task_id, task_config in self._task_ids(name, snapshot):
                status = self.statuses.get(name, task_id.task)
                if request.only_failed and (status is None or status.state is not State.FAILED):
                    continue
                self._restarts.forget((name, task_id.task))
                self._restart_task_now(task_id, snapshot, task_config)

    def _task_ids(self, name: str, snapshot: Any) -> list[tuple[TaskId, dict[str, str]]]:
        """The tasks of ``name`` this worker runs, with their configs."""
        configs = snapshot.tasks.get(name, [])
        return [(TaskId(name, index), configs[index]) for index in sorted(self._owned_tasks(name, len(configs)))]

    def _restart_connector_now(self, name: str) -> None:
        self._stop_all(name)
        self._reconcile(name)

    def _restart_task_now(self, task_id: TaskId, snapshot: Any, task_config: dict[str, str]) -> None:
        self.worker.stop_tasks([task_id])
        self.statuses.put(
            Status(task_id.connector, task_id.task, State.RESTARTING, self.worker_id, self.worker.generation)
        )
        self.worker.start_task(
            task_id, snapshot.connectors[task_id.connector], task_config, snapshot.target_state(task_id.connector)
        )

    def _restart_task_asked(self, task_id: TaskId, done: Future[None]) -> None:
        """A user's task restart, on the herder thread: restarted here when this worker runs it."""
        try:
            snapshot = self.configs.snapshot()
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
        snapshot = self.configs.snapshot()
        status = self.statuses.get(name, task)
        if status is None or status.state is not State.FAILED or status.worker_id != self.worker_id:
            return  # restarted meanwhile, or another worker's now
        if name not in snapshot.connectors or snapshot.target_state(name) is not TargetState.STARTED:
            log.info("not auto-restarting %s: its connector was deleted, paused or stopped", describe(unit))
            self._restarts.forget(unit)
            return
        if task is None:
            if self._owns_connector(name):
                self._restart_connector_now(name)
            return
        for task_id, task_config in self._task_ids(name, snapshot):
            if task_id.task == task:
                self._restart_task_now(task_id, snapshot, task_config)

    # --- Herder API (any thread) -------------------------------------------------------------------------------

    def _config_of(self, name: str) -> dict[str, str]:
        config = self.configs.snapshot().connectors.get(name)
        if config is None:
            raise NotFoundError(f"Connector {name} not found")
        return config

    def _type_of(self, config: Mapping[str, str]) -> str:
        try:
            return connector_type(self._plugins.connector_class(config.get("connector.class", "")))
        except ConfigError:
            return "unknown"

    def connectors(self) -> list[str]:
        return sorted(self.configs.snapshot().connectors)

    def connector_info(self, name: str) -> ConnectorInfo:
        snapshot = self.configs.snapshot()
        config = snapshot.connectors.get(name)
        if config is None:
            raise NotFoundError(f"Connector {name} not found")
        tasks = list(range(len(snapshot.tasks.get(name, []))))
        return ConnectorInfo(name, self._hide_secrets(config), tasks, self._type_of(config))

    def _secret_keys(self, config: Mapping[str, str]) -> set[str]:
        try:
            connector_class = self._connector_class(config)
            definition = common_def(connector_class).merge(connector_class().config_def())
        except Exception:
            return set()
        return {key.name for key in definition.keys if key.secret}

    def _hide_secrets(self, config: Mapping[str, str]) -> dict[str, str]:
        """The config as shown to users: password values hidden unless they are ``${provider:…}`` references."""
        return _hidden(config, self._secret_keys(config))

    def put_connector_config(
        self, name: str, config: Mapping[str, str], *, allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, ConnectorInfo]:
        check_connector_name(name)
        config = {str(k): str(v) for k, v in config.items()}
        if config.get("name", name) != name:
            raise BadRequestError(f"Connector name configuration ({config['name']}) doesn't match connector name in "
                                  f"the URL ({name})")  # fmt: skip
        config["name"] = name
        target = None
        if initial_state is not None:
            target = _INITIAL_STATES.get(initial_state.upper()) if initial_state.isascii() else None
            if target is None:
                raise BadRequestError(f"initial_state must be RUNNING, PAUSED or STOPPED, not {initial_state!r}")
        existing = self.configs.snapshot().connectors.get(name)
        if existing is not None:  # a config read back from the API carries "[hidden]": keep the stored secret
            for key in self._secret_keys(config):
                if config.get(key) == HIDDEN and key in existing:
                    config[key] = existing[key]
        checked = validate(self._plugins, config, self.resolver)
        checked.raise_for_problems()
        exists = existing is not None
        if exists and not allow_replace:
            raise AlreadyExistsError(f"Connector {name} already exists")
        for warning in checked.warnings:
            log.warning("connector %s: %s", name, warning)
        self.configs.put_connector_config(name, config, None if exists else target)
        return not exists, self.connector_info(name)

    def patch_connector_config(self, name: str, patch: Mapping[str, str | None]) -> ConnectorInfo:
        config = self._config_of(name)
        for key, value in patch.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = str(value)
        return self.put_connector_config(name, config, allow_replace=True)[1]

    def delete_connector(self, name: str) -> None:
        self._config_of(name)
        self.configs.remove_connector_config(name)

    def _status_json(self, status: Status | None) -> dict[str, Any]:
        if status is None:
            return {"state": State.UNASSIGNED.value, "worker_id": self.worker_id}
        shown: dict[str, Any] = {"state": status.state.value, "worker_id": status.worker_id}
        if status.trace:
            shown["trace"] = status.trace
        if status.progress is not None and status.state is State.RUNNING:
            shown["progress"] = dict(status.progress)
        return shown

    def connector_status(self, name: str) -> dict[str, Any]:
        info = self.connector_info(name)
        tasks = []
        for task in info.tasks:
            tasks.append({"id": task, **self._status_json(self.statuses.get(name, task))})
        return {
            "name": name,
            "connector": self._status_json(self.statuses.get(name)),
            "tasks": tasks,
            "type": info.type,
        }

    def task_status(self, name: str, task: int) -> dict[str, Any]:
        info = self.connector_info(name)
        if task not in info.tasks:
            raise NotFoundError(f"Task {name}-{task} not found")
        return {"id": task, **self._status_json(self.statuses.get(name, task))}

    def task_configs(self, name: str) -> list[dict[str, Any]]:
        config = self._config_of(name)
        secret = self._secret_keys(config)
        tasks = self.configs.snapshot().tasks.get(name, [])
        return [
            {
                "id": {"connector": name, "task": index},
                "config": _hidden(task, secret),
            }
            for index, task in enumerate(tasks)
        ]

    def pause(self, name: str) -> None:
        self._config_of(name)
        self.configs.put_target_state(name, TargetState.PAUSED)

    def resume(self, name: str) -> None:
        self._config_of(name)
        self.configs.put_target_state(name, TargetState.STARTED)

    def stop_connector(self, name: str) -> None:
        self._config_of(name)
        self.configs.put_task_configs(name, [])
        self.configs.put_target_state(name, TargetState.STOPPED)

    def restart_connector(self, name: str, *, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        status = self.connector_status(name)
        request = RestartRequest(name, include_tasks, only_failed)
        self.configs.put_restart_request(request)
        if not include_tasks and not only_failed:
            return None
        if not only_failed or status["connector"]["state"] == State.FAILED.value:
            status["connector"]["state"] = State.RESTARTING.value
        for task in status["tasks"]:
            if include_tasks and (not only_failed or task["state"] == State.FAILED.value):
                task["state"] = State.RESTARTING.value
        return status

    def restart_task(self, name: str, task: int) -> None:
        done: Future[None] = Future()
        self._events.put(("restart_task", (TaskId(name, task), done)))
        try:
            done.result(RESTART_WAIT_S)
        except FutureTimeoutError:
            raise ConflictError(f"The restart of task {name}-{task} is queued but not done after "
                                f"{RESTART_WAIT_S:.0f} s; its status shows when it is") from None  # fmt: skip

    def put_task_configs(
        self, name: str, configs: Sequence[Mapping[str, str]], signature: RequestSignature | None
    ) -> None:
        raise BadRequestError("Only distributed workers take task configs from other workers")

    def validate(self, config: Mapping[str, str]) -> dict[str, Any]:
        return validate(self._plugins, {str(k): str(v) for k, v in config.items()}, self.resolver).response

    # --- offsets -----------------------------------------------------------------------------------------------

    def _connector_class(self, config: Mapping[str, str]) -> type[Connector]:
        return self._plugins.connector_class(config["connector.class"])

    def _sink_partitions(self, name: str, config: Mapping[str, str]) -> list[TopicPartition]:
        options, _ = common_def(self._connector_class(config)).errors(config)
        topics = set(options.get("topics") or [])
        with self.clients.admin() as admin:
            listed = admin.list_topics()
        if options.get("topics.regex"):
            topics |= {t for t in listed if re.fullmatch(options["topics.regex"], t)}
        return [TopicPartition(t, p) for t in sorted(topics) if t in listed for p in range(listed[t])]

    def offsets(self, name: str) -> list[dict[str, Any]]:
        config = self._config_of(name)
        if not issubclass(self._connector_class(config), SinkConnector):
            self.offset_store.refresh()
            return [{"partition": p, "offset": o} for p, o in self.offset_store.all_offsets(name)]
        partitions = self._sink_partitions(name, config)
        with self.clients.consumer(group_id=f"connect-{name}") as consumer:
            committed = consumer.committed(partitions) if partitions else {}
        return [
            {"partition": {"kafka_topic": tp.topic, "kafka_partition": tp.partition}, "offset": {"kafka_offset": o}}
            for tp, o in sorted(committed.items())
            if o is not None
        ]

    def _require_stopped(self, name: str) -> Mapping[str, str]:
        config = self._config_of(name)
        if self.configs.snapshot().target_state(name) is not TargetState.STOPPED:
            raise BadRequestError(
                f"Connectors must be in the STOPPED state before their offsets can be modified. Stop {name} first."
            )
        return config

    def alter_offsets(self, name: str, offsets: Sequence[Mapping[str, Any]]) -> str:
        config = self._require_stopped(name)
        if not issubclass(self._connector_class(config), SinkConnector):
            changes = {}
            for entry in offsets:
                partition, offset = entry.get("partition"), entry.get("offset")
                if not isinstance(partition, dict) or not (offset is None or isinstance(offset, dict)):
                    raise BadRequestError("each offset needs a 'partition' object and an 'offset' object or null")
                try:
                    check_map("partition", partition)
                    if offset is not None:
                        check_map("offset", offset)
                except DataError as exc:
                    raise BadRequestError(str(exc)) from None
                changes[canonical(partition)] = (partition, offset)
            self.offset_store.write(name, changes)
            return "The offsets for this connector have been altered successfully"
        commits: dict[TopicPartition, int] = {}
        for entry in offsets:
            partition, offset = entry.get("partition") or {}, entry.get("offset")
            try:
                tp = TopicPartition(str(partition["kafka_topic"]), int(partition["kafka_partition"]))
                commits[tp] = 0 if offset is None else int(offset["kafka_offset"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadRequestError(
                    "sink offsets look like {'partition': {'kafka_topic': …, 'kafka_partition': …}, "
                    f"'offset': {{'kafka_offset': …}}}}: {exc}"
                ) from exc
        with self.clients.admin() as admin:
            listed = admin.list_topics()
        for tp, kafka_offset in commits.items():
            if not 0 <= tp.partition < listed.get(tp.topic, 0):
                raise BadRequestError(f"Topic {tp.topic!r} has no partition {tp.partition}")
            if not 0 <= kafka_offset < 2**63:
                raise BadRequestError(f"The offset of {tp.topic}-{tp.partition} must be 0 or more (and under 2^63)")
        self._commit_sink_offsets(name, commits)
        return "The offsets for this connector have been altered successfully"

    def reset_offsets(self, name: str) -> str:
        config = self._require_stopped(name)
        if not issubclass(self._connector_class(config), SinkConnector):
            self.offset_store.refresh()
            stored = self.offset_store.all_offsets(name)
            self.offset_store.write(name, {canonical(p): (p, None) for p, _ in stored})
        else:
            partitions = self._sink_partitions(name, config)
            with self.clients.admin() as admin:
                earliest = admin.list_offsets(partitions, OffsetSpec.EARLIEST) if partitions else {}
            self._commit_sink_offsets(name, {tp: offset or 0 for tp, offset in earliest.items()})
        return "The offsets for this connector have been reset successfully"

    def _commit_sink_offsets(self, name: str, commits: Mapping[TopicPartition, int]) -> None:
        try:
            with self.clients.consumer(group_id=f"connect-{name}") as consumer:
                consumer.commit(commits)
        except GroupMembershipError as exc:  # stopping is asynchronous: its tasks may still be in the group
            raise ConflictError(
                f"The tasks of {name} have not left its consumer group yet; retry in a few seconds ({exc})"
            ) from None

    # --- topics and health -------------------------------------------------------------------------------------

    def topics(self, name: str) -> list[str]:
        self._config_of(name)
        return self.statuses.topics(name)

    def reset_topics(self, name: str) -> None:
        self._config_of(name)
        self.statuses.reset_topics(name)

    def kafka_cluster_id(self) -> str:
        if not self._cluster_id:
            try:
                with self.clients.admin() as admin:
                    self._cluster_id = admin.cluster_id()
            except ClientError as exc:
                log.warning("the store's cluster id cannot be read: %s", exc)
        return self._cluster_id

    def health(self) -> tuple[str, str]:
        if not self._thread.is_alive():
            return "starting", "Worker is still starting up."
        return "healthy", "Worker has completed startup and is ready to handle requests."

    # --- plugins -----------------------------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        return self._plugins.infos()

    def plugin_config(self, plugin: str) -> list[dict[str, Any]]:
        for table in (
            self._plugins.connectors,
            self._plugins.converters,
            self._plugins.transforms,
            self._plugins.predicates,
        ):
            kind = table.by_name.get(plugin)
            if kind is None:
                continue
            if table is self._plugins.connectors:
                definition: ConfigDef = common_def(kind).merge(kind().config_def())
            else:
                definition = kind().config_def()
            return definition.key_infos()
        raise NotFoundError(f"Unknown plugin {plugin}")


def _hidden(config: Mapping[str, str], secret: set[str]) -> dict[str, str]:
    return {k: HIDDEN if k in secret and not has_reference(v) else v for k, v in config.items()}
