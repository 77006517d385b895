"""The worker's stores — connector configs, source offsets, statuses — over memory, a file or compacted topics."""

from __future__ import annotations

from hub.runtime.stores.configs import ConfigListener, ConfigSnapshot, ConfigStore, RestartRequest, TargetState
from hub.runtime.stores.key_value_log import FileLog, KeyValueLog, MemoryLog
from hub.runtime.stores.offsets import OffsetStore, canonical
from hub.runtime.stores.status import State, Status, StatusStore
from hub.runtime.stores.topic_backed_log import TopicBackedLog

__all__ = [
    "ConfigListener",
    "ConfigSnapshot",
    "ConfigStore",
    "FileLog",
    "KeyValueLog",
    "MemoryLog",
    "OffsetStore",
    "RestartRequest",
    "State",
    "Status",
    "StatusStore",
    "TargetState",
    "TopicBackedLog",
    "canonical",
]
