"""ConnectorQueries: the read models the REST API shows, built from the stores and the plugins.

Connector info, statuses and task configs follow Kafka Connect's REST entities. Password values (the ``secret``
options of a connector's config definition) are shown as ``[hidden]`` unless they are ``${provider:…}``
references, which hide nothing. Validation, plugin listings and the store's cluster id are answered here too.

Never writes desired state (``reset_topics`` only clears the record of topics a connector used). Thread-safe: it
reads snapshots of the thread-safe stores; the cluster id is read once and kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hub.log.client import ClientError, StoreClients
from hub.runtime.config_providers import ConfigResolver, has_reference
from hub.runtime.connector_config import Validation, common_def, connector_type, validate
from hub.runtime.herder import ConnectorInfo, NotFoundError
from hub.runtime.plugins import PluginInfo, Plugins
from hub.runtime.stores import ConfigStore, State, Status, StatusStore
from hub.sdk.config import HIDDEN, ConfigDef
from hub.sdk.connector import Connector
from hub.sdk.errors import ConfigError

log = logging.getLogger("hub.runtime.herder")


class ConnectorQueries:
    """Answers the REST API's reads (see the module docstring)."""

    def __init__(
        self,
        worker_id: str,
        plugins: Plugins,
        clients: StoreClients,
        configs: ConfigStore,
        statuses: StatusStore,
        resolver: ConfigResolver,
        *,
        exactly_once: bool = False,
    ) -> None:
        self._worker_id = worker_id
        self._exactly_once = exactly_once
        self._plugins = plugins
        self._clients = clients
        self._configs = configs
        self._statuses = statuses
        self._resolver = resolver
        self._cluster_id = ""  # read from the store once

    # --- configs -----------------------------------------------------------------------------------------------

    def config_of(self, name: str) -> dict[str, str]:
        """The stored config of ``name`` (secrets as stored); NotFoundError when there is no such connector."""
        config = self._configs.snapshot().connectors.get(name)
        if config is None:
            raise NotFoundError(f"Connector {name} not found")
        return config

    def connector_class(self, config: Mapping[str, str]) -> type[Connector]:
        return self._plugins.connector_class(config["connector.class"])

    def secret_keys(self, config: Mapping[str, str]) -> set[str]:
        """The password options of the config's connector class (none when the class is unknown)."""
        try:
            connector_class = self.connector_class(config)
            definition = common_def(connector_class).merge(connector_class().config_def())
        except Exception:
            return set()
        return {key.name for key in definition.keys if key.secret}

    def _type_of(self, config: Mapping[str, str]) -> str:
        try:
            return connector_type(self._plugins.connector_class(config.get("connector.class", "")))
        except ConfigError:
            return "unknown"

    def connectors(self) -> list[str]:
        return sorted(self._configs.snapshot().connectors)

    def connector_info(self, name: str) -> ConnectorInfo:
        snapshot = self._configs.snapshot()
        config = snapshot.connectors.get(name)
        if config is None:
            raise NotFoundError(f"Connector {name} not found")
        tasks = list(range(len(snapshot.tasks.get(name, []))))
        return ConnectorInfo(name, hidden(config, self.secret_keys(config)), tasks, self._type_of(config))

    def task_configs(self, name: str) -> list[dict[str, Any]]:
        config = self.config_of(name)
        secret = self.secret_keys(config)
        tasks = self._configs.snapshot().tasks.get(name, [])
        return [
            {
                "id": {"connector": name, "task": index},
                "config": hidden(task, secret),
            }
            for index, task in enumerate(tasks)
        ]

    def validate(self, config: Mapping[str, str]) -> dict[str, Any]:
        return self.check(config).response

    def check(self, config: Mapping[str, str]) -> Validation:
        """Validate a connector config as this worker would run it (``hub.runtime.connector_config.validate``)."""
        plain = {str(k): str(v) for k, v in config.items()}
        return validate(self._plugins, plain, self._resolver, exactly_once=self._exactly_once)

    # --- statuses ----------------------------------------------------------------------------------------------

    def _status_json(self, status: Status | None) -> dict[str, Any]:
        if status is None:
            return {"state": State.UNASSIGNED.value, "worker_id": self._worker_id}
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
            tasks.append({"id": task, **self._status_json(self._statuses.get(name, task))})
        return {
            "name": name,
            "connector": self._status_json(self._statuses.get(name)),
            "tasks": tasks,
            "type": info.type,
        }

    def task_status(self, name: str, task: int) -> dict[str, Any]:
        info = self.connector_info(name)
        if task not in info.tasks:
            raise NotFoundError(f"Task {name}-{task} not found")
        return {"id": task, **self._status_json(self._statuses.get(name, task))}

    def topics(self, name: str) -> list[str]:
        self.config_of(name)
        return self._statuses.topics(name)

    def reset_topics(self, name: str) -> None:
        self.config_of(name)
        self._statuses.reset_topics(name)

    # --- the cluster and the plugins ---------------------------------------------------------------------------

    def kafka_cluster_id(self) -> str:
        if not self._cluster_id:
            try:
                with self._clients.admin() as admin:
                    self._cluster_id = admin.cluster_id()
            except ClientError as exc:
                log.warning("the store's cluster id cannot be read: %s", exc)
        return self._cluster_id

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


def hidden(config: Mapping[str, str], secret: set[str]) -> dict[str, str]:
    """``config`` with the values of ``secret`` keys replaced by ``[hidden]``, unless they are references."""
    return {k: HIDDEN if k in secret and not has_reference(v) else v for k, v in config.items()}
