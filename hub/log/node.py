"""LogNode: one running store — topic store, group coordinator, log cleaner and broker, opened and closed together.

``open()`` recovers the data directory, loads groups and committed offsets, and starts the background threads
(flusher, retention and checkpoints, cleaner, group timers); ``close()`` stops them in reverse order, flushing
every partition, so a SIGTERM loses nothing that was acknowledged. The Kafka protocol server and the embedded
clients both use ``node.broker``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.log.broker import Broker
from hub.log.cleaner import LogCleaner
from hub.log.group import CoordinatorConfig, GroupCoordinator, TopicOffsetsLog
from hub.log.store import TopicStore

log = logging.getLogger("hub.log.node")


@dataclass(frozen=True)
class NodeConfig:
    """Broker-level settings (Kafka's names where Kafka has one)."""

    data_dir: Path
    topic_defaults: Mapping[str, Any] = field(default_factory=dict)  # log.* / topic config defaults
    auto_create_topics: bool = True  # auto.create.topics.enable
    num_partitions: int = 1  # num.partitions
    retention_check_interval_ms: int = 300_000  # log.retention.check.interval.ms
    cleaner_backoff_ms: int = 15_000  # log.cleaner.backoff.ms
    groups: CoordinatorConfig = field(default_factory=CoordinatorConfig)


class LogNode:
    """The store's parts, wired (see the module docstring)."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.store = TopicStore(
            config.data_dir,
            defaults=config.topic_defaults,
            retention_check_interval_ms=config.retention_check_interval_ms,
        )
        self.coordinator = GroupCoordinator(TopicOffsetsLog(self.store), config.groups)
        self.cleaner = LogCleaner(self.store, backoff_ms=config.cleaner_backoff_ms)
        self.broker = Broker(
            self.store,
            coordinator=self.coordinator,
            auto_create_topics=config.auto_create_topics,
            num_partitions=config.num_partitions,
        )
        self._opened = False

    def open(self) -> None:
        self.store.open()
        try:
            self.coordinator.start()
            self.cleaner.start()
            self.broker.open()
        except BaseException:
            self.cleaner.close()
            self.coordinator.close()
            self.store.close()
            raise
        self._opened = True
        log.info("store node open on %s", self.config.data_dir)

    def close(self) -> None:
        """Stop accepting work, stop the background threads, flush and release the data directory."""
        if not self._opened:
            return
        self._opened = False
        self.broker.close()
        self.cleaner.close()
        self.coordinator.close()
        self.store.close()
        log.info("store node closed")

    def __enter__(self) -> LogNode:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
