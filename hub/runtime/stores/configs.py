"""ConfigStore: connector configs, task configs and target states, in Kafka Connect's config-topic format.

Records (keys are UTF-8 strings, values JSON; see docs/runtime.md):

- ``connector-NAME`` → ``{"properties": {...}}``; a tombstone deletes the connector.
- ``task-NAME-N`` → ``{"properties": {...}}``, buffered until ``commit-NAME`` → ``{"tasks": N}`` applies the
  last N buffered task configs at once, so a half-written reconfiguration is never acted on.
- ``target-state-NAME`` → ``{"state": "STARTED"|"PAUSED", "state.v2": "STARTED"|"PAUSED"|"STOPPED"}``.
- ``restart-connector-NAME`` → ``{"include-tasks": bool, "only-failed": bool}``.
- ``tasks-fencing-NAME`` → ``{"task-count": N}``: the leader fenced the producers of the connector's previous
  task generation and N tasks now run (KIP-618's task-count record). A connector whose task configs were
  committed after its last such record is *pending fencing*: with exactly-once source support enabled its new
  tasks do not start until the record is written (``hub/runtime/zombie_fencing.py``).
- ``session-key`` → the key workers sign internal requests with (``hub/runtime/distributed/request_signing.py``
  reads and writes its value; the store keeps the latest as it is).

The same ``ConfigState`` applies these records whichever log carries them, so a memory store and a topic store
behave alike. Listeners hear of every change after it is applied (on the log's reading thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from hub.runtime.stores.key_value_log import KeyValueLog

log = logging.getLogger("hub.runtime.stores")

Config = dict[str, str]


class TargetState(StrEnum):
    """What the user wants a connector to be doing."""

    STARTED = "STARTED"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class RestartRequest:
    connector: str
    include_tasks: bool = False
    only_failed: bool = False


@dataclass
class ConfigSnapshot:
    """The desired state of every connector, as read from the config log."""

    connectors: dict[str, Config] = field(default_factory=dict)
    target_states: dict[str, TargetState] = field(default_factory=dict)
    tasks: dict[str, list[Config]] = field(default_factory=dict)
    inconsistent: set[str] = field(default_factory=set)
    session_key: dict[str, Any] | None = None  # the latest ``session-key`` record's value
    task_counts: dict[str, int] = field(default_factory=dict)  # the latest task-count record of each connector
    pending_fencing: set[str] = field(default_factory=set)  # task configs newer than the task-count record

    def target_state(self, name: str) -> TargetState:
        return self.target_states.get(name, TargetState.STARTED)

    def copy(self) -> ConfigSnapshot:
        return ConfigSnapshot(
            {name: dict(config) for name, config in self.connectors.items()},
            dict(self.target_states),
            {name: [dict(task) for task in tasks] for name, tasks in self.tasks.items()},
            set(self.inconsistent),
            self.session_key,
            dict(self.task_counts),
            set(self.pending_fencing),
        )


class ConfigListener:
    """Hears of applied changes; override what you need."""

    def on_connector_config(self, name: str) -> None:
        """A connector was created, updated (or, when absent from the snapshot, deleted)."""

    def on_task_configs(self, name: str) -> None:
        """A new set of task configs was committed."""

    def on_target_state(self, name: str) -> None:
        """The target state changed."""

    def on_restart_request(self, request: RestartRequest) -> None:
        """A restart was requested."""

    def on_session_key(self) -> None:
        """A new session key was written (``snapshot().session_key``)."""


def _json(value: Mapping[str, Any]) -> bytes:
    return orjson.dumps(value)


class ConfigStore:
    """Reads and writes connector configs through a KeyValueLog (see the module docstring). Thread-safe."""

    def __init__(self, make_log: Callable[[Callable[[bytes, bytes | None], None]], KeyValueLog]) -> None:
        self._lock = threading.RLock()
        self._state = ConfigSnapshot()
        self._pending_tasks: dict[str, dict[int, Config]] = {}
        self._listeners: list[ConfigListener] = []
        self.log = make_log(self._apply)

    def add_listener(self, listener: ConfigListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        self.log.start()

    def stop(self) -> None:
        self.log.stop()

    def snapshot(self) -> ConfigSnapshot:
        """A consistent copy of the current state."""
        with self._lock:
            return self._state.copy()

    def refresh(self, timeout_s: float = 30.0) -> None:
        """Read every record written so far (by any worker)."""
        self.log.read_to_end(timeout_s)

    # --- writes ------------------------------------------------------------------------------------------------

    def put_connector_config(self, name: str, config: Mapping[str, str], target: TargetState | None = None) -> None:
        """Create or update a connector (with its initial target state when given), then read it back."""
        if target is not None:
            self._send(f"target-state-{name}", _target_state_value(target))
        self._send(f"connector-{name}", {"properties": dict(config)})
        self._write_done()

    def remove_connector_config(self, name: str) -> None:
        self._send(f"connector-{name}", None)
        self._send(f"target-state-{name}", None)
        self._write_done()

    def put_task_configs(self, name: str, configs: Sequence[Mapping[str, str]]) -> None:
        """Write the task configs, then the commit record that applies them together."""
        for index, config in enumerate(configs):
            self._send(f"task-{name}-{index}", {"properties": dict(config)})
        self.log.flush()
        self._send(f"commit-{name}", {"tasks": len(configs)})
        self._write_done()

    def put_target_state(self, name: str, state: TargetState) -> None:
        self._send(f"target-state-{name}", _target_state_value(state))
        self._write_done()

    def put_restart_request(self, request: RestartRequest) -> None:
        value = {"include-tasks": request.include_tasks, "only-failed": request.only_failed}
        self._send(f"restart-connector-{request.connector}", value)
        self._write_done()

    def put_task_count_record(self, name: str, count: int) -> None:
        """Record that the connector's previous task generation is fenced and ``count`` tasks now run."""
        self._send(f"tasks-fencing-{name}", {"task-count": count})
        self._write_done()

    def put_session_key(self, value: Mapping[str, Any]) -> None:
        self._send("session-key", value)
        self._write_done()

    def _send(self, key: str, value: Mapping[str, Any] | None) -> None:
        self.log.send(key.encode(), None if value is None else _json(value))

    def _write_done(self) -> None:
        self.log.flush()
        self.log.read_to_end()

    # --- reads -------------------------------------------------------------------------------------------------

    def _apply(self, raw_key: bytes, raw_value: bytes | None) -> None:
        key = raw_key.decode("utf-8", "replace")
        try:
            value = None if raw_value is None else orjson.loads(raw_value)
        except orjson.JSONDecodeError:
            log.error("config record %r has a value that is not JSON; ignored", key)
            return
        if value is not None and not isinstance(value, dict):
            log.error("config record %r has a value that is not a JSON object; ignored", key)
            return
        notify: Callable[[ConfigListener], None] | None
        with self._lock:
            notify = self._apply_locked(key, value)
        if notify is not None:
            for listener in self._listeners:
                try:
                    notify(listener)
                except Exception:
                    log.exception("config listener failed on record %r", key)

    def _apply_locked(self, key: str, value: dict[str, Any] | None) -> Callable[[ConfigListener], None] | None:
        state = self._state
        if key.startswith("connector-"):
            name = key[len("connector-") :]
            if value is None:
                state.connectors.pop(name, None)
                state.tasks.pop(name, None)
                state.target_states.pop(name, None)
                state.inconsistent.discard(name)
                state.pending_fencing.discard(name)  # its task count stays: a recreated one fences its zombies
                self._pending_tasks.pop(name, None)
            else:
                state.connectors[name] = _properties(value)
            return lambda listener: listener.on_connector_config(name)
        if key.startswith("task-"):
            if value is None:
                return None
            name, _, index = key[len("task-") :].rpartition("-")
            if not index.isdigit():
                log.error("config record %r does not end in a task number; ignored", key)
                return None
            self._pending_tasks.setdefault(name, {})[int(index)] = _properties(value)
            return None
        if key.startswith("commit-"):
            name = key[len("commit-") :]
            count = (value or {}).get("tasks")
            if not isinstance(count, int) or count < 0:
                log.error("config record %r has no task count; ignored", key)
                return None
            pending = self._pending_tasks.pop(name, {})
            if name not in state.connectors:
                return None
            if any(index not in pending for index in range(count)):
                # A task record was compacted away or never written: ask the connector for its tasks again.
                state.inconsistent.add(name)
                log.warning("task configs of connector %s are incomplete; they will be regenerated", name)
            else:
                state.inconsistent.discard(name)
                state.tasks[name] = [pending[index] for index in range(count)]
                state.pending_fencing.add(name)
            return lambda listener: listener.on_task_configs(name)
        if key.startswith("tasks-fencing-"):
            name = key[len("tasks-fencing-") :]
            task_count = (value or {}).get("task-count")
            if value is None or not isinstance(task_count, int) or task_count < 0:
                return None
            state.task_counts[name] = task_count
            state.pending_fencing.discard(name)
            return lambda listener: listener.on_task_configs(name)
        if key.startswith("target-state-"):
            name = key[len("target-state-") :]
            if value is None:
                state.target_states.pop(name, None)
                return None
            raw = value.get("state.v2", value.get("state"))
            try:
                state.target_states[name] = TargetState(str(raw))
            except ValueError:
                log.error("config record %r has an unknown state %r; ignored", key, raw)
                return None
            return lambda listener: listener.on_target_state(name)
        if key.startswith("restart-connector-"):
            if value is None:
                return None
            request = RestartRequest(
                key[len("restart-connector-") :],
                bool(value.get("include-tasks", False)),
                bool(value.get("only-failed", False)),
            )
            return lambda listener: listener.on_restart_request(request)
        if key == "session-key":
            if value is None:
                return None
            state.session_key = dict(value)  # records are never changed in place: sharing it with copies is safe
            return lambda listener: listener.on_session_key()
        return None  # records of other kinds (loggers) mean nothing to this worker yet


def _properties(value: Mapping[str, Any]) -> Config:
    properties = value.get("properties") or {}
    return {str(k): "" if v is None else str(v) for k, v in properties.items()}


def _target_state_value(state: TargetState) -> dict[str, str]:
    # Readers that only know "state" see a stopped connector as paused, as Connect writes it.
    return {"state": "PAUSED" if state is TargetState.STOPPED else state.value, "state.v2": state.value}
