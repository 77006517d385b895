"""PostgresDocumentSource: nested search documents (a root table with its children, described by one document of
a PGSync ``schema.json``) kept in step with PostgreSQL through a logical replication slot.

How it works (the design is defended in docs/architecture.md):

- **Create time.** Validation parses ``document.schema`` and resolves it against the database: a missing table or
  column, a table without a primary key, a wrong or ambiguous foreign key are refused before anything runs.
- **Start.** The tree's non-root tables get ``REPLICA IDENTITY FULL`` (a change's before image must name the
  parent it left); the publication (``filtered``: the tree's tables) and the slot are created when missing.
- **Initial sync.** Roots are read in key order, ``batch.size`` documents per query, each built by PostgreSQL in
  that query. The offset records the last key sent, so a restart goes on from there; changes made meanwhile wait
  in the slot, which was created first. The next page is read ahead on a thread and connection of its own while
  the runtime converts and stores the current one (PostgreSQL builds documents while Hub forwards them).
- **Streaming.** Changes are read from the slot as rows (``changes``); each batch's rows are mapped to the root keys
  they touch now and before (``builder.roots``), and those documents are rebuilt in one query and sent, keyed by
  document id; a root that no longer exists is sent as a tombstone (the sink deletes it). The slot moves past a
  transaction only once every document built from it is stored.

Why this converges: a rebuild runs after the change that triggered it was committed (logical decoding only
returns committed transactions) and reads the latest committed state, so the last document sent for a root is at
least as new as the last change that touched it; records of one id go to one partition in order, and the sink
writes one id's documents in order. A crash or redelivery only sends a document again, built from newer state.

One task per connector (a slot has one reader).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import count
from typing import Any

import psycopg
from psycopg import sql

from connectors.jdbc.cdc.change_events import Origin
from connectors.jdbc.cdc.config import CONFIG as CDC_CONFIG
from connectors.jdbc.cdc.database import (
    catalog_engine,
    connect,
    connection_problem_key,
    drop_slot,
    ensure_publication,
    ensure_slot,
    release_replication,
)
from connectors.jdbc.cdc.documents.builder import DocumentBuilder, Key, document_id, use_fast_json
from connectors.jdbc.cdc.documents.catalog import Tree, resolve
from connectors.jdbc.cdc.documents.changes import DocumentChangeStream, RowChange
from connectors.jdbc.cdc.documents.schema import SchemaError, load_document
from connectors.jdbc.cdc.tables import CapturedTables
from connectors.jdbc.connection import CHECK_TIMEOUT_S, database_message
from hub.sdk import ConfigDef, ConfigType, SourceConnector, SourceRecord, SourceTask
from hub.sdk.config import config_def
from hub.sdk.errors import ConfigError, ConnectorError
from hub.sdk.schema import STRING_SCHEMA

log = logging.getLogger(__name__)

_SHARED = {"database.hostname", "database.port", "database.user", "database.password", "database.dbname"}
_SHARED |= {"database.sslmode", "slot.name", "slot.drop.on.stop", "max.batch.size", "poll.interval.ms"}
CONFIG: ConfigDef = (
    config_def(key for key in CDC_CONFIG.keys if key.name in _SHARED)
    .define("document.schema", ConfigType.STRING, doc="One document of a PGSync schema.json, as JSON.")
    .define("topic", ConfigType.STRING, None, "Topic of the documents (default: the document's index).")
    .define("publication.name", ConfigType.STRING, "hub_documents", "Publication of the tree's tables.")
    .define(
        "publication.autocreate.mode",
        ConfigType.STRING,
        "filtered",
        "Create the publication for the tree's tables (filtered), for all tables, or never (disabled).",
        choices=("all_tables", "filtered", "disabled"),
    )
    .define("batch.size", ConfigType.INT, 1000, "Documents built per query.", minimum=1)
)
#: What ChangeStream reads that this connector does not let change.
_STREAM_DEFAULTS = {
    "heartbeat.interval.ms": 0,
    "heartbeat.topics.prefix": "__debezium-heartbeat",
    "heartbeat.action.query": None,
    "skipped.operations": {"t"},
    "tombstones.on.delete": False,
    "unavailable.value.placeholder": "",
    "table.include.list": [],
    "table.exclude.list": [],
    "schema.include.list": [],
    "schema.exclude.list": [],
}


def parse(config: dict[str, str]) -> dict[str, Any]:
    """Settings, with the document schema loaded (``document``); ConfigError on a malformed schema."""
    settings = {**_STREAM_DEFAULTS, **CONFIG.parse(config)}
    try:
        document = load_document(json.loads(settings["document.schema"]))
    except json.JSONDecodeError as exc:
        raise ConfigError({"document.schema": [f"not JSON: {exc}"]}) from exc
    except SchemaError as exc:
        raise ConfigError({"document.schema": exc.problems}) from exc
    settings["document"] = document
    settings["topic"] = settings["topic"] or document.index
    return settings


class PostgresDocumentSourceConnector(SourceConnector):
    """One task; deleting the connector drops its slot and publication."""

    aliases = ("PostgresDocumentSource",)

    def config_def(self) -> ConfigDef:
        return CONFIG

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The schema's shape, then a login and the schema checked against the database's catalog."""
        try:
            settings = parse(config)
        except ConfigError as exc:
            return exc.errors
        where = f"{settings['database.hostname']}:{settings['database.port']}/{settings['database.dbname']}"
        try:
            with connect(settings, timeout_s=CHECK_TIMEOUT_S) as connection:
                resolve(settings["document"], connection)
        except SchemaError as exc:
            return {"document.schema": exc.problems}
        except (ConnectorError, psycopg.Error) as exc:
            cause = exc.__cause__ or exc
            problem = f"cannot connect to PostgreSQL at {where}: {database_message(cause)}"
            return {connection_problem_key(cause): [problem]}
        return {}

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)
        self.settings = parse(config)
        for message in self.settings["document"].ignored:
            log.warning("%s", message)

    def task_class(self) -> type[SourceTask]:
        return PostgresDocumentSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release: the task holds the connections."""

    def on_delete(self) -> None:
        release_replication(self.settings)


def _full_identity(connection: psycopg.Connection[Any], tree: Tree) -> None:
    """REPLICA IDENTITY FULL on every table below the root, so a change's before image names its old parent."""
    root = tree.root.table.qualified
    for table in tree.tables():
        if table.qualified == root:
            continue
        row = connection.execute(
            "SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            (table.schema, table.name),
        ).fetchone()
        if row is not None and row[0] != "f":
            try:
                connection.execute(
                    sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(sql.Identifier(table.schema, table.name))
                )
            except psycopg.Error as exc:
                raise ConnectorError(
                    f"{table.qualified} needs REPLICA IDENTITY FULL (a change must say which parent it left) and "
                    f"setting it failed: {database_message(exc)}; run ALTER TABLE {table.qualified} REPLICA "
                    "IDENTITY FULL as its owner"
                ) from exc


class PostgresDocumentSourceTask(SourceTask):
    """Initial sync, then streaming (see the module docstring). ``poll`` and ``stop`` share one lock."""

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = parse(config)
        self.name = config.get("name", "postgres-documents")
        self.topic: str = settings["topic"]
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.conn = connect(settings)
        try:
            tree = resolve(settings["document"], self.conn)
        except SchemaError as exc:
            raise ConnectorError(f"task {self.name}: the document schema does not fit the database: {exc}") from exc
        self.builder = DocumentBuilder(tree, self.conn)
        tables = [(t.schema, t.name) for t in tree.tables()]
        _full_identity(self.conn, tree)
        ensure_publication(self.conn, settings, tables)
        created, slot_lsn = ensure_slot(self.conn, settings["slot.name"], self.name)
        self.partition = {"documents": settings["slot.name"]}
        self._engine = catalog_engine(settings)
        origin = Origin(self.topic, self.conn.info.dbname, self.version(), self.partition)
        captured = CapturedTables(self._engine, self.topic, "none")
        self._stream = DocumentChangeStream(settings, self.conn, captured, origin, self._stopped, self.name)
        self._stream.configure(tables)
        self._stream.confirmed_lsn = slot_lsn
        stored = self.context.offset_reader.offset(self.partition) or {}
        self._initial = created or stored.get("initial") != "done"
        after = None if created else stored.get("after")
        self._after: list[str] | None = json.loads(after) if isinstance(after, str) else None
        self._done = 0
        self._total = self.builder.count() if self._initial else 0
        self._reader: ThreadPoolExecutor | None = None  # reads pages ahead during the initial sync
        self._reader_conn: psycopg.Connection[Any] | None = None
        self._next_page: Future[list[tuple[Key, dict[str, Any]]]] | None = None
        self._batches = count()
        self._outstanding: dict[int, list[Any]] = {}  # batch -> [documents not stored, commit LSNs of its changes]
        log.info(
            "task %s: documents of %s into %s, %s",
            self.name,
            tree.root.table.qualified,
            self.topic,
            "initial sync" + (" (resumed)" if self._after else "") if self._initial else "streaming",
        )

    def progress(self) -> dict[str, Any]:
        if self._initial:
            total = max(self._total, self._done)
            return {"phase": "initial", "done": self._done, "total": total, "unit": "documents"}
        return {"phase": "streaming", "lag_bytes": self._stream.lag_bytes()}

    def poll(self) -> Sequence[SourceRecord]:
        with self._lock:
            if self._stopped.is_set():
                return []
            try:
                if self._initial:
                    return self._poll_initial()
                self._stream.poll()
                return self._rebuild(self._stream.take())
            except psycopg.OperationalError as exc:
                self._stream.close_peek()
                raise ConnectorError(
                    f"task {self.name}: lost the database connection: {database_message(exc)}"
                ) from exc

    def _record(self, key: Key, document: dict[str, Any] | None, offset: dict[str, Any]) -> SourceRecord:
        return SourceRecord(
            topic=self.topic,
            key=document_id(key),
            key_schema=STRING_SCHEMA,
            value=document,
            value_schema=None,
            source_partition=self.partition,
            source_offset=offset,
        )

    def _read_ahead(self, after: list[str] | None, size: int) -> None:
        """Starts reading the page after ``after`` on the reader thread."""
        if self._reader is None:
            self._reader_conn = connect(self.settings)
            use_fast_json(self._reader_conn)
            self._reader = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-pages")
        self._next_page = self._reader.submit(self.builder.page, after, size, self._reader_conn)

    def _close_reader(self) -> None:
        """Stops reading ahead: a query in progress is cancelled, the thread and its connection end."""
        if self._next_page is not None and self._reader_conn is not None and not self._next_page.done():
            try:
                self._reader_conn.cancel_safe()
            except psycopg.Error as exc:
                log.debug("task %s: cancelling the page being read: %s", self.name, exc)
        if self._reader is not None:
            self._reader.shutdown(wait=True)
        if self._reader_conn is not None:
            self._reader_conn.close()
        self._reader = self._reader_conn = self._next_page = None

    def _poll_initial(self) -> list[SourceRecord]:
        size = self.settings["batch.size"]
        if self._next_page is None:
            self._read_ahead(self._after, size + 1)
        assert self._next_page is not None
        try:
            page = self._next_page.result()
        except BaseException:
            self._close_reader()
            raise
        last = len(page) <= size
        page = page[:size]
        if not last:
            self._read_ahead([str(v) for v in page[-1][0]], size + 1)
        records = []
        for position, (key, document) in enumerate(page):
            finished = last and position == len(page) - 1
            after = json.dumps([str(v) for v in key])
            offset = {"initial": "done"} if finished else {"initial": "running", "after": after}
            records.append(self._record(key, document, offset))
        self._done += len(page)
        if page:
            self._after = [str(v) for v in page[-1][0]]
        if last:
            self._initial = False
            self._close_reader()
            log.info("task %s: initial sync done, %d document(s)", self.name, self._done)
        return records

    def _rebuild(self, changes: list[RowChange]) -> list[SourceRecord]:
        if not changes:
            return []
        by_table: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for change in changes:
            rows = by_table.setdefault((change.schema, change.table), [])
            rows += [row for row in (change.before, change.after) if row is not None]
        keys: set[Key] = set()
        for (schema, table), rows in by_table.items():
            keys |= self.builder.roots(schema, table, rows)
        documents = self.builder.documents(sorted(keys, key=str))
        batch = next(self._batches)
        lsns = [change.commit_lsn for change in changes]
        offset = {"initial": "done", "lsn": max(lsns), "batch": batch}
        records = [self._record(key, document, offset) for key, document in documents.items()]
        if records:
            self._outstanding[batch] = [len(records), lsns]
        else:
            self._stream.release(lsns)
        return records

    def commit_record(self, record: SourceRecord, metadata: Any | None) -> None:
        batch = record.source_offset.get("batch")
        if not isinstance(batch, int) or batch not in self._outstanding:
            return
        entry = self._outstanding[batch]
        entry[0] -= 1
        if entry[0] == 0:
            del self._outstanding[batch]
            self._stream.release(entry[1])

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self._close_reader()
            self._stream.close()
            try:
                self._stream.advance()
            except psycopg.Error as exc:
                log.warning("task %s: cannot confirm the last changes: %s", self.name, exc)
            if self.settings["slot.drop.on.stop"]:
                drop_slot(self.conn, self.settings["slot.name"])
            self.conn.close()
            self._engine.dispose()
