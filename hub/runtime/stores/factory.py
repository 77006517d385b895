"""The three stores of a worker, kept in the store's internal topics or in this process (with an offsets file)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from hub.log.client import StoreClients
from hub.runtime.stores.configs import ConfigStore
from hub.runtime.stores.key_value_log import FileLog, MemoryLog
from hub.runtime.stores.offsets import OffsetStore
from hub.runtime.stores.status import StatusStore
from hub.runtime.stores.topic_backed_log import TopicBackedLog
from hub.runtime.worker_config import WorkerConfig


class Stores(NamedTuple):
    configs: ConfigStore
    offsets: OffsetStore
    statuses: StatusStore


def topic_stores(clients: StoreClients, config: WorkerConfig) -> Stores:
    """Configs, offsets and statuses in compacted topics (``config.storage.topic``…), shared by a cluster."""
    return Stores(
        ConfigStore(
            lambda callback: TopicBackedLog(
                clients,
                config["config.storage.topic"],
                callback,
                partitions=1,
                exact_partitions=True,
                topic_configs=config.topic_configs("config"),
            )
        ),
        OffsetStore(
            lambda callback: TopicBackedLog(
                clients,
                config["offset.storage.topic"],
                callback,
                partitions=config["offset.storage.partitions"],
                topic_configs=config.topic_configs("offset"),
            )
        ),
        StatusStore(
            lambda callback: TopicBackedLog(
                clients,
                config["status.storage.topic"],
                callback,
                partitions=config["status.storage.partitions"],
                topic_configs=config.topic_configs("status"),
            )
        ),
    )


def local_stores(config: WorkerConfig) -> Stores:
    """Standalone mode: configs and statuses in memory, offsets in ``offset.storage.file.filename`` when set."""
    offsets_file = config["offset.storage.file.filename"]
    return Stores(
        ConfigStore(MemoryLog),
        OffsetStore(lambda callback: FileLog(Path(offsets_file), callback) if offsets_file else MemoryLog(callback)),
        StatusStore(MemoryLog),
    )
