"""The three stores of a worker, kept in the store's internal topics or in this process (with an offsets file)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from hub.log.client import StoreClients
from hub.runtime.stores.configs import ConfigStore
from hub.runtime.stores.key_value_log import FileLog, KeyValueLog, MemoryLog, RecordCallback
from hub.runtime.stores.offsets import OffsetStore
from hub.runtime.stores.status import StatusStore
from hub.runtime.stores.topic_backed_log import TopicBackedLog
from hub.runtime.worker_config import WorkerConfig


class Stores(NamedTuple):
    configs: ConfigStore
    offsets: OffsetStore
    statuses: StatusStore


def _topic_log(clients: StoreClients, config: WorkerConfig, store: str, partitions: int) -> Callable[..., KeyValueLog]:
    def make(callback: RecordCallback) -> KeyValueLog:
        return TopicBackedLog(
            clients,
            config[f"{store}.storage.topic"],
            callback,
            partitions=partitions,
            replication_factor=config[f"{store}.storage.replication.factor"],
            exact_partitions=store == "config",
            topic_configs=config.topic_configs(store),
        )

    return make


def topic_stores(clients: StoreClients, config: WorkerConfig) -> Stores:
    """Configs, offsets and statuses in compacted topics (``config.storage.topic``…), shared by a cluster."""
    return Stores(
        ConfigStore(_topic_log(clients, config, "config", 1)),
        OffsetStore(_topic_log(clients, config, "offset", config["offset.storage.partitions"])),
        StatusStore(_topic_log(clients, config, "status", config["status.storage.partitions"])),
    )


def local_stores(clients: StoreClients, config: WorkerConfig) -> Stores:
    """Standalone mode: configs and statuses in memory; source offsets in ``offset.storage.file.filename`` when
    set, else in the store's offsets topic (so they survive a restart either way)."""
    offsets_file = config["offset.storage.file.filename"]
    offsets_log: Callable[..., KeyValueLog] = (
        (lambda callback: FileLog(Path(offsets_file), callback))
        if offsets_file
        else _topic_log(clients, config, "offset", config["offset.storage.partitions"])
    )
    return Stores(ConfigStore(MemoryLog), OffsetStore(offsets_log), StatusStore(MemoryLog))
