"""The JDBC sink's options (Confluent's names and defaults) and their typed, cross-checked form.

``SINK_CONFIG`` declares every option, including the ``connection.*`` ones shared with the source, and the options
of Confluent's sink that Hub does not implement (rejected with the reason). ``SinkSettings.parse`` turns a config
into typed settings and checks what one option alone cannot say (``delete.enabled`` needs ``pk.mode=record_key``,
upserts need a key); problems raise ConfigError naming the option.

Immutable; safe to share between threads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.jdbc.connection import CONNECTION_CONFIG
from hub.sdk import ConfigType, Importance
from hub.sdk.errors import ConfigError

WRITES = "Writes"
DATA_MAPPING = "Data Mapping"
DDL = "DDL Support"
RETRIES = "Retries"

INSERT_MODES = ("insert", "upsert", "update")
PK_MODES = ("none", "kafka", "record_key", "record_value")
#: Column names of ``pk.mode=kafka`` when ``pk.fields`` is empty: topic, partition, offset.
KAFKA_PK_COLUMNS = ("__connect_topic", "__connect_partition", "__connect_offset")
TOPIC_PLACEHOLDER = "${topic}"


def _timezone_problem(name: Any) -> str | None:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r} (use an IANA name such as UTC or Europe/Paris)"
    return None


def _table_format_problem(value: Any) -> str | None:
    schema, _, _ = str(value).rpartition(".")
    if "." in schema:
        return "name at most a schema and a table (SCHEMA.TABLE); dots in topic names are kept in the table name"
    return None


SINK_CONFIG = (
    CONNECTION_CONFIG.define(
        "insert.mode",
        ConfigType.STRING,
        "insert",
        "insert: plain INSERT; upsert: insert or update by primary key (dialect's upsert); update: UPDATE by key.",
        importance=Importance.HIGH,
        choices=INSERT_MODES,
        case_insensitive_choices=True,
        group=WRITES,
    )
    .define(
        "batch.size",
        ConfigType.INT,
        3000,
        "Records written per statement batch and transaction.",
        minimum=1,
        group=WRITES,
    )
    .define(
        "delete.enabled",
        ConfigType.BOOLEAN,
        False,
        "Delete the row of a tombstone (null value) record by its key; needs pk.mode=record_key.",
        group=WRITES,
    )
    .define(
        "table.name.format",
        ConfigType.STRING,
        TOPIC_PLACEHOLDER,
        "Destination table; ${topic} is replaced by the record's topic. SCHEMA.TABLE names a schema.",
        importance=Importance.MEDIUM,
        non_empty=True,
        validator=_table_format_problem,
        group=DATA_MAPPING,
    )
    .define(
        "pk.mode",
        ConfigType.STRING,
        "none",
        "Where the primary key comes from: none, kafka (topic, partition, offset), record_key or record_value.",
        importance=Importance.HIGH,
        choices=PK_MODES,
        case_insensitive_choices=True,
        group=DATA_MAPPING,
    )
    .define(
        "pk.fields",
        ConfigType.LIST,
        "",
        "Primary key columns. kafka: three names (default __connect_topic, __connect_partition, "
        "__connect_offset); record_key / record_value: the fields to use (default all; one name for a "
        "primitive key).",
        group=DATA_MAPPING,
    )
    .define(
        "fields.whitelist",
        ConfigType.LIST,
        "",
        "Value fields written as columns besides the key (default all).",
        group=DATA_MAPPING,
    )
    .define(
        "replace.null.with.default",
        ConfigType.BOOLEAN,
        True,
        "Write a field's schema default when its value is null.",
        group=DATA_MAPPING,
    )
    .define(
        "db.timezone",
        ConfigType.STRING,
        "UTC",
        "Time zone in which Timestamp values are written to columns without a time zone.",
        validator=_timezone_problem,
        group=DATA_MAPPING,
    )
    .define("auto.create", ConfigType.BOOLEAN, False, "CREATE TABLE when the table is missing.", group=DDL)
    .define(
        "auto.evolve",
        ConfigType.BOOLEAN,
        False,
        "ALTER TABLE ADD COLUMN for new optional or defaulted fields; columns are never dropped or changed.",
        group=DDL,
    )
    .define(
        "quote.sql.identifiers",
        ConfigType.STRING,
        "always",
        "always: table and column names are quoted (case kept); never: written plainly, folded to lower case "
        "on PostgreSQL as the database folds unquoted names.",
        choices=("always", "never"),
        case_insensitive_choices=True,
        group=DDL,
    )
    .define(
        "max.retries",
        ConfigType.INT,
        10,
        "Redeliveries of a batch after a transient database error before the task fails.",
        minimum=0,
        group=RETRIES,
    )
    .define(
        "retry.backoff.ms",
        ConfigType.INT,
        3000,
        "Wait before redelivering a batch after a transient database error.",
        minimum=0,
        group=RETRIES,
    )
    .unsupported("table.types", "the sink writes to tables only (views and partitioned tables are not looked up)")
    .unsupported("date.timezone", "Date values are written as calendar dates, without a time zone")
    .unsupported("timestamp.precision.mode", "Timestamps are written with microsecond precision")
    .unsupported("timestamp.fields.list", "Timestamps are written with microsecond precision")
    .unsupported("mssql.use.merge.holdlock", "SQL Server is not supported (PostgreSQL, MySQL/MariaDB, SQLite are)")
)


@dataclass(frozen=True)
class TableId:
    """A table, optionally in a schema (a database on MySQL)."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class SinkSettings:
    """The typed options of a JDBC sink task."""

    connection: dict[str, Any]
    insert_mode: str
    pk_mode: str
    pk_fields: tuple[str, ...]
    fields_whitelist: frozenset[str]
    delete_enabled: bool
    batch_size: int
    table_name_format: str
    auto_create: bool
    auto_evolve: bool
    quote_identifiers: bool
    replace_null_with_default: bool
    db_timezone: dt.tzinfo
    max_retries: int
    retry_backoff_ms: int

    @classmethod
    def parse(cls, config: Mapping[str, str]) -> SinkSettings:
        """Typed settings; ConfigError naming every option in trouble."""
        values = SINK_CONFIG.parse(config)
        settings = cls(
            connection={key: values[key] for key in CONNECTION_CONFIG.names},
            insert_mode=values["insert.mode"].lower(),
            pk_mode=values["pk.mode"].lower(),
            pk_fields=tuple(name for name in values["pk.fields"] if name),
            fields_whitelist=frozenset(name for name in values["fields.whitelist"] if name),
            delete_enabled=values["delete.enabled"],
            batch_size=values["batch.size"],
            table_name_format=values["table.name.format"],
            auto_create=values["auto.create"],
            auto_evolve=values["auto.evolve"],
            quote_identifiers=values["quote.sql.identifiers"].lower() == "always",
            replace_null_with_default=values["replace.null.with.default"],
            db_timezone=ZoneInfo(values["db.timezone"]),
            max_retries=values["max.retries"],
            retry_backoff_ms=values["retry.backoff.ms"],
        )
        problems = settings.problems()
        if problems:
            raise ConfigError(problems)
        return settings

    def problems(self) -> dict[str, list[str]]:
        """What the combination of options gets wrong, per option."""
        problems: dict[str, list[str]] = {}
        if self.delete_enabled and self.pk_mode != "record_key":
            problems["delete.enabled"] = [
                f"delete.enabled=true needs pk.mode=record_key (the key of a tombstone names the row), "
                f"not pk.mode={self.pk_mode}"
            ]
        if self.insert_mode != "insert" and self.pk_mode == "none":
            problems["insert.mode"] = [
                f"insert.mode={self.insert_mode} needs a primary key: set pk.mode to kafka, record_key or record_value"
            ]
        if self.pk_mode == "kafka" and self.pk_fields and len(self.pk_fields) != len(KAFKA_PK_COLUMNS):
            problems["pk.fields"] = [
                "pk.mode=kafka takes three column names (topic, partition, offset) or none for the defaults"
            ]
        return problems

    @property
    def kafka_pk_columns(self) -> tuple[str, ...]:
        return self.pk_fields or KAFKA_PK_COLUMNS

    def table_id(self, topic: str) -> TableId:
        """The destination table of a topic's records."""
        schema, _, table = self.table_name_format.rpartition(".")
        return TableId(schema.replace(TOPIC_PLACEHOLDER, topic) or None, table.replace(TOPIC_PLACEHOLDER, topic))
