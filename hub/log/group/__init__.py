"""Kafka's classic group protocol and committed offsets, for consumers and Hub's workers alike."""

from __future__ import annotations

from hub.log.group.coordinator import CoordinatorConfig, GroupCoordinator
from hub.log.group.group import CommittedOffset, GroupState, JoinedMember, JoinGroupResult, SyncGroupResult
from hub.log.group.offsets_log import OFFSETS_TOPIC, TopicOffsetsLog
from hub.log.group.offsets_manager import OffsetsLog

__all__ = [
    "OFFSETS_TOPIC",
    "CommittedOffset",
    "CoordinatorConfig",
    "GroupCoordinator",
    "GroupState",
    "JoinGroupResult",
    "JoinedMember",
    "OffsetsLog",
    "SyncGroupResult",
    "TopicOffsetsLog",
]
