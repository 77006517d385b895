"""PostgresCdcSource's options — Debezium's names and defaults — parsed, and the table selection they make.

``CONFIG`` declares every option, plus Debezium's options Hub does not implement (refused with the reason);
``parse`` adds the check one option alone cannot make (``skipped.operations`` names known operations).
``is_captured`` applies the include/exclude lists to a table. Immutable; safe to share between threads.
"""

from __future__ import annotations

import re
from typing import Any

from hub.sdk import ConfigDef, ConfigType, Importance
from hub.sdk.errors import ConfigError

SNAPSHOT_MODES = ("initial", "initial_only", "always", "no_data", "never", "when_needed")
#: ``decimal.handling.mode`` as the ``numeric.mapping`` of column_schemas.
DECIMAL_MODES = {"precise": "none", "double": "double", "string": "string"}

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


def is_captured(settings: dict[str, Any], schema: str, table: str) -> bool:
    """Whether the schema and table include/exclude lists select ``schema.table``."""
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
