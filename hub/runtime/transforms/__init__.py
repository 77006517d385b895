"""Kafka Connect's built-in single message transforms and predicates, under Hub's names and Connect's class
names (``BUILTIN_TRANSFORMS``, ``BUILTIN_PREDICATES``), and the chain that applies them."""

from __future__ import annotations

from typing import Any

from hub.runtime.transforms.chain import TransformationChain
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
from hub.sdk.transform import Predicate, Transformation

__all__ = [
    "BUILTIN_PREDICATES",
    "BUILTIN_TRANSFORMS",
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
    "TransformationChain",
    "ValueToKey",
]


_TRANSFORMS = "org.apache.kafka.connect.transforms."
_PREDICATES = "org.apache.kafka.connect.transforms.predicates."


def _names(prefix: str, classes: list[type[Any]], variant_of: dict[type[Any], str]) -> dict[str, type[Any]]:
    table: dict[str, type[Any]] = {}
    for kind in classes:
        base = variant_of.get(kind)
        connect_name = f"{base}${kind.__name__[len(base) :]}" if base else kind.__name__
        for name in (kind.__name__, connect_name, prefix + connect_name):
            table[name] = kind
    return table


_VARIANTS: list[type[Any]] = [
    CastKey,
    CastValue,
    ExtractFieldKey,
    ExtractFieldValue,
    FlattenKey,
    FlattenValue,
    HeaderFromKey,
    HeaderFromValue,
    HoistFieldKey,
    HoistFieldValue,
    InsertFieldKey,
    InsertFieldValue,
    MaskFieldKey,
    MaskFieldValue,
    ReplaceFieldKey,
    ReplaceFieldValue,
    SetSchemaMetadataKey,
    SetSchemaMetadataValue,
    TimestampConverterKey,
    TimestampConverterValue,
]

#: Every built-in transform by Hub's class name, Connect's short name (``InsertField$Value``) and Connect's
#: class name (``org.apache.kafka.connect.transforms.InsertField$Value``).
BUILTIN_TRANSFORMS: dict[str, type[Transformation]] = _names(
    _TRANSFORMS,
    [*_VARIANTS, DropHeaders, Filter, InsertHeader, RegexRouter, TimestampRouter, ValueToKey],
    {kind: kind.__mro__[1].__name__ for kind in _VARIANTS},
)

#: Every built-in predicate by its short name and Connect's class name.
BUILTIN_PREDICATES: dict[str, type[Predicate]] = _names(
    _PREDICATES, [HasHeaderKey, RecordIsTombstone, TopicNameMatches], {}
)
