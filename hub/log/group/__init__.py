"""Kafka's classic group protocol and committed offsets, for consumers and Hub's workers alike."""

from __future__ import annotations

from hub.log.group.coordinator import CoordinatorConfig, GroupCoordinator
from hub.log.group.group import (
    CommittedOffset,
    GroupDescription,
    GroupOverview,
    GroupState,
    JoinedMember,
    JoinGroupResult,
    MemberDescription,
    SyncGroupResult,
)
from hub.log.group.leadership import NotCoordinatorError, Status
from hub.log.group.offsets_log import OFFSETS_TOPIC, OffsetsLog, TopicOffsetsLog, leadership_lost

__all__ = [
    "OFFSETS_TOPIC",
    "CommittedOffset",
    "CoordinatorConfig",
    "GroupCoordinator",
    "GroupDescription",
    "GroupOverview",
    "GroupState",
    "JoinGroupResult",
    "JoinedMember",
    "MemberDescription",
    "NotCoordinatorError",
    "OffsetsLog",
    "Status",
    "SyncGroupResult",
    "TopicOffsetsLog",
    "leadership_lost",
]
