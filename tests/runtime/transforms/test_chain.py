"""The transformation chain: Connect's options, predicates with negate, drops, and every error at once."""

from __future__ import annotations

import pytest

from hub.runtime.transforms import BUILTIN_PREDICATES, BUILTIN_TRANSFORMS, TransformationChain
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.records import SourceRecord


def _chain(**config: str) -> TransformationChain:
    return TransformationChain.from_config(config, BUILTIN_TRANSFORMS, BUILTIN_PREDICATES)


def test_connect_style_config_runs_in_order_with_predicates() -> None:
    chain = _chain(
        **{
            "transforms": "route,drop",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "db\\.(.*)",
            "transforms.route.replacement": "$1",
            "transforms.drop.type": "Filter",
            "transforms.drop.predicate": "isTombstone",
            "predicates": "isTombstone",
            "predicates.isTombstone.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        }
    )
    kept = chain.apply(SourceRecord(topic="db.orders", value={"id": 1}))
    assert kept is not None
    assert kept.topic == "orders"
    assert chain.apply(SourceRecord(topic="db.orders", value=None)) is None


def test_negate_inverts_the_predicate() -> None:
    chain = _chain(
        **{
            "transforms": "keepOrders",
            "transforms.keepOrders.type": "Filter",
            "transforms.keepOrders.predicate": "orders",
            "transforms.keepOrders.negate": "true",
            "predicates": "orders",
            "predicates.orders.type": "TopicNameMatches",
            "predicates.orders.pattern": "orders",
        }
    )
    assert chain.apply(SourceRecord(topic="orders", value=1)) is not None
    assert chain.apply(SourceRecord(topic="other", value=1)) is None


def test_value_variants_by_connect_name() -> None:
    chain = _chain(
        **{
            "transforms": "wrap,flag",
            "transforms.wrap.type": "org.apache.kafka.connect.transforms.HoistField$Value",
            "transforms.wrap.field": "payload",
            "transforms.flag.type": "InsertField$Value",
            "transforms.flag.static.field": "source",
            "transforms.flag.static.value": "hub",
        }
    )
    result = chain.apply(SourceRecord(topic="t", value=5))
    assert result is not None
    assert result.value == {"payload": 5, "source": "hub"}


def test_every_problem_is_reported_with_its_option() -> None:
    with pytest.raises(ConfigError) as caught:
        _chain(
            **{
                "transforms": "a,b,c,d",
                "transforms.a.type": "Nope",
                "transforms.b.type": "RegexRouter",
                "transforms.c.type": "Filter",
                "transforms.c.predicate": "missing",
                "transforms.d.type": "Filter",
                "transforms.d.negate": "maybe",
            }
        )
    errors = caught.value.errors
    assert errors["transforms.a.type"] == ["unknown type 'Nope'"]
    assert "transforms.b.regex" in errors
    assert "not listed in 'predicates'" in errors["transforms.c.predicate"][0]
    assert "expected true or false" in errors["transforms.d.negate"][0]


def test_transform_failures_are_data_errors_naming_the_stage() -> None:
    chain = _chain(**{"transforms": "ts", "transforms.ts.type": "TimestampRouter"})
    with pytest.raises(DataError, match="timestamp"):
        chain.apply(SourceRecord(topic="t", value=1))
