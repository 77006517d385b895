"""SchemaResolver: parses schemas with their references resolved against the registry's state, with a cache.

A reference names a subject and version (-1: the latest live one). Its schema's own references are resolved in
turn; the parser gets every dependency once, dependencies before dependents. A reference to a version that does
not exist, a cycle, or a dependency chain deeper than ``MAX_DEPTH`` make the schema invalid (42201).

Parsed schemas are cached by (type, text, references), which is what a registered version's compatibility checks
parse again and again. Thread-safety: the cache is guarded by a lock; parsing runs outside it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from hub.registry import errors
from hub.registry.formats import ParsedSchema, SchemaParseError, parse
from hub.registry.records import Reference, SchemaRecord
from hub.registry.state import RegistryState

MAX_DEPTH = 32
CACHE_SIZE = 2000

_Key = tuple[str, str, tuple[Reference, ...]]


class SchemaResolver:
    def __init__(self, state: RegistryState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._cache: OrderedDict[_Key, ParsedSchema] = OrderedDict()

    def parse(self, schema_type: str, text: str, references: Sequence[Reference]) -> ParsedSchema:
        """The parsed schema; RegistryError 42201 naming the problem when it is not valid."""
        # "latest" (-1) names whatever version is latest now: the cache keys on the version it names
        pinned = tuple(Reference(r.name, r.subject, self.resolve(r).version) for r in references)
        key = (schema_type, text, pinned)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        dependencies: list[tuple[str, str]] = []
        self._collect(pinned, dependencies, set(), (), 0)
        try:
            parsed = parse(schema_type, text, dependencies)
        except SchemaParseError as exc:
            raise errors.invalid_schema(f"Invalid schema of type {schema_type}, details: {exc}") from exc
        with self._lock:
            self._cache[key] = parsed
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return parsed

    def parse_record(self, record: SchemaRecord) -> ParsedSchema:
        return self.parse(record.schema_type, record.schema, record.references)

    def resolve(self, reference: Reference) -> SchemaRecord:
        """The version a reference names (soft deleted versions count, as they still hold their schema)."""
        versions = self._state.versions(reference.subject, deleted=True)
        if reference.version == -1:
            live = [r for r in versions if not r.deleted]
            if live:
                return live[-1]
        else:
            for record in versions:
                if record.version == reference.version:
                    return record
        version = "latest" if reference.version == -1 else reference.version
        raise errors.invalid_schema(
            f"Invalid schema: reference {reference.name!r} names subject {reference.subject!r} version {version}, "
            "which does not exist"
        )

    def _collect(
        self,
        references: Sequence[Reference],
        into: list[tuple[str, str]],
        seen: set[tuple[str, int]],
        path: tuple[tuple[str, int], ...],
        depth: int,
    ) -> None:
        if depth > MAX_DEPTH:
            raise errors.invalid_schema(f"Invalid schema: references are nested deeper than {MAX_DEPTH} levels")
        for reference in references:
            record = self.resolve(reference)
            node = (record.subject, record.version)
            if node in path:
                raise errors.invalid_schema(f"Invalid schema: circular reference through subject {record.subject!r}")
            if node in seen:
                continue
            self._collect(record.references, into, seen, (*path, node), depth + 1)
            seen.add(node)
            into.append((reference.name, record.schema))
