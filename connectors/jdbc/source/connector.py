"""JdbcSource: copies database tables (or a custom query) into topics by polling, like Confluent's
``io.confluent.connect.jdbc.JdbcSourceConnector``, whose option names and offsets it shares.

The connector lists the tables to copy (``table.whitelist`` / ``table.blacklist`` names, or the newer
``table.include.list`` / ``table.exclude.list`` regexes on qualified names), spreads them over up to ``tasks.max``
tasks (a table is read by one task), and checks every ``table.poll.interval.ms`` whether tables appeared or went
away, asking the runtime to re-plan the tasks when they did. Each task keeps one TableQuerier per table and polls
them in turn as they fall due (``poll.interval.ms`` after a table's result was exhausted). Modes and offsets are
described in ``querier.py``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from connectors.jdbc.column_schemas import NUMERIC_MAPPINGS
from connectors.jdbc.connection import CONNECTION_CONFIG, Database, check_connection, database_message
from connectors.jdbc.source.querier import MODES, QuerySpec, TableQuerier, due_in
from hub.sdk import ConfigDef, ConfigType, Importance, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConfigError, ConnectorError, RetriableError

log = logging.getLogger(__name__)

CONFIG = (
    CONNECTION_CONFIG.define(
        "mode",
        ConfigType.STRING,
        doc="How rows are found: bulk, incrementing, timestamp or timestamp+incrementing.",
        importance=Importance.HIGH,
        choices=MODES,
        group="Mode",
    )
    .define(
        "incrementing.column.name",
        ConfigType.STRING,
        "",
        "Strictly increasing column; empty finds the table's auto-increment column.",
        group="Mode",
    )
    .define(
        "timestamp.column.name",
        ConfigType.LIST,
        [],
        "Timestamp column(s); several are combined with COALESCE.",
        group="Mode",
    )
    .define(
        "timestamp.initial",
        ConfigType.LONG,
        None,
        "Epoch ms to start from when no offset is stored; -1 means now; unset reads everything.",
        group="Mode",
    )
    .define(
        "timestamp.delay.interval.ms",
        ConfigType.LONG,
        0,
        "Read only rows older than this, so transactions still in flight can commit first.",
        minimum=0,
        group="Mode",
    )
    .define(
        "validate.non.null",
        ConfigType.BOOLEAN,
        True,
        "Refuse incrementing/timestamp columns that are nullable.",
        group="Mode",
    )
    .define(
        "query",
        ConfigType.STRING,
        "",
        "A SELECT to copy instead of whole tables (one task; topic.prefix is the whole topic name).",
        group="Mode",
    )
    .define("query.masked", ConfigType.PASSWORD, None, "As query, but kept out of logs and REST answers.", group="Mode")
    .define(
        "table.whitelist", ConfigType.LIST, [], "Tables to copy (names, optionally schema-qualified).", group="Tables"
    )
    .define("table.blacklist", ConfigType.LIST, [], "Tables not to copy.", group="Tables")
    .define("table.include.list", ConfigType.LIST, [], "Regexes on qualified table names to copy.", group="Tables")
    .define("table.exclude.list", ConfigType.LIST, [], "Regexes on qualified table names not to copy.", group="Tables")
    .define(
        "schema.pattern",
        ConfigType.STRING,
        None,
        "Schema (database on MySQL) whose tables are listed; unset means the connection's default schema.",
        group="Tables",
    )
    .define("table.types", ConfigType.LIST, ["TABLE"], "Kinds of table to list: TABLE, VIEW.", group="Tables")
    .define(
        "table.poll.interval.ms",
        ConfigType.LONG,
        60000,
        "How often to look for added or removed tables.",
        minimum=0,
        group="Tables",
    )
    .define(
        "topic.prefix",
        ConfigType.STRING,
        doc="Prefix of each table's topic (the whole topic in query mode).",
        importance=Importance.HIGH,
        group="Connector",
    )
    .define(
        "poll.interval.ms",
        ConfigType.INT,
        5000,
        "How often each table is queried for new rows.",
        minimum=1,
        group="Connector",
    )
    .define("batch.max.rows", ConfigType.INT, 100, "Most rows per poll of one table.", minimum=1, group="Connector")
    .define(
        "numeric.mapping",
        ConfigType.STRING,
        None,
        "NUMERIC/DECIMAL mapping: none, best_fit, best_fit_eager_double or precision_only.",
        choices=NUMERIC_MAPPINGS,
        group="Connector",
    )
    .define(
        "numeric.precision.mapping",
        ConfigType.BOOLEAN,
        False,
        "Deprecated: true means numeric.mapping=precision_only.",
        group="Connector",
    )
    .define(
        "db.timezone",
        ConfigType.STRING,
        "UTC",
        "Time zone of timestamp columns without one (UTC only).",
        choices=("UTC",),
        group="Connector",
    )
    .define(
        "timestamp.granularity",
        ConfigType.STRING,
        "connect_logical",
        "How timestamps travel (connect_logical only).",
        choices=("connect_logical",),
        group="Connector",
    )
    .define(
        "transaction.isolation.mode",
        ConfigType.STRING,
        "DEFAULT",
        "Isolation of the queries (DEFAULT only).",
        choices=("DEFAULT",),
        group="Connector",
    )
    .define(
        "quote.sql.identifiers",
        ConfigType.STRING,
        "always",
        "Identifiers are always quoted where needed.",
        choices=("always",),
        group="Connector",
    )
    .unsupported("query.suffix", "a custom query can carry its own LIMIT or hints instead")
    .unsupported("catalog.pattern", "use schema.pattern or qualified table names")
    .unsupported("timestamp.columns.mapping", "use timestamp.column.name")
    .unsupported("incrementing.column.mapping", "use incrementing.column.name")
    .unsupported("max.buffer.size", "batch.max.rows bounds what a poll holds")
    .unsupported("poll.linger.ms", "poll.interval.ms decides when a table is read again")
    .unsupported("query.retry.attempts", "connection errors are retried with connection.attempts/backoff.ms")
    .unsupported("date.calendar.system", "dates use the proleptic Gregorian calendar")
)

_DEFAULT_SCHEMA = {"postgresql": "public"}


def parse(config: dict[str, str]) -> dict[str, Any]:
    """Parsed settings, with the checks that span options (which list style, what the mode needs)."""
    settings = CONFIG.parse(config)
    problems: dict[str, list[str]] = {}
    if settings["query.masked"] is not None:
        settings["query"] = settings["query.masked"].value
    legacy = settings["table.whitelist"] or settings["table.blacklist"]
    regexes = settings["table.include.list"] or settings["table.exclude.list"]
    if legacy and regexes:
        problems["table.include.list"] = ["cannot be combined with table.whitelist/table.blacklist"]
    if settings["table.whitelist"] and settings["table.blacklist"]:
        problems["table.blacklist"] = ["cannot be combined with table.whitelist"]
    if settings["query"] and (legacy or regexes):
        problems["query"] = ["a query replaces the table lists; remove them"]
    mode = settings["mode"]
    if "timestamp" in mode and not settings["timestamp.column.name"]:
        problems["timestamp.column.name"] = [f"mode={mode} needs a timestamp column"]
    if "incrementing" in mode and settings["query"] and not settings["incrementing.column.name"]:
        problems["incrementing.column.name"] = [f"mode={mode} with a query needs the column named"]
    for key in ("table.include.list", "table.exclude.list"):
        for pattern in settings[key]:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.setdefault(key, []).append(f"{pattern!r} is not a regular expression: {exc}")
    if problems:
        raise ConfigError(problems)
    if settings["numeric.mapping"] is None:
        settings["numeric.mapping"] = "precision_only" if settings["numeric.precision.mapping"] else "none"
    return settings


def list_tables(engine: sa.Engine, settings: dict[str, Any]) -> list[str]:
    """The qualified names of the tables to copy, sorted."""
    inspector = sa.inspect(engine)
    schema = settings["schema.pattern"] or _DEFAULT_SCHEMA.get(engine.dialect.name)
    names = set(inspector.get_table_names(schema=schema)) if "TABLE" in settings["table.types"] else set()
    if "VIEW" in settings["table.types"]:
        names |= set(inspector.get_view_names(schema=schema))
    qualified = {f"{schema}.{name}" if schema else name for name in names}
    whitelist, blacklist = settings["table.whitelist"], settings["table.blacklist"]
    if whitelist:
        wanted = {_qualify(name, schema) for name in whitelist}
        missing = wanted - qualified
        if missing:
            log.warning("table.whitelist names tables that do not exist (yet): %s", ", ".join(sorted(missing)))
        qualified &= wanted
    if blacklist:
        qualified -= {_qualify(name, schema) for name in blacklist}
    include = [re.compile(p) for p in settings["table.include.list"]]
    exclude = [re.compile(p) for p in settings["table.exclude.list"]]
    if include:
        qualified = {name for name in qualified if any(p.fullmatch(name) for p in include)}
    if exclude:
        qualified = {name for name in qualified if not any(p.fullmatch(name) for p in exclude)}
    return sorted(qualified)


def _qualify(name: str, schema: str | None) -> str:
    return name if "." in name or not schema else f"{schema}.{name}"


def split(items: Sequence[str], groups: int) -> list[list[str]]:
    """``items`` in ``groups`` contiguous groups of sizes differing by at most one (Connect's groupPartitions)."""
    size, extra = divmod(len(items), groups)
    out, start = [], 0
    for index in range(groups):
        end = start + size + (1 if index < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


class JdbcSourceConnector(SourceConnector):
    """Plans one task per group of tables (one task for a query) and watches for added or removed tables."""

    aliases = ("io.confluent.connect.jdbc.JdbcSourceConnector", "JdbcSource")

    def config_def(self) -> ConfigDef:
        return CONFIG

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        """The checks that span options, then a connection to the database."""
        try:
            parse(config)
        except ConfigError as exc:
            return exc.errors
        return check_connection(config)

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)
        self.settings = parse(config)
        self._stopped = threading.Event()
        self._database = Database.from_settings(self.settings, self._stopped, f"connector {config.get('name')}")
        self.tables: list[str] = []
        if not self.settings["query"]:
            self.tables = self._list_tables()
            if not self.tables:
                log.warning("connector %s: no table matches the table lists (yet)", config.get("name"))
            interval = self.settings["table.poll.interval.ms"] / 1000
            if interval > 0:
                self._watcher = threading.Thread(
                    target=self._watch, args=(interval,), daemon=True, name=f"jdbc-tables-{config.get('name')}"
                )
                self._watcher.start()

    def _list_tables(self) -> list[str]:
        return self._database.run(lambda: list_tables(self._database.engine, self.settings))

    def _watch(self, interval_s: float) -> None:
        while not self._stopped.wait(interval_s):
            try:
                tables = self._list_tables()
            except Exception as exc:  # the next check retries; tasks report their own failures
                log.warning("connector %s: cannot list tables: %s", self.config.get("name"), database_message(exc))
                continue
            if tables != self.tables:
                log.info("connector %s: tables changed to %s; re-planning tasks", self.config.get("name"), tables)
                self.tables = tables
                self.context.request_task_reconfiguration()

    def task_class(self) -> type[SourceTask]:
        return JdbcSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        if self.settings["query"]:
            return [dict(self.config)]
        if not self.tables:
            return []
        return [
            {**self.config, "tables": json.dumps(group)}
            for group in split(self.tables, min(max_tasks, len(self.tables)))
        ]

    def stop(self) -> None:
        self._stopped.set()
        self._database.dispose()


class JdbcSourceTask(SourceTask):
    """Polls its tables (or the query) in turn as they fall due."""

    def start(self, config: dict[str, str]) -> None:
        settings = parse(config)
        self._stopped = threading.Event()
        self.name = config.get("name", "jdbc-source")
        self._database = Database.from_settings(settings, self._stopped, f"task {self.name}")
        engine = self._database.engine
        spec = QuerySpec(
            mode=settings["mode"],
            incrementing_column=settings["incrementing.column.name"],
            timestamp_columns=tuple(settings["timestamp.column.name"]),
            timestamp_delay_s=settings["timestamp.delay.interval.ms"] / 1000,
            timestamp_initial_ms=_initial(settings["timestamp.initial"]),
            numeric_mapping=settings["numeric.mapping"],
            validate_non_null=settings["validate.non.null"],
            batch_max_rows=settings["batch.max.rows"],
            topic_prefix=settings["topic.prefix"],
        )
        self._interval_s = settings["poll.interval.ms"] / 1000
        if settings["query"]:
            self.queriers = [TableQuerier(engine, spec, None, settings["query"])]
        else:
            tables = json.loads(config.get("tables", "[]"))
            self.queriers = [TableQuerier(engine, self._spec_for(spec, table), table, None) for table in tables]
        reader = self.context.offset_reader
        for querier in self.queriers:
            offset = reader.offset(querier.partition)
            if offset:
                querier.offset = dict(offset)
            self._database.run(querier.describe)
        self._next = 0
        self._lock = threading.Lock()  # held while querying, so stop() closes connections between polls

    def _spec_for(self, spec: QuerySpec, table: str) -> QuerySpec:
        if "incrementing" not in spec.mode or spec.incrementing_column:
            return spec
        column = self._database.run(lambda: auto_increment_column(self._database.engine, table))
        return QuerySpec(**{**spec.__dict__, "incrementing_column": column})

    def poll(self) -> Sequence[SourceRecord]:
        if not self.queriers:
            self._stopped.wait(1.0)
            return []
        wait = due_in(self.queriers)
        if wait > 0:
            self._stopped.wait(min(wait, 1.0))
            return []
        with self._lock:
            if self._stopped.is_set():
                return []
            querier = self._pick()
            try:
                records = self._database.run(querier.poll)
            except RetriableError:
                querier.close()
                raise
            except sa.exc.SQLAlchemyError as exc:
                querier.close()
                raise ConnectorError(f"{querier.name}: query failed: {database_message(exc)}") from exc
        if not querier.reading:
            querier.next_due = time.monotonic() + self._interval_s
        return records

    def _pick(self) -> TableQuerier:
        """The next querier that is reading or due, round-robin so no table starves another."""
        now = time.monotonic()
        count = len(self.queriers)
        for step in range(count):
            querier = self.queriers[(self._next + step) % count]
            if querier.reading or querier.next_due <= now:
                self._next = (self._next + step + 1) % count
                return querier
        raise AssertionError("poll() checked that a querier is due")

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            for querier in self.queriers:
                querier.close()
            self._database.dispose()


def _initial(value: int | None) -> int | None:
    if value == -1:
        return int(time.time() * 1000)
    return value


def auto_increment_column(engine: sa.Engine, table: str) -> str:
    """The table's auto-increment column (serial/identity/AUTO_INCREMENT/INTEGER PRIMARY KEY)."""
    schema, _, name = table.rpartition(".")
    inspector = sa.inspect(engine)
    columns = inspector.get_columns(name, schema=schema or None)
    primary = inspector.get_pk_constraint(name, schema=schema or None).get("constrained_columns") or []
    for column in columns:
        default = str(column.get("default") or "")
        if column.get("identity") or "nextval(" in default or column.get("autoincrement") is True:
            return str(column["name"])
    if engine.dialect.name == "sqlite" and len(primary) == 1:
        kind = next(c["type"] for c in columns if c["name"] == primary[0])
        if isinstance(kind, sa.Integer):
            return str(primary[0])
    raise ConnectorError(f"table {table} has no auto-increment column; set incrementing.column.name")
