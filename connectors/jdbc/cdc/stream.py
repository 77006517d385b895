"""PostgresCdcSource's streaming phase: changes peeked from the replication slot, decoded into change events, and
the slot advanced as their records are stored.

Changes are read with ``pg_logical_slot_peek_binary_changes`` — the SQL interface to logical decoding, which
psycopg 3 supports (it has no replication-protocol API); a peek does not consume, so nothing is lost if Hub dies.
Each peek reads whole transactions, up to the WAL position read just before it, through a server-side cursor.

Invariant: the slot is advanced (``pg_replication_slot_advance``) to a transaction's end only after every record of
it was acknowledged (``commit_record``), so the slot is the source of truth for where to resume: an acknowledged
change is never read twice and an unacknowledged one never skipped. While records of earlier transactions are in
flight no new peek starts.

When a peek finds nothing for the captured tables the slot is advanced to the position read before it, so an idle
table never pins WAL; while idle (``poll.interval.ms`` between peeks) heartbeat records go to
``<heartbeat.topics.prefix>.<topic.prefix>`` every ``heartbeat.interval.ms`` and ``heartbeat.action.query`` runs.

Not thread-safe: the task calls ``poll``, ``advance`` and ``close`` under its lock. ``commit_record`` runs on the
thread that stores records and only decrements a transaction's counter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.adapt import Transformer
from psycopg.pq import Format

from connectors.jdbc.cdc.change_events import Origin, TableEvents, change_records
from connectors.jdbc.cdc.config import is_captured
from connectors.jdbc.cdc.database import advance_slot, connect, current_wal_lsn
from connectors.jdbc.cdc.pgoutput import (
    UNCHANGED_TOAST,
    Begin,
    Commit,
    Delete,
    Insert,
    Relation,
    Truncate,
    Update,
    decode,
    lsn_int,
    lsn_text,
)
from connectors.jdbc.cdc.tables import CapturedTables
from hub.sdk import SourceRecord, Struct
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA, Type, struct_schema

log = logging.getLogger(__name__)

HEARTBEAT_KEY_SCHEMA = struct_schema([("serverName", STRING_SCHEMA)], name="io.debezium.connector.common.ServerNameKey")
HEARTBEAT_VALUE_SCHEMA = struct_schema([("ts_ms", INT64_SCHEMA)], name="io.debezium.connector.common.Heartbeat")
_OPS = {Insert: "c", Update: "u", Delete: "d"}


@dataclass
class _Pending:
    """Records of one transaction not yet acknowledged, and its end LSN once its commit was read."""

    outstanding: int = 0
    end_lsn: int | None = None


class ChangeStream:
    """Reads the slot from ``confirmed_lsn`` on; ``connection`` (autocommit) advances the slot and runs heartbeat
    queries, the peeks use a connection of their own."""

    def __init__(
        self,
        settings: dict[str, Any],
        connection: psycopg.Connection[Any],
        tables: CapturedTables,
        origin: Origin,
        stopped: threading.Event,
        task: str,
    ) -> None:
        self.settings = settings
        self.slot: str = settings["slot.name"]
        self.confirmed_lsn = 0  # the slot's position, set by the task once it knows it
        self._conn = connection
        self._tables = tables
        self._origin = origin
        self._stopped = stopped
        self._task = task
        self._transformer = Transformer(connection)
        self._relations: dict[int, tuple[Relation, TableEvents | None]] = {}
        self._pending: dict[int, _Pending] = {}
        self._transaction: Begin | None = None
        self._peek: psycopg.Connection[Any] | None = None
        self._peek_cursor: psycopg.ServerCursor[Any] | None = None
        self._peek_upto = 0
        self._peek_found = False
        self._idle_until = 0.0
        self._last_heartbeat = time.monotonic()

    def poll(self) -> list[SourceRecord]:
        """The change events of the next ``max.batch.size`` WAL messages; heartbeats, or nothing, while idle."""
        if self._peek_cursor is None:
            self.advance()
            if any(p.outstanding for p in self._pending.values()):
                self._stopped.wait(0.005)  # wait for the records in flight before reading on
                return []
            if time.monotonic() < self._idle_until:
                self._stopped.wait(min(0.1, self._idle_until - time.monotonic()))
                return self._heartbeat()
            self._open_peek()
        assert self._peek_cursor is not None
        rows = self._peek_cursor.fetchmany(self.settings["max.batch.size"])
        records: list[SourceRecord] = []
        for lsn, xid, data in rows:
            records += self._on_message(lsn_int(lsn), int(xid), bytes(data))
        self._peek_found = self._peek_found or bool(rows)
        if len(rows) < self.settings["max.batch.size"]:
            self.close_peek()
            if not self._peek_found:
                self._on_idle()
        return records

    def lag_bytes(self) -> int:
        """Bytes of WAL the slot has not confirmed."""
        return max(0, current_wal_lsn(self._conn) - self.confirmed_lsn)

    # --- peeking ------------------------------------------------------------------------------------------------

    def _open_peek(self) -> None:
        self._peek = self._peek or connect(self.settings, autocommit=False)
        self._peek_upto = current_wal_lsn(self._peek)
        cursor = self._peek.cursor(name="hub_peek")
        cursor.itersize = self.settings["max.batch.size"]
        cursor.execute(
            "SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_binary_changes("
            "%s, %s::pg_lsn, NULL, 'proto_version', '1', 'publication_names', %s)",
            (self.slot, lsn_text(self._peek_upto), self.settings["publication.name"]),
        )
        self._peek_cursor = cursor
        self._peek_found = False

    def close_peek(self) -> None:
        """Ends the peek in progress (the next poll peeks again from the slot's position)."""
        if self._peek_cursor is not None:
            try:
                self._peek_cursor.close()
                assert self._peek is not None
                self._peek.rollback()  # releases the slot
            except psycopg.Error:
                self._drop_peek_connection()
            self._peek_cursor = None

    def close(self) -> None:
        """Ends the peek and closes its connection."""
        self.close_peek()
        self._drop_peek_connection()

    def _drop_peek_connection(self) -> None:
        if self._peek is not None:
            self._peek.close()
            self._peek = None

    def _on_idle(self) -> None:
        """Nothing for the captured tables up to the WAL position read before the peek: let the slot move there."""
        if not self._pending and self._peek_upto > self.confirmed_lsn:
            self._advance_to(self._peek_upto)
        self._idle_until = time.monotonic() + self.settings["poll.interval.ms"] / 1000

    def _heartbeat(self) -> list[SourceRecord]:
        interval = self.settings["heartbeat.interval.ms"]
        if not interval or time.monotonic() - self._last_heartbeat < interval / 1000:
            return []
        self._last_heartbeat = time.monotonic()
        query = self.settings["heartbeat.action.query"]
        if query:
            self._conn.execute(query)
        now_ms = int(time.time() * 1000)
        server = self._origin.server
        return [
            SourceRecord(
                topic=f"{self.settings['heartbeat.topics.prefix']}.{server}",
                key=Struct(HEARTBEAT_KEY_SCHEMA, {"serverName": server}),
                key_schema=HEARTBEAT_KEY_SCHEMA,
                value=Struct(HEARTBEAT_VALUE_SCHEMA, {"ts_ms": now_ms}),
                value_schema=HEARTBEAT_VALUE_SCHEMA,
                source_partition=self._origin.partition,
                source_offset={"lsn": self.confirmed_lsn, "ts_usec": now_ms * 1000},
            )
        ]

    # --- decoding -----------------------------------------------------------------------------------------------

    def _on_message(self, lsn: int, xid: int, data: bytes) -> list[SourceRecord]:
        message = decode(data)
        if isinstance(message, Begin):
            self._transaction = message
            self._pending.setdefault(message.final_lsn, _Pending())
        elif isinstance(message, Commit):
            self._pending.setdefault(message.commit_lsn, _Pending()).end_lsn = message.end_lsn
            self._transaction = None
        elif isinstance(message, Relation):
            captured = is_captured(self.settings, message.schema, message.table)
            columns = [c.name for c in message.columns]
            events = self._tables.events(message.schema, message.table, columns) if captured else None
            self._relations[message.relation_id] = (message, events)
        elif isinstance(message, Insert | Update | Delete):
            return self._change(message, lsn)
        elif isinstance(message, Truncate):
            relations = (self._relations.get(i, (None, None)) for i in message.relation_ids)
            names = [f"{r.schema}.{r.table}" for r, e in relations if r is not None and e is not None]
            if names:
                log.warning("task %s: TRUNCATE of %s is not propagated", self._task, ", ".join(names))
        return []

    def _change(self, message: Insert | Update | Delete, lsn: int) -> list[SourceRecord]:
        relation, events = self._relations.get(message.relation_id, (None, None))
        if relation is None:
            raise ConnectorError(f"change for unknown relation {message.relation_id} at {lsn_text(lsn)}")
        if events is None or self._transaction is None:
            return []
        op = _OPS[type(message)]
        if op in self.settings["skipped.operations"]:
            return []
        before = after = None
        if isinstance(message, Insert):
            after = self._values(relation, message.new)
        elif isinstance(message, Update):
            after = self._values(relation, message.new)
            before = self._values(relation, message.old) if message.old is not None else None
        else:
            before = self._values(relation, message.old)
        txn = self._transaction
        source = self._origin.source(txn.commit_micros // 1000, "false", txn.xid, lsn)
        offset = {"lsn": lsn, "lsn_commit": txn.final_lsn, "txId": txn.xid, "ts_usec": txn.commit_micros}
        tombstones = self.settings["tombstones.on.delete"]
        now_ms = int(time.time() * 1000)
        records = change_records(events, op, before, after, source, self._origin.partition, offset, tombstones, now_ms)
        self._pending[txn.final_lsn].outstanding += len(records)
        return records

    def _values(self, relation: Relation, values: Sequence[Any]) -> list[Any]:
        """Python values of a WAL tuple, in column order (loaded from PostgreSQL's text form by type)."""
        out: list[Any] = []
        placeholder = self.settings["unavailable.value.placeholder"]
        schemas = self._tables.column_schemas(relation.schema, relation.table)
        for column, raw in zip(relation.columns, values, strict=True):
            if raw is UNCHANGED_TOAST:
                schema = schemas.get(column.name)
                out.append(placeholder if schema is not None and schema.type is Type.STRING else None)
            elif raw is None:
                out.append(None)
            else:
                assert isinstance(raw, bytes)
                out.append(self._transformer.get_loader(column.type_oid, Format.TEXT).load(raw))
        return out

    # --- acknowledgements and the slot --------------------------------------------------------------------------

    def commit_record(self, record: SourceRecord) -> None:
        """Counts a stored record of a change against its transaction."""
        commit_lsn = record.source_offset.get("lsn_commit")
        if commit_lsn is not None and commit_lsn in self._pending:
            self._pending[commit_lsn].outstanding -= 1

    def advance(self) -> None:
        """Moves the slot past every transaction whose records are all stored."""
        target = None
        for commit_lsn in sorted(self._pending):
            pending = self._pending[commit_lsn]
            if pending.outstanding > 0 or pending.end_lsn is None:
                break
            target = pending.end_lsn
            del self._pending[commit_lsn]
        if target is not None and target > self.confirmed_lsn:
            self._advance_to(target)

    def _advance_to(self, lsn: int) -> None:
        advance_slot(self._conn, self.slot, lsn)
        self.confirmed_lsn = lsn
