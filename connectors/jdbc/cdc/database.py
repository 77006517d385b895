"""The captured PostgreSQL database as PostgresCdcSource uses it: connections, the catalog, the publication and the
replication slot.

Every function takes an open psycopg connection (autocommit unless it says otherwise) and runs its statements on
it; none keeps state. Errors of the server come back as psycopg errors, or as ConnectorError naming what failed
(never with the password).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql

from connectors.jdbc.cdc.config import is_captured
from connectors.jdbc.cdc.pgoutput import lsn_int, lsn_text
from connectors.jdbc.connection import database_message, login_refused
from hub.sdk.config import Password
from hub.sdk.errors import ConnectorError

log = logging.getLogger(__name__)

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


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


def catalog_engine(settings: dict[str, Any]) -> sa.Engine:
    """An engine for catalog reflection, over the same connection settings."""
    return sa.create_engine("postgresql+psycopg://", creator=lambda: connect(settings), poolclass=sa.pool.NullPool)


def connection_problem_key(error: BaseException) -> str:
    """The option to fix for a connection that failed with ``error``: a refused login on ``database.password``, a
    missing database on ``database.dbname``, anything else (an unreachable host) on ``database.hostname``."""
    if login_refused(error):
        return "database.password"
    text = str(error)
    if getattr(error, "sqlstate", None) == "3D000" or re.search(r'database ".*" does not exist', text):
        return "database.dbname"
    return "database.hostname"


# --- catalog -----------------------------------------------------------------------------------------------------


def captured_tables(connection: psycopg.Connection[Any], settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(schema, table) of every ordinary or partitioned table the include/exclude lists select, sorted."""
    rows = connection.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(%s) ORDER BY 1, 2",
        (list(_SYSTEM_SCHEMAS),),
    ).fetchall()
    return [(schema, table) for schema, table in rows if is_captured(settings, schema, table)]


def row_estimate(connection: psycopg.Connection[Any], table: tuple[str, str]) -> int:
    """The planner's row count of a table (counted when the table was never analysed)."""
    row = connection.execute(
        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        table,
    ).fetchone()
    if row is not None and row[0] >= 0:
        return int(row[0])
    counted = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table))).fetchone()
    return int(counted[0]) if counted else 0


def current_wal_lsn(connection: psycopg.Connection[Any]) -> int:
    """The server's current write-ahead log position."""
    row = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return lsn_int(row[0])


# --- publication and slot ----------------------------------------------------------------------------------------


def ensure_publication(
    connection: psycopg.Connection[Any], settings: dict[str, Any], tables: Sequence[tuple[str, str]]
) -> None:
    """Creates (or, when ``filtered``, re-targets) the publication as ``publication.autocreate.mode`` says."""
    mode = settings["publication.autocreate.mode"]
    name = settings["publication.name"]
    exists = connection.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone()
    if mode == "disabled":
        if not exists:
            raise ConnectorError(f"publication {name} does not exist and publication.autocreate.mode=disabled")
        return
    table_list = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in tables)
    if mode == "all_tables" and not exists:
        connection.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(name)))
    elif mode == "filtered":
        if not tables:
            raise ConnectorError("publication.autocreate.mode=filtered but no table matches the include lists")
        verb = "ALTER PUBLICATION {} SET TABLE {}" if exists else "CREATE PUBLICATION {} FOR TABLE {}"
        connection.execute(sql.SQL(verb).format(sql.Identifier(name), table_list))


def drop_publication(connection: psycopg.Connection[Any], name: str) -> None:
    connection.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))


def release_replication(settings: dict[str, Any]) -> None:
    """What a deleted connector leaves behind: its slot, and its publication unless it never creates one."""
    with connect(settings) as connection:
        drop_slot(connection, settings["slot.name"])
        if settings["publication.autocreate.mode"] != "disabled":
            drop_publication(connection, settings["publication.name"])
            log.info("dropped publication %s", settings["publication.name"])


def ensure_slot(connection: psycopg.Connection[Any], slot: str, task: str) -> tuple[bool, int]:
    """Creates the ``pgoutput`` slot unless it exists: (whether it was created, its confirmed LSN)."""
    row = connection.execute(
        "SELECT plugin, confirmed_flush_lsn::text FROM pg_replication_slots "
        "WHERE slot_name = %s AND database = current_database()",
        (slot,),
    ).fetchone()
    if row is not None:
        if row[0] != "pgoutput":
            raise ConnectorError(f"replication slot {slot} uses plugin {row[0]}, not pgoutput")
        return False, lsn_int(row[1])
    try:
        created = connection.execute(
            "SELECT lsn::text FROM pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,)
        ).fetchone()
    except psycopg.Error as exc:
        raise ConnectorError(f"cannot create replication slot {slot}: {database_message(exc)}") from exc
    assert created is not None
    log.info("task %s: created replication slot %s at %s", task, slot, created[0])
    return True, lsn_int(created[0])


def advance_slot(connection: psycopg.Connection[Any], slot: str, lsn: int) -> None:
    """Confirms everything before ``lsn``: the server may recycle that WAL, and no reader sees it again."""
    try:
        connection.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (slot, lsn_text(lsn)))
    except psycopg.errors.UndefinedObject as exc:
        raise ConnectorError(f"replication slot {slot} was dropped while the connector ran") from exc


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
