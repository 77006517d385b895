"""PostgresCdcSource: PostgreSQL change data capture through a logical replication slot, with Debezium's option
names, topics and change events, so Debezium's PostgreSQL connector configs run unchanged (for what Hub supports).

How it reads:

- **Slot and publication.** On start the task creates the replication slot (``slot.name``, plugin ``pgoutput``)
  and the publication (``publication.name``; ``publication.autocreate.mode`` all_tables | filtered | disabled) when
  they do not exist (``database``). Deleting the connector drops both (the publication only when Hub may create
  it).
- **Snapshot.** With ``snapshot.mode`` initial (no stored offset, or an unfinished snapshot), always, or when_needed
  (also when the slot had to be created again), every captured table is read first as ``op=r`` events
  (``snapshot``).
- **Streaming.** Then changes are peeked from the slot, which is advanced only past transactions whose records
  are all stored, so nothing is lost or read twice across restarts; idle tables do not pin WAL, and heartbeats
  are sent when asked (``stream``).

Tables without a primary key have no record key; their updates and deletes need ``REPLICA IDENTITY FULL``
(PostgreSQL refuses them otherwise once the table is in a publication). Truncates are not propagated (logged).
Values of large (TOASTed) columns an UPDATE did not change are not in the WAL; they are sent as
``unavailable.value.placeholder`` (text columns) or null.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from connectors.jdbc.cdc.change_events import Origin
from connectors.jdbc.cdc.config import CONFIG, DECIMAL_MODES, parse
from connectors.jdbc.cdc.database import (
    captured_tables,
    catalog_engine,
    connect,
    connection_problem_key,
    drop_slot,
    ensure_publication,
    ensure_slot,
    release_replication,
    row_estimate,
)
from connectors.jdbc.cdc.pgoutput import lsn_text
from connectors.jdbc.cdc.snapshot import Snapshot, wants_snapshot
from connectors.jdbc.cdc.stream import ChangeStream
from connectors.jdbc.cdc.tables import CapturedTables
from connectors.jdbc.connection import CHECK_TIMEOUT_S, database_message
from hub.sdk import ConfigDef, ExactlyOnceSupport, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConfigError, ConnectorError

log = logging.getLogger(__name__)


class PostgresCdcSourceConnector(SourceConnector):
    """One task per connector (a slot has one reader); deleting the connector drops its slot and publication."""

    aliases = ("io.debezium.connector.postgresql.PostgresConnector", "PostgresCdcSource")

    def config_def(self) -> ConfigDef:
        return CONFIG

    def exactly_once_support(self, config: dict[str, str]) -> ExactlyOnceSupport:
        """SUPPORTED, as Debezium's: a task resumed from its committed offset (an LSN) reads the changes after it,
        in WAL order, and the slot is never advanced past a committed offset."""
        return ExactlyOnceSupport.SUPPORTED

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The checks that span options, then a login to the database (as Debezium's ``validateConnection``): a
        refused login on ``database.password``, a missing database on ``database.dbname``, anything else (an
        unreachable host) on ``database.hostname``."""
        try:
            settings = parse(config)
        except ConfigError as exc:
            return exc.errors
        where = f"{settings['database.hostname']}:{settings['database.port']}/{settings['database.dbname']}"
        try:
            with connect(settings, timeout_s=CHECK_TIMEOUT_S) as connection:
                connection.execute("SELECT 1")
        except (ConnectorError, psycopg.Error) as exc:
            cause = exc.__cause__ or exc
            problem = f"cannot connect to PostgreSQL at {where}: {database_message(cause)}"
            return {connection_problem_key(cause): [problem]}
        return {}

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)
        self.settings = parse(config)

    def task_class(self) -> type[SourceTask]:
        return PostgresCdcSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release: the task holds the connections."""

    def on_delete(self) -> None:
        release_replication(self.settings)


class PostgresCdcSourceTask(SourceTask):
    """Snapshots, then streams changes from the slot (see the module docstring).

    ``poll`` and ``stop`` hold one lock: they share the task's connection and the stream's state.
    """

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = parse(config)
        self.name = config.get("name", "postgres-cdc")
        self.slot: str = settings["slot.name"]
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._engine = catalog_engine(settings)
        self._snapshot: Snapshot | None = None
        self.conn = connect(settings)
        prefix: str = settings["topic.prefix"]
        origin = Origin(prefix, self.conn.info.dbname, self.version(), {"server": prefix})
        self._tables = CapturedTables(self._engine, prefix, DECIMAL_MODES[settings["decimal.handling.mode"]])
        self._origin = origin
        self._stream = ChangeStream(settings, self.conn, self._tables, origin, self._stopped, self.name)
        tables = captured_tables(self.conn, settings)
        ensure_publication(self.conn, settings, tables)
        created, slot_lsn = ensure_slot(self.conn, self.slot, self.name)
        self._stream.confirmed_lsn = slot_lsn
        stored = self.context.offset_reader.offset(origin.partition)
        if wants_snapshot(settings["snapshot.mode"], stored, created):
            self._snapshot = Snapshot.begin(settings, tables, slot_lsn, lambda table: row_estimate(self.conn, table))
        after = " after a snapshot" if self._snapshot else ""
        log.info(
            "task %s: capturing %d table(s) from slot %s at %s%s",
            self.name,
            len(tables),
            self.slot,
            lsn_text(slot_lsn),
            after,
        )

    def progress(self) -> dict[str, Any]:
        """While snapshotting: rows read of the estimated total; while streaming: bytes of WAL not yet confirmed."""
        if self._snapshot is not None:
            return self._snapshot.progress()
        return {"phase": "streaming", "lag_bytes": self._stream.lag_bytes()}

    def poll(self) -> Sequence[SourceRecord]:
        with self._lock:
            if self._stopped.is_set():
                return []
            try:
                if self._snapshot is not None:
                    return self._poll_snapshot(self._snapshot)
                if self.settings["snapshot.mode"] == "initial_only":
                    self._stopped.wait(1.0)
                    return []
                return self._stream.poll()
            except psycopg.OperationalError as exc:
                self._stream.close_peek()
                raise ConnectorError(
                    f"task {self.name}: lost the database connection: {database_message(exc)}"
                ) from exc

    def _poll_snapshot(self, snapshot: Snapshot) -> list[SourceRecord]:
        rows = snapshot.next_rows(self.settings["max.batch.size"], self.settings["snapshot.fetch.size"], self.name)
        if rows is None:
            self._snapshot = None
            return []
        return snapshot.records(self._tables, rows, self._origin)

    def commit_record(self, record: SourceRecord, metadata: Any | None) -> None:
        self._stream.commit_record(record)

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self._stream.close()
            try:
                self._stream.advance()  # what was stored while the last poll ran
            except psycopg.Error as exc:
                log.warning("task %s: cannot confirm the last changes to slot %s: %s", self.name, self.slot, exc)
            if self._snapshot is not None:
                self._snapshot.close()
            if self.settings["slot.drop.on.stop"]:
                drop_slot(self.conn, self.slot)
            self.conn.close()
            self._engine.dispose()
