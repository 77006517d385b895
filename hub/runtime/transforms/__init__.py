"""Kafka Connect's built-in single message transforms and predicates."""

from __future__ import annotations

from hub.runtime.transforms.conversion import CastKey, CastValue, TimestampConverterKey, TimestampConverterValue
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
from hub.runtime.transforms.structure import FlattenKey, FlattenValue, SetSchemaMetadataKey, SetSchemaMetadataValue

__all__ = [
    "CastKey",
    "CastValue",
    "DropHeaders",
    "ExtractFieldKey",
    "ExtractFieldValue",
    "Filter",
    "FlattenKey",
    "FlattenValue",
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
    "SetSchemaMetadataKey",
    "SetSchemaMetadataValue",
    "TimestampConverterKey",
    "TimestampConverterValue",
    "TimestampRouter",
    "TopicNameMatches",
    "ValueToKey",
]
