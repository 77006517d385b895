"""Kafka Connect's built-in single message transforms and predicates."""

from __future__ import annotations

from hub.runtime.transforms.fields import (
    ExtractFieldKey,
    ExtractFieldValue,
    HoistFieldKey,
    HoistFieldValue,
    InsertFieldKey,
    InsertFieldValue,
    MaskFieldKey,
    MaskFieldValue,
    ReplaceFieldKey,
    ReplaceFieldValue,
    ValueToKey,
)
from hub.runtime.transforms.headers import DropHeaders, HeaderFromKey, HeaderFromValue, InsertHeader
from hub.runtime.transforms.predicates import HasHeaderKey, RecordIsTombstone, TopicNameMatches
from hub.runtime.transforms.routing import Filter, RegexRouter, TimestampRouter

__all__ = [
    "DropHeaders",
    "ExtractFieldKey",
    "ExtractFieldValue",
    "Filter",
    "HasHeaderKey",
    "HeaderFromKey",
    "HeaderFromValue",
    "HoistFieldKey",
    "HoistFieldValue",
    "InsertFieldKey",
    "InsertFieldValue",
    "InsertHeader",
    "MaskFieldKey",
    "MaskFieldValue",
    "RecordIsTombstone",
    "RegexRouter",
    "ReplaceFieldKey",
    "ReplaceFieldValue",
    "TimestampRouter",
    "TopicNameMatches",
    "ValueToKey",
]
