"""Retention policy: which of a partition's oldest segments ``cleanup.policy=delete`` removes.

Kafka's rules: whole closed segments go, oldest first, while the segment's largest timestamp is older than
``retention.ms`` or the partition without it is still at least ``retention.bytes``; the active segment never goes
(PartitionLog rolls it first when it is wholly expired). A segment's largest timestamp is the largest batch
``max_timestamp`` it holds, or its file's modification time when it holds none (empty, or producers that set no
timestamps), so such segments cannot pin every later one forever.

Pure functions over a snapshot of segments; the caller holds the partition lock.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from hub.log.config import TopicConfig
from hub.log.segment import LogSegment


def largest_timestamp(segment: LogSegment) -> int:
    """The segment's largest record timestamp, or its log file's modification time (ms) when it has none."""
    if segment.max_timestamp >= 0:
        return segment.max_timestamp
    try:
        return int(os.stat(segment.log_path).st_mtime * 1000)
    except FileNotFoundError:
        return -1


def active_expired(active: LogSegment, config: TopicConfig, now_ms: int) -> bool:
    """True when the active segment holds data and all of it is past ``retention.ms`` (roll it, then delete)."""
    retention_ms = config.get("retention.ms")
    if not config.delete or retention_ms < 0 or not active.size:
        return False
    return largest_timestamp(active) < now_ms - int(retention_ms)


def expired_count(segments: Sequence[LogSegment], config: TopicConfig, now_ms: int) -> int:
    """How many of the oldest segments retention deletes; the last (active) one is never counted."""
    if not config.delete:
        return 0
    retention_ms = config.get("retention.ms")
    retention_bytes = config.get("retention.bytes")
    remaining = sum(segment.size for segment in segments)
    count = 0
    for segment in segments[:-1]:
        too_old = retention_ms >= 0 and 0 <= largest_timestamp(segment) < now_ms - retention_ms
        too_big = retention_bytes >= 0 and remaining - segment.size >= retention_bytes
        if not (too_old or too_big):
            break
        remaining -= segment.size
        count += 1
    return count
