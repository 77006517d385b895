"""PostgresCdcSource's snapshot: the captured tables' current rows, read as ``op=r`` events before streaming.

Every table is read in one REPEATABLE READ, READ ONLY transaction on a connection of its own, started right after
the slot exists, through a server-side cursor (``snapshot.fetch.size`` rows per round trip, so memory stays
bounded). Changes committed between the slot's creation and the snapshot's start are read again by the stream
afterwards; they come after the snapshot rows, so each row's last event is its newest state. The last record of
the snapshot says so in its source block (``snapshot=last``) and its offset (``last_snapshot_record``): a task stopped
before that record was stored snapshots again when it restarts (``snapshot.mode`` initial and when_needed).

Used by the task's thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from connectors.jdbc.cdc.change_events import Origin, change_records, read_records
from connectors.jdbc.cdc.database import connect
from connectors.jdbc.cdc.tables import CapturedTables
from hub.sdk import SourceRecord

log = logging.getLogger(__name__)


def wants_snapshot(mode: str, stored: Mapping[str, Any] | None, slot_created: bool) -> bool:
    """Whether ``snapshot.mode`` asks for a snapshot, given the stored offset and whether the slot is new."""
    unfinished = bool(stored and stored.get("snapshot") and not stored.get("last_snapshot_record"))
    if mode in ("no_data", "never"):
        return False
    if mode == "always":
        return True
    if mode == "when_needed":
        return not stored or unfinished or slot_created
    return not stored or unfinished  # initial, initial_only


@dataclass
class Snapshot:
    """The snapshot in progress: its transaction, the tables still to read and the table being read."""

    connection: psycopg.Connection[Any]
    tables: list[tuple[str, str]]
    lsn: int
    total: int = 0  # estimated rows of all tables
    done: int = 0
    cursor: psycopg.ServerCursor[Any] | None = None
    current: tuple[str, str] | None = None
    columns: list[str] = field(default_factory=list)

    @classmethod
    def begin(
        cls,
        settings: dict[str, Any],
        tables: Sequence[tuple[str, str]],
        lsn: int,
        estimate: Callable[[tuple[str, str]], int],
    ) -> Snapshot:
        """Opens the snapshot's transaction; ``estimate`` gives a table's row count for ``progress``."""
        connection = connect(settings, autocommit=False)
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return cls(connection, list(tables), lsn, total=sum(estimate(table) for table in tables))

    def next_rows(self, batch: int, fetch_size: int, task: str) -> Sequence[Sequence[Any]] | None:
        """Up to ``batch`` rows of the table being read, opening the next table's cursor when one ends; None once
        every table was read (the snapshot's connection is closed then)."""
        while True:
            if self.cursor is None:
                if not self.tables:
                    self.connection.close()
                    log.info("task %s: snapshot finished", task)
                    return None
                self.current = self.tables.pop(0)
                cursor = self.connection.cursor(name="hub_snapshot")
                cursor.itersize = fetch_size
                cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(*self.current)))
                self.cursor = cursor
                self.columns = [column.name for column in cursor.description or ()]
                log.info("task %s: snapshot of %s.%s started", task, *self.current)
            rows = self.cursor.fetchmany(batch)
            if len(rows) < batch:
                self.cursor.close()
                self.cursor = None
            if rows:
                return rows

    def records(self, tables: CapturedTables, rows: Sequence[Sequence[Any]], origin: Origin) -> list[SourceRecord]:
        """The read events of ``rows``, the rows ``next_rows`` returned last."""
        assert self.current is not None
        self.done += len(rows)
        events = tables.events(*self.current, columns=self.columns)
        last_table = self.cursor is None and not self.tables
        now_ms = int(time.time() * 1000)
        source = origin.source(now_ms, "true", None, self.lsn)
        block = source.block(events)
        offset = {"lsn": self.lsn, "snapshot": True, "last_snapshot_record": False, "ts_usec": now_ms * 1000}
        records = read_records(events, rows, source, block, origin.partition, offset, now_ms)
        if last_table:  # the snapshot's last record says so, in its source block and its offset
            last = replace(source, snapshot="last")
            final = {**offset, "last_snapshot_record": True}
            records[-1:] = change_records(events, "r", None, rows[-1], last, origin.partition, final, False, now_ms)
        return records

    def progress(self) -> dict[str, Any]:
        """Rows read of the estimated total, and the table being read."""
        table = ".".join(self.current) if self.current else ""
        total = max(self.total, self.done)
        return {"phase": "snapshot", "table": table, "done": self.done, "total": total, "unit": "rows"}

    def close(self) -> None:
        self.connection.close()
