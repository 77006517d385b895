"""StandaloneHerder: one worker that runs every connector itself.

Its stores decide where state lives: in memory with an offsets file (``hub standalone``, as Connect's
standalone mode), or in the store's compacted internal topics (a restart resumes every connector, its offsets and
statuses). It only delegates, to the herder's parts (``hub/runtime/herder_parts.py``) assembled with the
standalone strategies: the Reconciler (the herder thread) runs everything here (``EverythingHere``) and writes
the task configs it generates straight into the config store; ConnectorWrites and OffsetsAdmin always may write
(``AlwaysWritable``); ConnectorQueries answers the reads.

Thread-safety: every Herder method may be called from any thread; ``start`` and ``stop`` once each, in order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hub.log.client import StoreClients
from hub.runtime.config_providers import build_resolver
from hub.runtime.herder import BadRequestError, ConnectorInfo, Herder
from hub.runtime.herder_parts import HerderParts
from hub.runtime.herder_strategies import AlwaysWritable, EverythingHere, into_store
from hub.runtime.plugins import PluginInfo, Plugins
from hub.runtime.reconciler import RESTART_WAIT_S
from hub.runtime.request_signing import RequestSignature
from hub.runtime.stores import ConfigStore, OffsetStore, StatusStore
from hub.runtime.worker_config import WorkerConfig

__all__ = ["RESTART_WAIT_S", "StandaloneHerder", "build_resolver"]

log = logging.getLogger("hub.runtime.herder")


class StandaloneHerder(Herder):
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
        self.clients = clients
        self.configs = configs
        self.offset_store = offsets
        self.statuses = statuses
        self._parts = HerderParts.assemble(
            worker_id,
            config,
            plugins,
            clients,
            (configs, offsets, statuses),
            placement=EverythingHere(),
            gate=AlwaysWritable(),
            task_configs_destination=into_store(configs),
        )
        self.resolver = self._parts.resolver
        self.worker = self._parts.reconciler.worker
        self._reconciler = self._parts.reconciler
        self._queries = self._parts.queries
        self._writes = self._parts.writes
        self._offsets = self._parts.offsets

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the stores and start every connector they hold."""
        self._parts.start_stores()
        self._reconciler.start()
        log.info("herder started on worker %s (store: %s)", self.worker_id, self.clients.location)

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until the herder can take writes (a standalone herder can as soon as it started)."""

    def stop(self) -> None:
        """Stop every task and connector (committing offsets), then the stores."""
        self._reconciler.stop()
        self._parts.close_stores()

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

    def health(self) -> tuple[str, str]:
        if not self._reconciler.is_running:
            return "starting", "Worker is still starting up."
        return "healthy", "Worker has completed startup and is ready to handle requests."

    # --- writes ------------------------------------------------------------------------------------------------

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

    def restart_task(self, name: str, task: int) -> None:
        self._reconciler.restart_task(name, task)

    def put_task_configs(
        self, name: str, configs: Sequence[Mapping[str, str]], signature: RequestSignature | None
    ) -> None:
        raise BadRequestError("Only distributed workers take task configs from other workers")

    def offsets(self, name: str) -> list[dict[str, Any]]:
        return self._offsets.offsets(name)

    def alter_offsets(self, name: str, offsets: Sequence[Mapping[str, Any]]) -> str:
        return self._offsets.alter_offsets(name, offsets)

    def reset_offsets(self, name: str) -> str:
        return self._offsets.reset_offsets(name)
