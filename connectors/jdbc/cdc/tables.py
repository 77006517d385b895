"""The change-event schemas of the captured tables, built from the database's catalog and cached per table.

A table's events are rebuilt when the columns a WAL Relation message lists differ from the cached ones (the table
was altered); a column dropped since the change was written travels as its text. Used by the task's thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from connectors.jdbc.cdc.change_events import TableEvents
from connectors.jdbc.column_schemas import ColumnMapping, column_mapping, value_mapping
from hub.sdk.schema import Schema


class CapturedTables:
    """``TableEvents`` per (schema, table), reflected through ``engine`` on first use and after a schema change."""

    def __init__(self, engine: sa.Engine, prefix: str, numeric_mapping: str) -> None:
        self._engine = engine
        self._prefix = prefix
        self._numeric = numeric_mapping
        self._events: dict[tuple[str, str], TableEvents] = {}

    def events(self, schema: str, table: str, columns: Sequence[str] | None = None) -> TableEvents:
        """The events of a table; rebuilt from the catalog when ``columns`` (from the WAL) differ from the cached."""
        cached = self._events.get((schema, table))
        if cached is not None and (columns is None or [m.name for m in cached.mappings] == list(columns)):
            return cached
        inspector = sa.inspect(self._engine)
        reflected = {c["name"]: c for c in inspector.get_columns(table, schema=schema)}
        keys = inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
        names = list(columns) if columns is not None else list(reflected)
        mappings: list[ColumnMapping] = []
        for name in names:
            column = reflected.get(name)
            if column is None:  # dropped since this change was written: its text is all we know
                mappings.append(value_mapping(name, None))
            else:
                mappings.append(column_mapping(name, column["type"], True, self._numeric))
        events = TableEvents.build(self._prefix, schema, table, mappings, [k for k in keys if k in names])
        self._events[(schema, table)] = events
        return events

    def column_schemas(self, schema: str, table: str) -> dict[str, Schema]:
        """The Connect schema of each column of the cached events of a table (none before its first event)."""
        events = self._events.get((schema, table))
        return {m.name: m.schema for m in events.mappings} if events else {}
