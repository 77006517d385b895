"""IdentityCache: what a function computes from an object, remembered per object identity.

Records of one stream share their schema object, so per-record code can find what it derived from a schema (an
encoder, a field plan, a layout) by the schema's identity: hashing a schema compares every field and costs more
than the work it would save. Each entry keeps its object alive, so an id is never reused while cached; past
``max_size`` entries the cache starts over.

Thread-safe for concurrent use: at worst two threads compute the same entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityCache(Generic[K, V]):
    """``cache(key)`` is ``make(key)``, computed once per key object (see the module docstring)."""

    __slots__ = ("_entries", "_make", "_max_size")

    def __init__(self, make: Callable[[K], V], max_size: int = 1000) -> None:
        self._make = make
        self._max_size = max_size
        self._entries: dict[int, tuple[K, V]] = {}

    def __call__(self, key: K) -> V:
        found = self._entries.get(id(key))
        if found is not None and found[0] is key:
            return found[1]
        value = self._make(key)
        if len(self._entries) >= self._max_size:
            self._entries.clear()
        self._entries[id(key)] = (key, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
