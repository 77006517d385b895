"""Debezium-style change events: the key, row, source and envelope schemas of one captured table, and the records.

For a table ``public.orders`` under ``topic.prefix`` ``shop`` the topic is ``shop.public.orders``; the key is a
struct of the primary-key columns (``shop.public.orders.Key``; no key for a table without one); the value is the
envelope ``shop.public.orders.Envelope`` with ``before`` and ``after`` rows (``…Value``), ``source`` (where the change
happened: connector, database, schema, table, LSN, transaction id, commit time, snapshot flag), ``op`` (``r``
snapshot read, ``c`` insert, ``u`` update, ``d`` delete) and ``ts_ms`` (when Hub processed it). A delete is followed
by a tombstone (the key with no value) so compacted topics forget the row.

Row fields other than the key columns are optional: a delete under PostgreSQL's default replica identity carries
only the key in ``before``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from connectors.jdbc.column_schemas import ColumnMapping, Convert, same
from hub.sdk import SourceRecord, Struct
from hub.sdk.records import NO_HEADERS
from hub.sdk.schema import INT64_SCHEMA, OPTIONAL_INT64_SCHEMA, STRING_SCHEMA, Schema, Type, struct_schema

CONNECTOR_NAME = "postgresql"

SOURCE_SCHEMA = struct_schema(
    [
        ("version", STRING_SCHEMA),
        ("connector", STRING_SCHEMA),
        ("name", STRING_SCHEMA),
        ("ts_ms", INT64_SCHEMA),
        ("snapshot", Schema(Type.STRING, optional=True, default="false")),
        ("db", STRING_SCHEMA),
        ("schema", STRING_SCHEMA),
        ("table", STRING_SCHEMA),
        ("txId", OPTIONAL_INT64_SCHEMA),
        ("lsn", OPTIONAL_INT64_SCHEMA),
    ],
    name="io.debezium.connector.postgresql.Source",
)


@dataclass(frozen=True)
class TableEvents:
    """Schemas and record builders of one captured table (rebuilt when its columns change)."""

    topic: str
    schema: str
    table: str
    mappings: tuple[ColumnMapping, ...]
    key_columns: tuple[str, ...]
    key_schema: Schema | None
    row_schema: Schema
    envelope_schema: Schema

    @classmethod
    def build(
        cls, prefix: str, schema: str, table: str, mappings: Sequence[ColumnMapping], key_columns: Sequence[str]
    ) -> TableEvents:
        base = f"{prefix}.{schema}.{table}"
        keys = set(key_columns)
        row_fields = [(m.name, m.schema if m.name in keys else m.schema.as_optional()) for m in mappings]
        row_schema = struct_schema(row_fields, name=f"{base}.Value", optional=True)
        key_fields = [(m.name, m.schema.as_required()) for m in mappings if m.name in keys]
        key_schema = struct_schema(key_fields, name=f"{base}.Key") if key_fields else None
        envelope = struct_schema(
            [
                ("before", row_schema),
                ("after", row_schema),
                ("source", SOURCE_SCHEMA),
                ("op", STRING_SCHEMA),
                ("ts_ms", OPTIONAL_INT64_SCHEMA),
            ],
            name=f"{base}.Envelope",
        )
        return cls(base, schema, table, tuple(mappings), tuple(key_columns), key_schema, row_schema, envelope)

    def row(self, values: Sequence[Any]) -> Struct:
        """The row struct of driver values in column order."""
        converted = list(values)
        for index, convert in self.conversions:
            converted[index] = convert(converted[index])
        return Struct.from_values(self.row_schema, converted)

    def key(self, values: Sequence[Any]) -> Struct | None:
        if self.key_schema is None:
            return None
        return Struct.from_values(self.key_schema, [self.mappings[i].convert(values[i]) for i in self.key_indexes])

    @cached_property
    def conversions(self) -> list[tuple[int, Convert]]:
        return [(i, m.convert) for i, m in enumerate(self.mappings) if m.convert is not same]

    @cached_property
    def key_indexes(self) -> list[int]:
        return [i for i, m in enumerate(self.mappings) if m.name in self.key_columns]


@dataclass(frozen=True)
class Source:
    """Where a change happened (the ``source`` block and the record's offset)."""

    server: str
    database: str
    version: str
    commit_ms: int
    snapshot: str  # "true", "last" or "false"
    tx_id: int | None
    lsn: int | None

    def block(self, events: TableEvents) -> Struct:
        """The ``source`` struct of a change of ``events``' table (share it between the records of one batch)."""
        return Struct.from_values(
            SOURCE_SCHEMA,
            [
                self.version,
                CONNECTOR_NAME,
                self.server,
                self.commit_ms,
                self.snapshot,
                self.database,
                events.schema,
                events.table,
                self.tx_id,
                self.lsn,
            ],
        )


@dataclass(frozen=True)
class Origin:
    """Where a connector's changes come from: the logical server name (``topic.prefix``), the database, the
    connector's version, and the source partition of its offsets (one shared mapping)."""

    server: str
    database: str
    version: str
    partition: Mapping[str, Any]

    def source(self, commit_ms: int, snapshot: str, tx_id: int | None, lsn: int | None) -> Source:
        return Source(self.server, self.database, self.version, commit_ms, snapshot, tx_id, lsn)


def read_records(
    events: TableEvents,
    rows: Sequence[Sequence[Any]],
    source: Source,
    block: Struct,
    partition: Mapping[str, Any],
    offset: Mapping[str, Any],
    now_ms: int,
) -> list[SourceRecord]:
    """Snapshot reads (op ``r``) of many rows of one table, as ``change_records`` makes them one by one, in a
    single pass that shares the per-table lookups (a snapshot makes one record per row of the database)."""
    row_schema, envelope_schema, key_schema, topic = (
        events.row_schema,
        events.envelope_schema,
        events.key_schema,
        events.topic,
    )
    conversions, key_indexes, commit_ms = events.conversions, events.key_indexes, source.commit_ms
    from_values = Struct.from_values
    [only_key] = key_indexes if len(key_indexes) == 1 else [-1]  # the usual single-column key: no list building
    records: list[SourceRecord] = []
    append = records.append
    for values in rows:
        row = list(values)
        for index, convert in conversions:
            row[index] = convert(row[index])
        if key_schema is None:
            key = None
        else:
            key = from_values(key_schema, [row[only_key]] if only_key >= 0 else [row[index] for index in key_indexes])
        envelope = from_values(envelope_schema, [None, from_values(row_schema, row), block, "r", now_ms])
        append(
            SourceRecord(
                topic, envelope, envelope_schema, key, key_schema, None, commit_ms, NO_HEADERS, partition, offset
            )
        )
    return records


def change_records(
    events: TableEvents,
    op: str,
    before: Sequence[Any] | None,
    after: Sequence[Any] | None,
    source: Source,
    partition: Mapping[str, Any],
    offset: Mapping[str, Any],
    tombstone_on_delete: bool,
    now_ms: int,
    block: Struct | None = None,
) -> list[SourceRecord]:
    """The change event (and, for a delete, its tombstone); ``before``/``after`` are driver values in column order,
    ``now_ms`` the processing time, ``block`` the source struct when the caller built it already."""
    key = events.key(after if after is not None else before or ())
    source_struct = block if block is not None else source.block(events)
    envelope = Struct.from_values(
        events.envelope_schema,
        [
            events.row(before) if before is not None else None,
            events.row(after) if after is not None else None,
            source_struct,
            op,
            now_ms,
        ],
    )

    def record(value: Struct | None) -> SourceRecord:
        return SourceRecord(
            topic=events.topic,
            key=key,
            key_schema=events.key_schema,
            value=value,
            value_schema=events.envelope_schema if value is not None else None,
            timestamp=source.commit_ms,
            source_partition=partition,
            source_offset=offset,
        )

    records = [record(envelope)]
    if op == "d" and tombstone_on_delete:
        records.append(record(None))
    return records
