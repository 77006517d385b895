"""ComposedHerder: the Herder calls every herder answers the same way, by delegating to its parts.

Reads go to ConnectorQueries, desired-state writes to ConnectorWrites, offsets to OffsetsAdmin (both behind the
herder's write gate). A concrete herder (standalone or distributed) assembles its ``HerderParts`` with its own
strategies and adds what differs: starting and stopping, health, task restarts and task configs from other
workers. It inherits only this delegation, never another herder's behaviour.

Thread-safety: that of the parts; every method may be called from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.runtime.herder import ConnectorInfo, Herder
from hub.runtime.herder_parts import HerderParts
from hub.runtime.plugins import PluginInfo


class ComposedHerder(Herder):
    """Delegates the Herder's reads, writes and offsets to ``HerderParts`` (see the module docstring)."""

    def __init__(self, parts: HerderParts) -> None:
        self._parts = parts
        self._reconciler = parts.reconciler
        self._queries = parts.queries
        self._writes = parts.writes
        self._offsets = parts.offsets
        self.resolver = parts.resolver
        self.worker = parts.reconciler.worker

    # --- reads -------------------------------------------------------------------------------------------------

    def connectors(self) -> list[str]:
        return self._queries.connectors()

    def connector_info(self, name: str) -> ConnectorInfo:
        return self._queries.connector_info(name)

    def connector_status(self, name: str) -> dict[str, Any]:
        return self._queries.connector_status(name)

    def task_status(self, name: str, task: int) -> dict[str, Any]:
        return self._queries.task_status(name, task)

    def task_configs(self, name: str) -> list[dict[str, Any]]:
        return self._queries.task_configs(name)

    def validate(self, config: Mapping[str, str]) -> dict[str, Any]:
        return self._queries.validate(config)

    def topics(self, name: str) -> list[str]:
        return self._queries.topics(name)

    def reset_topics(self, name: str) -> None:
        self._queries.reset_topics(name)

    def kafka_cluster_id(self) -> str:
        return self._queries.kafka_cluster_id()

    def plugins(self) -> list[PluginInfo]:
        return self._queries.plugins()

    def plugin_config(self, plugin: str) -> list[dict[str, Any]]:
        return self._queries.plugin_config(plugin)

    # --- writes (behind the write gate) ------------------------------------------------------------------------

    def put_connector_config(
        self, name: str, config: Mapping[str, str], *, allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, ConnectorInfo]:
        return self._writes.put_connector_config(name, config, allow_replace=allow_replace, initial_state=initial_state)

    def patch_connector_config(self, name: str, patch: Mapping[str, str | None]) -> ConnectorInfo:
        return self._writes.patch_connector_config(name, patch)

    def delete_connector(self, name: str) -> None:
        self._writes.delete_connector(name)

    def pause(self, name: str) -> None:
        self._writes.pause(name)

    def resume(self, name: str) -> None:
        self._writes.resume(name)

    def stop_connector(self, name: str) -> None:
        self._writes.stop_connector(name)

    def restart_connector(self, name: str, *, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        return self._writes.restart_connector(name, include_tasks=include_tasks, only_failed=only_failed)

    # --- offsets -----------------------------------------------------------------------------------------------

    def offsets(self, name: str) -> list[dict[str, Any]]:
        return self._offsets.offsets(name)

    def alter_offsets(self, name: str, offsets: Sequence[Mapping[str, Any]]) -> str:
        return self._offsets.alter_offsets(name, offsets)

    def reset_offsets(self, name: str) -> str:
        return self._offsets.reset_offsets(name)
