"""Kafka Connect's built-in single message transforms and predicates."""

from __future__ import annotations

from hub.runtime.transforms.predicates import HasHeaderKey, RecordIsTombstone, TopicNameMatches
from hub.runtime.transforms.routing import Filter, RegexRouter, TimestampRouter

__all__ = ["Filter", "HasHeaderKey", "RecordIsTombstone", "RegexRouter", "TimestampRouter", "TopicNameMatches"]
