"""IdentityCache: one computation per key object, equal but distinct objects apart, bounded size."""

from __future__ import annotations

from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import INT64_SCHEMA, struct_schema


def test_values_are_computed_once_per_object_and_equal_objects_stay_apart() -> None:
    calls: list[object] = []
    cache: IdentityCache[object, int] = IdentityCache(lambda key: calls.append(key) or len(calls))
    first = struct_schema([("id", INT64_SCHEMA)], name="row")
    twin = struct_schema([("id", INT64_SCHEMA)], name="row")
    assert first == twin
    assert (cache(first), cache(first), cache(twin), cache(first)) == (1, 1, 2, 1)
    cache.clear()
    assert cache(first) == 3


def test_the_cache_starts_over_past_its_size() -> None:
    calls: list[object] = []
    cache: IdentityCache[object, int] = IdentityCache(lambda key: calls.append(key) or len(calls), max_size=3)
    keys = [object() for _ in range(4)]
    for key in keys[:3]:
        cache(key)
    cache(keys[0])
    assert len(calls) == 3  # still cached
    cache(keys[3])  # the fourth: the cache starts over
    cache(keys[0])
    assert len(calls) == 5
