"""ZombieFencing: before a source connector's new task generation runs, fence the producers of the previous one.

A task that lost its work — its worker frozen, partitioned from the group, or just slow to stop — may still hold
an open transaction and try to commit it. Once the connector's task configs change, the worker that may write the
config store (the standalone worker; the leader of a group) fences the transactional ids of the previous
generation's tasks (``{group.id}-{connector}-{0..N-1}``, N from the connector's last task-count record) with
``Admin.fence_producers``: their open transactions are aborted and every later call of theirs fails. Only then does
it write the new task-count record, and only after that record do workers with exactly-once source support
enabled start the new tasks (``ConfigSnapshot.pending_fencing``), so the generations never overlap.

As Connect's leader, it skips the fencing itself (but writes the record) when there is no earlier record, and when
one task is replaced by one task: that task's new producer fences its predecessor itself, by the same transactional
id, in ``init_transactions``. Before fencing it reads the config store to its end, so a worker acting on an old
view does not fence a generation that already started.

Thread-safety: called on the herder thread only.
"""

from __future__ import annotations

import logging

from hub.log.client import StoreClients
from hub.runtime.exactly_once_config import task_transactional_id
from hub.runtime.plugins import Plugins
from hub.runtime.stores import ConfigStore
from hub.sdk.connector import SourceConnector

log = logging.getLogger("hub.runtime.herder")


class ZombieFencing:
    """Fences previous task generations and writes task-count records (see the module docstring)."""

    def __init__(self, clients: StoreClients, configs: ConfigStore, plugins: Plugins, group_id: str) -> None:
        self._clients = clients
        self._configs = configs
        self._plugins = plugins
        self._group_id = group_id

    def fence(self, name: str) -> bool:
        """Fence the connector's previous generation if its fencing is pending; True when none is pending now."""
        self._configs.refresh()
        snapshot = self._configs.snapshot()
        config = snapshot.connectors.get(name)
        if name not in snapshot.pending_fencing or config is None:
            return True
        if not self.applies(config.get("connector.class", "")):
            return True
        count = len(snapshot.tasks.get(name, []))
        previous = snapshot.task_counts.get(name)
        if previous is not None and (previous != 1 or count != 1):
            ids = [task_transactional_id(self._group_id, name, task) for task in range(previous)]
            try:
                with self._clients.admin() as admin:
                    admin.fence_producers(ids)
            except Exception as exc:
                log.error("connector %s: fencing the producers of its previous tasks failed: %s", name, exc)
                return False
            log.info("connector %s: fenced the producers of its previous %d tasks", name, previous)
        self._configs.put_task_count_record(name, count)
        return True

    def applies(self, connector_class: str) -> bool:
        """Whether connectors of this class are fenced (source connectors; sinks have no transactional producers)."""
        try:
            return issubclass(self._plugins.connector_class(connector_class), SourceConnector)
        except Exception:
            return False
