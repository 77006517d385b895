"""How the runtime's consumers read transactional topics: ``read_committed`` unless the user says otherwise.

Sink tasks and the readers of the internal topics must not see the records of open or aborted transactions (an
exactly-once source's output and offsets), so they read at ``read_committed`` as Connect's do; an
``isolation.level`` among the consumer options (``consumer.override.isolation.level``) wins.

Thread-safety: as the underlying clients (``hub.log.client.api``).
"""

from __future__ import annotations

from typing import Any

from hub.log.client import Consumer, IsolationLevel, StoreClients

ISOLATION_LEVEL = "isolation.level"


def read_committed_consumer(clients: StoreClients, **kwargs: Any) -> Consumer:
    """A consumer that reads only committed records, unless ``options`` name another isolation level."""
    options = dict(kwargs.pop("options", None) or {})
    level = options.setdefault(ISOLATION_LEVEL, IsolationLevel.READ_COMMITTED.value)
    return clients.consumer(isolation_level=IsolationLevel(level), options=options, **kwargs)
