"""ConnectorWrites: changes to the desired state of connectors, written to the config store.

Create, update, patch, delete, pause, resume, stop and restart requests are checked (name, config validation,
initial state) and written to the config store; the Reconciler of every worker hears of them through the store and
carries them out. Each write first passes the WriteGate it is given (always on a standalone worker, only on the
leader of a group), before anything is read or checked.

A config read back from the API carries ``[hidden]`` for its password values: written back unchanged, the stored
secret is kept. Thread-safe: every call writes through the thread-safe config store.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hub.runtime.config_providers import ConfigResolver
from hub.runtime.connector_names import check_connector_name
from hub.runtime.connector_queries import ConnectorQueries
from hub.runtime.herder import AlreadyExistsError, BadRequestError, ConnectorInfo
from hub.runtime.herder_strategies import WriteGate
from hub.runtime.plugins import Plugins
from hub.runtime.stores import ConfigStore, RestartRequest, State, TargetState
from hub.sdk.config import HIDDEN

log = logging.getLogger("hub.runtime.herder")

_INITIAL_STATES = {"RUNNING": TargetState.STARTED, "PAUSED": TargetState.PAUSED, "STOPPED": TargetState.STOPPED}


class ConnectorWrites:
    """Writes the desired state of connectors (see the module docstring)."""

    def __init__(
        self,
        plugins: Plugins,
        configs: ConfigStore,
        resolver: ConfigResolver,
        queries: ConnectorQueries,
        gate: WriteGate,
    ) -> None:
        self._plugins = plugins
        self._configs = configs
        self._resolver = resolver
        self._queries = queries
        self._gate = gate

    def put_connector_config(
        self, name: str, config: Mapping[str, str], *, allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, ConnectorInfo]:
        self._gate.check()
        return self._put(name, config, allow_replace=allow_replace, initial_state=initial_state)

    def patch_connector_config(self, name: str, patch: Mapping[str, str | None]) -> ConnectorInfo:
        self._gate.check()
        config = self._queries.config_of(name)
        for key, value in patch.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = str(value)
        return self._put(name, config, allow_replace=True)[1]

    def _put(
        self, name: str, config: Mapping[str, str], *, allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, ConnectorInfo]:
        check_connector_name(name)
        config = {str(k): str(v) for k, v in config.items()}
        if config.get("name", name) != name:
            raise BadRequestError(
                f"Connector name configuration ({config['name']}) doesn't match connector name in the URL ({name})"
            )
        config["name"] = name
        target = None
        if initial_state is not None:
            target = _INITIAL_STATES.get(initial_state.upper()) if initial_state.isascii() else None
            if target is None:
                raise BadRequestError(f"initial_state must be RUNNING, PAUSED or STOPPED, not {initial_state!r}")
        existing = self._configs.snapshot().connectors.get(name)
        if existing is not None:  # a config read back from the API carries "[hidden]": keep the stored secret
            for key in self._queries.secret_keys(config):
                if config.get(key) == HIDDEN and key in existing:
                    config[key] = existing[key]
        checked = self._queries.check(config)
        checked.raise_for_problems()
        exists = existing is not None
        if exists and not allow_replace:
            raise AlreadyExistsError(f"Connector {name} already exists")
        for warning in checked.warnings:
            log.warning("connector %s: %s", name, warning)
        self._configs.put_connector_config(name, config, None if exists else target)
        return not exists, self._queries.connector_info(name)

    def delete_connector(self, name: str) -> None:
        self._gate.check()
        self._queries.config_of(name)
        self._configs.remove_connector_config(name)

    def pause(self, name: str) -> None:
        self._gate.check()
        self._queries.config_of(name)
        self._configs.put_target_state(name, TargetState.PAUSED)

    def resume(self, name: str) -> None:
        self._gate.check()
        self._queries.config_of(name)
        self._configs.put_target_state(name, TargetState.STARTED)

    def stop_connector(self, name: str) -> None:
        self._gate.check()
        self._queries.config_of(name)
        self._configs.put_task_configs(name, [])
        self._configs.put_target_state(name, TargetState.STOPPED)

    def restart_connector(self, name: str, *, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        """Ask every worker to restart; with include_tasks or only_failed, the restart plan."""
        self._gate.check()
        status = self._queries.connector_status(name)
        request = RestartRequest(name, include_tasks, only_failed)
        self._configs.put_restart_request(request)
        if not include_tasks and not only_failed:
            return None
        if not only_failed or status["connector"]["state"] == State.FAILED.value:
            status["connector"]["state"] = State.RESTARTING.value
        for task in status["tasks"]:
            if include_tasks and (not only_failed or task["state"] == State.FAILED.value):
                task["state"] = State.RESTARTING.value
        return status
