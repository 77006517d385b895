"""Where a worker's schema registry keeps its records: the compacted topic ``_schemas`` of the store.

One partition, so every worker reads the records in one order (Confluent's ``kafkastore.topic`` has one too);
compaction keeps the latest record of each key, which is the registry's state.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.log.client import StoreClients
from hub.registry.service import SchemaRegistry
from hub.runtime.stores.key_value_log import KeyValueLog, RecordCallback
from hub.runtime.stores.topic_backed_log import TopicBackedLog

SCHEMAS_TOPIC = "_schemas"


def topic_registry(
    clients: StoreClients,
    *,
    topic: str = SCHEMAS_TOPIC,
    replication_factor: int = -1,
    gate: Callable[[], None] | None = None,
) -> SchemaRegistry:
    """A registry (not started) over ``topic`` of the store ``clients`` reach; writes pass ``gate`` first."""

    def make_log(callback: RecordCallback) -> KeyValueLog:
        return TopicBackedLog(
            clients, topic, callback, partitions=1, replication_factor=replication_factor, exact_partitions=True
        )

    return SchemaRegistry(make_log, gate=gate)
