"""HerderParts: the parts every herder is composed of, assembled with the strategies that tell herders apart.

A herder (standalone or distributed) holds one of these and delegates to it: the config resolver, the Reconciler
(the herder thread), ConnectorQueries (REST read models), ConnectorWrites and OffsetsAdmin (desired-state writes
behind the write gate). The stores are started before the reconciler and stopped after it.

Thread-safety: the parts are; ``start_stores`` and ``close_stores`` are called once each, by the herder's
``start`` and ``stop``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from hub.log.client import StoreClients
from hub.runtime.config_providers import ConfigResolver, build_resolver
from hub.runtime.connector_queries import ConnectorQueries
from hub.runtime.connector_writes import ConnectorWrites
from hub.runtime.exactly_once_config import SourceSupport
from hub.runtime.herder_strategies import Placement, TaskConfigsDestination, WriteGate
from hub.runtime.offsets_admin import OffsetsAdmin
from hub.runtime.plugins import Plugins
from hub.runtime.reconciler import Reconciler
from hub.runtime.stores import ConfigStore, OffsetStore, StatusStore
from hub.runtime.worker_config import WorkerConfig

log = logging.getLogger("hub.runtime.herder")


@dataclass(frozen=True)
class HerderParts:
    """The composed parts of a herder (see the module docstring)."""

    configs: ConfigStore
    offset_store: OffsetStore
    statuses: StatusStore
    resolver: ConfigResolver
    reconciler: Reconciler
    queries: ConnectorQueries
    writes: ConnectorWrites
    offsets: OffsetsAdmin

    @classmethod
    def assemble(
        cls,
        worker_id: str,
        config: WorkerConfig,
        plugins: Plugins,
        clients: StoreClients,
        stores: tuple[ConfigStore, OffsetStore, StatusStore],
        *,
        placement: Placement,
        gate: WriteGate,
        task_configs_destination: TaskConfigsDestination,
        may_fence: Callable[[], bool] = lambda: True,
    ) -> HerderParts:
        configs, offsets, statuses = stores
        resolver = build_resolver(plugins, config)
        reconciler = Reconciler(
            worker_id,
            config,
            plugins,
            clients,
            configs,
            offsets,
            statuses,
            resolver,
            placement=placement,
            task_configs_destination=task_configs_destination,
            may_fence=may_fence,
        )
        queries = ConnectorQueries(
            worker_id,
            plugins,
            clients,
            configs,
            statuses,
            resolver,
            exactly_once=config.exactly_once_source is SourceSupport.ENABLED,
        )
        return cls(
            configs,
            offsets,
            statuses,
            resolver,
            reconciler,
            queries,
            ConnectorWrites(plugins, configs, resolver, queries, gate),
            OffsetsAdmin(clients, configs, offsets, queries, gate),
        )

    def start_stores(self) -> None:
        """Read the stores to their end (statuses and offsets first: the config store's listeners use them)."""
        self.statuses.start()
        self.offset_store.start()
        self.configs.start()

    def close_stores(self) -> None:
        """Stop the stores (a failure only logged) and close the config providers: the last step of stopping."""
        for store in (self.statuses, self.offset_store, self.configs):
            try:
                store.stop()
            except Exception as exc:
                log.warning("closing a store failed: %s", exc)
        self.resolver.close()
        log.info("herder stopped")
