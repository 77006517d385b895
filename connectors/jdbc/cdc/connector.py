"""PostgresCdcSource: PostgreSQL change data capture through a logical replication slot, with Debezium's option
names, topics and change events, so Debezium's PostgreSQL connector configs run unchanged (for what Hub supports).

How it reads:

- **Slot and publication.** On start the task creates the replication slot (``slot.name``, plugin ``pgoutput``)
  and the publication (``publication.name``; ``publication.autocreate.mode`` all_tables | filtered | disabled) when
  they do not exist. Deleting the connector drops both (the publication only when Hub may create it).
- **Snapshot.** With ``snapshot.mode`` initial (no stored offset, or an unfinished snapshot), always, or when_needed
  (also when the slot had to be created again), every captured table is read in one REPEATABLE READ transaction
  started right after the slot exists, through a server-side cursor (bounded memory), as ``op=r`` events.
  Changes committed between the slot's creation and the snapshot's start are read again by the stream afterwards;
  they come after the snapshot rows, so each row's last event is its newest state.
- **Streaming.** Changes are read with ``pg_logical_slot_peek_binary_changes`` — the SQL interface to logical
  decoding, which psycopg 3 supports (it has no replication-protocol API); a peek does not consume, so nothing is
  lost if Hub dies. Each peek reads whole transactions through a cursor; the slot is advanced
  (``pg_replication_slot_advance``) to a transaction's end only after every record of it is stored in its topic,
  so the slot is the source of truth for where to resume, and an acknowledged change is never read twice and an
  unacknowledged one never skipped. The price of the SQL interface is a poll (``poll.interval.ms``) instead of a push.
- **Idle tables.** When a peek finds nothing for the captured tables, the slot is advanced to the WAL position read
  before the peek, so an idle table never pins WAL; ``heartbeat.interval.ms`` also sends heartbeat records to
  ``<heartbeat.topics.prefix>.<topic.prefix>`` and ``heartbeat.action.query`` runs a statement of the user's.

Tables without a primary key have no record key; their updates and deletes need ``REPLICA IDENTITY FULL``
(PostgreSQL refuses them otherwise once the table is in a publication). Truncates are not propagated (logged).
Values of large (TOASTed) columns an UPDATE did not change are not in the WAL; they are sent as
``unavailable.value.placeholder`` (text columns) or null.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.adapt import Transformer
from psycopg.pq import Format

from connectors.jdbc.cdc.change_events import Source, TableEvents, change_records, read_records
from connectors.jdbc.column_schemas import ColumnMapping, column_mapping, value_mapping
from connectors.jdbc.connection import CHECK_TIMEOUT_S, database_message, login_refused
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
from hub.sdk import ConfigDef, ConfigType, Importance, SourceConnector, SourceRecord, SourceTask, Struct
from hub.sdk.config import Password
from hub.sdk.errors import ConfigError, ConnectorError
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA, Type, struct_schema

log = logging.getLogger(__name__)

SNAPSHOT_MODES = ("initial", "initial_only", "always", "no_data", "never", "when_needed")
DECIMAL_MODES = {"precise": "none", "double": "double", "string": "string"}
HEARTBEAT_KEY_SCHEMA = struct_schema([("serverName", STRING_SCHEMA)], name="io.debezium.connector.common.ServerNameKey")
HEARTBEAT_VALUE_SCHEMA = struct_schema([("ts_ms", INT64_SCHEMA)], name="io.debezium.connector.common.Heartbeat")
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")

CONFIG = (
    ConfigDef()
    .define("database.hostname", ConfigType.STRING, doc="PostgreSQL host.", importance=Importance.HIGH, non_empty=True)
    .define("database.port", ConfigType.INT, 5432, "PostgreSQL port.", minimum=1, maximum=65535)
    .define("database.user", ConfigType.STRING, doc="User with the REPLICATION attribute.", importance=Importance.HIGH)
    .define("database.password", ConfigType.PASSWORD, None, "Password of database.user.", importance=Importance.HIGH)
    .define("database.dbname", ConfigType.STRING, doc="Database to capture.", importance=Importance.HIGH)
    .define(
        "database.sslmode",
        ConfigType.STRING,
        "prefer",
        "libpq sslmode.",
        choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    )
    .define(
        "topic.prefix",
        ConfigType.STRING,
        doc="Topic prefix and logical server name.",
        importance=Importance.HIGH,
        pattern=r"[A-Za-z0-9._-]+",
    )
    .define("table.include.list", ConfigType.LIST, [], "Regexes on schema.table of the tables to capture.")
    .define("table.exclude.list", ConfigType.LIST, [], "Regexes on schema.table of tables not to capture.")
    .define("schema.include.list", ConfigType.LIST, [], "Regexes on schema names to capture.")
    .define("schema.exclude.list", ConfigType.LIST, [], "Regexes on schema names not to capture.")
    .define(
        "plugin.name",
        ConfigType.STRING,
        "pgoutput",
        "Logical decoding plugin (pgoutput, built into PostgreSQL 10+).",
        choices=("pgoutput",),
    )
    .define(
        "slot.name", ConfigType.STRING, "debezium", "Replication slot; one per connector.", pattern=r"[a-z0-9_]{1,63}"
    )
    .define("slot.drop.on.stop", ConfigType.BOOLEAN, False, "Drop the slot whenever the task stops (tests only).")
    .define("publication.name", ConfigType.STRING, "dbz_publication", "Publication pgoutput reads.")
    .define(
        "publication.autocreate.mode",
        ConfigType.STRING,
        "all_tables",
        "Create the publication for all tables, for the captured ones (filtered), or never (disabled).",
        choices=("all_tables", "filtered", "disabled"),
    )
    .define(
        "snapshot.mode",
        ConfigType.STRING,
        "initial",
        "When to read the tables' current rows first.",
        choices=SNAPSHOT_MODES,
    )
    .define(
        "snapshot.fetch.size",
        ConfigType.INT,
        10240,
        "Rows fetched per round trip while snapshotting.",
        minimum=1,
    )
    .define("max.batch.size", ConfigType.INT, 2048, "Most events returned by one poll.", minimum=1)
    .define("poll.interval.ms", ConfigType.LONG, 500, "Wait between peeks when no change is pending.", minimum=1)
    .define("heartbeat.interval.ms", ConfigType.INT, 0, "Send a heartbeat record this often (0: off).", minimum=0)
    .define("heartbeat.topics.prefix", ConfigType.STRING, "__debezium-heartbeat", "Prefix of the heartbeat topic.")
    .define("heartbeat.action.query", ConfigType.STRING, None, "SQL run at every heartbeat.")
    .define("tombstones.on.delete", ConfigType.BOOLEAN, True, "Follow each delete event with a tombstone.")
    .define("skipped.operations", ConfigType.LIST, ["t"], "Operations not sent: c, u, d (t is never sent), or none.")
    .define(
        "decimal.handling.mode",
        ConfigType.STRING,
        "precise",
        "NUMERIC as Connect Decimal (precise), FLOAT64 (double) or text (string).",
        choices=tuple(DECIMAL_MODES),
    )
    .define(
        "time.precision.mode",
        ConfigType.STRING,
        "connect",
        "Temporal values as Connect's logical types.",
        choices=("connect",),
    )
    .define(
        "unavailable.value.placeholder",
        ConfigType.STRING,
        "__debezium_unavailable_value",
        "Sent for unchanged large text values an update does not carry.",
    )
    .unsupported("column.include.list", "use the ReplaceField transform")
    .unsupported("column.exclude.list", "use the ReplaceField transform")
    .unsupported("message.key.columns", "use the ValueToKey transform")
    .unsupported("signal.data.collection", "incremental snapshots are not implemented; use snapshot.mode=always")
    .unsupported("incremental.snapshot.chunk.size", "incremental snapshots are not implemented")
    .unsupported("provide.transaction.metadata", "transaction metadata topics are not implemented")
    .unsupported("snapshot.select.statement.overrides", "snapshots read whole tables")
    .unsupported("slot.failover", "failover slots (PostgreSQL 17) are not supported")
)


def parse(config: dict[str, str]) -> dict[str, Any]:
    settings = CONFIG.parse(config)
    skipped = {op.strip() for op in settings["skipped.operations"]} - {"none"}
    bad = skipped - {"c", "u", "d", "t"}
    if bad:
        raise ConfigError({"skipped.operations": [f"unknown operation(s) {', '.join(sorted(bad))}; use c, u, d, t"]})
    settings["skipped.operations"] = skipped | {"t"}
    return settings


def connect(settings: dict[str, Any], *, autocommit: bool = True, timeout_s: int = 10) -> psycopg.Connection[Any]:
    """A psycopg connection to the captured database."""
    password = settings["database.password"]
    try:
        return psycopg.connect(
            host=settings["database.hostname"],
            port=settings["database.port"],
            user=settings["database.user"],
            password=password.value if isinstance(password, Password) else None,
            dbname=settings["database.dbname"],
            sslmode=settings["database.sslmode"],
            autocommit=autocommit,
            connect_timeout=timeout_s,
            application_name="hub-postgres-cdc",
        )
    except psycopg.Error as exc:
        host = f"{settings['database.hostname']}:{settings['database.port']}/{settings['database.dbname']}"
        raise ConnectorError(f"cannot connect to PostgreSQL at {host}: {database_message(exc)}") from exc


def _engine(settings: dict[str, Any]) -> sa.Engine:
    """An engine for catalog reflection, over the same connection settings."""
    return sa.create_engine("postgresql+psycopg://", creator=lambda: connect(settings), poolclass=sa.pool.NullPool)


def captured_tables(connection: psycopg.Connection[Any], settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(schema, table) of every ordinary or partitioned table the include/exclude lists select, sorted."""
    rows = connection.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(%s) ORDER BY 1, 2",
        (list(_SYSTEM_SCHEMAS),),
    ).fetchall()
    return [(schema, table) for schema, table in rows if is_captured(settings, schema, table)]


def is_captured(settings: dict[str, Any], schema: str, table: str) -> bool:
    qualified = f"{schema}.{table}"

    def matches(key: str, name: str) -> bool:
        return any(re.fullmatch(pattern, name) for pattern in settings[key])

    if settings["schema.include.list"] and not matches("schema.include.list", schema):
        return False
    if matches("schema.exclude.list", schema):
        return False
    if settings["table.include.list"] and not matches("table.include.list", qualified):
        return False
    return not matches("table.exclude.list", qualified)


def _check_key(error: BaseException) -> str:
    """The option to fix for a connection that failed with ``error`` (see ``validate_connection``)."""
    if login_refused(error):
        return "database.password"
    text = str(error)
    if getattr(error, "sqlstate", None) == "3D000" or re.search(r'database ".*" does not exist', text):
        return "database.dbname"
    return "database.hostname"


class PostgresCdcSourceConnector(SourceConnector):
    """One task per connector (a slot has one reader); deleting the connector drops its slot and publication."""

    aliases = ("io.debezium.connector.postgresql.PostgresConnector", "PostgresCdcSource")

    def config_def(self) -> ConfigDef:
        return CONFIG

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
            return {_check_key(cause): [f"cannot connect to PostgreSQL at {where}: {database_message(cause)}"]}
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
        with connect(self.settings) as connection:
            drop_slot(connection, self.settings["slot.name"])
            if self.settings["publication.autocreate.mode"] != "disabled":
                name = self.settings["publication.name"]
                connection.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))
                log.info("connector %s: dropped publication %s", self.config.get("name"), name)


def drop_slot(connection: psycopg.Connection[Any], slot: str, attempts: int = 20) -> None:
    """Drops the slot, waiting for a reader that still holds it to let go."""
    for attempt in range(attempts):
        try:
            connection.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = %s AND database = current_database()",
                (slot,),
            )
            log.info("dropped replication slot %s", slot)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@dataclass
class _Snapshot:
    """The snapshot in progress: its transaction, the tables still to read and the table being read."""

    connection: psycopg.Connection[Any]
    tables: list[tuple[str, str]]
    lsn: int
    total: int = 0  # estimated rows of all tables
    done: int = 0
    cursor: psycopg.ServerCursor[Any] | None = None
    current: tuple[str, str] | None = None
    columns: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    """Records of one transaction not yet acknowledged, and its end LSN once its commit was read."""

    outstanding: int = 0
    end_lsn: int | None = None


class PostgresCdcSourceTask(SourceTask):
    """Snapshots, then streams changes from the slot (see the module docstring)."""

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = parse(config)
        self.name = config.get("name", "postgres-cdc")
        self.prefix: str = settings["topic.prefix"]
        self.slot: str = settings["slot.name"]
        self.partition = {"server": self.prefix}
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._numeric = DECIMAL_MODES[settings["decimal.handling.mode"]]
        self._engine = _engine(settings)
        self._events: dict[tuple[str, str], TableEvents] = {}
        self._relations: dict[int, tuple[Relation, TableEvents | None]] = {}
        self._pending: dict[int, _Pending] = {}
        self._confirmed = 0
        self._peek: psycopg.Connection[Any] | None = None
        self._peek_cursor: psycopg.ServerCursor[Any] | None = None
        self._peek_upto = 0
        self._transaction: Begin | None = None
        self._last_heartbeat = time.monotonic()
        self._idle_until = 0.0
        self._snapshot: _Snapshot | None = None
        self._peek_found = False
        self._version = self.version()
        self.conn = connect(settings)
        self.database: str = self.conn.info.dbname
        self._transformer = Transformer(self.conn)
        tables = captured_tables(self.conn, settings)
        self._ensure_publication(tables)
        created, slot_lsn = self._ensure_slot()
        self._confirmed = slot_lsn
        stored = self.context.offset_reader.offset(self.partition)
        if self._wants_snapshot(stored, created):
            self._start_snapshot(tables, slot_lsn)
        log.info("task %s: capturing %d table(s) from slot %s at %s%s", self.name, len(tables), self.slot,
                 lsn_text(slot_lsn), " after a snapshot" if self._snapshot else "")  # fmt: skip

    # --- slot, publication, snapshot decision -------------------------------------------------------------------

    def _ensure_publication(self, tables: Sequence[tuple[str, str]]) -> None:
        mode = self.settings["publication.autocreate.mode"]
        name = self.settings["publication.name"]
        exists = self.conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone()
        if mode == "disabled":
            if not exists:
                raise ConnectorError(f"publication {name} does not exist and publication.autocreate.mode=disabled")
            return
        table_list = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in tables)
        if mode == "all_tables" and not exists:
            self.conn.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(name)))
        elif mode == "filtered":
            if not tables:
                raise ConnectorError("publication.autocreate.mode=filtered but no table matches the include lists")
            verb = "ALTER PUBLICATION {} SET TABLE {}" if exists else "CREATE PUBLICATION {} FOR TABLE {}"
            self.conn.execute(sql.SQL(verb).format(sql.Identifier(name), table_list))

    def _ensure_slot(self) -> tuple[bool, int]:
        row = self.conn.execute(
            "SELECT plugin, confirmed_flush_lsn::text FROM pg_replication_slots "
            "WHERE slot_name = %s AND database = current_database()",
            (self.slot,),
        ).fetchone()
        if row is not None:
            if row[0] != "pgoutput":
                raise ConnectorError(f"replication slot {self.slot} uses plugin {row[0]}, not pgoutput")
            return False, lsn_int(row[1])
        try:
            created = self.conn.execute(
                "SELECT lsn::text FROM pg_create_logical_replication_slot(%s, 'pgoutput')", (self.slot,)
            ).fetchone()
        except psycopg.Error as exc:
            raise ConnectorError(f"cannot create replication slot {self.slot}: {database_message(exc)}") from exc
        assert created is not None
        log.info("task %s: created replication slot %s at %s", self.name, self.slot, created[0])
        return True, lsn_int(created[0])

    def _wants_snapshot(self, stored: Any, slot_created: bool) -> bool:
        mode = self.settings["snapshot.mode"]
        unfinished = bool(stored) and bool(stored.get("snapshot")) and not stored.get("last_snapshot_record")
        if mode in ("no_data", "never"):
            return False
        if mode == "always":
            return True
        if mode == "when_needed":
            return not stored or unfinished or slot_created
        return not stored or unfinished  # initial, initial_only

    def _start_snapshot(self, tables: list[tuple[str, str]], lsn: int) -> None:
        connection = connect(self.settings, autocommit=False)
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        self._snapshot = _Snapshot(connection, list(tables), lsn, total=sum(self._row_estimate(t) for t in tables))

    def _row_estimate(self, table: tuple[str, str]) -> int:
        """The planner's row count of a table (counted when the table was never analysed)."""
        row = self.conn.execute(
            "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            table,
        ).fetchone()
        if row is not None and row[0] >= 0:
            return int(row[0])
        counted = self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table))).fetchone()
        return int(counted[0]) if counted else 0

    def progress(self) -> dict[str, Any]:
        """While snapshotting: rows read of the estimated total; while streaming: bytes of WAL not yet confirmed."""
        snapshot = self._snapshot
        if snapshot is not None:
            table = ".".join(snapshot.current) if snapshot.current else ""
            total = max(snapshot.total, snapshot.done)
            return {"phase": "snapshot", "table": table, "done": snapshot.done, "total": total, "unit": "rows"}
        row = self.conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        lag = max(0, lsn_int(row[0]) - self._confirmed) if row else 0
        return {"phase": "streaming", "lag_bytes": lag}

    # --- table schemas --------------------------------------------------------------------------------------------

    def _table_events(self, schema: str, table: str, columns: Sequence[str] | None = None) -> TableEvents:
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
        events = TableEvents.build(self.prefix, schema, table, mappings, [k for k in keys if k in names])
        self._events[(schema, table)] = events
        return events

    # --- polling --------------------------------------------------------------------------------------------------

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
                return self._poll_stream()
            except psycopg.OperationalError as exc:
                self._close_peek()
                raise ConnectorError(
                    f"task {self.name}: lost the database connection: {database_message(exc)}"
                ) from exc

    def _poll_snapshot(self, snapshot: _Snapshot) -> list[SourceRecord]:
        batch = self.settings["max.batch.size"]
        while True:
            if snapshot.cursor is None:
                if not snapshot.tables:
                    snapshot.connection.close()
                    self._snapshot = None
                    log.info("task %s: snapshot finished", self.name)
                    return []
                snapshot.current = snapshot.tables.pop(0)
                cursor = snapshot.connection.cursor(name="hub_snapshot")
                cursor.itersize = self.settings["snapshot.fetch.size"]
                cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(*snapshot.current)))
                snapshot.cursor = cursor
                snapshot.columns = [column.name for column in cursor.description or ()]
                log.info("task %s: snapshot of %s.%s started", self.name, *snapshot.current)
            rows = snapshot.cursor.fetchmany(batch)
            if len(rows) < batch:
                snapshot.cursor.close()
                snapshot.cursor = None
            if rows:
                return self._snapshot_records(snapshot, snapshot.columns, rows)

    def _snapshot_records(
        self, snapshot: _Snapshot, columns: list[str], rows: Sequence[Sequence[Any]]
    ) -> list[SourceRecord]:
        assert snapshot.current is not None
        snapshot.done += len(rows)
        events = self._table_events(*snapshot.current, columns=columns)
        last_table = snapshot.cursor is None and not snapshot.tables
        now_ms = int(time.time() * 1000)
        source = Source(self.prefix, self.database, self._version, now_ms, "true", None, snapshot.lsn)
        block = source.block(events)
        offset = {"lsn": snapshot.lsn, "snapshot": True, "last_snapshot_record": False, "ts_usec": now_ms * 1000}
        records = read_records(events, rows, source, block, self.partition, offset, now_ms)
        if last_table:  # the snapshot's last record says so, in its source block and its offset
            last = replace(source, snapshot="last")
            final = {**offset, "last_snapshot_record": True}
            records[-1:] = change_records(events, "r", None, rows[-1], last, self.partition, final, False, now_ms)
        return records

    def _poll_stream(self) -> list[SourceRecord]:
        if self._peek_cursor is None:
            self._advance()
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
            self._close_peek()
            if not self._peek_found:
                self._on_idle()
        return records

    def _open_peek(self) -> None:
        self._peek = self._peek or connect(self.settings, autocommit=False)
        upto = self._peek.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert upto is not None
        self._peek_upto = lsn_int(upto[0])
        cursor = self._peek.cursor(name="hub_peek")
        cursor.itersize = self.settings["max.batch.size"]
        cursor.execute(
            "SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_binary_changes("
            "%s, %s::pg_lsn, NULL, 'proto_version', '1', 'publication_names', %s)",
            (self.slot, lsn_text(self._peek_upto), self.settings["publication.name"]),
        )
        self._peek_cursor = cursor
        self._peek_found = False

    def _close_peek(self) -> None:
        if self._peek_cursor is not None:
            try:
                self._peek_cursor.close()
                assert self._peek is not None
                self._peek.rollback()  # releases the slot
            except psycopg.Error:
                self._drop_peek_connection()
            self._peek_cursor = None

    def _drop_peek_connection(self) -> None:
        if self._peek is not None:
            self._peek.close()
            self._peek = None

    def _on_idle(self) -> None:
        """Nothing for the captured tables up to the WAL position read before the peek: let the slot move there."""
        if not self._pending and self._peek_upto > self._confirmed:
            self._advance_to(self._peek_upto)
        self._idle_until = time.monotonic() + self.settings["poll.interval.ms"] / 1000

    def _heartbeat(self) -> list[SourceRecord]:
        interval = self.settings["heartbeat.interval.ms"]
        if not interval or time.monotonic() - self._last_heartbeat < interval / 1000:
            return []
        self._last_heartbeat = time.monotonic()
        query = self.settings["heartbeat.action.query"]
        if query:
            self.conn.execute(query)
        now_ms = int(time.time() * 1000)
        return [
            SourceRecord(
                topic=f"{self.settings['heartbeat.topics.prefix']}.{self.prefix}",
                key=Struct(HEARTBEAT_KEY_SCHEMA, {"serverName": self.prefix}),
                key_schema=HEARTBEAT_KEY_SCHEMA,
                value=Struct(HEARTBEAT_VALUE_SCHEMA, {"ts_ms": now_ms}),
                value_schema=HEARTBEAT_VALUE_SCHEMA,
                source_partition=self.partition,
                source_offset={"lsn": self._confirmed, "ts_usec": now_ms * 1000},
            )
        ]

    # --- decoding -------------------------------------------------------------------------------------------------

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
            events = (
                self._table_events(message.schema, message.table, [c.name for c in message.columns])
                if captured
                else None
            )
            self._relations[message.relation_id] = (message, events)
        elif isinstance(message, Insert | Update | Delete):
            return self._change(message, lsn)
        elif isinstance(message, Truncate):
            names = [f"{r.schema}.{r.table}" for r, e in (self._relations.get(i, (None, None)) for i in
                     message.relation_ids) if r is not None and e is not None]  # fmt: skip
            if names:
                log.warning("task %s: TRUNCATE of %s is not propagated", self.name, ", ".join(names))
        return []

    def _change(self, message: Insert | Update | Delete, lsn: int) -> list[SourceRecord]:
        relation, events = self._relations.get(message.relation_id, (None, None))
        if relation is None:
            raise ConnectorError(f"change for unknown relation {message.relation_id} at {lsn_text(lsn)}")
        if events is None or self._transaction is None:
            return []
        op = {Insert: "c", Update: "u", Delete: "d"}[type(message)]
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
        source = Source(self.prefix, self.database, self._version, txn.commit_micros // 1000, "false", txn.xid, lsn)
        offset = {"lsn": lsn, "lsn_commit": txn.final_lsn, "txId": txn.xid, "ts_usec": txn.commit_micros}
        records = change_records(events, op, before, after, source, self.partition, offset,
                                 self.settings["tombstones.on.delete"], int(time.time() * 1000))  # fmt: skip
        self._pending[txn.final_lsn].outstanding += len(records)
        return records

    def _values(self, relation: Relation, values: Sequence[Any]) -> list[Any]:
        """Python values of a WAL tuple, in column order (loaded from PostgreSQL's text form by type)."""
        out: list[Any] = []
        placeholder = self.settings["unavailable.value.placeholder"]
        events = self._events.get((relation.schema, relation.table))
        schemas = {m.name: m.schema for m in events.mappings} if events else {}
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

    # --- acknowledgements and the slot ----------------------------------------------------------------------------

    def commit_record(self, record: SourceRecord, metadata: Any | None) -> None:
        commit_lsn = record.source_offset.get("lsn_commit")
        if commit_lsn is not None and commit_lsn in self._pending:
            self._pending[commit_lsn].outstanding -= 1

    def _advance(self) -> None:
        """Moves the slot past every transaction whose records are all stored."""
        target = None
        for commit_lsn in sorted(self._pending):
            pending = self._pending[commit_lsn]
            if pending.outstanding > 0 or pending.end_lsn is None:
                break
            target = pending.end_lsn
            del self._pending[commit_lsn]
        if target is not None and target > self._confirmed:
            self._advance_to(target)

    def _advance_to(self, lsn: int) -> None:
        try:
            self.conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (self.slot, lsn_text(lsn)))
        except psycopg.errors.UndefinedObject as exc:
            raise ConnectorError(f"replication slot {self.slot} was dropped while the connector ran") from exc
        self._confirmed = lsn

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self._close_peek()
            self._drop_peek_connection()
            try:
                self._advance()  # what was stored while the last poll ran
            except psycopg.Error as exc:
                log.warning("task %s: cannot confirm the last changes to slot %s: %s", self.name, self.slot, exc)
            if self._snapshot is not None:
                self._snapshot.connection.close()
            if self.settings["slot.drop.on.stop"]:
                drop_slot(self.conn, self.slot)
            self.conn.close()
            self._engine.dispose()
