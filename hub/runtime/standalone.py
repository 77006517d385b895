"""StandaloneHerder: one worker that runs every connector itself.

Its stores decide where state lives: in memory with an offsets file (``hub standalone``, as Connect's
standalone mode), or in the store's compacted internal topics (a restart resumes every connector, its offsets and
statuses). It only delegates (``ComposedHerder``), to the herder's parts (``hub/runtime/herder_parts.py``)
assembled with the standalone strategies: the Reconciler (the herder thread) runs everything here
(``EverythingHere``) and writes the task configs it generates straight into the config store; ConnectorWrites and
OffsetsAdmin always may write (``AlwaysWritable``); ConnectorQueries answers the reads.

Thread-safety: every Herder method may be called from any thread; ``start`` and ``stop`` once each, in order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from hub.log.client import StoreClients
from hub.runtime.composed_herder import ComposedHerder
from hub.runtime.config_providers import build_resolver
from hub.runtime.herder import BadRequestError
from hub.runtime.herder_parts import HerderParts
from hub.runtime.herder_strategies import AlwaysWritable, EverythingHere, into_store
from hub.runtime.plugins import Plugins
from hub.runtime.reconciler import RESTART_WAIT_S
from hub.runtime.request_signing import RequestSignature
from hub.runtime.stores import ConfigStore, OffsetStore, StatusStore
from hub.runtime.worker_config import WorkerConfig

__all__ = ["RESTART_WAIT_S", "StandaloneHerder", "build_resolver"]

log = logging.getLogger("hub.runtime.herder")


class StandaloneHerder(ComposedHerder):
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
        super().__init__(
            HerderParts.assemble(
                worker_id,
                config,
                plugins,
                clients,
                (configs, offsets, statuses),
                placement=EverythingHere(),
                gate=AlwaysWritable(),
                task_configs_destination=into_store(configs),
            )
        )

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

    def health(self) -> tuple[str, str]:
        if not self._reconciler.is_running:
            return "starting", "Worker is still starting up."
        return "healthy", "Worker has completed startup and is ready to handle requests."

    # --- what differs from a distributed herder ------------------------------------------------------------------

    def restart_task(self, name: str, task: int) -> None:
        self._reconciler.restart_task(name, task)

    def put_task_configs(
        self, name: str, configs: Sequence[Mapping[str, str]], signature: RequestSignature | None
    ) -> None:
        raise BadRequestError("Only distributed workers take task configs from other workers")
