"""OffsetStore: source connectors' offsets, in Kafka Connect's offsets-topic format.

Key ``["CONNECTOR", {source partition}]`` and value ``{source offset}``, both compact JSON; a tombstone deletes
an offset. Partition and offset maps hold string keys and primitive values only (string, number, boolean, null),
so they survive the JSON round trip unchanged. Lookups compare the parsed maps, not the bytes, so keys written
by Kafka Connect (whatever their field order) are found.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson

from hub.runtime.stores.key_value_log import KeyValueLog, RecordCallback
from hub.sdk.errors import DataError

log = logging.getLogger("hub.runtime.stores")

SourcePartition = Mapping[str, Any]
SourceOffset = Mapping[str, Any]


def canonical(partition: SourcePartition) -> str:
    """One text per partition map, whatever the order of its keys (how offsets are looked up)."""
    return orjson.dumps(dict(partition), option=orjson.OPT_SORT_KEYS).decode()


def check_map(kind: str, value: Mapping[str, Any]) -> None:
    """DataError unless ``value`` has string keys and primitive values (what the offsets topic can hold)."""
    if not isinstance(value, Mapping):
        raise DataError(f"source {kind} must be a map, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise DataError(f"source {kind} keys must be strings, got {key!r}")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise DataError(f"source {kind} field {key!r} must be a string, number, boolean or null, got {item!r}")
        if isinstance(item, int) and not -(2**63) <= item < 2**63:
            raise DataError(f"source {kind} field {key!r} is beyond the 64-bit integer range: {item}")


def encode(
    connector: str, offsets: Mapping[str, tuple[SourcePartition, SourceOffset | None]]
) -> list[tuple[bytes, bytes | None]]:
    """The offsets-topic records (key, value; None: a tombstone) of a connector's offsets; DataError for a map the
    topic cannot hold. Exactly-once source tasks write these themselves, inside their transactions."""
    records: list[tuple[bytes, bytes | None]] = []
    for partition, offset in offsets.values():
        check_map("partition", partition)
        if offset is not None:
            check_map("offset", offset)
        records.append(
            (orjson.dumps([connector, dict(partition)]), None if offset is None else orjson.dumps(dict(offset)))
        )
    return records


class OffsetStore:
    """Source offsets of every connector, kept through a KeyValueLog. Thread-safe."""

    def __init__(self, make_log: Callable[[RecordCallback], KeyValueLog]) -> None:
        self._lock = threading.Lock()
        self._offsets: dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {}
        self.log = make_log(self._apply)

    def start(self) -> None:
        self.log.start()

    def stop(self) -> None:
        self.log.stop()

    def _apply(self, raw_key: bytes, raw_value: bytes | None) -> None:
        try:
            key = orjson.loads(raw_key)
            connector, partition = key
            if not isinstance(connector, str) or not isinstance(partition, dict):
                raise ValueError("expected [connector name, partition map]")
            value = None if raw_value is None else orjson.loads(raw_value)
            if value is not None and not isinstance(value, dict):
                raise ValueError("the offset is not a JSON object")
        except ValueError as exc:
            log.error("offset record with key %r is not in Connect's format (%s); ignored", raw_key[:200], exc)
            return
        with self._lock:
            offsets = self._offsets.setdefault(connector, {})
            if value is None:
                offsets.pop(canonical(partition), None)
            else:
                offsets[canonical(partition)] = (partition, value)

    def offsets(self, connector: str, partitions: Collection[SourcePartition]) -> dict[str, SourceOffset | None]:
        """Stored offsets of these partitions, keyed by ``canonical(partition)``."""
        with self._lock:
            known = self._offsets.get(connector, {})
            return {canonical(p): (dict(known[canonical(p)][1]) if canonical(p) in known else None) for p in partitions}

    def all_offsets(self, connector: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every (partition, offset) pair stored for a connector."""
        with self._lock:
            return [(dict(p), dict(o)) for p, o in self._offsets.get(connector, {}).values()]

    def write(self, connector: str, offsets: Mapping[str, tuple[SourcePartition, SourceOffset | None]]) -> None:
        """Store offsets (None deletes one) and wait until they are durable."""
        futures = [self.log.send(key, value) for key, value in encode(connector, offsets)]
        self.log.flush()
        for future in futures:
            future.result()

    def refresh(self, timeout_s: float = 30.0) -> None:
        self.log.read_to_end(timeout_s)
