"""RegistryState: what the ``_schemas`` topic says, replayed into indexes the registry answers from.

Holds every version of every subject (soft deleted ones flagged), which versions carry each id, the
compatibility levels and modes (global: subject None), and the highest id ever seen. ``apply`` takes the topic's
records in order; a later record for the same key replaces the earlier one, as compaction will, so a replay of
the compacted topic ends in the same state.

Thread-safety: ``apply`` runs on the topic's tailing thread and readers run on request threads; every method
holds the one lock, and answers copies or immutable records.
"""

from __future__ import annotations

import logging
import threading

from hub.registry import records
from hub.registry.records import ConfigRecord, ModeRecord, SchemaRecord, SchemaTombstone

log = logging.getLogger("hub.registry")


class RegistryState:
    """The registry's replayed view of its topic (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subjects: dict[str, dict[int, SchemaRecord]] = {}
        self._by_id: dict[int, set[tuple[str, int]]] = {}
        self._configs: dict[str | None, str] = {}
        self._modes: dict[str | None, str] = {}
        self._max_id = 0

    # --- the topic's records -----------------------------------------------------------------------------------

    def apply(self, key: bytes, value: bytes | None) -> None:
        """One record of the topic (the KeyValueLog callback)."""
        record = records.decode(key, value)
        with self._lock:
            if isinstance(record, SchemaRecord):
                self._drop(record.subject, record.version)
                self._subjects.setdefault(record.subject, {})[record.version] = record
                self._by_id.setdefault(record.id, set()).add((record.subject, record.version))
                self._max_id = max(self._max_id, record.id)
            elif isinstance(record, SchemaTombstone):
                self._drop(record.subject, record.version)
            elif isinstance(record, ConfigRecord):
                _put(self._configs, record.subject, record.compatibility)
            elif isinstance(record, ModeRecord):
                _put(self._modes, record.subject, record.mode)

    def _drop(self, subject: str, version: int) -> None:
        versions = self._subjects.get(subject, {})
        old = versions.pop(version, None)
        if old is not None:
            holders = self._by_id.get(old.id, set())
            holders.discard((subject, version))
            if not holders:
                self._by_id.pop(old.id, None)
        if subject in self._subjects and not versions:
            del self._subjects[subject]

    # --- reads -------------------------------------------------------------------------------------------------

    def versions(self, subject: str, *, deleted: bool = False) -> list[SchemaRecord]:
        """The subject's versions, oldest first; soft deleted ones only with ``deleted``."""
        with self._lock:
            found = self._subjects.get(subject, {})
            return [found[v] for v in sorted(found) if deleted or not found[v].deleted]

    def subjects(self, *, deleted: bool = False) -> list[str]:
        """Subjects with a live version (or, with ``deleted``, any version kept), sorted."""
        with self._lock:
            return sorted(s for s, vs in self._subjects.items() if deleted or any(not r.deleted for r in vs.values()))

    def holders(self, schema_id: int) -> list[SchemaRecord]:
        """Every version (live or soft deleted) that carries ``schema_id``, by subject and version."""
        with self._lock:
            return [self._subjects[s][v] for s, v in sorted(self._by_id.get(schema_id, ()))]

    def all_records(self) -> list[SchemaRecord]:
        with self._lock:
            return [r for s in sorted(self._subjects) for _, r in sorted(self._subjects[s].items())]

    def latest_version_number(self, subject: str) -> int:
        """The highest version the subject ever had that is still kept, live or soft deleted (0: none)."""
        with self._lock:
            return max(self._subjects.get(subject, {}), default=0)

    def compatibility(self, subject: str | None) -> str | None:
        with self._lock:
            return self._configs.get(subject)

    def mode(self, subject: str | None) -> str | None:
        with self._lock:
            return self._modes.get(subject)

    @property
    def max_id(self) -> int:
        with self._lock:
            return self._max_id


def _put(table: dict[str | None, str], subject: str | None, value: str | None) -> None:
    if value is None:
        table.pop(subject, None)
    else:
        table[subject] = value
